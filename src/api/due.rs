//! `schedule_check_due()`: one due pass in the caller's transaction, through the worker's code.

use pgrx::datum::TimestampWithTimeZone;
use pgrx::prelude::*;
use pgrx::Uuid;

use crate::api::enter;
use crate::firing::due_pass::{run_batch, PassSettings};
use crate::pg::access::with_extension_rights;
use crate::pg::time_conv::from_utc;

/// Runs one due pass now, in the caller's transaction, and returns what it fired. It drains
/// every due schedule the caller may see, one batch of `batch_size` at a time.
#[pg_extern(volatile, parallel_unsafe)]
#[search_path(pg_catalog, pg_temp)]
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
    let caller = enter();
    let owners = caller.visible_owners();
    let fired = with_extension_rights(|| {
        let mut fired = Vec::new();
        loop {
            let settings = PassSettings::from_gucs();
            let report = run_batch(&settings, owners.clone());
            fired.extend(report.fired.into_iter().map(|f| {
                (f.schedule_id, f.execution_id, f.workflow_id, from_utc(f.scheduled_for), from_utc(f.triggered_at))
            }));
            if (report.claimed as i64) < settings.batch_size {
                break fired;
            }
        }
    });
    TableIterator::new(fired)
}
