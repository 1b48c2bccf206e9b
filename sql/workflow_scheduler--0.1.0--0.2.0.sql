-- workflow_scheduler 0.1.0 -> 0.2.0 (ALTER EXTENSION workflow_scheduler UPDATE).
-- Released scripts never change; the next version's changes go into a new upgrade script.
-- After this script the catalog equals a fresh 0.2.0 install (tests/e2e: upgrade test).
\echo Use "ALTER EXTENSION workflow_scheduler UPDATE" to load this file. \quit

-- Every function runs with a search_path no one else controls.
ALTER FUNCTION workflow_scheduler.schedule_add(uuid, jsonb, bigint, bigint, jsonb) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION workflow_scheduler.schedule_update(uuid, jsonb, bigint) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION workflow_scheduler.schedule_remove(uuid, bigint) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION workflow_scheduler.schedule_get(uuid) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION workflow_scheduler.schedule_next(text, text, integer, timestamptz, text, timestamptz) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION workflow_scheduler.schedule_check_due() SET search_path = pg_catalog, pg_temp;

CREATE OR REPLACE FUNCTION workflow_scheduler.schedule_to_json(s workflow_scheduler.workflow_schedules)
RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT pg_catalog.jsonb_build_object(
        'schedule_id',       s.schedule_id,
        'workflow_id',       s.workflow_id,
        'schedule_type',     s.schedule_type,
        'cron_expression',   s.cron_expression,
        'interval_seconds',  s.interval_seconds,
        'scheduled_time',    s.scheduled_time,
        'timezone',          s.timezone,
        'is_active',         s.is_active,
        'next_execution_at', s.next_execution_at,
        'last_execution_at', s.last_execution_at,
        'last_execution_id', s.last_execution_id,
        'max_executions',    s.max_executions,
        'execution_count',   s.execution_count,
        'context_data',      s.context_data,
        'community_id',      s.community_id,
        'owner_role',        s.owner_role,
        'created_by',        s.created_by,
        'created_at',        s.created_at,
        'updated_at',        s.updated_at
    )
$$;

-- Audit rows name their schedule, for row-level security; 0.1.0 kept it in details only.
ALTER TABLE workflow_scheduler.audit_log ADD COLUMN schedule_id uuid;
UPDATE workflow_scheduler.audit_log
   SET schedule_id = (details OPERATOR(pg_catalog.->>) 'schedule_id')::uuid
 WHERE (details OPERATOR(pg_catalog.->>) 'schedule_id') OPERATOR(pg_catalog.~*) '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$';

-- pg_dump keeps the rows of these tables and the sequences' positions.
SELECT pg_catalog.pg_extension_config_dump('workflow_scheduler.workflow_schedules', '');
SELECT pg_catalog.pg_extension_config_dump('workflow_scheduler.workflow_schedules_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('workflow_scheduler.workflow_schedule_executions', '');
SELECT pg_catalog.pg_extension_config_dump('workflow_scheduler.audit_log', '');
SELECT pg_catalog.pg_extension_config_dump('workflow_scheduler.audit_log_id_seq', '');

-- Row-level security (as in security.sql).
CREATE FUNCTION workflow_scheduler.caller_can_access(owner_role text) RETURNS boolean
STABLE PARALLEL SAFE
LANGUAGE c
SET search_path TO pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'caller_can_access_wrapper';
REVOKE EXECUTE ON FUNCTION workflow_scheduler.caller_can_access(text) FROM PUBLIC;

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
