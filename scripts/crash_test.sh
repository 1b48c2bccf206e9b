#!/usr/bin/env bash
# End-to-end crash test (part of `make test-e2e`): `kill -9` of the postmaster in the middle of
# a burst of 5,000 schedules due at the same instant. After the restart (crash recovery) every
# occurrence has exactly one execution and every schedule counted exactly one fire.
set -euo pipefail
cd "$(dirname "$0")/.."

PG_BIN=/usr/lib/postgresql/15/bin
dir=${WS_CRASH_DIR:-/tmp/ws-crash}
port=54351
n=5000
as_pg() { if [ "$(id -u)" -eq 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi; }
sql() { as_pg "$PG_BIN/psql" -X -At -v ON_ERROR_STOP=1 -h "$dir" -p "$port" -U postgres -d ws_crash -c "$1"; }
fail() { echo "crash test FAILED: $*" >&2; exit 1; }
trap 'bash scripts/cluster.sh stop "$dir"' EXIT

bash scripts/cluster.sh start "$dir" "$port" \
  "workflow_scheduler.database_name = 'ws_crash'" "workflow_scheduler.poll_interval = '200ms'" >/dev/null
as_pg "$PG_BIN/createdb" -h "$dir" -p "$port" -U postgres ws_crash
sql "CREATE EXTENSION workflow_scheduler" >/dev/null
sql "SELECT count(workflow_scheduler.schedule_add(gen_random_uuid(),
       jsonb_build_object('schedule_type', 'one_time', 'scheduled_time',
                          to_char((now() + interval '3 seconds') AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')), 1, 1))
       FROM generate_series(1, $n)" >/dev/null

# Kill the postmaster as soon as the first batch has committed.
for _ in $(seq 1 3000); do
  [ "$(sql "SELECT count(*) > 0 FROM workflow_scheduler.workflow_schedule_executions")" = t ] && break
  sleep 0.005
done
postmaster=$(head -1 "$dir/data/postmaster.pid")
fired_before=$(sql "SELECT count(*) FROM workflow_scheduler.workflow_schedule_executions") || fired_before="?"
kill -9 "$postmaster"
# The children notice the postmaster's death and exit; a new postmaster refuses to start while
# the old one's pid lives or its shared memory is attached, so wait, then retry the start.
for _ in $(seq 1 100); do kill -0 "$postmaster" 2>/dev/null || break; sleep 0.1; done
started=no
for _ in $(seq 1 60); do
  if as_pg "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null 2>&1; then
    started=yes
    break
  fi
  sleep 0.5
done
[ "$started" = yes ] || fail "the server did not start again"
echo "postmaster killed after about $fired_before of $n fires; restarted"

counts() { sql "SELECT count(*) || ' ' || count(DISTINCT schedule_id) FROM workflow_scheduler.workflow_schedule_executions WHERE status = 'triggered'"; }
for _ in $(seq 1 300); do [ "$(counts)" = "$n $n" ] && break; sleep 0.2; done
[ "$(counts)" = "$n $n" ] || fail "executions (total, distinct) = $(counts), want $n $n"
finished=$(sql "SELECT count(*) FROM workflow_scheduler.workflow_schedules WHERE execution_count = 1 AND NOT is_active")
[ "$finished" = "$n" ] || fail "$finished of $n schedules counted exactly one fire"
echo "after the crash every one of the $n occurrences fired exactly once"
