//! Plans: from a schedule's stored state to what must be written. Pure, so every rule here is
//! unit-tested without a database.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Map, Value};

use crate::audit::AuditEvent;
use crate::config::ScheduleConfig;
use crate::error::ScheduleError;
use crate::firing::grace::{decide_due, DueOutcome};
use crate::payload::{build_trigger_data, iso_utc};
use crate::time::cache::CronCache;
use crate::time::recurrence::{Recurrence, ScheduleKind};

/// What a due pass knows about one claimed schedule.
#[derive(Debug, Clone, Copy)]
pub struct DueSchedule<'a> {
    pub schedule_id: &'a str,
    pub workflow_id: &'a str,
    pub community_id: Option<i64>,
    pub next_execution_at: DateTime<Utc>,
    pub max_executions: Option<i32>,
    pub execution_count: i32,
    pub context_data: &'a Map<String, Value>,
}

/// What to write for one due schedule.
#[derive(Debug, Clone, PartialEq)]
pub struct FirePlan {
    /// True: a `triggered` execution and a NOTIFY. False: a `missed` execution only.
    pub fired: bool,
    pub scheduled_for: DateTime<Utc>,
    /// Older occurrences skipped in favour of this one.
    pub coalesced: u64,
    /// The schedule's new `next_execution_at`; `None` deactivates it.
    pub next_execution_at: Option<DateTime<Utc>>,
    /// The first occurrence after now whatever the limit: where the schedule moves when the
    /// occurrence turns out to be recorded already (see [`FirePlan::already_recorded`]).
    pub next_occurrence: Option<DateTime<Utc>>,
    /// The execution row's `trigger_data` (and the full NOTIFY payload).
    pub trigger_data: Value,
    pub events: Vec<AuditEvent>,
}

impl FirePlan {
    /// Another pass (or an earlier run) already recorded this occurrence: the unique
    /// (schedule_id, scheduled_for) key refused the execution row. Then nothing counts, no
    /// event is written and nothing is notified; the schedule only moves on.
    pub fn already_recorded(self) -> FirePlan {
        FirePlan { fired: false, next_execution_at: self.next_occurrence, events: Vec::new(), ..self }
    }

    pub fn status(&self) -> &'static str {
        if self.fired {
            "triggered"
        } else {
            "missed"
        }
    }
}

/// Decides what a due schedule becomes at `now`: fired once for the latest occurrence within
/// `grace` (older ones coalesced), or recorded as missed; deactivated when it reaches
/// `max_executions` or has no next occurrence.
pub fn plan_due(
    row: &DueSchedule,
    recurrence: &Recurrence,
    execution_id: &str,
    now: DateTime<Utc>,
    grace: Duration,
) -> FirePlan {
    let decision = decide_due(recurrence, row.next_execution_at, now, grace);
    let (fired, scheduled_for, coalesced) = match decision.outcome {
        DueOutcome::Fire { scheduled_for, coalesced } => (true, scheduled_for, coalesced),
        DueOutcome::Missed { scheduled_for, coalesced } => (false, scheduled_for, coalesced),
    };
    let count_after = row.execution_count + i32::from(fired);
    let limit_reached = fired && row.max_executions.is_some_and(|max| count_after >= max);
    let next_execution_at = if limit_reached { None } else { decision.next_execution_at };
    let trigger_data = build_trigger_data(
        row.schedule_id,
        execution_id,
        row.workflow_id,
        row.community_id,
        scheduled_for,
        now,
        row.context_data,
    );

    let about = |action, result| {
        AuditEvent::audit(action, result, Some(row.schedule_id.to_string()))
            .by(row.community_id, None)
            .with("schedule_id", row.schedule_id)
    };
    let mut events = Vec::with_capacity(3);
    if fired {
        events.push(
            about("schedule_triggered", "SUCCESS")
                .with("execution_id", execution_id)
                .with("workflow_id", row.workflow_id)
                .with("scheduled_for", iso_utc(scheduled_for))
                .with("coalesced", coalesced),
        );
        events.push(
            about("schedule_executed", "SUCCESS")
                .with("execution_id", execution_id)
                .with("execution_count", count_after)
                .with("next_execution_at", next_execution_at.map(iso_utc)),
        );
    } else {
        events.push(
            about("schedule_missed", "MISSED")
                .with("execution_id", execution_id)
                .with("workflow_id", row.workflow_id)
                .with("scheduled_for", iso_utc(scheduled_for))
                .with("late_by_seconds", (now - scheduled_for).num_seconds())
                .with("coalesced", coalesced),
        );
    }
    if limit_reached {
        events.push(
            about("schedule_limit_reached", "SUCCESS")
                .with("max_executions", row.max_executions)
                .with("execution_count", count_after),
        );
    }
    FirePlan {
        fired,
        scheduled_for,
        coalesced,
        next_execution_at,
        next_occurrence: decision.next_execution_at,
        trigger_data,
        events,
    }
}

/// A schedule whose row cannot be evaluated, or whose fire fails whatever is retried, is
/// deactivated with this ERROR event; the pass goes on with the others.
pub fn plan_broken(row: &DueSchedule, error: &str) -> AuditEvent {
    AuditEvent::error("scheduler_job_error", Some(row.schedule_id.to_string()))
        .by(row.community_id, None)
        .with("schedule_id", row.schedule_id)
        .with("workflow_id", row.workflow_id)
        .with("error", error)
        .with("action_taken", "deactivated")
}

/// The first run of a new schedule, anchored at its creation time `now`.
pub fn plan_create(
    config: &ScheduleConfig,
    cache: &mut CronCache,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, ScheduleError> {
    Ok(config.recurrence(cache, now)?.next_after(now))
}

/// What `schedule_update` needs to know about the row it replaces.
#[derive(Debug, Clone, Copy)]
pub struct StoredSchedule<'a> {
    pub schedule_type: &'a str,
    pub interval_seconds: Option<i32>,
    pub anchor_at: DateTime<Utc>,
    pub execution_count: i32,
}

/// The new grid anchor and next run after a config change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UpdatePlan {
    pub anchor_at: DateTime<Utc>,
    /// `None` leaves the schedule inactive.
    pub next_execution_at: Option<DateTime<Utc>>,
}

/// An interval schedule whose `interval_seconds` does not change keeps its grid; any other
/// change restarts the grid at `now`. The schedule becomes active again unless it has already
/// used up the new `max_executions`.
pub fn plan_update(
    stored: &StoredSchedule,
    config: &ScheduleConfig,
    cache: &mut CronCache,
    now: DateTime<Utc>,
) -> Result<UpdatePlan, ScheduleError> {
    let keeps_grid = stored.schedule_type == ScheduleKind::Interval.as_str()
        && config.kind == ScheduleKind::Interval
        && config.interval_seconds == stored.interval_seconds;
    let anchor_at = if keeps_grid { stored.anchor_at } else { now };
    let next = config.recurrence(cache, anchor_at)?.next_after(now);
    let used_up = config.max_executions.is_some_and(|max| stored.execution_count >= max);
    Ok(UpdatePlan { anchor_at, next_execution_at: if used_up { None } else { next } })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::config::validate_config;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn row<'a>(next: &str, max: Option<i32>, count: i32, context: &'a Map<String, Value>) -> DueSchedule<'a> {
        DueSchedule {
            schedule_id: "s-1",
            workflow_id: "w-1",
            community_id: Some(7),
            next_execution_at: utc(next),
            max_executions: max,
            execution_count: count,
            context_data: context,
        }
    }

    fn hourly() -> Recurrence {
        Recurrence::Interval { every_seconds: 3600, anchor: utc("2024-05-01T00:00:00Z") }
    }

    fn actions(plan: &FirePlan) -> Vec<&'static str> {
        plan.events.iter().map(|e| e.action).collect()
    }

    #[test]
    fn an_on_time_fire_advances_and_reports_two_events() {
        let context = Map::from_iter([("k".to_string(), json!("v"))]);
        let plan = plan_due(
            &row("2024-05-01T10:00:00Z", None, 4, &context),
            &hourly(),
            "e-1",
            utc("2024-05-01T10:00:01Z"),
            Duration::minutes(15),
        );
        assert!(plan.fired);
        assert_eq!(plan.status(), "triggered");
        assert_eq!(plan.scheduled_for, utc("2024-05-01T10:00:00Z"));
        assert_eq!(plan.next_execution_at, Some(utc("2024-05-01T11:00:00Z")));
        assert_eq!(actions(&plan), ["schedule_triggered", "schedule_executed"]);
        assert_eq!(plan.events[1].details_json()["execution_count"], 5);
        assert_eq!(plan.trigger_data["k"], "v");
        assert_eq!(plan.trigger_data["execution_id"], "e-1");
        assert!(plan.events.iter().all(|e| e.schedule_id.as_deref() == Some("s-1") && e.community_id == Some(7)));
    }

    #[test]
    fn reaching_max_executions_deactivates() {
        let context = Map::new();
        let plan = plan_due(
            &row("2024-05-01T10:00:00Z", Some(5), 4, &context),
            &hourly(),
            "e-1",
            utc("2024-05-01T10:00:01Z"),
            Duration::minutes(15),
        );
        assert!(plan.fired);
        assert_eq!(plan.next_execution_at, None);
        assert_eq!(actions(&plan), ["schedule_triggered", "schedule_executed", "schedule_limit_reached"]);
    }

    #[test]
    fn an_occurrence_recorded_already_only_moves_the_schedule_on() {
        let context = Map::new();
        let plan = plan_due(
            &row("2024-05-01T10:00:00Z", Some(5), 4, &context),
            &hourly(),
            "e-1",
            utc("2024-05-01T10:00:01Z"),
            Duration::minutes(15),
        )
        .already_recorded();
        assert!(!plan.fired);
        assert!(plan.events.is_empty());
        assert_eq!(plan.next_execution_at, Some(utc("2024-05-01T11:00:00Z")), "the limit was not used up");
    }

    #[test]
    fn a_miss_does_not_count_toward_the_limit() {
        let context = Map::new();
        let plan = plan_due(
            &row("2024-05-01T10:00:00Z", Some(5), 4, &context),
            &hourly(),
            "e-1",
            utc("2024-05-01T10:30:00Z"),
            Duration::minutes(15),
        );
        assert!(!plan.fired);
        assert_eq!(plan.status(), "missed");
        assert_eq!(plan.next_execution_at, Some(utc("2024-05-01T11:00:00Z")));
        assert_eq!(actions(&plan), ["schedule_missed"]);
        assert_eq!(plan.events[0].result, "MISSED");
        assert_eq!(plan.events[0].details_json()["late_by_seconds"], 1800);
    }

    #[test]
    fn a_broken_row_is_an_error_event() {
        let context = Map::new();
        let event = plan_broken(
            &row("2024-05-01T10:00:00Z", None, 0, &context),
            &ScheduleError::InvalidTimezone("Mars/Base".into()).to_string(),
        );
        assert_eq!((event.action, event.result), ("scheduler_job_error", "FAILURE"));
        assert_eq!(event.details_json()["action_taken"], "deactivated");
    }

    fn config(text: &str, now: DateTime<Utc>) -> ScheduleConfig {
        validate_config(&serde_json::from_str(text).unwrap(), "UTC", now).unwrap()
    }

    #[test]
    fn update_keeps_the_grid_only_for_the_same_interval() {
        let now = utc("2024-05-01T10:20:00Z");
        let stored = StoredSchedule {
            schedule_type: "interval",
            interval_seconds: Some(600),
            anchor_at: utc("2024-05-01T10:05:00Z"),
            execution_count: 1,
        };
        let mut cache = CronCache::new(8);
        let same = config(r#"{"schedule_type": "interval", "interval_seconds": 600, "max_executions": 9}"#, now);
        let plan = plan_update(&stored, &same, &mut cache, now).unwrap();
        assert_eq!(plan.anchor_at, stored.anchor_at);
        assert_eq!(plan.next_execution_at, Some(utc("2024-05-01T10:25:00Z")));

        let other = config(r#"{"schedule_type": "interval", "interval_seconds": 300}"#, now);
        let plan = plan_update(&stored, &other, &mut cache, now).unwrap();
        assert_eq!(plan.anchor_at, now);
        assert_eq!(plan.next_execution_at, Some(utc("2024-05-01T10:25:00Z")));
    }

    #[test]
    fn update_to_a_used_up_limit_stays_inactive() {
        let now = utc("2024-05-01T10:20:00Z");
        let stored =
            StoredSchedule { schedule_type: "cron", interval_seconds: None, anchor_at: now, execution_count: 3 };
        let used_up = config(r#"{"schedule_type": "cron", "cron_expression": "* * * * *", "max_executions": 3}"#, now);
        let plan = plan_update(&stored, &used_up, &mut CronCache::new(8), now).unwrap();
        assert_eq!(plan.next_execution_at, None);
    }
}
