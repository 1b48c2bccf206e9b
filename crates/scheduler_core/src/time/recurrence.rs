//! The three schedule types and their occurrence arithmetic.

use std::fmt;
use std::rc::Rc;

use chrono::{DateTime, Duration, Utc};
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
}

impl Recurrence {
    pub fn kind(&self) -> ScheduleKind {
        match self {
            Recurrence::Cron { .. } => ScheduleKind::Cron,
            Recurrence::Interval { .. } => ScheduleKind::Interval,
            Recurrence::OneTime { .. } => ScheduleKind::OneTime,
        }
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
        }
    }

    /// How many occurrences lie in `[from, to)`.
    ///
    /// Interval and one-time schedules are counted exactly in O(1). Cron schedules are
    /// counted by stepping through the occurrences, and the count stops at `cap` (so the
    /// answer is `min(true count, cap)`): a pass that finds a `* * * * *` schedule that was
    /// down for a month must not spend seconds counting 43,200 missed minutes.
    pub fn occurrences_in(&self, from: DateTime<Utc>, to: DateTime<Utc>, cap: u64) -> u64 {
        if to <= from {
            return 0;
        }
        match self {
            Recurrence::Cron { schedule, tz } => {
                let mut count = 0;
                // Occurrences are whole seconds: "> from - 1µs" is ">= from".
                let just_before = from.checked_sub_signed(Duration::microseconds(1)).unwrap_or(from);
                let mut next = schedule.next_after(just_before, *tz);
                while let Some(t) = next {
                    if t >= to || count >= cap {
                        break;
                    }
                    count += 1;
                    next = schedule.next_after(t, *tz);
                }
                count
            }
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
        }
    }
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
