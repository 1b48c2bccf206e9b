//! The one error type of the crate.
//!
//! Every variant renders the full user-facing message. The prefixes are part of the
//! product contract (PRODUCT.md, "Errors"): callers match on them, so they never change.
//! All of them map to SQLSTATE 22023 (invalid_parameter_value) in the extension.

use std::fmt;

/// Why a schedule configuration, cron expression or time zone was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScheduleError {
    /// `Invalid cron expression: <what is wrong>`.
    InvalidCron(String),
    /// `<field> required ...`: a field the schedule type needs is absent or null.
    MissingField(&'static str),
    /// `scheduled_time must be in the future`.
    ScheduledTimeInPast,
    /// `Invalid timezone: <name>`.
    InvalidTimezone(String),
    /// `Invalid schedule configuration: <what is wrong>`.
    InvalidConfig(String),
}

impl fmt::Display for ScheduleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScheduleError::InvalidCron(what) => write!(f, "Invalid cron expression: {what}"),
            ScheduleError::MissingField(field) => match required_by(field) {
                Some(kind) => write!(f, "{field} required for schedule_type {kind}"),
                None => write!(f, "{field} required"),
            },
            ScheduleError::ScheduledTimeInPast => write!(f, "scheduled_time must be in the future"),
            ScheduleError::InvalidTimezone(name) => {
                write!(f, "Invalid timezone: {name}")?;
                // An empty name would leave the message dangling; say what was seen.
                if name.trim().is_empty() {
                    write!(f, "(empty string)")?;
                }
                write!(f, " (expected an IANA time zone name such as UTC or Europe/Berlin)")
            }
            ScheduleError::InvalidConfig(what) => {
                write!(f, "Invalid schedule configuration: {what}")
            }
        }
    }
}

impl std::error::Error for ScheduleError {}

/// The schedule type that makes `field` mandatory, for a more helpful message.
fn required_by(field: &str) -> Option<&'static str> {
    match field {
        "cron_expression" => Some("cron"),
        "interval_seconds" => Some("interval"),
        "scheduled_time" => Some("one_time"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_start_with_the_contract_prefixes() {
        let cases = [
            (ScheduleError::InvalidCron("x".into()), "Invalid cron expression: x"),
            (ScheduleError::MissingField("cron_expression"), "cron_expression required for schedule_type cron"),
            (ScheduleError::MissingField("interval_seconds"), "interval_seconds required for schedule_type interval"),
            (ScheduleError::MissingField("scheduled_time"), "scheduled_time required for schedule_type one_time"),
            (ScheduleError::MissingField("other"), "other required"),
            (ScheduleError::ScheduledTimeInPast, "scheduled_time must be in the future"),
            (ScheduleError::InvalidTimezone("Mars/Base".into()), "Invalid timezone: Mars/Base"),
            (ScheduleError::InvalidTimezone(String::new()), "Invalid timezone: (empty string)"),
            (ScheduleError::InvalidConfig("y".into()), "Invalid schedule configuration: y"),
        ];
        for (err, prefix) in cases {
            let text = err.to_string();
            assert!(text.starts_with(prefix), "{text:?} should start with {prefix:?}");
        }
    }

    #[test]
    fn is_a_std_error() {
        let err: Box<dyn std::error::Error> = Box::new(ScheduleError::ScheduledTimeInPast);
        assert_eq!(err.to_string(), "scheduled_time must be in the future");
    }
}
