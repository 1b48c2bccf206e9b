#!/usr/bin/env bash
# Next-time cost: scheduler_core (Rust, in-process) vs croniter (Python), same expressions,
# zones and starts, measured in the same run. Prints a table and the croniter/ours ratio.
#
# Usage: bench/bench_next.sh            (from anywhere; needs cargo and python3 >= 3.9)
# Env:   CARGO_TARGET_DIR is honoured; CRONITER_VERSION pins croniter (default 7.0.0).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
venv="$here/.venv"
croniter_version="${CRONITER_VERSION:-7.0.0}"

if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import croniter" 2>/dev/null; then
    echo "setting up $venv with croniter==$croniter_version ..." >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "croniter==$croniter_version"
fi

echo "building and running the Rust benchmark (release) ..." >&2
ours="$(cd "$root" && cargo run --quiet --release -p scheduler_core --example bench_next)"
echo "running the croniter benchmark ..." >&2
theirs="$("$venv/bin/python" "$here/croniter_next.py")"

value() { # value KEY TEXT
    printf '%s\n' "$2" | sed -n "s/^$1=//p"
}

ours_next="$(value next_ns_median "$ours")"
ours_parse="$(value parse_ns_median "$ours")"
ours_both="$(value parse_next_ns_median "$ours")"
theirs_next="$(value next_ns_median "$theirs")"
theirs_both="$(value parse_next_ns_median "$theirs")"
ours_sum="$(value checksum "$ours")"
theirs_sum="$(value checksum "$theirs")"

croniter_installed="$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("croniter"))')"
echo
echo "next-time cost, median ns per call (croniter $croniter_installed, $(python3 --version 2>&1))"
printf '%-22s %14s %14s %10s\n' "metric" "scheduler_core" "croniter" "ratio"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1fx", a / b }'; }
printf '%-22s %14s %14s %10s\n' "next (pre-parsed)" "$ours_next" "$theirs_next" "$(ratio "$theirs_next" "$ours_next")"
printf '%-22s %14s %14s %10s\n' "parse + next" "$ours_both" "$theirs_both" "$(ratio "$theirs_both" "$ours_both")"
printf '%-22s %14s %14s %10s\n' "parse only" "$ours_parse" "-" "-"
echo
if [ "$ours_sum" = "$theirs_sum" ]; then
    echo "results agree (checksum $ours_sum)"
else
    echo "WARNING: results differ (checksum ours=$ours_sum croniter=$theirs_sum)"
fi
echo "next_ratio=$(awk -v a="$theirs_next" -v b="$ours_next" 'BEGIN { printf "%.1f", a / b }')"
