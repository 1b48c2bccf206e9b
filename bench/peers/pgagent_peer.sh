#!/usr/bin/env bash
# pgAgent (Debian 12's pgagent 4.2) as a firing-benchmark peer, driven by examples/fire_bench.rs.
#   pgagent_peer.sh start SOCKET_DIR PORT DB LOGFILE   CREATE EXTENSION if missing, start the
#                                                      daemon, wait until it registered
#   pgagent_peer.sh burst SOCKET_DIR PORT DB CH N      N one-shot jobs due at the next minute
#                                                      boundary >= 15 s away; prints it (epoch s)
#   pgagent_peer.sh clear SOCKET_DIR PORT DB           deletes every job and its logs
#   pgagent_peer.sh stop SOCKET_DIR PORT DB            stops the daemon
#
# How pgAgent fires (pgAgent.cpp, job.cpp): every poll interval (-t, whole seconds) the daemon
# selects the enabled, unclaimed jobs with jobnextrun <= now() and starts one detached thread
# per job. Each thread takes a connection from an unbounded pool (new ones are opened one at a
# time, under the pool's lock), claims and logs the job, and runs the SQL step on a second
# connection (jstdbname's). A thread that gets no first connection leaves the job due for the
# next poll; one that gets no step connection fails the job, which is then lost. So a burst of
# N needs about 2N connections: the cluster's max_connections must allow it (burst warns).
# We pass -t 10, the documented default: a poll shorter than the burst's drain starts a second
# thread for every job not yet claimed, which takes more connections and can run a job twice
# (-t 1 at N = 1,000 lost 641 jobs and ran 5 twice; -t 10 ran all once). PGAGENT_POLL_S
# overrides it.
#
# A job runs once: its schedule starts and ends at the boundary (jscstart = jscend), and its
# minute and hour match it. After the run pgAgent recomputes jobnextrun; pga_next_schedule
# returns NULL once jscend < now(), so the job never becomes due again.
set -euo pipefail

action=${1:?start|burst|clear|stop}
sock=${2:?socket dir}
port=${3:?port}
db=${4:?database}
pidfile=$sock/pgagent-$port-$db.pid

psql_() { psql -X -q -v ON_ERROR_STOP=1 -h "$sock" -p "$port" -U postgres -d "$db" "$@"; }

case "$action" in
  start)
    log=${5:?logfile}
    command -v pgagent >/dev/null || { echo "pgagent_peer: pgagent is not installed (scripts/setup.sh)" >&2; exit 1; }
    if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
      echo "pgagent_peer: a daemon is already running (pid $(cat "$pidfile"))" >&2
      exit 1
    fi
    psql_ -c "SET client_min_messages = warning" -c "CREATE EXTENSION IF NOT EXISTS pgagent"
    # Agents left registered by a killed daemon would keep their jobs claimed: start clean.
    psql_ -c "DELETE FROM pgagent.pga_jobagent"
    # -f: stay in the foreground so that we hold its pid; -l 1: warnings, which include the
    # connection failures that throttle big bursts. Errors before it opens -s go to stderr;
    # both append to the one log.
    # shellcheck disable=SC2094
    pgagent -f -t "${PGAGENT_POLL_S:-10}" -l 1 -s "$log" "host=$sock port=$port dbname=$db user=postgres" \
      </dev/null >>"$log" 2>&1 &
    echo $! >"$pidfile"
    for _ in $(seq 1 300); do
      if ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
        echo "pgagent_peer: the daemon exited; see $log" >&2
        rm -f "$pidfile"
        exit 1
      fi
      [ "$(psql_ -tAc "SELECT count(*) FROM pgagent.pga_jobagent")" -gt 0 ] && exit 0
      sleep 0.1
    done
    echo "pgagent_peer: the daemon did not register within 30 s; see $log" >&2
    exit 1
    ;;
  burst)
    channel=${5:?channel}
    n=${6:?count}
    max_conn=$(psql_ -tAc "SELECT pg_catalog.current_setting('max_connections')")
    if [ $((2 * n + 20)) -gt "$max_conn" ]; then
      echo "pgagent_peer: max_connections = $max_conn < 2 x $n + 20: pgAgent will lose jobs" >&2
    fi
    # One transaction: now() is its start, so the boundary and every pga_next_schedule call
    # agree; the boundary is the first minute start >= now() + 15 s.
    psql_ -tA -v ch="$channel" -v n="$n" <<'SQL'
BEGIN;
CREATE TEMP TABLE peer_burst ON COMMIT DROP AS
  SELECT pg_catalog.date_trunc('minute', pg_catalog.now() + interval '75 seconds') AS at;
INSERT INTO pgagent.pga_job (jobjclid, jobname)
  SELECT c.jclid, 'wsfb_peer_' OPERATOR(pg_catalog.||) i
    FROM pg_catalog.generate_series(0, :n - 1) AS i,
         pgagent.pga_jobclass AS c
   WHERE c.jclname OPERATOR(pg_catalog.=) 'Miscellaneous';
INSERT INTO pgagent.pga_jobstep (jstjobid, jstname, jstkind, jstcode, jstdbname)
  SELECT j.jobid, 'notify', 's',
         pg_catalog.format('SELECT pg_catalog.pg_notify(%L, %L)', :'ch',
                           pg_catalog.substr(j.jobname, 11)),
         pg_catalog.current_database()
    FROM pgagent.pga_job AS j
   WHERE j.jobname LIKE 'wsfb\_peer\_%';
INSERT INTO pgagent.pga_schedule (jscjobid, jscname, jscstart, jscend, jscminutes, jschours)
  SELECT j.jobid, 'once', b.at, b.at,
         (SELECT pg_catalog.array_agg(m OPERATOR(pg_catalog.=) pg_catalog.date_part('minute', b.at) ORDER BY m)
            FROM pg_catalog.generate_series(0, 59) AS m),
         (SELECT pg_catalog.array_agg(h OPERATOR(pg_catalog.=) pg_catalog.date_part('hour', b.at) ORDER BY h)
            FROM pg_catalog.generate_series(0, 23) AS h)
    FROM pgagent.pga_job AS j, peer_burst AS b
   WHERE j.jobname LIKE 'wsfb\_peer\_%';
-- Every job must be due at the boundary, else the run would silently miss notifications.
DO $$
BEGIN
  IF EXISTS (SELECT FROM pgagent.pga_job AS j, peer_burst AS b
              WHERE j.jobname LIKE 'wsfb\_peer\_%'
                AND j.jobnextrun IS DISTINCT FROM b.at) THEN
    RAISE EXCEPTION 'pgagent_peer: a job is not due at the boundary';
  END IF;
END $$;
SELECT pg_catalog.date_part('epoch', at)::bigint FROM peer_burst;
COMMIT;
SQL
    ;;
  clear)
    # Cascades to the steps, schedules, job logs and step logs.
    psql_ -c "DELETE FROM pgagent.pga_job"
    ;;
  stop)
    if [ -f "$pidfile" ]; then
      pid=$(cat "$pidfile")
      if kill "$pid" 2>/dev/null; then
        for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null
      fi
      rm -f "$pidfile"
    fi
    # Its agent row would otherwise outlive it (the daemon only cleans up zombies at start).
    psql_ -c "DELETE FROM pgagent.pga_jobagent" 2>/dev/null || true
    ;;
  *)
    echo "pgagent_peer: unknown action $action (start|burst|clear|stop)" >&2
    exit 2
    ;;
esac
