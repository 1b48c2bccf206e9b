//! Cron expressions: parsing and occurrence search.
//!
//! croner 4 does the calendar and DST work; this module adds what the product contract
//! needs on top of it:
//! - the field forms croner lacks or reads differently (`N/step`, wrap-around ranges, `SUN` at
//!   the end of a range, `*` in a list, `$`), rewritten by [`crate::time::cron_syntax`];
//! - the `@midnight` macro (croner does not know it) and strict 5-field input with a clear
//!   message for a 6-field (seconds) expression;
//! - per-field checks, so `0 0 * MON *` (a weekday name in the month field) is an error
//!   instead of silently meaning January, and errors name the field that is wrong;
//! - a static "can this ever match a calendar day" check, because croner needs 5-25 ms (and
//!   far more in debug builds) to give up on `0 0 30 2 *`;
//! - a fallback for fixed-time jobs inside gaps longer than croner's 2-hour gap search
//!   (Pacific/Apia skipped 2011-12-30 entirely), where croner reports an error instead of
//!   the first instant after the gap.

use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use croner::errors::CronError;
use croner::parser::{CronParser, Seconds, Year};
use croner::{Cron, CronPattern, JobType, Weekday};

use crate::error::ScheduleError;
use crate::time::cron_syntax::{translate_field, DAY_NAMES, MONTH_NAMES};
use crate::time::zone::{first_instant_after_gap, floor_to_second};

const FIELD_NAMES: [&str; 5] = ["minute", "hour", "day-of-month", "month", "day-of-week"];

const FIELD_ALLOWED: [&str; 5] =
    ["0-59", "0-23", "1-31, L or $, nW, LW", "1-12 or JAN-DEC", "0-7 or SUN-SAT (0 and 7 are Sunday), nL, n#k"];

/// A parsed 5-field cron expression.
#[derive(Debug, Clone)]
pub struct CronSchedule {
    expression: String,
    cron: Cron,
    fixed_time: bool,
    matches_some_day: bool,
    /// The minute and hour fields as bit sets (bit n = value n), for counting occurrences by
    /// arithmetic; `None` if the seconds field were anything but `0` (the parser rules it out).
    clock_sets: Option<(u64, u32)>,
}

impl CronSchedule {
    /// The longest expression accepted, in bytes after trimming. Why a limit: parsing costs
    /// time in proportion to the text, the parse cache keeps the text (twice, plus croner's
    /// copy), and error messages quote it; any real expression is far shorter.
    pub const MAX_EXPRESSION_BYTES: usize = 1024;

    /// Parses a 5-field cron expression or one of the macros `@yearly`, `@annually`,
    /// `@monthly`, `@weekly`, `@daily`, `@midnight`, `@hourly` (any case).
    ///
    /// This checks syntax only: `0 0 30 2 *` parses, and [`CronSchedule::next_after`]
    /// answers `None` for it.
    pub fn parse(expr: &str) -> Result<CronSchedule, ScheduleError> {
        let trimmed = expr.trim();
        if trimmed.is_empty() {
            return Err(ScheduleError::InvalidCron("expression is empty".to_string()));
        }
        if trimmed.len() > Self::MAX_EXPRESSION_BYTES {
            return Err(ScheduleError::InvalidCron(format!(
                "expression is {} bytes long; at most {} are allowed",
                trimmed.len(),
                Self::MAX_EXPRESSION_BYTES
            )));
        }
        let expanded = expand_macro(trimmed)?;
        let fields: Vec<&str> = expanded.split_whitespace().collect();
        if fields.len() != 5 {
            return Err(ScheduleError::InvalidCron(field_count_message(fields.len())));
        }
        let mut translated = Vec::with_capacity(fields.len());
        for (index, field) in fields.iter().enumerate() {
            check_field_syntax(index, field)?;
            translated.push(translate_field(index, field).map_err(|what| field_error(index, field, &what))?);
        }
        let cron =
            parser().parse(&translated.join(" ")).map_err(|err| explain_croner_error(&fields, &translated, &err))?;
        let fixed_time = cron.determine_job_type() == JobType::FixedTime;
        let matches_some_day = matches_some_calendar_day(&cron.pattern);
        let clock_sets = clock_sets(&cron.pattern);
        Ok(CronSchedule { expression: trimmed.to_string(), cron, fixed_time, matches_some_day, clock_sets })
    }

    /// The expression as given (trimmed).
    pub fn expression(&self) -> &str {
        &self.expression
    }

    /// A fixed-time job has one minute and one hour value; it gets the DST treatment
    /// "gap -> first instant after the gap, overlap -> first pass only".
    pub fn is_fixed_time(&self) -> bool {
        self.fixed_time
    }

    /// False when no calendar day can ever match (`0 0 30 2 *`): the expression never fires
    /// in any time zone.
    pub fn can_fire(&self) -> bool {
        self.matches_some_day
    }

    /// The first occurrence strictly after `after`, evaluated in `tz`, or `None` if there is
    /// none (never-firing expression, or beyond croner's year-5000 horizon).
    pub fn next_after(&self, after: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
        if !self.matches_some_day {
            return None;
        }
        // Occurrences are whole seconds, so "> after" equals "> floor(after)".
        let start = floor_to_second(after).with_timezone(&tz);
        match self.cron.find_next_occurrence(&start, false) {
            Ok(next) => Some(next.with_timezone(&Utc)),
            Err(_) => self.next_across_long_gap(&start, tz),
        }
    }

    /// The latest occurrence at or before `t`, evaluated in `tz`, with the same DST rules as
    /// [`CronSchedule::next_after`]; `None` if there is none.
    pub fn latest_at_or_before(&self, t: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
        if !self.matches_some_day {
            return None;
        }
        let end = floor_to_second(t).with_timezone(&tz);
        match self.cron.find_previous_occurrence(&end, true) {
            Ok(previous) => Some(previous.with_timezone(&Utc)),
            Err(_) => self.previous_across_long_gap(&end, tz),
        }
    }

    /// croner gives up on a fixed-time match inside a gap longer than 2 hours. Redo that
    /// step by hand: find the next matching wall-clock time, and if it is in a gap, the
    /// occurrence is the first instant after the gap (croner's own rule, including its check
    /// that the post-gap date still matches the day fields).
    fn next_across_long_gap(&self, start: &DateTime<Tz>, tz: Tz) -> Option<DateTime<Utc>> {
        let wall = self.gap_match(self.cron.find_next_occurrence(&start.naive_local(), false), tz)?;
        let gap_end = first_instant_after_gap(tz, wall)?;
        if gap_end <= start.with_timezone(&Utc) {
            return None;
        }
        let gap_end_local = gap_end.with_timezone(&tz);
        if self.date_matches(&gap_end_local.naive_local()) {
            return Some(gap_end);
        }
        // The gap's run is dropped; carry on from the first instant after the gap.
        let next = self.cron.find_next_occurrence(&gap_end_local, true).ok()?;
        Some(next.with_timezone(&Utc))
    }

    /// Backward twin of [`Self::next_across_long_gap`].
    fn previous_across_long_gap(&self, end: &DateTime<Tz>, tz: Tz) -> Option<DateTime<Utc>> {
        let wall = self.gap_match(self.cron.find_previous_occurrence(&end.naive_local(), true), tz)?;
        let gap_end = first_instant_after_gap(tz, wall)?;
        let gap_end_local = gap_end.with_timezone(&tz);
        if gap_end <= end.with_timezone(&Utc) && self.date_matches(&gap_end_local.naive_local()) {
            return Some(gap_end);
        }
        // Search on from the last instant before the gap.
        let before_gap = gap_end.checked_sub_signed(Duration::seconds(1))?.with_timezone(&tz);
        let previous = self.cron.find_previous_occurrence(&before_gap, true).ok()?;
        Some(previous.with_timezone(&Utc))
    }

    /// The wall-clock match, if croner failed because a fixed-time match lies in a gap.
    fn gap_match(&self, wall: Result<NaiveDateTime, CronError>, tz: Tz) -> Option<NaiveDateTime> {
        let wall = wall.ok()?;
        let in_gap = matches!(tz.from_local_datetime(&wall), LocalResult::None);
        (self.fixed_time && in_gap).then_some(wall)
    }

    /// Approximate bytes this parse holds: the struct itself, the expression as given and as
    /// handed to croner, and croner's per-field bit vectors (one byte per value up to the
    /// field's maximum; the year field alone spans 1-5000, about 5 KB).
    pub(crate) fn approx_bytes(&self) -> usize {
        let p = &self.cron.pattern;
        let fields = [&p.seconds, &p.minutes, &p.hours, &p.days, &p.months, &p.days_of_week, &p.years];
        let bit_vectors: usize = fields.iter().map(|field| usize::from(field.max) + 1).sum();
        std::mem::size_of::<CronSchedule>() + self.expression.len() + p.as_str().len() + bit_vectors
    }

    /// See the `clock_sets` field.
    pub(crate) fn clock_sets(&self) -> Option<(u64, u32)> {
        self.clock_sets
    }

    /// Whether the month field matches `month` (1-12).
    pub(crate) fn month_matches(&self, month: u32) -> bool {
        self.cron.pattern.month_match(month).unwrap_or(false)
    }

    /// Whether a local date matches the day-of-month, month, day-of-week (and croner's year)
    /// fields: exactly the date part of croner's own match test.
    pub(crate) fn day_matches(&self, date: NaiveDate) -> bool {
        let weekday = Weekday::from_days_from_sunday(date.weekday().num_days_from_sunday());
        let pattern = &self.cron.pattern;
        pattern.month_match(date.month()).unwrap_or(false)
            && pattern.day_match(date.year(), date.month(), date.day(), weekday).unwrap_or(false)
            && pattern.year_match(date.year()).unwrap_or(false)
    }

    fn date_matches(&self, local: &NaiveDateTime) -> bool {
        let weekday = Weekday::from_days_from_sunday(local.weekday().num_days_from_sunday());
        let pattern = &self.cron.pattern;
        pattern.month_match(local.month()).unwrap_or(false)
            && pattern.day_match(local.year(), local.month(), local.day(), weekday).unwrap_or(false)
    }
}

fn parser() -> CronParser {
    // dom_and_dow stays false: day-of-month and day-of-week are OR'ed (Vixie, croniter).
    CronParser::builder().seconds(Seconds::Disallowed).year(Year::Disallowed).build()
}

/// Replaces a macro by its 5-field form. croner knows most macros but not `@midnight`, and
/// doing all of them here keeps one list of what is accepted.
pub(crate) fn expand_macro(expr: &str) -> Result<&str, ScheduleError> {
    if !expr.starts_with('@') {
        return Ok(expr);
    }
    let expanded = match expr.to_ascii_lowercase().as_str() {
        "@yearly" | "@annually" => "0 0 1 1 *",
        "@monthly" => "0 0 1 * *",
        "@weekly" => "0 0 * * 0",
        "@daily" | "@midnight" => "0 0 * * *",
        "@hourly" => "0 * * * *",
        _ => {
            return Err(ScheduleError::InvalidCron(format!(
                "unknown macro '{expr}' (expected @yearly, @annually, @monthly, @weekly, \
                 @daily, @midnight or @hourly)"
            )))
        }
    };
    Ok(expanded)
}

fn field_count_message(count: usize) -> String {
    let base = format!("expected 5 fields (minute hour day-of-month month day-of-week), got {count}");
    match count {
        6 => format!("{base}; a seconds field is not supported"),
        7 => format!("{base}; seconds and year fields are not supported"),
        _ => base,
    }
}

/// Checks the characters and names of one field before croner sees it. croner replaces
/// names anywhere in the expression, so without this `0 0 * MON *` would mean January.
fn check_field_syntax(index: usize, field: &str) -> Result<(), ScheduleError> {
    let bad = |what: String| field_error(index, field, &what);
    let body = if index == 4 { field.strip_prefix('+').unwrap_or(field) } else { field };
    let mut chars = body.char_indices().peekable();
    while let Some((start, ch)) = chars.next() {
        if ch.is_ascii_alphabetic() {
            let mut end = start + ch.len_utf8();
            while let Some(&(pos, next)) = chars.peek() {
                if !next.is_ascii_alphabetic() {
                    break;
                }
                end = pos + next.len_utf8();
                chars.next();
            }
            let word = body[start..end].to_ascii_uppercase();
            let known = match index {
                2 => matches!(word.as_str(), "L" | "W" | "LW"),
                3 => MONTH_NAMES.contains(&word.as_str()),
                // `FRIL` is `5L`, the last Friday.
                4 => {
                    let day = word.strip_suffix('L').filter(|d| !d.is_empty()).unwrap_or(&word);
                    word == "L" || DAY_NAMES.contains(&day)
                }
                _ => false,
            };
            if !known {
                return Err(bad(format!("unknown name '{}'", &body[start..end])));
            }
            continue;
        }
        let allowed = ch.is_ascii_digit()
            || matches!(ch, '*' | ',' | '-' | '/')
            || (matches!(index, 2 | 4) && ch == '?')
            || (index == 2 && ch == '$')
            || (index == 4 && ch == '#');
        if !allowed {
            return Err(bad(format!("illegal character '{ch}'")));
        }
    }
    Ok(())
}

fn field_error(index: usize, field: &str, what: &str) -> ScheduleError {
    ScheduleError::InvalidCron(format!(
        "{} field '{}': {} (allowed: {})",
        FIELD_NAMES[index], field, what, FIELD_ALLOWED[index]
    ))
}

/// Turns a croner error into a message that names the offending field. croner's own messages
/// ("Number out of bounds.") do not say which field, so each translated field is re-parsed
/// alone; the message quotes the field as the user wrote it.
fn explain_croner_error(fields: &[&str], translated: &[String], err: &CronError) -> ScheduleError {
    let detail = croner_detail(err);
    let parser = parser();
    for (index, field) in translated.iter().enumerate() {
        let mut probe = ["*"; 5];
        probe[index] = field;
        if let Err(field_err) = parser.parse(&probe.join(" ")) {
            return field_error(index, fields[index], &croner_detail(&field_err));
        }
    }
    ScheduleError::InvalidCron(format!("'{}': {}", fields.join(" "), detail))
}

fn croner_detail(err: &CronError) -> String {
    let raw = match err {
        CronError::ComponentError(msg) | CronError::InvalidPattern(msg) | CronError::IllegalCharacters(msg) => {
            msg.clone()
        }
        other => other.to_string(),
    };
    let raw = raw.trim().trim_end_matches('.');
    let mut chars = raw.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => "invalid value".to_string(),
    }
}

/// The minute and hour sets of `pattern` as bit sets, or `None` unless the seconds field is
/// exactly `0` (every occurrence then falls on a whole local minute).
fn clock_sets(pattern: &CronPattern) -> Option<(u64, u32)> {
    if pattern.seconds.values() != [0] {
        return None;
    }
    let minutes = pattern.minutes.values().iter().fold(0u64, |set, &m| set | 1 << m);
    let hours = pattern.hours.values().iter().fold(0u32, |set, &h| set | 1 << h);
    Some((minutes, hours))
}

/// Whether any calendar day can ever match the day-of-month, month and day-of-week fields.
///
/// A day's match depends only on its month, the month's length and the weekday of the 1st,
/// and every combination of those occurs in every 400-year Gregorian cycle, so trying each
/// month with each length (February: 28 and 29) and each starting weekday is exact. The
/// first matching day ends the search, so typical expressions cost a handful of checks.
fn matches_some_calendar_day(pattern: &CronPattern) -> bool {
    for month in 1..=12u32 {
        if !pattern.month_match(month).unwrap_or(false) {
            continue;
        }
        // 2023 is a common year, 2024 a leap year: only February's length differs.
        let years: &[i32] = if month == 2 { &[2023, 2024] } else { &[2023] };
        for &year in years {
            let length = croner::time::days_in_month(year, month);
            for first_weekday in 0..7u32 {
                for day in 1..=length {
                    let weekday = Weekday::from_days_from_sunday(first_weekday + day - 1);
                    if pattern.day_match(year, month, day, weekday).unwrap_or(false) {
                        return true;
                    }
                }
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn err(expr: &str) -> String {
        match CronSchedule::parse(expr) {
            Ok(_) => panic!("{expr:?} should be rejected"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn macros_expand_case_insensitively() {
        let cases = [
            ("@yearly", "2025-01-01T00:00:00Z"),
            ("@ANNUALLY", "2025-01-01T00:00:00Z"),
            ("@monthly", "2024-07-01T00:00:00Z"),
            ("@weekly", "2024-06-16T00:00:00Z"),
            ("@Daily", "2024-06-13T00:00:00Z"),
            ("@midnight", "2024-06-13T00:00:00Z"),
            ("@hourly", "2024-06-12T11:00:00Z"),
        ];
        // 2024-06-12 is a Wednesday.
        let start = utc("2024-06-12T10:30:00Z");
        for (expr, want) in cases {
            let s = CronSchedule::parse(expr).unwrap();
            assert_eq!(s.next_after(start, Tz::UTC), Some(utc(want)), "{expr}");
        }
        assert!(err("@reboot").starts_with("Invalid cron expression: unknown macro '@reboot'"));
        assert!(err("@daily 5").starts_with("Invalid cron expression: unknown macro"));
    }

    #[test]
    fn field_count_is_checked_first() {
        assert_eq!(
            err("0 0 0 * * *"),
            "Invalid cron expression: expected 5 fields (minute hour day-of-month month \
             day-of-week), got 6; a seconds field is not supported"
        );
        assert!(err("0 0 0 * * * 2024").contains("got 7; seconds and year fields"));
        assert!(err("* * * *").ends_with("got 4"));
        assert_eq!(err("   "), "Invalid cron expression: expression is empty");
    }

    #[test]
    fn length_is_limited_after_trimming() {
        // "00,0,...,0 * * * *": a valid expression of exactly the limit, then one byte more.
        let exact = format!("00{} * * * *", ",0".repeat(507));
        assert_eq!(exact.len(), CronSchedule::MAX_EXPRESSION_BYTES);
        assert!(CronSchedule::parse(&exact).is_ok());
        // Whitespace around does not count.
        assert!(CronSchedule::parse(&format!("{}{exact}\n\t", " ".repeat(5000))).is_ok());
        let long = format!("0{exact}");
        assert_eq!(err(&long), "Invalid cron expression: expression is 1025 bytes long; at most 1024 are allowed");
        assert!(err(&"x".repeat(1 << 20)).ends_with("expression is 1048576 bytes long; at most 1024 are allowed"));
    }

    #[test]
    fn errors_name_the_field() {
        assert_eq!(
            err("61 * * * *"),
            "Invalid cron expression: minute field '61': number out of bounds (allowed: 0-59)"
        );
        assert!(err("0 24 * * *").starts_with("Invalid cron expression: hour field '24'"));
        assert!(err("0 0 32 * *").starts_with("Invalid cron expression: day-of-month field '32'"));
        assert!(err("0 0 0 * *").starts_with("Invalid cron expression: day-of-month field '0'"));
        assert!(err("0 0 * 13 *").starts_with("Invalid cron expression: month field '13'"));
        assert!(err("0 0 * * 8").starts_with("Invalid cron expression: day-of-week field '8'"));
        assert!(err("*/0 * * * *").contains("minute field '*/0': step cannot be zero"));
        // `5-1` wraps around now; a bound outside the field is still an error.
        assert!(err("5-70 * * * *").contains("minute field '5-70': number out of bounds"));
        assert!(err("0 0 * * 7/0").contains("day-of-week field '7/0': step cannot be zero"));
        assert!(err("0 0 * * MON#6").contains("day-of-week field 'MON#6'"));
    }

    #[test]
    fn names_only_in_their_own_fields() {
        assert!(err("0 0 * MON *").contains("month field 'MON': unknown name 'MON'"));
        assert!(err("0 0 * * JAN").contains("day-of-week field 'JAN': unknown name 'JAN'"));
        assert!(err("0 0 * * MONDAY").contains("unknown name 'MONDAY'"));
        assert!(err("0 0 * FOO *").contains("unknown name 'FOO'"));
        assert!(err("x * * * *").contains("minute field 'x': unknown name 'x'"));
        assert!(err("0 0 * * 1%2").contains("illegal character '%'"));
        assert!(err("0 0 * * é").contains("illegal character 'é'"));
        assert!(err("0 +1 * * *").contains("hour field '+1': illegal character '+'"));
        // Names are case-insensitive in their own fields.
        let s = CronSchedule::parse("0 0 * jan-Mar mon-FRI").unwrap();
        assert_eq!(s.next_after(utc("2024-12-31T12:00:00Z"), Tz::UTC), Some(utc("2025-01-01T00:00:00Z")));
    }

    #[test]
    fn fixed_time_classification() {
        for expr in ["30 2 * * *", "0 9 * * MON-FRI", "@daily", "0 0 1 1 *"] {
            assert!(CronSchedule::parse(expr).unwrap().is_fixed_time(), "{expr}");
        }
        for expr in ["*/5 * * * *", "0 * * * *", "0 9,17 * * *", "0,30 9 * * *", "@hourly"] {
            assert!(!CronSchedule::parse(expr).unwrap().is_fixed_time(), "{expr}");
        }
    }

    #[test]
    fn never_firing_expressions_parse_and_answer_none() {
        for expr in ["0 0 30 2 *", "0 0 31 4,6,9,11 *", "0 0 31 2 *", "0 0 30 2 +MON"] {
            let s = CronSchedule::parse(expr).unwrap();
            assert!(!s.can_fire(), "{expr}");
            assert_eq!(s.next_after(utc("2024-01-01T00:00:00Z"), Tz::UTC), None);
            assert_eq!(s.latest_at_or_before(utc("2024-01-01T00:00:00Z"), Tz::UTC), None);
        }
        for expr in ["0 0 29 2 *", "0 0 L 2 *", "0 0 * 2 MON#5", "0 0 30 2 MON", "0 0 29 2 +MON"] {
            assert!(CronSchedule::parse(expr).unwrap().can_fire(), "{expr}");
        }
    }

    #[test]
    fn sub_second_after_is_strict() {
        let s = CronSchedule::parse("0 10 * * *").unwrap();
        let at = utc("2024-05-01T10:00:00Z");
        assert_eq!(s.next_after(at - Duration::microseconds(1), Tz::UTC), Some(at));
        assert_eq!(s.next_after(at + Duration::microseconds(1), Tz::UTC), Some(utc("2024-05-02T10:00:00Z")));
        assert_eq!(s.next_after(at, Tz::UTC), Some(utc("2024-05-02T10:00:00Z")));
        assert_eq!(s.latest_at_or_before(at + Duration::microseconds(999_999), Tz::UTC), Some(at));
        assert_eq!(s.latest_at_or_before(at - Duration::microseconds(1), Tz::UTC), Some(utc("2024-04-30T10:00:00Z")));
    }
}
