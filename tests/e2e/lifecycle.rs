//! The execution lifecycle against the running worker: engines claiming concurrently, an engine
//! that missed NOTIFYs catching up by claiming, completion and timeout notifications, and a
//! buffered occurrence that fires as soon as the blocking run completes.
//!
//! Each test acts as its own application role, so its claims see only its own executions.

use std::collections::HashSet;
use std::thread;
use std::time::{Duration, Instant};

use postgres::Client;
use serde_json::Value;

use crate::*;

const COMPLETED: &str = "workflow_scheduler_completed";

/// A role of its own for one run of a test, so that its claims see no other run's executions.
fn unique_role(prefix: &str) -> String {
    let suffix: String = connect().query_one("SELECT left(md5(random()::text), 8)", &[]).unwrap().get(0);
    format!("{prefix}_{suffix}")
}

/// Waits until `n` executions of `workflow` exist.
fn wait_for_executions(client: &mut Client, workflow: &str, n: i64) {
    let sql = "SELECT count(*) FROM workflow_scheduler.workflow_schedule_executions WHERE workflow_id = $1::text::uuid";
    let deadline = Instant::now() + Duration::from_secs(60);
    while count(client, sql, workflow) < n && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(count(client, sql, workflow), n, "every schedule fired");
}

/// Claims in batches of `batch` until nothing is left; returns the execution ids and attempts.
fn claim_all(engine: &mut Client, batch: i32, name: &str) -> Vec<(String, i32)> {
    let mut claimed = Vec::new();
    loop {
        let rows = engine
            .query(
                "SELECT execution_id::text, attempt FROM workflow_scheduler.execution_claim($1, '5 minutes', $2)",
                &[&batch, &name],
            )
            .unwrap();
        if rows.is_empty() {
            return claimed;
        }
        claimed.extend(rows.iter().map(|row| (row.get::<_, String>(0), row.get::<_, i32>(1))));
    }
}

fn complete(client: &mut Client, execution_id: &str) {
    let done: bool = client
        .query_one("SELECT workflow_scheduler.execution_complete($1::text::uuid, 'completed')", &[&execution_id])
        .unwrap()
        .get(0);
    assert!(done, "{execution_id} completed by this call");
}

#[test]
fn four_engines_claim_two_thousand_executions_each_exactly_once() {
    const N: i32 = 2000;
    let role = unique_role("ws_e2e_engines");
    let mut app = app_role(&role);
    let workflow = new_workflow(&mut app);
    add_burst(&mut app, &workflow, N, 2.0);
    wait_for_executions(&mut app, &workflow, N.into());

    let engines: Vec<_> = (0..4)
        .map(|i| {
            let role = role.clone();
            thread::spawn(move || {
                let mut engine = config(&database(), &role).connect(postgres::NoTls).expect("log in as the engine");
                let claimed = claim_all(&mut engine, 25, &format!("engine-{i}"));
                for (execution_id, _) in &claimed {
                    complete(&mut engine, execution_id);
                }
                claimed
            })
        })
        .collect();
    let claimed: Vec<(String, i32)> = engines.into_iter().flat_map(|engine| engine.join().unwrap()).collect();
    let distinct: HashSet<&String> = claimed.iter().map(|(id, _)| id).collect();
    assert_eq!(claimed.len(), N as usize, "every execution was claimed");
    assert_eq!(distinct.len(), N as usize, "none by two engines");
    assert!(claimed.iter().all(|(_, attempt)| *attempt == 1), "each on its first claim");
    let completed = count(
        &mut app,
        "SELECT count(*) FROM workflow_scheduler.workflow_schedule_executions
          WHERE workflow_id = $1::text::uuid AND status = 'completed' AND finished_at IS NOT NULL",
        &workflow,
    );
    assert_eq!(completed, N as i64);
}

#[test]
fn an_engine_that_lost_its_listen_connection_catches_up_by_claiming() {
    const N: i32 = 500;
    let role = unique_role("ws_e2e_late_engine");
    let mut app = app_role(&role);
    let workflow = new_workflow(&mut app);
    let mut listener = listen(CHANNEL);
    add_burst(&mut app, &workflow, N, 2.0);
    // The engine's connection drops after the first notification of the burst.
    let heard = collect(&mut listener, &workflow, 1, Duration::from_secs(10));
    assert_eq!(heard.len(), 1);
    drop(listener);
    wait_for_executions(&mut app, &workflow, N.into());

    let mut engine = app_role(&role);
    let claimed = claim_all(&mut engine, 100, "restarted-engine");
    let ids: HashSet<String> = claimed.into_iter().map(|(id, _)| id).collect();
    assert_eq!(ids.len(), N as usize, "every fire is there to claim, the heard one included");
    assert!(ids.contains(heard[0]["execution_id"].as_str().unwrap()));
}

/// The next notification on the completion channel about `execution_id`.
fn completion_of(listener: &mut Client, execution_id: &str, timeout: Duration) -> Option<Value> {
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let mut notifications = listener.notifications();
        let note = notifications.timeout_iter(left).next().expect("reading notifications")?;
        let payload: Value = serde_json::from_str(note.payload()).expect("payload is JSON");
        if note.channel() == COMPLETED && payload["execution_id"] == execution_id {
            return Some(payload);
        }
    }
}

#[test]
fn completions_and_timeouts_are_announced_on_the_completion_channel() {
    let mut app = app_role("ws_e2e_completions");
    let mut completions = listen(COMPLETED);
    let workflow = new_workflow(&mut app);
    let at = in_seconds(&mut app, 1.0);
    let finished =
        add(&mut app, &workflow, &format!(r#"{{"schedule_type": "one_time", "scheduled_time": "{at}"}}"#), "{}");
    let stuck = add(
        &mut app,
        &workflow,
        &format!(r#"{{"schedule_type": "one_time", "scheduled_time": "{at}", "max_runtime_seconds": 2}}"#),
        "{}",
    );
    wait_for_executions(&mut app, &workflow, 2);
    let execution_of = |app: &mut Client, schedule: &Value| -> String {
        app.query_one(
            "SELECT execution_id::text FROM workflow_scheduler.workflow_schedule_executions WHERE schedule_id = $1::text::uuid",
            &[&schedule["schedule_id"].as_str().unwrap()],
        )
        .unwrap()
        .get(0)
    };
    let (finished_run, stuck_run) = (execution_of(&mut app, &finished), execution_of(&mut app, &stuck));

    complete(&mut app, &finished_run);
    let note = completion_of(&mut completions, &finished_run, Duration::from_secs(10)).expect("a completion NOTIFY");
    assert_eq!(note["status"], "completed");
    assert_eq!(note["schedule_id"], finished["schedule_id"]);

    // Nobody finishes the other one: the worker times it out after 2 s.
    let note = completion_of(&mut completions, &stuck_run, Duration::from_secs(15)).expect("a timeout NOTIFY");
    assert_eq!(note["status"], "timed_out");
    let audited = count(
        &mut app,
        "SELECT count(*) FROM workflow_scheduler.audit_log WHERE action = 'execution_timed_out' AND details->>'execution_id' = $1",
        &stuck_run,
    );
    assert_eq!(audited, 1);
}

#[test]
fn a_completion_releases_the_buffered_occurrence_at_once() {
    const EVERY: i64 = 8;
    // A long poll interval: only the completion's wake-up can fire the buffered occurrence
    // before the next regular one.
    let _poll = ServerSetting::set("workflow_scheduler.poll_interval", "10min");
    let mut app = app_role("ws_e2e_buffer_one");
    let mut listener = listen(CHANNEL);
    let workflow = new_workflow(&mut app);
    add(
        &mut app,
        &workflow,
        &format!(r#"{{"schedule_type": "interval", "interval_seconds": {EVERY}, "overlap": "buffer_one"}}"#),
        "{}",
    );
    let first = collect(&mut listener, &workflow, 1, Duration::from_secs(EVERY as u64 + 5));
    assert_eq!(first.len(), 1, "the first occurrence fired");
    // The second occurrence comes while the first run is unfinished: it is held back.
    let buffered_sql = "SELECT count(*) FROM workflow_scheduler.workflow_schedules
                         WHERE workflow_id = $1::text::uuid AND buffered_for IS NOT NULL";
    let deadline = Instant::now() + Duration::from_secs(EVERY as u64 + 5);
    while count(&mut app, buffered_sql, &workflow) == 0 && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(count(&mut app, buffered_sql, &workflow), 1, "the second occurrence waits");

    complete(&mut app, first[0]["execution_id"].as_str().unwrap());
    let released = collect(&mut listener, &workflow, 1, Duration::from_secs(EVERY as u64));
    assert_eq!(released.len(), 1, "the buffered occurrence fired after the completion");
    // Without the wake-up, the worker would sleep until the next regular occurrence, one
    // interval after the buffered one.
    let fired_before_next: bool = app
        .query_one(
            "SELECT triggered_at < scheduled_for + make_interval(secs => $2)
               FROM workflow_scheduler.workflow_schedule_executions WHERE execution_id = $1::text::uuid",
            &[&released[0]["execution_id"].as_str().unwrap(), &(EVERY as f64)],
        )
        .unwrap()
        .get(0);
    assert!(fired_before_next, "it fired on the completion's wake-up, not on the next regular occurrence");
    remove_workflow(&mut app, &workflow);
}
