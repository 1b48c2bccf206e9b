//! Operations on a schedule besides its configuration (PRODUCT.md, "Operations"): pause with a
//! note, resume, run now (`schedule_trigger`) and backfill.
//!
//! A paused schedule is inactive with no next time, so the worker and `schedule_check_due()`
//! pass it by without reading it; `schedule_update` keeps it paused. Resuming computes the next
//! time from the moment of the resume: what fell due during the pause is neither fired nor
//! recorded as missed.

use pgrx::prelude::*;
use pgrx::{JsonB, Uuid};

use chrono::{DateTime, Duration, Utc};
use pgrx::datum::TimestampWithTimeZone;
use serde_json::{json, Value};

use scheduler_core::firing::plan::Occurrence;
use scheduler_core::{iso_utc, plan_resume, validate_context_data, TriggerKind};

use crate::api::enter;
use crate::api::schedules::{about, lock_visible, log_failure, read_json};
use crate::audit;
use crate::errors::{raise, ApiError};
use crate::firing::due_pass::{fire_extra_run, PassSettings};
use crate::pg::access::with_extension_rights;
use crate::pg::cron_cache::recurrence_of;
use crate::pg::jsonb_arg::JsonbArg;
use crate::pg::shmem::wake_worker_on_commit;
use crate::pg::time_conv::to_utc;
use crate::pg::time_conv::transaction_now;
use crate::store::due::{lock_claimed, recorded_occurrences};
use crate::store::schedules as store;

/// Stops a schedule from firing and keeps when, by whom and why. Pausing a paused schedule
/// replaces the note; a finished or removed one is 55000.
#[pg_extern(volatile, parallel_unsafe)]
#[search_path(pg_catalog, pg_temp)]
fn schedule_pause(
    schedule_id: Option<Uuid>,
    note: default!(Option<&str>, "NULL"),
    user_id: default!(Option<i64>, "NULL"),
) -> JsonB {
    let caller = enter();
    with_extension_rights(|| {
        let current = lock_visible(schedule_id, &caller, "schedule_pause", user_id);
        if !current.is_active && !current.paused {
            let err = ApiError::ScheduleInactive(current.schedule_id.to_string());
            log_failure("schedule_pause", current.community_id, user_id, &err);
            raise(err);
        }
        let schedule = store::pause_schedule(current.schedule_id, note, user_id);
        audit::record(
            &about(&current, "schedule_pause", user_id).with("note", note).with("was_paused", current.paused),
        );
        schedule
    })
}

/// Fires again from the first occurrence after now. A schedule that is not paused is returned
/// unchanged (resuming is idempotent).
#[pg_extern(volatile, parallel_unsafe)]
#[search_path(pg_catalog, pg_temp)]
fn schedule_resume(schedule_id: Option<Uuid>, user_id: default!(Option<i64>, "NULL")) -> JsonB {
    let caller = enter();
    let now = transaction_now();
    let (schedule, next) = with_extension_rights(|| {
        let current = lock_visible(schedule_id, &caller, "schedule_resume", user_id);
        if !current.paused {
            let unchanged = store::schedule_json(current.schedule_id).map(|(json, _)| json);
            return (unchanged.unwrap_or_else(|| pgrx::error!("workflow_scheduler: schedule vanished")), None);
        }
        let next = recurrence_of(&current.recurrence_columns())
            .map(|recurrence| recurrence.windowed(current.start_at, current.end_at))
            .map(|recurrence| plan_resume(&recurrence, current.max_executions, current.execution_count, now))
            .unwrap_or_else(|err| {
                let err = ApiError::from(err);
                log_failure("schedule_resume", current.community_id, user_id, &err);
                raise(err)
            });
        let schedule = store::resume_schedule(current.schedule_id, next, user_id);
        audit::record(
            &about(&current, "schedule_resume", user_id)
                .with("next_execution_at", next.map(scheduler_core::iso_utc))
                .with("is_active", next.is_some()),
        );
        (schedule, next)
    });
    if let Some(next) = next {
        wake_worker_on_commit(next);
    }
    schedule
}

/// Most occurrences one backfill may fire.
const MAX_BACKFILL_RUNS: i32 = 10_000;
/// Most occurrences a backfill looks at, fired or not: bounds the work of a wide range.
const MAX_BACKFILL_SCAN: usize = 100_000;

/// Fires the schedule now, outside its grid: the next regular occurrence does not move, and
/// every call fires (a manual run never collides with an occurrence). `context_data` is merged
/// over the schedule's own. Returns the execution id (a `skipped` one when the overlap policy
/// says no). A finished or removed schedule is 55000; a paused one may be run.
#[pg_extern(volatile, parallel_unsafe)]
#[search_path(pg_catalog, pg_temp)]
fn schedule_trigger(
    schedule_id: Option<Uuid>,
    context_data: default!(Option<JsonbArg>, "'{}'"),
    user_id: default!(Option<i64>, "NULL"),
) -> Uuid {
    let caller = enter();
    let extra = read_json(context_data, "context_data", json!({}))
        .and_then(|context| validate_context_data(&context).map(|()| context))
        .unwrap_or_else(|err| {
            let err = ApiError::from(err);
            log_failure("schedule_trigger", None, user_id, &err);
            raise(err)
        });
    let Value::Object(extra) = extra else { unreachable!("validate_context_data admits objects only") };
    with_extension_rights(|| {
        let current = lock_visible(schedule_id, &caller, "schedule_trigger", user_id);
        if !current.is_active && !current.paused {
            let err = ApiError::ScheduleInactive(current.schedule_id.to_string());
            log_failure("schedule_trigger", current.community_id, user_id, &err);
            raise(err);
        }
        let row =
            lock_claimed(current.schedule_id).unwrap_or_else(|| pgrx::error!("workflow_scheduler: schedule vanished"));
        let settings = PassSettings::from_gucs();
        let (execution_id, occurrence) = fire_extra_run(&settings, row, TriggerKind::Manual, settings.now, &extra);
        audit::record(
            &about(&current, "schedule_trigger", user_id)
                .with("execution_id", execution_id.to_string())
                .with("fired", occurrence == Occurrence::Fired),
        );
        execution_id
    })
}

/// Fires, oldest first, every occurrence in `[start_at, end_at)` that has no execution yet
/// (the range must be in the past). More than `max_runs` of them is 22023 and fires nothing.
/// Returns how many fired (the overlap policy may skip some).
#[pg_extern(volatile, parallel_unsafe)]
#[search_path(pg_catalog, pg_temp)]
fn schedule_backfill(
    schedule_id: Option<Uuid>,
    start_at: Option<TimestampWithTimeZone>,
    end_at: Option<TimestampWithTimeZone>,
    max_runs: default!(Option<i32>, 100),
    user_id: default!(Option<i64>, "NULL"),
) -> i32 {
    let caller = enter();
    let now = Utc::now();
    let fail = |what: String| -> ! {
        let err = ApiError::InvalidArgument(what);
        log_failure("schedule_backfill", None, user_id, &err);
        raise(err)
    };
    let (Some(start), Some(end)) = (start_at.and_then(to_utc), end_at.and_then(to_utc)) else {
        fail("start_at and end_at must be finite timestamps".to_string());
    };
    let max_runs = max_runs.unwrap_or(100);
    if end <= start {
        fail("end_at must be after start_at".to_string());
    }
    if end > now {
        fail("end_at must not be in the future: a backfill fires past occurrences".to_string());
    }
    if !(1..=MAX_BACKFILL_RUNS).contains(&max_runs) {
        fail(format!("max_runs must be between 1 and {MAX_BACKFILL_RUNS}, got {max_runs}"));
    }
    with_extension_rights(|| {
        let current = lock_visible(schedule_id, &caller, "schedule_backfill", user_id);
        let recurrence = recurrence_of(&current.recurrence_columns())
            .map(|recurrence| recurrence.windowed(current.start_at, current.end_at))
            .unwrap_or_else(|err| raise(err.into()));
        let recorded = recorded_occurrences(current.schedule_id, start, end);
        let missing = occurrences_without_execution(&recurrence, start, end, &recorded, max_runs as usize)
            .unwrap_or_else(|too_many| fail(too_many));
        let settings = PassSettings { now, ..PassSettings::from_gucs() };
        let mut fired = 0;
        for at in &missing {
            let row = lock_claimed(current.schedule_id)
                .unwrap_or_else(|| pgrx::error!("workflow_scheduler: schedule vanished"));
            let (_, occurrence) = fire_extra_run(&settings, row, TriggerKind::Backfill, *at, &serde_json::Map::new());
            fired += i32::from(occurrence == Occurrence::Fired);
        }
        audit::record(
            &about(&current, "schedule_backfill", user_id)
                .with("start_at", iso_utc(start))
                .with("end_at", iso_utc(end))
                .with("occurrences_without_execution", missing.len())
                .with("fired", fired),
        );
        fired
    })
}

/// The occurrences in `[start, end)` not in `recorded`, oldest first; an error when there are
/// more than `max_runs` of them (or the range holds more than `MAX_BACKFILL_SCAN` occurrences).
fn occurrences_without_execution(
    recurrence: &scheduler_core::Recurrence,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    recorded: &std::collections::HashSet<i64>,
    max_runs: usize,
) -> Result<Vec<DateTime<Utc>>, String> {
    let mut missing = Vec::new();
    let mut after = start - Duration::microseconds(1);
    for _ in 0..MAX_BACKFILL_SCAN {
        let Some(at) = recurrence.next_after(after).filter(|at| *at < end) else {
            return Ok(missing);
        };
        if !recorded.contains(&at.timestamp_micros()) {
            missing.push(at);
            if missing.len() > max_runs {
                return Err(format!(
                    "more than {max_runs} occurrences between start_at and end_at have no execution; raise max_runs or narrow the range"
                ));
            }
        }
        after = at;
    }
    Err(format!("the range holds more than {MAX_BACKFILL_SCAN} occurrences; narrow it"))
}
