//! Windows (`start_at`, `end_at`) and per-schedule grace (`grace_seconds`): the occurrences a
//! window lets through, an interval anchored at `start_at`, the end of a window, and the errors.

mod common;

use chrono::{DateTime, Duration, Utc};
use common::utc;
use scheduler_core::{plan_create, plan_due, validate_config, CronCache, DueSchedule, ScheduleConfig};
use serde_json::{json, Map, Value};

fn now() -> DateTime<Utc> {
    utc("2026-03-01T12:00:00Z")
}

fn config(value: Value) -> ScheduleConfig {
    validate_config(&value, "UTC", now()).unwrap_or_else(|e| panic!("{value}: {e}"))
}

fn rejected(value: Value) -> String {
    validate_config(&value, "UTC", now()).expect_err("accepted").to_string()
}

#[test]
fn an_interval_with_start_at_is_anchored_there_and_ends_before_end_at() {
    let c = config(json!({"schedule_type": "interval", "interval_seconds": 3600,
                          "start_at": "2026-03-02T09:00:00Z", "end_at": "2026-03-02T12:00:00Z"}));
    let mut cache = CronCache::new(4);
    let plan = plan_create(&c, &mut cache, now()).unwrap();
    assert_eq!(plan.anchor_at, utc("2026-03-02T08:00:00Z"));
    assert_eq!(plan.next_execution_at, Some(utc("2026-03-02T09:00:00Z")), "the first occurrence is start_at");
    let r = c.recurrence(&mut cache, plan.anchor_at).unwrap();
    assert_eq!(r.next_after(utc("2026-03-02T10:30:00Z")), Some(utc("2026-03-02T11:00:00Z")));
    assert_eq!(r.next_after(utc("2026-03-02T11:00:00Z")), None, "end_at is exclusive");
    assert_eq!(r.latest_at_or_before(utc("2026-03-02T08:59:59Z")), None, "nothing before start_at");
    assert_eq!(r.latest_at_or_before(utc("2026-03-05T00:00:00Z")), Some(utc("2026-03-02T11:00:00Z")));
    assert_eq!(r.occurrences_in(utc("2026-03-01T00:00:00Z"), utc("2026-03-03T00:00:00Z"), 100), 3);
}

#[test]
fn a_cron_window_in_its_own_zone_across_a_dst_change() {
    // New York springs forward on 2026-03-08: 02:30 does not exist and resolves to 03:00 EDT.
    let c = config(json!({"schedule_type": "cron", "cron_expression": "30 2 * * *", "timezone": "America/New_York",
                          "start_at": "2026-03-07T12:00:00", "end_at": "2026-03-10T00:00:00"}));
    let mut cache = CronCache::new(4);
    let plan = plan_create(&c, &mut cache, now()).unwrap();
    assert_eq!(plan.next_execution_at, Some(utc("2026-03-08T07:00:00Z")), "start_at is local: no 2026-03-07 02:30");
    let r = c.recurrence(&mut cache, plan.anchor_at).unwrap();
    assert_eq!(r.next_after(utc("2026-03-08T07:00:00Z")), Some(utc("2026-03-09T06:30:00Z")));
    assert_eq!(r.next_after(utc("2026-03-09T06:30:00Z")), None, "the window ends at local midnight of 03-10");
}

#[test]
fn the_last_occurrence_of_a_window_fires_and_the_schedule_ends() {
    let context = Map::new();
    let c = config(json!({"schedule_type": "interval", "interval_seconds": 60,
                          "start_at": "2026-03-01T12:01:00Z", "end_at": "2026-03-01T12:03:00Z"}));
    let mut cache = CronCache::new(4);
    let plan = plan_create(&c, &mut cache, now()).unwrap();
    let r = c.recurrence(&mut cache, plan.anchor_at).unwrap();
    let row = |next: &str| DueSchedule {
        schedule_id: "s",
        workflow_id: "w",
        community_id: None,
        next_execution_at: Some(utc(next)),
        max_executions: None,
        execution_count: 1,
        context_data: &context,
        overlap: Default::default(),
        max_runtime_seconds: None,
        busy: false,
        buffered_for: None,
        grace_seconds: None,
        end_at: c.end_at,
    };
    let last = plan_due(&row("2026-03-01T12:02:00Z"), &r, "e", utc("2026-03-01T12:02:01Z"), Duration::minutes(15));
    assert!(last.fired());
    assert_eq!(last.next_execution_at, None);
    let actions: Vec<_> = last.events.iter().map(|e| e.action).collect();
    assert_eq!(actions, ["schedule_triggered", "schedule_executed", "schedule_ended"]);
}

#[test]
fn grace_seconds_overrides_the_setting_for_one_schedule() {
    let context = Map::new();
    let c = config(json!({"schedule_type": "interval", "interval_seconds": 3600, "grace_seconds": 60}));
    assert_eq!(c.grace_seconds, Some(60));
    let r = c.recurrence(&mut CronCache::new(1), utc("2026-03-01T00:00:00Z")).unwrap();
    let row = DueSchedule {
        schedule_id: "s",
        workflow_id: "w",
        community_id: None,
        next_execution_at: Some(utc("2026-03-01T01:00:00Z")),
        max_executions: None,
        execution_count: 0,
        context_data: &context,
        overlap: Default::default(),
        max_runtime_seconds: None,
        busy: false,
        buffered_for: None,
        grace_seconds: c.grace_seconds,
        end_at: None,
    };
    let five_minutes_late = utc("2026-03-01T01:05:00Z");
    let plan = plan_due(&row, &r, "e", five_minutes_late, Duration::minutes(15));
    assert_eq!(plan.status(), Some("missed"), "60 s of grace, not the setting's 15 min");
    let plan = plan_due(&DueSchedule { grace_seconds: None, ..row }, &r, "e", five_minutes_late, Duration::minutes(15));
    assert_eq!(plan.status(), Some("triggered"));
    assert_eq!(
        config(json!({"schedule_type": "interval", "interval_seconds": 5, "grace_seconds": 0})).grace_seconds,
        Some(0)
    );
}

#[test]
fn window_and_grace_errors() {
    let base = |extra: Value| {
        let mut c = json!({"schedule_type": "interval", "interval_seconds": 60});
        c.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        c
    };
    let cases = [
        (
            json!({"start_at": "2026-03-02T00:00:00Z", "end_at": "2026-03-02T00:00:00Z"}),
            "end_at must be after start_at",
        ),
        (json!({"end_at": "2026-02-01T00:00:00Z"}), "end_at is in the past: the schedule would never fire"),
        (json!({"start_at": "soon"}), "start_at 'soon' is not an ISO 8601 timestamp"),
        (json!({"end_at": 5}), "end_at must be a string, got number"),
        (json!({"grace_seconds": -1}), "grace_seconds must be at least 0, got -1"),
        (json!({"grace_seconds": "60"}), "grace_seconds must be an integer, got string"),
    ];
    for (extra, want) in cases {
        let message = rejected(base(extra.clone()));
        assert!(message.starts_with(&format!("Invalid schedule configuration: {want}")), "{extra}: {message}");
    }
    let message = rejected(json!({"schedule_type": "one_time", "scheduled_time": "2026-04-01T00:00:00Z",
                                  "end_at": "2026-03-15T00:00:00Z"}));
    assert_eq!(message, "Invalid schedule configuration: scheduled_time is outside start_at .. end_at");
    let message = rejected(json!({"schedule_type": "cron", "cron_expression": "0 0 1 * *",
                                  "start_at": "2026-03-02T00:00:00Z", "end_at": "2026-03-20T00:00:00Z"}));
    assert_eq!(message, "Invalid schedule configuration: '0 0 1 * *' has no occurrence between start_at and end_at");
}
