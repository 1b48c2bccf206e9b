//! The croniter / pg_cron forms of the contract: `SUN` at the end of a day-of-week range,
//! `N/step`, wrap-around ranges, `*` in a list, `$`, and fields that select nothing.
//!
//! Expected instants were computed by hand and cross-checked with a brute-force walk over the
//! field sets written out explicitly. 2024-01-01 is a Monday.

mod common;

use common::assert_next;
use scheduler_core::CronSchedule;

fn err(expr: &str) -> String {
    match CronSchedule::parse(expr) {
        Ok(_) => panic!("{expr:?} should be rejected"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn sunday_at_the_end_of_a_day_of_week_range() {
    let sundays = ["2024-01-07T00:00:00Z", "2024-01-14T00:00:00Z", "2024-01-21T00:00:00Z"];
    // SUN after a Sunday start is 0: Sunday only (croner alone read these as every day).
    assert_next("0 0 * * sun-sun", "UTC", "2024-01-01T00:00:00Z", &sundays);
    assert_next("0 0 * * 0-sun", "UTC", "2024-01-01T00:00:00Z", &sundays);
    assert_next("0 0 * * 7-7", "UTC", "2024-01-01T00:00:00Z", &sundays[..2]);
    // SUN after a Monday-or-later start is 7: the range reaches Sunday.
    assert_next(
        "0 0 * * sat-sun",
        "UTC",
        "2024-01-01T00:00:00Z",
        &["2024-01-06T00:00:00Z", "2024-01-07T00:00:00Z", "2024-01-13T00:00:00Z"],
    );
    let every_day = ["2024-01-06T00:00:00Z", "2024-01-07T00:00:00Z", "2024-01-08T00:00:00Z"];
    assert_next("0 0 * * mon-sun", "UTC", "2024-01-05T00:00:00Z", &every_day);
    assert_next("0 0 * * 0-7", "UTC", "2024-01-05T00:00:00Z", &every_day);
    let fri_to_sun = ["2024-01-05T00:00:00Z", "2024-01-06T00:00:00Z", "2024-01-07T00:00:00Z", "2024-01-12T00:00:00Z"];
    assert_next("0 0 * * 5-7", "UTC", "2024-01-01T00:00:00Z", &fri_to_sun);
    // The number 0 keeps its value: `5-0` wraps around to the same days.
    assert_next("0 0 * * 5-0", "UTC", "2024-01-01T00:00:00Z", &fri_to_sun);
    // SUN at the start is 0.
    assert_next(
        "0 0 * * sun-wed",
        "UTC",
        "2024-01-04T00:00:00Z",
        &[
            "2024-01-07T00:00:00Z",
            "2024-01-08T00:00:00Z",
            "2024-01-09T00:00:00Z",
            "2024-01-10T00:00:00Z",
            "2024-01-14T00:00:00Z",
        ],
    );
}

#[test]
fn single_number_steps_run_to_the_end_of_the_field() {
    assert_next(
        "10/15 * * * *",
        "UTC",
        "2024-01-01T00:00:00Z",
        &[
            "2024-01-01T00:10:00Z",
            "2024-01-01T00:25:00Z",
            "2024-01-01T00:40:00Z",
            "2024-01-01T00:55:00Z",
            "2024-01-01T01:10:00Z",
        ],
    );
    assert_next(
        "0 5/6 * * *",
        "UTC",
        "2024-01-01T00:00:00Z",
        &[
            "2024-01-01T05:00:00Z",
            "2024-01-01T11:00:00Z",
            "2024-01-01T17:00:00Z",
            "2024-01-01T23:00:00Z",
            "2024-01-02T05:00:00Z",
        ],
    );
    // Days 10, 20, 30; February 2024 has no 30th.
    assert_next(
        "0 0 10/10 * *",
        "UTC",
        "2024-02-01T00:00:00Z",
        &[
            "2024-02-10T00:00:00Z",
            "2024-02-20T00:00:00Z",
            "2024-03-10T00:00:00Z",
            "2024-03-20T00:00:00Z",
            "2024-03-30T00:00:00Z",
        ],
    );
    assert_next(
        "0 0 1 2/5 *",
        "UTC",
        "2024-01-01T00:00:00Z",
        &["2024-02-01T00:00:00Z", "2024-07-01T00:00:00Z", "2024-12-01T00:00:00Z", "2025-02-01T00:00:00Z"],
    );
    // Day of week ends at 6: `3/2` is Wednesday and Friday, not Sunday.
    assert_next(
        "0 0 * * 3/2",
        "UTC",
        "2024-01-01T00:00:00Z",
        &["2024-01-03T00:00:00Z", "2024-01-05T00:00:00Z", "2024-01-10T00:00:00Z"],
    );
    // `7/2` is `0/2`: Sunday, Tuesday, Thursday, Saturday.
    let even_days = [
        "2024-01-02T00:00:00Z",
        "2024-01-04T00:00:00Z",
        "2024-01-06T00:00:00Z",
        "2024-01-07T00:00:00Z",
        "2024-01-09T00:00:00Z",
    ];
    assert_next("0 0 * * 7/2", "UTC", "2024-01-01T00:00:00Z", &even_days);
    assert_next("0 0 * * 0/2", "UTC", "2024-01-01T00:00:00Z", &even_days);
    assert_next("0 0 * * SUN/2", "UTC", "2024-01-01T00:00:00Z", &even_days);
}

#[test]
fn wrap_around_ranges() {
    assert_next(
        "50-10 * * * *",
        "UTC",
        "2024-01-01T00:09:30Z",
        &["2024-01-01T00:10:00Z", "2024-01-01T00:50:00Z", "2024-01-01T00:51:00Z"],
    );
    assert_next(
        "0 22-2 * * *",
        "UTC",
        "2024-01-01T12:00:00Z",
        &[
            "2024-01-01T22:00:00Z",
            "2024-01-01T23:00:00Z",
            "2024-01-02T00:00:00Z",
            "2024-01-02T01:00:00Z",
            "2024-01-02T02:00:00Z",
            "2024-01-02T22:00:00Z",
        ],
    );
    // Days 28-31 then 1-3; February 2024 ends on the 29th.
    assert_next(
        "0 0 28-3 * *",
        "UTC",
        "2024-02-25T00:00:00Z",
        &[
            "2024-02-28T00:00:00Z",
            "2024-02-29T00:00:00Z",
            "2024-03-01T00:00:00Z",
            "2024-03-02T00:00:00Z",
            "2024-03-03T00:00:00Z",
            "2024-03-28T00:00:00Z",
        ],
    );
    assert_next(
        "0 0 1 nov-feb *",
        "UTC",
        "2024-03-15T00:00:00Z",
        &[
            "2024-11-01T00:00:00Z",
            "2024-12-01T00:00:00Z",
            "2025-01-01T00:00:00Z",
            "2025-02-01T00:00:00Z",
            "2025-11-01T00:00:00Z",
        ],
    );
    assert_next(
        "0 0 * * fri-mon",
        "UTC",
        "2024-01-01T00:00:00Z",
        &[
            "2024-01-05T00:00:00Z",
            "2024-01-06T00:00:00Z",
            "2024-01-07T00:00:00Z",
            "2024-01-08T00:00:00Z",
            "2024-01-12T00:00:00Z",
        ],
    );
    // In a zone, across a spring-forward gap: 02:00 CET on 2024-03-31 does not exist, and a
    // job with several hours skips it.
    assert_next(
        "0 22-2 * * *",
        "Europe/Berlin",
        "2024-03-30T12:00:00Z",
        &[
            "2024-03-30T21:00:00Z",
            "2024-03-30T22:00:00Z",
            "2024-03-30T23:00:00Z",
            "2024-03-31T00:00:00Z",
            "2024-03-31T20:00:00Z",
        ],
    );
}

#[test]
fn wrap_around_ranges_with_a_step_walk_through_the_wrap() {
    // 50, 55, then 60 is minute 0, 5, 10.
    assert_next(
        "50-10/5 * * * *",
        "UTC",
        "2024-01-01T00:00:00Z",
        &[
            "2024-01-01T00:05:00Z",
            "2024-01-01T00:10:00Z",
            "2024-01-01T00:50:00Z",
            "2024-01-01T00:55:00Z",
            "2024-01-01T01:00:00Z",
            "2024-01-01T01:05:00Z",
        ],
    );
    // 50, 57, then 64 is minute 4; 11 is past the end. (croniter says 5 here.)
    assert_next(
        "50-10/7 * * * *",
        "UTC",
        "2024-01-01T00:00:00Z",
        &["2024-01-01T00:04:00Z", "2024-01-01T00:50:00Z", "2024-01-01T00:57:00Z", "2024-01-01T01:04:00Z"],
    );
    // Hours 20, 23, then 26 is hour 2.
    assert_next(
        "0 20-4/3 * * *",
        "UTC",
        "2024-01-01T12:00:00Z",
        &["2024-01-01T20:00:00Z", "2024-01-01T23:00:00Z", "2024-01-02T02:00:00Z", "2024-01-02T20:00:00Z"],
    );
    // Days 28, 30, then 32 is day 1 (the walk counts 31 days whatever the month), 3.
    assert_next(
        "0 0 28-3/2 * *",
        "UTC",
        "2024-02-25T00:00:00Z",
        &[
            "2024-02-28T00:00:00Z",
            "2024-03-01T00:00:00Z",
            "2024-03-03T00:00:00Z",
            "2024-03-28T00:00:00Z",
            "2024-03-30T00:00:00Z",
            "2024-04-01T00:00:00Z",
        ],
    );
    // November, then 13 is January; 15 is past February.
    assert_next(
        "0 0 1 nov-feb/2 *",
        "UTC",
        "2024-03-15T00:00:00Z",
        &["2024-11-01T00:00:00Z", "2025-01-01T00:00:00Z", "2025-11-01T00:00:00Z"],
    );
    assert_next(
        "0 0 1 oct-mar/2 *",
        "UTC",
        "2024-03-15T00:00:00Z",
        &["2024-10-01T00:00:00Z", "2024-12-01T00:00:00Z", "2025-02-01T00:00:00Z", "2025-10-01T00:00:00Z"],
    );
    // Friday, then Sunday; Tuesday is past Monday.
    assert_next(
        "0 0 * * fri-mon/2",
        "UTC",
        "2024-01-01T00:00:00Z",
        &["2024-01-05T00:00:00Z", "2024-01-07T00:00:00Z", "2024-01-12T00:00:00Z"],
    );
    // Thursday, then Sunday.
    assert_next(
        "0 0 * * thu-tue/3",
        "UTC",
        "2024-01-01T00:00:00Z",
        &["2024-01-04T00:00:00Z", "2024-01-07T00:00:00Z", "2024-01-11T00:00:00Z"],
    );
}

#[test]
fn a_list_with_a_star_is_a_star() {
    assert_next("*,5 * * * *", "UTC", "2024-01-01T00:00:00Z", &["2024-01-01T00:01:00Z", "2024-01-01T00:02:00Z"]);
    assert_next("0 *,9 * * *", "UTC", "2024-01-01T00:00:00Z", &["2024-01-01T01:00:00Z", "2024-01-01T02:00:00Z"]);
    assert_next("0 0 1 jan,* *", "UTC", "2024-01-01T00:00:00Z", &["2024-02-01T00:00:00Z", "2024-03-01T00:00:00Z"]);
    assert_next("0 0 * * mon,*", "UTC", "2024-01-01T00:00:00Z", &["2024-01-02T00:00:00Z", "2024-01-03T00:00:00Z"]);
    // `*,15` is `*` for the day-field rule too: Mondays only, not every day.
    assert_next(
        "0 0 *,15 * mon",
        "UTC",
        "2024-01-01T00:00:00Z",
        &["2024-01-08T00:00:00Z", "2024-01-15T00:00:00Z", "2024-01-22T00:00:00Z"],
    );
    // Whereas `1-31` is restricted: day 1-31 OR Monday, every day.
    assert_next("0 0 1-31 * mon", "UTC", "2024-01-01T00:00:00Z", &["2024-01-02T00:00:00Z", "2024-01-03T00:00:00Z"]);
}

#[test]
fn dollar_is_the_last_day_of_the_month() {
    assert_next(
        "0 0 $ * *",
        "UTC",
        "2024-01-15T00:00:00Z",
        &["2024-01-31T00:00:00Z", "2024-02-29T00:00:00Z", "2024-03-31T00:00:00Z", "2024-04-30T00:00:00Z"],
    );
    assert_next(
        "0 12 1,$ * *",
        "UTC",
        "2024-02-02T00:00:00Z",
        &["2024-02-29T12:00:00Z", "2024-03-01T12:00:00Z", "2024-03-31T12:00:00Z"],
    );
    assert_next("0 12 $ * *", "UTC", "2024-01-15T00:00:00Z", &["2024-01-31T12:00:00Z", "2024-02-29T12:00:00Z"]);
    assert_next("0 0 $ 2 *", "UTC", "2023-01-01T00:00:00Z", &["2023-02-28T00:00:00Z", "2024-02-29T00:00:00Z"]);
    assert!(err("$ * * * *").contains("minute field '$': illegal character '$'"));
    assert!(err("0 0 * * $").contains("day-of-week field '$': illegal character '$'"));
    assert!(err("0 0 $W * *").contains("day-of-month field '$W': '$' must stand alone (it means L)"));
    assert!(err("0 0 1-$ * *").contains("'$' must stand alone"));
}

#[test]
fn the_forms_combine_in_a_zone() {
    // 13:10, 13:30, 13:50, 17:10, ... EDT (UTC-4) on Saturday 2024-10-26.
    assert_next(
        "10/20 9-17/4 * * sat-sun",
        "America/New_York",
        "2024-10-26T15:00:00Z",
        &[
            "2024-10-26T17:10:00Z",
            "2024-10-26T17:30:00Z",
            "2024-10-26T17:50:00Z",
            "2024-10-26T21:10:00Z",
            "2024-10-26T21:30:00Z",
            "2024-10-26T21:50:00Z",
        ],
    );
}

#[test]
fn fixed_time_classification_of_the_new_forms() {
    // Still one minute and one hour value, written with names or `$`.
    for expr in ["0 9 * * sun-sun", "30 2 $ * *", "0 9 * nov-feb fri-mon"] {
        assert!(CronSchedule::parse(expr).unwrap().is_fixed_time(), "{expr}");
    }
    for expr in ["0 22-2 * * *", "10/15 3 * * *", "50-10 3 * * *", "0 *,9 * * *"] {
        assert!(!CronSchedule::parse(expr).unwrap().is_fixed_time(), "{expr}");
    }
}

#[test]
fn fields_that_select_nothing_are_rejected_when_parsed() {
    assert_eq!(err(", * * * *"), "Invalid cron expression: minute field ',': empty list element (allowed: 0-59)");
    assert!(err("0 1,,2 * * *").starts_with("Invalid cron expression: hour field '1,,2': empty list element"));
    assert!(err("0 0 5, * *").starts_with("Invalid cron expression: day-of-month field '5,': empty list element"));
    assert!(err("0 0 * ,jan *").starts_with("Invalid cron expression: month field ',jan': empty list element"));
    assert!(err("0 0 * * mon,").starts_with("Invalid cron expression: day-of-week field 'mon,': empty list element"));
    assert!(err("0 0 * * +,").starts_with("Invalid cron expression: day-of-week field '+,': empty list element"));
    assert!(err("0 0 * * +").starts_with("Invalid cron expression: day-of-week field '+': no value after '+'"));
    // A bare `L` in day of week used to parse and match no day.
    assert!(err("0 0 * * L").starts_with("Invalid cron expression: day-of-week field 'L': 'L' alone names no weekday"));
    assert!(err("0 0 1 * l").contains("'L' alone names no weekday"));
}

#[test]
fn bad_values_in_the_new_forms_name_the_field() {
    assert!(err("50-70 * * * *").starts_with("Invalid cron expression: minute field '50-70': number out of bounds"));
    assert!(err("60/5 * * * *").contains("minute field '60/5': number out of bounds (allowed: 0-59)"));
    assert!(err("0 24-2 * * *").contains("hour field '24-2': number out of bounds"));
    assert!(err("0 0 32-3 * *").contains("day-of-month field '32-3'"));
    assert!(err("0 0 * 13/2 *").contains("month field '13/2'"));
    assert!(err("0 0 * * fri-8").contains("day-of-week field 'fri-8': number out of bounds"));
    assert!(err("0 0 * * 8/2").contains("day-of-week field '8/2'"));
    assert!(err("10/0 * * * *").contains("minute field '10/0': step cannot be zero"));
    assert!(err("50-10/ * * * *").contains("minute field '50-10/': invalid step"));
    assert!(err("0 0 * * fri-mon#6").contains("day-of-week field 'fri-mon#6'"));
    // Names stay in their own field, also in the new forms.
    assert!(err("0 0 * * jan-feb").contains("unknown name 'jan'"));
    assert!(err("0 0 * nov-fri *").contains("unknown name 'fri'"));
    // Still exactly 5 fields.
    assert!(err("0 10/15 * * * *").contains("got 6; a seconds field is not supported"));
}

#[test]
fn nth_weekday_applies_to_each_day_of_a_wrapped_range() {
    // Second Friday, Saturday, Sunday or Monday of January 2024: the 8th (Monday) first.
    assert_next(
        "0 0 * * fri-mon#2",
        "UTC",
        "2024-01-01T00:00:00Z",
        &["2024-01-08T00:00:00Z", "2024-01-12T00:00:00Z", "2024-01-13T00:00:00Z", "2024-01-14T00:00:00Z"],
    );
}

/// The examples of docs/migrating.md, "Differences that stay".
#[test]
fn differences_from_croniter_and_pg_cron_that_stay() {
    // `#` (and `W`) with a restricted day of month: still OR (croniter intersects).
    assert_next(
        "0 0 1 * mon#1",
        "UTC",
        "2024-01-01T00:00:00Z",
        &["2024-02-01T00:00:00Z", "2024-02-05T00:00:00Z", "2024-03-01T00:00:00Z", "2024-03-04T00:00:00Z"],
    );
    // `31W` skips months without a 31st (croniter clamps to the 30th: 2024-04-30).
    assert_next(
        "0 0 31W * *",
        "UTC",
        "2024-04-01T00:00:00Z",
        &["2024-05-31T00:00:00Z", "2024-07-31T00:00:00Z", "2024-08-30T00:00:00Z"],
    );
    // `a-a` is one value (croniter: the whole cycle).
    assert_next("5-5 * * * *", "UTC", "2024-01-01T00:00:00Z", &["2024-01-01T00:05:00Z", "2024-01-01T01:05:00Z"]);
    assert_next("0 0 1 jan-jan *", "UTC", "2024-01-01T00:00:00Z", &["2025-01-01T00:00:00Z"]);
    // Hours 22, then 1 (croniter: 22, 2).
    assert_next(
        "0 22-2/3 * * *",
        "UTC",
        "2024-01-01T12:00:00Z",
        &["2024-01-01T22:00:00Z", "2024-01-02T01:00:00Z", "2024-01-02T22:00:00Z"],
    );
    // A day field starting with `*` but not `*` is restricted (pg_cron: unrestricted).
    assert_next(
        "0 16 */2 * sat",
        "UTC",
        "2023-05-02T00:00:00Z",
        &["2023-05-03T16:00:00Z", "2023-05-05T16:00:00Z", "2023-05-06T16:00:00Z"],
    );
    // Spellings that are refused, with what to write instead.
    assert!(err("0 0 * * L5").contains("day-of-week field 'L5'"), "croniter's L5 is 5L here");
    assert!(err("0 0 28-L * *").contains("day-of-month field '28-L'"), "write 28-31");
    assert!(err("H * * * *").contains("unknown name 'H'"));
    assert!(err("R 9 * * *").contains("unknown name 'R'"));
    assert!(err("0 0 * * * 0").contains("got 6; a seconds field is not supported"));
    assert!(err("30 seconds").contains("got 2"));
    assert!(err("@reboot").contains("unknown macro '@reboot'"));
    assert!(err("@restart").contains("unknown macro '@restart'"));
    // Accepted here, refused by pg_cron: `$` in a list; by croniter: `?` in a list.
    assert_next("0 0 15,$ 2 *", "UTC", "2024-02-01T00:00:00Z", &["2024-02-15T00:00:00Z", "2024-02-29T00:00:00Z"]);
    assert_next("0 0 ?,15 * mon", "UTC", "2024-01-01T00:00:00Z", &["2024-01-08T00:00:00Z"]);
}
