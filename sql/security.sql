-- Security: row-level security, privileges, and a warning when this database is not the one the
-- worker serves. Runs last, after every function exists. docs/security.md explains the model.

-- A role sees the rows of schedules owned by a role it is a member of; superusers and members
-- of workflow_scheduler.admin_role see everything. Rows of no schedule (the worker's own audit
-- events) are for those administrators only. Only SELECT is ever granted: the functions write.
ALTER TABLE workflow_scheduler.workflow_schedules ENABLE ROW LEVEL SECURITY;
ALTER TABLE workflow_scheduler.workflow_schedule_executions ENABLE ROW LEVEL SECURITY;
ALTER TABLE workflow_scheduler.audit_log ENABLE ROW LEVEL SECURITY;

CREATE POLICY schedules_of_member_roles ON workflow_scheduler.workflow_schedules
    FOR SELECT USING (workflow_scheduler.caller_can_access(owner_role));
CREATE POLICY executions_of_visible_schedules ON workflow_scheduler.workflow_schedule_executions
    FOR SELECT USING (workflow_scheduler.caller_can_access(
        (SELECT s.owner_role FROM workflow_scheduler.workflow_schedules AS s
          WHERE s.schedule_id OPERATOR(pg_catalog.=) workflow_schedule_executions.schedule_id)));
CREATE POLICY audit_of_visible_schedules ON workflow_scheduler.audit_log
    FOR SELECT USING (workflow_scheduler.caller_can_access(
        (SELECT s.owner_role FROM workflow_scheduler.workflow_schedules AS s
          WHERE s.schedule_id OPERATOR(pg_catalog.=) audit_log.schedule_id)));

-- Hooks: every role may see which hooks exist and how they are doing (to name one in a
-- schedule); their secrets and header values are readable by no role: hook_secrets has row-level
-- security and no policy. Deliveries and their attempts follow their schedule.
ALTER TABLE workflow_scheduler.hooks ENABLE ROW LEVEL SECURITY;
ALTER TABLE workflow_scheduler.hook_secrets ENABLE ROW LEVEL SECURITY;
ALTER TABLE workflow_scheduler.deliveries ENABLE ROW LEVEL SECURITY;
ALTER TABLE workflow_scheduler.delivery_attempts ENABLE ROW LEVEL SECURITY;
CREATE POLICY hooks_visible_to_all ON workflow_scheduler.hooks FOR SELECT USING (true);
CREATE POLICY deliveries_of_visible_schedules ON workflow_scheduler.deliveries
    FOR SELECT USING (workflow_scheduler.caller_can_access(
        (SELECT s.owner_role FROM workflow_scheduler.workflow_schedule_executions AS e
           JOIN workflow_scheduler.workflow_schedules AS s ON s.schedule_id OPERATOR(pg_catalog.=) e.schedule_id
          WHERE e.execution_id OPERATOR(pg_catalog.=) deliveries.execution_id)));
CREATE POLICY attempts_of_visible_schedules ON workflow_scheduler.delivery_attempts
    FOR SELECT USING (workflow_scheduler.caller_can_access(
        (SELECT s.owner_role FROM workflow_scheduler.deliveries AS d
           JOIN workflow_scheduler.workflow_schedule_executions AS e ON e.execution_id OPERATOR(pg_catalog.=) d.execution_id
           JOIN workflow_scheduler.workflow_schedules AS s ON s.schedule_id OPERATOR(pg_catalog.=) e.schedule_id
          WHERE d.delivery_id OPERATOR(pg_catalog.=) delivery_attempts.delivery_id)));

-- What runs when, at a glance, for psql (PRODUCT.md, "Operations"). Defined after the Rust
-- functions it calls. The view reads the tables with its owner's rights, so it filters by the
-- caller itself: a role sees the rows of schedules it may see, as with row-level security.
CREATE VIEW workflow_scheduler.schedule_overview AS
SELECT s.schedule_id,
       s.workflow_id,
       s.owner_role,
       s.schedule_type,
       CASE s.schedule_type
           WHEN 'cron' THEN s.cron_expression
           WHEN 'interval' THEN 'every ' OPERATOR(pg_catalog.||) s.interval_seconds OPERATOR(pg_catalog.||) ' s'
           ELSE 'at ' OPERATOR(pg_catalog.||) (s.scheduled_time AT TIME ZONE s.timezone)::text
       END AS rule,
       workflow_scheduler.schedule_rule_description(s.schedule_type, s.cron_expression, s.interval_seconds,
                                                    s.scheduled_time, s.timezone) AS description,
       s.timezone,
       CASE
           WHEN s.paused_at IS NOT NULL THEN 'paused'
           WHEN s.is_active THEN 'active'
           WHEN s.removed_at IS NOT NULL THEN 'removed'
           ELSE 'finished'
       END AS state,
       s.next_execution_at AS next_run_at,
       s.next_execution_at AT TIME ZONE s.timezone AS next_run_local,
       s.last_execution_at AS last_run_at,
       (SELECT e.status FROM workflow_scheduler.workflow_schedule_executions AS e
         WHERE e.execution_id OPERATOR(pg_catalog.=) s.last_execution_id) AS last_status,
       s.execution_count AS runs,
       s.missed_count AS misses,
       s.skipped_count AS skips
  FROM workflow_scheduler.workflow_schedules AS s
 WHERE workflow_scheduler.caller_can_access(s.owner_role);

-- Comments on the functions and the overview, so that \df+ and \d+ explain them.
COMMENT ON VIEW workflow_scheduler.schedule_overview IS 'What runs when: each visible schedule''s state, rule in English, next run in its zone, last status and counts.';
COMMENT ON FUNCTION workflow_scheduler.schedule_to_json(workflow_scheduler.workflow_schedules) IS 'A schedule row as the JSON the schedule functions return.';
COMMENT ON FUNCTION workflow_scheduler.schedule_add(uuid, jsonb, bigint, bigint, jsonb) IS 'Creates a schedule owned by the calling role; returns it.';
COMMENT ON FUNCTION workflow_scheduler.schedule_add_many(uuid[], jsonb[], bigint, bigint, jsonb[]) IS 'Creates many schedules in one call, all or nothing, each as schedule_add would; returns their ids in input order.';
COMMENT ON FUNCTION workflow_scheduler.schedule_update(uuid, jsonb, bigint) IS 'Replaces a schedule''s configuration and recomputes its next run.';
COMMENT ON FUNCTION workflow_scheduler.schedule_remove(uuid, bigint) IS 'Deactivates a schedule and keeps its history; true if it was active.';
COMMENT ON FUNCTION workflow_scheduler.schedule_get(uuid) IS 'One schedule as JSON.';
COMMENT ON FUNCTION workflow_scheduler.schedule_next(text, text, integer, timestamptz, text, timestamptz) IS 'The first occurrence after a time of a cron, interval or one-time rule.';
COMMENT ON FUNCTION workflow_scheduler.schedule_check_due() IS 'Runs a due pass now, in the caller''s transaction; returns what it fired.';
COMMENT ON FUNCTION workflow_scheduler.caller_can_access(text) IS 'Whether the current user may see schedules owned by that role (the row-level security test).';
COMMENT ON FUNCTION workflow_scheduler.execution_claim(integer, interval, text) IS 'Takes executions to run under a lease; each goes to one caller at a time.';
COMMENT ON FUNCTION workflow_scheduler.execution_heartbeat(uuid, interval) IS 'Extends a running execution''s lease; false if it is no longer running.';
COMMENT ON FUNCTION workflow_scheduler.execution_complete(uuid, text, jsonb) IS 'Records an execution''s outcome, completed or failed.';
COMMENT ON FUNCTION workflow_scheduler.hook_create(text, text, text, integer, jsonb) IS 'Creates an HTTP hook; the only answer that shows its secret (administrators only).';
COMMENT ON FUNCTION workflow_scheduler.hook_update(text, text, boolean, integer, jsonb) IS 'Changes what is given of a hook; enabling resumes its deliveries (administrators only).';
COMMENT ON FUNCTION workflow_scheduler.hook_rotate_secret(text, text) IS 'New signing secret; the old one signs too for http_secret_overlap (administrators only).';
COMMENT ON FUNCTION workflow_scheduler.hook_remove(text) IS 'Removes a hook and cancels its pending deliveries (administrators only).';
COMMENT ON FUNCTION workflow_scheduler.delivery_retry(uuid) IS 'Puts a failed delivery back in the queue (administrators only).';
COMMENT ON FUNCTION workflow_scheduler.schedule_pause(uuid, text, bigint) IS 'Stops a schedule from firing, with a note.';
COMMENT ON FUNCTION workflow_scheduler.schedule_resume(uuid, bigint) IS 'Fires a paused schedule again from its next occurrence after now.';
COMMENT ON FUNCTION workflow_scheduler.schedule_trigger(uuid, jsonb, bigint) IS 'Runs a schedule now, outside its grid; returns the execution id.';
COMMENT ON FUNCTION workflow_scheduler.schedule_backfill(uuid, timestamptz, timestamptz, integer, bigint) IS 'Fires the past occurrences of a range that have no execution; returns how many.';
COMMENT ON FUNCTION workflow_scheduler.run_maintenance() IS 'Deletes what the retention settings expire, now (administrators only).';
COMMENT ON FUNCTION workflow_scheduler.schedule_describe(text) IS 'A cron expression in English.';
COMMENT ON FUNCTION workflow_scheduler.schedule_preview(jsonb, integer, timestamptz) IS 'The next times of a configuration, before it is saved.';
COMMENT ON FUNCTION workflow_scheduler.schedule_rule_description(text, text, integer, timestamptz, text) IS 'A schedule''s rule in English, for schedule_overview; never raises.';
COMMENT ON FUNCTION workflow_scheduler.scheduler_status() IS 'The scheduler''s health: workers, recent fires and lateness, backlog, outbox, queue, last error.';

-- Privileges: nothing for PUBLIC except previewing next times with schedule_next. An
-- application role gets exactly two grants (README, docs/security.md):
--   GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA workflow_scheduler TO app;
--   GRANT SELECT ON ALL TABLES IN SCHEMA workflow_scheduler TO app;
REVOKE ALL ON ALL TABLES IN SCHEMA workflow_scheduler FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA workflow_scheduler FROM PUBLIC;
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA workflow_scheduler FROM PUBLIC;
GRANT USAGE ON SCHEMA workflow_scheduler TO PUBLIC;
GRANT EXECUTE ON FUNCTION workflow_scheduler.schedule_next(text, text, integer, timestamptz, text, timestamptz) TO PUBLIC;

-- Schedules in a database the worker does not serve never fire on their own: say so now.
DO $$
DECLARE
    served text := pg_catalog.current_setting('workflow_scheduler.database_name', true);
BEGIN
    IF served IS NULL THEN
        RAISE WARNING 'workflow_scheduler is not in shared_preload_libraries: no worker fires schedules'
            USING HINT = 'Add it to shared_preload_libraries and restart. Until then, schedule_check_due() fires what is due.';
    ELSIF served OPERATOR(pg_catalog.<>) pg_catalog.current_database() THEN
        RAISE WARNING 'workflow_scheduler: the worker serves database "%", not "%"', served, pg_catalog.current_database()
            USING DETAIL = 'Schedules created here never fire on their own.',
                  HINT = 'Set workflow_scheduler.database_name to this database and restart, or create the extension in the served database.';
    END IF;
END
$$;
