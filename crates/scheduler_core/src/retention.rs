//! Pacing of the worker's retention: how many expired rows one batch may delete in the time
//! left before the next fire, and when the next batch may run.
//!
//! A batch is sized to half of the room before the next fire at the rate the last batches
//! reached, so a fire is never kept waiting. When fires come so close together that there is
//! never enough room, a small batch runs anyway every `STARVED_AFTER`: history must not grow
//! without bound on a busy scheduler, and a batch that small costs about a millisecond.

use std::time::{Duration, Instant};

/// Rows one batch deletes at most (per kind: executions, audit rows).
pub const MAX_BATCH_ROWS: i64 = 10_000;
/// Below this room before the next fire, only a starved batch runs.
pub const MIN_ROOM: Duration = Duration::from_millis(5);
/// A batch runs even without room when none ran for this long while rows wait.
pub const STARVED_AFTER: Duration = Duration::from_millis(250);
/// The size of a batch that runs without room, and the smallest batch with room.
pub const SMALL_BATCH_ROWS: i64 = 500;
/// After a batch that left nothing to delete, look again this much later.
pub const LOOK_AGAIN_AFTER: Duration = Duration::from_secs(10);
/// The rate assumed before any batch was measured: low, so the first batches are small.
const INITIAL_ROWS_PER_MS: f64 = 100.0;

#[derive(Debug, Clone)]
pub struct RetentionPacer {
    /// Of one kind: a batch with limit L takes about L / rows_per_ms.
    rows_per_ms: f64,
    last_batch_at: Option<Instant>,
    /// None until the first look; then when the next look is due.
    next_look_at: Option<Instant>,
}

impl Default for RetentionPacer {
    fn default() -> Self {
        RetentionPacer { rows_per_ms: INITIAL_ROWS_PER_MS, last_batch_at: None, next_look_at: None }
    }
}

impl RetentionPacer {
    /// The row limit of a batch that may run now, with `room` left before the next fire; None
    /// when no batch should run.
    pub fn batch_rows(&self, now: Instant, room: Duration) -> Option<i64> {
        if self.next_look_at.is_some_and(|at| now < at) {
            return None;
        }
        if room >= MIN_ROOM {
            let fits = (self.rows_per_ms * room.as_secs_f64() * 1000.0 / 2.0) as i64;
            return Some(fits.clamp(SMALL_BATCH_ROWS, MAX_BATCH_ROWS));
        }
        let starved = self.last_batch_at.is_none_or(|at| now.duration_since(at) >= STARVED_AFTER);
        starved.then_some(SMALL_BATCH_ROWS)
    }

    /// Records a batch that ran with `limit` and deleted up to `most_of_one_kind` rows of one
    /// kind (the limit applies to each kind), in `took`.
    pub fn record(&mut self, now: Instant, limit: i64, most_of_one_kind: i64, took: Duration) {
        self.last_batch_at = Some(now);
        let full = most_of_one_kind >= limit;
        // Only a full batch measures the rate: a short one is mostly fixed cost.
        if full && took > Duration::ZERO {
            let measured = most_of_one_kind as f64 / (took.as_secs_f64() * 1000.0);
            self.rows_per_ms = (self.rows_per_ms + measured) / 2.0;
        }
        self.next_look_at = Some(if full { now } else { now + LOOK_AGAIN_AFTER });
    }

    /// Rows of one kind per millisecond the batches reach, as the pacer estimates it.
    pub fn rows_per_ms(&self) -> f64 {
        self.rows_per_ms
    }
}
