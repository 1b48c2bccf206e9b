//! Pure logic of `workflow_scheduler`: cron parsing and next-time search, time zones and DST,
//! interval grids, one-time schedules (`time`), config validation (`config`), the firing rules
//! of a due pass and of a schedule change (`firing`), audit events (`audit`), the trigger
//! payload (`payload`) and the pacing of the worker's retention batches (`retention`).
//!
//! Why a separate crate: none of this needs Postgres. Keeping it free of pgrx and Postgres
//! types makes it testable with plain `cargo test` (the conformance vectors, DST cases in
//! unusual zones, error messages, firing rules) and benchmarkable in-process
//! (`cargo run --release --example bench_next`). The extension is a thin layer that calls it.

pub mod audit;
mod config;
mod error;
pub mod firing;
mod payload;
pub mod retention;
mod time;

pub use audit::{AuditEvent, EventSinks, EventType, FireEvents};
pub use config::{validate_config, validate_context_data, ScheduleConfig, MAX_HOOK_NAME_BYTES, RESERVED_TRIGGER_KEYS};
pub use error::ScheduleError;
pub use firing::plan::{
    plan_broken, plan_create, plan_due, plan_extra_run, plan_resume, plan_update, DueSchedule, FirePlan,
    StoredSchedule, UpdatePlan,
};
pub use payload::{iso_utc, notify_payload, PayloadMode, TriggerKind};
pub use time::cache::CronCache;
pub use time::cron::CronSchedule;
pub use time::describe::{describe_cron, describe_rule};
pub use time::recurrence::{Recurrence, RecurrenceColumns, ScheduleKind};
pub use time::zone::parse_timezone;

// Re-exported so callers name exactly the types used in this API.
pub use chrono;
pub use chrono_tz;
