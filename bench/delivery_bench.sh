#!/usr/bin/env bash
# HTTP-hook benchmark: the delivery worker end to end, to a receiver on 127.0.0.1 written in the
# client (examples/delivery_bench.rs), each figure next to a peer measured in the same run:
# firing without hooks, pg_net (if installed), a plain client loop, and LISTEN/NOTIFY.
#
# Usage: bench/delivery_bench.sh       (as root on Debian 12, with the extension installed into
#                                        the system PostgreSQL 15)
# Env:
#   RUNS=3                 runs; each starts one fresh cluster per http_workers value; medians at the end
#   WORKERS="16 64"        workflow_scheduler.http_workers of each cluster (a postmaster setting).
#                          The first gets every phase; the others the bursts and the 50 ms receiver.
#   N=10000                burst size; SLOW_N=5000 for the 50 ms receiver
#   DELIVERY_BENCH_ARGS=   extra options for delivery_bench run (--rate, --window, --slow-ms, ...)
#   BENCH_DIR=/tmp/wsdb    cluster directory (short: it holds the socket); PORT=54361
#   RESULTS=/tmp/delivery_bench-results   per-run output and server logs
#   CARGO_TARGET_DIR=/tmp/bench-target
#
# pg_net is used only if it is installed into PostgreSQL 15 (it is not packaged by Debian; build it
# by hand, as docs/benchmarks.md describes). Without it, the raw-POST peer is the plain client loop.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
. "$here/lib.sh"
runs="${RUNS:-3}"
workers_list="${WORKERS:-16 64}"
n="${N:-10000}"
slow_n="${SLOW_N:-5000}"
dir="${BENCH_DIR:-/tmp/wsdb}"
port="${PORT:-54361}"
results="${RESULTS:-/tmp/delivery_bench-results}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/tmp/bench-target}"
PG_BIN=/usr/lib/postgresql/15/bin
libdir="$("$PG_BIN/pg_config" --pkglibdir)"
extdir="$("$PG_BIN/pg_config" --sharedir)/extension"

[ -f "$libdir/workflow_scheduler.so" ] || { echo "workflow_scheduler is not installed in PostgreSQL 15 (make install)" >&2; exit 1; }
if [ -f "$libdir/pg_net.so" ] && [ -f "$extdir/pg_net.control" ]; then
    pg_net=yes
    preload="workflow_scheduler,pg_net"
    echo "pg_net: installed ($(sed -n "s/^default_version = '\(.*\)'/\1/p" "$extdir/pg_net.control")), measured as a peer" >&2
else
    pg_net=no
    preload="workflow_scheduler"
    echo "pg_net: not installed; the raw-POST peer is the plain client loop only." >&2
    echo "  To add pg_net, build it by hand with PG15's pgxs: see docs/benchmarks.md, section" >&2
    echo "  'HTTP hooks and the execution lifecycle' (nothing of pg_net is part of this project)." >&2
fi

echo "building delivery_bench (release, CARGO_TARGET_DIR=$CARGO_TARGET_DIR) ..." >&2
(cd "$root" && cargo build --quiet --release --example delivery_bench)
bench="$CARGO_TARGET_DIR/release/examples/delivery_bench"

cleanup() { bash "$root/scripts/cluster.sh" stop "$dir" || true; }
trap cleanup EXIT INT TERM

psql_bench() { "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$dir" -p "$port" -U postgres "$@"; }

mkdir -p "$results"
rm -f "$results"/run-*.txt "$results"/server-*.log
first_workers="${workers_list%% *}"
for run in $(seq 1 "$runs"); do
    for workers in $workers_list; do
        echo "=== run $run of $runs, http_workers = $workers ===" >&2
        conf=("shared_preload_libraries = '$preload'"
            "max_worker_processes = 40"
            "workflow_scheduler.database_name = 'bench'"
            "workflow_scheduler.http_allowed_cidrs = '127.0.0.1/32'"
            "workflow_scheduler.http_workers = $workers")
        [ "$pg_net" = yes ] && conf+=("pg_net.database_name = 'bench'")
        bash "$root/scripts/cluster.sh" start "$dir" "$port" "${conf[@]}" >&2
        psql_bench -d postgres -c "CREATE DATABASE bench"
        psql_bench -d bench -c "CREATE EXTENSION workflow_scheduler"
        [ "$pg_net" = yes ] && psql_bench -d bench -c "CREATE EXTENSION pg_net"
        if [ "$workers" = "$first_workers" ]; then
            phases="fire-nohook,fire-hook,outbox,pg-net,client-loop,slow,steady"
        else
            phases="fire-nohook,fire-hook,outbox,slow"
        fi
        out="$results/run-$run-w$workers.txt"
        {
            echo "# run $run, http_workers $workers, $(date -u +%FT%TZ), host $(hostname), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
            echo "# workflow_scheduler.so md5 $(md5sum "$libdir/workflow_scheduler.so" | cut -d' ' -f1), $(stat -c '%y' "$libdir/workflow_scheduler.so")"
            [ "$pg_net" = yes ] && echo "# pg_net.so md5 $(md5sum "$libdir/pg_net.so" | cut -d' ' -f1)"
            # shellcheck disable=SC2086
            "$bench" run "$dir" "$port" bench --phases "$phases" --n "$n" --slow-n "$slow_n" ${DELIVERY_BENCH_ARGS:-}
        } | tee "$out"
        echo "load average after run $run (http_workers $workers): $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out"
        bash "$root/scripts/cluster.sh" stop "$dir"
        log="$results/server-$run-w$workers.log"
        cp "$dir/server.log" "$log"
        {
            echo
            # The workers start before CREATE DATABASE bench: each logs one FATAL 'database
            # "bench" does not exist' and is restarted. Anything else is reported.
            problems="$(server_log_problems "$log")"
            if [ -n "$problems" ]; then
                echo "server log: $(printf '%s\n' "$problems" | wc -l) WARNING/ERROR/FATAL/PANIC lines; first ones:"
                printf '%s\n' "$problems" | sed -E 's/^[^]]*\] //; s/[0-9a-f]{8}-[0-9a-f-]{27}/<uuid>/g; s/[0-9]+/N/g' | sort | uniq -c | sort -rn | head -15
            else
                echo "server log: no WARNING/ERROR/FATAL/PANIC lines (beyond the expected startup FATALs)"
            fi
        } | tee -a "$out"
    done
done

if [ "$runs" -gt 1 ]; then
    echo
    echo "=== medians over $runs runs ==="
    "$bench" summarize "$results"/run-*.txt
fi
echo
echo "per-run output and server logs: $results" >&2
