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
