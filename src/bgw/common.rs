//! What every background worker of the extension does alike: connect with a search_path no one
//! else controls, report statistics and activity like any backend, and check that the installed
//! extension is the one this library was built for.

use std::ffi::CStr;
use std::time::Duration;

use pgrx::bgworkers::{BackgroundWorker, SignalWakeFlags};
use pgrx::pg_sys;

use crate::store;

/// Attaches the signal handlers and connects to `database` as the bootstrap superuser, with
/// `search_path = pg_catalog, pg_temp` for everything the worker runs.
pub fn connect(database: &str) {
    BackgroundWorker::attach_signal_handlers(SignalWakeFlags::SIGHUP | SignalWakeFlags::SIGTERM);
    BackgroundWorker::connect_worker_to_spi(Some(database), None);
    unsafe {
        pg_sys::SetConfigOption(
            c"search_path".as_ptr(),
            c"pg_catalog, pg_temp".as_ptr(),
            pg_sys::GucContext::PGC_SUSET,
            pg_sys::GucSource::PGC_S_OVERRIDE,
        );
    }
}

/// Hands the statistics of the transactions committed so far to the cumulative statistics
/// system, so that autovacuum sees the worker's writes. Call outside a transaction. Without
/// `force`, Postgres flushes at most once a second; force it before a long sleep.
pub fn report_stats(before_sleeping: Duration) {
    unsafe { pg_sys::pgstat_report_stat(before_sleeping >= Duration::from_secs(1)) };
}

/// What `pg_stat_activity` shows for this worker.
pub fn report_activity(running: bool, what: &CStr) {
    let state = if running { pg_sys::BackendState::STATE_RUNNING } else { pg_sys::BackendState::STATE_IDLE };
    unsafe { pg_sys::pgstat_report_activity(state, what.as_ptr()) };
}

/// The extension as installed in the worker's database.
pub enum Installed {
    Missing,
    /// Installed at the library's version.
    Matching,
    /// Installed at another version (the library was upgraded; `ALTER EXTENSION ... UPDATE`
    /// has not run yet, or the server still runs an older library).
    Other(String),
}

/// Needs a transaction.
pub fn installed_extension() -> Installed {
    match store::extension::installed_version() {
        None => Installed::Missing,
        Some(version) if version == env!("CARGO_PKG_VERSION") => Installed::Matching,
        Some(version) => Installed::Other(version),
    }
}
