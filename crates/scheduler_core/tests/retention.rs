//! Retention pacing: batches fit the room before the next fire, and a scheduler with no room
//! still deletes a little.

use std::time::{Duration, Instant};

use scheduler_core::retention::{
    RetentionPacer, LOOK_AGAIN_AFTER, MAX_BATCH_ROWS, MIN_ROOM, SMALL_BATCH_ROWS, STARVED_AFTER,
};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn the_first_batch_is_small_and_later_ones_grow_with_the_measured_rate() {
    let start = Instant::now();
    let mut pacer = RetentionPacer::default();
    // 100 rows/ms assumed: half of 200 ms of room is 10,000 rows.
    assert_eq!(pacer.batch_rows(start, ms(200)), Some(MAX_BATCH_ROWS));
    assert_eq!(pacer.batch_rows(start, ms(40)), Some(2_000));
    // A full batch of 2,000 rows of each kind in 2 ms: 1,000 rows/ms measured, 550 averaged.
    pacer.record(start, 2_000, 2_000, ms(2));
    assert_eq!(pacer.rows_per_ms(), 550.0);
    assert_eq!(pacer.batch_rows(start, ms(10)), Some(2_750));
    assert_eq!(pacer.batch_rows(start, ms(1_000)), Some(MAX_BATCH_ROWS), "capped");
}

#[test]
fn above_the_small_floor_a_batch_takes_at_most_half_the_room_at_the_measured_rate() {
    let start = Instant::now();
    let mut pacer = RetentionPacer::default();
    pacer.record(start, 500, 500, ms(50)); // a slow disk: 10 rows/ms measured
    let rate = pacer.rows_per_ms();
    for room in [6, 20, 100, 400] {
        let rows = pacer.batch_rows(start, ms(room)).unwrap();
        assert!(rows == SMALL_BATCH_ROWS || rows as f64 / rate <= room as f64 / 2.0, "room {room} ms: {rows} rows");
    }
}

#[test]
fn a_short_batch_waits_before_the_next_look_and_does_not_change_the_rate() {
    let start = Instant::now();
    let mut pacer = RetentionPacer::default();
    pacer.record(start, 10_000, 37, ms(3));
    assert_eq!(pacer.rows_per_ms(), 100.0, "a short batch is mostly fixed cost");
    assert_eq!(pacer.batch_rows(start + ms(10), ms(500)), None, "nothing more waits");
    assert_eq!(pacer.batch_rows(start + LOOK_AGAIN_AFTER, ms(500)), Some(MAX_BATCH_ROWS));
}

#[test]
fn without_room_a_small_batch_still_runs_once_per_starvation_period() {
    let start = Instant::now();
    let mut pacer = RetentionPacer::default();
    let tight = MIN_ROOM - ms(1);
    assert_eq!(pacer.batch_rows(start, tight), Some(SMALL_BATCH_ROWS), "nothing ran yet");
    pacer.record(start, SMALL_BATCH_ROWS, SMALL_BATCH_ROWS, ms(1));
    assert_eq!(pacer.batch_rows(start + ms(100), tight), None, "one ran just now");
    assert_eq!(pacer.batch_rows(start + ms(100), MIN_ROOM).map(|rows| rows > 0), Some(true), "with room, at once");
    assert_eq!(pacer.batch_rows(start + STARVED_AFTER, tight), Some(SMALL_BATCH_ROWS));
}
