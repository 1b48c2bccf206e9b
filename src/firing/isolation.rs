//! The worker's due pass, isolated from faults: a failing batch is rolled back alone and
//! retried in halves until the failure is narrowed to one schedule; that schedule is
//! deactivated if the error is its fault (`scheduler_core::firing::faults`), otherwise the
//! failure is returned and the worker backs off. Healthy schedules keep firing meanwhile.

use pgrx::prelude::*;

use scheduler_core::firing::faults::{blames_the_row, smaller_batches};

use crate::firing::due_pass::{deactivate_broken, fire_claimed, run_batch, BatchReport, PassSettings};
use crate::guc;
use crate::pg::subxact::{in_subtransaction, Failure};
use crate::store::due::claim_due_rows;

/// Why a pass fired nothing and the worker should wait before the next one.
pub enum Hold {
    /// The NOTIFY queue is fuller than `workflow_scheduler.notify_queue_pause_at`: (usage,
    /// that setting). A full queue would make every NOTIFY fail.
    NotifyQueueFull(f64, f64),
    /// A failure that no single schedule is to blame for.
    Failed(Failure),
}

/// One due pass of the worker, in its transaction.
pub fn run_isolated(settings: &PassSettings) -> Result<BatchReport, Hold> {
    let (usage, pause_at) = (notify_queue_usage(), guc::notify_queue_pause_at());
    if usage > pause_at {
        return Err(Hold::NotifyQueueFull(usage, pause_at));
    }
    let first = match in_subtransaction(|| run_batch(settings, None)) {
        Ok(report) => return Ok(report),
        Err(failure) => failure,
    };
    // A failure no row can cause (a lock timeout, a full disk) would fail every smaller batch
    // too: hold off at once instead of retrying.
    if !blames_the_row(&first.sqlstate) {
        return Err(Hold::Failed(first));
    }
    pgrx::warning!(
        "workflow_scheduler: a due pass of up to {} schedules failed and was rolled back: {first}; retrying in smaller batches",
        settings.batch_size
    );
    for size in smaller_batches(settings.batch_size).filter(|&size| size > 1) {
        let smaller = PassSettings { batch_size: size, ..settings.clone() };
        if let Ok(report) = in_subtransaction(|| run_batch(&smaller, None)) {
            return Ok(BatchReport { narrowed: true, ..report });
        }
    }
    fire_one_or_blame_it(settings).map(|report| BatchReport { narrowed: true, ..report })
}

/// Fires the first due schedule alone. Its claim is committed into the surrounding
/// transaction, so it stays locked (ours) when the fire's subtransaction rolls back.
fn fire_one_or_blame_it(settings: &PassSettings) -> Result<BatchReport, Hold> {
    let claimed = in_subtransaction(|| claim_due_rows(settings.now, 1, None)).map_err(Hold::Failed)?;
    let Some(row) = claimed.into_iter().next() else {
        return Ok(BatchReport::default());
    };
    let suspect = row.clone();
    let failure = match in_subtransaction(|| fire_claimed(settings, vec![row])) {
        Ok(report) => return Ok(report),
        Err(failure) => failure,
    };
    if !blames_the_row(&failure.sqlstate) {
        return Err(Hold::Failed(failure));
    }
    let reason = format!("firing failed: {failure}");
    in_subtransaction(|| deactivate_broken(&suspect, &reason)).map_err(Hold::Failed)?;
    pgrx::warning!("workflow_scheduler: schedule {} deactivated: {reason}", suspect.schedule_id);
    Ok(BatchReport { claimed: 1, broken: 1, ..BatchReport::default() })
}

/// `pg_notification_queue_usage()`: the share of the NOTIFY queue in use, 0 to 1. Called
/// directly, without SQL: it runs before every pass.
fn notify_queue_usage() -> f64 {
    unsafe { pgrx::direct_function_call::<f64>(pg_sys::pg_notification_queue_usage, &[]) }.unwrap_or(0.0)
}
