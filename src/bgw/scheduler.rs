//! The scheduler worker: sleeps until the next schedule is due (or the poll interval passes,
//! or a backend commits a sooner schedule), then runs due passes until nothing more is due.
//!
//! It keeps no per-schedule state: each pass reads what it needs from the table, and the only
//! memory that lives across passes is the bounded cron-expression cache.

use std::time::Duration;

use chrono::{DateTime, Utc};
use pgrx::bgworkers::{BackgroundWorker, BackgroundWorkerBuilder, BgWorkerStartTime};
use pgrx::prelude::*;

use scheduler_core::firing::faults::backoff;
use scheduler_core::retention::RetentionPacer;
use scheduler_core::AuditEvent;

use crate::audit;
use crate::bgw::common::{self, Installed};
use crate::firing::due_pass::PassSettings;
use crate::firing::isolation::{run_isolated, Hold};
use crate::guc;
use crate::pg::fire_stats;
use crate::pg::shmem::{self, Worker};
use crate::store::due::earliest_wake_after;
use crate::store::retention::delete_expired;

/// How long the postmaster waits before restarting a worker that crashed.
const RESTART_DELAY: Duration = Duration::from_secs(5);

/// Registers the worker; called from `_PG_init` while preloading.
pub fn register() {
    BackgroundWorkerBuilder::new("workflow_scheduler worker")
        .set_type("workflow_scheduler")
        .set_library("workflow_scheduler")
        .set_function("workflow_scheduler_worker_main")
        .enable_spi_access()
        // Only on a primary: a standby starts it after promotion.
        .set_start_time(BgWorkerStartTime::RecoveryFinished)
        .set_restart_time(Some(RESTART_DELAY))
        .load();
}

#[pg_guard]
#[unsafe(no_mangle)]
pub extern "C-unwind" fn workflow_scheduler_worker_main(_arg: pg_sys::Datum) {
    common::connect(&guc::database_name());
    shmem::register(Worker::Scheduler);

    let mut started = false;
    // The last reason for idling that was logged: each is logged once, not on every poll.
    let mut said_why_idle: Option<String> = None;
    // Consecutive passes that failed with no schedule to blame: the backoff grows with them.
    let mut failures = 0;
    let mut retention = RetentionPacer::default();
    loop {
        if BackgroundWorker::sighup_received() {
            unsafe { pg_sys::ProcessConfigFile(pg_sys::GucContext::PGC_SIGHUP) };
        }
        shmem::mark_busy(Worker::Scheduler);
        common::report_activity(true, c"due pass");
        let step = BackgroundWorker::transaction(move || one_step(started));
        let sleep = match &step {
            Step::NoExtension | Step::OtherVersion(_) => {
                let why = why_idle(&step);
                if said_why_idle.as_ref() != Some(&why) {
                    crate::pg::compat::log(why.clone());
                    said_why_idle = Some(why);
                }
                started = false;
                guc::poll_interval()
            }
            Step::Disabled => {
                started = true;
                guc::poll_interval()
            }
            Step::Held(hold) => {
                started = true;
                failures += 1;
                hold_off(hold, failures)
            }
            Step::MoreDue => {
                started = true;
                failures = 0;
                Duration::ZERO
            }
            Step::SleepUntil(earliest) => {
                started = true;
                failures = 0;
                let mut sleep = sleep_until(*earliest);
                // Retention in batches sized to the time before the next schedule, while
                // nothing committed a sooner one (the latch).
                while !common::latch_is_set() {
                    let Some(limit) = retention.batch_rows(std::time::Instant::now(), sleep) else { break };
                    common::report_activity(true, c"retention");
                    retention_batch(&mut retention, limit);
                    sleep = sleep_until(*earliest);
                }
                sleep
            }
        };
        if started {
            said_why_idle = None;
        }
        common::report_stats(sleep);
        common::report_activity(false, c"waiting for the next due schedule");
        if common::stop_requested() {
            break;
        }
        common::wait(sleep);
        if common::stop_requested() {
            break;
        }
    }
    if started && BackgroundWorker::transaction(|| matches!(common::installed_extension(), Installed::Matching)) {
        BackgroundWorker::transaction(|| system_event("scheduler_stop"));
        common::report_stats(Duration::MAX);
    }
    shmem::unregister(Worker::Scheduler);
    // Exit code 1 asks the postmaster to restart us after RESTART_DELAY, so a worker stopped
    // with pg_terminate_backend() comes back; during shutdown nothing is restarted anyway.
    unsafe { pg_sys::proc_exit(1) };
}

/// What the worker does after one transaction.
enum Step {
    NoExtension,
    /// The installed extension has another version than this library: idle until it matches.
    OtherVersion(String),
    Disabled,
    /// Nothing was fired: wait, then try again.
    Held(Hold),
    /// The batch was full: run another one at once.
    MoreDue,
    /// Sleep until this time (the earliest schedule not yet due), or the poll interval.
    SleepUntil(Option<DateTime<Utc>>),
}

/// Logs why firing holds off, records it for the status function, and says how long to wait.
fn hold_off(hold: &Hold, failures: u32) -> Duration {
    let (wait, sqlstate) = match hold {
        Hold::NotifyQueueFull(usage, pause_at) => {
            pgrx::warning!(
                "workflow_scheduler: the NOTIFY queue is {:.4}% full (pause above {:.4}%); firing pauses until listeners catch up",
                usage * 100.0,
                pause_at * 100.0
            );
            (Duration::from_secs(1), 0)
        }
        Hold::Failed(failure) => {
            let wait = backoff(failures);
            pgrx::warning!(
                "workflow_scheduler: a due pass failed with no schedule to blame: {failure}; retrying in {} s",
                wait.as_secs()
            );
            (wait, failure.sqlstate_code)
        }
    };
    shmem::note_hold(sqlstate, Utc::now() + chrono::Duration::from_std(wait).unwrap_or_default());
    wait
}

fn why_idle(step: &Step) -> String {
    match step {
        Step::OtherVersion(installed) => format!(
            "workflow_scheduler: the installed extension is version \"{installed}\" but the library is \"{}\"; the worker idles until ALTER EXTENSION workflow_scheduler UPDATE (or a restart with the matching library)",
            env!("CARGO_PKG_VERSION")
        ),
        _ => format!(
            "workflow_scheduler: extension not created in database \"{}\" yet; the worker waits for CREATE EXTENSION",
            guc::database_name()
        ),
    }
}

/// One transaction: check the extension and the setting, fire one batch, and find when the
/// next schedule is due. Doing all of it in one transaction keeps the cost per wake-up low
/// when many schedules are due at distinct instants. Each batch commits on its own, so its
/// NOTIFYs go out without waiting for the rest.
fn one_step(started: bool) -> Step {
    match common::installed_extension() {
        Installed::Missing => return Step::NoExtension,
        Installed::Other(version) => return Step::OtherVersion(version),
        Installed::Matching => {}
    }
    if !started {
        system_event("scheduler_start");
    }
    if !guc::enabled() {
        return Step::Disabled;
    }
    let settings = PassSettings::from_gucs();
    let report = match run_isolated(&settings) {
        Ok(report) => report,
        Err(hold) => return Step::Held(hold),
    };
    fire_stats::record_pass(settings.now, report.fired.iter().map(|f| (f.scheduled_for, f.triggered_at)));
    if report.claimed > 0 || report.timed_out > 0 {
        let event = AuditEvent::system("scheduler_job_executed")
            .with("claimed", report.claimed)
            .with("fired", report.fired.len())
            .with("missed", report.missed)
            .with("skipped", report.skipped)
            .with("buffered", report.buffered)
            .with("timed_out", report.timed_out)
            .with("deactivated_broken", report.broken)
            .with("already_recorded", report.already_recorded)
            .with("deliveries", report.deliveries);
        let sinks = settings.fire_events.sinks(event.action);
        if sinks.log {
            audit::log(&event);
        }
        if sinks.table {
            crate::store::audit::insert(&event);
        }
    }
    if report.claimed as i64 >= settings.batch_size || report.narrowed {
        return Step::MoreDue;
    }
    // Rows that were already due at the pass but not claimed are locked by another session (a
    // `schedule_check_due()` caller): they are retried at the poll interval, not spun on.
    // Schedules due within the batch window of this pass wait for one pass together.
    let not_before = settings.now + guc::fire_batch_window();
    Step::SleepUntil(earliest_wake_after(settings.now).map(|at| at.max(not_before)))
}

/// How long to sleep for a wake-up at `earliest`, at most the poll interval; published in
/// shared memory so that a backend committing a sooner schedule wakes the worker.
fn sleep_until(earliest: Option<DateTime<Utc>>) -> Duration {
    let now = Utc::now();
    let poll_end = now + chrono::Duration::from_std(guc::poll_interval()).unwrap_or_default();
    let wake_at = earliest.map_or(poll_end, |at| at.clamp(now, poll_end));
    shmem::mark_sleeping_until(Worker::Scheduler, wake_at);
    // The latch wait counts whole milliseconds: round up, or a wake-up less than 1 ms away
    // becomes a zero wait and an empty pass.
    let micros = (wake_at - now).num_microseconds().unwrap_or(0).max(0) as u64;
    Duration::from_millis(micros.div_ceil(1000))
}

fn system_event(action: &'static str) {
    audit::record(
        &AuditEvent::system(action).with("database", guc::database_name()).with("pid", unsafe { pg_sys::MyProcPid }),
    );
}

/// One retention batch of at most `limit` rows per kind, in its own transaction.
fn retention_batch(pacer: &mut RetentionPacer, limit: i64) {
    let started = std::time::Instant::now();
    let deleted = BackgroundWorker::transaction(|| {
        let now = Utc::now();
        delete_expired(guc::history_cutoff(now), guc::audit_cutoff(now), limit)
    });
    let finished = std::time::Instant::now();
    pacer.record(finished, limit, deleted.executions.max(deleted.audit_rows), finished - started);
    if deleted.total() > 0 {
        pgrx::debug1!("workflow_scheduler: retention deleted {deleted:?} (limit {limit})");
    }
}
