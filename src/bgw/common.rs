//! What every background worker of the extension does alike: connect with a search_path no one
//! else controls, report statistics and activity like any backend, and check that the installed
//! extension is the one this library was built for.

use std::ffi::CStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use pgrx::bgworkers::{BackgroundWorker, SignalWakeFlags};
use pgrx::pg_sys;

use crate::store;

/// How long the worker waits for a lock before its pass fails (and is retried after a
/// backoff). SIGTERM only sets a flag, which a lock wait does not see: without a timeout a DBA's
/// `LOCK TABLE` would make the worker deaf to `pg_terminate_backend` until the lock is released.
const LOCK_TIMEOUT: &std::ffi::CStr = c"5s";

/// Attaches the signal handlers and connects to `database` as the bootstrap superuser, with
/// `search_path = pg_catalog, pg_temp`, a lock timeout and no JIT for everything the worker runs.
/// All override any `ALTER DATABASE` or `ALTER ROLE` setting. JIT is compiled on every
/// execution of a plan whose estimated cost passes `jit_above_cost`, and the worker's
/// statements are small: a misestimate (a generic plan of the claim over 1,000,000 rows is
/// costed at 270,000) would compile on each pass. `plan_cache_mode` stays `auto`: with
/// generic plans forced, a plan made at an unlucky moment (statistics of a table just emptied
/// or just grown) stayed until the next invalidation and tripled the worker's CPU.
pub fn connect(database: &str) {
    keep_freed_memory();
    BackgroundWorker::attach_signal_handlers(SignalWakeFlags::SIGHUP | SignalWakeFlags::SIGTERM);
    BackgroundWorker::connect_worker_to_spi(Some(database), None);
    let settings = [(c"search_path", c"pg_catalog, pg_temp"), (c"lock_timeout", LOCK_TIMEOUT), (c"jit", c"off")];
    for (name, value) in settings {
        unsafe {
            pg_sys::SetConfigOption(
                name.as_ptr(),
                value.as_ptr(),
                pg_sys::GucContext::PGC_SUSET,
                pg_sys::GucSource::PGC_S_OVERRIDE,
            );
        }
    }
}

/// A batch allocates and frees the same few MiB every pass; by default glibc maps large blocks
/// afresh and returns them to the kernel, so every batch paid for page faults again (8% of a
/// burst's CPU). The process keeps its high-water mark instead, which it reaches anyway.
fn keep_freed_memory() {
    #[cfg(target_env = "gnu")]
    unsafe {
        // 32 MiB is glibc's largest mmap threshold on 64-bit.
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 64 << 20);
    }
}

/// Sleeps until the latch is set (a signal, a wake-up from a committing backend) or `timeout`
/// passes. If the postmaster dies meanwhile the process exits at once, writing nothing: the
/// server is going down (`WL_EXIT_ON_PM_DEATH`).
pub fn wait(timeout: Duration) {
    let events = (pg_sys::WL_LATCH_SET | pg_sys::WL_TIMEOUT | pg_sys::WL_EXIT_ON_PM_DEATH) as i32;
    let millis = i64::try_from(timeout.as_millis()).unwrap_or(i64::MAX);
    unsafe {
        pg_sys::WaitLatch(pg_sys::MyLatch, events, millis, pg_sys::PG_WAIT_EXTENSION);
        pg_sys::ResetLatch(pg_sys::MyLatch);
        pg_sys::check_for_interrupts!();
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

/// Set once SIGTERM arrived; pgrx's flag is cleared when read, so it is latched here.
static STOP_REQUESTED: AtomicBool = AtomicBool::new(false);

/// Whether the worker was asked to stop (SIGTERM), however often this is called.
pub fn stop_requested() -> bool {
    if BackgroundWorker::sigterm_received() {
        STOP_REQUESTED.store(true, Ordering::Relaxed);
    }
    STOP_REQUESTED.load(Ordering::Relaxed)
}

/// Whether something set this process's latch since it was last reset (a signal, a wake-up
/// from a committing backend): the worker should look before doing more background work.
pub fn latch_is_set() -> bool {
    unsafe { (*pg_sys::MyLatch).is_set != 0 }
}
