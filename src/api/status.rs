//! `scheduler_status()`: the scheduler's health in one JSON value, for a DBA in psql and for
//! monitoring. Fires and lateness come from what the worker records in shared memory
//! (`pg::fire_stats`), not from scanning the history; counts from the tables are what the
//! caller may see (row-level security applies).

use chrono::Utc;
use pgrx::prelude::*;
use pgrx::JsonB;
use serde_json::{json, Value};

use crate::api::enter;
use crate::guc;
use crate::pg::fire_stats::{quantile, recent};
use crate::pg::shmem;

/// The workers, recent fires and their lateness, what is due and not yet fired, pending
/// deliveries, NOTIFY queue usage, the last error and any hold-off.
#[pg_extern(volatile, parallel_unsafe)]
#[search_path(pg_catalog, pg_temp)]
fn scheduler_status() -> JsonB {
    enter();
    let now = Utc::now();
    let fires = recent(now);
    let lateness = json!({
        "p50": quantile(&fires.lateness_ms, 0.50),
        "p99": quantile(&fires.lateness_ms, 0.99),
        "max": fires.lateness_ms.last(),
        "samples": fires.lateness_ms.len(),
        "sampled": fires.sampled,
    });
    let hold = shmem::last_hold().map(|(at, until, sqlstate)| {
        json!({
            "at": scheduler_core::iso_utc(at),
            "until": scheduler_core::iso_utc(until),
            "active": until > now,
            "reason": if sqlstate == 0 { "NOTIFY queue over workflow_scheduler.notify_queue_pause_at".to_string() } else { format!("SQLSTATE {}", unpack_sqlstate(sqlstate)) },
        })
    });
    // NULL when that database has been dropped since.
    let unserved = shmem::unserved_database().and_then(|oid| {
        let name = unsafe { pg_sys::get_database_name(oid) };
        (!name.is_null()).then(|| unsafe { std::ffi::CStr::from_ptr(name) }.to_string_lossy().into_owned())
    });
    let from_tables = Spi::get_one::<JsonB>(
        "SELECT pg_catalog.jsonb_build_object(
             'workers', (SELECT COALESCE(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                             'type', a.backend_type, 'pid', a.pid, 'state', a.state,
                             'started_at', a.backend_start, 'activity', a.query,
                             'state_since', a.state_change) ORDER BY a.backend_type), '[]')
                           FROM pg_catalog.pg_stat_activity AS a
                          WHERE a.backend_type IN ('workflow_scheduler', 'workflow_scheduler delivery')),
             'due_not_fired', (SELECT pg_catalog.count(*) FROM workflow_scheduler.workflow_schedules
                                WHERE is_active AND next_execution_at OPERATOR(pg_catalog.<=) pg_catalog.now()),
             'executions_not_taken', (SELECT pg_catalog.count(*) FROM workflow_scheduler.workflow_schedule_executions
                                       WHERE status = 'triggered'),
             'pending_deliveries', (SELECT pg_catalog.count(*) FROM workflow_scheduler.deliveries WHERE status = 'pending'),
             'oldest_pending_delivery_seconds',
                 (SELECT EXTRACT(epoch FROM pg_catalog.now() OPERATOR(pg_catalog.-) pg_catalog.min(created_at))
                    FROM workflow_scheduler.deliveries WHERE status = 'pending'),
             'notify_queue_usage', pg_catalog.pg_notification_queue_usage(),
             'last_error', (SELECT pg_catalog.jsonb_build_object('at', logged_at, 'action', action, 'details', details)
                              FROM workflow_scheduler.audit_log WHERE event_type = 'ERROR'
                             ORDER BY logged_at DESC LIMIT 1))",
    )
    .unwrap_or_else(|err| crate::pg::spi::spi_failed(err))
    .map(|j| j.0)
    .unwrap_or(Value::Null);
    let mut status = json!({
        "version": env!("CARGO_PKG_VERSION"),
        "enabled": guc::enabled(),
        "database": guc::database_name(),
        "last_pass_at": fires.last_pass_at.map(scheduler_core::iso_utc),
        "fires_last_minute": fires.fires_last_minute,
        "lateness_ms_last_5_minutes": lateness,
        "hold": hold,
        "unserved_database": unserved,
    });
    if let (Value::Object(status), Value::Object(tables)) = (&mut status, from_tables) {
        status.extend(tables);
    }
    JsonB(status)
}

/// Postgres packs a SQLSTATE's five characters six bits each (`MAKE_SQLSTATE`).
fn unpack_sqlstate(packed: i32) -> String {
    (0..5).map(|i| char::from(((packed >> (6 * i)) & 0x3f) as u8 + b'0')).collect()
}
