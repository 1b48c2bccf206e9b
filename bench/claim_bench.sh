#!/usr/bin/env bash
# Execution-lifecycle benchmark: execution_claim + execution_complete from concurrent engine
# sessions, against plain UPDATE ... FOR UPDATE SKIP LOCKED claims and updates of a copy of the
# same rows, in the same run (examples/claim_bench.rs).
#
# Usage: bench/claim_bench.sh          (as root on Debian 12, with the extension installed into
#                                        the system PostgreSQL 15)
# Env:
#   RUNS=3                 runs, each in a fresh cluster; odd runs measure workflow_scheduler
#                          first, even runs the peer first; medians at the end
#   CLAIM_BENCH_ARGS=      extra options for claim_bench run (--n 20000 --sessions 4 --batch 50
#                          --modes batch,per-row --session-roles engine,postgres)
#   BENCH_DIR=/tmp/wscl    cluster directory (short: it holds the socket); PORT=54362
#   RESULTS=/tmp/claim_bench-results   per-run output and server logs
#   CARGO_TARGET_DIR=/tmp/bench-target
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
. "$here/lib.sh"
runs="${RUNS:-3}"
dir="${BENCH_DIR:-/tmp/wscl}"
port="${PORT:-54362}"
results="${RESULTS:-/tmp/claim_bench-results}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/tmp/bench-target}"
PG_BIN=/usr/lib/postgresql/15/bin
libdir="$("$PG_BIN/pg_config" --pkglibdir)"

[ -f "$libdir/workflow_scheduler.so" ] || { echo "workflow_scheduler is not installed in PostgreSQL 15 (make install)" >&2; exit 1; }

echo "building claim_bench (release, CARGO_TARGET_DIR=$CARGO_TARGET_DIR) ..." >&2
(cd "$root" && cargo build --quiet --release --example claim_bench)
bench="$CARGO_TARGET_DIR/release/examples/claim_bench"

cleanup() { bash "$root/scripts/cluster.sh" stop "$dir" || true; }
trap cleanup EXIT INT TERM

psql_bench() { "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$dir" -p "$port" -U postgres "$@"; }

mkdir -p "$results"
rm -f "$results"/run-*.txt "$results"/server-*.log
for run in $(seq 1 "$runs"); do
    first=ws
    [ $((run % 2)) -eq 0 ] && first=peer
    echo "=== run $run of $runs ($first first) ===" >&2
    bash "$root/scripts/cluster.sh" start "$dir" "$port" \
        "max_worker_processes = 40" \
        "workflow_scheduler.database_name = 'bench'" >&2
    psql_bench -d postgres -c "CREATE DATABASE bench"
    psql_bench -d bench -c "CREATE EXTENSION workflow_scheduler"
    out="$results/run-$run.txt"
    {
        echo "# run $run, $first first, $(date -u +%FT%TZ), host $(hostname), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
        echo "# workflow_scheduler.so md5 $(md5sum "$libdir/workflow_scheduler.so" | cut -d' ' -f1), $(stat -c '%y' "$libdir/workflow_scheduler.so")"
        # shellcheck disable=SC2086
        "$bench" run "$dir" "$port" bench --first "$first" ${CLAIM_BENCH_ARGS:-}
    } | tee "$out"
    echo "load average after run $run: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out"
    bash "$root/scripts/cluster.sh" stop "$dir"
    cp "$dir/server.log" "$results/server-$run.log"
    server_log_summary "$results/server-$run.log" | tee -a "$out"
done

if [ "$runs" -gt 1 ]; then
    echo
    echo "=== medians over $runs runs ==="
    "$bench" summarize "$results"/run-*.txt
fi
echo
echo "per-run output and server logs: $results" >&2
