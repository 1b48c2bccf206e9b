//! Helpers shared by the integration tests.
#![allow(dead_code)]

use chrono::{DateTime, Duration, TimeZone, Utc};
use chrono_tz::Tz;
use scheduler_core::{parse_timezone, CronSchedule};

pub fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|e| panic!("bad test timestamp {text:?}: {e}"))
        .with_timezone(&Utc)
}

/// Asserts the successive occurrences of `expr` in `zone` after `start`, and that the
/// backward search agrees with each of them.
#[track_caller]
pub fn assert_next(expr: &str, zone: &str, start: &str, expected: &[&str]) {
    let tz = parse_timezone(zone).unwrap();
    let schedule = CronSchedule::parse(expr).unwrap();
    let mut after = utc(start);
    let mut got = Vec::new();
    for _ in expected {
        match schedule.next_after(after, tz) {
            Some(t) => {
                got.push(t.with_timezone(&tz).to_rfc3339());
                after = t;
            }
            None => {
                got.push("None".to_string());
                break;
            }
        }
    }
    let want: Vec<String> = expected.iter().map(|e| utc(e).with_timezone(&tz).to_rfc3339()).collect();
    assert_eq!(got, want, "`{expr}` in {zone} after {start}");
    for e in expected {
        let t = utc(e);
        assert_eq!(schedule.latest_at_or_before(t, tz), Some(t), "`{expr}` latest_at_or_before({e})");
    }
}

/// Asserts `latest_at_or_before(at)`.
#[track_caller]
pub fn assert_latest(expr: &str, zone: &str, at: &str, expected: Option<&str>) {
    let tz = parse_timezone(zone).unwrap();
    let schedule = CronSchedule::parse(expr).unwrap();
    let got = schedule.latest_at_or_before(utc(at), tz);
    assert_eq!(
        got.map(|t| t.with_timezone(&tz).to_rfc3339()),
        expected.map(|e| utc(e).with_timezone(&tz).to_rfc3339()),
        "`{expr}` in {zone}: latest_at_or_before({at})"
    );
}

/// A small deterministic generator for the property and fuzz tests: a fixed seed makes every
/// failure reproducible.
pub struct Lcg(pub u64);

impl Lcg {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// A random index into something of length `len`.
    pub fn index(&mut self, len: usize) -> usize {
        self.below(len as u64) as usize
    }

    pub fn choose<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.index(items.len())]
    }
}

/// The instants in 2024-2025 where `tz` changes its UTC offset (to the minute).
pub fn transitions(tz: Tz) -> Vec<DateTime<Utc>> {
    let offset = |t: DateTime<Utc>| t.with_timezone(&tz).naive_local() - t.naive_utc();
    let mut found = Vec::new();
    let mut t = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
    let end = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    while t < end {
        let next = t + Duration::hours(1);
        if offset(t) != offset(next) {
            let mut m = t;
            while offset(m) == offset(t) {
                m += Duration::minutes(1);
            }
            found.push(m);
        }
        t = next;
    }
    found
}

/// Each zone with its 2024-2025 offset changes, for tests that sample starts near them.
pub fn zones_with_transitions(names: &[&str]) -> Vec<(Tz, Vec<DateTime<Utc>>)> {
    names
        .iter()
        .map(|name| {
            let tz = parse_timezone(name).unwrap();
            (tz, transitions(tz))
        })
        .collect()
}
