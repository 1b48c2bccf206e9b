#!/usr/bin/env bash
# Operations benchmark: what a DBA runs, each beside a peer measured in the same run.
#   1. schedule_overview over SCHEDULES schedules          vs  SELECT * of the same table
#   2. scheduler_status()                                  vs  count(*) of the same table
#   3. run_maintenance() removing OLD_ROWS expired executions and OLD_ROWS audit rows
#                                                          vs  pg_cron's documented cleanup: one
#                                                              DELETE on cron.job_run_details
#   4. the worker's own retention of the same rows, with the lateness of FIRING schedules that
#      fire every second meanwhile                         vs  their lateness with nothing to delete
#
# Usage: bench/operations_bench.sh   (as root on Debian 12, with the extension installed into
#                                     the system PostgreSQL 15; installs postgresql-15-cron)
# Env:
#   RUNS=3                 runs, each in a fresh cluster; medians over runs at the end
#   SCHEDULES=100000       schedules behind the overview and the status
#   OLD_ROWS=1000000       expired executions, and as many expired audit rows (and pg_cron rows)
#   FIRING=50              schedules firing every second, spread over it, during section 4
#   REPEAT=7               timed calls per query in sections 1 and 2 (median reported)
#   BENCH_DIR=/tmp/wsops   cluster directory (short: it holds the socket); PORT=54363
#   RESULTS=/tmp/operations_bench-results   per-run output and server logs
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
. "$here/lib.sh"
runs="${RUNS:-3}"
schedules="${SCHEDULES:-100000}"
old_rows="${OLD_ROWS:-1000000}"
firing="${FIRING:-50}"
repeat="${REPEAT:-7}"
dir="${BENCH_DIR:-/tmp/wsops}"
port="${PORT:-54363}"
results="${RESULTS:-/tmp/operations_bench-results}"
PG_BIN=/usr/lib/postgresql/15/bin
libdir="$("$PG_BIN/pg_config" --pkglibdir)"

[ -f "$libdir/workflow_scheduler.so" ] || { echo "workflow_scheduler is not installed in PostgreSQL 15 (make install)" >&2; exit 1; }
if ! dpkg-query -W -f='${Status}' postgresql-15-cron 2>/dev/null | grep -q "install ok installed"; then
    echo "installing postgresql-15-cron ..." >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y postgresql-15-cron >/dev/null || { apt-get update >/dev/null && apt-get install -y postgresql-15-cron >/dev/null; }
fi

cleanup() { bash "$root/scripts/cluster.sh" stop "$dir" || true; }
trap cleanup EXIT INT TERM

psql_bench() { "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$dir" -p "$port" -U postgres -d bench "$@"; }
value() { psql_bench -At -c "$1"; }
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

# Wall time in ms of one statement as psql sees it (rows fetched and thrown away), REPEAT times;
# prints the median.
timed_median() {
    local sql="$1"
    { echo '\timing on'; echo '\o /dev/null'; for _ in $(seq 1 "$repeat"); do echo "$sql;"; done; } |
        psql_bench | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | median
}
# Wall time in ms of one statement, run once.
timed_once() {
    { echo '\timing on'; echo '\o /dev/null'; echo "$1;"; } | psql_bench | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p'
}
set_and_reload() {
    for setting in "$@"; do psql_bench -c "ALTER SYSTEM SET $setting"; done
    psql_bench -c "SELECT pg_reload_conf()" >/dev/null
    sleep 0.5
}

# Expired rows: finished executions of one old schedule and audit rows, 40 days old (retention
# keeps 30), and as many pg_cron run details.
load_expired_rows() {
    psql_bench -v n="$old_rows" <<'SQL'
SELECT workflow_scheduler.schedule_add(gen_random_uuid(), '{"schedule_type": "interval", "interval_seconds": 86400}', 1, 1)->>'schedule_id' AS old_schedule \gset
INSERT INTO workflow_scheduler.workflow_schedule_executions
       (execution_id, schedule_id, workflow_id, scheduled_for, triggered_at, status, trigger_data)
SELECT gen_random_uuid(), s.schedule_id, s.workflow_id, t, t, 'completed', '{"context": {}}'
  FROM workflow_scheduler.workflow_schedules AS s,
       generate_series(1, :n) AS i, LATERAL (SELECT now() - interval '40 days' - make_interval(secs => i)) AS g(t)
 WHERE s.schedule_id = :'old_schedule';
INSERT INTO workflow_scheduler.audit_log (logged_at, event_type, action, result, details, schedule_id)
SELECT now() - interval '40 days' - make_interval(secs => i), 'AUDIT', 'schedule_triggered', 'SUCCESS',
       '{"trigger_kind": "scheduled"}', :'old_schedule'
  FROM generate_series(1, :n) AS i;
INSERT INTO cron.job_run_details (jobid, runid, job_pid, database, username, command, status, return_message, start_time, end_time)
SELECT 1, i, 0, 'bench', 'postgres', 'SELECT 1', 'succeeded', '1 row', t, t
  FROM generate_series(1, :n) AS i, LATERAL (SELECT now() - interval '40 days' - make_interval(secs => i)) AS g(t);
VACUUM ANALYZE;
SQL
}
expired_left() {
    value "SELECT (SELECT count(*) FROM workflow_scheduler.workflow_schedule_executions WHERE triggered_at < now() - interval '30 days')
                + (SELECT count(*) FROM workflow_scheduler.audit_log WHERE logged_at < now() - interval '30 days')"
}
# The oldest expired row's age: it changes as soon as the worker's first batch commits.
oldest_expired() {
    value "SELECT min(triggered_at) FROM workflow_scheduler.workflow_schedule_executions WHERE status NOT IN ('triggered', 'running')"
}
any_expired() {
    value "SELECT EXISTS (SELECT 1 FROM workflow_scheduler.workflow_schedule_executions
                           WHERE status NOT IN ('triggered', 'running') AND triggered_at < now() - interval '30 days')
               OR EXISTS (SELECT 1 FROM workflow_scheduler.audit_log WHERE logged_at < now() - interval '30 days')"
}
# p50/p99/max lateness (ms), fires and misses of the every-second schedules in [from, to).
lateness() {
    value "SELECT format('%s %s %s %s %s',
                  round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 2),
                  round(percentile_cont(0.99) WITHIN GROUP (ORDER BY ms)::numeric, 2),
                  round(max(ms)::numeric, 2), count(*) FILTER (WHERE status <> 'missed'),
                  count(*) FILTER (WHERE status = 'missed'))
             FROM (SELECT status, extract(epoch FROM triggered_at - scheduled_for) * 1000 AS ms
                     FROM workflow_scheduler.workflow_schedule_executions
                    WHERE schedule_id IN (SELECT schedule_id FROM workflow_scheduler.workflow_schedules WHERE interval_seconds = 1)
                      AND scheduled_for >= '$1' AND scheduled_for < '$2') AS f"
}

mkdir -p "$results"
rm -f "$results"/run-*.txt "$results"/server-*.log
for run in $(seq 1 "$runs"); do
    echo "=== run $run of $runs ===" >&2
    # Retention starts off (0 keeps everything); each section turns on what it measures.
    bash "$root/scripts/cluster.sh" start "$dir" "$port" \
        "shared_preload_libraries = 'workflow_scheduler,pg_cron'" \
        "cron.database_name = 'bench'" \
        "workflow_scheduler.database_name = 'bench'" \
        "workflow_scheduler.history_retention = 0" \
        "workflow_scheduler.audit_retention = 0" \
        "shared_buffers = '512MB'" "max_wal_size = '4GB'" >&2
    "$PG_BIN/psql" -X -q -h "$dir" -p "$port" -U postgres -d postgres -c "CREATE DATABASE bench"
    psql_bench -c "CREATE EXTENSION workflow_scheduler" -c "CREATE EXTENSION pg_cron"
    out="$results/run-$run.txt"
    {
        echo "# run $run, $(date -u +%FT%TZ), host $(hostname), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
        echo "# workflow_scheduler.so md5 $(md5sum "$libdir/workflow_scheduler.so" | cut -d' ' -f1); pg_cron $(dpkg-query -W -f='${Version}' postgresql-15-cron)"

        # 1 and 2: a mix of kinds, zones and states through the public API.
        psql_bench -v n="$schedules" >/dev/null <<'SQL'
SELECT count(workflow_scheduler.schedule_add(gen_random_uuid(),
         CASE i % 4
             WHEN 0 THEN jsonb_build_object('schedule_type', 'cron', 'cron_expression', format('%s %s 29 2 *', i % 60, i % 24),
                                            'timezone', (ARRAY['Europe/Berlin', 'America/New_York', 'Asia/Tokyo', 'UTC'])[1 + i / 4 % 4])
             WHEN 1 THEN jsonb_build_object('schedule_type', 'interval', 'interval_seconds', 86400 + i)
             WHEN 2 THEN jsonb_build_object('schedule_type', 'cron', 'cron_expression', format('0 %s L 2 *', i % 24), 'timezone', 'Australia/Sydney')
             ELSE jsonb_build_object('schedule_type', 'one_time', 'scheduled_time', now() + interval '30 days' + make_interval(secs => i))
         END, 1, 1))
  FROM generate_series(1, :n) AS i;
SELECT count(workflow_scheduler.schedule_pause(schedule_id, 'bench'))
  FROM workflow_scheduler.workflow_schedules WHERE abs(hashtext(schedule_id::text)) % 10 = 0;
SELECT count(workflow_scheduler.schedule_trigger(schedule_id))
  FROM workflow_scheduler.workflow_schedules WHERE is_active AND abs(hashtext(schedule_id::text)) % 10 = 1;
VACUUM ANALYZE;
SQL
        echo "schedules: $(value "SELECT count(*) FROM workflow_scheduler.workflow_schedules") ($(value "SELECT string_agg(state || ' ' || n, ', ' ORDER BY state) FROM (SELECT state, count(*) AS n FROM workflow_scheduler.schedule_overview GROUP BY state) s"))"
        echo "overview_ms $(timed_median "SELECT * FROM workflow_scheduler.schedule_overview")"
        echo "overview_peer_ms $(timed_median "SELECT * FROM workflow_scheduler.workflow_schedules")"
        echo "status_ms $(timed_median "SELECT workflow_scheduler.scheduler_status()")"
        echo "status_peer_ms $(timed_median "SELECT count(*) FROM workflow_scheduler.workflow_schedules")"

        # 3: run_maintenance against pg_cron's cleanup, the worker kept out of the way.
        load_expired_rows
        set_and_reload "workflow_scheduler.enabled = off" \
            "workflow_scheduler.history_retention = '30d'" "workflow_scheduler.audit_retention = '30d'"
        rows="$(expired_left)"
        echo "maintenance_rows $rows"
        echo "maintenance_ms $(timed_once "SELECT workflow_scheduler.run_maintenance()")"
        echo "maintenance_left $(expired_left)"
        echo "pg_cron_rows $(value "SELECT count(*) FROM cron.job_run_details")"
        echo "pg_cron_cleanup_ms $(timed_once "DELETE FROM cron.job_run_details WHERE end_time < now() - interval '30 days'")"

        # 4: the worker deletes between passes while schedules fire every second.
        set_and_reload "workflow_scheduler.history_retention = 0" "workflow_scheduler.audit_retention = 0"
        load_expired_rows
        psql_bench -v n="$firing" >/dev/null <<'SQL'
-- Spread over the second: each fires at its own instant, and the room between fires is small.
SELECT count(workflow_scheduler.schedule_add(gen_random_uuid(),
         jsonb_build_object('schedule_type', 'interval', 'interval_seconds', 1,
                            'start_at', date_trunc('second', now()) + interval '2 seconds' + make_interval(secs => i::float8 / :n)), 1, 1))
  FROM generate_series(0, :n - 1) AS i;
SQL
        set_and_reload "workflow_scheduler.enabled = on"
        sleep 3
        quiet_from="$(value "SELECT now()")"
        sleep 20
        quiet_to="$(value "SELECT now()")"
        echo "quiet_lateness_p50_p99_max_fires_missed $(lateness "$quiet_from" "$quiet_to")"
        first_oldest="$(oldest_expired)"
        rows="$(expired_left)"
        set_and_reload "workflow_scheduler.history_retention = '30d'" "workflow_scheduler.audit_retention = '30d'"
        # From the first batch's commit to the last one's.
        wait_for() { local until=$((SECONDS + $1)); shift; while ! "$@"; do [ "$SECONDS" -lt "$until" ] || { echo "timed out: $*" >&2; exit 1; }; sleep 0.05; done; }
        first_batch_done() { [ "$(oldest_expired)" != "$first_oldest" ]; }
        none_expired() { [ "$(any_expired)" = "f" ]; }
        wait_for 60 first_batch_done
        started="$(value "SELECT now()")"
        started_s="$(date +%s.%N)"
        wait_for 900 none_expired
        finished_s="$(date +%s.%N)"
        finished="$(value "SELECT now()")"
        echo "worker_retention_rows $rows"
        echo "worker_retention_s $(awk -v a="$started_s" -v b="$finished_s" 'BEGIN { printf "%.2f", b - a }')"
        echo "retention_lateness_p50_p99_max_fires_missed $(lateness "$started" "$finished")"
    } | tee "$out"
    echo "load average after run $run: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out"
    bash "$root/scripts/cluster.sh" stop "$dir"
    cp "$dir/server.log" "$results/server-$run.log"
    server_log_summary "$results/server-$run.log" | tee -a "$out"
done

# Medians over runs, and the rates and ratios of those medians.
med() { grep -h "^$1 " "$results"/run-*.txt | awk '{ print $2 }' | median; }
med_field() { grep -h "^$1 " "$results"/run-*.txt | awk -v f="$2" '{ print $(f + 1) }' | median; }
echo
echo "=== medians over $runs run(s) ==="
overview="$(med overview_ms)"; overview_peer="$(med overview_peer_ms)"
status="$(med status_ms)"; status_peer="$(med status_peer_ms)"
maintenance_rate="$(grep -h -e '^maintenance_rows ' -e '^maintenance_ms ' "$results"/run-*.txt | awk '/rows/ { r = $2 } /_ms/ { printf "%.0f\n", r / $2 * 1000 }' | median)"
pg_cron_rate="$(grep -h -e '^pg_cron_rows ' -e '^pg_cron_cleanup_ms ' "$results"/run-*.txt | awk '/rows/ { r = $2 } /_ms/ { printf "%.0f\n", r / $2 * 1000 }' | median)"
worker_rate="$(grep -h -e '^worker_retention_rows ' -e '^worker_retention_s ' "$results"/run-*.txt | awk '/rows/ { r = $2 } /_s / { printf "%.0f\n", r / $2 }' | median)"
printf 'schedule_overview, %s schedules:  %s ms   (SELECT * of the table: %s ms; %sx)\n' "$schedules" "$overview" "$overview_peer" "$(ratio "$overview" "$overview_peer")"
printf 'scheduler_status():                %s ms   (count(*) of the table: %s ms; %sx)\n' "$status" "$status_peer" "$(ratio "$status" "$status_peer")"
printf 'run_maintenance():                 %s rows/s   (pg_cron cleanup DELETE: %s rows/s; %sx)\n' "$maintenance_rate" "$pg_cron_rate" "$(ratio "$maintenance_rate" "$pg_cron_rate")"
printf 'worker retention between passes:   %s rows/s\n' "$worker_rate"
printf 'lateness of every-second fires, ms: quiet p50 %s p99 %s max %s; while deleting p50 %s p99 %s max %s; missed while deleting: %s\n' \
    "$(med_field quiet_lateness_p50_p99_max_fires_missed 1)" "$(med_field quiet_lateness_p50_p99_max_fires_missed 2)" \
    "$(med_field quiet_lateness_p50_p99_max_fires_missed 3)" "$(med_field retention_lateness_p50_p99_max_fires_missed 1)" \
    "$(med_field retention_lateness_p50_p99_max_fires_missed 2)" "$(med_field retention_lateness_p50_p99_max_fires_missed 3)" \
    "$(med_field retention_lateness_p50_p99_max_fires_missed 5)"
echo "per-run output and server logs: $results" >&2
