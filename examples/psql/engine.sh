#!/usr/bin/env bash
# A workflow engine loop in psql (docs/delivery.md): one psql session that LISTENs, and a shell
# loop that feeds it a claim-and-complete statement, before the first wait too, so a restarted
# engine finds every fire it missed.
#
#   bash examples/psql/engine.sh MAX_EXECUTIONS SECONDS
#
# Stops after MAX_EXECUTIONS executions (0: no limit) or SECONDS seconds, whichever comes first.
# The connection comes from PGHOST (a host or a socket directory), PGPORT, PGDATABASE and PGUSER.
# psql cannot block waiting for a notification: it prints the ones that arrived after each
# statement, so this loop claims again every second while idle.
set -euo pipefail

if [ $# -ne 2 ]; then
  echo "usage: engine.sh MAX_EXECUTIONS SECONDS" >&2
  exit 2
fi
limit=$1
seconds=$2
worker="psql-engine-$$"
end=$((SECONDS + seconds))
done_count=0

coproc PSQL { exec psql -X -q -At -v ON_ERROR_STOP=1 2>&1; }
psql_pid=$PSQL_PID
trap 'kill "$psql_pid" 2>/dev/null || true' EXIT
psql_in=${PSQL[1]}
psql_out=${PSQL[0]}

echo "LISTEN workflow_scheduler;" >&"$psql_in"

while [ "$SECONDS" -lt "$end" ] && { [ "$limit" -eq 0 ] || [ "$done_count" -lt "$limit" ]; }; do
  batch=10
  [ "$limit" -ne 0 ] && [ $((limit - done_count)) -lt 10 ] && batch=$((limit - done_count))
  # Claim and complete in one statement: the "workflow" here is the result it records.
  cat >&"$psql_in" <<SQL
SELECT 'completed', c.execution_id, c.workflow_id, c.attempt
  FROM workflow_scheduler.execution_claim($batch, '5 minutes', '$worker') AS c
 WHERE workflow_scheduler.execution_complete(
         c.execution_id, 'completed',
         pg_catalog.jsonb_build_object('workflow_id', c.workflow_id, 'engine', 'psql'));
\echo __end__
SQL
  claimed=0
  ended=no
  while IFS= read -r line <&"$psql_out"; do
    case "$line" in
      __end__)
        ended=yes
        break
        ;;
      completed\|*)
        IFS='|' read -r status execution_id workflow_id attempt <<<"$line"
        echo "$status $execution_id workflow $workflow_id attempt $attempt"
        claimed=$((claimed + 1))
        ;;
      Asynchronous\ notification*) ;; # a hint: the next claim finds the work
      *)
        echo "psql: $line" >&2
        exit 1
        ;;
    esac
  done
  if [ "$ended" = no ]; then
    echo "psql exited" >&2
    exit 1
  fi
  done_count=$((done_count + claimed))
  [ "$claimed" -eq 0 ] && sleep 1
done
echo "\\q" >&"$psql_in"
wait "$psql_pid" || true
echo "engine stopped after $done_count executions"
