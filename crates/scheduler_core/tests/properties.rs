//! Property-style checks against a brute-force oracle, over pseudo-random starts (a fixed
//! LCG, so failures reproduce) that cluster around DST changes.
//!
//! The oracle walks every UTC minute and applies the DST rule directly, with chrono-tz for
//! the UTC -> local conversion and croner only as a per-minute field matcher: it shares none
//! of the search code of `CronSchedule::next_after`.
//!
//! The second property (`random_expressions_agree_with_their_field_sets`) generates random
//! expressions in the contract's syntax and does without croner altogether: the generator
//! writes down which values each field selects, and the reference matches those sets.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use croner::parser::{CronParser, Seconds, Year};
use croner::{Cron, Weekday};
use scheduler_core::{parse_timezone, CronSchedule};

mod common;
use common::{transitions, zones_with_transitions, Lcg};

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

/// A random start time with random seconds and microseconds: within +-30 hours of one of
/// `changes` (a zone's DST changes) when `near_change` and there are any, else anywhere in
/// 2024-2025.
fn random_start(rng: &mut Lcg, changes: &[DateTime<Utc>], near_change: bool) -> DateTime<Utc> {
    let base = if near_change && !changes.is_empty() {
        let c = changes[rng.below(changes.len() as u64) as usize];
        c - Duration::hours(30) + Duration::seconds(rng.below(60 * 3600) as i64)
    } else {
        let range_start = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
        range_start + Duration::seconds(rng.below(2 * 365 * 86_400) as i64)
    };
    base + Duration::microseconds(rng.below(1_000_000) as i64)
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

/// Is the whole-minute instant `u` an occurrence, by the DST rule applied literally, given
/// which local times and dates match? Shared by both oracles below.
fn dst_rule_is_occurrence(
    time_matches: impl Fn(NaiveDateTime) -> bool,
    date_matches: impl Fn(NaiveDateTime) -> bool,
    fixed: bool,
    tz: Tz,
    u: DateTime<Utc>,
) -> bool {
    let l = local(tz, u);
    if time_matches(l) {
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
        if time_matches(m) {
            return date_matches(l);
        }
        m += Duration::minutes(1);
    }
    false
}

/// The DST rule on croner's own field matching.
fn oracle_is_occurrence(cron: &Cron, fixed: bool, tz: Tz, u: DateTime<Utc>) -> bool {
    dst_rule_is_occurrence(|l| cron.is_time_matching(&l).unwrap(), |l| date_matches(cron, l), fixed, tz, u)
}

#[test]
fn next_after_agrees_with_a_brute_force_oracle() {
    let mut rng = Lcg(0x5eed_2024);
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
                // Half the starts sit within +-30 hours of a DST change.
                let t = random_start(&mut rng, &changes, sample % 2 == 0);
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

// ---------------------------------------------------------------------------------------------
// Random expressions in the contract's syntax, against the field sets they denote.

/// The values one generated field selects, worked out from the form the generator chose (not
/// from the text, and not by any cron parser).
#[derive(Debug, Clone)]
struct FieldSet {
    /// Indexed by value: minute 0-59, hour 0-23, day 1-31, month 1-12, weekday 0-6 (Sunday 0).
    values: [bool; 60],
    /// `*` (or `?`), alone or in a list: unrestricted for the day-field rule.
    star: bool,
    /// `L` or `$` in day of month.
    last_day: bool,
    /// A step was written; croner's fixed-time test then says "not fixed" even for one value.
    stepped: bool,
}

/// Per field: smallest value, cycle length, and the largest value as written (7 for Sunday).
const FIELD_RANGE: [(u32, u32, u32); 5] = [(0, 60, 59), (0, 24, 23), (1, 31, 31), (1, 12, 12), (0, 7, 7)];
const GEN_MONTHS: [&str; 12] = ["jan", "FEB", "Mar", "apr", "MAY", "jun", "Jul", "aug", "SEP", "oct", "Nov", "dec"];
const GEN_DAYS: [&str; 7] = ["sun", "MON", "Tue", "wed", "THU", "fri", "Sat"];

struct Generated {
    text: String,
    fields: Vec<FieldSet>,
}

impl Generated {
    fn fixed_time(&self) -> bool {
        let single = |f: &FieldSet| f.values.iter().filter(|v| **v).count() == 1 && !f.stepped && !f.star;
        single(&self.fields[0]) && single(&self.fields[1])
    }

    fn time_matches(&self, l: NaiveDateTime) -> bool {
        self.fields[0].values[l.minute() as usize]
            && self.fields[1].values[l.hour() as usize]
            && self.date_matches(l.date())
    }

    /// Month, and the day-field rule: OR when both day fields are restricted, else AND.
    fn date_matches(&self, d: NaiveDate) -> bool {
        let (dom, dow) = (&self.fields[2], &self.fields[4]);
        let last = d.succ_opt().is_none_or(|next| next.month() != d.month());
        let dom_ok = dom.values[d.day() as usize] || (dom.last_day && last);
        let dow_ok = dow.values[d.weekday().num_days_from_sunday() as usize];
        let day_ok = if dom.star || dow.star { dom_ok && dow_ok } else { dom_ok || dow_ok };
        self.fields[3].values[d.month() as usize] && day_ok
    }
}

/// `a-b/step` as a walk: up to `b` directly, or when `a > b` on through the wrap, unrolled as
/// `a..=b + cycle` and folded back into the field.
fn walk(index: usize, a: u32, b: u32, step: u32) -> Vec<u32> {
    let (lo, cycle, _) = FIELD_RANGE[index];
    let end = if a <= b { b } else { b + cycle };
    let fold = |x: u32| if index == 4 { x % 7 } else { lo + (x - lo) % cycle };
    (a..=end).step_by(step as usize).map(fold).collect()
}

fn gen_value(rng: &mut Lcg, index: usize) -> (String, u32) {
    let (lo, _, hi) = FIELD_RANGE[index];
    let v = lo + rng.below(u64::from(hi - lo + 1)) as u32;
    let text = match index {
        3 if rng.below(2) == 0 => GEN_MONTHS[v as usize - 1].to_string(),
        4 if v < 7 && rng.below(2) == 0 => GEN_DAYS[v as usize].to_string(),
        _ => v.to_string(),
    };
    (text, v)
}

fn gen_step(rng: &mut Lcg, index: usize) -> u32 {
    let cycle = FIELD_RANGE[index].1;
    // Mostly short steps; sometimes one longer than the field (the start only).
    if rng.below(8) == 0 {
        cycle + 1 + rng.below(5) as u32
    } else {
        2 + rng.below(u64::from(cycle / 2)) as u32
    }
}

/// One list element: its text and the values it selects; `None` values means `*`.
fn gen_element(rng: &mut Lcg, index: usize, field: &mut FieldSet) -> String {
    let (lo, _, hi) = FIELD_RANGE[index];
    let add = |field: &mut FieldSet, values: Vec<u32>| {
        for v in values {
            field.values[v as usize] = true;
        }
    };
    match rng.below(9) {
        0 => {
            field.star = true;
            (if matches!(index, 2 | 4) && rng.below(3) == 0 { "?" } else { "*" }).to_string()
        }
        1 => {
            let (text, v) = gen_value(rng, index);
            add(field, walk(index, v, v, 1));
            text
        }
        2 if index == 2 => {
            field.last_day = true;
            (if rng.below(2) == 0 { "L" } else { "$" }).to_string()
        }
        2 if index == 4 => {
            // `SUN` ending a range: 7 after a Monday-or-later start, else 0.
            let (start_text, start) = gen_value(rng, index);
            let end = if start >= 1 { 7 } else { 0 };
            add(field, walk(index, start, end, 1));
            format!("{start_text}-Sun")
        }
        5 => {
            field.stepped = true;
            let step = gen_step(rng, index);
            add(field, (lo..=hi).step_by(step as usize).map(|v| if index == 4 { v % 7 } else { v }).collect());
            format!("*/{step}")
        }
        6 => {
            // `N/step` runs to the end of the field; day of week ends at 6.
            field.stepped = true;
            let (text, n) = gen_value(rng, index);
            let step = gen_step(rng, index);
            add(field, walk(index, n, if index == 4 { 6 } else { hi }, step));
            format!("{text}/{step}")
        }
        kind => {
            // Ranges, in order or wrapped, with a step half of the time.
            let (a_text, a) = gen_value(rng, index);
            let (b_text, b) = gen_value(rng, index);
            // A name `sun` at the end would follow the Sunday rule; write it as a number.
            let b_text = if index == 4 && b == 0 { "0".to_string() } else { b_text };
            let step = if kind % 2 == 0 { Some(gen_step(rng, index)) } else { None };
            field.stepped |= step.is_some();
            add(field, walk(index, a, b, step.unwrap_or(1)));
            match step {
                Some(step) => format!("{a_text}-{b_text}/{step}"),
                None => format!("{a_text}-{b_text}"),
            }
        }
    }
}

fn gen_field(rng: &mut Lcg, index: usize) -> (String, FieldSet) {
    let mut field = FieldSet { values: [false; 60], star: false, last_day: false, stepped: false };
    // A bare `*` often, so that expressions fire often enough to check many of them.
    if rng.below(3) == 0 {
        field.star = true;
        field.values = [true; 60];
        return ("*".to_string(), field);
    }
    let count = 1 + rng.below(3);
    let elements: Vec<String> = (0..count).map(|_| gen_element(rng, index, &mut field)).collect();
    if field.star {
        field.values = [true; 60];
        field.last_day = false;
    }
    (elements.join(","), field)
}

fn gen_expression(rng: &mut Lcg) -> Generated {
    let (texts, fields): (Vec<String>, Vec<FieldSet>) = (0..5).map(|index| gen_field(rng, index)).unzip();
    Generated { text: texts.join(" "), fields }
}

/// The DST rule on the generated field sets.
fn reference_is_occurrence(g: &Generated, fixed: bool, tz: Tz, u: DateTime<Utc>) -> bool {
    dst_rule_is_occurrence(|l| g.time_matches(l), |l| g.date_matches(l.date()), fixed, tz, u)
}

/// How far `u` may jump without skipping a minute that could be an occurrence, when every minute
/// up to the next local boundary `minutes_left` away is known not to be one. The jump is only
/// taken while the UTC offset is the same at both ends (no DST change in between), so local
/// time advances exactly as UTC does; near a change this halves down to single minutes.
fn safe_jump(tz: Tz, u: DateTime<Utc>, minutes_left: i64) -> Duration {
    let offset = |t: DateTime<Utc>| local(tz, t) - t.naive_utc();
    let mut jump = minutes_left.max(1);
    while jump > 1 && offset(u + Duration::minutes(jump)) != offset(u) {
        jump /= 2;
    }
    Duration::minutes(jump)
}

/// The first occurrence after `t` up to `limit` (inclusive), minute by minute, skipping local
/// days whose date does not match and local hours not in the hour set.
fn reference_next(g: &Generated, fixed: bool, tz: Tz, t: DateTime<Utc>, limit: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let mut u = DateTime::<Utc>::from_timestamp(t.timestamp() - t.timestamp().rem_euclid(60) + 60, 0).unwrap();
    while u <= limit {
        let l = local(tz, u);
        let minute_of_day = i64::from(l.hour() * 60 + l.minute());
        if !g.date_matches(l.date()) {
            u += safe_jump(tz, u, 1440 - minute_of_day);
            continue;
        }
        if reference_is_occurrence(g, fixed, tz, u) {
            return Some(u);
        }
        u += if g.fields[1].values[l.hour() as usize] {
            Duration::minutes(1)
        } else {
            safe_jump(tz, u, 60 - i64::from(l.minute()))
        };
    }
    None
}

/// Whether any date matches at all: 28 years repeat every weekday/leap-year combination.
fn reference_any_date(g: &Generated) -> bool {
    let mut d = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
    let end = NaiveDate::from_ymd_opt(2052, 1, 1).unwrap();
    while d < end {
        if g.date_matches(d) {
            return true;
        }
        d = d.succ_opt().unwrap();
    }
    false
}

#[test]
fn random_expressions_agree_with_their_field_sets() {
    let mut rng = Lcg(0xc20_5e7);
    let zones = zones_with_transitions(&ZONES);
    let (mut checked, mut never) = (0, 0);
    let mut failures = Vec::new();
    for _ in 0..1500 {
        let g = gen_expression(&mut rng);
        let expr = g.text.as_str();
        let schedule = match CronSchedule::parse(expr) {
            Ok(s) => s,
            Err(e) => {
                failures.push(format!("`{expr}`: {e}"));
                continue;
            }
        };
        let fixed = g.fixed_time();
        if schedule.is_fixed_time() != fixed {
            failures.push(format!("`{expr}`: is_fixed_time() = {}, sets say {fixed}", schedule.is_fixed_time()));
        }
        if schedule.can_fire() != reference_any_date(&g) {
            failures.push(format!("`{expr}`: can_fire() = {}", schedule.can_fire()));
            continue;
        }
        if !schedule.can_fire() {
            never += 1;
            continue;
        }
        let (tz, changes) = &zones[rng.below(zones.len() as u64) as usize];
        let tz = *tz;
        for sample in 0..2 {
            // One start near a DST change (where the zone has one), one anywhere in 2024-2025.
            let t = random_start(&mut rng, changes, sample == 0);
            checked += 1;
            let Some(n) = schedule.next_after(t, tz) else {
                failures.push(format!("`{expr}` {tz} after {t}: None"));
                continue;
            };
            let fail = |why: String| format!("`{expr}` {tz} after {t}: next {n}: {why}");
            match reference_next(&g, fixed, tz, t, n) {
                Some(r) if r == n => {}
                Some(r) => failures.push(fail(format!("the reference finds {r}"))),
                None => failures.push(fail("the reference says it is not an occurrence".into())),
            }
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
    assert!(checked >= 2500, "only {checked} samples ({never} expressions never fire)");
    assert!(failures.is_empty(), "{} failures over {checked} samples:\n{}", failures.len(), failures.join("\n"));
}
