//! Helpers shared by the integration tests.
#![allow(dead_code)]

use chrono::{DateTime, Utc};
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
