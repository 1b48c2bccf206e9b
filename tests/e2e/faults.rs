//! Faults inside a pass: one schedule whose fire always fails must not stop the others, nor
//! restart the worker; a failure no schedule is to blame for holds firing back; a lock held by
//! someone else never makes the worker deaf to `pg_terminate_backend`; a NOTIFY queue over its
//! limit pauses firing until listeners catch up; `kill -9` of the worker
//! and repeated terminations during a burst still fire every occurrence exactly once.

use std::time::Duration;

use crate::*;

/// A BEFORE INSERT trigger on the executions table with the given PL/pgSQL body, dropped with
/// its function when the test ends however it ends.
struct ExecutionTrigger {
    name: &'static str,
}

impl ExecutionTrigger {
    fn install(name: &'static str, body: &str) -> ExecutionTrigger {
        connect()
            .batch_execute(&format!(
                "CREATE FUNCTION public.{name}() RETURNS trigger LANGUAGE plpgsql AS $$ {body} $$;
                 CREATE TRIGGER {name} BEFORE INSERT ON workflow_scheduler.workflow_schedule_executions
                     FOR EACH ROW EXECUTE FUNCTION public.{name}();"
            ))
            .unwrap();
        ExecutionTrigger { name }
    }
}

impl Drop for ExecutionTrigger {
    fn drop(&mut self) {
        let name = self.name;
        connect()
            .batch_execute(&format!(
                "DROP TRIGGER IF EXISTS {name} ON workflow_scheduler.workflow_schedule_executions;
                 DROP FUNCTION IF EXISTS public.{name}();"
            ))
            .unwrap();
    }
}

#[test]
fn a_schedule_whose_fire_always_fails_is_deactivated_and_the_others_fire_without_a_restart() {
    const HEALTHY: usize = 20;
    let mut client = connect();
    let mut listener = listen(CHANNEL);
    let pid = running_worker_pid(&mut client);
    let (workflow, poisoned) = (new_workflow(&mut client), new_workflow(&mut client));
    let _poison = ExecutionTrigger::install(
        "ws_e2e_poison",
        &format!(
            "BEGIN
                 IF NEW.workflow_id = '{poisoned}' THEN
                     RAISE EXCEPTION 'poisoned execution of %', NEW.schedule_id;
                 END IF;
                 RETURN NEW;
             END"
        ),
    );
    let at = in_seconds(&mut client, 2.0);
    let one_time = format!(r#"{{"schedule_type": "one_time", "scheduled_time": "{at}"}}"#);
    let poison_id = add(&mut client, &poisoned, &one_time, "{}")["schedule_id"].as_str().unwrap().to_string();
    for _ in 0..HEALTHY {
        add(&mut client, &workflow, &one_time, "{}");
    }

    let fires = collect(&mut listener, &workflow, HEALTHY + 1, Duration::from_secs(10));
    assert_eq!(fires.len(), HEALTHY, "every healthy schedule fired once");
    let late_ms: f64 = client
        .query_one(
            "SELECT max(extract(epoch FROM triggered_at - scheduled_for) * 1000)::float8
               FROM workflow_scheduler.workflow_schedule_executions WHERE workflow_id = $1::text::uuid",
            &[&workflow],
        )
        .unwrap()
        .get(0);
    assert!(late_ms < 5000.0, "the healthy ones fired on time, within grace: {late_ms} ms late");

    let state = get(&mut client, &poison_id);
    assert_eq!(state["is_active"], false, "the poisoned schedule is deactivated");
    assert_eq!(state["execution_count"], 0);
    let error: String = client
        .query_one(
            "SELECT details->>'error' FROM workflow_scheduler.audit_log
              WHERE schedule_id = $1::text::uuid AND action = 'scheduler_job_error' AND event_type = 'ERROR'",
            &[&poison_id],
        )
        .unwrap()
        .get(0);
    assert!(error.contains("poisoned execution") && error.contains("P0001"), "{error}");
    assert_eq!(worker_pid(&mut client), Some(pid), "the worker was not restarted");
    remove_workflow(&mut client, &workflow);
}

#[test]
fn a_failure_that_is_no_schedules_fault_holds_firing_back_and_deactivates_nothing() {
    // A trigger failing for every row with a resource error (disk_full, class 53), as a full
    // disk or a full NOTIFY queue (54000) would: the worker backs off and blames no schedule.
    let mut client = connect();
    let mut listener = listen(CHANNEL);
    let pid = running_worker_pid(&mut client);
    let workflow = new_workflow(&mut client);
    let disk_full = ExecutionTrigger::install(
        "ws_e2e_disk_full",
        "BEGIN RAISE EXCEPTION 'no space left' USING ERRCODE = 'disk_full'; END",
    );
    let log_from = log_position();
    let at = in_seconds(&mut client, 1.0);
    let id =
        add(&mut client, &workflow, &format!(r#"{{"schedule_type": "one_time", "scheduled_time": "{at}"}}"#), "{}")
            ["schedule_id"]
            .as_str()
            .unwrap()
            .to_string();
    assert!(
        wait_for_log("a due pass failed with no schedule to blame", log_from, Duration::from_secs(10)),
        "the worker says it backs off"
    );
    assert_eq!(get(&mut client, &id)["is_active"], true, "no schedule was blamed");
    drop(disk_full);

    let fires = collect(&mut listener, &workflow, 1, Duration::from_secs(10));
    assert_eq!(fires.len(), 1, "once the fault is gone, the schedule fires (within grace)");
    assert_eq!(worker_pid(&mut client), Some(pid), "the worker was not restarted");
}

#[test]
fn firing_pauses_while_the_notify_queue_is_fuller_than_the_limit_and_resumes_after() {
    // Postgres' queue holds 8 GB, so the test lowers the limit to about ten 8 KB pages
    // (one page is about 1e-6 of the usable queue) instead of filling half of it.
    const PAUSE_AT: f64 = 0.00001;
    let _limit = ServerSetting::set("workflow_scheduler.notify_queue_pause_at", &PAUSE_AT.to_string());
    let mut client = connect();
    let mut listener = listen(CHANNEL);
    let pid = running_worker_pid(&mut client);
    let usage = |client: &mut postgres::Client| -> f64 {
        client.query_one("SELECT pg_notification_queue_usage()", &[]).unwrap().get(0)
    };
    let page_of_notification = |client: &mut postgres::Client| {
        client.batch_execute("SELECT pg_notify('ws_e2e_filler', repeat('x', 7000))").unwrap();
    };
    // A listener idle in a transaction reads nothing, so the queue's tail stays behind it.
    let mut stalled = listen("ws_e2e_stalled");
    stalled.batch_execute("BEGIN; SELECT 1").unwrap();
    for _ in 0..30 {
        page_of_notification(&mut client);
    }
    assert!(usage(&mut client) > PAUSE_AT, "the queue is fuller than the limit");

    let workflow = new_workflow(&mut client);
    let log_from = log_position();
    let at = in_seconds(&mut client, 1.0);
    add(&mut client, &workflow, &format!(r#"{{"schedule_type": "one_time", "scheduled_time": "{at}"}}"#), "{}");
    assert!(
        wait_for_log("firing pauses until listeners catch up", log_from, Duration::from_secs(10)),
        "the worker warns that it pauses"
    );
    std::thread::sleep(Duration::from_secs(2));
    let held = count(
        &mut client,
        "SELECT count(*) FROM workflow_scheduler.workflow_schedule_executions WHERE workflow_id = $1::text::uuid",
        &workflow,
    );
    assert_eq!(held, 0, "nothing fired while the queue was over the limit, though the schedule was due");

    // The stalled listener catches up; the tail moves when a later notifier crosses pages.
    stalled.batch_execute("COMMIT").unwrap();
    drop(stalled);
    for _ in 0..200 {
        if usage(&mut client) <= PAUSE_AT {
            break;
        }
        page_of_notification(&mut client);
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(usage(&mut client) <= PAUSE_AT, "the queue drained below the limit");

    let fires = collect(&mut listener, &workflow, 1, Duration::from_secs(10));
    assert_eq!(fires.len(), 1, "the paused occurrence fired once the queue drained (within grace)");
    assert_eq!(worker_pid(&mut client), Some(pid), "the worker was not restarted");
    remove_workflow(&mut client, &workflow);
}

#[test]
fn a_worker_waiting_for_a_table_lock_still_stops_when_terminated() {
    let mut client = connect();
    let pid = running_worker_pid(&mut client);
    let workflow = new_workflow(&mut client);
    let at = in_seconds(&mut client, 0.5);
    add(&mut client, &workflow, &format!(r#"{{"schedule_type": "one_time", "scheduled_time": "{at}"}}"#), "{}");
    // A DBA's lock: the worker's next pass waits for it.
    let mut dba = connect();
    let mut lock = dba.transaction().unwrap();
    lock.batch_execute("LOCK TABLE workflow_scheduler.workflow_schedules IN ACCESS EXCLUSIVE MODE").unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    client.execute("SELECT pg_terminate_backend($1)", &[&pid]).unwrap();

    let gone = |client: &mut postgres::Client| -> bool {
        client.query_opt("SELECT 1 FROM pg_stat_activity WHERE pid = $1", &[&pid]).unwrap().is_none()
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(12);
    while !gone(&mut client) && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    let exited_under_the_lock = gone(&mut client);
    lock.rollback().unwrap();
    assert!(exited_under_the_lock, "the worker gave up the lock wait (lock_timeout) and stopped");
    remove_workflow(&mut client, &workflow);
}

/// Connects again, for as long as the server takes to come back (crash recovery).
fn reconnect() -> postgres::Client {
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    loop {
        match config(&database(), "postgres").connect(postgres::NoTls) {
            Ok(client) => return client,
            Err(err) if std::time::Instant::now() < deadline => {
                let _ = err;
                std::thread::sleep(Duration::from_millis(250));
            }
            Err(err) => panic!("the server did not come back: {err}"),
        }
    }
}

/// Runs `query` (one row, two bigints), reconnecting as often as needed: a connection made
/// just before the postmaster noticed a crash is ended by its reset.
fn two_counts(client: &mut postgres::Client, query: &str, workflow: &str) -> (i64, i64) {
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    loop {
        match client.query_one(query, &[&workflow]) {
            Ok(row) => return (row.get(0), row.get(1)),
            Err(err) if std::time::Instant::now() < deadline => {
                let _ = err;
                std::thread::sleep(Duration::from_millis(250));
                *client = reconnect();
            }
            Err(err) => panic!("the server did not come back: {err}"),
        }
    }
}

/// Waits until every schedule of `workflow` has fired, then checks each occurrence was
/// recorded exactly once and counted once.
fn assert_fired_exactly_once(client: &mut postgres::Client, workflow: &str, n: i64) {
    let executions = |client: &mut postgres::Client| -> (i64, i64) {
        two_counts(
            client,
            "SELECT count(*), count(DISTINCT schedule_id) FROM workflow_scheduler.workflow_schedule_executions
              WHERE workflow_id = $1::text::uuid AND status = 'triggered'",
            workflow,
        )
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while executions(client).1 < n && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(250));
    }
    assert_eq!(executions(client), (n, n), "one execution per schedule, none twice");
    let (counted, _) = two_counts(
        client,
        "SELECT count(*), 0::bigint FROM workflow_scheduler.workflow_schedules
          WHERE workflow_id = $1::text::uuid AND execution_count = 1 AND NOT is_active",
        workflow,
    );
    assert_eq!(counted, n, "each schedule counted its one fire and finished");
}

/// Waits for the first executions of `workflow` to commit: the burst is under way.
fn wait_for_first_fires(client: &mut postgres::Client, workflow: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while std::time::Instant::now() < deadline {
        let fired: i64 = client
            .query_one(
                "SELECT count(*) FROM workflow_scheduler.workflow_schedule_executions WHERE workflow_id = $1::text::uuid",
                &[&workflow],
            )
            .unwrap()
            .get(0);
        if fired > 0 {
            return;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    panic!("the burst never started");
}

#[test]
fn kill_9_of_the_worker_during_a_burst_fires_every_occurrence_exactly_once() {
    const N: i32 = 5000;
    let mut client = connect();
    let workflow = new_workflow(&mut client);
    add_burst(&mut client, &workflow, N, 2.0);
    wait_for_first_fires(&mut client, &workflow);
    let pid = running_worker_pid(&mut client);
    // SIGKILL: the postmaster treats it as a crash, ends every backend and recovers.
    let killed = std::process::Command::new("kill").args(["-9", &pid.to_string()]).status().unwrap();
    assert!(killed.success());
    drop(client);

    let mut client = reconnect();
    assert_fired_exactly_once(&mut client, &workflow, N as i64);
}

#[test]
fn repeated_terminations_during_a_burst_fire_every_occurrence_exactly_once() {
    const N: i32 = 5000;
    let mut client = connect();
    let workflow = new_workflow(&mut client);
    add_burst(&mut client, &workflow, N, 2.0);
    wait_for_first_fires(&mut client, &workflow);
    let mut last = None;
    for _ in 0..3 {
        // Each time the worker is back (a new pid), terminate it again.
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        let pid = loop {
            match worker_pid(&mut client) {
                Some(pid) if Some(pid) != last => break pid,
                _ if std::time::Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
                _ => panic!("the worker did not come back"),
            }
        };
        client.execute("SELECT pg_terminate_backend($1)", &[&pid]).unwrap();
        last = Some(pid);
    }
    assert_fired_exactly_once(&mut client, &workflow, N as i64);
}
