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
    ADD COLUMN hook text,
    ADD COLUMN start_at timestamptz,
    ADD COLUMN end_at timestamptz,
    ADD COLUMN grace_seconds integer,
    ADD COLUMN paused_at timestamptz,
    ADD COLUMN paused_by bigint,
    ADD COLUMN pause_note text,
    ADD COLUMN missed_count integer NOT NULL DEFAULT 0,
    ADD COLUMN skipped_count integer NOT NULL DEFAULT 0,
    ADD COLUMN removed_at timestamptz,
    ADD CONSTRAINT overlap_known CHECK (overlap IN ('allow', 'skip', 'buffer_one')),
    ADD CONSTRAINT max_runtime_positive CHECK (max_runtime_seconds IS NULL OR max_runtime_seconds >= 1),
    ADD CONSTRAINT window_in_order CHECK (start_at IS NULL OR end_at IS NULL OR start_at < end_at),
    ADD CONSTRAINT grace_seconds_not_negative CHECK (grace_seconds IS NULL OR grace_seconds >= 0);
CREATE INDEX workflow_schedules_buffered_idx ON workflow_scheduler.workflow_schedules (buffered_for)
    WHERE buffered_for IS NOT NULL;
-- No query used it, and every fire updated it (docs/benchmarks.md).
DROP INDEX workflow_scheduler.workflow_schedules_schedule_type_idx;

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
    ADD COLUMN result jsonb,
    ADD COLUMN trigger_kind text NOT NULL DEFAULT 'scheduled',
    ADD CONSTRAINT trigger_kind_known CHECK (trigger_kind IN ('scheduled', 'manual', 'backfill')),
    DROP CONSTRAINT one_execution_per_occurrence,
    -- Executions are written only for a locked schedule, and schedules are never deleted: the
    -- key's per-row check was a query per fire (docs/benchmarks.md).
    DROP CONSTRAINT workflow_schedule_executions_schedule_id_fkey;
CREATE UNIQUE INDEX one_execution_per_occurrence
    ON workflow_scheduler.workflow_schedule_executions (schedule_id, scheduled_for)
    WHERE trigger_kind <> 'manual';
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
        'max_runtime_seconds', s.max_runtime_seconds,
        'hook',              s.hook,
        'start_at',          s.start_at,
        'end_at',            s.end_at,
        'grace_seconds',     s.grace_seconds,
        'paused_at',         s.paused_at,
        'paused_by',         s.paused_by,
        'pause_note',        s.pause_note,
        'missed_count',      s.missed_count,
        'skipped_count',     s.skipped_count,
        'removed_at',        s.removed_at
    )
$$;

-- Audit rows name their schedule, for row-level security; 0.1.0 kept it in details only.
ALTER TABLE workflow_scheduler.audit_log ADD COLUMN schedule_id uuid;
UPDATE workflow_scheduler.audit_log
   SET schedule_id = (details OPERATOR(pg_catalog.->>) 'schedule_id')::uuid
 WHERE (details OPERATOR(pg_catalog.->>) 'schedule_id') OPERATOR(pg_catalog.~*) '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$';

-- 0.2.0: HTTP hooks. A hook is a named endpoint; its secret and its headers (which may carry
-- credentials) live in hook_secrets, whose rows no role can read (security.sql).
CREATE TABLE workflow_scheduler.hooks (
    name                 text PRIMARY KEY,
    url                  text NOT NULL,
    timeout_ms           integer NOT NULL DEFAULT 10000,
    -- The names of the hook's own headers; their values are in hook_secrets.
    header_names         text[] NOT NULL DEFAULT '{}',
    enabled              boolean NOT NULL DEFAULT true,
    disabled_reason      text,
    -- First 8 hex digits of sha256 of the secret (and of the previous one during a rotation).
    secret_fingerprint   text NOT NULL,
    previous_fingerprint text,
    previous_valid_until timestamptz,
    last_delivered_at    timestamptz,
    last_error           text,
    last_error_at        timestamptz,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT hook_name_length CHECK (length(name) BETWEEN 1 AND 63),
    CONSTRAINT hook_timeout_range CHECK (timeout_ms BETWEEN 1 AND 600000)
);

CREATE TABLE workflow_scheduler.hook_secrets (
    hook                 text PRIMARY KEY REFERENCES workflow_scheduler.hooks (name) ON DELETE CASCADE,
    secret               text NOT NULL,
    previous_secret      text,
    headers              jsonb NOT NULL DEFAULT '{}',
    CONSTRAINT hook_headers_object CHECK (jsonb_typeof(headers) = 'object')
);

-- The outbox: one row per fire of a schedule with a hook, written in the fire's transaction.
-- `next_attempt_at` is also the lease of a delivery in flight: if the delivery worker dies
-- mid-request, the row comes due again then (at least once).
CREATE TABLE workflow_scheduler.deliveries (
    delivery_id       uuid PRIMARY KEY,
    -- No foreign keys here or in delivery_attempts: these rows are written only in the fire's
    -- transaction and deleted only by retention, with their execution. A key's per-row trigger
    -- cost retention six times the delete itself (docs/benchmarks.md).
    execution_id      uuid NOT NULL,
    hook              text NOT NULL,
    status            text NOT NULL DEFAULT 'pending',
    attempts          integer NOT NULL DEFAULT 0,
    next_attempt_at   timestamptz NOT NULL,
    last_status_code  integer,
    last_error        text,
    created_at        timestamptz NOT NULL,
    delivered_at      timestamptz,
    CONSTRAINT delivery_status_known CHECK (status IN ('pending', 'delivered', 'failed', 'cancelled'))
);
CREATE INDEX deliveries_due_idx ON workflow_scheduler.deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX deliveries_execution_idx ON workflow_scheduler.deliveries (execution_id);
CREATE INDEX deliveries_hook_pending_idx ON workflow_scheduler.deliveries (hook, created_at) WHERE status = 'pending';

CREATE TABLE workflow_scheduler.delivery_attempts (
    id            bigserial PRIMARY KEY,
    delivery_id   uuid NOT NULL,
    attempt       integer NOT NULL,
    attempted_at  timestamptz NOT NULL,
    status_code   integer,
    error         text,
    latency_ms    double precision NOT NULL
);
CREATE INDEX delivery_attempts_delivery_idx ON workflow_scheduler.delivery_attempts (delivery_id);

-- Each hook's health at a glance: what waits and since when, the last error. The view's owner
-- reads deliveries, so the counts cover every schedule; they show no schedule's data.
CREATE VIEW workflow_scheduler.hook_status AS
SELECT h.name, h.url, h.enabled, h.disabled_reason,
       pg_catalog.count(d.delivery_id) AS pending,
       pg_catalog.now() OPERATOR(pg_catalog.-) pg_catalog.min(d.created_at) AS oldest_pending_age,
       h.last_delivered_at, h.last_error, h.last_error_at
  FROM workflow_scheduler.hooks AS h
  LEFT JOIN workflow_scheduler.deliveries AS d
         ON d.hook OPERATOR(pg_catalog.=) h.name AND d.status OPERATOR(pg_catalog.=) 'pending'
 GROUP BY h.name;
REVOKE ALL ON workflow_scheduler.hook_status FROM PUBLIC;

-- pg_dump keeps the rows of these tables and the sequences' positions.
SELECT pg_catalog.pg_extension_config_dump('workflow_scheduler.workflow_schedules', '');
SELECT pg_catalog.pg_extension_config_dump('workflow_scheduler.workflow_schedules_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('workflow_scheduler.workflow_schedule_executions', '');
SELECT pg_catalog.pg_extension_config_dump('workflow_scheduler.audit_log', '');
SELECT pg_catalog.pg_extension_config_dump('workflow_scheduler.audit_log_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('workflow_scheduler.hooks', '');
SELECT pg_catalog.pg_extension_config_dump('workflow_scheduler.hook_secrets', '');
SELECT pg_catalog.pg_extension_config_dump('workflow_scheduler.deliveries', '');
SELECT pg_catalog.pg_extension_config_dump('workflow_scheduler.delivery_attempts', '');
SELECT pg_catalog.pg_extension_config_dump('workflow_scheduler.delivery_attempts_id_seq', '');

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

-- Hooks: every role may see which hooks exist and how they are doing (to name one in a
-- schedule); their secrets and header values are readable by no role: hook_secrets has row-level
-- security and no policy. Deliveries and their attempts follow their schedule.
ALTER TABLE workflow_scheduler.hooks ENABLE ROW LEVEL SECURITY;
ALTER TABLE workflow_scheduler.hook_secrets ENABLE ROW LEVEL SECURITY;
ALTER TABLE workflow_scheduler.deliveries ENABLE ROW LEVEL SECURITY;
ALTER TABLE workflow_scheduler.delivery_attempts ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON workflow_scheduler.hooks, workflow_scheduler.hook_secrets, workflow_scheduler.deliveries,
    workflow_scheduler.delivery_attempts FROM PUBLIC;
REVOKE ALL ON SEQUENCE workflow_scheduler.delivery_attempts_id_seq FROM PUBLIC;
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

-- HTTP hook management, for administrators only (the functions check; security.sql's REVOKE
-- covers them in a fresh install).
CREATE FUNCTION workflow_scheduler.hook_create(
    name text,
    url text,
    secret text DEFAULT NULL,
    timeout_ms integer DEFAULT 10000,
    headers jsonb DEFAULT '{}'
) RETURNS jsonb
VOLATILE PARALLEL UNSAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c
AS 'MODULE_PATHNAME', 'hook_create_wrapper';

CREATE FUNCTION workflow_scheduler.hook_update(
    name text,
    url text DEFAULT NULL,
    enabled boolean DEFAULT NULL,
    timeout_ms integer DEFAULT NULL,
    headers jsonb DEFAULT NULL
) RETURNS jsonb
VOLATILE PARALLEL UNSAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c
AS 'MODULE_PATHNAME', 'hook_update_wrapper';

CREATE FUNCTION workflow_scheduler.hook_rotate_secret(
    name text,
    secret text DEFAULT NULL
) RETURNS jsonb
VOLATILE PARALLEL UNSAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c
AS 'MODULE_PATHNAME', 'hook_rotate_secret_wrapper';

CREATE FUNCTION workflow_scheduler.hook_remove(
    name text
) RETURNS boolean
VOLATILE PARALLEL UNSAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c
AS 'MODULE_PATHNAME', 'hook_remove_wrapper';

CREATE FUNCTION workflow_scheduler.delivery_retry(
    delivery_id uuid
) RETURNS boolean
VOLATILE PARALLEL UNSAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c
AS 'MODULE_PATHNAME', 'delivery_retry_wrapper';

REVOKE EXECUTE ON FUNCTION workflow_scheduler.hook_create(text, text, text, integer, jsonb) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION workflow_scheduler.hook_update(text, text, boolean, integer, jsonb) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION workflow_scheduler.hook_rotate_secret(text, text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION workflow_scheduler.hook_remove(text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION workflow_scheduler.delivery_retry(uuid) FROM PUBLIC;

-- Operations: pause and resume.
CREATE FUNCTION workflow_scheduler.schedule_pause(
    schedule_id uuid,
    note text DEFAULT NULL,
    user_id bigint DEFAULT NULL
) RETURNS jsonb
VOLATILE PARALLEL UNSAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c
AS 'MODULE_PATHNAME', 'schedule_pause_wrapper';

CREATE FUNCTION workflow_scheduler.schedule_resume(
    schedule_id uuid,
    user_id bigint DEFAULT NULL
) RETURNS jsonb
VOLATILE PARALLEL UNSAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c
AS 'MODULE_PATHNAME', 'schedule_resume_wrapper';

REVOKE EXECUTE ON FUNCTION workflow_scheduler.schedule_pause(uuid, text, bigint) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION workflow_scheduler.schedule_resume(uuid, bigint) FROM PUBLIC;

-- Operations: run now and backfill.
CREATE FUNCTION workflow_scheduler.schedule_trigger(
    schedule_id uuid,
    context_data jsonb DEFAULT '{}',
    user_id bigint DEFAULT NULL
) RETURNS uuid
VOLATILE PARALLEL UNSAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c
AS 'MODULE_PATHNAME', 'schedule_trigger_wrapper';

CREATE FUNCTION workflow_scheduler.schedule_backfill(
    schedule_id uuid,
    start_at timestamp with time zone,
    end_at timestamp with time zone,
    max_runs integer DEFAULT 100,
    user_id bigint DEFAULT NULL
) RETURNS integer
VOLATILE PARALLEL UNSAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c
AS 'MODULE_PATHNAME', 'schedule_backfill_wrapper';

REVOKE EXECUTE ON FUNCTION workflow_scheduler.schedule_trigger(uuid, jsonb, bigint) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION workflow_scheduler.schedule_backfill(uuid, timestamptz, timestamptz, integer, bigint) FROM PUBLIC;

-- Bulk creation: each element as schedule_add would create it, all or nothing.
CREATE FUNCTION workflow_scheduler.schedule_add_many(
    workflow_ids uuid[],
    schedule_configs jsonb[],
    user_id bigint,
    community_id bigint,
    context_data jsonb[] DEFAULT NULL
) RETURNS TABLE (ordinality bigint, schedule_id uuid, next_execution_at timestamp with time zone)
VOLATILE PARALLEL UNSAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c
AS 'MODULE_PATHNAME', 'schedule_add_many_wrapper';

REVOKE EXECUTE ON FUNCTION workflow_scheduler.schedule_add_many(uuid[], jsonb[], bigint, bigint, jsonb[]) FROM PUBLIC;

-- Retention.
-- Retention deletes finished executions oldest first.
CREATE INDEX executions_finished_idx ON workflow_scheduler.workflow_schedule_executions (triggered_at)
    WHERE status NOT IN ('triggered', 'running');

CREATE FUNCTION workflow_scheduler.run_maintenance() RETURNS jsonb
STRICT VOLATILE PARALLEL UNSAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c
AS 'MODULE_PATHNAME', 'run_maintenance_wrapper';

REVOKE EXECUTE ON FUNCTION workflow_scheduler.run_maintenance() FROM PUBLIC;

-- A cron expression in English (as the Rust code declares it; security.sql's REVOKE covers it
-- in a fresh install, where only schedule_next is granted to PUBLIC).
CREATE FUNCTION workflow_scheduler.schedule_describe(
    cron_expression text
) RETURNS text
STRICT STABLE PARALLEL SAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c
AS 'MODULE_PATHNAME', 'schedule_describe_wrapper';

REVOKE EXECUTE ON FUNCTION workflow_scheduler.schedule_describe(text) FROM PUBLIC;

-- The next times of a config before it is saved.
CREATE FUNCTION workflow_scheduler.schedule_preview(
    schedule_config jsonb,
    count integer DEFAULT 10,
    after timestamp with time zone DEFAULT now()
) RETURNS SETOF timestamp with time zone
STABLE PARALLEL SAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c
AS 'MODULE_PATHNAME', 'schedule_preview_wrapper';

REVOKE EXECUTE ON FUNCTION workflow_scheduler.schedule_preview(jsonb, integer, timestamptz) FROM PUBLIC;

-- The overview view and the rule descriptions it shows.
CREATE FUNCTION workflow_scheduler.schedule_rule_description(
    schedule_type text,
    cron_expression text,
    interval_seconds integer,
    scheduled_time timestamp with time zone,
    timezone text
) RETURNS text
STABLE PARALLEL SAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c
AS 'MODULE_PATHNAME', 'schedule_rule_description_wrapper';

REVOKE EXECUTE ON FUNCTION workflow_scheduler.schedule_rule_description(text, text, integer, timestamptz, text) FROM PUBLIC;

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
REVOKE ALL ON workflow_scheduler.schedule_overview FROM PUBLIC;

-- The scheduler's health in one value.
CREATE FUNCTION workflow_scheduler.scheduler_status() RETURNS jsonb
STRICT VOLATILE PARALLEL UNSAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c
AS 'MODULE_PATHNAME', 'scheduler_status_wrapper';

REVOKE EXECUTE ON FUNCTION workflow_scheduler.scheduler_status() FROM PUBLIC;

-- Comments, so that \d+ and \df+ in psql explain every object.
COMMENT ON TABLE workflow_scheduler.workflow_schedules IS 'Workflow schedules (cron, interval, one-time); written by the schedule_* functions only.';
COMMENT ON COLUMN workflow_scheduler.workflow_schedules.id IS 'Internal row number.';
COMMENT ON COLUMN workflow_scheduler.workflow_schedules.schedule_id IS 'The schedule''s id, as the functions and the payload name it.';
COMMENT ON COLUMN workflow_scheduler.workflow_schedules.workflow_id IS 'The workflow its fires start.';
COMMENT ON COLUMN workflow_scheduler.workflow_schedules.schedule_type IS 'cron, interval or one_time.';
COMMENT ON COLUMN workflow_scheduler.workflow_schedules.cron_expression IS 'Cron expression (cron schedules only).';
COMMENT ON COLUMN workflow_scheduler.workflow_schedules.interval_seconds IS 'Seconds between fires (interval schedules only).';
COMMENT ON COLUMN workflow_scheduler.workflow_schedules.scheduled_time IS 'The one time it fires (one_time schedules only).';
COMMENT ON COLUMN workflow_scheduler.workflow_schedules.timezone IS 'IANA zone its cron expression and local times are read in.';
COMMENT ON COLUMN workflow_scheduler.workflow_schedules.anchor_at IS 'Interval grid anchor: fires at anchor_at + k * interval_seconds, k >= 1.';
COMMENT ON COLUMN workflow_scheduler.workflow_schedules.is_active IS 'Whether it may fire; false once finished, removed or paused.';
COMMENT ON COLUMN workflow_scheduler.workflow_schedules.next_execution_at IS 'When it is next due; NULL when inactive.';
COMMENT ON COLUMN workflow_scheduler.workflow_schedules.last_execution_at IS 'When it last fired.';
COMMENT ON COLUMN workflow_scheduler.workflow_schedules.last_execution_id IS 'Its last fired execution.';
COMMENT ON COLUMN workflow_scheduler.workflow_schedules.max_executions IS 'Fires after which it finishes; NULL: unlimited.';
COMMENT ON COLUMN workflow_scheduler.workflow_schedules.execution_count IS 'Fires so far (scheduled, manual and backfilled).';
COMMENT ON COLUMN workflow_scheduler.workflow_schedules.context_data IS 'Keys merged into every fire''s trigger data.';
COMMENT ON COLUMN workflow_scheduler.workflow_schedules.community_id IS 'The seed''s tenant id, carried into payloads and audit rows.';
COMMENT ON COLUMN workflow_scheduler.workflow_schedules.created_by IS 'user_id given to schedule_add.';
COMMENT ON COLUMN workflow_scheduler.workflow_schedules.updated_by IS 'user_id of the last change.';
COMMENT ON COLUMN workflow_scheduler.workflow_schedules.owner_role IS 'Role that created it; members of it (and administrators) see and change it.';
COMMENT ON COLUMN workflow_scheduler.workflow_schedules.created_at IS 'When it was created.';
COMMENT ON COLUMN workflow_scheduler.workflow_schedules.updated_at IS 'When it last changed.';
COMMENT ON COLUMN workflow_scheduler.workflow_schedules.overlap IS 'allow, skip or buffer_one: what an occurrence does while an earlier execution is unfinished.';
COMMENT ON COLUMN workflow_scheduler.workflow_schedules.max_runtime_seconds IS 'An execution unfinished after this long becomes timed_out; NULL: never.';
COMMENT ON COLUMN workflow_scheduler.workflow_schedules.buffered_for IS 'The occurrence buffer_one holds back until the unfinished execution finishes.';
COMMENT ON COLUMN workflow_scheduler.workflow_schedules.hook IS 'HTTP hook that receives its fires; NULL: workflow_scheduler.default_hook.';
COMMENT ON COLUMN workflow_scheduler.workflow_schedules.start_at IS 'No occurrence before this; an interval is anchored here.';
COMMENT ON COLUMN workflow_scheduler.workflow_schedules.end_at IS 'No occurrence at or after this; then it finishes (schedule_ended).';
COMMENT ON COLUMN workflow_scheduler.workflow_schedules.grace_seconds IS 'Its own grace period; NULL: workflow_scheduler.grace_period.';
COMMENT ON COLUMN workflow_scheduler.workflow_schedules.paused_at IS 'When schedule_pause paused it; NULL: not paused.';
COMMENT ON COLUMN workflow_scheduler.workflow_schedules.paused_by IS 'user_id given to schedule_pause.';
COMMENT ON COLUMN workflow_scheduler.workflow_schedules.pause_note IS 'Why it is paused.';
COMMENT ON COLUMN workflow_scheduler.workflow_schedules.missed_count IS 'Occurrences recorded as missed, ever.';
COMMENT ON COLUMN workflow_scheduler.workflow_schedules.skipped_count IS 'Occurrences the overlap policy skipped, ever.';
COMMENT ON COLUMN workflow_scheduler.workflow_schedules.removed_at IS 'When schedule_remove removed it; NULL: not removed.';

COMMENT ON TABLE workflow_scheduler.workflow_schedule_executions IS 'One row per fired, missed or skipped occurrence: the durable hand-off to the engine.';
COMMENT ON COLUMN workflow_scheduler.workflow_schedule_executions.execution_id IS 'The execution''s id; webhook-id of its HTTP deliveries.';
COMMENT ON COLUMN workflow_scheduler.workflow_schedule_executions.schedule_id IS 'Its schedule.';
COMMENT ON COLUMN workflow_scheduler.workflow_schedule_executions.workflow_id IS 'The workflow to start.';
COMMENT ON COLUMN workflow_scheduler.workflow_schedule_executions.scheduled_for IS 'The occurrence it is for (the time of a manual run).';
COMMENT ON COLUMN workflow_scheduler.workflow_schedule_executions.triggered_at IS 'When the pass that recorded it ran.';
COMMENT ON COLUMN workflow_scheduler.workflow_schedule_executions.status IS 'triggered, running, completed, failed, timed_out, missed or skipped.';
COMMENT ON COLUMN workflow_scheduler.workflow_schedule_executions.coalesced IS 'Older occurrences skipped in favour of this one after an outage.';
COMMENT ON COLUMN workflow_scheduler.workflow_schedule_executions.trigger_data IS 'The full payload: reserved keys and the schedule''s context_data.';
COMMENT ON COLUMN workflow_scheduler.workflow_schedule_executions.attempt IS 'How many times an engine claimed it.';
COMMENT ON COLUMN workflow_scheduler.workflow_schedule_executions.claimed_by IS 'The engine worker that claimed it last.';
COMMENT ON COLUMN workflow_scheduler.workflow_schedule_executions.lease_expires_at IS 'A running execution is claimable again after this.';
COMMENT ON COLUMN workflow_scheduler.workflow_schedule_executions.deadline_at IS 'It becomes timed_out if unfinished at this time (max_runtime_seconds).';
COMMENT ON COLUMN workflow_scheduler.workflow_schedule_executions.finished_at IS 'When it was completed, failed or timed out.';
COMMENT ON COLUMN workflow_scheduler.workflow_schedule_executions.result IS 'What the engine reported with execution_complete.';
COMMENT ON COLUMN workflow_scheduler.workflow_schedule_executions.trigger_kind IS 'scheduled, manual (schedule_trigger) or backfill (schedule_backfill).';

COMMENT ON TABLE workflow_scheduler.audit_log IS 'Every operation and fire, as the seed''s AUDIT log lines say them.';
COMMENT ON COLUMN workflow_scheduler.audit_log.id IS 'Order of writing.';
COMMENT ON COLUMN workflow_scheduler.audit_log.logged_at IS 'When it was written.';
COMMENT ON COLUMN workflow_scheduler.audit_log.event_type IS 'AUDIT, SYSTEM or ERROR.';
COMMENT ON COLUMN workflow_scheduler.audit_log.community_id IS 'The schedule''s community_id.';
COMMENT ON COLUMN workflow_scheduler.audit_log.user_id IS 'The user_id given to the function, if any.';
COMMENT ON COLUMN workflow_scheduler.audit_log.action IS 'The event, e.g. schedule_create, schedule_triggered.';
COMMENT ON COLUMN workflow_scheduler.audit_log.result IS 'SUCCESS, FAILURE, MISSED, SKIPPED or BUFFERED.';
COMMENT ON COLUMN workflow_scheduler.audit_log.details IS 'The event''s fields.';
COMMENT ON COLUMN workflow_scheduler.audit_log.schedule_id IS 'The schedule it is about; NULL for the workers'' own events.';

COMMENT ON TABLE workflow_scheduler.hooks IS 'HTTP endpoints that receive fires by POST; managed by administrators (hook_* functions).';
COMMENT ON COLUMN workflow_scheduler.hooks.name IS 'The name schedules use in their hook key.';
COMMENT ON COLUMN workflow_scheduler.hooks.url IS 'Where requests go (http or https).';
COMMENT ON COLUMN workflow_scheduler.hooks.timeout_ms IS 'Bound on a whole request.';
COMMENT ON COLUMN workflow_scheduler.hooks.header_names IS 'Names of its own headers; their values are in hook_secrets.';
COMMENT ON COLUMN workflow_scheduler.hooks.enabled IS 'false: its deliveries wait (after a 410 or hook_update).';
COMMENT ON COLUMN workflow_scheduler.hooks.disabled_reason IS 'Why it is disabled.';
COMMENT ON COLUMN workflow_scheduler.hooks.secret_fingerprint IS 'First 8 hex digits of sha256 of its signing secret.';
COMMENT ON COLUMN workflow_scheduler.hooks.previous_fingerprint IS 'Fingerprint of the secret before a rotation, while it still signs.';
COMMENT ON COLUMN workflow_scheduler.hooks.previous_valid_until IS 'The previous secret signs until then (http_secret_overlap).';
COMMENT ON COLUMN workflow_scheduler.hooks.last_delivered_at IS 'Last 2xx answer.';
COMMENT ON COLUMN workflow_scheduler.hooks.last_error IS 'Last failed attempt''s error.';
COMMENT ON COLUMN workflow_scheduler.hooks.last_error_at IS 'When that was.';
COMMENT ON COLUMN workflow_scheduler.hooks.created_at IS 'When it was created.';
COMMENT ON COLUMN workflow_scheduler.hooks.updated_at IS 'When it last changed.';

COMMENT ON TABLE workflow_scheduler.hook_secrets IS 'Hook secrets and header values; readable by no role (row-level security without a policy).';
COMMENT ON COLUMN workflow_scheduler.hook_secrets.hook IS 'The hook.';
COMMENT ON COLUMN workflow_scheduler.hook_secrets.secret IS 'whsec_ signing secret.';
COMMENT ON COLUMN workflow_scheduler.hook_secrets.previous_secret IS 'The secret before the last rotation.';
COMMENT ON COLUMN workflow_scheduler.hook_secrets.headers IS 'The hook''s own headers, name to value.';

COMMENT ON TABLE workflow_scheduler.deliveries IS 'The HTTP outbox: one row per fire of a schedule with a hook, written in the fire''s transaction.';
COMMENT ON COLUMN workflow_scheduler.deliveries.delivery_id IS 'The delivery''s id (delivery_retry takes it).';
COMMENT ON COLUMN workflow_scheduler.deliveries.execution_id IS 'The execution it sends.';
COMMENT ON COLUMN workflow_scheduler.deliveries.hook IS 'The hook it goes to.';
COMMENT ON COLUMN workflow_scheduler.deliveries.status IS 'pending, delivered, failed (a dead letter) or cancelled.';
COMMENT ON COLUMN workflow_scheduler.deliveries.attempts IS 'Attempts made.';
COMMENT ON COLUMN workflow_scheduler.deliveries.next_attempt_at IS 'When it is next sent; for one in flight, when its lease ends.';
COMMENT ON COLUMN workflow_scheduler.deliveries.last_status_code IS 'HTTP status of the last attempt.';
COMMENT ON COLUMN workflow_scheduler.deliveries.last_error IS 'Error of the last attempt.';
COMMENT ON COLUMN workflow_scheduler.deliveries.created_at IS 'When the fire queued it.';
COMMENT ON COLUMN workflow_scheduler.deliveries.delivered_at IS 'When the 2xx answer came.';

COMMENT ON TABLE workflow_scheduler.delivery_attempts IS 'One row per HTTP attempt of a delivery.';
COMMENT ON COLUMN workflow_scheduler.delivery_attempts.id IS 'Order of writing.';
COMMENT ON COLUMN workflow_scheduler.delivery_attempts.delivery_id IS 'The delivery.';
COMMENT ON COLUMN workflow_scheduler.delivery_attempts.attempt IS 'The attempt''s number, 1 first.';
COMMENT ON COLUMN workflow_scheduler.delivery_attempts.attempted_at IS 'When the request started.';
COMMENT ON COLUMN workflow_scheduler.delivery_attempts.status_code IS 'HTTP status; NULL when no answer came.';
COMMENT ON COLUMN workflow_scheduler.delivery_attempts.error IS 'What went wrong; NULL when delivered.';
COMMENT ON COLUMN workflow_scheduler.delivery_attempts.latency_ms IS 'From the request''s start to its answer or failure.';

COMMENT ON VIEW workflow_scheduler.hook_status IS 'Per hook: deliveries waiting, the age of the oldest, the last error.';

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
