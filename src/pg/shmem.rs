//! Shared memory: the worker's latch and when it plans to wake, and the last database that
//! used the extension although the worker serves another one.
//!
//! Waking the worker early:
//! A backend that commits a schedule due before that planned time sets the worker's latch, so a
//! new schedule fires on time even when the poll interval is long. The latch is set from a
//! commit callback: waking the worker before commit would let it look before the row is visible.

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicI64, AtomicU32, Ordering};

use chrono::{DateTime, Utc};
use pgrx::prelude::*;
use pgrx::{pg_shmem_init, register_xact_callback, PgAtomic, PgXactCallbackEvent};

/// `pgprocno` of the running worker, or -1.
static WORKER_PROCNO: PgAtomic<AtomicI32> = unsafe { PgAtomic::new(c"workflow_scheduler_worker_procno") };
/// Unix microseconds at which the worker plans to wake; `i64::MAX` while it is running a pass,
/// so that any commit during a pass sets the latch and the worker looks again.
static WORKER_WAKE_AT: PgAtomic<AtomicI64> = unsafe { PgAtomic::new(c"workflow_scheduler_wake_at") };

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
    /// The earliest next time committed by the current transaction, in Unix microseconds.
    static PENDING_WAKE: Cell<Option<i64>> = const { Cell::new(None) };
}

/// Called from `_PG_init` while `shared_preload_libraries` is processed.
pub fn init_shared_memory() {
    pg_shmem_init!(WORKER_PROCNO = AtomicI32::new(-1));
    pg_shmem_init!(WORKER_WAKE_AT = AtomicI64::new(i64::MAX));
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

/// Asks for the worker to be woken when this transaction commits, if `next` is sooner than it
/// planned to wake.
pub fn wake_worker_on_commit(next: DateTime<Utc>) {
    if !preloaded() {
        return;
    }
    let next = next.timestamp_micros();
    let first_in_transaction = PENDING_WAKE.with(|pending| {
        let first = pending.get().is_none();
        pending.set(Some(pending.get().map_or(next, |p| p.min(next))));
        first
    });
    if first_in_transaction {
        register_xact_callback(PgXactCallbackEvent::Commit, || {
            if let Some(at) = PENDING_WAKE.with(Cell::take) {
                wake_if_sooner(at);
            }
        });
        register_xact_callback(PgXactCallbackEvent::Abort, || {
            PENDING_WAKE.with(Cell::take);
        });
    }
}

fn wake_if_sooner(at_unix_micros: i64) {
    if at_unix_micros >= WORKER_WAKE_AT.get().load(Ordering::Acquire) {
        return;
    }
    let procno = WORKER_PROCNO.get().load(Ordering::Acquire);
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
pub fn register_worker() {
    let procno = unsafe { (*pg_sys::MyProc).pgprocno };
    WORKER_PROCNO.get().store(procno, Ordering::Release);
}

pub fn unregister_worker() {
    WORKER_PROCNO.get().store(-1, Ordering::Release);
}

/// Worker side: a pass is running; every commit from now on wakes it again.
pub fn mark_worker_busy() {
    WORKER_WAKE_AT.get().store(i64::MAX, Ordering::Release);
}

/// Worker side: it will sleep until `at` unless woken.
pub fn mark_worker_sleeping_until(at: DateTime<Utc>) {
    WORKER_WAKE_AT.get().store(at.timestamp_micros(), Ordering::Release);
}
