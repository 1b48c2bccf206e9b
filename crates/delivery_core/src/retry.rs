//! When a failed delivery is tried again, and when it is given up.
//!
//! The delays come from `workflow_scheduler.http_retry_delays`: after the n-th failed attempt
//! the delivery waits the n-th delay, ±20% so that many deliveries failing together do not
//! return together. After the last delay's attempt fails, the delivery is `failed`. A
//! receiver's `Retry-After` can push the next attempt later (up to an hour), never earlier.
//! Randomness is a parameter, so every rule here is a pure function.

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The setting's default: about 23.7 hours of retries over 11 attempts.
pub const DEFAULT_RETRY_DELAYS: &str = "5s,30s,2min,10min,30min,1h,2h,4h,8h,8h";

/// The longest single delay accepted. Longer ones are almost surely a typo, and a bound keeps
/// `now + delay` far from any timestamp overflow in the worker or in Postgres.
pub const MAX_DELAY: Duration = Duration::from_secs(365 * 24 * 3600);

/// The longest `Retry-After` honoured (PRODUCT.md, "Outcomes").
pub const RETRY_AFTER_CAP: Duration = Duration::from_secs(3600);

/// Jitter spreads each delay over [80%, 120%] of its value.
const JITTER_PERCENT: u128 = 20;

/// The parsed retry delays: never empty, every delay more than zero and at most [`MAX_DELAY`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryDelays(Vec<Duration>);

/// Why `http_retry_delays` was rejected; the message names the bad element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryDelaysError(String);

impl fmt::Display for RetryDelaysError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RetryDelaysError {}

impl RetryDelays {
    /// Reads the setting: comma-separated delays, each a whole number and a unit (`ms`, `s`,
    /// `min`, `h`), with spaces allowed around elements and between number and unit.
    pub fn parse(text: &str) -> Result<RetryDelays, RetryDelaysError> {
        if text.trim().is_empty() {
            return Err(RetryDelaysError("the list is empty; give at least one delay, such as 5s".to_owned()));
        }
        let delays = text
            .split(',')
            .enumerate()
            .map(|(index, element)| parse_delay(index + 1, element))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(RetryDelays(delays))
    }

    /// The delays in order: the first follows the first failed attempt.
    pub fn as_slice(&self) -> &[Duration] {
        &self.0
    }

    /// How many attempts a delivery gets before it is `failed`: one more than the delays.
    pub fn max_attempts(&self) -> u32 {
        u32::try_from(self.0.len()).unwrap_or(u32::MAX).saturating_add(1)
    }
}

impl Default for RetryDelays {
    fn default() -> RetryDelays {
        RetryDelays::parse(DEFAULT_RETRY_DELAYS).expect("the default delays parse")
    }
}

impl FromStr for RetryDelays {
    type Err = RetryDelaysError;

    fn from_str(text: &str) -> Result<RetryDelays, RetryDelaysError> {
        RetryDelays::parse(text)
    }
}

/// One element of the list, e.g. `30s` or ` 2 min `.
fn parse_delay(position: usize, element: &str) -> Result<Duration, RetryDelaysError> {
    let trimmed = element.trim();
    let bad = |why: &str| RetryDelaysError(format!("\"{trimmed}\" (element {position}): {why}"));
    if trimmed.is_empty() {
        return Err(RetryDelaysError(format!("element {position} is empty")));
    }
    let digits_end = trimmed.find(|c: char| !c.is_ascii_digit()).unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(digits_end);
    let unit = unit.trim_start();
    if number.is_empty() {
        return Err(bad("expected a whole number followed by a unit (ms, s, min or h)"));
    }
    let millis_per_unit: u64 = match unit {
        "ms" => 1,
        "s" => 1_000,
        "min" => 60_000,
        "h" => 3_600_000,
        "" => return Err(bad("missing unit (use ms, s, min or h)")),
        other => return Err(bad(&format!("unknown unit \"{other}\" (use ms, s, min or h)"))),
    };
    let too_large = || bad(&format!("too large (at most {} days)", MAX_DELAY.as_secs() / 86_400));
    let count: u64 = number.parse().map_err(|_| too_large())?;
    let millis = count.checked_mul(millis_per_unit).ok_or_else(too_large)?;
    let delay = Duration::from_millis(millis);
    if delay.is_zero() {
        return Err(bad("a delay must be more than zero"));
    }
    if delay > MAX_DELAY {
        return Err(too_large());
    }
    Ok(delay)
}

/// `delay` scaled by a factor in [0.8, 1.2] chosen by `random` (0 gives 0.8, `u64::MAX` 1.2),
/// so that the caller's random source is the only randomness.
pub fn jitter(delay: Duration, random: u64) -> Duration {
    let nanos = delay.as_nanos();
    let spread = nanos * (2 * JITTER_PERCENT) / 100;
    let low = nanos - nanos * JITTER_PERCENT / 100;
    let offset = spread * u128::from(random) / u128::from(u64::MAX);
    duration_from_nanos(low + offset)
}

fn duration_from_nanos(nanos: u128) -> Duration {
    let secs = u64::try_from(nanos / 1_000_000_000).unwrap_or(u64::MAX);
    Duration::new(secs, (nanos % 1_000_000_000) as u32)
}

/// What follows a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextStep {
    /// Try again after this delay.
    Retry { delay: Duration },
    /// That was the last attempt: the delivery is `failed`.
    GiveUp,
}

impl NextStep {
    /// When to try again, counted from `now`; `None` when giving up.
    pub fn retry_at(&self, now: SystemTime) -> Option<SystemTime> {
        match self {
            NextStep::Retry { delay } => Some(now + *delay),
            NextStep::GiveUp => None,
        }
    }
}

/// The step after a failed attempt. `attempts_made` counts every attempt so far, the failed
/// one included (so 1 after the first failure). The delay is the matching delay with jitter,
/// or the receiver's `Retry-After` (capped at an hour) when that is later.
pub fn next_step(attempts_made: u32, delays: &RetryDelays, retry_after: Option<Duration>, random: u64) -> NextStep {
    let index = attempts_made.max(1) as usize - 1;
    match delays.as_slice().get(index) {
        None => NextStep::GiveUp,
        Some(&delay) => {
            let scheduled = jitter(delay, random);
            let asked = retry_after.map_or(Duration::ZERO, |d| d.min(RETRY_AFTER_CAP));
            NextStep::Retry { delay: scheduled.max(asked) }
        }
    }
}

/// The wait a `Retry-After` value asks for, capped at [`RETRY_AFTER_CAP`]: delta-seconds
/// (`120`) or an HTTP-date in any of the three forms RFC 9110 makes recipients accept,
/// counted from `now`. A date in the past asks for no wait. `None` when unreadable.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    let wait = if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // Too many digits for a u64 is still "a long time": cap it rather than ignore it.
        Duration::from_secs(value.parse::<u64>().unwrap_or(u64::MAX))
    } else {
        let at = parse_http_date(value, now)?;
        let now_secs = now.duration_since(UNIX_EPOCH).ok()?.as_secs() as i64;
        Duration::from_secs(u64::try_from(at - now_secs).unwrap_or(0))
    };
    Some(wait.min(RETRY_AFTER_CAP))
}

/// Unix seconds of an HTTP-date: IMF-fixdate `Sun, 06 Nov 1994 08:49:37 GMT`, RFC 850
/// `Sunday, 06-Nov-94 08:49:37 GMT` or asctime `Sun Nov  6 08:49:37 1994`. The weekday is
/// not checked.
fn parse_http_date(value: &str, now: SystemTime) -> Option<i64> {
    let tokens: Vec<&str> = value.split_ascii_whitespace().collect();
    let (day, month, year, time) = match tokens.as_slice() {
        [weekday, day, month, year, time, "GMT"] if weekday.ends_with(',') => (*day, *month, year.parse().ok()?, *time),
        [weekday, date, time, "GMT"] if weekday.ends_with(',') => {
            let mut parts = date.split('-');
            let (day, month, yy) = (parts.next()?, parts.next()?, parts.next()?);
            if parts.next().is_some() || yy.len() != 2 {
                return None;
            }
            (day, month, two_digit_year(yy.parse().ok()?, now), *time)
        }
        [_weekday, month, day, time, year] => (*day, *month, year.parse().ok()?, *time),
        _ => return None,
    };
    let day: u32 = day.parse().ok()?;
    let month = MONTHS.iter().position(|m| *m == month)? as u32 + 1;
    let mut clock = time.split(':').map(|part| if part.len() == 2 { part.parse::<u32>().ok() } else { None });
    let (hour, minute, second) = (clock.next()??, clock.next()??, clock.next()??);
    if clock.next().is_some() || !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let days = days_from_civil(year, month, day);
    Some(days * 86_400 + i64::from(hour * 3600 + minute * 60 + second))
}

const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// RFC 9110: a two-digit year more than 50 years ahead means the same digits in the past.
fn two_digit_year(yy: i64, now: SystemTime) -> i64 {
    let now_days = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() / 86_400) as i64;
    let this_year = civil_year(now_days);
    let year = this_year - this_year.rem_euclid(100) + yy;
    if year > this_year + 50 {
        year - 100
    } else {
        year
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The year that contains the given day since 1970-01-01.
fn civil_year(days: i64) -> i64 {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let year = yoe + era * 400;
    if mp >= 10 {
        year + 1
    } else {
        year
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    fn at(unix: u64) -> SystemTime {
        UNIX_EPOCH + secs(unix)
    }

    #[test]
    fn parses_the_default_list() {
        let delays = RetryDelays::default();
        let expected = [5, 30, 120, 600, 1800, 3600, 7200, 14_400, 28_800, 28_800].map(secs);
        assert_eq!(delays.as_slice(), expected);
        assert_eq!(delays.max_attempts(), 11);
    }

    #[test]
    fn accepts_every_unit_and_tolerates_whitespace() {
        let delays = RetryDelays::parse(" 100ms ,2 s,\t3min , 1h").unwrap();
        assert_eq!(delays.as_slice(), [Duration::from_millis(100), secs(2), secs(180), secs(3600)]);
        assert_eq!("250ms".parse::<RetryDelays>().unwrap().as_slice(), [Duration::from_millis(250)]);
    }

    #[test]
    fn rejects_bad_lists_naming_the_bad_element() {
        let cases = [
            ("", "the list is empty"),
            ("  ", "the list is empty"),
            ("5s,,30s", "element 2 is empty"),
            ("5s,", "element 2 is empty"),
            ("5s,0s", "\"0s\" (element 2): a delay must be more than zero"),
            ("0ms", "\"0ms\" (element 1): a delay must be more than zero"),
            ("5s,7x", "\"7x\" (element 2): unknown unit \"x\" (use ms, s, min or h)"),
            ("5m", "unknown unit \"m\""),
            ("5S", "unknown unit \"S\""),
            ("30", "\"30\" (element 1): missing unit"),
            ("s", "\"s\" (element 1): expected a whole number"),
            ("-5s", "\"-5s\" (element 1): expected a whole number"),
            ("1.5s", "\"1.5s\" (element 1): unknown unit \".5s\""),
            ("99999999999999999999h", "too large"),
            ("9999999999999999h", "too large"),
            ("366min,8761h", "\"8761h\" (element 2): too large (at most 365 days)"),
        ];
        for (text, expected) in cases {
            let message = RetryDelays::parse(text).unwrap_err().to_string();
            assert!(message.contains(expected), "{text:?}: {message:?} should contain {expected:?}");
        }
        assert!(RetryDelays::parse("8760h").is_ok());
    }

    #[test]
    fn jitter_spans_plus_minus_twenty_percent() {
        let delay = secs(100);
        assert_eq!(jitter(delay, 0), secs(80));
        assert_eq!(jitter(delay, u64::MAX), secs(120));
        let middle = jitter(delay, u64::MAX / 2);
        assert!(middle > Duration::from_millis(99_999) && middle < Duration::from_millis(100_001), "{middle:?}");
        let mut previous = Duration::ZERO;
        for step in 0..=16u64 {
            let value = jitter(delay, step * (u64::MAX / 16));
            assert!(value >= previous && (secs(80)..=secs(120)).contains(&value), "{value:?}");
            previous = value;
        }
    }

    #[test]
    fn jitter_keeps_millisecond_delays_and_the_longest_delay() {
        assert_eq!(jitter(Duration::from_millis(100), 0), Duration::from_millis(80));
        assert_eq!(jitter(MAX_DELAY, u64::MAX), MAX_DELAY * 6 / 5);
    }

    #[test]
    fn retries_once_per_delay_then_gives_up() {
        let delays = RetryDelays::parse("1s,2s,3s").unwrap();
        let middle = u64::MAX / 2;
        let steps: Vec<NextStep> = (1..=4).map(|n| next_step(n, &delays, None, middle)).collect();
        let retry = |d: Duration| NextStep::Retry { delay: jitter(d, middle) };
        assert_eq!(steps, [retry(secs(1)), retry(secs(2)), retry(secs(3)), NextStep::GiveUp]);
        assert_eq!(next_step(100, &delays, None, 0), NextStep::GiveUp);
        // Zero attempts reads as the first failure rather than underflowing.
        assert_eq!(next_step(0, &delays, None, 0), NextStep::Retry { delay: jitter(secs(1), 0) });
    }

    #[test]
    fn retry_after_pushes_later_never_earlier_and_at_most_an_hour() {
        let delays = RetryDelays::parse("5s,8h").unwrap();
        let low = 0; // jitter factor 0.8: 5s becomes 4s
        assert_eq!(next_step(1, &delays, Some(secs(7)), low), NextStep::Retry { delay: secs(7) });
        assert_eq!(next_step(1, &delays, Some(secs(1)), low), NextStep::Retry { delay: secs(4) });
        assert_eq!(next_step(1, &delays, Some(secs(99_999)), low), NextStep::Retry { delay: secs(3600) });
        // An 8 h delay stays 8 h (× jitter) even when Retry-After asks for less.
        assert_eq!(next_step(2, &delays, Some(secs(60)), low), NextStep::Retry { delay: secs(8 * 2880) });
        // Retry-After does not add attempts.
        assert_eq!(next_step(3, &delays, Some(secs(7)), low), NextStep::GiveUp);
    }

    #[test]
    fn retry_at_counts_from_now() {
        assert_eq!(NextStep::Retry { delay: secs(5) }.retry_at(at(100)), Some(at(105)));
        assert_eq!(NextStep::GiveUp.retry_at(at(100)), None);
    }

    #[test]
    fn reads_retry_after_seconds() {
        let now = at(1_700_000_000);
        assert_eq!(parse_retry_after("7", now), Some(secs(7)));
        assert_eq!(parse_retry_after(" 120 ", now), Some(secs(120)));
        assert_eq!(parse_retry_after("0", now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("86400", now), Some(RETRY_AFTER_CAP));
        assert_eq!(parse_retry_after("999999999999999999999999", now), Some(RETRY_AFTER_CAP));
        for bad in ["", "-5", "1.5", "5s", "soon", "+5"] {
            assert_eq!(parse_retry_after(bad, now), None, "{bad:?}");
        }
    }

    #[test]
    fn reads_retry_after_dates_in_all_three_forms() {
        // 784111777 = Sun, 06 Nov 1994 08:49:37 GMT (RFC 9110's example).
        let now = at(784_111_777 - 90);
        for form in ["Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994"] {
            assert_eq!(parse_retry_after(form, now), Some(secs(90)), "{form}");
        }
        // Dates in the past ask for no wait; far dates are capped.
        assert_eq!(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", at(784_111_777 + 5)), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", at(0)), Some(RETRY_AFTER_CAP));
    }

    #[test]
    fn reads_dates_across_months_leap_years_and_centuries() {
        let now = at(0);
        let cases = [
            ("Thu, 01 Jan 1970 00:00:10 GMT", 10),
            ("Thu, 29 Feb 2024 12:00:00 GMT", 1_709_208_000),
            ("Fri, 31 Dec 1999 23:59:59 GMT", 946_684_799),
            ("Sat, 01 Jan 2000 00:00:00 GMT", 946_684_800),
        ];
        for (text, unix) in cases {
            assert_eq!(parse_http_date(text, now), Some(unix), "{text}");
        }
    }

    #[test]
    fn two_digit_years_land_within_fifty_years_ahead() {
        let in_2026 = at(1_780_000_000);
        assert_eq!(two_digit_year(26, in_2026), 2026);
        assert_eq!(two_digit_year(76, in_2026), 2076);
        assert_eq!(two_digit_year(77, in_2026), 1977);
        assert_eq!(two_digit_year(94, in_2026), 1994);
    }

    #[test]
    fn rejects_malformed_dates() {
        let now = at(0);
        for bad in [
            "Sun, 06 Nov 1994 08:49:37 UTC",
            "Sun, 06 Foo 1994 08:49:37 GMT",
            "Sun, 32 Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 24:00:00 GMT",
            "Sun, 06 Nov 1994 08:49 GMT",
            "Sun, 06 Nov 1994 8:49:37 GMT",
            "Sunday, 06-Nov-1994 08:49:37 GMT",
            "06 Nov 1994 08:49:37 GMT",
            "tomorrow",
        ] {
            assert_eq!(parse_http_date(bad, now), None, "{bad:?}");
        }
    }
}
