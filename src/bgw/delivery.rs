//! The delivery worker: sends the outbox (`deliveries`) to the HTTP hooks, apart from the
//! scheduler worker so that a slow endpoint never delays a fire.
//!
//! Only this main thread runs SQL. It claims due deliveries in a short transaction (a lease:
//! `next_attempt_at` moves past the request's timeout), commits, and hands the requests to a
//! fixed pool of plain threads (`delivery_core::DeliveryPool`) that never touch Postgres. It
//! then waits on its latch (a fire or a hook change committed) and on the pool's socket (an
//! outcome arrived), records the outcomes in another short transaction, and claims again. No
//! transaction is open while a request is in flight. Idle, with nothing pending, it runs no
//! queries at all: it waits until a commit wakes it.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use pgrx::bgworkers::{BackgroundWorker, BackgroundWorkerBuilder, BgWorkerStartTime};
use pgrx::prelude::*;
use pgrx::Uuid;

use delivery_core::{
    settle, AttemptOutcome, ClientConfig, DeliveryPool, Finished, HookRequest, HttpClient, Job, OutcomeClass, Secret,
    Settlement, SigningSecrets,
};
use scheduler_core::AuditEvent;

use crate::audit;
use crate::bgw::common::{self, Installed};
use crate::guc;
use crate::pg::shmem::{self, Worker};
use crate::pg::time_conv::from_utc;
use crate::store::audit::AuditRows;
use crate::store::deliveries::{self as store, AttemptRows, DueDelivery, HookHealth};

const RESTART_DELAY: Duration = Duration::from_secs(5);
/// While the extension is missing or of another version, look again this often.
const NOT_INSTALLED_POLL: Duration = Duration::from_secs(5);
/// How long requests in flight may finish when the worker stops.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// What the pool returns with each outcome.
struct Sent {
    delivery_id: Uuid,
    execution_id: Uuid,
    hook: String,
    url: String,
    /// Attempts made before this one.
    attempts: i32,
}

/// Registers the worker; called from `_PG_init` while preloading.
pub fn register() {
    BackgroundWorkerBuilder::new("workflow_scheduler delivery")
        .set_type("workflow_scheduler delivery")
        .set_library("workflow_scheduler")
        .set_function("workflow_scheduler_delivery_main")
        .enable_spi_access()
        .set_start_time(BgWorkerStartTime::RecoveryFinished)
        .set_restart_time(Some(RESTART_DELAY))
        .load();
}

#[pg_guard]
#[unsafe(no_mangle)]
pub extern "C-unwind" fn workflow_scheduler_delivery_main(_arg: pg_sys::Datum) {
    common::connect(&guc::database_name());
    shmem::register(Worker::Delivery);
    let workers = guc::http_workers();
    let client = Arc::new(HttpClient::new(ClientConfig {
        version: env!("CARGO_PKG_VERSION").to_string(),
        policy: guc::http_allowed_cidrs(),
        max_idle_per_host: workers,
    }));
    let pool: DeliveryPool<Sent> = DeliveryPool::start(workers, client.clone())
        .unwrap_or_else(|err| pgrx::error!("workflow_scheduler: cannot start {workers} HTTP threads: {err}"));
    // Twice the threads: a thread that finishes finds its next request queued already.
    let capacity = 2 * workers;

    loop {
        if BackgroundWorker::sighup_received() {
            unsafe { pg_sys::ProcessConfigFile(pg_sys::GucContext::PGC_SIGHUP) };
            client.set_policy(guc::http_allowed_cidrs());
        }
        shmem::mark_busy(Worker::Delivery);
        common::report_activity(true, c"sending deliveries");
        pool.drain_wake();
        let finished = pool.try_recv_results();
        let room = capacity.saturating_sub(pool.in_flight());
        if finished.is_empty() && room == 0 {
            // Every thread is busy and nothing came back: wait for an outcome, not a query.
            if common::stop_requested() {
                break;
            }
            wait_for_work(pool.wake_fd(), None);
            continue;
        }
        let step = BackgroundWorker::transaction(move || one_step(finished, room));
        let wait = match step {
            Step::NotInstalled => Some(NOT_INSTALLED_POLL),
            Step::Claimed { due, next_due } => {
                let claimed = due.len();
                for delivery in due {
                    if let Some(job) = job_of(delivery) {
                        // Only fails if every thread is gone; the lease brings the row back.
                        let _ = pool.submit(job);
                    }
                }
                if claimed == room && room > 0 {
                    Some(Duration::ZERO)
                } else {
                    next_due.map(until)
                }
            }
        };
        common::report_stats(wait.unwrap_or(Duration::MAX));
        common::report_activity(false, c"waiting for deliveries");
        shmem::mark_sleeping_until(
            Worker::Delivery,
            wait.map_or(DateTime::<Utc>::MAX_UTC, |w| Utc::now() + chrono::Duration::from_std(w).unwrap_or_default()),
        );
        if common::stop_requested() {
            break;
        }
        wait_for_work(pool.wake_fd(), wait);
        if common::stop_requested() {
            break;
        }
    }
    let report = pool.shutdown(STOP_GRACE);
    if !report.finished.is_empty() {
        BackgroundWorker::transaction(move || {
            if matches!(common::installed_extension(), Installed::Matching) {
                record(report.finished);
            }
        });
    }
    shmem::unregister(Worker::Delivery);
    unsafe { pg_sys::proc_exit(1) };
}

enum Step {
    NotInstalled,
    Claimed {
        due: Vec<DueDelivery>,
        /// When the next pending delivery comes due, if any does.
        next_due: Option<DateTime<Utc>>,
    },
}

/// One transaction: record the outcomes that arrived, claim up to `room` due deliveries.
fn one_step(finished: Vec<Finished<Sent>>, room: usize) -> Step {
    if !matches!(common::installed_extension(), Installed::Matching) {
        return Step::NotInstalled;
    }
    record(finished);
    let now = Utc::now();
    let due = if room > 0 { store::claim_due(now, room as i64) } else { Vec::new() };
    let next_due = store::earliest_due_after(now);
    Step::Claimed { due, next_due }
}

/// The request of a claimed delivery. A secret the table holds is always valid (hook_create
/// checked it); should one not be, the delivery is skipped and its lease brings it back.
fn job_of(delivery: DueDelivery) -> Option<Job<Sent>> {
    let current = Secret::parse(&delivery.secret).ok()?;
    let previous = delivery.previous_secret.as_deref().and_then(|s| Secret::parse(s).ok());
    let headers: Vec<(String, String)> =
        serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&delivery.headers)
            .map(|map| {
                map.into_iter().filter_map(|(name, value)| value.as_str().map(|v| (name, v.to_string()))).collect()
            })
            .unwrap_or_default();
    let request = HookRequest {
        url: delivery.url.clone(),
        webhook_id: delivery.execution_id.to_string(),
        body: delivery.body.into_bytes(),
        headers,
        secrets: SigningSecrets { current, previous },
        timeout: Duration::from_millis(delivery.timeout_ms.max(1) as u64),
    };
    let tag = Sent {
        delivery_id: delivery.delivery_id,
        execution_id: delivery.execution_id,
        hook: delivery.hook,
        url: delivery.url,
        attempts: delivery.attempts,
    };
    Some(Job { tag, request })
}

/// Records the attempts, moves each delivery on (delivered, retried, failed, or waiting for
/// its disabled hook), updates the hooks' health, and audits dead letters and 410s.
fn record(finished: Vec<Finished<Sent>>) {
    if finished.is_empty() {
        return;
    }
    let delays = guc::http_retry_delays();
    let mut rows = AttemptRows::default();
    let mut health: Vec<HookHealth> = Vec::new();
    let mut audit_rows = AuditRows::default();
    for Finished { tag, outcome } in finished {
        let attempt = tag.attempts + 1;
        let settlement = settle(&outcome, attempt.max(1) as u32, &delays, random());
        // When the request started; the outcome's own timestamp has whole seconds only.
        let attempted_at = Utc::now() - chrono::Duration::from_std(outcome.latency).unwrap_or_default();
        let next_attempt_at = match settlement {
            Settlement::Retry { delay } => Utc::now() + chrono::Duration::from_std(delay).unwrap_or_default(),
            Settlement::Delivered | Settlement::HookGone | Settlement::Failed => Utc::now(),
        };
        let error = outcome.error.clone();
        rows.delivery_id.push(tag.delivery_id);
        rows.attempt.push(attempt);
        rows.attempted_at.push(from_utc(attempted_at));
        rows.status_code.push(outcome.status.map(i32::from));
        rows.error.push(error.clone());
        rows.latency_ms.push(outcome.latency.as_secs_f64() * 1000.0);
        rows.status.push(settlement.status());
        rows.next_attempt_at.push(from_utc(next_attempt_at));

        let gone = (settlement == Settlement::HookGone).then(|| {
            format!("the receiver answered 410 Gone at {}: it asked for no more deliveries", attempted_at.to_rfc3339())
        });
        if let Some(reason) = &gone {
            push_event(&mut audit_rows, hook_event("hook_disabled", &tag, reason));
        }
        if settlement == Settlement::Failed {
            let reason = error.clone().unwrap_or_else(|| "no answer".to_string());
            push_event(
                &mut audit_rows,
                hook_event("delivery_failed", &tag, &reason)
                    .with("attempts", attempt)
                    .with("last_status_code", outcome.status),
            );
        }
        note_health(&mut health, &tag.hook, &outcome, attempted_at, gone);
    }
    store::record_attempts(&mut rows);
    store::update_hooks(health);
    audit_rows.insert_all();
}

fn hook_event(action: &'static str, tag: &Sent, reason: &str) -> AuditEvent {
    AuditEvent::error(action, None)
        .with("hook", tag.hook.as_str())
        .with("url", tag.url.as_str())
        .with("delivery_id", tag.delivery_id.to_string())
        .with("execution_id", tag.execution_id.to_string())
        .with("reason", reason)
}

fn push_event(rows: &mut AuditRows, event: AuditEvent) {
    audit::log(&event);
    rows.push(event);
}

/// Keeps the latest delivery and the latest error per hook.
fn note_health(
    health: &mut Vec<HookHealth>,
    hook: &str,
    outcome: &AttemptOutcome,
    at: DateTime<Utc>,
    gone: Option<String>,
) {
    let index = health.iter().position(|h| h.hook == hook).unwrap_or_else(|| {
        health.push(HookHealth { hook: hook.to_string(), delivered_at: None, error: None, gone: None });
        health.len() - 1
    });
    let entry = &mut health[index];
    match (&outcome.class, &outcome.error) {
        (OutcomeClass::Delivered, _) => entry.delivered_at = Some(at),
        (_, error) => {
            let what = error.clone().unwrap_or_else(|| format!("HTTP {}", outcome.status.unwrap_or_default()));
            entry.error = Some((at, what));
        }
    }
    if gone.is_some() {
        entry.gone = gone;
    }
}

/// Randomness for the jitter of retry delays.
fn random() -> u64 {
    uuid::Uuid::new_v4().as_u64_pair().0
}

/// From now until `at`, at least zero.
fn until(at: DateTime<Utc>) -> Duration {
    (at - Utc::now()).to_std().unwrap_or(Duration::ZERO)
}

/// Sleeps until the latch is set, the pool's socket is readable, or `timeout` passes (`None`:
/// no timeout). Exits at once if the postmaster dies.
fn wait_for_work(socket: std::os::fd::RawFd, timeout: Option<Duration>) {
    let mut events = (pg_sys::WL_LATCH_SET | pg_sys::WL_SOCKET_READABLE | pg_sys::WL_EXIT_ON_PM_DEATH) as i32;
    let millis = match timeout {
        Some(timeout) => {
            events |= pg_sys::WL_TIMEOUT as i32;
            // Whole milliseconds, rounded up: a wait shorter than 1 ms is not a busy loop.
            i64::try_from(timeout.as_micros().div_ceil(1000)).unwrap_or(i64::MAX)
        }
        None => -1,
    };
    unsafe {
        pg_sys::WaitLatchOrSocket(pg_sys::MyLatch, events, socket, millis, pg_sys::PG_WAIT_EXTENSION);
        pg_sys::ResetLatch(pg_sys::MyLatch);
        pg_sys::check_for_interrupts!();
    }
}
