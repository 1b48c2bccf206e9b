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
CREATE INDEX workflow_schedules_schedule_type_idx ON workflow_scheduler.workflow_schedules (schedule_type);
-- The due pass and the worker's sleep computation read only this index.
CREATE INDEX workflow_schedules_due_idx ON workflow_scheduler.workflow_schedules (next_execution_at)
    WHERE is_active;
-- Schedules whose buffered occurrence waits for an unfinished execution (usually none).
CREATE INDEX workflow_schedules_buffered_idx ON workflow_scheduler.workflow_schedules (buffered_for)
    WHERE buffered_for IS NOT NULL;

CREATE TABLE workflow_scheduler.workflow_schedule_executions (
    execution_id   uuid PRIMARY KEY,
    schedule_id    uuid NOT NULL REFERENCES workflow_scheduler.workflow_schedules (schedule_id),
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
    execution_id      uuid NOT NULL REFERENCES workflow_scheduler.workflow_schedule_executions (execution_id),
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
    delivery_id   uuid NOT NULL REFERENCES workflow_scheduler.deliveries (delivery_id) ON DELETE CASCADE,
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
