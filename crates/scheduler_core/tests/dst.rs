//! DST behaviour in zones with unusual rules.
//!
//! Every expectation below was worked out by hand from the tz rules quoted in each test's
//! comment, not taken from the code under test. The rule (PRODUCT.md, "Time semantics"):
//! - a fixed-time job (one minute, one hour) whose time is in a gap fires at the first instant
//!   after the gap, and fires once (first pass) when its time is repeated;
//! - any other job skips gap minutes and fires on both passes of repeated minutes.

mod common;

use common::{assert_latest, assert_next};

// Australia/Lord_Howe: +10:30 standard, +11:00 summer (a 30-minute shift).
// 2024-04-07 02:00 LHDT -> 01:30 LHST (01:30-01:59 twice: 14:30Z.. and 15:00Z..).
// 2024-10-06 02:00 LHST -> 02:30 LHDT (02:00-02:29 missing; the gap ends at 15:30Z).
#[test]
fn lord_howe_half_hour_shift() {
    // Fixed-time in the gap -> 02:30 +11:00, the first instant after it.
    assert_next(
        "15 2 * * *",
        "Australia/Lord_Howe",
        "2024-10-05T12:00:00+10:30",
        &["2024-10-06T02:30:00+11:00", "2024-10-07T02:15:00+11:00"],
    );
    // Fixed-time in the overlap -> first pass only.
    assert_next(
        "45 1 * * *",
        "Australia/Lord_Howe",
        "2024-04-06T12:00:00+11:00",
        &["2024-04-07T01:45:00+11:00", "2024-04-08T01:45:00+10:30"],
    );
    // Wildcard over the gap: 02:00 and 02:15 do not exist.
    assert_next(
        "*/15 * * * *",
        "Australia/Lord_Howe",
        "2024-10-06T01:50:00+10:30",
        &["2024-10-06T02:30:00+11:00", "2024-10-06T02:45:00+11:00", "2024-10-06T03:00:00+11:00"],
    );
    // Wildcard over the overlap: 01:30 and 01:45 fire on both passes.
    assert_next(
        "*/15 * * * *",
        "Australia/Lord_Howe",
        "2024-04-07T01:20:00+11:00",
        &[
            "2024-04-07T01:30:00+11:00",
            "2024-04-07T01:45:00+11:00",
            "2024-04-07T01:30:00+10:30",
            "2024-04-07T01:45:00+10:30",
            "2024-04-07T02:00:00+10:30",
        ],
    );
    // Backward: during the second pass, the fixed job's latest run is the first pass.
    assert_latest("45 1 * * *", "Australia/Lord_Howe", "2024-04-07T01:50:00+10:30", Some("2024-04-07T01:45:00+11:00"));
    assert_latest("45 1 * * *", "Australia/Lord_Howe", "2024-04-07T01:40:00+10:30", Some("2024-04-07T01:45:00+11:00"));
    // Backward across the gap: just before it the latest is the previous day's run.
    assert_latest("15 2 * * *", "Australia/Lord_Howe", "2024-10-06T01:59:59+10:30", Some("2024-10-05T02:15:00+10:30"));
    assert_latest("15 2 * * *", "Australia/Lord_Howe", "2024-10-06T02:40:00+11:00", Some("2024-10-06T02:30:00+11:00"));
}

// America/Santiago: DST at midnight.
// 2024-04-07 00:00 -03 -> 2024-04-06 23:00 -04 (23:00-23:59 on the 6th happen twice).
// 2024-09-08 00:00 -04 -> 01:00 -03 (local midnight of the 8th does not exist).
#[test]
fn santiago_midnight_transitions() {
    // A midnight job on the change day runs at 01:00, the first instant of the day.
    assert_next(
        "0 0 * * *",
        "America/Santiago",
        "2024-09-07T12:00:00-04:00",
        &["2024-09-08T01:00:00-03:00", "2024-09-09T00:00:00-03:00"],
    );
    // The day (a Sunday) still matches after the gap.
    assert_next(
        "0 0 * * SUN",
        "America/Santiago",
        "2024-09-07T00:00:00-04:00",
        &["2024-09-08T01:00:00-03:00", "2024-09-15T00:00:00-03:00"],
    );
    // Fixed-time in the repeated hour: once, on the -03 pass.
    assert_next(
        "30 23 * * *",
        "America/Santiago",
        "2024-04-06T12:00:00-03:00",
        &["2024-04-06T23:30:00-03:00", "2024-04-07T23:30:00-04:00"],
    );
    // Wildcard: 00:00 and 00:30 are skipped.
    assert_next(
        "*/30 * * * *",
        "America/Santiago",
        "2024-09-07T23:15:00-04:00",
        &["2024-09-07T23:30:00-04:00", "2024-09-08T01:00:00-03:00", "2024-09-08T01:30:00-03:00"],
    );
    // Wildcard: 23:00 fires on both passes.
    assert_next(
        "0 * * * *",
        "America/Santiago",
        "2024-04-06T22:30:00-03:00",
        &["2024-04-06T23:00:00-03:00", "2024-04-06T23:00:00-04:00", "2024-04-07T00:00:00-04:00"],
    );
}

// America/Havana: 2024-03-10 00:00 CST -> 01:00 CDT; 2024-11-03 01:00 CDT -> 00:00 CST
// (so the midnight hour of 2024-11-03 happens twice).
#[test]
fn havana_midnight_gap_and_repeated_midnight() {
    assert_next(
        "0 0 * * *",
        "America/Havana",
        "2024-03-09T12:00:00-05:00",
        &["2024-03-10T01:00:00-04:00", "2024-03-11T00:00:00-04:00"],
    );
    assert_next(
        "0 0 * * *",
        "America/Havana",
        "2024-11-02T12:00:00-04:00",
        &["2024-11-03T00:00:00-04:00", "2024-11-04T00:00:00-05:00"],
    );
    assert_next(
        "*/30 0 * * *",
        "America/Havana",
        "2024-11-02T23:45:00-04:00",
        &[
            "2024-11-03T00:00:00-04:00",
            "2024-11-03T00:30:00-04:00",
            "2024-11-03T00:00:00-05:00",
            "2024-11-03T00:30:00-05:00",
            "2024-11-04T00:00:00-05:00",
        ],
    );
}

// Europe/Dublin: tzdata models IST (+01) as standard time and winter GMT as a negative DST
// offset. Wall clocks change like London's:
// 2024-03-31 01:00 GMT -> 02:00 IST; 2024-10-27 02:00 IST -> 01:00 GMT.
#[test]
fn dublin_negative_dst() {
    assert_next(
        "30 1 * * *",
        "Europe/Dublin",
        "2024-03-30T12:00:00+00:00",
        &["2024-03-31T02:00:00+01:00", "2024-04-01T01:30:00+01:00"],
    );
    assert_next(
        "30 1 * * *",
        "Europe/Dublin",
        "2024-10-26T12:00:00+01:00",
        &["2024-10-27T01:30:00+01:00", "2024-10-28T01:30:00+00:00"],
    );
    assert_next(
        "*/20 * * * *",
        "Europe/Dublin",
        "2024-03-31T00:50:00+00:00",
        &["2024-03-31T02:00:00+01:00", "2024-03-31T02:20:00+01:00"],
    );
    assert_next(
        "*/20 * * * *",
        "Europe/Dublin",
        "2024-10-27T00:50:00+01:00",
        &[
            "2024-10-27T01:00:00+01:00",
            "2024-10-27T01:20:00+01:00",
            "2024-10-27T01:40:00+01:00",
            "2024-10-27T01:00:00+00:00",
            "2024-10-27T01:20:00+00:00",
        ],
    );
    assert_latest("30 1 * * *", "Europe/Dublin", "2024-10-27T01:15:00+00:00", Some("2024-10-27T01:30:00+01:00"));
}

// Pacific/Chatham: +12:45 standard, +13:45 summer, changing at 02:45 local standard time.
// 2024-04-07 03:45 +13:45 -> 02:45 +12:45 (02:45-03:44 twice); 2024-09-29 02:45 -> 03:45.
#[test]
fn chatham_quarter_hour_offsets() {
    assert_next(
        "0 3 * * *",
        "Pacific/Chatham",
        "2024-09-28T12:00:00+12:45",
        &["2024-09-29T03:45:00+13:45", "2024-09-30T03:00:00+13:45"],
    );
    assert_next(
        "0 3 * * *",
        "Pacific/Chatham",
        "2024-04-06T12:00:00+13:45",
        &["2024-04-07T03:00:00+13:45", "2024-04-08T03:00:00+12:45"],
    );
    assert_next(
        "*/30 * * * *",
        "Pacific/Chatham",
        "2024-09-29T02:20:00+12:45",
        &["2024-09-29T02:30:00+12:45", "2024-09-29T04:00:00+13:45", "2024-09-29T04:30:00+13:45"],
    );
    assert_next(
        "*/30 * * * *",
        "Pacific/Chatham",
        "2024-04-07T02:20:00+13:45",
        &[
            "2024-04-07T02:30:00+13:45",
            "2024-04-07T03:00:00+13:45",
            "2024-04-07T03:30:00+13:45",
            "2024-04-07T03:00:00+12:45",
            "2024-04-07T03:30:00+12:45",
        ],
    );
}

// America/St_Johns: -03:30 / -02:30. 2024-03-10 02:00 -> 03:00; 2024-11-03 02:00 -> 01:00.
#[test]
fn st_johns_half_hour_zone() {
    assert_next(
        "30 2 * * *",
        "America/St_Johns",
        "2024-03-09T12:00:00-03:30",
        &["2024-03-10T03:00:00-02:30", "2024-03-11T02:30:00-02:30"],
    );
    assert_next(
        "30 1 * * *",
        "America/St_Johns",
        "2024-11-02T12:00:00-02:30",
        &["2024-11-03T01:30:00-02:30", "2024-11-04T01:30:00-03:30"],
    );
    // Two minute values: not a fixed-time job, so both gap times are skipped.
    assert_next(
        "0,30 2 * * *",
        "America/St_Johns",
        "2024-03-09T12:00:00-03:30",
        &["2024-03-11T02:00:00-02:30", "2024-03-11T02:30:00-02:30"],
    );
    assert_next(
        "0,30 1 * * *",
        "America/St_Johns",
        "2024-11-02T12:00:00-02:30",
        &[
            "2024-11-03T01:00:00-02:30",
            "2024-11-03T01:30:00-02:30",
            "2024-11-03T01:00:00-03:30",
            "2024-11-03T01:30:00-03:30",
            "2024-11-04T01:00:00-03:30",
        ],
    );
}

// Pacific/Apia skipped a whole day: 2011-12-29 24:00 (-10) became 2011-12-31 00:00 (+14),
// at 2011-12-30T10:00Z. Later: 2012-04-01 04:00 +14 -> 03:00 +13 (03:00-03:59 twice) and
// 2012-09-30 03:00 +13 -> 04:00 +14 (03:00-03:59 missing).
#[test]
fn apia_skipped_day() {
    // A fixed-time job whose run falls in the 24-hour gap runs when the gap ends (croner
    // alone gives up here: its gap search stops after 2 hours).
    assert_next(
        "0 12 * * *",
        "Pacific/Apia",
        "2011-12-29T13:00:00-10:00",
        &["2011-12-31T00:00:00+14:00", "2011-12-31T12:00:00+14:00", "2012-01-01T12:00:00+14:00"],
    );
    assert_next(
        "30 23 * * *",
        "Pacific/Apia",
        "2011-12-29T12:00:00-10:00",
        &["2011-12-29T23:30:00-10:00", "2011-12-31T00:00:00+14:00", "2011-12-31T23:30:00+14:00"],
    );
    // Wildcard jobs simply skip the day.
    assert_next(
        "0 */6 * * *",
        "Pacific/Apia",
        "2011-12-29T19:00:00-10:00",
        &["2011-12-31T00:00:00+14:00", "2011-12-31T06:00:00+14:00"],
    );
    // croner's rule, kept for long gaps too: the carried run must still match the day fields
    // on the date after the gap. 2011-12-30 was a Friday; the gap ends on Saturday.
    assert_next("0 12 * * FRI", "Pacific/Apia", "2011-12-29T13:00:00-10:00", &["2012-01-06T12:00:00+14:00"]);
    assert_latest("0 12 * * *", "Pacific/Apia", "2011-12-31T01:00:00+14:00", Some("2011-12-31T00:00:00+14:00"));
    assert_latest("0 12 * * *", "Pacific/Apia", "2011-12-29T23:59:59-10:00", Some("2011-12-29T12:00:00-10:00"));
    assert_latest("0 12 * * FRI", "Pacific/Apia", "2012-01-05T12:00:00+14:00", Some("2011-12-23T12:00:00-10:00"));
    // Ordinary DST afterwards.
    assert_next(
        "30 3 * * *",
        "Pacific/Apia",
        "2012-03-31T12:00:00+14:00",
        &["2012-04-01T03:30:00+14:00", "2012-04-02T03:30:00+13:00"],
    );
    assert_next(
        "30 3 * * *",
        "Pacific/Apia",
        "2012-09-29T12:00:00+13:00",
        &["2012-09-30T04:00:00+14:00", "2012-10-01T03:30:00+14:00"],
    );
}

// Zones without DST and with odd offsets.
#[test]
fn fixed_odd_offsets() {
    assert_next(
        "0 9 * * *",
        "Asia/Kathmandu",
        "2024-06-01T00:00:00Z",
        &["2024-06-01T09:00:00+05:45", "2024-06-02T09:00:00+05:45"],
    );
    assert_next("30 18 * * *", "Asia/Kolkata", "2024-06-01T00:00:00Z", &["2024-06-01T13:00:00Z"]);
    assert_next(
        "*/45 * * * *",
        "Asia/Kathmandu",
        "2024-06-01T23:50:00+05:45",
        &["2024-06-02T00:00:00+05:45", "2024-06-02T00:45:00+05:45"],
    );
}

// The brief's own example: `30 2 * * *` in New York on the change day runs at 03:00 EDT.
#[test]
fn new_york_brief_example() {
    assert_next(
        "30 2 * * *",
        "America/New_York",
        "2024-03-09T12:00:00-05:00",
        &["2024-03-10T03:00:00-04:00", "2024-03-11T02:30:00-04:00"],
    );
    assert_next(
        "30 1 * * *",
        "America/New_York",
        "2024-11-02T12:00:00-04:00",
        &["2024-11-03T01:30:00-04:00", "2024-11-04T01:30:00-05:00"],
    );
}
