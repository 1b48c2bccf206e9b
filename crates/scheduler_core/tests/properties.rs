//! Property-style checks against a brute-force oracle, over pseudo-random starts (a fixed
//! LCG, so failures reproduce) that cluster around DST changes.
//!
//! The oracle walks every UTC minute and applies the DST rule directly, with chrono-tz for
//! the UTC -> local conversion and croner only as a per-minute field matcher: it shares none
//! of the search code of `CronSchedule::next_after`.

use chrono::{DateTime, Datelike, Duration, NaiveDateTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use croner::parser::{CronParser, Seconds, Year};
use croner::{Cron, Weekday};
use scheduler_core::{parse_timezone, CronSchedule};

const ZONES: [&str; 9] = [
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "Australia/Lord_Howe",
    "America/Santiago",
    "Pacific/Chatham",
    "Europe/Dublin",
    "America/Havana",
    "Asia/Kathmandu",
];

const EXPRESSIONS: [&str; 12] = [
    "*/7 * * * *",
    "0 * * * *",
    "30 2 * * *",
    "15 1 * * *",
    "0 0 * * *",
    "*/15 1-3 * * *",
    "45 23 * * *",
    "0 3 * * *",
    "0 9 * * MON-FRI",
    "0,30 0-2 * * *",
    "5 4 * * SUN",
    "0 2 * * *",
];

struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// The instants in 2024-2025 where `tz` changes its UTC offset (to the minute).
fn transitions(tz: Tz) -> Vec<DateTime<Utc>> {
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

fn parse_croner(expr: &str) -> Cron {
    CronParser::builder().seconds(Seconds::Disallowed).year(Year::Disallowed).build().parse(expr).unwrap()
}

fn local(tz: Tz, u: DateTime<Utc>) -> NaiveDateTime {
    u.with_timezone(&tz).naive_local()
}

fn date_matches(cron: &Cron, l: NaiveDateTime) -> bool {
    let wd = Weekday::from_days_from_sunday(l.weekday().num_days_from_sunday());
    cron.pattern.month_match(l.month()).unwrap() && cron.pattern.day_match(l.year(), l.month(), l.day(), wd).unwrap()
}

/// Is the whole-minute instant `u` an occurrence, by the DST rule applied literally?
fn oracle_is_occurrence(cron: &Cron, fixed: bool, tz: Tz, u: DateTime<Utc>) -> bool {
    let l = local(tz, u);
    if cron.is_time_matching(&l).unwrap() {
        // Repeated wall-clock time: a fixed-time job fires on the first pass only.
        return !fixed || tz.from_local_datetime(&l).earliest().map(|e| e.with_timezone(&Utc)) == Some(u);
    }
    if !fixed {
        return false;
    }
    // A fixed-time job whose time was skipped by a gap ending at `u` fires at `u`.
    let before = local(tz, u - Duration::minutes(1));
    if l - before <= Duration::minutes(1) {
        return false;
    }
    let mut m = before + Duration::minutes(1);
    while m < l {
        if cron.is_time_matching(&m).unwrap() {
            return date_matches(cron, l);
        }
        m += Duration::minutes(1);
    }
    false
}

#[test]
fn next_after_agrees_with_a_brute_force_oracle() {
    let mut rng = Lcg(0x5eed_2024);
    let range_start = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
    let range_secs = 2 * 365 * 86_400;
    let mut checked = 0;
    let mut failures = Vec::new();
    for zone in ZONES {
        let tz = parse_timezone(zone).unwrap();
        let changes = transitions(tz);
        for expr in EXPRESSIONS {
            let schedule = CronSchedule::parse(expr).unwrap();
            let cron = parse_croner(expr);
            let fixed = schedule.is_fixed_time();
            for sample in 0..10 {
                // Half the starts sit within +-30 hours of a DST change, with random seconds
                // and microseconds.
                let base = if sample % 2 == 0 && !changes.is_empty() {
                    let c = changes[rng.below(changes.len() as u64) as usize];
                    c - Duration::hours(30) + Duration::seconds(rng.below(60 * 3600) as i64)
                } else {
                    range_start + Duration::seconds(rng.below(range_secs) as i64)
                };
                let t = base + Duration::microseconds(rng.below(1_000_000) as i64);
                checked += 1;
                let Some(n) = schedule.next_after(t, tz) else {
                    failures.push(format!("`{expr}` {zone} after {t}: None"));
                    continue;
                };
                let fail = |why: String| format!("`{expr}` {zone} after {t}: next {n}: {why}");
                if n <= t || n.second() != 0 || n.nanosecond() != 0 {
                    failures.push(fail("not a whole minute after t".into()));
                    continue;
                }
                if !oracle_is_occurrence(&cron, fixed, tz, n) {
                    failures.push(fail("oracle says it is not an occurrence".into()));
                }
                // No oracle occurrence strictly between t and n (scan at most 4 days).
                let mut u = DateTime::<Utc>::from_timestamp(t.timestamp() - t.timestamp() % 60 + 60, 0).unwrap();
                let scan_end = n.min(t + Duration::days(4));
                while u < scan_end {
                    if oracle_is_occurrence(&cron, fixed, tz, u) {
                        failures.push(fail(format!("oracle finds an earlier occurrence {u}")));
                        break;
                    }
                    u += Duration::minutes(1);
                }
                // The backward search agrees.
                if schedule.latest_at_or_before(n, tz) != Some(n) {
                    failures.push(fail("latest_at_or_before(next) != next".into()));
                }
                match schedule.latest_at_or_before(t, tz) {
                    Some(l) if l > t || schedule.next_after(l, tz) != Some(n) => {
                        failures.push(fail(format!("latest_at_or_before(t) = {l} is inconsistent")))
                    }
                    _ => {}
                }
            }
        }
    }
    assert!(checked >= 1000);
    assert!(failures.is_empty(), "{} of {checked} samples failed:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn the_oracle_itself_applies_the_rule() {
    let berlin = parse_timezone("Europe/Berlin").unwrap();
    let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
    let fixed = parse_croner("30 2 * * *");
    // Gap (2024-03-31 02:00 CET -> 03:00 CEST): the run moves to 03:00 CEST = 01:00Z.
    assert!(oracle_is_occurrence(&fixed, true, berlin, at("2024-03-31T01:00:00Z")));
    assert!(!oracle_is_occurrence(&fixed, true, berlin, at("2024-03-31T01:30:00Z")));
    // Overlap (2024-10-27): 02:30 CEST (00:30Z) yes, 02:30 CET (01:30Z) no.
    assert!(oracle_is_occurrence(&fixed, true, berlin, at("2024-10-27T00:30:00Z")));
    assert!(!oracle_is_occurrence(&fixed, true, berlin, at("2024-10-27T01:30:00Z")));
    // A wildcard job fires on both passes and not at the gap's end.
    let wild = parse_croner("30 * * * *");
    assert!(oracle_is_occurrence(&wild, false, berlin, at("2024-10-27T00:30:00Z")));
    assert!(oracle_is_occurrence(&wild, false, berlin, at("2024-10-27T01:30:00Z")));
    assert!(!oracle_is_occurrence(&wild, false, berlin, at("2024-03-31T01:00:00Z")));
}
