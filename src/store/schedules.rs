//! The SQL statements that read and write `workflow_schedules` for the API.
//!
//! Every statement is parameterised; no user input is ever formatted into SQL text.

use chrono::{DateTime, Utc};
use pgrx::datum::TimestampWithTimeZone;
use pgrx::prelude::*;
use pgrx::{JsonB, Uuid};
use serde_json::Value;

use scheduler_core::ScheduleConfig;

use crate::time_conv::{from_utc, to_utc};

pub struct NewSchedule<'a> {
    pub workflow_id: Uuid,
    pub config: &'a ScheduleConfig,
    pub next_execution_at: Option<TimestampWithTimeZone>,
    pub context_data: Value,
    pub community_id: Option<i64>,
    pub user_id: Option<i64>,
}

pub struct ScheduleChange<'a> {
    pub schedule_id: Uuid,
    pub config: &'a ScheduleConfig,
    pub next_execution_at: Option<TimestampWithTimeZone>,
    pub anchor_at: DateTime<Utc>,
    pub user_id: Option<i64>,
}

/// What `schedule_update` needs to know about the row it replaces.
pub struct CurrentSchedule {
    pub schedule_id: Uuid,
    pub workflow_id: Uuid,
    pub schedule_type: String,
    pub interval_seconds: Option<i32>,
    pub anchor_at: DateTime<Utc>,
    pub community_id: Option<i64>,
    pub execution_count: i32,
}

pub struct RemovedSchedule {
    pub schedule_id: Uuid,
    pub workflow_id: Uuid,
    pub community_id: Option<i64>,
    pub was_active: bool,
}

fn spi_failed(err: pgrx::spi::Error) -> ! {
    pgrx::error!("workflow_scheduler: internal SPI failure: {err}")
}

pub fn insert_schedule(new: &NewSchedule) -> JsonB {
    let config = new.config;
    Spi::get_one_with_args::<JsonB>(
        "INSERT INTO workflow_scheduler.workflow_schedules AS s
             (workflow_id, schedule_type, cron_expression, interval_seconds, scheduled_time,
              timezone, next_execution_at, is_active, max_executions, context_data,
              community_id, created_by, updated_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7 IS NOT NULL, $8, $9, $10, $11, $11)
         RETURNING workflow_scheduler.schedule_to_json(s)",
        &[
            new.workflow_id.into(),
            config.kind.as_str().into(),
            config.cron_expression.as_deref().into(),
            config.interval_seconds.into(),
            config.scheduled_time.map(from_utc).into(),
            config.timezone.as_str().into(),
            new.next_execution_at.into(),
            config.max_executions.into(),
            JsonB(new.context_data.clone()).into(),
            new.community_id.into(),
            new.user_id.into(),
        ],
    )
    .unwrap_or_else(|err| spi_failed(err))
    .unwrap_or_else(|| pgrx::error!("workflow_scheduler: INSERT returned no row"))
}

/// Locks the row for the rest of the transaction, so concurrent updates serialise.
pub fn lock_schedule(schedule_id: Uuid) -> Option<CurrentSchedule> {
    // connect_mut: a read-only SPI connection refuses FOR UPDATE.
    Spi::connect_mut(|client| {
        let rows = client.update(
            "SELECT schedule_id, workflow_id, schedule_type, interval_seconds, anchor_at,
                    community_id, execution_count
               FROM workflow_scheduler.workflow_schedules
              WHERE schedule_id = $1
                FOR UPDATE",
            Some(1),
            &[schedule_id.into()],
        )?;
        let Some(row) = rows.into_iter().next() else {
            return Ok(None);
        };
        Ok::<_, pgrx::spi::Error>(Some(CurrentSchedule {
            schedule_id: row.get(1)?.unwrap_or(schedule_id),
            workflow_id: row.get(2)?.unwrap_or(schedule_id),
            schedule_type: row.get(3)?.unwrap_or_default(),
            interval_seconds: row.get(4)?,
            anchor_at: row.get::<TimestampWithTimeZone>(5)?.and_then(to_utc).unwrap_or_default(),
            community_id: row.get(6)?,
            execution_count: row.get(7)?.unwrap_or(0),
        }))
    })
    .unwrap_or_else(|err| spi_failed(err))
}

pub fn update_schedule(change: &ScheduleChange) -> JsonB {
    let config = change.config;
    Spi::get_one_with_args::<JsonB>(
        "UPDATE workflow_scheduler.workflow_schedules AS s
            SET schedule_type = $2, cron_expression = $3, interval_seconds = $4,
                scheduled_time = $5, timezone = $6, next_execution_at = $7,
                is_active = $7 IS NOT NULL, max_executions = $8, anchor_at = $9,
                updated_by = $10, updated_at = now()
          WHERE schedule_id = $1
         RETURNING workflow_scheduler.schedule_to_json(s)",
        &[
            change.schedule_id.into(),
            config.kind.as_str().into(),
            config.cron_expression.as_deref().into(),
            config.interval_seconds.into(),
            config.scheduled_time.map(from_utc).into(),
            config.timezone.as_str().into(),
            change.next_execution_at.into(),
            config.max_executions.into(),
            from_utc(change.anchor_at).into(),
            change.user_id.into(),
        ],
    )
    .unwrap_or_else(|err| spi_failed(err))
    .unwrap_or_else(|| pgrx::error!("workflow_scheduler: UPDATE returned no row"))
}

pub fn deactivate_schedule(schedule_id: Uuid, user_id: Option<i64>) -> Option<RemovedSchedule> {
    Spi::connect_mut(|client| {
        let rows = client.update(
            "UPDATE workflow_scheduler.workflow_schedules AS s
                SET is_active = false, next_execution_at = NULL, updated_by = $2, updated_at = now()
               FROM (SELECT schedule_id, is_active
                       FROM workflow_scheduler.workflow_schedules
                      WHERE schedule_id = $1
                        FOR UPDATE) AS before
              WHERE s.schedule_id = before.schedule_id
          RETURNING s.workflow_id, s.community_id, before.is_active",
            Some(1),
            &[schedule_id.into(), user_id.into()],
        )?;
        let Some(row) = rows.into_iter().next() else {
            return Ok(None);
        };
        Ok::<_, pgrx::spi::Error>(Some(RemovedSchedule {
            schedule_id,
            workflow_id: row.get(1)?.unwrap_or(schedule_id),
            community_id: row.get(2)?,
            was_active: row.get(3)?.unwrap_or(false),
        }))
    })
    .unwrap_or_else(|err| spi_failed(err))
}

pub fn schedule_json(schedule_id: Uuid) -> Option<JsonB> {
    optional_row(Spi::get_one_with_args::<JsonB>(
        "SELECT workflow_scheduler.schedule_to_json(s)
           FROM workflow_scheduler.workflow_schedules AS s
          WHERE schedule_id = $1",
        &[schedule_id.into()],
    ))
}

/// `get_one` reports "no row" as an error; here it simply means the schedule does not exist.
fn optional_row<T>(result: Result<Option<T>, pgrx::spi::Error>) -> Option<T> {
    match result {
        Ok(value) => value,
        Err(pgrx::spi::Error::InvalidPosition) => None,
        Err(err) => spi_failed(err),
    }
}
