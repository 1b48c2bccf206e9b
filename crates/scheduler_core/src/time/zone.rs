//! Time zone names and local-time resolution.
//!
//! One rule for local wall-clock times is shared by the whole crate (PRODUCT.md, "Time
//! semantics"): a local time that falls in a spring-forward gap means the first instant after
//! the gap, and a local time repeated by a fall-back means its first (earlier) pass.

use chrono::{DateTime, LocalResult, NaiveDateTime, TimeZone, Timelike, Utc};
use chrono_tz::{Tz, TZ_VARIANTS};

use crate::error::ScheduleError;

/// Parses an IANA time zone name.
///
/// The exact name is the fast path. A case-insensitive match (`europe/berlin`) is accepted
/// too and returns the canonical zone, whose `name()` is the properly spelled IANA name.
pub fn parse_timezone(name: &str) -> Result<Tz, ScheduleError> {
    if let Ok(tz) = name.parse::<Tz>() {
        return Ok(tz);
    }
    // Why a scan: chrono-tz only offers case-insensitive lookup behind a cargo feature that
    // pulls in another crate; ~600 string compares on an error-ish path is cheap enough.
    if !name.is_empty() {
        if let Some(tz) = TZ_VARIANTS.iter().find(|tz| tz.name().eq_ignore_ascii_case(name)) {
            return Ok(*tz);
        }
    }
    Err(ScheduleError::InvalidTimezone(name.to_string()))
}

/// Resolves a local wall-clock time in `tz` to an instant.
///
/// - a time that exists once is that instant;
/// - a repeated time (fall-back) is its first pass;
/// - a time inside a gap (spring-forward, or a skipped day such as Pacific/Apia 2011-12-30)
///   is the first instant after the gap.
///
/// Returns `None` only if the time is outside chrono's range.
pub fn resolve_local(tz: Tz, local: NaiveDateTime) -> Option<DateTime<Utc>> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => Some(t.with_timezone(&Utc)),
        LocalResult::Ambiguous(earlier, _) => Some(earlier.with_timezone(&Utc)),
        LocalResult::None => first_instant_after_gap(tz, local),
    }
}

/// The first instant whose local time in `tz` is later than `local`, for a `local` that lies
/// in a gap: that instant is the end of the gap.
///
/// Why a bisection: chrono-tz does not expose its transition table. Local time is
/// `instant + offset(instant)`, and offsets stay within -12h..+14h, so `local - 15h` (read as
/// UTC) is certainly before the gap and `local + 13h` certainly after it. About 17 offset
/// lookups find the transition to the second; only gap times pay for this.
pub fn first_instant_after_gap(tz: Tz, local: NaiveDateTime) -> Option<DateTime<Utc>> {
    let local_of = |secs: i64| -> Option<NaiveDateTime> {
        let utc = DateTime::<Utc>::from_timestamp(secs, 0)?;
        Some(utc.with_timezone(&tz).naive_local())
    };
    let base = local.and_utc().timestamp();
    let mut before = base.checked_sub(15 * 3600)?; // local_of(before) < local
    let mut after = base.checked_add(13 * 3600)?; // local_of(after) > local
    if local_of(before)? >= local || local_of(after)? <= local {
        return None;
    }
    while after - before > 1 {
        let middle = before + (after - before) / 2;
        if local_of(middle)? > local {
            after = middle;
        } else {
            before = middle;
        }
    }
    DateTime::<Utc>::from_timestamp(after, 0)
}

/// Truncates an instant to its whole second. Cron occurrences are whole seconds, so comparing
/// against the truncated instant gives the same answer and keeps sub-second noise (Postgres
/// `now()` has microseconds) out of croner's fold logic.
pub(crate) fn floor_to_second(t: DateTime<Utc>) -> DateTime<Utc> {
    t.with_nanosecond(0).unwrap_or(t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn naive(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, mo, d).unwrap().and_hms_opt(h, mi, 0).unwrap()
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn exact_and_case_insensitive_names() {
        assert_eq!(parse_timezone("Europe/Berlin").unwrap(), Tz::Europe__Berlin);
        assert_eq!(parse_timezone("UTC").unwrap(), Tz::UTC);
        let tz = parse_timezone("america/new_york").unwrap();
        assert_eq!(tz.name(), "America/New_York");
        assert_eq!(parse_timezone("EUROPE/DUBLIN").unwrap().name(), "Europe/Dublin");
    }

    #[test]
    fn unknown_names_are_rejected() {
        for bad in ["", " ", "Mars/Olympus", "Europe/Berlin ", "+02:00", "CEST"] {
            match parse_timezone(bad) {
                Err(ScheduleError::InvalidTimezone(name)) => assert_eq!(name, bad),
                other => panic!("{bad:?}: {other:?}"),
            }
        }
        assert!(parse_timezone("Nowhere/Land").unwrap_err().to_string().starts_with("Invalid timezone: Nowhere/Land"));
    }

    #[test]
    fn local_times_resolve_by_the_shared_rule() {
        let ny = Tz::America__New_York;
        // Plain time.
        assert_eq!(resolve_local(ny, naive(2024, 7, 1, 9, 0)), Some(utc("2024-07-01T13:00:00Z")));
        // Gap: 2024-03-10 02:00 EST -> 03:00 EDT; 02:30 means 03:00 EDT.
        assert_eq!(resolve_local(ny, naive(2024, 3, 10, 2, 30)), Some(utc("2024-03-10T07:00:00Z")));
        // Overlap: 2024-11-03 01:30 happens at 05:30Z (EDT) and 06:30Z (EST); first pass.
        assert_eq!(resolve_local(ny, naive(2024, 11, 3, 1, 30)), Some(utc("2024-11-03T05:30:00Z")));
        // Skipped day: Pacific/Apia jumped from 2011-12-29 24:00 (-10) to 2011-12-31 00:00 (+14).
        assert_eq!(resolve_local(Tz::Pacific__Apia, naive(2011, 12, 30, 12, 0)), Some(utc("2011-12-30T10:00:00Z")));
        // Lord Howe 30-minute gap: 2024-10-06 02:00 -> 02:30 (+11).
        assert_eq!(
            resolve_local(Tz::Australia__Lord_Howe, naive(2024, 10, 6, 2, 10)),
            Some(utc("2024-10-05T15:30:00Z"))
        );
    }

    #[test]
    fn floor_drops_sub_seconds_only() {
        let t = utc("2024-01-01T00:00:05.999999Z");
        assert_eq!(floor_to_second(t), utc("2024-01-01T00:00:05Z"));
        assert_eq!(floor_to_second(utc("2024-01-01T00:00:05Z")), utc("2024-01-01T00:00:05Z"));
    }
}
