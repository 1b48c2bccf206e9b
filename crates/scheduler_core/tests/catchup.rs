//! The fast count of missed cron occurrences (`Recurrence::occurrences_in`) against the plain
//! walk it replaces: `next_after` from occurrence to occurrence.
//!
//! Random expressions in the contract's syntax (dense ones, fixed-time ones, `L`/`W`/`#`
//! days), random windows of up to two weeks with sub-second ends, half of them starting shortly
//! before a DST change, in zones with one-hour, 30-minute, negative, two-hour and midnight
//! changes. A fixed LCG seed, so a failure reproduces.

use std::rc::Rc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use scheduler_core::{parse_timezone, CronSchedule, Recurrence};

mod common;
use common::{transitions, zones_with_transitions, Lcg};

const ZONES: [&str; 10] = [
    "Europe/Berlin",
    "America/New_York",
    "Australia/Lord_Howe", // 30-minute change
    "Pacific/Chatham",     // +12:45 / +13:45
    "UTC",
    "Europe/Dublin",    // negative DST in the tz database
    "America/Santiago", // changes at midnight local
    "America/Havana",   // changes at midnight local
    "Antarctica/Troll", // two-hour change
    "Asia/Kathmandu",   // +05:45, no change
];

/// One field of a random expression: `*` often (so expressions fire often enough to count
/// many occurrences), else a value, range, step, wrap-around range or list.
fn gen_clock_field(rng: &mut Lcg, size: u64) -> String {
    let v = |rng: &mut Lcg| rng.below(size);
    match rng.below(8) {
        0 | 1 => "*".to_string(),
        2 => format!("*/{}", 1 + rng.below(size / 2)),
        3 => v(rng).to_string(),
        4 => format!("{}-{}", v(rng), v(rng)), // wraps around when the start is larger
        5 => format!("{}-{}/{}", v(rng), v(rng), 2 + rng.below(5)),
        6 => format!("{}/{}", v(rng), 1 + rng.below(size / 3)),
        _ => format!("{},{},{}", v(rng), v(rng), v(rng)),
    }
}

fn gen_expression(rng: &mut Lcg) -> String {
    // A quarter are fixed-time jobs (one minute, one hour): the DST rules differ for them.
    // Half of those run in the small hours, where the DST changes happen.
    let (minute, hour) = if rng.below(4) == 0 {
        let hour = if rng.below(2) == 0 { rng.below(4) } else { rng.below(24) };
        (rng.below(60).to_string(), hour.to_string())
    } else {
        (gen_clock_field(rng, 60), gen_clock_field(rng, 24))
    };
    let dom = match rng.below(10) {
        0..=5 => "*".to_string(),
        6 => rng.choose(&["L", "LW", "$", "15W", "1W", "?"]).to_string(),
        7 => format!("{}-{}", 1 + rng.below(31), 1 + rng.below(31)),
        8 => format!("*/{}", 2 + rng.below(10)),
        _ => format!("{},{}", 1 + rng.below(31), 1 + rng.below(31)),
    };
    let month = match rng.below(6) {
        0..=3 => "*".to_string(),
        4 => rng.choose(&["JAN-MAR", "oct,nov", "3-10", "11-2", "*/2", "mar,apr,oct,nov"]).to_string(),
        _ => (1 + rng.below(12)).to_string(),
    };
    let dow = match rng.below(10) {
        0..=5 => "*".to_string(),
        6 => rng.choose(&["MON-FRI", "SAT,SUN", "5-1", "0", "7", "?", "FRI-SUN"]).to_string(),
        7 => format!("{}L", rng.below(7)),
        8 => format!("{}#{}", rng.below(7), 1 + rng.below(5)),
        _ => format!("{}-{}", rng.below(7), rng.below(7)),
    };
    format!("{minute} {hour} {dom} {month} {dow}")
}

/// The walk the fast count replaces, stopping at `cap`.
fn walk_count(r: &Recurrence, from: DateTime<Utc>, to: DateTime<Utc>, cap: u64) -> u64 {
    let mut count = 0;
    let mut next = r.next_after(from - Duration::microseconds(1));
    while let Some(t) = next {
        if t >= to || count >= cap {
            break;
        }
        count += 1;
        next = r.next_after(t);
    }
    count
}

#[test]
fn fast_count_equals_the_walk() {
    let mut rng = Lcg(0xca7c_0b5e);
    let zones = zones_with_transitions(&ZONES);
    let year_start = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
    let (mut checked, mut rejected, mut at_cap, mut total) = (0, 0, 0, 0);
    let mut failures = Vec::new();
    while checked < 3000 {
        let expr = gen_expression(&mut rng);
        let Ok(schedule) = CronSchedule::parse(&expr) else {
            rejected += 1; // e.g. `31W`; the parser's own tests cover rejections
            continue;
        };
        let schedule = Rc::new(schedule);
        let (tz, changes) = &zones[checked % zones.len()];
        let r = Recurrence::Cron { schedule, tz: *tz };
        for sample in 0..2 {
            // Half the windows start up to 36 hours before a DST change (where the zone has
            // one), so the change lies inside them before a dense expression reaches the cap.
            let start = if sample == 0 && !changes.is_empty() {
                let change = changes[rng.below(changes.len() as u64) as usize];
                change - Duration::seconds(rng.below(36 * 3600) as i64)
            } else {
                year_start + Duration::seconds(rng.below(2 * 365 * 86_400) as i64)
            };
            let from = start + Duration::microseconds(rng.below(3) as i64 * 500_000);
            let length = match rng.below(4) {
                0 => Duration::seconds(rng.below(3 * 3600) as i64),
                _ => Duration::seconds(rng.below(14 * 86_400) as i64),
            };
            let to = from + length + Duration::microseconds(rng.below(2) as i64 * 250_000);
            // Mostly the due pass's own cap; sometimes a small one, to check the stop.
            let cap = if rng.below(5) == 0 { 1 + rng.below(50) } else { 10_000 };
            let want = walk_count(&r, from, to, cap);
            let got = r.occurrences_in(from, to, cap);
            checked += 1;
            total += want;
            at_cap += u64::from(want == cap);
            if got != want {
                failures.push(format!("`{expr}` in {tz} over [{from}, {to}) cap {cap}: fast {got}, walk {want}"));
            }
        }
    }
    assert!(failures.is_empty(), "{} of {checked} windows differ:\n{}", failures.len(), failures.join("\n"));
    assert!(rejected < checked / 4, "{rejected} expressions rejected");
    assert!(total > 500_000, "only {total} occurrences counted ({at_cap} windows at the cap)");
    eprintln!("{checked} windows, {total} occurrences, {at_cap} at the cap, {rejected} expressions rejected");
}

#[test]
fn a_skipped_day_and_far_windows() {
    let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
    // Pacific/Apia skipped 2011-12-30; Pacific/Kiritimati moved by a day on 1995-01-01.
    let cases = [
        ("Pacific/Apia", "2011-12-25T00:00:00Z", "2012-01-05T00:00:00Z"),
        ("Pacific/Kiritimati", "1994-12-28T00:00:00Z", "1995-01-04T00:00:00Z"),
        ("Europe/Berlin", "2023-01-01T00:00:00Z", "2026-01-01T00:00:00Z"),
    ];
    let exprs = ["* * * * *", "0 12 * * *", "30 23 * * *", "*/20 0-2 * * *", "0 0 * * *", "0 0 29 2 *", "0 9 L * *"];
    for (zone, from, to) in cases {
        let tz = parse_timezone(zone).unwrap();
        for expr in exprs {
            let r = Recurrence::Cron { schedule: Rc::new(CronSchedule::parse(expr).unwrap()), tz };
            let (from, to) = (at(from), at(to));
            // The cap keeps the walk of the dense ones short over three years.
            let cap = 50_000;
            assert_eq!(r.occurrences_in(from, to, cap), walk_count(&r, from, to, cap), "`{expr}` in {zone}");
        }
    }
}

/// Every DST change of 2024 in the zones above, for fixed-time and hour-bound jobs at the
/// times a change skips or repeats (and around them), over four days centred on the change.
#[test]
fn every_change_of_2024_around_its_hour() {
    let mut compared = 0;
    for zone in ZONES {
        let tz = parse_timezone(zone).unwrap();
        for change in transitions(tz).into_iter().filter(|c| c.format("%Y").to_string() == "2024") {
            // The local hours just before and after the change.
            let before = (change - Duration::minutes(1)).with_timezone(&tz).format("%H").to_string();
            let after = change.with_timezone(&tz).format("%H").to_string();
            let hours: Vec<u32> = [&before, &after].iter().map(|h| h.parse::<u32>().unwrap()).collect();
            let mut exprs = Vec::new();
            for hour in [hours[0], (hours[0] + 1) % 24, hours[1], (hours[1] + 23) % 24] {
                for minute in [0, 15, 30, 44, 45, 59] {
                    exprs.push(format!("{minute} {hour} * * *"));
                }
                exprs.push(format!("*/10 {hour} * * *"));
                exprs.push(format!("* {hour} * * *"));
            }
            exprs.push("* * * * *".to_string());
            for expr in exprs {
                let r = Recurrence::Cron { schedule: Rc::new(CronSchedule::parse(&expr).unwrap()), tz };
                let (from, to) = (change - Duration::days(2), change + Duration::days(2));
                let want = walk_count(&r, from, to, u64::MAX);
                assert_eq!(r.occurrences_in(from, to, u64::MAX), want, "`{expr}` in {zone} around {change}");
                compared += 1;
            }
        }
    }
    assert!(compared >= 500, "{compared}");
}
