//! Leap days, `L`, `W`, `#`, day-of-week numbering and DOM/DOW OR semantics.

mod common;

use common::{assert_latest, assert_next, utc};
use scheduler_core::CronSchedule;

#[test]
fn leap_day_fires_only_in_leap_years() {
    assert_next(
        "0 0 29 2 *",
        "UTC",
        "2023-01-01T00:00:00Z",
        &["2024-02-29T00:00:00Z", "2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z"],
    );
    // 2100 is not a leap year: an eight-year gap.
    assert_next("0 0 29 2 *", "UTC", "2096-03-01T00:00:00Z", &["2104-02-29T00:00:00Z"]);
    assert_latest("0 0 29 2 *", "UTC", "2027-06-01T00:00:00Z", Some("2024-02-29T00:00:00Z"));
    // In a zone: local midnight of Feb 29 in Tokyo.
    assert_next("0 0 29 2 *", "Asia/Tokyo", "2024-01-01T00:00:00Z", &["2024-02-28T15:00:00Z"]);
}

#[test]
fn last_day_of_february() {
    assert_next(
        "0 0 L 2 *",
        "UTC",
        "2023-01-01T00:00:00Z",
        &["2023-02-28T00:00:00Z", "2024-02-29T00:00:00Z", "2025-02-28T00:00:00Z"],
    );
    assert_next("0 0 L 2 *", "UTC", "2100-01-01T00:00:00Z", &["2100-02-28T00:00:00Z"]);
    assert_next("0 0 L 2 *", "UTC", "2400-01-01T00:00:00Z", &["2400-02-29T00:00:00Z"]);
    // Last weekday (Mon-Fri): 2024-02-29 Thu; 2025-02-28 Fri; 2026-02-28 is a Saturday -> 27th.
    assert_next(
        "0 0 LW 2 *",
        "UTC",
        "2024-01-01T00:00:00Z",
        &["2024-02-29T00:00:00Z", "2025-02-28T00:00:00Z", "2026-02-27T00:00:00Z"],
    );
    // Last Friday of February 2024 (Fridays: 2, 9, 16, 23; the 29th is a Thursday).
    assert_next("0 0 * 2 5L", "UTC", "2024-01-01T00:00:00Z", &["2024-02-23T00:00:00Z"]);
    assert_next("0 0 * 2 FRIL", "UTC", "2024-01-01T00:00:00Z", &["2024-02-23T00:00:00Z"]);
}

#[test]
fn leap_day_with_weekday() {
    // OR: every Monday in February, plus the 29th.
    assert_next(
        "0 0 29 2 MON",
        "UTC",
        "2024-02-20T00:00:00Z",
        &["2024-02-26T00:00:00Z", "2024-02-29T00:00:00Z", "2025-02-03T00:00:00Z"],
    );
    // AND (`+`): Feb 29 falling on a Monday: 2016, then 2044.
    assert_next("0 0 29 2 +MON", "UTC", "2017-01-01T00:00:00Z", &["2044-02-29T00:00:00Z"]);
    // Fifth Monday of February exists only when a leap February starts on a Monday.
    assert_next("0 0 * 2 MON#5", "UTC", "2017-01-01T00:00:00Z", &["2044-02-29T00:00:00Z"]);
}

#[test]
fn never_firing_day_month_combinations() {
    for expr in ["0 0 30 2 *", "0 0 31 2 *", "0 0 31 4 *", "0 0 31 6,9,11 *", "0 0 30,31 2 *"] {
        let s = CronSchedule::parse(expr).unwrap();
        assert_eq!(s.next_after(utc("2024-01-01T00:00:00Z"), chrono_tz::Tz::UTC), None, "{expr}");
    }
    // One possible month is enough.
    assert_next("0 0 31 2,3 *", "UTC", "2024-01-01T00:00:00Z", &["2024-03-31T00:00:00Z"]);
}

#[test]
fn weekday_numbering_and_names() {
    // 2024-01-07 is a Sunday: 0, 7 and SUN are all Sunday.
    for expr in ["0 0 * * 0", "0 0 * * 7", "0 0 * * SUN", "0 0 * * sun"] {
        assert_next(expr, "UTC", "2024-01-01T00:00:00Z", &["2024-01-07T00:00:00Z"]);
    }
    assert_next(
        "0 0 * * FRI-SUN",
        "UTC",
        "2024-01-01T00:00:00Z",
        &["2024-01-05T00:00:00Z", "2024-01-06T00:00:00Z", "2024-01-07T00:00:00Z"],
    );
    assert_next("0 0 * * 5-7", "UTC", "2024-01-06T12:00:00Z", &["2024-01-07T00:00:00Z"]);
    assert_next("0 12 * DEC *", "UTC", "2024-01-01T00:00:00Z", &["2024-12-01T12:00:00Z"]);
}

#[test]
fn dom_dow_or_semantics() {
    // `*/2` counts as restricted, so day 1,3,5... OR Saturday.
    assert_next(
        "0 16 */2 * sat",
        "UTC",
        "2023-05-02T00:00:00Z",
        &["2023-05-03T16:00:00Z", "2023-05-05T16:00:00Z", "2023-05-06T16:00:00Z"],
    );
    // `?` is accepted as `*` in the day fields.
    assert_next("0 0 ? * MON", "UTC", "2024-01-02T00:00:00Z", &["2024-01-08T00:00:00Z"]);
}

#[test]
fn steps_and_ranges() {
    assert_next("*/35 * * * *", "UTC", "2024-01-01T00:01:00Z", &["2024-01-01T00:35:00Z", "2024-01-01T01:00:00Z"]);
    assert_next(
        "10-50/20 9-10 * * *",
        "UTC",
        "2024-01-01T00:00:00Z",
        &["2024-01-01T09:10:00Z", "2024-01-01T09:30:00Z", "2024-01-01T09:50:00Z", "2024-01-01T10:10:00Z"],
    );
    // A single-number step `5/15` runs to the end of the field, as croniter reads it (`5-59/15`).
    assert_next(
        "5/15 * * * *",
        "UTC",
        "2024-01-01T00:00:00Z",
        &[
            "2024-01-01T00:05:00Z",
            "2024-01-01T00:20:00Z",
            "2024-01-01T00:35:00Z",
            "2024-01-01T00:50:00Z",
            "2024-01-01T01:05:00Z",
        ],
    );
}
