//! The worker as a Postgres citizen: statistics autovacuum can see, activity in
//! pg_stat_activity, and a warning when the extension lands in a database it does not serve.

use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use postgres::NoTls;

use crate::*;

#[test]
fn worker_statistics_reach_the_cumulative_statistics_while_it_runs() {
    let mut client = connect();
    let mut listener = listen(CHANNEL);
    let pid = running_worker_pid(&mut client);
    let inserted = |client: &mut postgres::Client| -> i64 {
        client
            .query_one(
                "SELECT pg_stat_clear_snapshot(), n_tup_ins FROM pg_stat_user_tables
                  WHERE relid = 'workflow_scheduler.workflow_schedule_executions'::regclass",
                &[],
            )
            .unwrap()
            .get(1)
    };
    let before = inserted(&mut client);
    let workflow = new_workflow(&mut client);
    let at = in_seconds(&mut client, 1.0);
    client
        .execute(
            "SELECT workflow_scheduler.schedule_add($1::text::uuid,
                 jsonb_build_object('schedule_type', 'one_time', 'scheduled_time', $2::text), 1, 1)
               FROM generate_series(1, 5)",
            &[&workflow, &at],
        )
        .unwrap();
    assert_eq!(collect(&mut listener, &workflow, 5, Duration::from_secs(8)).len(), 5);

    let deadline = Instant::now() + Duration::from_secs(15);
    let mut after = inserted(&mut client);
    while after < before + 5 && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(250));
        after = inserted(&mut client);
    }
    assert!(after >= before + 5, "the worker's inserts are counted: {before} -> {after}");
    assert_eq!(worker_pid(&mut client), Some(pid), "without the worker exiting");
}

#[test]
fn worker_activity_shows_in_pg_stat_activity() {
    let mut client = connect();
    let row = client
        .query_one("SELECT state, query FROM pg_stat_activity WHERE backend_type = 'workflow_scheduler'", &[])
        .unwrap();
    let (state, query): (Option<String>, Option<String>) = (row.get(0), row.get(1));
    assert!(
        matches!(
            (state.as_deref(), query.as_deref()),
            (Some("idle"), Some("waiting for the next due schedule")) | (Some("active"), Some("due pass"))
        ),
        "state {state:?}, query {query:?}"
    );
}

#[test]
fn creating_the_extension_in_another_database_warns() {
    drop(fresh_database("ws_unserved"));
    let warnings = Arc::new(Mutex::new(Vec::<String>::new()));
    let seen = Arc::clone(&warnings);
    let mut client = config("ws_unserved", "postgres")
        .notice_callback(move |notice| seen.lock().unwrap().push(notice.message().to_string()))
        .connect(NoTls)
        .unwrap();
    client.batch_execute("CREATE EXTENSION workflow_scheduler").unwrap();
    client
        .batch_execute(
            "SELECT workflow_scheduler.schedule_add(gen_random_uuid(), '{\"schedule_type\": \"interval\", \"interval_seconds\": 60}', 1, 1)",
        )
        .unwrap();
    let warnings = warnings.lock().unwrap().clone();
    let expected = format!("the worker serves database \"{}\", not \"ws_unserved\"", database());
    assert_eq!(warnings.iter().filter(|w| w.contains(&expected)).count(), 2, "{warnings:?}");
    drop(client);

    // scheduler_status() names that database, and still answers once it is dropped.
    let mut served = connect();
    let unserved = |served: &mut postgres::Client| -> serde_json::Value {
        let status: serde_json::Value =
            served.query_one("SELECT workflow_scheduler.scheduler_status()::text::jsonb", &[]).unwrap().get(0);
        status["unserved_database"].clone()
    };
    assert_eq!(unserved(&mut served), "ws_unserved");
    served.batch_execute("DROP DATABASE ws_unserved WITH (FORCE)").unwrap();
    assert_eq!(unserved(&mut served), serde_json::Value::Null, "a dropped database is no longer named");
}

#[test]
fn scheduler_status_shows_the_workers_and_the_fires_they_recorded() {
    let mut client = connect();
    let mut listener = listen(CHANNEL);
    running_worker_pid(&mut client);
    let workflow = new_workflow(&mut client);
    let at = in_seconds(&mut client, 1.0);
    add(&mut client, &workflow, &format!(r#"{{"schedule_type": "one_time", "scheduled_time": "{at}"}}"#), "{}");
    assert_eq!(collect(&mut listener, &workflow, 1, Duration::from_secs(10)).len(), 1);

    let status: serde_json::Value =
        client.query_one("SELECT workflow_scheduler.scheduler_status()::text::jsonb", &[]).unwrap().get(0);
    let types: Vec<&str> = status["workers"].as_array().unwrap().iter().filter_map(|w| w["type"].as_str()).collect();
    assert_eq!(types, ["workflow_scheduler", "workflow_scheduler delivery"], "{status}");
    assert!(status["fires_last_minute"].as_u64().unwrap() >= 1, "{status}");
    let lateness = &status["lateness_ms_last_5_minutes"];
    assert!(lateness["samples"].as_u64().unwrap() >= 1 && lateness["p99"].is_number(), "{status}");
    assert!(status["last_pass_at"].is_string(), "{status}");
    remove_workflow(&mut client, &workflow);
}

#[test]
fn retention_deletes_a_million_old_rows_while_a_schedule_keeps_firing_within_a_tight_grace() {
    const OLD: i64 = 1_000_000;
    let mut client = connect();
    let mut listener = listen(CHANNEL);
    running_worker_pid(&mut client);
    let workflow = new_workflow(&mut client);
    // A schedule every second whose grace is 1 s: a fire delayed by the deletes would be missed.
    let every_second = add(
        &mut client,
        &workflow,
        r#"{"schedule_type": "interval", "interval_seconds": 1, "grace_seconds": 1}"#,
        "{}",
    );
    let schedule_id = every_second["schedule_id"].as_str().unwrap().to_string();
    // A million finished executions of another schedule, 40 days old: past the 30-day retention.
    let old_workflow = new_workflow(&mut client);
    let old = add(&mut client, &old_workflow, r#"{"schedule_type": "interval", "interval_seconds": 86400}"#, "{}");
    client
        .execute(
            "INSERT INTO workflow_scheduler.workflow_schedule_executions
                 (execution_id, schedule_id, workflow_id, scheduled_for, triggered_at, status, trigger_data)
             SELECT gen_random_uuid(), $1::text::uuid, $2::text::uuid, t, t, 'completed', '{}'
               FROM generate_series(1, $3::bigint) AS i,
                    LATERAL (SELECT now() - interval '40 days' - make_interval(secs => i)) AS g(t)",
            &[&old["schedule_id"].as_str().unwrap(), &old_workflow, &OLD],
        )
        .unwrap();
    let remaining = |client: &mut postgres::Client| -> i64 {
        count(
            client,
            "SELECT count(*) FROM workflow_scheduler.workflow_schedule_executions WHERE workflow_id = $1::text::uuid",
            &old_workflow,
        )
    };
    let deadline = Instant::now() + Duration::from_secs(120);
    while remaining(&mut client) > 0 && Instant::now() < deadline {
        collect(&mut listener, &workflow, 100, Duration::from_millis(500));
    }
    assert_eq!(remaining(&mut client), 0, "the worker deleted every expired execution");
    let (fired, missed): (i64, i64) = client
        .query_one(
            "SELECT count(*) FILTER (WHERE status = 'triggered'), count(*) FILTER (WHERE status = 'missed')
               FROM workflow_scheduler.workflow_schedule_executions WHERE schedule_id = $1::text::uuid",
            &[&schedule_id],
        )
        .map(|row| (row.get(0), row.get(1)))
        .unwrap();
    assert!(fired >= 3, "the schedule kept firing meanwhile: {fired}");
    assert_eq!(missed, 0, "no fire was delayed past its 1 s grace while a million rows went");
    remove_workflow(&mut client, &workflow);
    remove_workflow(&mut client, &old_workflow);
}
