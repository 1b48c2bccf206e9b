#!/usr/bin/env bash
# Layers 3 and 4 of `make test`: starts a throwaway cluster that preloads the installed
# extension, runs the pg_regress golden files in pg_test/ (scripts/regress.sh), then the Rust
# end-to-end tests in tests/, and always stops the cluster. Expects `make install` to have run.
set -euo pipefail
cd "$(dirname "$0")/.."

# The major being tested: PG_CONFIG (set by the Makefile), else the system 15.
export PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
PG_BIN=$("$PG_CONFIG" --bindir)
major=$("$PG_CONFIG" --version | sed -E 's/^PostgreSQL ([0-9]+).*/\1/')
features=()
[ "$major" = 15 ] || features=(--no-default-features --features "pg$major")
dir=${WS_E2E_DIR:-/tmp/ws-e2e}
# The cluster listens only on its own socket directory, so a fixed port cannot clash.
port=${WS_E2E_PORT:-54321}

trap 'bash scripts/cluster.sh stop "$dir"' EXIT
bash scripts/cluster.sh start "$dir" "$port" \
  "workflow_scheduler.database_name = 'ws_e2e'" \
  "workflow_scheduler.poll_interval = '200ms'" \
  "workflow_scheduler.http_allowed_cidrs = '127.0.0.1/32'" \
  "workflow_scheduler.http_retry_delays = '300ms,600ms,1s,1s,1s'"

echo "== pg_regress golden files (pg_test/)"
bash scripts/regress.sh "$dir" "$port"
# As root, run as postgres from /, since the checkout may be closed to postgres.
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}

echo "== reinstall while the server runs: files are replaced by rename, the server keeps going"
psql_bin=$PG_BIN/psql
library="$("$PG_CONFIG" --pkglibdir)/workflow_scheduler.so"
worker_pid() {
  as_pg "$psql_bin" -X -At -h "$dir" -p "$port" -U postgres -d postgres \
    -c "SELECT pid FROM pg_stat_activity WHERE backend_type = 'workflow_scheduler'"
}
# The worker's database: until it exists the worker cannot start (it retries every 5 s).
createdb_bin=$PG_BIN/createdb
as_pg "$createdb_bin" -h "$dir" -p "$port" -U postgres ws_e2e
pid_before=""
for _ in $(seq 1 60); do
  pid_before=$(worker_pid)
  [ -n "$pid_before" ] && break
  sleep 0.5
done
inode_before=$(stat -c %i "$library")
bash scripts/install.sh >/dev/null
inode_after=$(stat -c %i "$library")
pid_after=$(worker_pid)
if [ "$inode_before" = "$inode_after" ] || [ -z "$pid_before" ] || [ "$pid_before" != "$pid_after" ]; then
  echo "reinstall: library inode $inode_before -> $inode_after, worker pid '$pid_before' -> '$pid_after'" >&2
  echo "expected a new inode (rename) and the same running worker" >&2
  exit 1
fi
echo "library replaced (inode $inode_before -> $inode_after), worker $pid_after still running"

echo "== failover to a promoted streaming replica"
bash scripts/failover_test.sh

echo "== kill -9 of the postmaster during a burst"
bash scripts/crash_test.sh

# pg_cron, which docs/migrating.md's blocks need, is Debian's package for 15 only.
if [ "$major" = 15 ]; then
  echo "== every sql block in the docs"
  bash scripts/docs_test.sh "$dir-docs" "$port"
fi

echo "== end-to-end tests (tests/)"
# tests/e2e/examples.rs runs the engine examples: the Rust one is built here, the Node one
# needs its packages (scripts/setup.sh runs npm ci).
cargo build --release "${features[@]}" --example engine
WS_E2E_HOST="$dir" WS_E2E_PORT="$port" WS_E2E_DB=ws_e2e WS_E2E_BINDIR="$PG_BIN" \
  cargo test --release "${features[@]}" --test e2e -- --test-threads=1
