-- A psql session with workflow_scheduler: add each kind, get, update, preview, remove, errors.
CREATE EXTENSION workflow_scheduler;
SET TimeZone = 'UTC';
\set VERBOSITY default

-- Preview occurrences without writing anything.
SELECT workflow_scheduler.schedule_next('cron', cron_expression => '30 2 * * *',
       timezone => 'America/New_York', after => '2027-03-13 12:00-05');
SELECT workflow_scheduler.schedule_next('cron', cron_expression => '0 9 * * mon-fri',
       timezone => 'Europe/Berlin', after => '2027-01-01 00:00+00');
SELECT workflow_scheduler.schedule_next('cron', cron_expression => '@monthly',
       after => '2027-01-15 00:00+00');
SELECT workflow_scheduler.schedule_next('interval', interval_seconds => 3600,
       after => '2027-01-01 00:00+00');
SELECT workflow_scheduler.schedule_next('one_time', scheduled_time => '2030-06-01 12:00+00',
       after => '2027-01-01 00:00+00');
SELECT workflow_scheduler.schedule_next('cron', cron_expression => '0 0 30 2 *') IS NULL AS never_fires;

-- The next five firings of a New York job across the 2027 spring-forward change.
WITH RECURSIVE occurrences(n, at) AS (
    SELECT 1, workflow_scheduler.schedule_next('cron', cron_expression => '30 2 * * *',
              timezone => 'America/New_York', after => '2027-03-12 00:00-05')
    UNION ALL
    SELECT n + 1, workflow_scheduler.schedule_next('cron', cron_expression => '30 2 * * *',
              timezone => 'America/New_York', after => at)
      FROM occurrences WHERE n < 5
)
SELECT n, at, at AT TIME ZONE 'America/New_York' AS new_york_wall_clock FROM occurrences;

-- Add one schedule of each kind.
SELECT s->>'schedule_type' AS schedule_type, s->>'cron_expression' AS cron_expression,
       s->>'timezone' AS timezone, s->'is_active' AS is_active, s->'execution_count' AS execution_count,
       (s->>'next_execution_at')::timestamptz > now() AS next_in_future, s->'context_data' AS context_data
  FROM workflow_scheduler.schedule_add('6b0e4a5c-0000-4000-8000-000000000001',
       '{"schedule_type": "cron", "cron_expression": "0 12 * * *", "timezone": "America/New_York"}',
       42, 1, '{"custom_param": "value"}') AS s;

SELECT s->>'schedule_type' AS schedule_type, s->'interval_seconds' AS interval_seconds,
       s->'max_executions' AS max_executions,
       (s->>'next_execution_at')::timestamptz = now() + interval '1 hour' AS next_is_one_interval_ahead
  FROM workflow_scheduler.schedule_add('6b0e4a5c-0000-4000-8000-000000000002',
       '{"schedule_type": "interval", "interval_seconds": 3600, "max_executions": 24}', 42, 1) AS s;

SELECT s->>'schedule_type' AS schedule_type, s->>'scheduled_time' AS scheduled_time,
       s->>'next_execution_at' AS next_execution_at
  FROM workflow_scheduler.schedule_add('6b0e4a5c-0000-4000-8000-000000000003',
       '{"schedule_type": "one_time", "scheduled_time": "2099-12-25T15:30:00", "timezone": "Europe/London"}',
       42, 1) AS s;

-- Get, update and remove the one-time schedule.
SELECT schedule_id AS one_time_id FROM workflow_scheduler.workflow_schedules
 WHERE workflow_id = '6b0e4a5c-0000-4000-8000-000000000003' \gset
SELECT s->>'schedule_type' AS schedule_type, s->>'next_execution_at' AS next_execution_at
  FROM workflow_scheduler.schedule_get(:'one_time_id') AS s;
SELECT s->>'schedule_type' AS schedule_type, s->>'cron_expression' AS cron_expression,
       s->>'scheduled_time' AS scheduled_time, s->>'timezone' AS timezone
  FROM workflow_scheduler.schedule_update(:'one_time_id',
       '{"schedule_type": "cron", "cron_expression": "0 9 * * 1", "timezone": "Asia/Kolkata"}', 42) AS s;
SELECT workflow_scheduler.schedule_remove(:'one_time_id', 42) AS removed;
SELECT s->'is_active' AS is_active, s->'next_execution_at' AS next_execution_at
  FROM workflow_scheduler.schedule_get(:'one_time_id') AS s;

SELECT schedule_type, is_active, execution_count FROM workflow_scheduler.workflow_schedules ORDER BY id;
SELECT event_type, community_id, user_id, action, result FROM workflow_scheduler.audit_log ORDER BY id;

-- Errors: each one has a SQLSTATE and writes nothing.
CREATE FUNCTION pg_temp.sqlstate_of(stmt text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE stmt;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END $$;
SELECT pg_temp.sqlstate_of(stmt) AS sqlstate, stmt FROM (VALUES
    ($$SELECT workflow_scheduler.schedule_add(gen_random_uuid(), '{"schedule_type": "cron", "cron_expression": "0 0 * * * *"}', 42, 1)$$),
    ($$SELECT workflow_scheduler.schedule_add(gen_random_uuid(), '{"schedule_type": "cron", "cron_expression": "0 0 30 2 *"}', 42, 1)$$),
    ($$SELECT workflow_scheduler.schedule_add(gen_random_uuid(), '{"schedule_type": "interval"}', 42, 1)$$),
    ($$SELECT workflow_scheduler.schedule_add(gen_random_uuid(), '{"schedule_type": "one_time", "scheduled_time": "2001-01-01"}', 42, 1)$$),
    ($$SELECT workflow_scheduler.schedule_add(gen_random_uuid(), '{"schedule_type": "cron", "cron_expression": "@daily", "timezone": "Nowhere"}', 42, 1)$$),
    ($$SELECT workflow_scheduler.schedule_add(gen_random_uuid(), '{"schedule_type": "weekly"}', 42, 1)$$),
    ($$SELECT workflow_scheduler.schedule_get('00000000-0000-0000-0000-000000000000')$$)
) AS t(stmt);
\set ON_ERROR_STOP 0
SELECT workflow_scheduler.schedule_add(gen_random_uuid(), '{"schedule_type": "cron", "cron_expression": "0 0 * * * *"}', 42, 1);
SELECT workflow_scheduler.schedule_add(gen_random_uuid(), '{"schedule_type": "cron", "cron_expression": "0 25 * * *"}', 42, 1);
SELECT workflow_scheduler.schedule_add(gen_random_uuid(), '{"schedule_type": "cron", "cron_expression": "0 0 30 2 *"}', 42, 1);
SELECT workflow_scheduler.schedule_add(gen_random_uuid(), '{"schedule_type": "cron"}', 42, 1);
SELECT workflow_scheduler.schedule_add(gen_random_uuid(), '{"schedule_type": "interval"}', 42, 1);
SELECT workflow_scheduler.schedule_add(gen_random_uuid(), '{"schedule_type": "one_time"}', 42, 1);
SELECT workflow_scheduler.schedule_add(gen_random_uuid(), '{"schedule_type": "one_time", "scheduled_time": "2001-01-01T00:00:00Z"}', 42, 1);
SELECT workflow_scheduler.schedule_add(gen_random_uuid(), '{"schedule_type": "cron", "cron_expression": "0 * * * *", "timezone": "Mars/Olympus"}', 42, 1);
SELECT workflow_scheduler.schedule_add(gen_random_uuid(), '{"schedule_type": "weekly"}', 42, 1);
SELECT workflow_scheduler.schedule_add(gen_random_uuid(), '{"schedule_type": "interval", "interval_secs": 60}', 42, 1);
SELECT workflow_scheduler.schedule_add(gen_random_uuid(), '{"schedule_type": "interval", "interval_seconds": "60"}', 42, 1);
SELECT workflow_scheduler.schedule_add(gen_random_uuid(), '{"schedule_type": "interval", "interval_seconds": 60}', 42, 1, '{"schedule_id": "mine"}');
SELECT workflow_scheduler.schedule_get('00000000-0000-0000-0000-000000000000');
SELECT workflow_scheduler.schedule_remove('00000000-0000-0000-0000-000000000000', 42);
SELECT workflow_scheduler.schedule_update('00000000-0000-0000-0000-000000000000', '{"schedule_type": "interval", "interval_seconds": 5}', 42);
\set ON_ERROR_STOP 1
SELECT count(*) AS schedules_after_errors FROM workflow_scheduler.workflow_schedules;

DROP EXTENSION workflow_scheduler;
