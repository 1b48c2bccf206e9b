//! Firing through the worker: limits, kinds, grace, concurrency, broken rows, restarts,
//! settings and large payloads.

use std::collections::HashSet;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::*;

#[test]
fn interval_fires_exactly_max_executions_with_context_merged() {
    let mut client = connect();
    let mut listener = listen(CHANNEL);
    let workflow = new_workflow(&mut client);
    let schedule = add(
        &mut client,
        &workflow,
        r#"{"schedule_type": "interval", "interval_seconds": 1, "max_executions": 3}"#,
        r#"{"custom_param": "value", "user_context": {"role": "admin"}}"#,
    );
    let schedule_id = schedule["schedule_id"].as_str().unwrap();

    let fires = collect(&mut listener, &workflow, 4, Duration::from_secs(8));
    assert_eq!(fires.len(), 3, "exactly max_executions notifications: {fires:?}");
    let executions: HashSet<&str> = fires.iter().map(|f| f["execution_id"].as_str().unwrap()).collect();
    assert_eq!(executions.len(), 3, "each notification is its own execution");
    for fire in &fires {
        assert_eq!(fire["schedule_id"], schedule_id);
        assert_eq!(fire["workflow_id"], workflow.as_str());
        assert_eq!(fire["community_id"], 7);
        assert_eq!(fire["custom_param"], "value");
        assert_eq!(fire["user_context"]["role"], "admin");
        assert!(fire["triggered_at"].as_str().unwrap().ends_with('Z'), "{fire}");
        assert!(fire["scheduled_for"].is_string(), "{fire}");
    }

    let state = get(&mut client, schedule_id);
    assert_eq!(state["is_active"], false);
    assert_eq!(state["execution_count"], 3);
    assert_eq!(state["next_execution_at"], Value::Null);
    let rows = count(
        &mut client,
        "SELECT count(*) FROM workflow_scheduler.workflow_schedule_executions
          WHERE workflow_id = $1::text::uuid AND status = 'triggered'",
        &workflow,
    );
    assert_eq!(rows, 3);
    let limit_events = count(
        &mut client,
        "SELECT count(*) FROM workflow_scheduler.audit_log a
           JOIN workflow_scheduler.workflow_schedules s ON s.schedule_id::text = a.details->>'schedule_id'
          WHERE s.workflow_id = $1::text::uuid AND a.action = 'schedule_limit_reached'",
        &workflow,
    );
    assert_eq!(limit_events, 1);
}

#[test]
fn one_time_fires_once_then_is_inactive() {
    let mut client = connect();
    let mut listener = listen(CHANNEL);
    let workflow = new_workflow(&mut client);
    let at = in_seconds(&mut client, 2.0);
    let schedule =
        add(&mut client, &workflow, &format!(r#"{{"schedule_type": "one_time", "scheduled_time": "{at}"}}"#), "{}");
    let fires = collect(&mut listener, &workflow, 2, Duration::from_secs(6));
    assert_eq!(fires.len(), 1, "{fires:?}");
    let state = get(&mut client, schedule["schedule_id"].as_str().unwrap());
    assert_eq!(state["is_active"], false);
    assert_eq!(state["execution_count"], 1);
    let same_instant: bool = client
        .query_one(
            "SELECT $1::text::timestamptz = $2::text::timestamptz",
            &[&fires[0]["scheduled_for"].as_str().unwrap(), &at],
        )
        .unwrap()
        .get(0);
    assert!(same_instant, "scheduled_for {} should be {at}", fires[0]["scheduled_for"]);
}

#[test]
fn cron_every_minute_fires_at_the_top_of_a_minute() {
    let mut client = connect();
    let mut listener = listen(CHANNEL);
    let workflow = new_workflow(&mut client);
    add(&mut client, &workflow, r#"{"schedule_type": "cron", "cron_expression": "* * * * *"}"#, "{}");
    let fires = collect(&mut listener, &workflow, 1, Duration::from_secs(75));
    remove_workflow(&mut client, &workflow);
    assert_eq!(fires.len(), 1);
    let on_minute: bool = client
        .query_one(
            "SELECT date_trunc('minute', $1::text::timestamptz) = $1::text::timestamptz",
            &[&fires[0]["scheduled_for"].as_str().unwrap()],
        )
        .unwrap()
        .get(0);
    assert!(on_minute, "scheduled_for {}", fires[0]["scheduled_for"]);
}

#[test]
fn grace_period_misses_old_occurrences_and_fires_recent_ones() {
    let mut client = connect();
    let mut listener = listen(CHANNEL);
    let workflow = new_workflow(&mut client);

    // Both schedules are set up in one transaction, so the worker sees them together.
    let mut tx = client.transaction().unwrap();
    let stale: String = tx
        .query_one(
            "SELECT workflow_scheduler.schedule_add($1::text::uuid,
                 '{\"schedule_type\": \"interval\", \"interval_seconds\": 3600}', 42, 7)->>'schedule_id'",
            &[&workflow],
        )
        .unwrap()
        .get(0);
    let recent: String = tx
        .query_one(
            "SELECT workflow_scheduler.schedule_add($1::text::uuid,
                 '{\"schedule_type\": \"cron\", \"cron_expression\": \"* * * * *\"}', 42, 7)->>'schedule_id'",
            &[&workflow],
        )
        .unwrap()
        .get(0);
    // 30 minutes late: beyond the 15-minute grace. 5 minutes late on an every-minute cron:
    // the latest occurrence fires once and the older ones are coalesced.
    tx.execute(
        "UPDATE workflow_scheduler.workflow_schedules SET next_execution_at = now() - interval '30 minutes'
          WHERE schedule_id = $1::text::uuid",
        &[&stale],
    )
    .unwrap();
    tx.execute(
        "UPDATE workflow_scheduler.workflow_schedules SET next_execution_at = date_trunc('minute', now()) - interval '5 minutes'
          WHERE schedule_id = $1::text::uuid",
        &[&recent],
    )
    .unwrap();
    tx.commit().unwrap();

    let fires = collect(&mut listener, &workflow, 2, Duration::from_secs(5));
    remove_workflow(&mut client, &workflow);
    assert!(!fires.is_empty(), "the recent schedule fires");
    assert!(fires.iter().all(|f| f["schedule_id"] == recent.as_str()), "the stale one never fires: {fires:?}");

    let row = client
        .query_one(
            "SELECT status, coalesced FROM workflow_scheduler.workflow_schedule_executions
              WHERE schedule_id = $1::text::uuid",
            &[&stale],
        )
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "missed");
    let first_recent = client
        .query_one(
            "SELECT status, coalesced, scheduled_for = date_trunc('minute', scheduled_for)
               FROM workflow_scheduler.workflow_schedule_executions
              WHERE schedule_id = $1::text::uuid ORDER BY scheduled_for LIMIT 1",
            &[&recent],
        )
        .unwrap();
    assert_eq!(first_recent.get::<_, String>(0), "triggered");
    assert!(first_recent.get::<_, i32>(1) >= 4, "older minutes are coalesced, not fired");
    assert!(first_recent.get::<_, bool>(2));
    let stale_advanced: bool = client
        .query_one(
            "SELECT last_execution_at IS NULL AND execution_count = 0
               FROM workflow_scheduler.workflow_schedules WHERE schedule_id = $1::text::uuid",
            &[&stale],
        )
        .unwrap()
        .get(0);
    assert!(stale_advanced, "a missed occurrence is not an execution");
    let missed_events = count(
        &mut client,
        "SELECT count(*) FROM workflow_scheduler.audit_log WHERE action = 'schedule_missed' AND details->>'workflow_id' = $1",
        &workflow,
    );
    assert_eq!(missed_events, 1);
}

#[test]
fn concurrent_check_due_and_worker_fire_each_occurrence_once() {
    const SCHEDULES: usize = 500;
    const SESSIONS: usize = 4;
    let mut client = connect();
    let mut listener = listen(CHANNEL);
    let workflow = new_workflow(&mut client);
    let at = in_seconds(&mut client, 3.0);
    client
        .execute(
            "SELECT workflow_scheduler.schedule_add($1::text::uuid,
                 jsonb_build_object('schedule_type', 'one_time', 'scheduled_time', $2::text), 42, 7)
               FROM generate_series(1, $3::int)",
            &[&workflow, &at, &(SCHEDULES as i32)],
        )
        .unwrap();

    let callers: Vec<_> = (0..SESSIONS)
        .map(|_| {
            thread::spawn(|| {
                let mut session = connect();
                let mut fired = 0usize;
                let stop = Instant::now() + Duration::from_secs(7);
                while Instant::now() < stop {
                    fired += session.query("SELECT * FROM workflow_scheduler.schedule_check_due()", &[]).unwrap().len();
                    thread::sleep(Duration::from_millis(5));
                }
                fired
            })
        })
        .collect();
    let fires = collect(&mut listener, &workflow, SCHEDULES + 1, Duration::from_secs(10));
    let fired_by_sessions: usize = callers.into_iter().map(|c| c.join().unwrap()).sum();

    assert_eq!(fires.len(), SCHEDULES, "one notification per occurrence");
    let schedules: HashSet<&str> = fires.iter().map(|f| f["schedule_id"].as_str().unwrap()).collect();
    assert_eq!(schedules.len(), SCHEDULES, "no schedule notified twice");
    let executions = count(
        &mut client,
        "SELECT count(*) FROM workflow_scheduler.workflow_schedule_executions WHERE workflow_id = $1::text::uuid",
        &workflow,
    );
    assert_eq!(executions, SCHEDULES as i64, "one execution row per occurrence");
    assert!(fired_by_sessions <= SCHEDULES);
}

#[test]
fn broken_row_is_deactivated_and_others_still_fire() {
    let mut client = connect();
    let workflow = new_workflow(&mut client);
    let worker_off = ServerSetting::set("workflow_scheduler.enabled", "off");
    let broken = add(&mut client, &workflow, r#"{"schedule_type": "cron", "cron_expression": "0 * * * *"}"#, "{}");
    let healthy = add(&mut client, &workflow, r#"{"schedule_type": "interval", "interval_seconds": 60}"#, "{}");
    let ids = [broken["schedule_id"].as_str().unwrap(), healthy["schedule_id"].as_str().unwrap()];
    client
        .execute(
            "UPDATE workflow_scheduler.workflow_schedules SET cron_expression = 'not a cron'
              WHERE schedule_id = $1::text::uuid",
            &[&ids[0]],
        )
        .unwrap();
    client
        .execute(
            "UPDATE workflow_scheduler.workflow_schedules SET next_execution_at = now() - interval '1 second'
              WHERE workflow_id = $1::text::uuid",
            &[&workflow],
        )
        .unwrap();
    let fired: Vec<String> = client
        .query("SELECT schedule_id::text FROM workflow_scheduler.schedule_check_due()", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    drop(worker_off);
    remove_workflow(&mut client, &workflow);
    assert!(fired.contains(&ids[1].to_string()), "the healthy schedule fired: {fired:?}");
    assert!(!fired.contains(&ids[0].to_string()));
    let errors = count(
        &mut client,
        "SELECT count(*) FROM workflow_scheduler.audit_log
          WHERE event_type = 'ERROR' AND action = 'scheduler_job_error' AND details->>'workflow_id' = $1",
        &workflow,
    );
    assert_eq!(errors, 1);
}

#[test]
fn worker_restarts_after_terminate_and_wakes_for_a_sooner_schedule() {
    let mut client = connect();
    let mut listener = listen(CHANNEL);
    let _slow_poll = ServerSetting::set("workflow_scheduler.poll_interval", "60s");

    let before = running_worker_pid(&mut client);
    client.execute("SELECT pg_terminate_backend($1)", &[&before]).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut after = None;
    while Instant::now() < deadline {
        after = worker_pid(&mut client).filter(|pid| *pid != before);
        if after.is_some() {
            break;
        }
        thread::sleep(Duration::from_millis(200));
    }
    assert!(after.is_some(), "the worker came back after pg_terminate_backend");
    // Let the new worker settle into its 60 s sleep.
    thread::sleep(Duration::from_secs(2));

    let workflow = new_workflow(&mut client);
    let at = in_seconds(&mut client, 1.0);
    add(&mut client, &workflow, &format!(r#"{{"schedule_type": "one_time", "scheduled_time": "{at}"}}"#), "{}");
    // With a 60 s poll, only the commit-time wake-up can deliver this well before 60 s.
    let fires = collect(&mut listener, &workflow, 1, Duration::from_secs(20));
    assert_eq!(fires.len(), 1, "the sooner schedule woke the sleeping worker");
    let late_ms: f64 = client
        .query_one(
            "SELECT (extract(epoch FROM triggered_at - scheduled_for) * 1000)::float8
               FROM workflow_scheduler.workflow_schedule_executions WHERE workflow_id = $1::text::uuid",
            &[&workflow],
        )
        .unwrap()
        .get(0);
    assert!(late_ms < 1000.0, "fired {late_ms} ms after its time, within a second");
}

#[test]
fn reload_applies_a_new_notify_channel() {
    let mut client = connect();
    let mut listener = listen("ws_e2e_other");
    let _other_channel = ServerSetting::set("workflow_scheduler.notify_channel", "ws_e2e_other");
    let workflow = new_workflow(&mut client);
    let at = in_seconds(&mut client, 1.0);
    add(&mut client, &workflow, &format!(r#"{{"schedule_type": "one_time", "scheduled_time": "{at}"}}"#), "{}");
    let fires = collect(&mut listener, &workflow, 1, Duration::from_secs(6));
    assert_eq!(fires.len(), 1, "the notification arrived on the new channel");
}

#[test]
fn oversized_payload_arrives_truncated_and_full_data_is_kept() {
    let mut client = connect();
    let mut listener = listen(CHANNEL);
    let workflow = new_workflow(&mut client);
    let at = in_seconds(&mut client, 1.0);
    let big = "x".repeat(9000);
    let schedule = add(
        &mut client,
        &workflow,
        &format!(r#"{{"schedule_type": "one_time", "scheduled_time": "{at}"}}"#),
        &format!(r#"{{"blob": "{big}"}}"#),
    );
    let fires = collect(&mut listener, &workflow, 1, Duration::from_secs(6));
    assert_eq!(fires.len(), 1);
    let payload = fires[0].as_object().unwrap();
    let mut keys: Vec<&str> = payload.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["execution_id", "schedule_id", "truncated", "workflow_id"]);
    assert_eq!(payload["truncated"], true);
    assert_eq!(payload["schedule_id"], schedule["schedule_id"]);
    let kept: i32 = client
        .query_one(
            "SELECT length(trigger_data->>'blob') FROM workflow_scheduler.workflow_schedule_executions
              WHERE execution_id = $1::text::uuid",
            &[&payload["execution_id"].as_str().unwrap()],
        )
        .unwrap()
        .get(0);
    assert_eq!(kept, 9000);
}

#[test]
fn invalid_settings_are_refused_and_the_old_value_stays() {
    let mut client = connect();
    let too_long = "c".repeat(64);
    for (name, value) in [
        ("workflow_scheduler.notify_channel", ""),
        ("workflow_scheduler.notify_channel", too_long.as_str()),
        ("workflow_scheduler.timezone", "Mars/Olympus"),
    ] {
        let err = client
            .batch_execute(&format!("ALTER SYSTEM SET {name} = '{value}'"))
            .expect_err("an invalid value is refused");
        let db_error = err.as_db_error().expect("a server error");
        assert_eq!(db_error.code().code(), "22023", "{name} = {value:?}: {}", db_error.message());
        assert!(db_error.message().starts_with("invalid value for parameter"), "{}", db_error.message());
    }
    let channel: String = client.query_one("SHOW workflow_scheduler.notify_channel", &[]).unwrap().get(0);
    assert_eq!(channel, "workflow_scheduler");
}

/// Fires one one-time schedule under the current settings and returns its schedule id, once
/// its notification arrived and a log marker written after it is in the server log (so every
/// line the fire logged is there too). Returns the log text from before the fire to the marker.
fn fire_one_and_read_log(client: &mut Client, listener: &mut Client) -> (String, String) {
    let from = log_position();
    let workflow = new_workflow(client);
    let at = in_seconds(client, 0.5);
    let schedule =
        add(client, &workflow, &format!(r#"{{"schedule_type": "one_time", "scheduled_time": "{at}"}}"#), "{}");
    assert_eq!(collect(listener, &workflow, 1, Duration::from_secs(10)).len(), 1, "the schedule fired");
    let marker = format!("fire-events-marker-{workflow}");
    client.batch_execute(&format!("DO $$ BEGIN RAISE LOG '{marker}'; END $$")).unwrap();
    assert!(wait_for_log(&marker, from, Duration::from_secs(10)), "the marker reached the server log");
    let log = std::fs::read(format!("{}/server.log", cluster_dir())).unwrap();
    let text = String::from_utf8_lossy(&log[from as usize..]).into_owned();
    (schedule["schedule_id"].as_str().unwrap().to_string(), text)
}

fn fire_audit_rows(client: &mut Client, schedule_id: &str) -> i64 {
    client
        .query_one(
            "SELECT count(*) FROM workflow_scheduler.audit_log
              WHERE schedule_id = $1::text::uuid AND action IN ('schedule_triggered', 'schedule_executed')",
            &[&schedule_id],
        )
        .unwrap()
        .get(0)
}

#[test]
fn fire_events_choose_between_log_lines_audit_rows_and_neither() {
    let mut client = connect();
    let mut listener = listen(CHANNEL);
    let logged = |log: &str, schedule_id: &str| {
        log.lines().filter(|line| line.contains("action=schedule_triggered") && line.contains(schedule_id)).count()
    };

    let (default_id, log) = fire_one_and_read_log(&mut client, &mut listener);
    assert_eq!((logged(&log, &default_id), fire_audit_rows(&mut client, &default_id)), (1, 2), "log_and_table");

    let setting = ServerSetting::set("workflow_scheduler.fire_events", "table");
    let (table_id, log) = fire_one_and_read_log(&mut client, &mut listener);
    assert_eq!((logged(&log, &table_id), fire_audit_rows(&mut client, &table_id)), (0, 2), "table");
    drop(setting);

    let _setting = ServerSetting::set("workflow_scheduler.fire_events", "none");
    let (none_id, log) = fire_one_and_read_log(&mut client, &mut listener);
    assert_eq!((logged(&log, &none_id), fire_audit_rows(&mut client, &none_id)), (0, 0), "none");
    let executions: i64 = client
        .query_one(
            "SELECT count(*) FROM workflow_scheduler.workflow_schedule_executions WHERE schedule_id = $1::text::uuid",
            &[&none_id],
        )
        .unwrap()
        .get(0);
    assert_eq!(executions, 1, "the execution row records the fire whatever the setting");
    // An operator's run is always written in full.
    let workflow = new_workflow(&mut client);
    let hourly = add(&mut client, &workflow, r#"{"schedule_type": "interval", "interval_seconds": 3600}"#, "{}");
    let hourly_id = hourly["schedule_id"].as_str().unwrap();
    client
        .query_one("SELECT workflow_scheduler.schedule_trigger($1::text::uuid)", &[&hourly_id])
        .expect("schedule_trigger");
    assert_eq!(fire_audit_rows(&mut client, hourly_id), 2, "a manual run's events are written under none");
    remove_workflow(&mut client, &workflow);
}
