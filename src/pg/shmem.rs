//! Shared memory: each worker's latch and when it plans to wake, and the last database that
//! used the extension although the worker serves another one.
//!
//! Waking a worker early:
//! A backend that commits work due before the worker's planned time (a schedule due sooner, a
//! delivery to send, a completion that releases a buffered occurrence) sets the worker's latch,
//! so the work starts at once even when the worker sleeps long. The latch is set from a commit
//! callback: waking the worker before commit would let it look before the row is visible.

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicI64, AtomicU32, Ordering};

use chrono::{DateTime, Utc};
use pgrx::prelude::*;
use pgrx::{pg_shmem_init, register_xact_callback, PgAtomic, PgXactCallbackEvent};

/// `pgprocno` of each running worker, or -1.
static SCHEDULER_PROCNO: PgAtomic<AtomicI32> = unsafe { PgAtomic::new(c"workflow_scheduler_worker_procno") };
static DELIVERY_PROCNO: PgAtomic<AtomicI32> = unsafe { PgAtomic::new(c"workflow_scheduler_delivery_procno") };
/// Unix microseconds at which each worker plans to wake; `i64::MAX` while it is working, so
/// that any commit meanwhile sets the latch and the worker looks again.
static SCHEDULER_WAKE_AT: PgAtomic<AtomicI64> = unsafe { PgAtomic::new(c"workflow_scheduler_wake_at") };
static DELIVERY_WAKE_AT: PgAtomic<AtomicI64> = unsafe { PgAtomic::new(c"workflow_scheduler_delivery_wake_at") };

/// The extension's background workers, each with its own latch.
#[derive(Clone, Copy)]
pub enum Worker {
    /// Fires due schedules.
    Scheduler,
    /// Sends HTTP hook deliveries.
    Delivery,
}

impl Worker {
    fn procno(self) -> &'static PgAtomic<AtomicI32> {
        match self {
            Worker::Scheduler => &SCHEDULER_PROCNO,
            Worker::Delivery => &DELIVERY_PROCNO,
        }
    }

    fn wake_at(self) -> &'static PgAtomic<AtomicI64> {
        match self {
            Worker::Scheduler => &SCHEDULER_WAKE_AT,
            Worker::Delivery => &DELIVERY_WAKE_AT,
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Oid of the last database where the extension was used although the worker serves another
/// one (0: none), for the status function to show.
static UNSERVED_DATABASE: PgAtomic<AtomicU32> = unsafe { PgAtomic::new(c"workflow_scheduler_unserved_database") };

/// When the worker last held off firing (a failed pass, a full NOTIFY queue), in Unix
/// microseconds, until when, and the SQLSTATE (packed as Postgres packs it; 0 for the queue):
/// for the status function to show.
static HOLD_AT: PgAtomic<AtomicI64> = unsafe { PgAtomic::new(c"workflow_scheduler_hold_at") };
static HOLD_UNTIL: PgAtomic<AtomicI64> = unsafe { PgAtomic::new(c"workflow_scheduler_hold_until") };
static HOLD_SQLSTATE: PgAtomic<AtomicI32> = unsafe { PgAtomic::new(c"workflow_scheduler_hold_sqlstate") };

/// True in processes forked from a postmaster that preloaded the library.
static SHMEM_READY: AtomicBool = AtomicBool::new(false);

thread_local! {
    /// Per worker, the earliest time of work committed by the current transaction, in Unix
    /// microseconds.
    static PENDING_WAKE: [Cell<Option<i64>>; 2] = const { [Cell::new(None), Cell::new(None)] };
}

/// Called from `_PG_init` while `shared_preload_libraries` is processed.
pub fn init_shared_memory() {
    pg_shmem_init!(SCHEDULER_PROCNO = AtomicI32::new(-1));
    pg_shmem_init!(DELIVERY_PROCNO = AtomicI32::new(-1));
    pg_shmem_init!(SCHEDULER_WAKE_AT = AtomicI64::new(i64::MAX));
    pg_shmem_init!(DELIVERY_WAKE_AT = AtomicI64::new(i64::MAX));
    pg_shmem_init!(UNSERVED_DATABASE = AtomicU32::new(0));
    pg_shmem_init!(HOLD_AT = AtomicI64::new(0));
    pg_shmem_init!(HOLD_UNTIL = AtomicI64::new(0));
    pg_shmem_init!(HOLD_SQLSTATE = AtomicI32::new(0));
    SHMEM_READY.store(true, Ordering::Relaxed);
}

/// Whether this process was forked from a postmaster that preloaded the library.
pub fn preloaded() -> bool {
    SHMEM_READY.load(Ordering::Relaxed)
}

/// Records that the extension is used in database `oid`, which the worker does not serve.
pub fn note_unserved_database(oid: pg_sys::Oid) {
    if preloaded() {
        UNSERVED_DATABASE.get().store(oid.to_u32(), Ordering::Relaxed);
    }
}

/// Worker side: records that firing holds off until `until`, because of `sqlstate`.
pub fn note_hold(sqlstate: i32, until: DateTime<Utc>) {
    HOLD_SQLSTATE.get().store(sqlstate, Ordering::Relaxed);
    HOLD_UNTIL.get().store(until.timestamp_micros(), Ordering::Relaxed);
    HOLD_AT.get().store(Utc::now().timestamp_micros(), Ordering::Relaxed);
}

/// The last hold-off of firing: (when it began, until when, the SQLSTATE as Postgres packs it;
/// 0 for a full NOTIFY queue), if there was one since the server started.
pub fn last_hold() -> Option<(DateTime<Utc>, DateTime<Utc>, i32)> {
    if !preloaded() {
        return None;
    }
    let at = HOLD_AT.get().load(Ordering::Relaxed);
    (at > 0).then(|| {
        let micros = |us| DateTime::from_timestamp_micros(us).unwrap_or_default();
        (micros(at), micros(HOLD_UNTIL.get().load(Ordering::Relaxed)), HOLD_SQLSTATE.get().load(Ordering::Relaxed))
    })
}

/// The database last seen using the extension although the worker serves another one.
pub fn unserved_database() -> Option<pg_sys::Oid> {
    if !preloaded() {
        return None;
    }
    let oid = UNSERVED_DATABASE.get().load(Ordering::Relaxed);
    (oid != 0).then(|| pg_sys::Oid::from(oid))
}

/// Asks for `worker` to be woken when this transaction commits, if `next` is sooner than it
/// planned to wake.
pub fn wake_on_commit(worker: Worker, next: DateTime<Utc>) {
    if !preloaded() {
        return;
    }
    let next = next.timestamp_micros();
    let first_in_transaction = PENDING_WAKE.with(|pending| {
        let first = pending.iter().all(|p| p.get().is_none());
        let mine = &pending[worker.index()];
        mine.set(Some(mine.get().map_or(next, |p| p.min(next))));
        first
    });
    if first_in_transaction {
        register_xact_callback(PgXactCallbackEvent::Commit, || {
            for worker in [Worker::Scheduler, Worker::Delivery] {
                if let Some(at) = PENDING_WAKE.with(|pending| pending[worker.index()].take()) {
                    wake_if_sooner(worker, at);
                }
            }
        });
        register_xact_callback(PgXactCallbackEvent::Abort, || {
            PENDING_WAKE.with(|pending| pending.iter().for_each(|p| p.set(None)));
        });
    }
}

/// The scheduler worker: a schedule due at `next` was committed.
pub fn wake_worker_on_commit(next: DateTime<Utc>) {
    wake_on_commit(Worker::Scheduler, next);
}

fn wake_if_sooner(worker: Worker, at_unix_micros: i64) {
    if at_unix_micros >= worker.wake_at().get().load(Ordering::Acquire) {
        return;
    }
    let procno = worker.procno().get().load(Ordering::Acquire);
    if procno < 0 {
        return;
    }
    // A stale procno can only cause a spurious wake-up of another process, which is harmless.
    unsafe {
        let proc = (*pg_sys::ProcGlobal).allProcs.add(procno as usize);
        pg_sys::SetLatch(&mut (*proc).procLatch);
    }
}

/// Worker side: publish this process's latch.
pub fn register(worker: Worker) {
    let procno = unsafe { super::compat::my_procno() };
    worker.procno().get().store(procno, Ordering::Release);
}

pub fn unregister(worker: Worker) {
    worker.procno().get().store(-1, Ordering::Release);
}

/// Worker side: it is working; every commit from now on wakes it again.
pub fn mark_busy(worker: Worker) {
    worker.wake_at().get().store(i64::MAX, Ordering::Release);
}

/// Worker side: it will sleep until `at` unless woken.
pub fn mark_sleeping_until(worker: Worker, at: DateTime<Utc>) {
    worker.wake_at().get().store(at.timestamp_micros(), Ordering::Release);
}
