//! `schedule_next`: a pure preview, granted to PUBLIC. It reads and writes no table.

use pgrx::datum::TimestampWithTimeZone;
use pgrx::prelude::*;

use scheduler_core::RecurrenceColumns;

use crate::api::schedules::invalid;
use crate::errors::{raise, OrRaise};
use crate::pg::cron_cache::recurrence_of;
use crate::pg::time_conv::{from_utc, to_utc};

/// The first occurrence strictly after `after`, or NULL if there is none. Writes nothing.
#[pg_extern(stable, parallel_safe)]
#[search_path(pg_catalog, pg_temp)]
fn schedule_next(
    schedule_type: Option<&str>,
    cron_expression: default!(Option<&str>, "NULL"),
    interval_seconds: default!(Option<i32>, "NULL"),
    scheduled_time: default!(Option<TimestampWithTimeZone>, "NULL"),
    timezone: default!(Option<&str>, "'UTC'"),
    after: default!(Option<TimestampWithTimeZone>, "now()"),
) -> Option<TimestampWithTimeZone> {
    let after = after?;
    let Some(after) = to_utc(after) else {
        // +infinity has nothing after it; -infinity has no first occurrence to speak of.
        if after.is_infinity() {
            return None;
        }
        raise(invalid("after must not be -infinity"));
    };
    let scheduled_time = match scheduled_time.map(to_utc) {
        Some(None) => raise(invalid("scheduled_time must be a finite timestamp")),
        Some(Some(at)) => Some(at),
        None => None,
    };
    let recurrence = recurrence_of(&RecurrenceColumns {
        schedule_type: schedule_type.unwrap_or_default(),
        cron_expression,
        interval_seconds,
        scheduled_time,
        timezone: timezone.unwrap_or("UTC"),
        // For an interval, `after` is the anchor: the answer is after + interval_seconds.
        anchor_at: Some(after),
    })
    .or_raise();
    recurrence.next_after(after).map(from_utc)
}
