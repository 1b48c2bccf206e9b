//! Cost of catching up after a long outage: 1,000 `* * * * *` schedules whose
//! `next_execution_at` is 7 days old, each decided by `decide_due` (what a due pass does with
//! one claimed batch after the worker was down for a week).
//!
//! Run: `cargo run --release -p scheduler_core --example bench_catchup`
//!
//! Prints one `name=value` line per metric, each the median of the rounds:
//! - `catchup_utc_ms_median`: ms for the 1,000 decisions, UTC, outages spread over 2024;
//! - `catchup_mixed_ms_median`: the same in four zones (UTC, Europe/Berlin, America/New_York,
//!   Australia/Lord_Howe), so some outages span a DST change;
//! - `catchup_spring_ms_median` / `catchup_fall_ms_median`: Europe/Berlin, every outage spans
//!   the 2024-03-31 (gap) or the 2024-10-27 (repeated hour) change, where the count walks the
//!   occurrences one by one;
//! - `coalesced_sum`: the sum of the coalesced counts over the four sets, to check that two
//!   builds decide the same.

use std::hint::black_box;
use std::rc::Rc;
use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use scheduler_core::firing::grace::decide_due;
use scheduler_core::{CronSchedule, Recurrence};

const SCHEDULES: usize = 1_000;
const ROUNDS: usize = 5;
const OUTAGE_DAYS: i64 = 7;

/// One due schedule: its recurrence, stored `next_execution_at` and the pass's `now`.
struct Case {
    recurrence: Recurrence,
    stored_next: DateTime<Utc>,
    now: DateTime<Utc>,
}

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).expect("timestamp").with_timezone(&Utc)
}

/// `SCHEDULES` cases; schedule `i` is evaluated in `zones[i % len]` and its pass runs at
/// `first_now + i * stride` (plus a few odd seconds, as a real pass would).
fn cases(zones: &[Tz], first_now: DateTime<Utc>, stride: Duration) -> Vec<Case> {
    let schedule = Rc::new(CronSchedule::parse("* * * * *").expect("expression"));
    (0..SCHEDULES)
        .map(|i| {
            let tz = zones[i % zones.len()];
            let recurrence = Recurrence::Cron { schedule: Rc::clone(&schedule), tz };
            let now = first_now + stride * i as i32 + Duration::milliseconds(17_250);
            // The stored next is an occurrence a week before now: the worker was down since.
            let stored_next = recurrence.next_after(now - Duration::days(OUTAGE_DAYS)).expect("next");
            Case { recurrence, stored_next, now }
        })
        .collect()
}

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

/// Median ms per round of deciding every case once, and the sum of the coalesced counts.
fn run(cases: &[Case]) -> (f64, u64) {
    let grace = Duration::minutes(15);
    let coalesced =
        cases.iter().map(|c| decide_due(&c.recurrence, c.stored_next, c.now, grace).outcome.coalesced()).sum();
    let mut rounds = Vec::with_capacity(ROUNDS);
    for _ in 0..ROUNDS {
        let began = Instant::now();
        for c in cases {
            black_box(decide_due(black_box(&c.recurrence), c.stored_next, c.now, grace));
        }
        rounds.push(began.elapsed().as_secs_f64() * 1e3);
    }
    eprintln!("ms per round: {rounds:.1?}");
    (median(rounds), coalesced)
}

fn main() {
    let year_stride = Duration::seconds(365 * 86_400 / SCHEDULES as i64);
    let utc = cases(&[Tz::UTC], at("2024-01-08T00:00:00Z"), year_stride);
    let mixed = cases(
        &[Tz::UTC, Tz::Europe__Berlin, Tz::America__New_York, Tz::Australia__Lord_Howe],
        at("2024-01-08T00:00:00Z"),
        year_stride,
    );
    // 1,000 passes 7 minutes apart end within 5 days of the first, so every outage spans the
    // change 1-2 days before the first pass.
    let spring = cases(&[Tz::Europe__Berlin], at("2024-04-01T12:00:00Z"), Duration::minutes(7));
    let fall = cases(&[Tz::Europe__Berlin], at("2024-10-28T12:00:00Z"), Duration::minutes(7));

    let (utc_ms, utc_sum) = run(&utc);
    let (mixed_ms, mixed_sum) = run(&mixed);
    let (spring_ms, spring_sum) = run(&spring);
    let (fall_ms, fall_sum) = run(&fall);
    println!("catchup_utc_ms_median={utc_ms:.2}");
    println!("catchup_mixed_ms_median={mixed_ms:.2}");
    println!("catchup_spring_ms_median={spring_ms:.2}");
    println!("catchup_fall_ms_median={fall_ms:.2}");
    println!("coalesced_sum={}", utc_sum + mixed_sum + spring_sum + fall_sum);
}
