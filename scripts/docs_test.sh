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
