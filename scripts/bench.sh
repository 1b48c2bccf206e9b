#!/usr/bin/env bash
# `make bench`: every benchmark, each with its peer measured in the same run.
#   1. in-process next-time cost: scheduler_core vs croniter (bench/bench_next.sh)
#   2. SQL schedule_next over 1,000,000 rows vs a builtin baseline (bench/schedule_next_sql.sh)
#   3. firing: bursts up to 100,000, steady state up to 1,000,000 schedules, worker CPU and memory,
#      vs hand-written set-based SQL, pg_cron 1.4.2, APScheduler 3 and pgAgent; writes the charts
#      in docs/img/bench (bench/fire_bench.sh)
#   4. the slowest adversarial inputs of at most 10 KB, vs a trivial call (bench/input_bound.sh)
#   5. HTTP hooks end to end, vs firing without hooks, pg_net (if installed) and a plain client
#      loop (bench/delivery_bench.sh)
#   6. execution_claim + execution_complete, vs plain UPDATE ... SKIP LOCKED (bench/claim_bench.sh)
#   7. schedule_overview, scheduler_status() and retention at 100,000 schedules, vs plain reads
#      of the table and pg_cron's cleanup DELETE (bench/operations_bench.sh)
#   8. bulk creation: 1,000,000 schedules through schedule_add_many, vs a plain INSERT ... SELECT
#      of the same rows and schedule_add one at a time (bench/bulk_add_bench.sh)
# Figures are recorded by hand in docs/benchmarks.md. Expects `make install` to have run.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== 1. next-time cost, in process"
bash bench/bench_next.sh
echo
echo "== 2. schedule_next in SQL"
bash bench/schedule_next_sql.sh
echo
echo "== 3. firing, against pg_cron"
bash bench/fire_bench.sh
echo
echo "== 4. the slowest inputs"
bash bench/input_bound.sh
echo
echo "== 5. HTTP hooks: deliveries, against pg_net or a plain client loop"
bash bench/delivery_bench.sh
echo
echo "== 6. the execution lifecycle: claim and complete"
bash bench/claim_bench.sh
echo
echo "== 7. operations: overview, status, retention"
bash bench/operations_bench.sh
echo
echo "== 8. bulk creation: schedule_add_many"
bash bench/bulk_add_bench.sh
