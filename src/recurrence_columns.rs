//! Builds a `Recurrence` from a schedule's stored columns (or `schedule_next`'s arguments),
//! through the backend's parsed-expression cache. Both the due pass and `schedule_next` use it,
//! so a row is evaluated the same way wherever it is read.

use chrono::{DateTime, Utc};
use scheduler_core::{parse_timezone, Recurrence, ScheduleError, ScheduleKind};

use crate::cron_cache::with_cron_cache;

/// The columns that define when a schedule fires.
pub struct RecurrenceColumns<'a> {
    pub schedule_type: &'a str,
    pub cron_expression: Option<&'a str>,
    pub interval_seconds: Option<i32>,
    pub scheduled_time: Option<DateTime<Utc>>,
    pub timezone: &'a str,
    /// The interval grid's anchor.
    pub anchor_at: Option<DateTime<Utc>>,
}

pub fn recurrence_from_columns(columns: &RecurrenceColumns) -> Result<Recurrence, ScheduleError> {
    match ScheduleKind::parse(columns.schedule_type)? {
        ScheduleKind::Cron => {
            let expr = columns.cron_expression.ok_or(ScheduleError::MissingField("cron_expression"))?;
            let tz = parse_timezone(columns.timezone)?;
            let schedule = with_cron_cache(|cache| cache.get_or_parse(expr))?;
            Ok(Recurrence::Cron { schedule, tz })
        }
        ScheduleKind::Interval => {
            let every = columns.interval_seconds.ok_or(ScheduleError::MissingField("interval_seconds"))?;
            if every < 1 {
                return Err(ScheduleError::InvalidConfig(format!(
                    "interval_seconds must be 1 or more, got {every}"
                )));
            }
            let anchor = columns
                .anchor_at
                .ok_or_else(|| ScheduleError::InvalidConfig("interval anchor must be a finite timestamp".into()))?;
            Ok(Recurrence::Interval { every_seconds: i64::from(every), anchor })
        }
        ScheduleKind::OneTime => {
            let at = columns.scheduled_time.ok_or(ScheduleError::MissingField("scheduled_time"))?;
            Ok(Recurrence::OneTime { at })
        }
    }
}
