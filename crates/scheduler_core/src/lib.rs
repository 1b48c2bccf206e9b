//! Pure time logic of `workflow_scheduler`: cron parsing and next-time search, time zones
//! and DST, interval grids, one-time schedules, config validation, the grace/coalescing
//! decision of a due pass, and the trigger payload.
//!
//! Why a separate crate: none of this needs Postgres. Keeping it free of pgrx and Postgres
//! types makes it testable with plain `cargo test` (the conformance vectors, DST cases in
//! unusual zones, error messages) and benchmarkable in-process
//! (`cargo run --release --example bench_next`). The extension is a thin layer that calls it.

mod cache;
mod config;
mod cron;
mod error;
mod grace;
mod payload;
mod recurrence;
mod zone;

pub use cache::CronCache;
pub use config::{
    parse_scheduled_time, validate_config, validate_context_data, ScheduleConfig, CONFIG_KEYS,
    RESERVED_TRIGGER_KEYS,
};
pub use cron::CronSchedule;
pub use error::ScheduleError;
pub use grace::{decide_due, DueDecision, DueOutcome, COALESCE_COUNT_CAP};
pub use payload::{build_trigger_data, iso_utc, notify_payload, NOTIFY_PAYLOAD_LIMIT};
pub use recurrence::{Recurrence, RecurrenceColumns, ScheduleKind};
pub use zone::{first_instant_after_gap, parse_timezone, resolve_local};

// Re-exported so callers name exactly the types used in this API.
pub use chrono;
pub use chrono_tz;
