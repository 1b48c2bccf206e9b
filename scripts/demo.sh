#!/usr/bin/env bash
# The main job (`make demo`): a throwaway cluster with workflow_scheduler preloaded, three
# schedules, and a LISTEN client printing each notification with how late it arrived.
# Runs DEMO_SECONDS (default 70, enough to see the every-minute cron fire), or until Ctrl-C;
# then stops the cluster and removes it. Expects `make install` to have run.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${DEMO_SECONDS:-70}
dir=${WS_DEMO_DIR:-/tmp/ws-demo}
# The cluster listens only on its own socket directory, so a fixed port cannot clash.
port=${WS_PORT:-54322}
psql=("$("${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}" --bindir)/psql" -X -q -h "$dir" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1)

cleanup() { bash scripts/cluster.sh stop "$dir"; rm -rf "$dir"; echo "cluster stopped and removed"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

cargo build --release --example listen -q
bash scripts/cluster.sh start "$dir" "$port" "workflow_scheduler.poll_interval = '1s'"

"${psql[@]}" <<'SQL'
CREATE EXTENSION workflow_scheduler;
SELECT s->>'schedule_type' AS type, coalesce(s->>'cron_expression', s->>'interval_seconds', s->>'scheduled_time') AS rule,
       s->>'max_executions' AS max, s->>'next_execution_at' AS next_execution_at
  FROM (SELECT workflow_scheduler.schedule_add(gen_random_uuid(),
               '{"schedule_type": "cron", "cron_expression": "* * * * *"}', 1, 1,
               '{"demo": "cron * * * * *"}')
        UNION ALL
        SELECT workflow_scheduler.schedule_add(gen_random_uuid(),
               '{"schedule_type": "interval", "interval_seconds": 2, "max_executions": 5}', 1, 1,
               '{"demo": "interval 2 s, max 5"}')
        UNION ALL
        SELECT workflow_scheduler.schedule_add(gen_random_uuid(),
               jsonb_build_object('schedule_type', 'one_time',
                                  'scheduled_time', to_char((now() + interval '5 seconds') AT TIME ZONE 'UTC',
                                                            'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')),
               1, 1, '{"demo": "one-time in 5 s"}')) AS added(s);
SQL

target/release/examples/listen "$dir" "$port" postgres workflow_scheduler "$seconds"

echo
echo "execution history:"
"${psql[@]}" -c "SELECT s.context_data->>'demo' AS schedule, e.status, count(*) AS executions,
                        round(avg(extract(epoch FROM e.triggered_at - e.scheduled_for) * 1000)::numeric, 1) AS avg_ms_late
                   FROM workflow_scheduler.workflow_schedule_executions e
                   JOIN workflow_scheduler.workflow_schedules s USING (schedule_id)
                  GROUP BY 1, 2 ORDER BY 1"
echo "worker audit lines (server log):"
grep -E "AUDIT|SYSTEM" "$dir/server.log" | grep -E "scheduler_start|schedule_limit_reached" | head -5 || true
