#!/usr/bin/env bash
# Layer 3: the pg_regress golden files in pg_test/, against the major of $PG_CONFIG (default the
# system 15). Expects `make install` to have run.
#   scripts/regress.sh            starts a throwaway cluster of its own and stops it after
#   scripts/regress.sh DIR PORT   uses a running cluster (scripts/e2e.sh passes its own)
set -euo pipefail
cd "$(dirname "$0")/.."

pg_config=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
# PGXS keeps pg_regress beside Makefile.global: lib/pgxs/src/test/regress/ in every layout.
PG_REGRESS="$(dirname "$("$pg_config" --pgxs)")/../test/regress/pg_regress"
as_pg() { if [ "$(id -u)" -eq 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi; }

if [ $# -ge 2 ]; then
  dir=$1 port=$2
else
  dir=${WS_REGRESS_DIR:-/tmp/ws-regress}
  port=${WS_REGRESS_PORT:-54323}
  trap 'bash scripts/cluster.sh stop "$dir"' EXIT
  # The golden files expect the worker to serve another database, as in scripts/e2e.sh's cluster.
  bash scripts/cluster.sh start "$dir" "$port" "workflow_scheduler.database_name = 'ws_e2e'" >/dev/null
fi

regress_out="$dir/regress"
# A copy the postgres user can read wherever the checkout lives (a clone under /root is not).
rm -rf "$regress_out"
mkdir -p "$regress_out"
cp -r pg_test/sql pg_test/expected "$regress_out/"
[ "$(id -u)" -eq 0 ] && chown -R postgres:postgres "$regress_out"
tests=$(cd pg_test/sql && ls *.sql | sed 's/\.sql$//' | sort)
# --bindir: a relocated build (the PyPI wheels) has another psql path compiled in.
if ! as_pg "$PG_REGRESS" --bindir="$("$pg_config" --bindir)" --inputdir="$regress_out" --outputdir="$regress_out" \
    --host="$dir" --port="$port" --user=postgres --dbname=ws_regress $tests; then
  cat "$regress_out/regression.diffs" 2>/dev/null || true
  exit 1
fi
