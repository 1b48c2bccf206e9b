//! What the scheduler worker records about its recent fires, in shared memory, for
//! `scheduler_status()`: when each of the last `RING` fires happened and how late it was, and
//! when the last pass ran. Reading it costs no table scan, whatever the history holds.

use chrono::{DateTime, Utc};
use pgrx::lwlock::PgLwLock;
use pgrx::pg_shmem_init;
use pgrx::prelude::*;
use pgrx::shmem::PGRXSharedMemory;

/// Fires remembered: at 50 fires per second, the last 5 minutes and a half.
const RING: usize = 16_384;

#[derive(Clone, Copy)]
#[repr(C)]
pub struct FireRing {
    /// Fires recorded so far; the next one goes to `recorded % RING`.
    recorded: u64,
    fired_at_us: [i64; RING],
    late_us: [i64; RING],
    last_pass_at_us: i64,
}

unsafe impl PGRXSharedMemory for FireRing {}

impl Default for FireRing {
    fn default() -> Self {
        FireRing { recorded: 0, fired_at_us: [0; RING], late_us: [0; RING], last_pass_at_us: 0 }
    }
}

static FIRES: PgLwLock<FireRing> = unsafe { PgLwLock::new(c"workflow_scheduler_fire_ring") };

/// Called from `_PG_init` while `shared_preload_libraries` is processed.
pub fn init_shared_memory() {
    pg_shmem_init!(FIRES);
}

/// Worker side: a pass ran at `at` and fired these occurrences `(scheduled_for, triggered_at)`.
pub fn record_pass(at: DateTime<Utc>, fires: impl Iterator<Item = (DateTime<Utc>, DateTime<Utc>)>) {
    if !crate::pg::shmem::preloaded() {
        return;
    }
    let mut ring = FIRES.exclusive();
    ring.last_pass_at_us = at.timestamp_micros();
    for (scheduled_for, triggered_at) in fires {
        let slot = (ring.recorded % RING as u64) as usize;
        ring.fired_at_us[slot] = triggered_at.timestamp_micros();
        ring.late_us[slot] = (triggered_at - scheduled_for).num_microseconds().unwrap_or(i64::MAX);
        ring.recorded += 1;
    }
}

/// Recent fires as the status function reports them.
pub struct RecentFires {
    pub last_pass_at: Option<DateTime<Utc>>,
    pub fires_last_minute: usize,
    /// Lateness in milliseconds of the fires of the last 5 minutes, sorted.
    pub lateness_ms: Vec<f64>,
    /// The ring holds fewer than all fires of the window (more than `RING` happened in it).
    pub sampled: bool,
}

pub fn recent(now: DateTime<Utc>) -> RecentFires {
    if !crate::pg::shmem::preloaded() {
        return RecentFires { last_pass_at: None, fires_last_minute: 0, lateness_ms: Vec::new(), sampled: false };
    }
    let ring = FIRES.share();
    let now_us = now.timestamp_micros();
    let held = (ring.recorded as usize).min(RING);
    let oldest_held = (0..held).map(|i| ring.fired_at_us[i]).min().unwrap_or(now_us);
    let mut lateness_ms = Vec::new();
    let mut fires_last_minute = 0;
    for i in 0..held {
        let age = now_us - ring.fired_at_us[i];
        if (0..=300_000_000).contains(&age) {
            lateness_ms.push(ring.late_us[i] as f64 / 1000.0);
        }
        if (0..=60_000_000).contains(&age) {
            fires_last_minute += 1;
        }
    }
    lateness_ms.sort_by(f64::total_cmp);
    RecentFires {
        last_pass_at: (ring.last_pass_at_us > 0)
            .then(|| DateTime::from_timestamp_micros(ring.last_pass_at_us))
            .flatten(),
        fires_last_minute,
        lateness_ms,
        sampled: ring.recorded as usize > RING && now_us - oldest_held < 300_000_000,
    }
}

/// The value at quantile `q` (0 to 1) of sorted values, nearest rank.
pub fn quantile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1])
}
