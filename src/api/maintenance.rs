//! `run_maintenance()`: applies the retention settings now, instead of waiting for the worker,
//! which does the same in batches between its passes.

use pgrx::prelude::*;
use pgrx::JsonB;
use serde_json::json;

use scheduler_core::retention::MAX_BATCH_ROWS;
use scheduler_core::AuditEvent;

use crate::api::enter;
use crate::audit;
use crate::errors::{raise, ApiError};
use crate::guc;
use crate::pg::access::with_extension_rights;
use crate::store::retention::{delete_expired, Deleted};

/// Deletes every finished execution (with its deliveries) and audit row older than the
/// retention settings, batch after batch, and returns the counts. Administrators only: it
/// deletes every role's history.
#[pg_extern(volatile, parallel_unsafe)]
#[search_path(pg_catalog, pg_temp)]
fn run_maintenance() -> JsonB {
    let caller = enter();
    if !caller.is_admin() {
        raise(ApiError::AdminOnly("run_maintenance"));
    }
    let now = chrono::Utc::now();
    let total = with_extension_rights(|| {
        let mut total = Deleted::default();
        loop {
            let batch = delete_expired(guc::history_cutoff(now), guc::audit_cutoff(now), MAX_BATCH_ROWS);
            total.add(batch);
            if batch.executions < MAX_BATCH_ROWS && batch.audit_rows < MAX_BATCH_ROWS {
                break total;
            }
        }
    });
    let report = json!({
        "executions": total.executions,
        "deliveries": total.deliveries,
        "audit_log": total.audit_rows,
    });
    with_extension_rights(|| {
        audit::record(
            &AuditEvent::system("run_maintenance")
                .with("executions", total.executions)
                .with("deliveries", total.deliveries)
                .with("audit_log", total.audit_rows),
        )
    });
    JsonB(report)
}
