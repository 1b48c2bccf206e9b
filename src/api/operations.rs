//! Operations on a schedule besides its configuration (PRODUCT.md, "Operations"): pause with a
//! note, and resume.
//!
//! A paused schedule is inactive with no next time, so the worker and `schedule_check_due()`
//! pass it by without reading it; `schedule_update` keeps it paused. Resuming computes the next
//! time from the moment of the resume: what fell due during the pause is neither fired nor
//! recorded as missed.

use pgrx::prelude::*;
use pgrx::{JsonB, Uuid};

use scheduler_core::plan_resume;

use crate::api::enter;
use crate::api::schedules::{about, lock_visible, log_failure};
use crate::audit;
use crate::errors::{raise, ApiError};
use crate::pg::access::with_extension_rights;
use crate::pg::cron_cache::recurrence_of;
use crate::pg::shmem::wake_worker_on_commit;
use crate::pg::time_conv::transaction_now;
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
