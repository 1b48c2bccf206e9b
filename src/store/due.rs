//! The due pass's statements: claim a batch, insert its executions, advance its schedules.
//! Each is one set-based statement over column buffers, whatever the batch size.

use std::collections::HashSet;
use std::mem::take;

use chrono::{DateTime, Utc};
use pgrx::datum::TimestampWithTimeZone;
use pgrx::prelude::*;
use pgrx::{JsonB, Uuid};
use serde_json::{Map, Value};

use scheduler_core::firing::overlap::OverlapPolicy;
use scheduler_core::RecurrenceColumns;

use crate::pg::kept_plans;
use crate::pg::spi::{required, spi_failed};
use crate::pg::time_conv::{from_utc, to_utc};

/// A claimed due schedule, as the pass reads it.
#[derive(Clone)]
pub struct ClaimedRow {
    pub id: i64,
    pub schedule_id: Uuid,
    pub workflow_id: Uuid,
    pub schedule_type: String,
    pub cron_expression: Option<String>,
    pub interval_seconds: Option<i32>,
    pub scheduled_time: Option<DateTime<Utc>>,
    pub timezone: String,
    pub anchor_at: Option<DateTime<Utc>>,
    /// `None` for an inactive schedule claimed for its released buffered occurrence.
    pub next_execution_at: Option<DateTime<Utc>>,
    pub max_executions: Option<i32>,
    pub execution_count: i32,
    /// The schedule's `context_data`, or why it cannot be read (nesting beyond what the JSON
    /// parser accepts): such a row is deactivated as broken, the others fire.
    pub context_data: Result<Map<String, Value>, String>,
    pub community_id: Option<i64>,
    pub overlap: OverlapPolicy,
    pub max_runtime_seconds: Option<i32>,
    pub buffered_for: Option<DateTime<Utc>>,
    /// An execution of this schedule is `triggered` or `running` (asked only when the
    /// overlap policy is not `allow`).
    pub busy: bool,
    /// The hook named by the schedule's config (`None`: the `default_hook` setting).
    pub hook: Option<String>,
    /// The window (`start_at`, `end_at`) and this schedule's own grace period.
    pub start_at: Option<DateTime<Utc>>,
    pub end_at: Option<DateTime<Utc>>,
    pub grace_seconds: Option<i32>,
}

impl ClaimedRow {
    pub fn recurrence_columns(&self) -> RecurrenceColumns<'_> {
        RecurrenceColumns {
            schedule_type: &self.schedule_type,
            cron_expression: self.cron_expression.as_deref(),
            interval_seconds: self.interval_seconds,
            scheduled_time: self.scheduled_time,
            timezone: &self.timezone,
            anchor_at: self.anchor_at,
        }
    }
}

/// The columns every claim reads, in `ClaimedRow` order, from `workflow_schedules AS s` (a macro,
/// so that each claim's SQL is one `&'static str` that a kept plan can be keyed by).
macro_rules! claimed_columns {
    () => {
        "s.id, s.schedule_id, s.workflow_id, s.schedule_type, s.cron_expression,
    s.interval_seconds, s.scheduled_time, s.timezone, s.anchor_at, s.next_execution_at,
    s.max_executions, s.execution_count, s.context_data::text, s.community_id, s.overlap,
    s.max_runtime_seconds, s.buffered_for,
    s.overlap OPERATOR(pg_catalog.<>) 'allow' AND EXISTS (
        SELECT 1 FROM workflow_scheduler.workflow_schedule_executions AS e
         WHERE e.schedule_id OPERATOR(pg_catalog.=) s.schedule_id
           AND e.status IN ('triggered', 'running')),
    s.hook, s.start_at, s.end_at, s.grace_seconds"
    };
}

/// Claims at most `limit` schedules due at `now`, oldest first, skipping rows another session
/// holds. `owners`: only schedules of these roles (`None`: all).
pub fn claim_due_rows(now: DateTime<Utc>, limit: i64, owners: Option<Vec<String>>) -> Vec<ClaimedRow> {
    claim(
        concat!(
            "SELECT ",
            claimed_columns!(),
            " FROM workflow_scheduler.workflow_schedules AS s
              WHERE s.is_active AND s.next_execution_at OPERATOR(pg_catalog.<=) $1
                AND ($3::pg_catalog.text[] IS NULL OR s.owner_role::pg_catalog.text OPERATOR(pg_catalog.=) ANY ($3))
              ORDER BY s.next_execution_at
              LIMIT $2
                FOR UPDATE SKIP LOCKED"
        ),
        &[from_utc(now).into(), limit.into(), owners.into()],
    )
}

/// Claims at most `limit` schedules whose buffered occurrence no longer waits for anything
/// (no `triggered` or `running` execution), apart from the rows in `claimed` (this
/// transaction holds them already).
pub fn claim_released_buffers(limit: i64, owners: Option<Vec<String>>, claimed: Vec<i64>) -> Vec<ClaimedRow> {
    claim(
        concat!(
            "SELECT ",
            claimed_columns!(),
            " FROM workflow_scheduler.workflow_schedules AS s
              WHERE s.buffered_for IS NOT NULL
                AND NOT EXISTS (
                    SELECT 1 FROM workflow_scheduler.workflow_schedule_executions AS e
                     WHERE e.schedule_id OPERATOR(pg_catalog.=) s.schedule_id
                       AND e.status IN ('triggered', 'running'))
                AND s.id OPERATOR(pg_catalog.<>) ALL ($3)
                AND ($2::pg_catalog.text[] IS NULL OR s.owner_role::pg_catalog.text OPERATOR(pg_catalog.=) ANY ($2))
              ORDER BY s.buffered_for
              LIMIT $1
                FOR UPDATE OF s SKIP LOCKED"
        ),
        &[limit.into(), owners.into(), claimed.into()],
    )
}

/// Locks one schedule, waiting for it, and reads it as the due pass does: for a run outside
/// its grid (`schedule_trigger`, `schedule_backfill`).
pub fn lock_claimed(schedule_id: Uuid) -> Option<ClaimedRow> {
    claim(
        concat!(
            "SELECT ",
            claimed_columns!(),
            " FROM workflow_scheduler.workflow_schedules AS s
              WHERE s.schedule_id OPERATOR(pg_catalog.=) $1
                FOR UPDATE"
        ),
        &[schedule_id.into()],
    )
    .pop()
}

/// The occurrences of a schedule in `[from, to)` that have an execution of the grid's (a
/// scheduled or backfilled one; manual runs are outside the grid), as Unix microseconds.
pub fn recorded_occurrences(schedule_id: Uuid, from: DateTime<Utc>, to: DateTime<Utc>) -> HashSet<i64> {
    Spi::connect(|client| {
        let table = client.select(
            "SELECT scheduled_for FROM workflow_scheduler.workflow_schedule_executions
              WHERE schedule_id OPERATOR(pg_catalog.=) $1 AND trigger_kind <> 'manual'
                AND scheduled_for OPERATOR(pg_catalog.>=) $2 AND scheduled_for OPERATOR(pg_catalog.<) $3",
            None,
            &[schedule_id.into(), from_utc(from).into(), from_utc(to).into()],
        )?;
        let mut seen = HashSet::with_capacity(table.len());
        for row in table {
            if let Some(at) = row.get::<TimestampWithTimeZone>(1)?.and_then(to_utc) {
                seen.insert(at.timestamp_micros());
            }
        }
        Ok::<_, pgrx::spi::Error>(seen)
    })
    .unwrap_or_else(|err| spi_failed(err))
}

fn claim(query: &'static str, args: &[pgrx::datum::DatumWithOid]) -> Vec<ClaimedRow> {
    // connect_mut: a read-only SPI connection refuses FOR UPDATE.
    Spi::connect_mut(|client| {
        let table = kept_plans::run(client, query, args)?;
        let mut rows = Vec::with_capacity(table.len());
        for row in table {
            // Read as text and parsed here, so that a value the parser refuses is this row's
            // problem, not an ERROR that fails the whole batch.
            let context_data = match serde_json::from_str::<Value>(&required::<String>(row.get(13)?)) {
                Ok(Value::Object(map)) => Ok(map),
                Ok(_) => Ok(Map::new()),
                Err(err) => Err(format!("context_data cannot be read: {err}")),
            };
            // The column's CHECK constraint admits only known names.
            let overlap = OverlapPolicy::parse(&required::<String>(row.get(15)?)).unwrap_or_default();
            rows.push(ClaimedRow {
                id: required(row.get(1)?),
                schedule_id: required(row.get(2)?),
                workflow_id: required(row.get(3)?),
                schedule_type: required(row.get(4)?),
                cron_expression: row.get(5)?,
                interval_seconds: row.get(6)?,
                scheduled_time: row.get::<TimestampWithTimeZone>(7)?.and_then(to_utc),
                timezone: required(row.get(8)?),
                anchor_at: row.get::<TimestampWithTimeZone>(9)?.and_then(to_utc),
                next_execution_at: row.get::<TimestampWithTimeZone>(10)?.and_then(to_utc),
                max_executions: row.get(11)?,
                execution_count: required(row.get(12)?),
                context_data,
                community_id: row.get(14)?,
                overlap,
                max_runtime_seconds: row.get(16)?,
                buffered_for: row.get::<TimestampWithTimeZone>(17)?.and_then(to_utc),
                busy: required(row.get(18)?),
                hook: row.get(19)?,
                start_at: row.get::<TimestampWithTimeZone>(20)?.and_then(to_utc),
                end_at: row.get::<TimestampWithTimeZone>(21)?.and_then(to_utc),
                grace_seconds: row.get(22)?,
            });
        }
        Ok::<_, pgrx::spi::Error>(rows)
    })
    .unwrap_or_else(|err| spi_failed(err))
}

/// Execution rows of one batch, column-wise.
#[derive(Default)]
pub struct ExecutionRows {
    pub execution_id: Vec<Uuid>,
    pub schedule_id: Vec<Uuid>,
    pub workflow_id: Vec<Uuid>,
    pub scheduled_for: Vec<TimestampWithTimeZone>,
    pub status: Vec<&'static str>,
    pub coalesced: Vec<i32>,
    pub trigger_data: Vec<JsonB>,
    pub deadline_at: Vec<Option<TimestampWithTimeZone>>,
    pub trigger_kind: Vec<&'static str>,
}

/// Inserts the execution rows and returns the ids that went in. The unique
/// (schedule_id, scheduled_for) constraint drops an occurrence that was already recorded.
pub fn insert_executions(rows: &mut ExecutionRows, triggered_at: DateTime<Utc>) -> HashSet<[u8; 16]> {
    if rows.execution_id.is_empty() {
        return HashSet::new();
    }
    Spi::connect_mut(|client| {
        let table = kept_plans::run(
            client,
            "INSERT INTO workflow_scheduler.workflow_schedule_executions
                 (execution_id, schedule_id, workflow_id, scheduled_for, triggered_at, status,
                  coalesced, trigger_data, deadline_at, trigger_kind)
             SELECT e.execution_id, e.schedule_id, e.workflow_id, e.scheduled_for, $8, e.status,
                    e.coalesced, e.trigger_data, e.deadline_at, e.trigger_kind
               FROM ROWS FROM (
                   pg_catalog.unnest($1::uuid[]),
                   pg_catalog.unnest($2::uuid[]),
                   pg_catalog.unnest($3::uuid[]),
                   pg_catalog.unnest($4::timestamptz[]),
                   pg_catalog.unnest($5::text[]),
                   pg_catalog.unnest($6::int[]),
                   pg_catalog.unnest($7::jsonb[]),
                   pg_catalog.unnest($9::timestamptz[]),
                   pg_catalog.unnest($10::text[])
               ) WITH ORDINALITY
                    AS e(execution_id, schedule_id, workflow_id, scheduled_for, status, coalesced,
                         trigger_data, deadline_at, trigger_kind, ord)
              ORDER BY e.ord
             ON CONFLICT (schedule_id, scheduled_for) WHERE trigger_kind <> 'manual' DO NOTHING
             RETURNING execution_id",
            &[
                take(&mut rows.execution_id).into(),
                take(&mut rows.schedule_id).into(),
                take(&mut rows.workflow_id).into(),
                take(&mut rows.scheduled_for).into(),
                take(&mut rows.status).into(),
                take(&mut rows.coalesced).into(),
                take(&mut rows.trigger_data).into(),
                from_utc(triggered_at).into(),
                take(&mut rows.deadline_at).into(),
                take(&mut rows.trigger_kind).into(),
            ],
        )?;
        let mut inserted = HashSet::with_capacity(table.len());
        for row in table {
            if let Some(id) = row.get::<Uuid>(1)? {
                inserted.insert(*id.as_bytes());
            }
        }
        Ok::<_, pgrx::spi::Error>(inserted)
    })
    .unwrap_or_else(|err| spi_failed(err))
}

/// The outbox rows of one batch's fires, column-wise: which execution goes to which hook.
#[derive(Default)]
pub struct DeliveryRows {
    pub execution_id: Vec<Uuid>,
    pub hook: Vec<String>,
}

/// Inserts a `pending` delivery, due at `now`, for each fire whose hook exists (a schedule may
/// name a hook removed since, or the `default_hook` setting one never created: no delivery).
/// Returns how many went in.
pub fn insert_deliveries(rows: &mut DeliveryRows, now: DateTime<Utc>) -> i64 {
    if rows.execution_id.is_empty() {
        return 0;
    }
    let inserted = kept_plans::first_value::<i64>(
        "WITH inserted AS (
             INSERT INTO workflow_scheduler.deliveries
                 (delivery_id, execution_id, hook, status, next_attempt_at, created_at)
             SELECT pg_catalog.gen_random_uuid(), d.execution_id, d.hook, 'pending', $3, $3
               FROM ROWS FROM (
                   pg_catalog.unnest($1::uuid[]),
                   pg_catalog.unnest($2::text[])
               ) WITH ORDINALITY AS d(execution_id, hook, ord)
               JOIN workflow_scheduler.hooks AS h ON h.name OPERATOR(pg_catalog.=) d.hook
              ORDER BY d.ord
             RETURNING 1)
         SELECT pg_catalog.count(*) FROM inserted",
        &[take(&mut rows.execution_id).into(), take(&mut rows.hook).into(), from_utc(now).into()],
    )
    .unwrap_or_else(|err| spi_failed(err));
    required(inserted)
}

/// New state of each claimed schedule, column-wise.
#[derive(Default)]
pub struct ScheduleAdvances {
    pub id: Vec<i64>,
    /// NULL deactivates.
    pub next_execution_at: Vec<Option<TimestampWithTimeZone>>,
    /// `fired`, `missed`, `skipped` or `none`: what the schedule's counters add.
    pub outcome: Vec<&'static str>,
    pub execution_id: Vec<Option<Uuid>>,
    pub buffered_for: Vec<Option<TimestampWithTimeZone>>,
}

/// Advances every claimed schedule in one statement.
pub fn advance_schedules(rows: &mut ScheduleAdvances, updated_at: DateTime<Utc>) {
    if rows.id.is_empty() {
        return;
    }
    kept_plans::execute(
        "UPDATE workflow_scheduler.workflow_schedules AS s
            SET next_execution_at = u.next_execution_at,
                is_active = u.next_execution_at IS NOT NULL,
                execution_count = s.execution_count OPERATOR(pg_catalog.+) CASE WHEN u.outcome = 'fired' THEN 1 ELSE 0 END,
                missed_count = s.missed_count OPERATOR(pg_catalog.+) CASE WHEN u.outcome = 'missed' THEN 1 ELSE 0 END,
                skipped_count = s.skipped_count OPERATOR(pg_catalog.+) CASE WHEN u.outcome = 'skipped' THEN 1 ELSE 0 END,
                last_execution_at = CASE WHEN u.outcome = 'fired' THEN $5 ELSE s.last_execution_at END,
                last_execution_id = CASE WHEN u.outcome = 'fired' THEN u.execution_id ELSE s.last_execution_id END,
                buffered_for = u.buffered_for,
                updated_at = $5
           FROM ROWS FROM (
               pg_catalog.unnest($1::bigint[]),
               pg_catalog.unnest($2::timestamptz[]),
               pg_catalog.unnest($3::text[]),
               pg_catalog.unnest($4::uuid[]),
               pg_catalog.unnest($6::timestamptz[])
           )
                AS u(id, next_execution_at, outcome, execution_id, buffered_for)
          -- The = ANY lets a generic plan find the rows by the primary key; on the join alone it
          -- cannot know how many rows the arrays hold, and scans the table.
          WHERE s.id OPERATOR(pg_catalog.=) ANY ($1::bigint[]) AND s.id OPERATOR(pg_catalog.=) u.id",
        &[
            take(&mut rows.id).into(),
            take(&mut rows.next_execution_at).into(),
            take(&mut rows.outcome).into(),
            take(&mut rows.execution_id).into(),
            from_utc(updated_at).into(),
            take(&mut rows.buffered_for).into(),
        ],
    )
    .unwrap_or_else(|err| spi_failed(err));
}

/// The earliest active schedule due after `after`, or the earliest deadline
/// (`max_runtime_seconds`) of an unfinished execution after it, whichever comes first: what the
/// worker wakes for. `ORDER BY ... LIMIT 1` always walks the partial indexes; `min()` can be
/// planned as an aggregate over every future row when statistics are stale.
pub fn earliest_wake_after(after: DateTime<Utc>) -> Option<DateTime<Utc>> {
    kept_plans::first_value::<TimestampWithTimeZone>(
        "SELECT LEAST(
             (SELECT next_execution_at FROM workflow_scheduler.workflow_schedules
               WHERE is_active AND next_execution_at OPERATOR(pg_catalog.>) $1
               ORDER BY next_execution_at LIMIT 1),
             (SELECT deadline_at FROM workflow_scheduler.workflow_schedule_executions
               WHERE status IN ('triggered', 'running') AND deadline_at IS NOT NULL
                 AND deadline_at OPERATOR(pg_catalog.>) $1
               ORDER BY deadline_at LIMIT 1))",
        &[from_utc(after).into()],
    )
    .unwrap_or_else(|err| spi_failed(err))
    .and_then(to_utc)
}

/// Queues one NOTIFY per payload, in order; Postgres sends them at commit.
pub fn notify(channel: &str, payloads: Vec<String>) {
    if payloads.is_empty() {
        return;
    }
    kept_plans::execute(
        "SELECT pg_catalog.pg_notify($1, p.payload)
           FROM pg_catalog.unnest($2::text[]) WITH ORDINALITY AS p(payload, ord)
          ORDER BY p.ord",
        &[channel.into(), payloads.into()],
    )
    .unwrap_or_else(|err| spi_failed(err));
}
