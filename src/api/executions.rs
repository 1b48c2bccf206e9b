//! The execution lifecycle (PRODUCT.md, "Execution lifecycle"): an engine claims executions
//! under a lease, extends the lease while it works, and reports the outcome. The execution row
//! is the durable hand-off; NOTIFY is only a hint.
//!
//! An execution outside the caller's reach answers exactly like an unknown one.

use pgrx::datum::{Interval, TimestampWithTimeZone};
use pgrx::prelude::*;
use pgrx::Uuid;

use crate::api::enter;
use crate::errors::{raise, ApiError};
use crate::firing::due_pass::completion_payload;
use crate::guc;
use crate::pg::access::{with_extension_rights, Caller};
use crate::pg::jsonb_arg::JsonbArg;
use crate::pg::shmem::wake_worker_on_commit;
use crate::pg::time_conv::transaction_now;
use crate::store::due::notify;
use crate::store::executions::{self as store, ClaimFrom, LockedExecution};

/// The most executions one claim returns.
const MAX_CLAIM_ROWS: i32 = 10_000;
/// The longest lease: an engine that needs more heartbeats.
const MAX_LEASE_DAYS: i128 = 7;

/// Takes up to `max_rows` executions to run: running ones whose lease expired first, then the
/// oldest triggered ones. Each is marked `running` until `now() + lease`; `attempt` counts
/// claims. Concurrent callers never get the same execution.
#[pg_extern(volatile, parallel_unsafe)]
#[search_path(pg_catalog, pg_temp)]
fn execution_claim(
    max_rows: default!(Option<i32>, 1),
    lease: default!(Option<Interval>, "'5 minutes'"),
    claimed_by: default!(Option<&str>, "NULL"),
) -> TableIterator<
    'static,
    (
        name!(execution_id, Uuid),
        name!(schedule_id, Uuid),
        name!(workflow_id, Uuid),
        name!(scheduled_for, TimestampWithTimeZone),
        name!(attempt, i32),
        name!(trigger_data, pgrx::JsonB),
    ),
> {
    let caller = enter();
    let max_rows = max_rows.unwrap_or(1);
    if !(1..=MAX_CLAIM_ROWS).contains(&max_rows) {
        raise(ApiError::InvalidArgument(format!("max_rows must be between 1 and {MAX_CLAIM_ROWS}, got {max_rows}")));
    }
    let lease = valid_lease(lease);
    let owners = caller.visible_owners();
    let claimed = with_extension_rights(|| {
        let mut claimed = store::claim(ClaimFrom::ExpiredLeases, max_rows.into(), lease, claimed_by, owners.clone());
        let room = i64::from(max_rows) - claimed.len() as i64;
        if room > 0 {
            claimed.extend(store::claim(ClaimFrom::Triggered, room, lease, claimed_by, owners));
        }
        claimed
    });
    TableIterator::new(
        claimed
            .into_iter()
            .map(|c| (c.execution_id, c.schedule_id, c.workflow_id, c.scheduled_for, c.attempt, c.trigger_data)),
    )
}

/// Extends a running execution's lease to `now() + lease`. False when it is not running (it
/// finished, timed out, or was never claimed).
#[pg_extern(volatile, parallel_unsafe)]
#[search_path(pg_catalog, pg_temp)]
fn execution_heartbeat(execution_id: Option<Uuid>, lease: default!(Option<Interval>, "'5 minutes'")) -> bool {
    let caller = enter();
    let lease = valid_lease(lease);
    with_extension_rights(|| {
        let (execution_id, execution) = lock_visible(execution_id, &caller);
        let running = execution.status == "running";
        if running {
            store::extend_lease(execution_id, lease);
        }
        running
    })
}

/// Records an execution's outcome, `completed` or `failed`, from `triggered` (an engine that
/// only LISTENs need not claim) or `running`. True if this call finished it; false if it had
/// already finished with the same status. Announced on `completion_channel`.
#[pg_extern(volatile, parallel_unsafe)]
#[search_path(pg_catalog, pg_temp)]
fn execution_complete(
    execution_id: Option<Uuid>,
    status: Option<&str>,
    result: default!(Option<JsonbArg>, "NULL"),
) -> bool {
    let caller = enter();
    let status = match status {
        Some(status @ ("completed" | "failed")) => status,
        other => raise(ApiError::InvalidArgument(format!(
            "status must be completed or failed, got {}",
            other.map_or_else(|| "NULL".to_string(), |s| format!("'{s}'"))
        ))),
    };
    let result = result
        .map(|arg| arg.read("result").map(pgrx::JsonB).unwrap_or_else(|err| raise(ApiError::InvalidArgument(err))));
    with_extension_rights(|| {
        let (execution_id, execution) = lock_visible(execution_id, &caller);
        match execution.status.as_str() {
            "triggered" | "running" => {}
            finished if finished == status => return false,
            finished => raise(ApiError::ExecutionFinished(execution_id.to_string(), finished.to_string())),
        }
        store::finish(execution_id, status, result);
        notify(
            &guc::completion_channel(),
            vec![completion_payload(&execution_id.to_string(), &execution.schedule_id.to_string(), status)],
        );
        if execution.schedule_buffers {
            // The occurrence held back for this execution may fire now.
            wake_worker_on_commit(transaction_now());
        }
        true
    })
}

/// Locks the execution if the caller may operate it; otherwise fails as if it did not exist.
fn lock_visible(execution_id: Option<Uuid>, caller: &Caller) -> (Uuid, LockedExecution) {
    let not_found = || -> ! {
        raise(ApiError::ExecutionNotFound(execution_id.map_or_else(|| "NULL".to_string(), |id| id.to_string())))
    };
    let Some(id) = execution_id else { not_found() };
    match store::lock_execution(id) {
        Some(execution) if caller.may_access(Some(&execution.owner_role)) => (id, execution),
        _ => not_found(),
    }
}

/// A lease longer than zero and at most a week.
fn valid_lease(lease: Option<Interval>) -> Interval {
    let Some(lease) = lease else {
        raise(ApiError::InvalidArgument("lease must not be NULL".to_string()));
    };
    let week = MAX_LEASE_DAYS * 24 * 3600 * 1_000_000;
    if lease.as_micros() <= 0 || lease.as_micros() > week {
        raise(ApiError::InvalidArgument(format!("lease must be longer than 0 and at most {MAX_LEASE_DAYS} days")));
    }
    lease
}
