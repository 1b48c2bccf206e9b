//! The backend-local cache of parsed cron expressions.
//!
//! `schedule_next` over a large table and the due pass see the same few expressions again and
//! again; parsing costs about ten times a next-time computation, so each backend keeps a bounded
//! cache and parses an expression once.

use std::cell::RefCell;

use scheduler_core::{CronCache, Recurrence, RecurrenceColumns, ScheduleError};

/// Distinct expressions kept per backend; older ones are evicted first.
const CRON_CACHE_CAPACITY: usize = 4096;

thread_local! {
    static CRON_CACHE: RefCell<CronCache> = RefCell::new(CronCache::new(CRON_CACHE_CAPACITY));
}

pub fn with_cron_cache<R>(f: impl FnOnce(&mut CronCache) -> R) -> R {
    CRON_CACHE.with(|cache| f(&mut cache.borrow_mut()))
}

/// Builds a schedule's `Recurrence` from its columns through this backend's cache.
pub fn recurrence_of(columns: &RecurrenceColumns) -> Result<Recurrence, ScheduleError> {
    with_cron_cache(|cache| columns.recurrence(cache))
}
