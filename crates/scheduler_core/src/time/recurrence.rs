//! The three schedule types and their occurrence arithmetic.

use std::fmt;
use std::rc::Rc;

use chrono::{DateTime, Datelike, Duration, NaiveDate, Offset, TimeZone, Utc};
use chrono_tz::Tz;

use crate::error::ScheduleError;
use crate::time::cache::CronCache;
use crate::time::cron::CronSchedule;
use crate::time::zone::parse_timezone;

/// `schedule_type` as stored in the table and accepted in `schedule_config`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScheduleKind {
    Cron,
    Interval,
    OneTime,
}

impl ScheduleKind {
    /// The stored spelling: `cron`, `interval` or `one_time`.
    pub fn as_str(self) -> &'static str {
        match self {
            ScheduleKind::Cron => "cron",
            ScheduleKind::Interval => "interval",
            ScheduleKind::OneTime => "one_time",
        }
    }

    /// Parses the exact stored spelling.
    pub fn parse(text: &str) -> Result<ScheduleKind, ScheduleError> {
        match text {
            "cron" => Ok(ScheduleKind::Cron),
            "interval" => Ok(ScheduleKind::Interval),
            "one_time" => Ok(ScheduleKind::OneTime),
            other => Err(ScheduleError::InvalidConfig(format!(
                "unknown schedule_type '{other}' (expected cron, interval or one_time)"
            ))),
        }
    }
}

impl fmt::Display for ScheduleKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The columns that define when a schedule fires, as stored in `workflow_schedules` (or as
/// `schedule_next` receives them). Every reader builds its `Recurrence` through here, so a
/// row is evaluated the same way wherever it is read.
#[derive(Debug, Clone, Copy)]
pub struct RecurrenceColumns<'a> {
    pub schedule_type: &'a str,
    pub cron_expression: Option<&'a str>,
    pub interval_seconds: Option<i32>,
    pub scheduled_time: Option<DateTime<Utc>>,
    pub timezone: &'a str,
    /// The interval grid's anchor.
    pub anchor_at: Option<DateTime<Utc>>,
}

impl RecurrenceColumns<'_> {
    /// Rejects a column that belongs to another schedule type, such as a `cron_expression`
    /// given with `schedule_type` `interval`: ignoring it would hide a mistake. Stored rows
    /// cannot have one (CHECK constraints); this is for callers such as `schedule_next`.
    pub fn check_fields_belong(&self) -> Result<(), ScheduleError> {
        let Ok(kind) = ScheduleKind::parse(self.schedule_type) else {
            return Ok(()); // `recurrence` reports the unknown type itself
        };
        let present = [
            ("cron_expression", ScheduleKind::Cron, self.cron_expression.is_some()),
            ("interval_seconds", ScheduleKind::Interval, self.interval_seconds.is_some()),
            ("scheduled_time", ScheduleKind::OneTime, self.scheduled_time.is_some()),
        ];
        match present.iter().find(|(_, owner, given)| *given && *owner != kind) {
            Some((key, owner, _)) => Err(ScheduleError::InvalidConfig(format!(
                "{key} does not apply to schedule_type {kind} (it belongs to schedule_type {owner})"
            ))),
            None => Ok(()),
        }
    }

    /// Checks the columns and builds the recurrence, parsing the expression through `cache`.
    pub fn recurrence(&self, cache: &mut CronCache) -> Result<Recurrence, ScheduleError> {
        match ScheduleKind::parse(self.schedule_type)? {
            ScheduleKind::Cron => {
                let expr = self.cron_expression.ok_or(ScheduleError::MissingField("cron_expression"))?;
                let tz = parse_timezone(self.timezone)?;
                let schedule = cache.get_or_parse(expr)?;
                Ok(Recurrence::Cron { schedule, tz })
            }
            ScheduleKind::Interval => {
                let every = self.interval_seconds.ok_or(ScheduleError::MissingField("interval_seconds"))?;
                if every < 1 {
                    return Err(ScheduleError::InvalidConfig(format!(
                        "interval_seconds must be 1 or more, got {every}"
                    )));
                }
                let anchor = self
                    .anchor_at
                    .ok_or_else(|| ScheduleError::InvalidConfig("interval anchor must be a finite timestamp".into()))?;
                Ok(Recurrence::Interval { every_seconds: i64::from(every), anchor })
            }
            ScheduleKind::OneTime => {
                let at = self.scheduled_time.ok_or(ScheduleError::MissingField("scheduled_time"))?;
                Ok(Recurrence::OneTime { at })
            }
        }
    }
}

/// A schedule's occurrences, ready to evaluate.
#[derive(Debug, Clone)]
pub enum Recurrence {
    /// A cron expression evaluated in its own time zone.
    Cron { schedule: Rc<CronSchedule>, tz: Tz },
    /// `anchor + k * every_seconds` for k = 1, 2, ... (never the anchor itself).
    Interval { every_seconds: i64, anchor: DateTime<Utc> },
    /// A single occurrence.
    OneTime { at: DateTime<Utc> },
    /// Another recurrence limited to `[start, end)` (`start_at`, `end_at`).
    Windowed { inner: Box<Recurrence>, start: Option<DateTime<Utc>>, end: Option<DateTime<Utc>> },
}

impl Recurrence {
    pub fn kind(&self) -> ScheduleKind {
        match self {
            Recurrence::Cron { .. } => ScheduleKind::Cron,
            Recurrence::Interval { .. } => ScheduleKind::Interval,
            Recurrence::OneTime { .. } => ScheduleKind::OneTime,
            Recurrence::Windowed { inner, .. } => inner.kind(),
        }
    }

    /// This recurrence with no occurrence before `start` nor at or after `end`.
    pub fn windowed(self, start: Option<DateTime<Utc>>, end: Option<DateTime<Utc>>) -> Recurrence {
        if start.is_none() && end.is_none() {
            return self;
        }
        Recurrence::Windowed { inner: Box::new(self), start, end }
    }

    /// The first occurrence strictly after `after`, or `None` if there is none.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Recurrence::Cron { schedule, tz } => schedule.next_after(after, *tz),
            Recurrence::Interval { every_seconds, anchor } => {
                let grid = Grid::new(*anchor, *every_seconds)?;
                // Smallest k >= 1 with anchor + k*every > after.
                let k = grid.floor_index(after)?.checked_add(1)?.max(1);
                grid.at(k)
            }
            Recurrence::OneTime { at } => (*at > after).then_some(*at),
            Recurrence::Windowed { inner, start, end } => {
                // Occurrences at or after `start`: search from just before it.
                let from = match start {
                    Some(start) if *start > after => *start - Duration::microseconds(1),
                    _ => after,
                };
                inner.next_after(from).filter(|next| end.is_none_or(|end| *next < end))
            }
        }
    }

    /// The latest occurrence at or before `t`, or `None` if there is none.
    pub fn latest_at_or_before(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Recurrence::Cron { schedule, tz } => schedule.latest_at_or_before(t, *tz),
            Recurrence::Interval { every_seconds, anchor } => {
                let grid = Grid::new(*anchor, *every_seconds)?;
                let k = grid.floor_index(t)?;
                if k < 1 {
                    None
                } else {
                    grid.at(k)
                }
            }
            Recurrence::OneTime { at } => (*at <= t).then_some(*at),
            Recurrence::Windowed { inner, start, end } => {
                let until = match end {
                    Some(end) if *end <= t => *end - Duration::microseconds(1),
                    _ => t,
                };
                inner.latest_at_or_before(until).filter(|latest| start.is_none_or(|start| *latest >= start))
            }
        }
    }

    /// How many occurrences lie in `[from, to)`, up to `cap`: the answer is
    /// `min(true count, cap)`.
    ///
    /// Interval and one-time schedules are counted exactly in O(1) (`cap` does not apply).
    /// Cron schedules are counted by arithmetic on local days wherever the UTC offset is
    /// steady, and by walking the occurrences one by one only within an hour or so of an
    /// offset change (see `count_cron`). The cost grows with the days in the window and
    /// the offset changes in it, not with the count, so a `* * * * *` schedule that was
    /// down for a week costs microseconds. The count still stops at `cap`.
    pub fn occurrences_in(&self, from: DateTime<Utc>, to: DateTime<Utc>, cap: u64) -> u64 {
        if to <= from {
            return 0;
        }
        match self {
            Recurrence::Cron { schedule, tz } => count_cron(schedule, *tz, from, to, cap),
            Recurrence::Interval { every_seconds, anchor } => {
                let Some(grid) = Grid::new(*anchor, *every_seconds) else {
                    return 0;
                };
                match (grid.ceil_index(from), grid.ceil_index(to)) {
                    (Some(first), Some(past_last)) => u64::try_from(past_last.saturating_sub(first)).unwrap_or(0),
                    _ => 0,
                }
            }
            Recurrence::OneTime { at } => u64::from(from <= *at && *at < to),
            Recurrence::Windowed { inner, start, end } => {
                let from = start.map_or(from, |start| from.max(start));
                let to = end.map_or(to, |end| to.min(end));
                inner.occurrences_in(from, to, cap)
            }
        }
    }
}

/// Offsets are probed this far apart when looking for a change of UTC offset. Why this cannot
/// miss a change and its undo: every offset in the tz database that chrono-tz 0.10 ships lasts
/// at least 167 hours (the shortest is Brazil's one-week DST of October 2000).
const OFFSET_PROBE_SECONDS: i64 = 6 * 3600;

/// How far the exact walk goes from the second pass of a repeated local time (after a
/// fall-back) before the arithmetic is tried again: one walk for the usual one-hour or
/// 30-minute change.
const WALK_SECONDS: i64 = 3600;

/// The longest stretch counted in one go, so that a count that reaches its cap early (a dense
/// schedule down for years) stops probing early too.
const STRETCH_SECONDS: i64 = 31 * 86_400;

/// Counts the occurrences of a cron schedule in `[from, to)`, up to `cap`, exactly as walking
/// them with `next_after` would.
///
/// Why it is exact: the DST rules (a time in a gap fires at the gap's end; a repeated time
/// fires on its first pass only, for a fixed-time job) only concern the instant that ends a
/// gap and the second pass of a repeated time. On a stretch with one UTC offset that holds
/// neither, an instant is an occurrence exactly when its local time matches the fields, so the
/// stretch is counted by arithmetic: per local date, "does the date match" times the matching
/// minutes of the day (|minute set| x |hour set|, fewer on a partial first or last day). Only
/// the instants around an offset change are walked with `next_after`, as before.
fn count_cron(schedule: &CronSchedule, tz: Tz, from: DateTime<Utc>, to: DateTime<Utc>, cap: u64) -> u64 {
    let Some(clock) = schedule.clock_sets() else {
        return count_by_walking(schedule, tz, from, to, cap);
    };
    if !schedule.can_fire() {
        return 0;
    }
    // Occurrences are whole seconds: "t >= from" is "t >= ceil(from)", and "t < to" is
    // "t < ceil(to)". From here on instants are Unix seconds.
    let (lo, hi) = (ceil_second(from), ceil_second(to));
    let mut count = 0;
    let mut cursor = lo;
    while cursor < hi && count < cap {
        let budget = cap - count;
        let (end, found) = match steady_stretch(tz, cursor, hi.min(cursor.saturating_add(STRETCH_SECONDS))) {
            Some((end, offset)) => (end, count_local_minutes(schedule, clock, cursor + offset, end + offset, budget)),
            None => {
                // After a gap only its end is special; a second pass lasts as long as the
                // change (usually an hour or 30 minutes).
                let walk = if is_first_pass(tz, cursor) { 1 } else { WALK_SECONDS };
                let end = hi.min(cursor.saturating_add(walk));
                let (Some(a), Some(b)) = (instant(cursor), instant(end)) else {
                    return count; // beyond chrono's range: nothing to count
                };
                (end, count_by_walking(schedule, tz, a.max(from), b.min(to), budget))
            }
        };
        count += found;
        cursor = end;
    }
    count.min(cap)
}

/// The plain walk: `next_after` from occurrence to occurrence, stopping at `cap`.
fn count_by_walking(schedule: &CronSchedule, tz: Tz, from: DateTime<Utc>, to: DateTime<Utc>, cap: u64) -> u64 {
    let mut count = 0;
    // Occurrences are whole seconds: "> from - 1µs" is ">= from".
    let just_before = from.checked_sub_signed(Duration::microseconds(1)).unwrap_or(from);
    let mut next = schedule.next_after(just_before, tz);
    while let Some(t) = next {
        if t >= to || count >= cap {
            break;
        }
        count += 1;
        next = schedule.next_after(t, tz);
    }
    count
}

/// The longest stretch `[start, end)`, `end <= limit`, with one UTC offset, and that offset;
/// `None` if `start` ends a gap or is the second pass of a repeated local time. Such a
/// stretch holds neither anywhere: both happen only right after an offset change.
fn steady_stretch(tz: Tz, start: i64, limit: i64) -> Option<(i64, i64)> {
    let offset = offset_at(tz, start)?;
    if offset_at(tz, start - 1)? != offset || !is_first_pass(tz, start) {
        return None;
    }
    // Probe ahead for a change of offset; bisect to the instant it happens.
    let mut probe = start;
    while probe < limit - 1 {
        let next = (probe + OFFSET_PROBE_SECONDS).min(limit - 1);
        if offset_at(tz, next)? != offset {
            let change = last_where(probe, next, |t| offset_at(tz, t) == Some(offset)) + 1;
            return Some((change, offset));
        }
        probe = next;
    }
    Some((limit, offset))
}

/// Given `holds(lo)` and `!holds(hi)`, a `t` in `[lo, hi)` with `holds(t)` and `!holds(t + 1)`.
fn last_where(mut lo: i64, mut hi: i64, holds: impl Fn(i64) -> bool) -> i64 {
    while hi - lo > 1 {
        let middle = lo + (hi - lo) / 2;
        if holds(middle) {
            lo = middle;
        } else {
            hi = middle;
        }
    }
    lo
}

/// How many whole local minutes in `[from, to)` (local time as seconds since 1970-01-01 00:00,
/// read as if it were UTC) match the schedule, counting no further than `budget`.
fn count_local_minutes(schedule: &CronSchedule, (minutes, hours): (u64, u32), from: i64, to: i64, budget: u64) -> u64 {
    const DAY: i64 = 1440;
    let per_hour = u64::from(minutes.count_ones());
    // Matching minutes of a day before minute-of-day `r` (0..=1440).
    let before = |r: i64| -> u64 {
        let (hour, minute) = (r / 60, r % 60);
        let full_hours = u64::from((hours & ((1u32 << hour) - 1)).count_ones()) * per_hour;
        let this_hour = if hour < 24 && hours & (1u32 << hour) != 0 {
            u64::from((minutes & ((1u64 << minute) - 1)).count_ones())
        } else {
            0
        };
        full_hours + this_hour
    };
    let first = from.div_euclid(60) + i64::from(from.rem_euclid(60) != 0); // ceil
    let past_last = to.div_euclid(60) + i64::from(to.rem_euclid(60) != 0);
    let mut count = 0;
    let mut day = first.div_euclid(DAY);
    while day * DAY < past_last && count < budget {
        let Some(date) = epoch_date(day) else { break };
        if !schedule.month_matches(date.month()) {
            // Skip the rest of the month: yearly and monthly jobs stay cheap over years.
            let Some(next_month) = first_of_next_month(date) else { break };
            day += (next_month - date).num_days();
            continue;
        }
        if schedule.day_matches(date) {
            let lo = (first - day * DAY).max(0);
            let hi = (past_last - day * DAY).min(DAY);
            count += before(hi) - before(lo);
        }
        day += 1;
    }
    count
}

fn epoch_date(day: i64) -> Option<NaiveDate> {
    // Day 0 is 1970-01-01, day 719,163 of the common era.
    NaiveDate::from_num_days_from_ce_opt(i32::try_from(day.checked_add(719_163)?).ok()?)
}

fn first_of_next_month(date: NaiveDate) -> Option<NaiveDate> {
    let (year, month) = if date.month() == 12 { (date.year() + 1, 1) } else { (date.year(), date.month() + 1) };
    NaiveDate::from_ymd_opt(year, month, 1)
}

/// The instant of Unix second `secs`.
fn instant(secs: i64) -> Option<DateTime<Utc>> {
    DateTime::<Utc>::from_timestamp(secs, 0)
}

/// The UTC offset of `tz` at Unix second `secs`, in seconds.
fn offset_at(tz: Tz, secs: i64) -> Option<i64> {
    let t = instant(secs)?;
    Some(i64::from(tz.offset_from_utc_datetime(&t.naive_utc()).fix().local_minus_utc()))
}

/// Whether Unix second `secs` is the first (or only) instant with its local time in `tz`.
fn is_first_pass(tz: Tz, secs: i64) -> bool {
    instant(secs).is_some_and(|t| {
        tz.from_local_datetime(&t.with_timezone(&tz).naive_local()).earliest() == Some(t.with_timezone(&tz))
    })
}

/// The smallest whole second at or after `t`, as Unix seconds.
fn ceil_second(t: DateTime<Utc>) -> i64 {
    t.timestamp() + i64::from(t.timestamp_subsec_nanos() != 0)
}

/// The interval grid in microseconds, Postgres's timestamp resolution. Integer arithmetic on
/// the anchor keeps every occurrence exactly on the grid: no drift, no floating point.
struct Grid {
    anchor: DateTime<Utc>,
    every_us: i64,
}

impl Grid {
    fn new(anchor: DateTime<Utc>, every_seconds: i64) -> Option<Grid> {
        let every_us = every_seconds.checked_mul(1_000_000)?;
        (every_us > 0).then_some(Grid { anchor, every_us })
    }

    fn offset_us(&self, t: DateTime<Utc>) -> Option<i64> {
        t.signed_duration_since(self.anchor).num_microseconds()
    }

    /// floor((t - anchor) / every): the index of the last grid point at or before `t`.
    fn floor_index(&self, t: DateTime<Utc>) -> Option<i64> {
        Some(self.offset_us(t)?.div_euclid(self.every_us))
    }

    /// The smallest k >= 1 with anchor + k*every >= t.
    fn ceil_index(&self, t: DateTime<Utc>) -> Option<i64> {
        let offset = self.offset_us(t)?;
        let ceil = offset.checked_neg()?.div_euclid(self.every_us).checked_neg()?;
        Some(ceil.max(1))
    }

    fn at(&self, k: i64) -> Option<DateTime<Utc>> {
        let offset = k.checked_mul(self.every_us)?;
        self.anchor.checked_add_signed(Duration::microseconds(offset))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn kind_round_trips() {
        for kind in [ScheduleKind::Cron, ScheduleKind::Interval, ScheduleKind::OneTime] {
            assert_eq!(ScheduleKind::parse(kind.as_str()).unwrap(), kind);
            assert_eq!(kind.to_string(), kind.as_str());
        }
        assert_eq!(
            ScheduleKind::parse("weekly").unwrap_err().to_string(),
            "Invalid schedule configuration: unknown schedule_type 'weekly' \
             (expected cron, interval or one_time)"
        );
        assert!(ScheduleKind::parse("CRON").is_err());
    }

    #[test]
    fn interval_stays_on_the_anchor_grid() {
        let anchor = utc("2024-03-01T10:00:00.123456Z");
        let r = Recurrence::Interval { every_seconds: 90, anchor };
        let step = Duration::seconds(90);
        // Before the anchor and at the anchor: the first point is anchor + every.
        assert_eq!(r.next_after(anchor - Duration::days(3)), Some(anchor + step));
        assert_eq!(r.next_after(anchor), Some(anchor + step));
        // Just before / on / after a grid point.
        let p7 = anchor + step * 7;
        assert_eq!(r.next_after(p7 - Duration::microseconds(1)), Some(p7));
        assert_eq!(r.next_after(p7), Some(anchor + step * 8));
        assert_eq!(r.latest_at_or_before(p7), Some(p7));
        assert_eq!(r.latest_at_or_before(p7 - Duration::microseconds(1)), Some(anchor + step * 6));
        assert_eq!(r.latest_at_or_before(anchor + step - Duration::microseconds(1)), None);
        assert_eq!(r.latest_at_or_before(anchor - Duration::days(1)), None);
        // A late worker (fired 17 s late, many times) never drifts off the grid.
        let mut t = anchor;
        for k in 1..=10_000 {
            let next = r.next_after(t + Duration::seconds(17)).unwrap();
            assert_eq!(next, anchor + step * k);
            assert_eq!(next.timestamp_subsec_micros(), 123_456);
            t = next;
        }
        // Far future: one year of 1-second steps is exact.
        let r1 = Recurrence::Interval { every_seconds: 1, anchor };
        let year = anchor + Duration::days(365) + Duration::microseconds(500);
        assert_eq!(r1.next_after(year), Some(anchor + Duration::days(365) + Duration::seconds(1)));
    }

    #[test]
    fn interval_rejects_nonsense_without_panicking() {
        let anchor = utc("2024-03-01T10:00:00Z");
        for every in [0, -5, i64::MAX] {
            let r = Recurrence::Interval { every_seconds: every, anchor };
            assert_eq!(r.next_after(anchor), None);
            assert_eq!(r.latest_at_or_before(anchor + Duration::days(1)), None);
            assert_eq!(r.occurrences_in(anchor, anchor + Duration::days(1), 10), 0);
        }
    }

    #[test]
    fn interval_counts_in_constant_time() {
        let anchor = utc("2024-01-01T00:00:00Z");
        let r = Recurrence::Interval { every_seconds: 60, anchor };
        let from = anchor + Duration::minutes(1); // occurrence k=1
                                                  // [k=1, k=1_000_001): one million, exact, not capped.
        let to = anchor + Duration::minutes(1_000_001);
        assert_eq!(r.occurrences_in(from, to, 10), 1_000_000);
        // Off-grid bounds.
        let from = anchor + Duration::seconds(61);
        let to = anchor + Duration::seconds(301);
        assert_eq!(r.occurrences_in(from, to, 10), 4); // 120, 180, 240, 300 s
    }

    #[test]
    fn one_time() {
        let at = utc("2030-01-01T00:00:00Z");
        let r = Recurrence::OneTime { at };
        assert_eq!(r.next_after(at - Duration::microseconds(1)), Some(at));
        assert_eq!(r.next_after(at), None);
        assert_eq!(r.latest_at_or_before(at), Some(at));
        assert_eq!(r.latest_at_or_before(at - Duration::seconds(1)), None);
        assert_eq!(r.occurrences_in(at, at + Duration::seconds(1), 5), 1);
        assert_eq!(r.occurrences_in(at - Duration::seconds(1), at, 5), 0);
        assert_eq!(r.kind(), ScheduleKind::OneTime);
    }

    #[test]
    fn cron_counts_with_a_cap() {
        let schedule = Rc::new(CronSchedule::parse("*/15 * * * *").unwrap());
        let r = Recurrence::Cron { schedule, tz: Tz::UTC };
        let from = utc("2024-01-01T00:00:00Z");
        assert_eq!(r.occurrences_in(from, utc("2024-01-01T01:00:00Z"), 100), 4);
        assert_eq!(r.occurrences_in(from + Duration::microseconds(1), utc("2024-01-01T01:00:00Z"), 100), 3);
        assert_eq!(r.occurrences_in(from, utc("2024-01-02T00:00:00Z"), 10), 10);
        assert_eq!(r.occurrences_in(from, from, 10), 0);
    }

    #[test]
    fn cron_counts_long_windows_exactly_across_dst() {
        let count = |expr: &str, tz: Tz, from: &str, to: &str| {
            let r = Recurrence::Cron { schedule: Rc::new(CronSchedule::parse(expr).unwrap()), tz };
            r.occurrences_in(utc(from), utc(to), u64::MAX)
        };
        let berlin = Tz::Europe__Berlin;
        // A local week of minutes; the spring week loses the skipped hour, the autumn week
        // repeats one (any 7 x 24 hours of UTC hold 10,080 whole minutes, DST or not).
        assert_eq!(count("* * * * *", Tz::UTC, "2024-05-01T00:00:00Z", "2024-05-08T00:00:00Z"), 10_080);
        assert_eq!(count("* * * * *", berlin, "2024-03-24T23:00:00Z", "2024-03-31T22:00:00Z"), 10_020);
        assert_eq!(count("* * * * *", berlin, "2024-10-20T22:00:00Z", "2024-10-27T23:00:00Z"), 10_140);
        assert_eq!(count("* * * * *", berlin, "2024-10-21T00:00:00Z", "2024-10-28T00:00:00Z"), 10_080);
        // Lord Howe's 30-minute gap (2024-10-06 02:00 -> 02:30), local week 10-03 to 10-10.
        assert_eq!(
            count("* * * * *", Tz::Australia__Lord_Howe, "2024-10-02T13:30:00Z", "2024-10-09T13:00:00Z"),
            10_050
        );
        // A fixed-time job fires once a day either way (03:00 CEST on 03-31, first pass on 10-27).
        assert_eq!(count("30 2 * * *", berlin, "2024-03-27T00:00:00Z", "2024-04-03T00:00:00Z"), 7);
        assert_eq!(count("30 2 * * *", berlin, "2024-10-23T00:00:00Z", "2024-10-30T00:00:00Z"), 7);
        // A wildcard job in the repeated hour fires on both passes and never in the gap.
        assert_eq!(count("*/15 2 * * *", berlin, "2024-03-27T00:00:00Z", "2024-04-03T00:00:00Z"), 24);
        assert_eq!(count("*/15 2 * * *", berlin, "2024-10-23T00:00:00Z", "2024-10-30T00:00:00Z"), 32);
        // Partial first and last days, sub-second bounds: 00:00:00.5 excludes 00:00, 10:00:00.5
        // includes 10:00.
        assert_eq!(count("0 * * * 1-5", Tz::UTC, "2024-05-03T00:00:00.5Z", "2024-05-06T10:00:00.5Z"), 23 + 11);
        // Years of a yearly job; a never-firing one.
        assert_eq!(count("0 0 29 2 *", Tz::UTC, "2000-01-01T00:00:00Z", "2100-01-01T00:00:00Z"), 25);
        assert_eq!(count("0 0 30 2 *", Tz::UTC, "2000-01-01T00:00:00Z", "2100-01-01T00:00:00Z"), 0);
    }

    #[test]
    fn a_column_of_another_type_is_a_mistake() {
        let columns = RecurrenceColumns {
            schedule_type: "interval",
            cron_expression: Some("* * * * *"),
            interval_seconds: Some(60),
            scheduled_time: None,
            timezone: "UTC",
            anchor_at: None,
        };
        assert_eq!(
            columns.check_fields_belong().unwrap_err().to_string(),
            "Invalid schedule configuration: cron_expression does not apply to schedule_type interval \
             (it belongs to schedule_type cron)"
        );
        let own = RecurrenceColumns { cron_expression: None, ..columns };
        assert!(own.check_fields_belong().is_ok());
    }
}
