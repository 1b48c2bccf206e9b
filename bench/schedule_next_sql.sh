#!/usr/bin/env bash
# SQL throughput of schedule_next over 1,000,000 rows holding 1,000 distinct cron expressions
# in 10 time zones, next to a baseline scan that does a comparable builtin time-zone
# conversion per row, measured in the same run. Medians of ROUNDS runs.
#
# Usage: bench/schedule_next_sql.sh   (needs the extension installed: make install)
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=${ROUNDS:-5}
dir=${WS_BENCH_DIR:-/tmp/ws-bench-sql}
# The cluster listens only on its own socket directory, so a fixed port cannot clash.
port=${WS_PORT:-54323}
psql=(/usr/lib/postgresql/15/bin/psql -X -q -At -h "$dir" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1)

trap 'bash scripts/cluster.sh stop "$dir"' EXIT
bash scripts/cluster.sh start "$dir" "$port" "shared_buffers = '256MB'" "workflow_scheduler.enabled = off" >/dev/null

"${psql[@]}" <<'SQL'
CREATE EXTENSION workflow_scheduler;
CREATE TABLE bench_rows AS
SELECT format('%s %s * * %s', e % 60, (e / 60) % 24,
              (ARRAY['*', '1-5', 'sat,sun', '*/2'])[e % 4 + 1]) AS expr,
       (ARRAY['UTC', 'America/New_York', 'Europe/Berlin', 'Asia/Kolkata', 'Australia/Lord_Howe',
              'America/Sao_Paulo', 'Europe/London', 'Asia/Tokyo', 'Pacific/Chatham', 'America/St_Johns'])[z + 1] AS tz
  FROM generate_series(0, 999999) AS g(i),
       LATERAL (SELECT i % 1000 AS e, (i / 1000) % 10 AS z) AS k;
VACUUM ANALYZE bench_rows;
SQL
distinct=$("${psql[@]}" -c "SELECT count(DISTINCT expr) || ' expressions, ' || count(DISTINCT tz) || ' zones, ' || count(*) || ' rows' FROM bench_rows")
echo "data: $distinct"

# Runs a query ROUNDS times; prints the median wall time in ms.
median_ms() {
  local query=$1 workers=$2 times=()
  for _ in $(seq "$rounds"); do
    local t
    t=$("${psql[@]}" -c "SET max_parallel_workers_per_gather = $workers" -c '\timing on' -c "$query" \
        | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p')
    times+=("$t")
  done
  printf '%s\n' "${times[@]}" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'
}

next_query="SELECT count(workflow_scheduler.schedule_next('cron', cron_expression => expr, timezone => tz, after => '2026-01-01 00:00+00')) FROM bench_rows"
base_query="SELECT count(timezone(tz, '2026-01-01 00:00+00'::timestamptz)) FROM bench_rows"

echo
printf '%-44s %12s %14s\n' "query (1,000,000 rows)" "median ms" "rows/s"
for workers in 0 2; do
  next_ms=$(median_ms "$next_query" "$workers")
  base_ms=$(median_ms "$base_query" "$workers")
  printf '%-44s %12s %14s\n' "schedule_next, parallel workers $workers" "$next_ms" "$(awk -v ms="$next_ms" 'BEGIN { printf "%d", 1000000 / (ms / 1000) }')"
  printf '%-44s %12s %14s\n' "baseline timezone(), parallel workers $workers" "$base_ms" "$(awk -v ms="$base_ms" 'BEGIN { printf "%d", 1000000 / (ms / 1000) }')"
  echo "sql_next_rows_per_s_workers_$workers=$(awk -v ms="$next_ms" 'BEGIN { printf "%d", 1000000 / (ms / 1000) }')"
  echo "sql_next_vs_baseline_workers_$workers=$(awk -v a="$next_ms" -v b="$base_ms" 'BEGIN { printf "%.2f", a / b }')"
done
