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

-- The overlap policy, and the occurrence buffer_one holds back.
ALTER TABLE workflow_scheduler.workflow_schedules
    ADD COLUMN overlap text NOT NULL DEFAULT 'allow',
    ADD COLUMN max_runtime_seconds integer,
    ADD COLUMN buffered_for timestamptz,
    ADD CONSTRAINT overlap_known CHECK (overlap IN ('allow', 'skip', 'buffer_one')),
    ADD CONSTRAINT max_runtime_positive CHECK (max_runtime_seconds IS NULL OR max_runtime_seconds >= 1);
CREATE INDEX workflow_schedules_buffered_idx ON workflow_scheduler.workflow_schedules (buffered_for)
    WHERE buffered_for IS NOT NULL;

-- The execution lifecycle: claims with leases, timeouts, outcomes.
ALTER TABLE workflow_scheduler.workflow_schedule_executions
    DROP CONSTRAINT execution_status_known,
    ADD CONSTRAINT execution_status_known
        CHECK (status IN ('triggered', 'running', 'completed', 'failed', 'timed_out', 'missed', 'skipped')),
    ADD COLUMN attempt integer NOT NULL DEFAULT 0,
    ADD COLUMN claimed_by text,
    ADD COLUMN lease_expires_at timestamptz,
    ADD COLUMN deadline_at timestamptz,
    ADD COLUMN finished_at timestamptz,
    ADD COLUMN result jsonb;
-- 0.1.0 had no completion, so its fires stay `triggered` forever: engines would claim them
-- again and the overlap policy would see them as unfinished. They were handed off by NOTIFY
-- then; record them as completed, saying so (docs/upgrading.md).
UPDATE workflow_scheduler.workflow_schedule_executions
   SET status = 'completed', finished_at = triggered_at,
       result = '{"assumed": "fired by 0.1.0, which recorded no completion"}'
 WHERE status OPERATOR(pg_catalog.=) 'triggered';
CREATE INDEX executions_triggered_idx ON workflow_scheduler.workflow_schedule_executions (triggered_at)
    WHERE status = 'triggered';
CREATE INDEX executions_lease_idx ON workflow_scheduler.workflow_schedule_executions (lease_expires_at)
    WHERE status = 'running';
CREATE INDEX executions_unfinished_idx ON workflow_scheduler.workflow_schedule_executions (schedule_id)
    WHERE status IN ('triggered', 'running');
CREATE INDEX executions_deadline_idx ON workflow_scheduler.workflow_schedule_executions (deadline_at)
    WHERE status IN ('triggered', 'running') AND deadline_at IS NOT NULL;

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
        'updated_at',        s.updated_at,
        'overlap',           s.overlap,
        'max_runtime_seconds', s.max_runtime_seconds
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

-- The execution lifecycle's functions (as the Rust code declares them; security.sql's
-- REVOKE covers them in a fresh install).
CREATE FUNCTION workflow_scheduler.execution_claim(
    max_rows integer DEFAULT 1,
    lease interval DEFAULT '5 minutes',
    claimed_by text DEFAULT NULL
) RETURNS TABLE (
    execution_id uuid,
    schedule_id uuid,
    workflow_id uuid,
    scheduled_for timestamp with time zone,
    attempt integer,
    trigger_data jsonb
)
VOLATILE PARALLEL UNSAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c
AS 'MODULE_PATHNAME', 'execution_claim_wrapper';

CREATE FUNCTION workflow_scheduler.execution_complete(
    execution_id uuid,
    status text,
    result jsonb DEFAULT NULL
) RETURNS boolean
VOLATILE PARALLEL UNSAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c
AS 'MODULE_PATHNAME', 'execution_complete_wrapper';

CREATE FUNCTION workflow_scheduler.execution_heartbeat(
    execution_id uuid,
    lease interval DEFAULT '5 minutes'
) RETURNS boolean
VOLATILE PARALLEL UNSAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c
AS 'MODULE_PATHNAME', 'execution_heartbeat_wrapper';

REVOKE EXECUTE ON FUNCTION workflow_scheduler.execution_claim(integer, interval, text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION workflow_scheduler.execution_complete(uuid, text, jsonb) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION workflow_scheduler.execution_heartbeat(uuid, interval) FROM PUBLIC;
