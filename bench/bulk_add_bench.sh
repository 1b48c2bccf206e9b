#!/usr/bin/env bash
# Bulk creation benchmark: TOTAL schedules through schedule_add_many, CHUNK per call (one
# transaction each, from psql), beside two peers measured in the same run:
#   - a plain INSERT ... SELECT of the same rows into a table created LIKE workflow_schedules
#     (same constraints and indexes, no extension function): the cost of the writes alone;
#   - schedule_add called once per statement for SINGLE schedules (what loading cost before).
# The inputs (mostly interval and cron in several zones, some one-time, a small context each) are
# generated into a table first, untimed. The worker is off (enabled = off): only creation is timed.
#
# Usage: bench/bulk_add_bench.sh   (as root on Debian 12, with the extension installed into the
#                                   system PostgreSQL 15)
# Env:
#   RUNS=3                 runs, each in a fresh cluster; medians over runs at the end
#   TOTAL=1000000          schedules loaded through schedule_add_many
#   CHUNK=10000            schedules per schedule_add_many call
#   SINGLE=10000           schedules loaded one schedule_add call at a time
#   BENCH_DIR=/tmp/wsbulkb cluster directory (short: it holds the socket); PORT=54472
#   RESULTS=/tmp/bulk_add_bench-results   per-run output and server logs
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
. "$here/lib.sh"
runs="${RUNS:-3}"
total="${TOTAL:-1000000}"
chunk="${CHUNK:-10000}"
single="${SINGLE:-10000}"
dir="${BENCH_DIR:-/tmp/wsbulkb}"
port="${PORT:-54472}"
results="${RESULTS:-/tmp/bulk_add_bench-results}"
PG_BIN=/usr/lib/postgresql/15/bin
libdir="$("$PG_BIN/pg_config" --pkglibdir)"

[ -f "$libdir/workflow_scheduler.so" ] || { echo "workflow_scheduler is not installed in PostgreSQL 15 (make install)" >&2; exit 1; }

cleanup() { bash "$root/scripts/cluster.sh" stop "$dir" || true; }
trap cleanup EXIT INT TERM

psql_bench() { "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$dir" -p "$port" -U postgres -d bench "$@"; }
value() { psql_bench -At -c "$1"; }
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
now_s() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now_s)" 'BEGIN { printf "%.2f", b - a }'; }
rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", n / s }'; }

mkdir -p "$results"
rm -f "$results"/run-*.txt "$results"/server-*.log
for run in $(seq 1 "$runs"); do
    echo "=== run $run of $runs ===" >&2
    bash "$root/scripts/cluster.sh" start "$dir" "$port" \
        "workflow_scheduler.database_name = 'bench'" \
        "workflow_scheduler.enabled = off" \
        "shared_buffers = '512MB'" "max_wal_size = '4GB'" >&2
    "$PG_BIN/psql" -X -q -h "$dir" -p "$port" -U postgres -d postgres -c "CREATE DATABASE bench"
    psql_bench -c "CREATE EXTENSION workflow_scheduler"
    out="$results/run-$run.txt"
    {
        echo "# run $run, $(date -u +%FT%TZ), host $(hostname), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
        echo "# workflow_scheduler.so md5 $(md5sum "$libdir/workflow_scheduler.so" | cut -d' ' -f1)"

        # The inputs, untimed: chunk c holds elements n with (n - 1) / CHUNK = c.
        psql_bench -v n="$((total + single))" -v chunk="$chunk" >/dev/null <<'SQL'
CREATE TABLE input AS
SELECT n, (n - 1) / :chunk AS c, gen_random_uuid() AS workflow_id,
       CASE WHEN n % 20 < 9 THEN jsonb_build_object('schedule_type', 'interval', 'interval_seconds', 3600 + n % 86400)
            WHEN n % 20 < 18 THEN jsonb_build_object('schedule_type', 'cron',
                 'cron_expression', format('%s %s * * %s', n % 60, n % 24, CASE WHEN n % 3 = 0 THEN '1-5' ELSE '*' END),
                 'timezone', (ARRAY['UTC', 'Europe/Berlin', 'America/New_York', 'Asia/Tokyo', 'Australia/Sydney'])[1 + n % 5])
            ELSE jsonb_build_object('schedule_type', 'one_time', 'scheduled_time', now() + interval '30 days' + make_interval(secs => n))
       END AS config,
       jsonb_build_object('tenant', n % 1000, 'source', 'bench') AS context
  FROM generate_series(1, :n) AS n;
CREATE INDEX ON input (c);
VACUUM ANALYZE input;
SQL
        chunks=$(( (total + chunk - 1) / chunk ))
        log_before=$(stat -c %s "$dir/server.log")
        # One call per chunk, each its own transaction, as a loader would send them.
        for c in $(seq 0 $((chunks - 1))); do
            echo "SELECT count(*) FROM workflow_scheduler.schedule_add_many(
                      (SELECT array_agg(workflow_id ORDER BY n) FROM input WHERE c = $c),
                      (SELECT array_agg(config ORDER BY n) FROM input WHERE c = $c), 1, 1,
                      (SELECT array_agg(context ORDER BY n) FROM input WHERE c = $c));"
        done >"$results/bulk.sql"
        started="$(now_s)"
        psql_bench -f "$results/bulk.sql" >/dev/null
        bulk_s="$(elapsed "$started")"
        log_bytes=$(( $(stat -c %s "$dir/server.log") - log_before ))
        loaded="$(value "SELECT count(*) FROM workflow_scheduler.workflow_schedules")"
        audits="$(value "SELECT count(*) FROM workflow_scheduler.audit_log WHERE action = 'schedule_create'")"
        echo "bulk_rows $loaded"
        echo "bulk_audit_rows $audits"
        echo "bulk_s $bulk_s"
        echo "bulk_rows_per_s $(rate "$loaded" "$bulk_s")"
        echo "bulk_log_bytes $log_bytes"

        # Peer 1: the same rows' columns, written by one plain INSERT ... SELECT.
        psql_bench -c "CREATE TABLE plain (LIKE workflow_scheduler.workflow_schedules INCLUDING ALL)"
        started="$(now_s)"
        psql_bench -c "INSERT INTO plain SELECT * FROM workflow_scheduler.workflow_schedules"
        plain_s="$(elapsed "$started")"
        echo "plain_insert_s $plain_s"
        echo "plain_insert_rows_per_s $(rate "$loaded" "$plain_s")"

        # Peer 2: schedule_add, one statement (and transaction) per schedule.
        psql_bench -At -v total="$total" >"$results/single.sql" <<'SQL'
SELECT format('SELECT workflow_scheduler.schedule_add(%L, %L, 1, 1, %L);', workflow_id, config, context)
  FROM input WHERE n > :total ORDER BY n;
SQL
        started="$(now_s)"
        psql_bench -f "$results/single.sql" >/dev/null
        single_s="$(elapsed "$started")"
        echo "single_rows $single"
        echo "single_s $single_s"
        echo "single_rows_per_s $(rate "$single" "$single_s")"
        echo "schedules_after $(value "SELECT count(*) FROM workflow_scheduler.workflow_schedules")"
    } | tee "$out"
    echo "load average after run $run: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out"
    bash "$root/scripts/cluster.sh" stop "$dir"
    cp "$dir/server.log" "$results/server-$run.log"
    server_log_summary "$results/server-$run.log" | tee -a "$out"
done

med() { grep -h "^$1 " "$results"/run-*.txt | awk '{ print $2 }' | median; }
echo
echo "=== medians over $runs run(s) ==="
bulk_rate="$(med bulk_rows_per_s)"; plain_rate="$(med plain_insert_rows_per_s)"; single_rate="$(med single_rows_per_s)"
printf 'schedule_add_many, %s schedules in calls of %s:  %s s, %s rows/s (server log: %s bytes)\n' \
    "$total" "$chunk" "$(med bulk_s)" "$bulk_rate" "$(med bulk_log_bytes)"
printf 'plain INSERT ... SELECT of the same rows:            %s s, %s rows/s (schedule_add_many: %sx its time)\n' \
    "$(med plain_insert_s)" "$plain_rate" "$(ratio "$plain_rate" "$bulk_rate")"
printf 'schedule_add, one call per statement, %s schedules: %s s, %s rows/s (schedule_add_many: %sx its rate)\n' \
    "$single" "$(med single_s)" "$single_rate" "$(ratio "$bulk_rate" "$single_rate")"
echo "per-run output and server logs: $results" >&2
