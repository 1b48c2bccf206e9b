#!/usr/bin/env bash
# Firing benchmark: workflow_scheduler, the reference set-based SQL, pg_cron 1.4.2, APScheduler and
# pgAgent side by side, in the same cluster and the same run (see examples/fire_bench.rs for what
# each phase measures).
#
# Usage: bench/fire_bench.sh            (as root on Debian 12, with the extension installed into
#                                         the system PostgreSQL 15; installs postgresql-15-cron)
# Env:
#   RUNS=2                 runs (about 15 min each), each in a fresh throwaway cluster; medians at the end
#   PGCRON_MODE=libpq      pg_cron runs jobs over libpq to the unix socket (cron.host = socket dir);
#                          bgw: cron.use_background_workers = on instead
#   QUIET_LOG=0            1 adds log_min_messages = fatal (hides the LOG-level audit lines; for
#                          measuring their cost only, the default run logs everything)
#   FIRE_BENCH_ARGS=...    extra options for fire_bench run (--phases, --burst-sizes, --steady,
#                          --peer-burst-sizes, --pgagent-burst-sizes, --ws-settings, ...)
#   MAX_CONNECTIONS=2100   pgAgent holds two connections per running job and loses the jobs it
#                          cannot connect for: 2 N + 20 for its N = 1,000 burst
#   SHARED_BUFFERS=1GB     holds the 1,000,000 schedules with their indexes (the default 128MB
#                          does not: every fire then reads its pages back from the OS)
#   PEER_PYTHON=python3    the interpreter for bench/peers/apscheduler_peer.py
#   CHARTS_DIR=docs/img/bench   where bench/charts.py (if present) writes the charts
#   BENCH_DIR=/tmp/wsfb    cluster directory (short: it holds the socket); PORT=54329
#   RESULTS=/tmp/fire_bench-results   per-run output and server logs
#   CARGO_TARGET_DIR=/tmp/bench-target
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
. "$here/lib.sh"
runs="${RUNS:-2}"
mode="${PGCRON_MODE:-libpq}"
dir="${BENCH_DIR:-/tmp/wsfb}"
port="${PORT:-54329}"
results="${RESULTS:-/tmp/fire_bench-results}"
charts_dir="${CHARTS_DIR:-$root/docs/img/bench}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/tmp/bench-target}"
PG_BIN=/usr/lib/postgresql/15/bin

# 1. pg_cron 1.4.2 from Debian, only if missing.
if ! dpkg-query -W -f='${Status}' postgresql-15-cron 2>/dev/null | grep -q "install ok installed"; then
    echo "installing postgresql-15-cron ..." >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y postgresql-15-cron >/dev/null || { apt-get update >/dev/null && apt-get install -y postgresql-15-cron >/dev/null; }
fi
echo "pg_cron package: $(dpkg-query -W -f='${Version}' postgresql-15-cron)" >&2
[ -f /usr/lib/postgresql/15/lib/workflow_scheduler.so ] || { echo "workflow_scheduler is not installed in PostgreSQL 15" >&2; exit 1; }

# 2. The benchmark client.
echo "building fire_bench (release, CARGO_TARGET_DIR=$CARGO_TARGET_DIR) ..." >&2
(cd "$root" && cargo build --quiet --release --example fire_bench)
bench="$CARGO_TARGET_DIR/release/examples/fire_bench"

case "$mode" in
    libpq) cron_conf=("cron.host = '$dir'") ;;
    bgw) cron_conf=("cron.use_background_workers = on") ;;
    *) echo "PGCRON_MODE must be libpq or bgw" >&2; exit 2 ;;
esac
extra_conf=()
[ "${QUIET_LOG:-0}" = 1 ] && extra_conf+=("log_min_messages = fatal")

cleanup() {
    # A pgAgent daemon the client started, if the client died before stopping it.
    [ -f "$root/bench/peers/pgagent_peer.sh" ] && { bash "$root/bench/peers/pgagent_peer.sh" stop "$dir" "$port" bench || true; }
    bash "$root/scripts/cluster.sh" stop "$dir" || true
}
trap cleanup EXIT INT TERM

psql_bench() { "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$dir" -p "$port" -U postgres "$@"; }

mkdir -p "$results"
rm -rf "$results"/run-*.txt "$results"/server-*.log "$results"/pgagent-*.log "$results"/samples
for run in $(seq 1 "$runs"); do
    echo "=== run $run of $runs (pg_cron mode: $mode) ===" >&2
    bash "$root/scripts/cluster.sh" start "$dir" "$port" \
        "shared_preload_libraries = 'workflow_scheduler,pg_cron'" \
        "max_worker_processes = 40" \
        "max_connections = ${MAX_CONNECTIONS:-2100}" \
        "shared_buffers = ${SHARED_BUFFERS:-1GB}" \
        "workflow_scheduler.database_name = 'bench'" \
        "cron.database_name = 'bench'" \
        "${cron_conf[@]}" "${extra_conf[@]}" >&2
    psql_bench -d postgres -c "CREATE DATABASE bench"
    psql_bench -d bench -c "CREATE EXTENSION workflow_scheduler" -c "CREATE EXTENSION pg_cron"
    out="$results/run-$run.txt"
    {
        echo "# run $run, $(date -u +%FT%TZ), pg_cron mode $mode, host $(hostname), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
        echo "# workflow_scheduler.so md5 $(md5sum /usr/lib/postgresql/15/lib/workflow_scheduler.so | cut -d' ' -f1), $(stat -c '%y' /usr/lib/postgresql/15/lib/workflow_scheduler.so)"
        # shellcheck disable=SC2086
        "$bench" run "$dir" "$port" bench --samples-dir "$results/samples/run-$run" \
            --peers-dir "$root/bench/peers" --pgagent-log "$results/pgagent-$run.log" ${FIRE_BENCH_ARGS:-}
    } | tee "$out"
    echo "load average after run $run: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out"
    bash "$root/scripts/cluster.sh" stop "$dir"
    cp "$dir/server.log" "$results/server-$run.log"
    log="$results/server-$run.log"
    {
        echo
        echo "server log of run $run: $(wc -l <"$log") lines, $(grep -c ' AUDIT .*action=schedule_triggered' "$log" || true) schedule_triggered audit lines"
        # The two background workers start before CREATE DATABASE bench: each logs one FATAL
        # 'database "bench" does not exist' and is restarted. Anything else is reported.
        startup="$(grep -cE 'FATAL:  database "bench" does not exist' "$log" || true)"
        echo "startup FATALs before CREATE DATABASE (expected, 2 at most): $startup"
        problems="$(server_log_problems "$log")"
        if [ -n "$problems" ]; then
            echo "WARNING/ERROR/FATAL/PANIC lines: $(printf '%s\n' "$problems" | wc -l); first ones:"
            printf '%s\n' "$problems" | sed -E 's/^[^]]*\] //; s/[0-9a-f]{8}-[0-9a-f-]{27}/<uuid>/g; s/[0-9]+/N/g' | sort | uniq -c | sort -rn | head -15
        else
            echo "no WARNING/ERROR/FATAL/PANIC lines"
        fi
    } | tee -a "$out"
done

if [ -f "$here/charts.py" ]; then
    echo "charts: python3 bench/charts.py $results $charts_dir" >&2
    python3 "$here/charts.py" "$results" "$charts_dir" || echo "WARNING: bench/charts.py failed" >&2
fi
if [ "$runs" -gt 1 ]; then
    echo
    echo "=== medians over $runs runs ==="
    "$bench" summarize "$results"/run-*.txt
fi
echo
echo "per-run output and server logs: $results" >&2
