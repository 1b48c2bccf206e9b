//! Audit events (built by `scheduler_core::audit`) written out: a server log line in the
//! seed's format and, in the caller's transaction, an `audit_log` row.

use scheduler_core::AuditEvent;

use crate::store;

const MODULE: &str = concat!("workflow_scheduler:", env!("CARGO_PKG_VERSION"));

/// Writes the log line only: for failures, whose transaction is about to roll back.
pub fn log(event: &AuditEvent) {
    crate::pg::compat::log(event.log_line(MODULE));
}

/// Writes the log line and the `audit_log` row.
pub fn record(event: &AuditEvent) {
    log(event);
    store::audit::insert(event);
}
