-- workflow_scheduler schema: schedules, their execution history and the audit log.
-- Loaded first (bootstrap); the Rust functions are created after it, then security.sql.
--
-- This is the schema of a fresh install of the current version. An existing database reaches
-- the same schema through the upgrade scripts (sql/workflow_scheduler--A--B.sql): every change
-- here needs its twin there, new columns go last, and the upgrade test compares the catalogs.

CREATE TABLE workflow_scheduler.workflow_schedules (
    id                 bigserial PRIMARY KEY,
    schedule_id        uuid NOT NULL UNIQUE DEFAULT gen_random_uuid(),
    workflow_id        uuid NOT NULL,

    schedule_type      text NOT NULL,
    cron_expression    text,
    interval_seconds   integer,
    scheduled_time     timestamptz,
    timezone           text NOT NULL DEFAULT 'UTC',
    -- Interval schedules fire at anchor_at + k * interval_seconds (k >= 1): no drift.
    anchor_at          timestamptz NOT NULL DEFAULT now(),

    is_active          boolean NOT NULL DEFAULT true,
    next_execution_at  timestamptz,
    last_execution_at  timestamptz,
    last_execution_id  uuid,

    max_executions     integer,
    execution_count    integer NOT NULL DEFAULT 0,

    context_data       jsonb NOT NULL DEFAULT '{}',

    community_id       bigint,
    created_by         bigint,
    updated_by         bigint,
    owner_role         name NOT NULL DEFAULT current_user,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),

    CONSTRAINT schedule_type_known
        CHECK (schedule_type IN ('cron', 'interval', 'one_time')),
    CONSTRAINT cron_has_only_an_expression
        CHECK (schedule_type <> 'cron'
               OR (cron_expression IS NOT NULL AND interval_seconds IS NULL AND scheduled_time IS NULL)),
    CONSTRAINT interval_has_only_positive_seconds
        CHECK (schedule_type <> 'interval'
               OR (interval_seconds >= 1 AND cron_expression IS NULL AND scheduled_time IS NULL)),
    CONSTRAINT one_time_has_only_a_time
        CHECK (schedule_type <> 'one_time'
               OR (scheduled_time IS NOT NULL AND cron_expression IS NULL AND interval_seconds IS NULL)),
    CONSTRAINT active_schedule_has_next_time
        CHECK (NOT is_active OR next_execution_at IS NOT NULL),
    CONSTRAINT max_executions_positive
        CHECK (max_executions IS NULL OR max_executions >= 1),
    CONSTRAINT execution_count_not_negative
        CHECK (execution_count >= 0),
    CONSTRAINT context_data_is_object
        CHECK (jsonb_typeof(context_data) = 'object'),

    -- 0.2.0: the overlap policy (schedule_config keys overlap, max_runtime_seconds) and the
    -- occurrence buffer_one holds back until the unfinished execution finishes.
    overlap              text NOT NULL DEFAULT 'allow',
    max_runtime_seconds  integer,
    buffered_for         timestamptz,
    -- 0.2.0: the HTTP hook that receives this schedule's fires (schedule_config key hook).
    hook                 text,
    -- 0.2.0: the window (schedule_config keys start_at, end_at) and this schedule's own grace.
    start_at             timestamptz,
    end_at               timestamptz,
    grace_seconds        integer,
    -- 0.2.0: schedule_pause: since when, by whom, why (NULL: not paused). A paused schedule is
    -- inactive with no next time; schedule_resume recomputes it from the time of the resume.
    paused_at            timestamptz,
    paused_by            bigint,
    pause_note           text,
    -- 0.2.0: lifetime counts of missed and skipped occurrences (retention keeps them), and
    -- when schedule_remove removed it (NULL: not removed; a finished schedule has none).
    missed_count         integer NOT NULL DEFAULT 0,
    skipped_count        integer NOT NULL DEFAULT 0,
    removed_at           timestamptz,
    CONSTRAINT overlap_known
        CHECK (overlap IN ('allow', 'skip', 'buffer_one')),
    CONSTRAINT max_runtime_positive
        CHECK (max_runtime_seconds IS NULL OR max_runtime_seconds >= 1),
    CONSTRAINT window_in_order
        CHECK (start_at IS NULL OR end_at IS NULL OR start_at < end_at),
    CONSTRAINT grace_seconds_not_negative
        CHECK (grace_seconds IS NULL OR grace_seconds >= 0)
);

CREATE INDEX workflow_schedules_workflow_id_idx ON workflow_scheduler.workflow_schedules (workflow_id);
-- 0.1.0's index on schedule_type is gone: no query used it, and every fire updated it.
-- The due pass and the worker's sleep computation read only this index.
CREATE INDEX workflow_schedules_due_idx ON workflow_scheduler.workflow_schedules (next_execution_at)
    WHERE is_active;
-- Schedules whose buffered occurrence waits for an unfinished execution (usually none).
CREATE INDEX workflow_schedules_buffered_idx ON workflow_scheduler.workflow_schedules (buffered_for)
    WHERE buffered_for IS NOT NULL;

CREATE TABLE workflow_scheduler.workflow_schedule_executions (
    execution_id   uuid PRIMARY KEY,
    -- No foreign key (0.1.0 had one): executions are written only for a schedule the writer
    -- holds locked, and schedules are never deleted. The key's per-row check was a query per
    -- fire, up to a tenth of the worker's time at 1,000,000 schedules (docs/benchmarks.md).
    schedule_id    uuid NOT NULL,
    workflow_id    uuid NOT NULL,
    scheduled_for  timestamptz NOT NULL,
    triggered_at   timestamptz NOT NULL,
    status         text NOT NULL,
    -- Occurrences older than scheduled_for that were skipped in favour of this one.
    coalesced      integer NOT NULL DEFAULT 0,
    trigger_data   jsonb NOT NULL,
    CONSTRAINT execution_status_known
        CHECK (status IN ('triggered', 'running', 'completed', 'failed', 'timed_out', 'missed', 'skipped')),

    -- 0.2.0: the execution lifecycle. `attempt` counts claims; a `running` execution is leased
    -- to `claimed_by` until `lease_expires_at`; `deadline_at` is when it times out.
    attempt           integer NOT NULL DEFAULT 0,
    claimed_by        text,
    lease_expires_at  timestamptz,
    deadline_at       timestamptz,
    finished_at       timestamptz,
    result            jsonb,
    -- 0.2.0: why it exists: its grid (scheduled), schedule_trigger (manual), schedule_backfill.
    trigger_kind      text NOT NULL DEFAULT 'scheduled',
    CONSTRAINT trigger_kind_known CHECK (trigger_kind IN ('scheduled', 'manual', 'backfill'))
);

-- Each occurrence fires at most once, whoever runs the due pass (or a backfill); manual runs
-- are outside the grid and never collide with it.
CREATE UNIQUE INDEX one_execution_per_occurrence
    ON workflow_scheduler.workflow_schedule_executions (schedule_id, scheduled_for)
    WHERE trigger_kind <> 'manual';

-- execution_claim takes the oldest triggered executions, and running ones whose lease expired.
CREATE INDEX executions_triggered_idx ON workflow_scheduler.workflow_schedule_executions (triggered_at)
    WHERE status = 'triggered';
CREATE INDEX executions_lease_idx ON workflow_scheduler.workflow_schedule_executions (lease_expires_at)
    WHERE status = 'running';
-- The overlap policy asks whether a schedule has an unfinished execution.
CREATE INDEX executions_unfinished_idx ON workflow_scheduler.workflow_schedule_executions (schedule_id)
    WHERE status IN ('triggered', 'running');
-- Retention deletes finished executions oldest first.
CREATE INDEX executions_finished_idx ON workflow_scheduler.workflow_schedule_executions (triggered_at)
    WHERE status NOT IN ('triggered', 'running');
-- The timeout sweep, and the worker's wake-up for the next timeout.
CREATE INDEX executions_deadline_idx ON workflow_scheduler.workflow_schedule_executions (deadline_at)
    WHERE status IN ('triggered', 'running') AND deadline_at IS NOT NULL;

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

CREATE TABLE workflow_scheduler.audit_log (
    id            bigserial PRIMARY KEY,
    logged_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    event_type    text NOT NULL,
    community_id  bigint,
    user_id       bigint,
    action        text NOT NULL,
    result        text NOT NULL,
    details       jsonb NOT NULL DEFAULT '{}',
    CONSTRAINT audit_event_type_known CHECK (event_type IN ('AUDIT', 'SYSTEM', 'ERROR')),
    -- 0.2.0: the schedule the event is about (NULL for the worker's own events); row-level
    -- security shows a role only the rows of schedules it may see.
    schedule_id   uuid
);

CREATE INDEX audit_log_logged_at_idx ON workflow_scheduler.audit_log (logged_at);

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

-- pg_dump keeps the rows of these tables and the sequences' positions (extension members are
-- otherwise left out of a dump).
SELECT pg_catalog.pg_extension_config_dump('workflow_scheduler.workflow_schedules', '');
SELECT pg_catalog.pg_extension_config_dump('workflow_scheduler.workflow_schedules_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('workflow_scheduler.workflow_schedule_executions', '');
SELECT pg_catalog.pg_extension_config_dump('workflow_scheduler.audit_log', '');
SELECT pg_catalog.pg_extension_config_dump('workflow_scheduler.audit_log_id_seq', '');
-- A dump of hook_secrets holds the hooks' secrets and header values: guard dumps accordingly.
SELECT pg_catalog.pg_extension_config_dump('workflow_scheduler.hooks', '');
SELECT pg_catalog.pg_extension_config_dump('workflow_scheduler.hook_secrets', '');
SELECT pg_catalog.pg_extension_config_dump('workflow_scheduler.deliveries', '');
SELECT pg_catalog.pg_extension_config_dump('workflow_scheduler.delivery_attempts', '');
SELECT pg_catalog.pg_extension_config_dump('workflow_scheduler.delivery_attempts_id_seq', '');

-- The JSON shape every schedule function returns (the seed's result dictionary).
CREATE FUNCTION workflow_scheduler.schedule_to_json(s workflow_scheduler.workflow_schedules)
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
