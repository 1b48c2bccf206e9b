//! Validation of `schedule_config` and `context_data` (PRODUCT.md, "schedule_config keys").
//!
//! Everything a user can get wrong is caught here, before anything is written, with a message
//! that names the key and says what was expected.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use serde_json::{Map, Value};

use crate::error::ScheduleError;
use crate::firing::overlap::OverlapPolicy;
use crate::time::cache::CronCache;
use crate::time::cron::CronSchedule;
use crate::time::recurrence::{Recurrence, RecurrenceColumns, ScheduleKind};
use crate::time::zone::{parse_timezone, resolve_local};

/// Every key `schedule_config` may contain. Anything else is a typo and is rejected.
pub const CONFIG_KEYS: [&str; 12] = [
    "schedule_type",
    "cron_expression",
    "timezone",
    "interval_seconds",
    "scheduled_time",
    "max_executions",
    "overlap",
    "max_runtime_seconds",
    "hook",
    "start_at",
    "end_at",
    "grace_seconds",
];

/// The longest hook name, in bytes: what fits a Postgres identifier (NAMEDATALEN - 1), as the
/// `hooks.name` constraint and the `default_hook` setting allow.
pub const MAX_HOOK_NAME_BYTES: usize = 63;

/// Keys of the trigger data that `context_data` may not use, so they keep their meaning.
pub const RESERVED_TRIGGER_KEYS: [&str; 8] = [
    "schedule_id",
    "execution_id",
    "triggered_at",
    "workflow_id",
    "scheduled_for",
    "community_id",
    "trigger_kind",
    "truncated",
];

/// The largest `context_data`, in bytes of compact JSON text. Why a limit: it is copied into
/// the trigger data of every execution row and read back by every due pass that claims the
/// schedule, so its size multiplies; 64 KiB is far beyond any context a workflow needs.
pub const MAX_CONTEXT_DATA_BYTES: usize = 65_536;

/// The type-specific keys, and the schedule type each belongs to.
const TYPE_KEYS: [(&str, ScheduleKind); 3] = [
    ("cron_expression", ScheduleKind::Cron),
    ("interval_seconds", ScheduleKind::Interval),
    ("scheduled_time", ScheduleKind::OneTime),
];

/// A validated schedule configuration. Exactly the field of its kind is `Some`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleConfig {
    pub kind: ScheduleKind,
    /// Trimmed expression, for `cron`.
    pub cron_expression: Option<String>,
    /// At least 1, for `interval`.
    pub interval_seconds: Option<i32>,
    /// In the future at validation time, for `one_time`.
    pub scheduled_time: Option<DateTime<Utc>>,
    /// Canonical IANA name.
    pub timezone: String,
    /// At least 1, or `None` for unlimited.
    pub max_executions: Option<i32>,
    /// What an occurrence does while an earlier execution is unfinished.
    pub overlap: OverlapPolicy,
    /// An execution unfinished after this many seconds becomes `timed_out`; `None`: never.
    pub max_runtime_seconds: Option<i32>,
    /// The HTTP hook that receives this schedule's fires; `None`: the `default_hook` setting
    /// at fire time. Whether it exists is the database's question, not this crate's.
    pub hook: Option<String>,
    /// No occurrence before this instant; an interval schedule is anchored here (its first
    /// occurrence is `start_at` itself).
    pub start_at: Option<DateTime<Utc>>,
    /// No occurrence at or after this instant; then the schedule finishes (`schedule_ended`).
    pub end_at: Option<DateTime<Utc>>,
    /// This schedule's grace period in seconds; `None`: `workflow_scheduler.grace_period`.
    pub grace_seconds: Option<i32>,
}

impl ScheduleConfig {
    /// The interval grid's anchor for a schedule created or re-gridded at `now`: occurrences
    /// are `anchor + k * interval_seconds`, k >= 1, so `start_at` anchors one interval earlier.
    pub fn interval_anchor(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        match (self.start_at, self.interval_seconds) {
            (Some(start), Some(every)) => start - chrono::Duration::seconds(i64::from(every)),
            _ => now,
        }
    }

    /// The occurrences of this schedule. `anchor` is the interval anchor (the creation time,
    /// or the update time after a config change); other kinds ignore it.
    pub fn recurrence(&self, cache: &mut CronCache, anchor: DateTime<Utc>) -> Result<Recurrence, ScheduleError> {
        RecurrenceColumns {
            schedule_type: self.kind.as_str(),
            cron_expression: self.cron_expression.as_deref(),
            interval_seconds: self.interval_seconds,
            scheduled_time: self.scheduled_time,
            timezone: &self.timezone,
            anchor_at: Some(anchor),
        }
        .recurrence(cache)
        .map(|recurrence| recurrence.windowed(self.start_at, self.end_at))
    }

    /// The schedule's time zone.
    pub fn tz(&self) -> Result<Tz, ScheduleError> {
        parse_timezone(&self.timezone)
    }
}

/// Validates a `schedule_config` object.
///
/// `default_timezone` applies when `timezone` is absent (the `workflow_scheduler.timezone`
/// setting); `now` decides whether a one-time schedule is in the future and whether a cron
/// expression ever fires again.
pub fn validate_config(
    config: &Value,
    default_timezone: &str,
    now: DateTime<Utc>,
) -> Result<ScheduleConfig, ScheduleError> {
    let object = config
        .as_object()
        .ok_or_else(|| invalid(format!("schedule_config must be a JSON object, got {}", json_type(config))))?;
    if let Some(unknown) = object.keys().find(|key| !CONFIG_KEYS.contains(&key.as_str())) {
        return Err(invalid(format!("unknown key '{unknown}' (allowed keys: {})", CONFIG_KEYS.join(", "))));
    }

    let kind = match present(object, "schedule_type") {
        None => return Err(invalid("schedule_type required (cron, interval or one_time)".to_string())),
        Some(value) => ScheduleKind::parse(as_str(value, "schedule_type")?)?,
    };

    let timezone = match present(object, "timezone") {
        Some(value) => as_str(value, "timezone")?,
        None => default_timezone,
    };
    let tz = parse_timezone(timezone)?;

    let max_executions = match present(object, "max_executions") {
        Some(value) => Some(positive_i32(value, "max_executions")?),
        None => None,
    };
    let overlap = match present(object, "overlap") {
        Some(value) => OverlapPolicy::parse(as_str(value, "overlap")?)?,
        None => OverlapPolicy::default(),
    };
    let max_runtime_seconds = match present(object, "max_runtime_seconds") {
        Some(value) => Some(positive_i32(value, "max_runtime_seconds")?),
        None => None,
    };

    let hook = match present(object, "hook") {
        Some(value) => Some(hook_name(value)?),
        None => None,
    };

    let start_at = match present(object, "start_at") {
        Some(value) => Some(parse_instant(value, "start_at", tz)?),
        None => None,
    };
    let end_at = match present(object, "end_at") {
        Some(value) => Some(parse_instant(value, "end_at", tz)?),
        None => None,
    };
    if let (Some(start), Some(end)) = (start_at, end_at) {
        if end <= start {
            return Err(invalid("end_at must be after start_at".to_string()));
        }
    }
    if end_at.is_some_and(|end| end <= now) {
        return Err(invalid("end_at is in the past: the schedule would never fire".to_string()));
    }
    let grace_seconds = match present(object, "grace_seconds") {
        Some(value) => Some(non_negative_i32(value, "grace_seconds")?),
        None => None,
    };

    for (key, owner) in TYPE_KEYS {
        if owner != kind && present(object, key).is_some() {
            return Err(invalid(format!(
                "{key} does not apply to schedule_type {kind} (it belongs to schedule_type {owner})"
            )));
        }
    }

    let mut validated = ScheduleConfig {
        kind,
        cron_expression: None,
        interval_seconds: None,
        scheduled_time: None,
        timezone: tz.name().to_string(),
        max_executions,
        overlap,
        max_runtime_seconds,
        hook,
        start_at,
        end_at,
        grace_seconds,
    };

    match kind {
        ScheduleKind::Cron => {
            let value = present(object, "cron_expression").ok_or(ScheduleError::MissingField("cron_expression"))?;
            let expr = as_str(value, "cron_expression")?.trim();
            let schedule = CronSchedule::parse(expr)?;
            if schedule.next_after(now, tz).is_none() {
                return Err(ScheduleError::InvalidCron(format!("'{expr}' never fires")));
            }
            let windowed = Recurrence::Cron { schedule: std::rc::Rc::new(schedule), tz }.windowed(start_at, end_at);
            if windowed.next_after(now).is_none() {
                return Err(invalid(format!("'{expr}' has no occurrence between start_at and end_at")));
            }
            validated.cron_expression = Some(expr.to_string());
        }
        ScheduleKind::Interval => {
            let value = present(object, "interval_seconds").ok_or(ScheduleError::MissingField("interval_seconds"))?;
            validated.interval_seconds = Some(positive_i32(value, "interval_seconds")?);
        }
        ScheduleKind::OneTime => {
            let value = present(object, "scheduled_time").ok_or(ScheduleError::MissingField("scheduled_time"))?;
            let at = parse_scheduled_time(as_str(value, "scheduled_time")?, tz)?;
            if at <= now {
                return Err(ScheduleError::ScheduledTimeInPast);
            }
            if start_at.is_some_and(|start| at < start) || end_at.is_some_and(|end| at >= end) {
                return Err(invalid("scheduled_time is outside start_at .. end_at".to_string()));
            }
            validated.scheduled_time = Some(at);
        }
    }
    Ok(validated)
}

/// Validates `context_data`: a JSON object that uses none of [`RESERVED_TRIGGER_KEYS`] and is
/// at most [`MAX_CONTEXT_DATA_BYTES`] long as compact JSON.
pub fn validate_context_data(ctx: &Value) -> Result<(), ScheduleError> {
    let object = ctx
        .as_object()
        .ok_or_else(|| invalid(format!("context_data must be a JSON object, got {}", json_type(ctx))))?;
    if let Some(key) = object.keys().find(|key| RESERVED_TRIGGER_KEYS.contains(&key.as_str())) {
        return Err(invalid(format!(
            "context_data key '{key}' is reserved for the trigger data (reserved keys: {})",
            RESERVED_TRIGGER_KEYS.join(", ")
        )));
    }
    let bytes = json_length(ctx);
    if bytes > MAX_CONTEXT_DATA_BYTES {
        return Err(invalid(format!(
            "context_data is {bytes} bytes as JSON; at most {MAX_CONTEXT_DATA_BYTES} are allowed"
        )));
    }
    Ok(())
}

/// The length of `value` as compact JSON text, counted without building the text.
fn json_length(value: &Value) -> usize {
    struct Counter(usize);
    impl std::io::Write for Counter {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut counter = Counter(0);
    // Writing a `Value` to a sink that never fails cannot fail.
    let _ = serde_json::to_writer(&mut counter, value);
    counter.0
}

/// Parses an ISO 8601 `scheduled_time`.
///
/// Accepted: `2024-12-25T15:30:00`, with optional fractional seconds, `15:30` without
/// seconds, a space instead of `T`, an offset `Z`, `+02:00`, `+0200` or `+02`, and a bare
/// date `2024-12-25` (local midnight). Without an offset the time is local in `tz`: a time in
/// a DST gap means the first instant after the gap, a repeated time its first pass.
/// Sub-microsecond digits are dropped (Postgres keeps microseconds).
pub fn parse_scheduled_time(text: &str, tz: Tz) -> Result<DateTime<Utc>, ScheduleError> {
    let text = text.trim();
    let unparseable = || {
        invalid(format!(
            "scheduled_time '{text}' is not an ISO 8601 timestamp (expected e.g. \
             2024-12-25T15:30:00, 2024-12-25T15:30:00Z, 2024-12-25T15:30:00+02:00 or 2024-12-25)"
        ))
    };
    let (local, offset) = split_timestamp(text).ok_or_else(unparseable)?;
    let instant = match offset {
        Some(offset) => offset.from_local_datetime(&local).single().map(|t| t.with_timezone(&Utc)),
        None => resolve_local(tz, local),
    }
    .ok_or_else(unparseable)?;
    // Postgres stores microseconds; drop the rest so the stored value is what was checked.
    let micros_only = instant.nanosecond() / 1_000 * 1_000;
    Ok(instant.with_nanosecond(micros_only).unwrap_or(instant))
}

/// Splits an ISO 8601 text into its local date-time and optional offset.
fn split_timestamp(text: &str) -> Option<(NaiveDateTime, Option<FixedOffset>)> {
    let date_text = text.get(..10)?;
    if !is_iso_date(date_text) {
        return None;
    }
    let date = NaiveDate::parse_from_str(date_text, "%Y-%m-%d").ok()?;
    let rest = &text[10..];
    if rest.is_empty() {
        return Some((date.and_time(NaiveTime::MIN), None));
    }
    let mut rest_chars = rest.chars();
    if !matches!(rest_chars.next(), Some('T' | 't' | ' ')) {
        return None;
    }
    let time_and_offset = rest_chars.as_str();
    let (time_text, offset) =
        if let Some(time) = time_and_offset.strip_suffix('Z').or_else(|| time_and_offset.strip_suffix('z')) {
            (time, Some(FixedOffset::east_opt(0)?))
        } else if let Some(sign_at) = time_and_offset.find(['+', '-']) {
            let offset = parse_offset(&time_and_offset[sign_at..])?;
            (&time_and_offset[..sign_at], Some(offset))
        } else {
            (time_and_offset, None)
        };
    let time = NaiveTime::parse_from_str(time_text, "%H:%M:%S%.f")
        .or_else(|_| NaiveTime::parse_from_str(time_text, "%H:%M"))
        .ok()?;
    // chrono reads second 60 as a leap second; a schedule has no use for one.
    if time.nanosecond() >= 1_000_000_000 {
        return None;
    }
    Some((date.and_time(time), offset))
}

fn is_iso_date(text: &str) -> bool {
    text.bytes().enumerate().all(|(i, b)| if i == 4 || i == 7 { b == b'-' } else { b.is_ascii_digit() })
}

/// `+HH:MM`, `+HHMM` or `+HH` (and `-`).
fn parse_offset(text: &str) -> Option<FixedOffset> {
    let sign = match text.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let digits: String = text[1..].chars().filter(|c| *c != ':').collect();
    let colon_ok = match text[1..].find(':') {
        None => true,
        Some(at) => at == 2 && text[1..].matches(':').count() == 1,
    };
    if !colon_ok || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (hours, minutes) = match digits.len() {
        2 => (digits.parse::<i32>().ok()?, 0),
        4 => (digits[..2].parse::<i32>().ok()?, digits[2..].parse::<i32>().ok()?),
        _ => return None,
    };
    if hours > 23 || minutes > 59 {
        return None;
    }
    FixedOffset::east_opt(sign * (hours * 3600 + minutes * 60))
}

/// The value of `key`, treating JSON null as absent.
fn present<'a>(object: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    object.get(key).filter(|value| !value.is_null())
}

fn as_str<'a>(value: &'a Value, key: &str) -> Result<&'a str, ScheduleError> {
    value.as_str().ok_or_else(|| invalid(format!("{key} must be a string, got {}", json_type(value))))
}

/// A hook name: a string of 1 to [`MAX_HOOK_NAME_BYTES`] bytes.
fn hook_name(value: &Value) -> Result<String, ScheduleError> {
    let name = as_str(value, "hook")?;
    if name.is_empty() {
        return Err(invalid(
            "hook must not be empty (leave it out, or null, for the workflow_scheduler.default_hook setting)"
                .to_string(),
        ));
    }
    if name.len() > MAX_HOOK_NAME_BYTES {
        return Err(invalid(format!("hook must be at most {MAX_HOOK_NAME_BYTES} bytes, got {}", name.len())));
    }
    Ok(name.to_string())
}

/// An ISO 8601 instant (as `scheduled_time` accepts it, local in the schedule's zone without
/// an offset).
fn parse_instant(value: &Value, key: &str, tz: Tz) -> Result<DateTime<Utc>, ScheduleError> {
    parse_scheduled_time(as_str(value, key)?, tz).map_err(|err| match err {
        ScheduleError::InvalidConfig(what) => invalid(what.replacen("scheduled_time", key, 1)),
        other => other,
    })
}

/// An integer from 0 to i32::MAX.
fn non_negative_i32(value: &Value, key: &str) -> Result<i32, ScheduleError> {
    match value.as_i64() {
        Some(0) => Ok(0),
        _ => positive_i32(value, key).map_err(|err| match err {
            ScheduleError::InvalidConfig(what) => invalid(what.replace("at least 1", "at least 0")),
            other => other,
        }),
    }
}

/// An integer from 1 to i32::MAX (the column type).
fn positive_i32(value: &Value, key: &str) -> Result<i32, ScheduleError> {
    let Value::Number(number) = value else {
        return Err(invalid(format!("{key} must be an integer, got {}", json_type(value))));
    };
    if let Some(n) = number.as_i64() {
        if n < 1 {
            return Err(invalid(format!("{key} must be at least 1, got {n}")));
        }
        return i32::try_from(n).map_err(|_| invalid(format!("{key} must be at most {}, got {n}", i32::MAX)));
    }
    if number.is_u64() {
        return Err(invalid(format!("{key} must be at most {}, got {number}", i32::MAX)));
    }
    Err(invalid(format!("{key} must be an integer, got {number}")))
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn invalid(what: String) -> ScheduleError {
    ScheduleError::InvalidConfig(what)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn context_data_size_is_limited() {
        // {"k":"xxx..."} is 8 bytes plus the string.
        let of_length = |n: usize| json!({ "k": "x".repeat(n - 8) });
        assert_eq!(json_length(&of_length(100)), 100);
        assert_eq!(json_length(&of_length(100)), of_length(100).to_string().len());
        assert!(validate_context_data(&of_length(MAX_CONTEXT_DATA_BYTES)).is_ok());
        assert_eq!(
            validate_context_data(&of_length(MAX_CONTEXT_DATA_BYTES + 1)).unwrap_err().to_string(),
            "Invalid schedule configuration: context_data is 65537 bytes as JSON; at most 65536 are allowed"
        );
        // Escapes and nesting count as written.
        let nested = json!({ "a": [{ "b": "\"".repeat(40_000) }] });
        let err = validate_context_data(&nested).unwrap_err().to_string();
        assert!(err.starts_with("Invalid schedule configuration: context_data is 80016 bytes"), "{err}");
        // The other checks still come first.
        assert!(validate_context_data(&json!([1])).unwrap_err().to_string().contains("must be a JSON object"));
        assert!(validate_context_data(&json!({})).is_ok());
    }
}
