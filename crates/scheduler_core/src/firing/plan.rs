//! Plans: from a schedule's stored state to what must be written. Pure, so every rule here is
//! unit-tested without a database.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Map, Value};

use crate::audit::AuditEvent;
use crate::config::ScheduleConfig;
use crate::error::ScheduleError;
use crate::firing::grace::{decide_due, DueOutcome};
use crate::firing::overlap::{decide_overlap, OverlapOutcome, OverlapPolicy};
use crate::payload::{build_trigger_data, iso_utc, Occasion, TriggerKind};
use crate::time::cache::CronCache;
use crate::time::recurrence::{Recurrence, ScheduleKind};

/// What a due pass knows about one claimed schedule.
#[derive(Debug, Clone, Copy)]
pub struct DueSchedule<'a> {
    pub schedule_id: &'a str,
    pub workflow_id: &'a str,
    pub community_id: Option<i64>,
    /// `None` only for an inactive schedule claimed because its buffered occurrence was
    /// released.
    pub next_execution_at: Option<DateTime<Utc>>,
    pub max_executions: Option<i32>,
    pub execution_count: i32,
    pub context_data: &'a Map<String, Value>,
    pub overlap: OverlapPolicy,
    pub max_runtime_seconds: Option<i32>,
    /// An earlier execution of this schedule is `triggered` or `running`.
    pub busy: bool,
    /// The occurrence that `buffer_one` holds back.
    pub buffered_for: Option<DateTime<Utc>>,
    /// This schedule's grace period, if it has its own (`grace_seconds`).
    pub grace_seconds: Option<i32>,
    /// The end of its window (`end_at`): running out of occurrences there is `schedule_ended`.
    pub end_at: Option<DateTime<Utc>>,
}

/// What becomes of the occurrence a plan is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Occurrence {
    /// A `triggered` execution, a NOTIFY, and a count toward `max_executions`.
    Fired,
    /// Later than the grace period: a `missed` execution.
    Missed,
    /// The overlap policy said no: a `skipped` execution.
    Skipped,
    /// Held back by `buffer_one` (no execution yet): the schedule's `buffered_for`.
    Buffered,
    /// Recorded before by another pass: nothing is written but the schedule's move.
    AlreadyRecorded,
}

impl Occurrence {
    /// The execution row's status; `None`: no row.
    pub fn status(self) -> Option<&'static str> {
        match self {
            Occurrence::Fired => Some("triggered"),
            Occurrence::Missed => Some("missed"),
            Occurrence::Skipped => Some("skipped"),
            Occurrence::Buffered | Occurrence::AlreadyRecorded => None,
        }
    }
}

/// What to write for one due schedule.
#[derive(Debug, Clone, PartialEq)]
pub struct FirePlan {
    pub occurrence: Occurrence,
    pub scheduled_for: DateTime<Utc>,
    /// Older occurrences skipped in favour of this one.
    pub coalesced: u64,
    /// The schedule's new `next_execution_at`; `None` deactivates it.
    pub next_execution_at: Option<DateTime<Utc>>,
    /// The first occurrence after now whatever the limit: where the schedule moves when the
    /// occurrence turns out to be recorded already (see [`FirePlan::already_recorded`]).
    pub next_occurrence: Option<DateTime<Utc>>,
    /// The schedule's new `buffered_for`.
    pub buffered_for: Option<DateTime<Utc>>,
    /// When a fired execution times out (`max_runtime_seconds`).
    pub deadline_at: Option<DateTime<Utc>>,
    /// The execution row's `trigger_data` (and the full NOTIFY payload).
    pub trigger_data: Value,
    pub trigger_kind: TriggerKind,
    pub events: Vec<AuditEvent>,
}

impl FirePlan {
    /// Another pass (or an earlier run) already recorded this occurrence: the unique
    /// (schedule_id, scheduled_for) key refused the execution row. Then nothing counts, no
    /// event is written and nothing is notified; the schedule only moves on.
    pub fn already_recorded(self) -> FirePlan {
        FirePlan {
            occurrence: Occurrence::AlreadyRecorded,
            next_execution_at: self.next_occurrence,
            events: Vec::new(),
            ..self
        }
    }

    pub fn fired(&self) -> bool {
        self.occurrence == Occurrence::Fired
    }

    /// The execution row's status; `None`: no row (a buffered occurrence).
    pub fn status(&self) -> Option<&'static str> {
        self.occurrence.status()
    }
}

/// Decides what a due schedule becomes at `now`.
///
/// - A buffered occurrence whose blocker has finished fires first, alone: the schedule's next
///   time stays, so a regular occurrence that is also due is planned by the next pass.
/// - Otherwise the latest occurrence within the grace period (the schedule's own
///   `grace_seconds`, else `grace`) fires (older ones coalesced), or is
///   recorded as missed; the overlap policy may skip or buffer a fire while an earlier
///   execution is unfinished. A fire deactivates the schedule when it reaches
///   `max_executions`; a schedule with no next occurrence is deactivated too.
pub fn plan_due(
    row: &DueSchedule,
    recurrence: &Recurrence,
    execution_id: &str,
    now: DateTime<Utc>,
    grace: Duration,
) -> FirePlan {
    let (occurrence, scheduled_for, coalesced, next_occurrence, buffered_for) = match row.buffered_for {
        Some(waiting) if !row.busy => (Occurrence::Fired, waiting, 0, row.next_execution_at, None),
        _ => {
            // Claimed for being due, so the next time is set (see `DueSchedule`).
            let stored_next = row.next_execution_at.unwrap_or(now);
            let grace = row.grace_seconds.map_or(grace, |seconds| Duration::seconds(i64::from(seconds)));
            let decision = decide_due(recurrence, stored_next, now, grace);
            let (occurrence, scheduled_for, coalesced) = match decision.outcome {
                DueOutcome::Missed { scheduled_for, coalesced } => (Occurrence::Missed, scheduled_for, coalesced),
                DueOutcome::Fire { scheduled_for, coalesced } => {
                    let occurrence = match decide_overlap(row.overlap, row.busy, row.buffered_for.is_some()) {
                        OverlapOutcome::Fire => Occurrence::Fired,
                        OverlapOutcome::Skip => Occurrence::Skipped,
                        OverlapOutcome::Buffer => Occurrence::Buffered,
                    };
                    (occurrence, scheduled_for, coalesced)
                }
            };
            let buffered_for = if occurrence == Occurrence::Buffered { Some(scheduled_for) } else { row.buffered_for };
            (occurrence, scheduled_for, coalesced, decision.next_execution_at, buffered_for)
        }
    };
    let fired = occurrence == Occurrence::Fired;
    let released = fired && row.buffered_for.is_some() && buffered_for.is_none();
    let count_after = row.execution_count + i32::from(fired);
    let limit_reached = fired && row.max_executions.is_some_and(|max| count_after >= max);
    let next_execution_at = if limit_reached { None } else { next_occurrence };
    let deadline_at = row
        .max_runtime_seconds
        .filter(|_| fired)
        .and_then(|seconds| now.checked_add_signed(Duration::seconds(i64::from(seconds))));
    let trigger_data = build_trigger_data(
        row.schedule_id,
        execution_id,
        row.workflow_id,
        row.community_id,
        Occasion { scheduled_for, triggered_at: now, kind: TriggerKind::Scheduled },
        row.context_data,
    );

    let about = |action, result| {
        AuditEvent::audit(action, result, Some(row.schedule_id.to_string()))
            .by(row.community_id, None)
            .with("schedule_id", row.schedule_id)
    };
    let occurrence_event = |action, result| {
        about(action, result)
            .with("execution_id", execution_id)
            .with("workflow_id", row.workflow_id)
            .with("scheduled_for", iso_utc(scheduled_for))
    };
    let mut events = Vec::with_capacity(3);
    match occurrence {
        Occurrence::Fired => {
            let mut triggered = occurrence_event("schedule_triggered", "SUCCESS").with("coalesced", coalesced);
            if released {
                triggered = triggered.with("buffered", true);
            }
            events.push(triggered);
            events.push(
                about("schedule_executed", "SUCCESS")
                    .with("execution_id", execution_id)
                    .with("execution_count", count_after)
                    .with("next_execution_at", next_execution_at.map(iso_utc)),
            );
        }
        Occurrence::Missed => events.push(
            occurrence_event("schedule_missed", "MISSED")
                .with("late_by_seconds", (now - scheduled_for).num_seconds())
                .with("coalesced", coalesced),
        ),
        Occurrence::Skipped => events.push(
            occurrence_event("schedule_skipped", "SKIPPED")
                .with("overlap", row.overlap.as_str())
                .with("coalesced", coalesced),
        ),
        Occurrence::Buffered => events.push(
            about("schedule_buffered", "BUFFERED")
                .with("workflow_id", row.workflow_id)
                .with("scheduled_for", iso_utc(scheduled_for))
                .with("coalesced", coalesced),
        ),
        Occurrence::AlreadyRecorded => {}
    }
    if limit_reached {
        events.push(
            about("schedule_limit_reached", "SUCCESS")
                .with("max_executions", row.max_executions)
                .with("execution_count", count_after),
        );
    } else if next_execution_at.is_none() && row.next_execution_at.is_some() {
        if let Some(end_at) = row.end_at {
            events.push(about("schedule_ended", "SUCCESS").with("end_at", iso_utc(end_at)));
        }
    }
    FirePlan {
        occurrence,
        scheduled_for,
        coalesced,
        next_execution_at,
        next_occurrence,
        buffered_for,
        deadline_at,
        trigger_data,
        trigger_kind: TriggerKind::Scheduled,
        events,
    }
}

/// A run outside the grid (`schedule_trigger`, or `schedule_backfill` for a past occurrence):
/// one execution of kind `kind` for `scheduled_for`, with `extra_context` merged over the
/// schedule's own. The schedule's next regular occurrence does not move. It counts like any
/// execution (`execution_count`, `last_execution_*`, `max_executions`), and follows the overlap
/// policy: while an earlier execution is unfinished, `skip` and `buffer_one` record it as
/// `skipped` (a run asked for now cannot wait in the buffer).
pub fn plan_extra_run(
    row: &DueSchedule,
    kind: TriggerKind,
    scheduled_for: DateTime<Utc>,
    extra_context: &Map<String, Value>,
    execution_id: &str,
    now: DateTime<Utc>,
) -> FirePlan {
    let occurrence = match decide_overlap(row.overlap, row.busy, true) {
        OverlapOutcome::Fire => Occurrence::Fired,
        OverlapOutcome::Skip | OverlapOutcome::Buffer => Occurrence::Skipped,
    };
    let fired = occurrence == Occurrence::Fired;
    let count_after = row.execution_count + i32::from(fired);
    let limit_reached = fired && row.max_executions.is_some_and(|max| count_after >= max);
    let next_execution_at = if limit_reached { None } else { row.next_execution_at };
    let mut context = row.context_data.clone();
    context.extend(extra_context.iter().map(|(key, value)| (key.clone(), value.clone())));
    let trigger_data = build_trigger_data(
        row.schedule_id,
        execution_id,
        row.workflow_id,
        row.community_id,
        Occasion { scheduled_for, triggered_at: now, kind },
        &context,
    );
    let about = |action, result| {
        AuditEvent::audit(action, result, Some(row.schedule_id.to_string()))
            .by(row.community_id, None)
            .with("schedule_id", row.schedule_id)
            .with("execution_id", execution_id)
            .with("trigger_kind", kind.as_str())
    };
    let mut events = Vec::with_capacity(3);
    if fired {
        events.push(
            about("schedule_triggered", "SUCCESS")
                .with("workflow_id", row.workflow_id)
                .with("scheduled_for", iso_utc(scheduled_for)),
        );
        events.push(
            about("schedule_executed", "SUCCESS")
                .with("execution_count", count_after)
                .with("next_execution_at", next_execution_at.map(iso_utc)),
        );
    } else {
        events.push(
            about("schedule_skipped", "SKIPPED")
                .with("workflow_id", row.workflow_id)
                .with("scheduled_for", iso_utc(scheduled_for))
                .with("overlap", row.overlap.as_str()),
        );
    }
    if limit_reached {
        events.push(
            AuditEvent::audit("schedule_limit_reached", "SUCCESS", Some(row.schedule_id.to_string()))
                .by(row.community_id, None)
                .with("schedule_id", row.schedule_id)
                .with("max_executions", row.max_executions)
                .with("execution_count", count_after),
        );
    }
    FirePlan {
        occurrence,
        scheduled_for,
        coalesced: 0,
        next_execution_at,
        next_occurrence: row.next_execution_at,
        buffered_for: row.buffered_for,
        deadline_at: row
            .max_runtime_seconds
            .filter(|_| fired)
            .and_then(|seconds| now.checked_add_signed(Duration::seconds(i64::from(seconds)))),
        trigger_data,
        trigger_kind: kind,
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

/// The first run of a new schedule created at `now`, and its interval grid's anchor: the
/// creation time, or one interval before `start_at`.
pub fn plan_create(
    config: &ScheduleConfig,
    cache: &mut CronCache,
    now: DateTime<Utc>,
) -> Result<UpdatePlan, ScheduleError> {
    let anchor_at = config.interval_anchor(now);
    Ok(UpdatePlan { anchor_at, next_execution_at: config.recurrence(cache, anchor_at)?.next_after(now) })
}

/// What `schedule_update` needs to know about the row it replaces.
#[derive(Debug, Clone, Copy)]
pub struct StoredSchedule<'a> {
    pub schedule_type: &'a str,
    pub interval_seconds: Option<i32>,
    pub anchor_at: DateTime<Utc>,
    pub execution_count: i32,
    pub start_at: Option<DateTime<Utc>>,
}

/// The grid anchor and next run of a new or changed schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UpdatePlan {
    pub anchor_at: DateTime<Utc>,
    /// `None` leaves the schedule inactive.
    pub next_execution_at: Option<DateTime<Utc>>,
}

/// An interval schedule whose `interval_seconds` and `start_at` do not change keeps its grid;
/// any other change restarts the grid at `now` (or at `start_at`). The schedule becomes active again unless it has already
/// used up the new `max_executions`.
pub fn plan_update(
    stored: &StoredSchedule,
    config: &ScheduleConfig,
    cache: &mut CronCache,
    now: DateTime<Utc>,
) -> Result<UpdatePlan, ScheduleError> {
    let keeps_grid = stored.schedule_type == ScheduleKind::Interval.as_str()
        && config.kind == ScheduleKind::Interval
        && config.interval_seconds == stored.interval_seconds
        && config.start_at == stored.start_at;
    let anchor_at = if keeps_grid { stored.anchor_at } else { config.interval_anchor(now) };
    let next = config.recurrence(cache, anchor_at)?.next_after(now);
    let used_up = config.max_executions.is_some_and(|max| stored.execution_count >= max);
    Ok(UpdatePlan { anchor_at, next_execution_at: if used_up { None } else { next } })
}

/// The next run of a paused schedule resumed at `now`: the first occurrence after now within
/// its window, so that nothing due during the pause fires or is recorded as missed; `None` when
/// it has nothing left (its window ended, its one time passed, or its limit is used up).
pub fn plan_resume(
    recurrence: &Recurrence,
    max_executions: Option<i32>,
    execution_count: i32,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    if max_executions.is_some_and(|max| execution_count >= max) {
        return None;
    }
    recurrence.next_after(now)
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
            next_execution_at: Some(utc(next)),
            max_executions: max,
            execution_count: count,
            context_data: context,
            overlap: OverlapPolicy::Allow,
            max_runtime_seconds: None,
            busy: false,
            buffered_for: None,
            grace_seconds: None,
            end_at: None,
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
        assert!(plan.fired());
        assert_eq!(plan.status(), Some("triggered"));
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
        assert!(plan.fired());
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
        assert!(!plan.fired());
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
        assert!(!plan.fired());
        assert_eq!(plan.status(), Some("missed"));
        assert_eq!(plan.next_execution_at, Some(utc("2024-05-01T11:00:00Z")));
        assert_eq!(actions(&plan), ["schedule_missed"]);
        assert_eq!(plan.events[0].result, "MISSED");
        assert_eq!(plan.events[0].details_json()["late_by_seconds"], 1800);
    }

    const ON_TIME: &str = "2024-05-01T10:00:01Z";

    fn busy_row<'a>(
        overlap: OverlapPolicy,
        buffered: Option<&str>,
        context: &'a Map<String, Value>,
    ) -> DueSchedule<'a> {
        DueSchedule {
            overlap,
            busy: true,
            buffered_for: buffered.map(utc),
            ..row("2024-05-01T10:00:00Z", None, 4, context)
        }
    }

    fn plan_at(row: &DueSchedule, now: &str) -> FirePlan {
        plan_due(row, &hourly(), "e-1", utc(now), Duration::minutes(15))
    }

    #[test]
    fn allow_fires_while_an_earlier_execution_is_unfinished() {
        let context = Map::new();
        let plan = plan_at(&busy_row(OverlapPolicy::Allow, None, &context), ON_TIME);
        assert_eq!(plan.occurrence, Occurrence::Fired);
        assert_eq!(plan.buffered_for, None);
    }

    #[test]
    fn skip_records_a_skipped_execution_that_does_not_count() {
        let context = Map::new();
        let plan =
            plan_at(&DueSchedule { max_executions: Some(5), ..busy_row(OverlapPolicy::Skip, None, &context) }, ON_TIME);
        assert_eq!(plan.status(), Some("skipped"));
        assert_eq!(plan.next_execution_at, Some(utc("2024-05-01T11:00:00Z")), "the limit is not used up");
        assert_eq!(actions(&plan), ["schedule_skipped"]);
        assert_eq!(plan.events[0].result, "SKIPPED");
        assert_eq!(plan.events[0].details_json()["overlap"], "skip");
        assert_eq!(plan.deadline_at, None);
    }

    #[test]
    fn buffer_one_holds_one_occurrence_and_skips_the_next() {
        let context = Map::new();
        let first = plan_at(&busy_row(OverlapPolicy::BufferOne, None, &context), ON_TIME);
        assert_eq!(first.occurrence, Occurrence::Buffered);
        assert_eq!(first.status(), None, "a buffered occurrence has no execution row yet");
        assert_eq!(first.buffered_for, Some(utc("2024-05-01T10:00:00Z")));
        assert_eq!(first.next_execution_at, Some(utc("2024-05-01T11:00:00Z")));
        assert_eq!(actions(&first), ["schedule_buffered"]);

        let waiting = DueSchedule {
            next_execution_at: Some(utc("2024-05-01T11:00:00Z")),
            ..busy_row(OverlapPolicy::BufferOne, Some("2024-05-01T10:00:00Z"), &context)
        };
        let second = plan_at(&waiting, "2024-05-01T11:00:01Z");
        assert_eq!(second.status(), Some("skipped"));
        assert_eq!(second.scheduled_for, utc("2024-05-01T11:00:00Z"));
        assert_eq!(second.buffered_for, Some(utc("2024-05-01T10:00:00Z")), "the first one still waits");
    }

    #[test]
    fn a_released_buffer_fires_its_occurrence_late_and_keeps_the_next_time() {
        let context = Map::new();
        let released = DueSchedule {
            busy: false,
            next_execution_at: Some(utc("2024-05-01T11:00:00Z")),
            max_runtime_seconds: Some(600),
            ..busy_row(OverlapPolicy::BufferOne, Some("2024-05-01T10:00:00Z"), &context)
        };
        // Released 40 minutes late, beyond grace: it still fires, for its own time.
        let plan = plan_at(&released, "2024-05-01T10:40:00Z");
        assert_eq!(plan.occurrence, Occurrence::Fired);
        assert_eq!(plan.scheduled_for, utc("2024-05-01T10:00:00Z"));
        assert_eq!(plan.buffered_for, None);
        assert_eq!(plan.next_execution_at, Some(utc("2024-05-01T11:00:00Z")));
        assert_eq!(plan.deadline_at, Some(utc("2024-05-01T10:50:00Z")));
        assert_eq!(plan.events[0].details_json()["buffered"], true);
        assert_eq!(plan.events[1].details_json()["execution_count"], 5);
    }

    #[test]
    fn a_released_buffer_of_a_finished_schedule_fires_and_it_stays_finished() {
        let context = Map::new();
        let released = DueSchedule {
            busy: false,
            next_execution_at: None,
            ..busy_row(OverlapPolicy::BufferOne, Some("2024-05-01T10:00:00Z"), &context)
        };
        let plan = plan_at(&released, "2024-05-01T10:05:00Z");
        assert!(plan.fired());
        assert_eq!(plan.next_execution_at, None);
        let again = plan.already_recorded();
        assert_eq!(again.occurrence, Occurrence::AlreadyRecorded);
        assert_eq!(again.buffered_for, None, "a recorded occurrence no longer waits");
    }

    #[test]
    fn a_late_occurrence_is_missed_whatever_the_policy() {
        let context = Map::new();
        let plan = plan_at(&busy_row(OverlapPolicy::BufferOne, None, &context), "2024-05-01T10:30:00Z");
        assert_eq!(plan.status(), Some("missed"));
        assert_eq!(plan.buffered_for, None);
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
            start_at: None,
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
    fn a_resume_skips_what_fell_due_during_the_pause_even_across_a_dst_change() {
        // Paused on Saturday 2026-03-07, resumed on Monday 03-09 at 12:00 UTC (after New York's
        // spring-forward): the next 09:00 local is 03-10 13:00 UTC, EDT; the Sunday and Monday
        // 09:00 runs are neither fired nor missed.
        let zone = chrono_tz::America::New_York;
        let schedule = std::rc::Rc::new(crate::time::cron::CronSchedule::parse("0 9 * * *").unwrap());
        let recurrence = Recurrence::Cron { schedule, tz: zone };
        let now = utc("2026-03-09T14:00:00Z");
        assert_eq!(plan_resume(&recurrence, None, 3, now), Some(utc("2026-03-10T13:00:00Z")));
        assert_eq!(plan_resume(&recurrence, Some(3), 3, now), None, "a used-up limit stays finished");
        let ended = recurrence.windowed(None, Some(utc("2026-03-10T00:00:00Z")));
        assert_eq!(plan_resume(&ended, None, 3, now), None, "a window that ended stays finished");
    }

    #[test]
    fn an_extra_run_fires_now_outside_the_grid_and_follows_the_overlap_policy() {
        let context = Map::from_iter([("report".to_string(), json!("daily")), ("region".to_string(), json!("eu"))]);
        let extra = Map::from_iter([("region".to_string(), json!("us"))]);
        let row = DueSchedule { max_executions: Some(5), ..row("2024-05-01T11:00:00Z", None, 4, &context) };
        let now = utc("2024-05-01T10:20:00Z");
        let plan = plan_extra_run(&row, TriggerKind::Manual, now, &extra, "e-9", now);
        assert!(plan.fired());
        assert_eq!(plan.scheduled_for, now);
        assert_eq!(plan.next_execution_at, None, "the fifth execution reaches max_executions");
        assert_eq!(plan.next_occurrence, Some(utc("2024-05-01T11:00:00Z")), "the grid does not move");
        assert_eq!(
            (plan.trigger_data["region"].as_str(), plan.trigger_data["report"].as_str()),
            (Some("us"), Some("daily"))
        );
        assert_eq!(plan.trigger_data["trigger_kind"], "manual");
        assert_eq!(actions(&plan), ["schedule_triggered", "schedule_executed", "schedule_limit_reached"]);

        let busy = DueSchedule { overlap: OverlapPolicy::BufferOne, busy: true, ..row };
        let plan = plan_extra_run(&busy, TriggerKind::Manual, now, &extra, "e-10", now);
        assert_eq!(plan.status(), Some("skipped"), "a run asked for now cannot wait in the buffer");
        assert_eq!(plan.next_execution_at, Some(utc("2024-05-01T11:00:00Z")));
    }

    #[test]
    fn update_to_a_used_up_limit_stays_inactive() {
        let now = utc("2024-05-01T10:20:00Z");
        let stored = StoredSchedule {
            schedule_type: "cron",
            interval_seconds: None,
            anchor_at: now,
            execution_count: 3,
            start_at: None,
        };
        let used_up = config(r#"{"schedule_type": "cron", "cron_expression": "* * * * *", "max_executions": 3}"#, now);
        let plan = plan_update(&stored, &used_up, &mut CronCache::new(8), now).unwrap();
        assert_eq!(plan.next_execution_at, None);
    }
}
