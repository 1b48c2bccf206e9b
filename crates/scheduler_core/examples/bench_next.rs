//! In-process cost of the next-time computation, to compare with croniter
//! (`bench/croniter_next.py` runs the same expressions, zones and starts).
//!
//! Run: `cargo run --release -p scheduler_core --example bench_next`
//!
//! Prints one `name=value` line per metric, each the median of the rounds:
//! - `next_ns_median`: ns per `next_after` on a pre-parsed expression (what the worker does,
//!   with the parse cache warm);
//! - `parse_ns_median`: ns per `CronSchedule::parse`;
//! - `parse_next_ns_median`: ns per parse + `next_after` (croniter's usual pattern);
//! - `checksum`: sum of the answers' Unix seconds, so the two benchmarks can be checked to
//!   compute the same times.

use std::hint::black_box;
use std::time::Instant;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use scheduler_core::{parse_timezone, CronSchedule};

/// Keep in sync with bench/croniter_next.py.
const EXPRESSIONS: [&str; 10] = [
    "*/5 * * * *",
    "0 * * * *",
    "0 9 * * 1-5",
    "30 2 * * *",
    "0 0 1 * *",
    "15 14 1 * *",
    "0 22 * * 1-5",
    "*/15 9-17 * * 1-5",
    "0 0 * * 0",
    "0 6,18 * * *",
];
const ZONES: [&str; 5] = ["UTC", "America/New_York", "Europe/Berlin", "Asia/Kolkata", "Australia/Sydney"];
const STARTS: usize = 32;
const FIRST_START: i64 = 1_704_067_200; // 2024-01-01T00:00:00Z
const START_STRIDE: i64 = 1_972_837; // ~22.8 days: spreads starts over two years
const ROUNDS: usize = 7;
/// Repetitions of the whole mix inside one round, so a round lasts long enough to time.
const REPEAT_NEXT: usize = 40;
const REPEAT_PARSE: usize = 400;

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

fn main() {
    let zones: Vec<Tz> = ZONES.iter().map(|z| parse_timezone(z).expect("zone")).collect();
    let starts: Vec<DateTime<Utc>> = (0..STARTS as i64)
        .map(|i| DateTime::from_timestamp(FIRST_START + i * START_STRIDE, 0).expect("start"))
        .collect();
    let parsed: Vec<CronSchedule> = EXPRESSIONS.iter().map(|e| CronSchedule::parse(e).expect("expression")).collect();

    let mut checksum: i64 = 0;
    for schedule in &parsed {
        for tz in &zones {
            for start in &starts {
                checksum += schedule.next_after(*start, *tz).map_or(0, |t| t.timestamp());
            }
        }
    }

    let calls_next = (EXPRESSIONS.len() * ZONES.len() * STARTS * REPEAT_NEXT) as f64;
    let mut next_rounds = Vec::with_capacity(ROUNDS);
    for _ in 0..ROUNDS {
        let began = Instant::now();
        for _ in 0..REPEAT_NEXT {
            for schedule in &parsed {
                for tz in &zones {
                    for start in &starts {
                        black_box(black_box(schedule).next_after(black_box(*start), black_box(*tz)));
                    }
                }
            }
        }
        next_rounds.push(began.elapsed().as_nanos() as f64 / calls_next);
    }

    let calls_parse = (EXPRESSIONS.len() * REPEAT_PARSE) as f64;
    let mut parse_rounds = Vec::with_capacity(ROUNDS);
    for _ in 0..ROUNDS {
        let began = Instant::now();
        for _ in 0..REPEAT_PARSE {
            for expr in EXPRESSIONS {
                black_box(CronSchedule::parse(black_box(expr)).ok());
            }
        }
        parse_rounds.push(began.elapsed().as_nanos() as f64 / calls_parse);
    }

    // Parse + next, one parse per call, as `croniter(expr, start).get_next()` does.
    let calls_both = (EXPRESSIONS.len() * ZONES.len() * STARTS) as f64;
    let mut both_rounds = Vec::with_capacity(ROUNDS);
    for _ in 0..ROUNDS {
        let began = Instant::now();
        for expr in EXPRESSIONS {
            for tz in &zones {
                for start in &starts {
                    let schedule = CronSchedule::parse(black_box(expr)).ok();
                    black_box(schedule.and_then(|s| s.next_after(*start, *tz)));
                }
            }
        }
        both_rounds.push(began.elapsed().as_nanos() as f64 / calls_both);
    }

    eprintln!("next ns/op per round: {next_rounds:.0?}");
    eprintln!("parse ns/op per round: {parse_rounds:.0?}");
    eprintln!("parse+next ns/op per round: {both_rounds:.0?}");
    println!("next_ns_median={:.0}", median(next_rounds));
    println!("parse_ns_median={:.0}", median(parse_rounds));
    println!("parse_next_ns_median={:.0}", median(both_rounds));
    println!("checksum={checksum}");
}
