//! The previews: `schedule_next` (granted to PUBLIC), `schedule_preview` and
//! `schedule_describe`. They read and write no table.

use pgrx::datum::TimestampWithTimeZone;
use pgrx::prelude::*;

use scheduler_core::{describe_cron, describe_rule, RecurrenceColumns};

use crate::api::schedules::{invalid, parse_config};
use crate::errors::ApiError;
use crate::errors::{raise, OrRaise};
use crate::pg::cron_cache::recurrence_of;
use crate::pg::cron_cache::with_cron_cache;
use crate::pg::jsonb_arg::JsonbArg;
use crate::pg::time_conv::transaction_now;
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
    if after.is_neg_infinity() {
        raise(invalid("after must not be -infinity"));
    }
    // +infinity, and finite times beyond what the time logic represents (year 262143), have
    // no occurrence after them that a timestamptz could hold.
    let after = to_utc(after)?;
    if after < earliest_after() {
        raise(invalid("after must be 0001-01-01 00:00 UTC or later"));
    }
    let scheduled_time = match scheduled_time.map(to_utc) {
        Some(None) => raise(invalid("scheduled_time must be a finite timestamp")),
        Some(Some(at)) => Some(at),
        None => None,
    };
    let columns = RecurrenceColumns {
        schedule_type: schedule_type.unwrap_or_default(),
        cron_expression,
        interval_seconds,
        scheduled_time,
        timezone: timezone.unwrap_or("UTC"),
        // For an interval, `after` is the anchor: the answer is after + interval_seconds.
        anchor_at: Some(after),
    };
    columns.check_fields_belong().or_raise();
    let recurrence = recurrence_of(&columns).or_raise();
    recurrence.next_after(after).map(from_utc)
}

/// The expression in English, worded as cronstrue words it: `0 9 * * 1-5` is "At 09:00, Monday
/// through Friday". NULL for NULL (STRICT); an invalid expression raises schedule_next's error.
/// STABLE rather than IMMUTABLE: the wording belongs to the library version and may change with
/// an upgrade, so it must not be frozen into indexes or generated columns.
#[pg_extern(stable, parallel_safe)]
#[search_path(pg_catalog, pg_temp)]
fn schedule_describe(cron_expression: &str) -> String {
    describe_cron(cron_expression).or_raise()
}

/// A stored schedule's rule in English, for `schedule_overview`: a cron expression as
/// `schedule_describe` words it, an interval (`Every 15 minutes`), a one-time schedule (`Once, at
/// 2026-12-25 15:30 in Europe/Berlin`). Never raises: a row that cannot be read (possible only
/// for rows older input rules accepted) reads `(cannot be described: <why>)`, so one bad row
/// cannot break the view.
#[pg_extern(stable, parallel_safe)]
#[search_path(pg_catalog, pg_temp)]
fn schedule_rule_description(
    schedule_type: Option<&str>,
    cron_expression: Option<&str>,
    interval_seconds: Option<i32>,
    scheduled_time: Option<TimestampWithTimeZone>,
    timezone: Option<&str>,
) -> String {
    let scheduled_time = scheduled_time.and_then(to_utc);
    let timezone = timezone.unwrap_or("UTC");
    let schedule_type = schedule_type.unwrap_or_default();
    // A view over many schedules asks for the same few rules again and again: remember them.
    let key = (
        schedule_type.to_string(),
        cron_expression.map(str::to_string),
        interval_seconds,
        scheduled_time.map(|t| t.timestamp_micros()),
        timezone.to_string(),
    );
    if let Some(known) = DESCRIPTIONS.with(|cache| cache.borrow().get(&key).cloned()) {
        return known;
    }
    let description = describe_rule(schedule_type, cron_expression, interval_seconds, scheduled_time, timezone)
        .unwrap_or_else(|err| format!("(cannot be described: {err})"));
    DESCRIPTIONS.with(|cache| {
        let mut cache = cache.borrow_mut();
        if cache.len() >= DESCRIPTION_CACHE_ENTRIES {
            cache.clear();
        }
        cache.insert(key, description.clone());
    });
    description
}

/// Rules remembered per backend; cleared when full (a cron expression is at most 1 KB, so the
/// cache stays within a few MB).
const DESCRIPTION_CACHE_ENTRIES: usize = 4096;

type RuleKey = (String, Option<String>, Option<i32>, Option<i64>, String);

thread_local! {
    static DESCRIPTIONS: std::cell::RefCell<std::collections::HashMap<RuleKey, String>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

/// The most occurrences one preview lists.
const MAX_PREVIEW: i32 = 1000;

/// The next `count` occurrences of a `schedule_config` after `after`, before it is saved: the
/// same validation as `schedule_add` (the same errors), in the config's own zone with the DST
/// rules, within its window. An interval is anchored as if created now (or at `start_at`).
#[pg_extern(stable, parallel_safe)]
#[search_path(pg_catalog, pg_temp)]
fn schedule_preview(
    schedule_config: Option<JsonbArg>,
    count: default!(Option<i32>, 10),
    after: default!(Option<TimestampWithTimeZone>, "now()"),
) -> SetOfIterator<'static, TimestampWithTimeZone> {
    let count = count.unwrap_or(10);
    if !(1..=MAX_PREVIEW).contains(&count) {
        raise(ApiError::InvalidArgument(format!("count must be between 1 and {MAX_PREVIEW}, got {count}")));
    }
    let Some(after) = after.and_then(to_utc) else {
        raise(ApiError::InvalidArgument("after must be a finite timestamp".to_string()));
    };
    let now = transaction_now();
    let config = parse_config(schedule_config, now).or_raise();
    let recurrence = with_cron_cache(|cache| config.recurrence(cache, config.interval_anchor(now))).or_raise();
    let mut times = Vec::with_capacity(count as usize);
    let mut from = after;
    while times.len() < count as usize {
        let Some(next) = recurrence.next_after(from) else { break };
        times.push(from_utc(next));
        from = next;
    }
    SetOfIterator::new(times)
}

/// Before year 1 the cron engine has no calendar to search: answers would be wrong.
fn earliest_after() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(-62_135_596_800, 0).unwrap_or_default() // 0001-01-01T00:00:00Z
}
