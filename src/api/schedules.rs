//! The SQL functions application code and DBAs call: add, update, remove, get and preview.
//!
//! Each one validates everything before it writes anything, so a failing call leaves no row.

use chrono::{DateTime, Utc};
use pgrx::datum::TimestampWithTimeZone;
use pgrx::prelude::*;
use pgrx::{JsonB, Uuid};
use serde_json::{json, Value};

use scheduler_core::{
    validate_config, validate_context_data, RecurrenceColumns, ScheduleConfig, ScheduleError, ScheduleKind,
};

use crate::audit::{AuditEvent, EventType};
use crate::cron_cache::{recurrence_of, with_cron_cache};
use crate::errors::{raise, ApiError, OrRaise};
use crate::time_conv::{from_utc, to_utc, transaction_now};
use crate::{due_pass, guc, store, wakeup};

/// Creates a schedule and returns it as JSON.
#[pg_extern(volatile, parallel_unsafe)]
fn schedule_add(
    workflow_id: Option<Uuid>,
    schedule_config: Option<JsonB>,
    user_id: Option<i64>,
    community_id: Option<i64>,
    context_data: default!(Option<JsonB>, "'{}'"),
) -> JsonB {
    let now = transaction_now();
    let failure = |err: ApiError| -> ! {
        audit_failure("schedule_create", community_id, user_id, &err);
        raise(err)
    };
    let Some(workflow_id) = workflow_id else {
        failure(invalid("workflow_id must not be null"));
    };
    let context = context_data.map_or_else(|| json!({}), |c| c.0);
    let (config, next) = match validate_context_data(&context)
        .and_then(|()| plan_schedule(schedule_config, now, now))
    {
        Ok(planned) => planned,
        Err(err) => failure(err.into()),
    };

    let schedule = store::insert_schedule(&store::NewSchedule {
        workflow_id,
        config: &config,
        next_execution_at: next.map(from_utc),
        context_data: context,
        community_id,
        user_id,
    });

    AuditEvent {
        event_type: EventType::Audit,
        community_id,
        user_id,
        action: "schedule_create",
        result: "SUCCESS",
        details: vec![
            ("schedule_id", schedule.0["schedule_id"].clone()),
            ("workflow_id", json!(workflow_id.to_string())),
            ("schedule_type", json!(config.kind.as_str())),
        ],
    }
    .record();
    if let Some(next) = next {
        wakeup::wake_worker_on_commit(next);
    }
    schedule
}

/// Replaces a schedule's configuration and recomputes its next execution.
///
/// The schedule becomes active again (this is how a removed or finished schedule is resumed),
/// unless `execution_count` has already reached the new `max_executions`. An interval schedule
/// whose `interval_seconds` does not change keeps its grid; any other change restarts the grid
/// at the time of the update.
#[pg_extern(volatile, parallel_unsafe)]
fn schedule_update(schedule_id: Option<Uuid>, schedule_config: Option<JsonB>, user_id: Option<i64>) -> JsonB {
    let now = transaction_now();
    let Some(current) = schedule_id.and_then(store::lock_schedule) else {
        let err = not_found(schedule_id);
        audit_failure("schedule_update", None, user_id, &err);
        raise(err);
    };
    let schedule_id = current.schedule_id;

    let keeps_grid = |config: &ScheduleConfig| {
        current.schedule_type == ScheduleKind::Interval.as_str()
            && config.kind == ScheduleKind::Interval
            && config.interval_seconds == current.interval_seconds
    };
    let planned = match parse_config(schedule_config, now) {
        Ok(config) => {
            let anchor = if keeps_grid(&config) { current.anchor_at } else { now };
            next_execution(&config, anchor, now).map(|next| (config, next, anchor))
        }
        Err(err) => Err(err),
    };
    let (config, next, anchor) = match planned {
        Ok(planned) => planned,
        Err(err) => {
            let err = ApiError::from(err);
            audit_failure("schedule_update", current.community_id, user_id, &err);
            raise(err)
        }
    };
    let limit_reached = config.max_executions.is_some_and(|max| current.execution_count >= max);
    let next = if limit_reached { None } else { next };

    let schedule = store::update_schedule(&store::ScheduleChange {
        schedule_id,
        config: &config,
        next_execution_at: next.map(from_utc),
        anchor_at: anchor,
        user_id,
    });

    AuditEvent {
        event_type: EventType::Audit,
        community_id: current.community_id,
        user_id,
        action: "schedule_update",
        result: "SUCCESS",
        details: vec![
            ("schedule_id", json!(schedule_id.to_string())),
            ("workflow_id", json!(current.workflow_id.to_string())),
            ("schedule_type", json!(config.kind.as_str())),
            ("is_active", json!(next.is_some())),
        ],
    }
    .record();
    if let Some(next) = next {
        wakeup::wake_worker_on_commit(next);
    }
    schedule
}

/// Deactivates a schedule and keeps its row for history. Returns true when it was active.
#[pg_extern(volatile, parallel_unsafe)]
fn schedule_remove(schedule_id: Option<Uuid>, user_id: Option<i64>) -> bool {
    let Some(removed) = schedule_id.and_then(|id| store::deactivate_schedule(id, user_id)) else {
        let err = not_found(schedule_id);
        audit_failure("schedule_remove", None, user_id, &err);
        raise(err);
    };
    AuditEvent {
        event_type: EventType::Audit,
        community_id: removed.community_id,
        user_id,
        action: "schedule_remove",
        result: "SUCCESS",
        details: vec![
            ("schedule_id", json!(removed.schedule_id.to_string())),
            ("workflow_id", json!(removed.workflow_id.to_string())),
            ("was_active", json!(removed.was_active)),
        ],
    }
    .record();
    removed.was_active
}

/// One schedule, in the same JSON shape as `schedule_add` returns.
#[pg_extern(stable, parallel_safe)]
fn schedule_get(schedule_id: Option<Uuid>) -> JsonB {
    schedule_id.and_then(store::schedule_json).unwrap_or_else(|| raise(not_found(schedule_id)))
}

/// The first occurrence strictly after `after`, or NULL if there is none. Writes nothing.
#[pg_extern(stable, parallel_safe)]
fn schedule_next(
    schedule_type: Option<&str>,
    cron_expression: default!(Option<&str>, "NULL"),
    interval_seconds: default!(Option<i32>, "NULL"),
    scheduled_time: default!(Option<TimestampWithTimeZone>, "NULL"),
    timezone: default!(Option<&str>, "'UTC'"),
    after: default!(Option<TimestampWithTimeZone>, "now()"),
) -> Option<TimestampWithTimeZone> {
    let Some(after) = after else {
        return None;
    };
    let Some(after) = to_utc(after) else {
        // +infinity has nothing after it; -infinity has no first occurrence to speak of.
        if after.is_infinity() {
            return None;
        }
        raise(invalid("after must not be -infinity"));
    };
    let scheduled_time = match scheduled_time.map(to_utc) {
        Some(None) => raise(invalid("scheduled_time must be a finite timestamp")),
        Some(Some(at)) => Some(at),
        None => None,
    };
    let recurrence = recurrence_of(&RecurrenceColumns {
        schedule_type: schedule_type.unwrap_or_default(),
        cron_expression,
        interval_seconds,
        scheduled_time,
        timezone: timezone.unwrap_or("UTC"),
        // For an interval, `after` is the anchor: the answer is after + interval_seconds.
        anchor_at: Some(after),
    })
    .or_raise();
    recurrence.next_after(after).map(from_utc)
}

/// Validates `schedule_config` and computes the first execution for a schedule anchored at `anchor`.
fn plan_schedule(
    schedule_config: Option<JsonB>,
    now: DateTime<Utc>,
    anchor: DateTime<Utc>,
) -> Result<(ScheduleConfig, Option<DateTime<Utc>>), ScheduleError> {
    let config = parse_config(schedule_config, now)?;
    let next = next_execution(&config, anchor, now)?;
    Ok((config, next))
}

fn parse_config(schedule_config: Option<JsonB>, now: DateTime<Utc>) -> Result<ScheduleConfig, ScheduleError> {
    let config = schedule_config.map_or(Value::Null, |c| c.0);
    validate_config(&config, &guc::default_timezone(), now)
}

fn next_execution(
    config: &ScheduleConfig,
    anchor: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, ScheduleError> {
    let recurrence = with_cron_cache(|cache| config.recurrence(cache, anchor))?;
    Ok(recurrence.next_after(now))
}

fn invalid(what: &str) -> ApiError {
    ApiError::Invalid(ScheduleError::InvalidConfig(what.to_string()))
}

fn not_found(schedule_id: Option<Uuid>) -> ApiError {
    ApiError::NotFound(schedule_id.map_or_else(|| "NULL".to_string(), |id| id.to_string()))
}

/// Logs a failed operation. Only the log line survives: the transaction rolls back.
fn audit_failure(action: &'static str, community_id: Option<i64>, user_id: Option<i64>, err: &ApiError) {
    AuditEvent {
        event_type: EventType::Audit,
        community_id,
        user_id,
        action,
        result: "FAILURE",
        details: vec![("error", json!(err.to_string()))],
    }
    .log();
}

/// Runs one due pass now, in the caller's transaction, through the worker's code, and returns
/// what it fired. It drains every due schedule, one batch of `batch_size` at a time.
#[pg_extern(volatile, parallel_unsafe)]
fn schedule_check_due() -> TableIterator<
    'static,
    (
        name!(schedule_id, Uuid),
        name!(execution_id, Uuid),
        name!(workflow_id, Uuid),
        name!(scheduled_for, TimestampWithTimeZone),
        name!(triggered_at, TimestampWithTimeZone),
    ),
> {
    let mut fired = Vec::new();
    loop {
        let settings = due_pass::PassSettings::now();
        let report = due_pass::run_batch(&settings);
        fired.extend(report.fired.into_iter().map(|f| {
            (f.schedule_id, f.execution_id, f.workflow_id, from_utc(f.scheduled_for), from_utc(f.triggered_at))
        }));
        if (report.claimed as i64) < settings.batch_size {
            break;
        }
    }
    TableIterator::new(fired)
}
