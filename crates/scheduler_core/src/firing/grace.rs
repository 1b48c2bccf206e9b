//! What a due pass does with one due schedule (PRODUCT.md, "Firing", "Grace").
//!
//! Let T be the latest occurrence at or before now. Within the grace period the schedule
//! fires once, for T, and older missed occurrences are coalesced (counted, not fired). Beyond
//! it, T is recorded as missed. Either way the schedule moves to the first occurrence after
//! now.

use chrono::{DateTime, Duration, Utc};

use crate::time::recurrence::Recurrence;

/// Upper bound on the coalesced count of a cron schedule; see
/// [`Recurrence::occurrences_in`]. Interval and one-time counts are exact.
///
/// The cap no longer protects the CPU: cron counts are arithmetic on whole local days and walk
/// only the hour or so around a DST change, so their cost grows with the days missed, not with
/// the occurrences (a week of `* * * * *` is microseconds). It stays at 10,000 because that is
/// the documented answer ("counting of coalesced cron occurrences stops at 10,000"); raising it
/// would only change how far an exact count reaches.
pub const COALESCE_COUNT_CAP: u64 = 10_000;

/// Fire for `scheduled_for`, or record it as missed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DueOutcome {
    /// Fire once for `scheduled_for`; `coalesced` earlier occurrences were skipped.
    Fire { scheduled_for: DateTime<Utc>, coalesced: u64 },
    /// `scheduled_for` is older than the grace period: log `schedule_missed`, record a
    /// `missed` execution; `coalesced` earlier occurrences were skipped as well.
    Missed { scheduled_for: DateTime<Utc>, coalesced: u64 },
}

impl DueOutcome {
    pub fn scheduled_for(&self) -> DateTime<Utc> {
        match self {
            DueOutcome::Fire { scheduled_for, .. } | DueOutcome::Missed { scheduled_for, .. } => *scheduled_for,
        }
    }

    pub fn coalesced(&self) -> u64 {
        match self {
            DueOutcome::Fire { coalesced, .. } | DueOutcome::Missed { coalesced, .. } => *coalesced,
        }
    }
}

/// The decision for one due schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DueDecision {
    pub outcome: DueOutcome,
    /// The first occurrence strictly after now; `None` when there is none (a one-time
    /// schedule, or a cron expression that never fires again): deactivate.
    pub next_execution_at: Option<DateTime<Utc>>,
}

/// Decides what to do with a schedule whose `next_execution_at` (`stored_next`) is due.
///
/// The caller guarantees `stored_next <= now`. `stored_next` need not be an occurrence (the
/// config may have changed since it was computed): when no occurrence lies in
/// `[stored_next, now]`, `stored_next` itself is the due instant.
pub fn decide_due(
    recurrence: &Recurrence,
    stored_next: DateTime<Utc>,
    now: DateTime<Utc>,
    grace: Duration,
) -> DueDecision {
    let due = match recurrence.latest_at_or_before(now) {
        Some(latest) if latest >= stored_next => latest,
        _ => stored_next,
    };
    let coalesced = recurrence.occurrences_in(stored_next, due, COALESCE_COUNT_CAP);
    let outcome = if now - due <= grace {
        DueOutcome::Fire { scheduled_for: due, coalesced }
    } else {
        DueOutcome::Missed { scheduled_for: due, coalesced }
    };
    DueDecision { outcome, next_execution_at: recurrence.next_after(now) }
}

#[cfg(test)]
mod tests {
    use std::rc::Rc;

    use chrono_tz::Tz;

    use super::*;
    use crate::time::cron::CronSchedule;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn cron(expr: &str, tz: Tz) -> Recurrence {
        Recurrence::Cron { schedule: Rc::new(CronSchedule::parse(expr).unwrap()), tz }
    }

    const GRACE: i64 = 15;

    fn grace() -> Duration {
        Duration::minutes(GRACE)
    }

    #[test]
    fn on_time_fire() {
        let r = cron("*/5 * * * *", Tz::UTC);
        let stored = utc("2024-05-01T10:05:00Z");
        let now = utc("2024-05-01T10:05:00.250Z");
        let d = decide_due(&r, stored, now, grace());
        assert_eq!(d.outcome, DueOutcome::Fire { scheduled_for: stored, coalesced: 0 });
        assert_eq!(d.next_execution_at, Some(utc("2024-05-01T10:10:00Z")));
    }

    #[test]
    fn late_fire_within_grace_coalesces_older_occurrences() {
        let r = cron("*/5 * * * *", Tz::UTC);
        // Down from 10:05 to 10:27: 10:05, 10:10, 10:15, 10:20 missed, 10:25 is T (2 min old).
        let d = decide_due(&r, utc("2024-05-01T10:05:00Z"), utc("2024-05-01T10:27:00Z"), grace());
        assert_eq!(d.outcome, DueOutcome::Fire { scheduled_for: utc("2024-05-01T10:25:00Z"), coalesced: 4 });
        assert_eq!(d.next_execution_at, Some(utc("2024-05-01T10:30:00Z")));
    }

    #[test]
    fn exactly_at_the_grace_boundary_still_fires() {
        let r = cron("0 9 * * *", Tz::UTC);
        let t = utc("2024-05-01T09:00:00Z");
        let d = decide_due(&r, t, t + grace(), grace());
        assert!(matches!(d.outcome, DueOutcome::Fire { .. }));
        let d = decide_due(&r, t, t + grace() + Duration::microseconds(1), grace());
        assert_eq!(d.outcome, DueOutcome::Missed { scheduled_for: t, coalesced: 0 });
        assert_eq!(d.next_execution_at, Some(utc("2024-05-02T09:00:00Z")));
    }

    #[test]
    fn beyond_grace_is_missed_and_counts_earlier_ones() {
        let r = cron("0 9 * * *", Tz::UTC);
        // Down for three days; T = 2024-05-04 09:00 is 3 hours old.
        let d = decide_due(&r, utc("2024-05-01T09:00:00Z"), utc("2024-05-04T12:00:00Z"), grace());
        assert_eq!(d.outcome, DueOutcome::Missed { scheduled_for: utc("2024-05-04T09:00:00Z"), coalesced: 3 });
        assert_eq!(d.next_execution_at, Some(utc("2024-05-05T09:00:00Z")));
        assert_eq!(d.outcome.coalesced(), 3);
        assert_eq!(d.outcome.scheduled_for(), utc("2024-05-04T09:00:00Z"));
    }

    #[test]
    fn cron_coalescing_is_capped() {
        let r = cron("* * * * *", Tz::UTC);
        let d = decide_due(&r, utc("2024-01-01T00:00:00Z"), utc("2024-03-01T00:00:30Z"), grace());
        assert_eq!(
            d.outcome,
            DueOutcome::Fire { scheduled_for: utc("2024-03-01T00:00:00Z"), coalesced: COALESCE_COUNT_CAP }
        );
    }

    #[test]
    fn stale_next_after_a_config_change() {
        // stored_next came from an older config and is not an occurrence of this one.
        let r = cron("0 9 * * *", Tz::UTC);
        // No occurrence in [stored, now]: stored itself is due.
        let stored = utc("2024-05-01T10:17:00Z");
        let d = decide_due(&r, stored, utc("2024-05-01T10:20:00Z"), grace());
        assert_eq!(d.outcome, DueOutcome::Fire { scheduled_for: stored, coalesced: 0 });
        assert_eq!(d.next_execution_at, Some(utc("2024-05-02T09:00:00Z")));
        // An occurrence in [stored, now]: it wins; stored itself is not counted.
        let d = decide_due(&r, utc("2024-05-01T08:30:00Z"), utc("2024-05-01T09:05:00Z"), grace());
        assert_eq!(d.outcome, DueOutcome::Fire { scheduled_for: utc("2024-05-01T09:00:00Z"), coalesced: 0 });
    }

    #[test]
    fn interval_coalescing_is_exact_past_the_cron_cap() {
        let anchor = utc("2024-01-01T00:00:00.5Z");
        let r = Recurrence::Interval { every_seconds: 1, anchor };
        // Down for 30 days at one fire per second: 2,592,000 occurrences, counted in O(1).
        let stored = anchor + Duration::seconds(1);
        let now = anchor + Duration::days(30) + Duration::milliseconds(200);
        let d = decide_due(&r, stored, now, grace());
        let t = anchor + Duration::days(30);
        assert_eq!(d.outcome, DueOutcome::Fire { scheduled_for: t, coalesced: 2_591_999 });
        assert_eq!(d.next_execution_at, Some(t + Duration::seconds(1)));
    }

    #[test]
    fn interval_beyond_grace() {
        let anchor = utc("2024-01-01T00:00:00Z");
        let r = Recurrence::Interval { every_seconds: 3600, anchor };
        let stored = anchor + Duration::hours(1);
        let now = anchor + Duration::hours(5) + Duration::minutes(20);
        let d = decide_due(&r, stored, now, grace());
        assert_eq!(d.outcome, DueOutcome::Missed { scheduled_for: anchor + Duration::hours(5), coalesced: 4 });
        assert_eq!(d.next_execution_at, Some(anchor + Duration::hours(6)));
    }

    #[test]
    fn one_time_fires_then_has_no_next() {
        let at = utc("2024-05-01T12:00:00Z");
        let r = Recurrence::OneTime { at };
        let d = decide_due(&r, at, at + Duration::seconds(3), grace());
        assert_eq!(d.outcome, DueOutcome::Fire { scheduled_for: at, coalesced: 0 });
        assert_eq!(d.next_execution_at, None);
        let d = decide_due(&r, at, at + Duration::hours(2), grace());
        assert_eq!(d.outcome, DueOutcome::Missed { scheduled_for: at, coalesced: 0 });
        assert_eq!(d.next_execution_at, None);
    }

    #[test]
    fn dst_overlap_coalescing_counts_both_passes() {
        // Europe/Berlin 2024-10-27: 02:00-02:59 happens twice (00:00Z-00:59Z and 01:00Z-01:59Z).
        let r = cron("30 * * * *", Tz::Europe__Berlin);
        let stored = utc("2024-10-26T23:30:00Z"); // 01:30 CEST
        let now = utc("2024-10-27T02:40:00Z"); // 03:40 CET
        let d = decide_due(&r, stored, now, grace());
        // 01:30 CEST, 02:30 CEST (00:30Z), 02:30 CET (01:30Z) coalesced; 03:30 CET fires.
        assert_eq!(d.outcome, DueOutcome::Fire { scheduled_for: utc("2024-10-27T02:30:00Z"), coalesced: 3 });
    }
}
