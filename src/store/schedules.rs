//! The statements the schedule functions run on `workflow_schedules`.

use std::mem::take;

use chrono::{DateTime, Utc};
use pgrx::datum::TimestampWithTimeZone;
use pgrx::prelude::*;
use pgrx::{JsonB, Uuid};
use serde_json::Value;

use scheduler_core::ScheduleConfig;

use crate::pg::spi::{required, spi_failed};
use crate::pg::time_conv::{from_utc, to_utc};

pub struct NewSchedule<'a> {
    pub workflow_id: Uuid,
    pub config: &'a ScheduleConfig,
    pub next_execution_at: Option<DateTime<Utc>>,
    /// The interval grid's anchor.
    pub anchor_at: DateTime<Utc>,
    pub context_data: Value,
    pub community_id: Option<i64>,
    pub user_id: Option<i64>,
    pub owner_role: &'a str,
}

pub struct ScheduleChange<'a> {
    pub schedule_id: Uuid,
    pub config: &'a ScheduleConfig,
    pub next_execution_at: Option<DateTime<Utc>>,
    pub anchor_at: DateTime<Utc>,
    pub user_id: Option<i64>,
}

/// A schedule row as the API needs it before changing it.
pub struct LockedSchedule {
    pub schedule_id: Uuid,
    pub workflow_id: Uuid,
    pub schedule_type: String,
    pub interval_seconds: Option<i32>,
    pub anchor_at: DateTime<Utc>,
    pub community_id: Option<i64>,
    pub execution_count: i32,
    pub is_active: bool,
    pub owner_role: String,
    pub start_at: Option<DateTime<Utc>>,
    pub paused: bool,
    pub cron_expression: Option<String>,
    pub scheduled_time: Option<DateTime<Utc>>,
    pub timezone: String,
    pub end_at: Option<DateTime<Utc>>,
    pub max_executions: Option<i32>,
}

impl LockedSchedule {
    /// Its occurrences as stored, within its window.
    pub fn recurrence_columns(&self) -> scheduler_core::RecurrenceColumns<'_> {
        scheduler_core::RecurrenceColumns {
            schedule_type: &self.schedule_type,
            cron_expression: self.cron_expression.as_deref(),
            interval_seconds: self.interval_seconds,
            scheduled_time: self.scheduled_time,
            timezone: &self.timezone,
            anchor_at: Some(self.anchor_at),
        }
    }
}

/// The columns a schedule config sets besides `max_executions`, in the order the statements
/// below bind them.
fn config_params(config: &ScheduleConfig) -> [pgrx::datum::DatumWithOid<'static>; 11] {
    [
        config.kind.as_str().into(),
        config.cron_expression.clone().into(),
        config.interval_seconds.into(),
        config.scheduled_time.map(from_utc).into(),
        config.timezone.clone().into(),
        config.overlap.as_str().into(),
        config.max_runtime_seconds.into(),
        config.hook.clone().into(),
        config.start_at.map(from_utc).into(),
        config.end_at.map(from_utc).into(),
        config.grace_seconds.into(),
    ]
}

pub fn insert_schedule(new: &NewSchedule) -> JsonB {
    let [kind, cron, interval, time, zone, overlap, max_runtime, hook, start_at, end_at, grace] =
        config_params(new.config);
    Spi::get_one_with_args::<JsonB>(
        "INSERT INTO workflow_scheduler.workflow_schedules AS s
             (schedule_type, cron_expression, interval_seconds, scheduled_time, timezone,
              workflow_id, next_execution_at, is_active, max_executions, context_data,
              community_id, created_by, updated_by, owner_role, overlap, max_runtime_seconds, hook,
              start_at, end_at, grace_seconds, anchor_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7 IS NOT NULL, $8, $9, $10, $11, $11, $12, $13, $14, $15,
                 $16, $17, $18, $19)
         RETURNING workflow_scheduler.schedule_to_json(s)",
        &[
            kind,
            cron,
            interval,
            time,
            zone,
            new.workflow_id.into(),
            new.next_execution_at.map(from_utc).into(),
            new.config.max_executions.into(),
            JsonB(new.context_data.clone()).into(),
            new.community_id.into(),
            new.user_id.into(),
            new.owner_role.into(),
            overlap,
            max_runtime,
            hook,
            start_at,
            end_at,
            grace,
            from_utc(new.anchor_at).into(),
        ],
    )
    .unwrap_or_else(|err| spi_failed(err))
    .unwrap_or_else(|| pgrx::error!("workflow_scheduler: INSERT returned no row"))
}

/// Many new schedules, column-wise, written by one statement (schedule_add_many). Each row is
/// what `insert_schedule` would write for the same values.
#[derive(Default)]
pub struct NewSchedules {
    schedule_id: Vec<Uuid>,
    workflow_id: Vec<Uuid>,
    kind: Vec<&'static str>,
    cron_expression: Vec<Option<String>>,
    interval_seconds: Vec<Option<i32>>,
    scheduled_time: Vec<Option<TimestampWithTimeZone>>,
    timezone: Vec<String>,
    next_execution_at: Vec<Option<TimestampWithTimeZone>>,
    max_executions: Vec<Option<i32>>,
    context_data: Vec<JsonB>,
    overlap: Vec<&'static str>,
    max_runtime_seconds: Vec<Option<i32>>,
    hook: Vec<Option<String>>,
    start_at: Vec<Option<TimestampWithTimeZone>>,
    end_at: Vec<Option<TimestampWithTimeZone>>,
    grace_seconds: Vec<Option<i32>>,
    anchor_at: Vec<TimestampWithTimeZone>,
}

impl NewSchedules {
    /// Buffers one schedule; `new`'s community, user and owner are the statement's, not its own.
    pub fn push(&mut self, schedule_id: Uuid, new: NewSchedule) {
        let config = new.config;
        self.schedule_id.push(schedule_id);
        self.workflow_id.push(new.workflow_id);
        self.kind.push(config.kind.as_str());
        self.cron_expression.push(config.cron_expression.clone());
        self.interval_seconds.push(config.interval_seconds);
        self.scheduled_time.push(config.scheduled_time.map(from_utc));
        self.timezone.push(config.timezone.clone());
        self.next_execution_at.push(new.next_execution_at.map(from_utc));
        self.max_executions.push(config.max_executions);
        self.context_data.push(JsonB(new.context_data));
        self.overlap.push(config.overlap.as_str());
        self.max_runtime_seconds.push(config.max_runtime_seconds);
        self.hook.push(config.hook.clone());
        self.start_at.push(config.start_at.map(from_utc));
        self.end_at.push(config.end_at.map(from_utc));
        self.grace_seconds.push(config.grace_seconds);
        self.anchor_at.push(from_utc(new.anchor_at));
    }

    /// Inserts every buffered schedule, created by `user_id` for `community_id` and owned by
    /// `owner_role`; the buffers are handed to Postgres without copying.
    pub fn insert_all(&mut self, community_id: Option<i64>, user_id: Option<i64>, owner_role: &str) {
        if self.schedule_id.is_empty() {
            return;
        }
        Spi::run_with_args(
            "INSERT INTO workflow_scheduler.workflow_schedules
                 (schedule_id, workflow_id, schedule_type, cron_expression, interval_seconds,
                  scheduled_time, timezone, next_execution_at, is_active, max_executions, context_data,
                  community_id, created_by, updated_by, owner_role, overlap, max_runtime_seconds, hook,
                  start_at, end_at, grace_seconds, anchor_at)
             SELECT r.schedule_id, r.workflow_id, r.schedule_type, r.cron_expression, r.interval_seconds,
                    r.scheduled_time, r.timezone, r.next_execution_at, r.next_execution_at IS NOT NULL,
                    r.max_executions, r.context_data, $18, $19, $19, $20, r.overlap,
                    r.max_runtime_seconds, r.hook, r.start_at, r.end_at, r.grace_seconds, r.anchor_at
               FROM ROWS FROM (
                   pg_catalog.unnest($1::uuid[]),
                   pg_catalog.unnest($2::uuid[]),
                   pg_catalog.unnest($3::text[]),
                   pg_catalog.unnest($4::text[]),
                   pg_catalog.unnest($5::integer[]),
                   pg_catalog.unnest($6::timestamptz[]),
                   pg_catalog.unnest($7::text[]),
                   pg_catalog.unnest($8::timestamptz[]),
                   pg_catalog.unnest($9::integer[]),
                   pg_catalog.unnest($10::jsonb[]),
                   pg_catalog.unnest($11::text[]),
                   pg_catalog.unnest($12::integer[]),
                   pg_catalog.unnest($13::text[]),
                   pg_catalog.unnest($14::timestamptz[]),
                   pg_catalog.unnest($15::timestamptz[]),
                   pg_catalog.unnest($16::integer[]),
                   pg_catalog.unnest($17::timestamptz[])
               ) AS r (schedule_id, workflow_id, schedule_type, cron_expression, interval_seconds,
                       scheduled_time, timezone, next_execution_at, max_executions, context_data,
                       overlap, max_runtime_seconds, hook, start_at, end_at, grace_seconds, anchor_at)",
            &[
                take(&mut self.schedule_id).into(),
                take(&mut self.workflow_id).into(),
                take(&mut self.kind).into(),
                take(&mut self.cron_expression).into(),
                take(&mut self.interval_seconds).into(),
                take(&mut self.scheduled_time).into(),
                take(&mut self.timezone).into(),
                take(&mut self.next_execution_at).into(),
                take(&mut self.max_executions).into(),
                take(&mut self.context_data).into(),
                take(&mut self.overlap).into(),
                take(&mut self.max_runtime_seconds).into(),
                take(&mut self.hook).into(),
                take(&mut self.start_at).into(),
                take(&mut self.end_at).into(),
                take(&mut self.grace_seconds).into(),
                take(&mut self.anchor_at).into(),
                community_id.into(),
                user_id.into(),
                owner_role.into(),
            ],
        )
        .unwrap_or_else(|err| spi_failed(err));
    }
}

/// Locks the row for the rest of the transaction, so concurrent changes serialise.
pub fn lock_schedule(schedule_id: Uuid) -> Option<LockedSchedule> {
    // connect_mut: a read-only SPI connection refuses FOR UPDATE.
    Spi::connect_mut(|client| {
        let rows = client.update(
            "SELECT workflow_id, schedule_type, interval_seconds, anchor_at, community_id,
                    execution_count, is_active, owner_role::text, start_at, paused_at IS NOT NULL,
                    cron_expression, scheduled_time, timezone, end_at, max_executions
               FROM workflow_scheduler.workflow_schedules
              WHERE schedule_id OPERATOR(pg_catalog.=) $1
                FOR UPDATE",
            Some(1),
            &[schedule_id.into()],
        )?;
        let Some(row) = rows.into_iter().next() else {
            return Ok(None);
        };
        Ok::<_, pgrx::spi::Error>(Some(LockedSchedule {
            schedule_id,
            workflow_id: required(row.get(1)?),
            schedule_type: required(row.get(2)?),
            interval_seconds: row.get(3)?,
            anchor_at: required(row.get::<TimestampWithTimeZone>(4)?.and_then(to_utc)),
            community_id: row.get(5)?,
            execution_count: required(row.get(6)?),
            is_active: required(row.get(7)?),
            owner_role: required(row.get(8)?),
            start_at: row.get::<TimestampWithTimeZone>(9)?.and_then(to_utc),
            paused: required(row.get(10)?),
            cron_expression: row.get(11)?,
            scheduled_time: row.get::<TimestampWithTimeZone>(12)?.and_then(to_utc),
            timezone: required(row.get(13)?),
            end_at: row.get::<TimestampWithTimeZone>(14)?.and_then(to_utc),
            max_executions: row.get(15)?,
        }))
    })
    .unwrap_or_else(|err| spi_failed(err))
}

pub fn update_schedule(change: &ScheduleChange) -> JsonB {
    let [kind, cron, interval, time, zone, overlap, max_runtime, hook, start_at, end_at, grace] =
        config_params(change.config);
    // A buffered occurrence belongs to the old configuration: it no longer waits.
    Spi::get_one_with_args::<JsonB>(
        "UPDATE workflow_scheduler.workflow_schedules AS s
            SET schedule_type = $1, cron_expression = $2, interval_seconds = $3,
                scheduled_time = $4, timezone = $5,
                -- A paused schedule stays paused: schedule_resume computes its next time.
                next_execution_at = CASE WHEN s.paused_at IS NULL THEN $7 END,
                is_active = s.paused_at IS NULL AND $7 IS NOT NULL,
                max_executions = $8, anchor_at = $9,
                updated_by = $10, updated_at = pg_catalog.now(),
                overlap = $11, max_runtime_seconds = $12, hook = $13, buffered_for = NULL,
                removed_at = NULL,
                start_at = $14, end_at = $15, grace_seconds = $16
          WHERE schedule_id OPERATOR(pg_catalog.=) $6
         RETURNING workflow_scheduler.schedule_to_json(s)",
        &[
            kind,
            cron,
            interval,
            time,
            zone,
            change.schedule_id.into(),
            change.next_execution_at.map(from_utc).into(),
            change.config.max_executions.into(),
            from_utc(change.anchor_at).into(),
            change.user_id.into(),
            overlap,
            max_runtime,
            hook,
            start_at,
            end_at,
            grace,
        ],
    )
    .unwrap_or_else(|err| spi_failed(err))
    .unwrap_or_else(|| pgrx::error!("workflow_scheduler: UPDATE returned no row"))
}

/// Deactivates a locked schedule; an occurrence it held back no longer waits.
pub fn deactivate_schedule(schedule_id: Uuid, user_id: Option<i64>) {
    Spi::run_with_args(
        "UPDATE workflow_scheduler.workflow_schedules
            SET is_active = false, next_execution_at = NULL, buffered_for = NULL,
                paused_at = NULL, paused_by = NULL, pause_note = NULL,
                removed_at = COALESCE(removed_at, pg_catalog.now()),
                updated_by = $2, updated_at = pg_catalog.now()
          WHERE schedule_id OPERATOR(pg_catalog.=) $1",
        &[schedule_id.into(), user_id.into()],
    )
    .unwrap_or_else(|err| spi_failed(err));
}

/// The schedule as JSON, with its owner, or `None` if there is no such schedule.
pub fn schedule_json(schedule_id: Uuid) -> Option<(JsonB, String)> {
    let found = Spi::get_two_with_args::<JsonB, String>(
        "SELECT workflow_scheduler.schedule_to_json(s), s.owner_role::text
           FROM workflow_scheduler.workflow_schedules AS s
          WHERE schedule_id OPERATOR(pg_catalog.=) $1",
        &[schedule_id.into()],
    );
    match found {
        Ok((Some(json), Some(owner))) => Some((json, owner)),
        Ok(_) | Err(pgrx::spi::Error::InvalidPosition) => None,
        Err(err) => spi_failed(err),
    }
}

/// Pauses a locked schedule: inactive, no next time, nothing buffered. Pausing a paused one
/// keeps its `paused_at` and takes the new note.
pub fn pause_schedule(schedule_id: Uuid, note: Option<&str>, user_id: Option<i64>) -> JsonB {
    Spi::get_one_with_args::<JsonB>(
        "UPDATE workflow_scheduler.workflow_schedules AS s
            SET paused_at = COALESCE(s.paused_at, pg_catalog.now()), paused_by = $3, pause_note = $2,
                is_active = false, next_execution_at = NULL, buffered_for = NULL,
                updated_by = $3, updated_at = pg_catalog.now()
          WHERE schedule_id OPERATOR(pg_catalog.=) $1
         RETURNING workflow_scheduler.schedule_to_json(s)",
        &[schedule_id.into(), note.into(), user_id.into()],
    )
    .unwrap_or_else(|err| spi_failed(err))
    .unwrap_or_else(|| pgrx::error!("workflow_scheduler: UPDATE returned no row"))
}

/// Resumes a locked paused schedule at `next` (`None`: it has nothing left to fire and stays
/// finished).
pub fn resume_schedule(schedule_id: Uuid, next: Option<DateTime<Utc>>, user_id: Option<i64>) -> JsonB {
    Spi::get_one_with_args::<JsonB>(
        "UPDATE workflow_scheduler.workflow_schedules AS s
            SET paused_at = NULL, paused_by = NULL, pause_note = NULL,
                next_execution_at = $2, is_active = $2 IS NOT NULL,
                updated_by = $3, updated_at = pg_catalog.now()
          WHERE schedule_id OPERATOR(pg_catalog.=) $1
         RETURNING workflow_scheduler.schedule_to_json(s)",
        &[schedule_id.into(), next.map(from_utc).into(), user_id.into()],
    )
    .unwrap_or_else(|err| spi_failed(err))
    .unwrap_or_else(|| pgrx::error!("workflow_scheduler: UPDATE returned no row"))
}
