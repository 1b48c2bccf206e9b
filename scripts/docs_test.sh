#!/usr/bin/env bash
# Runs every ```sql block in README.md, CHANGELOG.md and docs/*.md (scripts/docs_sql.py says
# how) against a throwaway cluster of its own that preloads workflow_scheduler and pg_cron 1.4
# (docs/migrating.md converts pg_cron's cron.job rows). Expects `make install` to have run.
#   bash scripts/docs_test.sh [DIR PORT]
set -euo pipefail
cd "$(dirname "$0")/.."

dir=${1:-/tmp/ws-docs}
port=${2:-54322}
trap 'bash scripts/cluster.sh stop "$dir"' EXIT
# pg_cron's launcher serves one database: the one migrating.md's blocks run in. The scheduler
# serves troubleshooting.md's.
bash scripts/cluster.sh start "$dir" "$port" \
  "shared_preload_libraries = 'workflow_scheduler,pg_cron'" \
  "cron.database_name = 'ws_docs_migrating'" \
  "workflow_scheduler.database_name = 'ws_docs_troubleshooting'"
files=(README.md docs/*.md)
[ -f CHANGELOG.md ] && files+=(CHANGELOG.md)
python3 scripts/docs_sql.py "$dir" "$port" "${files[@]}"

# docs/configuration.md describes every setting the server knows.
missing=0
for name in $(/usr/lib/postgresql/15/bin/psql -X -At -h "$dir" -p "$port" -U postgres -d postgres \
    -c "SELECT name FROM pg_catalog.pg_settings WHERE name LIKE 'workflow\_scheduler.%'"); do
  if ! grep -q "\`$name\`" docs/configuration.md; then
    echo "docs/configuration.md does not describe $name" >&2
    missing=1
  fi
done
[ "$missing" -eq 0 ] && echo "docs/configuration.md: every workflow_scheduler setting described"
exit "$missing"
