//! HTTP hooks against the running workers and a receiver on 127.0.0.1 written here: every
//! outcome the contract names, the retry schedule, Standard Webhooks signatures checked by an
//! independent verifier (the `standardwebhooks` package from PyPI), the SSRF guard, and a slow
//! receiver that must not delay fires.
//!
//! The cluster runs with `http_allowed_cidrs = '127.0.0.1/32'` and short retry delays
//! (scripts/e2e.sh); a test that needs others sets them with `ServerSetting`.

use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use postgres::Client;
use serde_json::Value;

use crate::receiver::{Receiver, Reply};
use crate::*;

/// Creates a hook (dropping one left by an earlier run) and returns its secret.
fn create_hook(client: &mut Client, name: &str, url: &str, timeout_ms: i32) -> String {
    client
        .execute("SELECT workflow_scheduler.hook_remove(name) FROM workflow_scheduler.hooks WHERE name = $1", &[&name])
        .unwrap();
    let created: Value = client
        .query_one("SELECT workflow_scheduler.hook_create($1, $2, NULL, $3)::text::jsonb", &[&name, &url, &timeout_ms])
        .map(|row| row.get(0))
        .expect("hook_create");
    created["secret"].as_str().expect("hook_create shows the secret once").to_string()
}

/// One-time schedules of `workflow` delivered to `hook`, due `seconds` from now.
fn fire_to_hook(client: &mut Client, workflow: &str, hook: &str, n: i32, seconds: f64) {
    let at = in_seconds(client, seconds);
    client
        .execute(
            "SELECT workflow_scheduler.schedule_add($1::text::uuid,
                 jsonb_build_object('schedule_type', 'one_time', 'scheduled_time', $2::text, 'hook', $3::text),
                 1, 1, '{\"report\": \"daily\"}')
               FROM generate_series(1, $4::int)",
            &[&workflow, &at, &hook, &n],
        )
        .unwrap();
}

/// The deliveries of `workflow`: (status, attempts, last_status_code, last_error).
fn deliveries(client: &mut Client, workflow: &str) -> Vec<(String, i32, Option<i32>, Option<String>)> {
    client
        .query(
            "SELECT d.status, d.attempts, d.last_status_code, d.last_error
               FROM workflow_scheduler.deliveries AS d
               JOIN workflow_scheduler.workflow_schedule_executions AS e USING (execution_id)
              WHERE e.workflow_id = $1::text::uuid ORDER BY d.created_at",
            &[&workflow],
        )
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1), row.get(2), row.get(3)))
        .collect()
}

/// Waits until every delivery of `workflow` has `status`.
fn wait_for_status(
    client: &mut Client,
    workflow: &str,
    status: &str,
    n: usize,
) -> Vec<(String, i32, Option<i32>, Option<String>)> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let now = deliveries(client, workflow);
        if (now.len() == n && now.iter().all(|d| d.0 == status)) || Instant::now() > deadline {
            return now;
        }
        thread::sleep(Duration::from_millis(100));
    }
}

/// Verifies a received request with the `standardwebhooks` package (PyPI), as a receiver
/// would; true if it accepts the signature for `secret`.
fn standard_webhooks_accepts(secret: &str, request: &crate::receiver::Received) -> bool {
    let header = |name: &str| request.header(name).unwrap_or_default().to_string();
    let status = Command::new("python3")
        .args([
            "-c",
            "import sys\nfrom standardwebhooks.webhooks import Webhook\n\
             secret, wid, ts, sig = sys.argv[1:5]\n\
             Webhook(secret).verify(sys.stdin.buffer.read(), {'webhook-id': wid, 'webhook-timestamp': ts, 'webhook-signature': sig})",
            secret,
            &header("webhook-id"),
            &header("webhook-timestamp"),
            &header("webhook-signature"),
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(&request.body)?;
            child.wait()
        })
        .expect("python3 with standardwebhooks (scripts/setup.sh installs it)");
    status.success()
}

#[test]
fn a_2xx_is_delivered_at_once_with_signed_standard_webhooks_headers() {
    let receiver = Receiver::start("127.0.0.1", vec![], Reply::Status(204));
    let mut client = connect();
    let secret = create_hook(&mut client, "e2e_ok", &receiver.url("/hooks/scheduler"), 5000);
    let workflow = new_workflow(&mut client);
    fire_to_hook(&mut client, &workflow, "e2e_ok", 1, 1.0);

    let got = receiver.wait_for(1, Duration::from_secs(15));
    assert_eq!(got.len(), 1, "one POST");
    let delivered = wait_for_status(&mut client, &workflow, "delivered", 1);
    assert_eq!(delivered, vec![("delivered".to_string(), 1, Some(204), None)]);
    let request = &got[0];
    let (execution_id, trigger_data): (String, Value) = client
        .query_one(
            "SELECT execution_id::text, trigger_data FROM workflow_scheduler.workflow_schedule_executions
              WHERE workflow_id = $1::text::uuid",
            &[&workflow],
        )
        .map(|row| (row.get(0), row.get(1)))
        .unwrap();
    assert_eq!(request.header("webhook-id"), Some(execution_id.as_str()), "webhook-id is the execution_id");
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert_eq!(request.header("user-agent"), Some(concat!("workflow_scheduler/", env!("CARGO_PKG_VERSION"))));
    let body: Value = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(body, trigger_data, "the body is the full trigger data");
    assert_eq!(body["report"], "daily");
    assert!(standard_webhooks_accepts(&secret, request), "an independent verifier accepts the signature");
    assert!(
        !standard_webhooks_accepts("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", request),
        "and refuses another secret"
    );
}

#[test]
fn failures_are_retried_with_growing_delays_under_the_same_webhook_id() {
    let receiver = Receiver::start("127.0.0.1", vec![Reply::Status(500), Reply::Status(500)], Reply::Status(200));
    let mut client = connect();
    create_hook(&mut client, "e2e_retry", &receiver.url("/"), 5000);
    let workflow = new_workflow(&mut client);
    fire_to_hook(&mut client, &workflow, "e2e_retry", 1, 0.5);

    let got = receiver.wait_for(3, Duration::from_secs(20));
    assert_eq!(got.len(), 3, "500, 500, then 200");
    assert_eq!(wait_for_status(&mut client, &workflow, "delivered", 1)[0].1, 3, "three attempts");
    let ids: Vec<_> = got.iter().map(|r| r.header("webhook-id").unwrap().to_string()).collect();
    assert!(ids.iter().all(|id| *id == ids[0]), "the same webhook-id on every retry: {ids:?}");
    // Delays 300 ms then 600 ms, each within 20%: the second wait is the longer.
    let (first_wait, second_wait) = (got[1].at - got[0].at, got[2].at - got[1].at);
    assert!(second_wait > first_wait, "growing delays: {first_wait:?} then {second_wait:?}");
    let codes: Vec<Option<i32>> = client
        .query(
            "SELECT a.status_code FROM workflow_scheduler.delivery_attempts AS a
               JOIN workflow_scheduler.deliveries AS d USING (delivery_id)
               JOIN workflow_scheduler.workflow_schedule_executions AS e USING (execution_id)
              WHERE e.workflow_id = $1::text::uuid ORDER BY a.attempt",
            &[&workflow],
        )
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(codes, vec![Some(500), Some(500), Some(200)], "every attempt is recorded");
}

#[test]
fn a_receiver_that_hangs_past_the_timeout_is_retried() {
    let receiver = Receiver::start("127.0.0.1", vec![Reply::Slow(Duration::from_secs(5))], Reply::Status(200));
    let mut client = connect();
    create_hook(&mut client, "e2e_hang", &receiver.url("/"), 500);
    let workflow = new_workflow(&mut client);
    fire_to_hook(&mut client, &workflow, "e2e_hang", 1, 0.5);

    let delivered = wait_for_status(&mut client, &workflow, "delivered", 1);
    assert_eq!(delivered[0].1, 2, "the hung attempt, then one that succeeded");
    let first: (Option<i32>, Option<String>) = client
        .query_one(
            "SELECT a.status_code, a.error FROM workflow_scheduler.delivery_attempts AS a
               JOIN workflow_scheduler.deliveries AS d USING (delivery_id)
               JOIN workflow_scheduler.workflow_schedule_executions AS e USING (execution_id)
              WHERE e.workflow_id = $1::text::uuid AND a.attempt = 1",
            &[&workflow],
        )
        .map(|row| (row.get(0), row.get(1)))
        .unwrap();
    assert_eq!(first.0, None, "no answer within the timeout");
    assert!(first.1.is_some_and(|e| !e.is_empty()), "the error is recorded");
}

#[test]
fn a_429_with_retry_after_is_retried_no_sooner_than_asked() {
    let receiver =
        Receiver::start("127.0.0.1", vec![Reply::StatusWith(429, vec![("Retry-After", "2")])], Reply::Status(200));
    let mut client = connect();
    create_hook(&mut client, "e2e_429", &receiver.url("/"), 5000);
    let workflow = new_workflow(&mut client);
    fire_to_hook(&mut client, &workflow, "e2e_429", 1, 0.5);

    let got = receiver.wait_for(2, Duration::from_secs(20));
    assert_eq!(got.len(), 2);
    assert!(got[1].at - got[0].at >= Duration::from_millis(1900), "Retry-After: 2 beats the 300 ms delay");
    assert_eq!(wait_for_status(&mut client, &workflow, "delivered", 1)[0].1, 2);
}

#[test]
fn a_410_disables_the_hook_and_its_deliveries_wait_until_it_is_enabled_again() {
    let receiver = Receiver::start("127.0.0.1", vec![Reply::Status(410)], Reply::Status(200));
    let mut client = connect();
    create_hook(&mut client, "e2e_gone", &receiver.url("/"), 5000);
    let workflow = new_workflow(&mut client);
    fire_to_hook(&mut client, &workflow, "e2e_gone", 1, 0.5);
    assert_eq!(receiver.wait_for(1, Duration::from_secs(15)).len(), 1);

    let disabled = || -> (bool, Option<String>) {
        let row = connect()
            .query_one("SELECT enabled, disabled_reason FROM workflow_scheduler.hooks WHERE name = 'e2e_gone'", &[])
            .unwrap();
        (row.get(0), row.get(1))
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while disabled().0 && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(100));
    }
    let (enabled, reason) = disabled();
    assert!(!enabled, "a 410 disables the hook");
    assert!(reason.is_some_and(|r| r.contains("410")), "with the reason");
    fire_to_hook(&mut client, &workflow, "e2e_gone", 1, 0.2);
    thread::sleep(Duration::from_secs(2));
    let waiting = deliveries(&mut client, &workflow);
    assert_eq!(waiting.len(), 2);
    assert!(waiting.iter().all(|d| d.0 == "pending"), "both wait: {waiting:?}");
    assert_eq!(receiver.received().len(), 1, "nothing is sent to a disabled hook");

    client.execute("SELECT workflow_scheduler.hook_update('e2e_gone', enabled => true)", &[]).unwrap();
    assert_eq!(wait_for_status(&mut client, &workflow, "delivered", 2).len(), 2, "enabled again: both delivered");
}

#[test]
fn a_connection_reset_is_retried() {
    let receiver = Receiver::start("127.0.0.1", vec![Reply::Reset], Reply::Status(200));
    let mut client = connect();
    create_hook(&mut client, "e2e_reset", &receiver.url("/"), 5000);
    let workflow = new_workflow(&mut client);
    fire_to_hook(&mut client, &workflow, "e2e_reset", 1, 0.5);
    let delivered = wait_for_status(&mut client, &workflow, "delivered", 1);
    assert_eq!(delivered[0].1, 2, "the reset attempt, then a delivered one");
}

#[test]
fn the_last_failure_is_a_dead_letter_until_delivery_retry() {
    let _delays = ServerSetting::set("workflow_scheduler.http_retry_delays", "100ms,100ms");
    let failing = vec![Reply::Status(503); 3];
    let receiver = Receiver::start("127.0.0.1", failing, Reply::Status(200));
    let mut client = connect();
    create_hook(&mut client, "e2e_dead", &receiver.url("/"), 5000);
    let workflow = new_workflow(&mut client);
    fire_to_hook(&mut client, &workflow, "e2e_dead", 1, 0.5);

    let failed = wait_for_status(&mut client, &workflow, "failed", 1);
    assert_eq!(failed[0].1, 3, "the first attempt and one per delay");
    let audited = count(
        &mut client,
        "SELECT count(*) FROM workflow_scheduler.audit_log AS a
           JOIN workflow_scheduler.workflow_schedule_executions AS e ON e.execution_id::text = a.details->>'execution_id'
          WHERE a.action = 'delivery_failed' AND a.event_type = 'ERROR' AND e.workflow_id = $1::text::uuid",
        &workflow,
    );
    assert_eq!(audited, 1, "an audit row says so");
    client
        .execute(
            "SELECT workflow_scheduler.delivery_retry(d.delivery_id)
               FROM workflow_scheduler.deliveries AS d
               JOIN workflow_scheduler.workflow_schedule_executions AS e USING (execution_id)
              WHERE e.workflow_id = $1::text::uuid",
            &[&workflow],
        )
        .unwrap();
    assert_eq!(wait_for_status(&mut client, &workflow, "delivered", 1)[0].0, "delivered");
}

#[test]
fn signatures_verify_with_either_secret_during_a_rotation() {
    let receiver = Receiver::start("127.0.0.1", vec![], Reply::Status(200));
    let mut client = connect();
    let old = create_hook(&mut client, "e2e_rotate", &receiver.url("/"), 5000);
    let rotated: Value = client
        .query_one("SELECT workflow_scheduler.hook_rotate_secret('e2e_rotate')::text::jsonb", &[])
        .map(|row| row.get(0))
        .unwrap();
    let new = rotated["secret"].as_str().unwrap().to_string();
    assert_ne!(old, new);
    let workflow = new_workflow(&mut client);
    fire_to_hook(&mut client, &workflow, "e2e_rotate", 1, 0.5);

    let got = receiver.wait_for(1, Duration::from_secs(15));
    assert_eq!(got.len(), 1);
    let signatures = got[0].header("webhook-signature").unwrap();
    assert_eq!(signatures.split(' ').count(), 2, "two signatures during the overlap: {signatures}");
    assert!(standard_webhooks_accepts(&new, &got[0]), "a receiver with the new secret accepts it");
    assert!(standard_webhooks_accepts(&old, &got[0]), "and one still on the old secret");
}

#[test]
fn non_public_addresses_are_refused_unless_allowed() {
    let mut client = connect();
    let loopback = Receiver::start("127.0.0.1", vec![], Reply::Status(200));
    {
        let _nothing_allowed = ServerSetting::set("workflow_scheduler.http_allowed_cidrs", "");
        create_hook(&mut client, "e2e_loopback", &loopback.url("/"), 5000);
        let workflow = new_workflow(&mut client);
        fire_to_hook(&mut client, &workflow, "e2e_loopback", 1, 0.5);
        let refused = refused_attempt(&mut client, &workflow);
        assert_eq!(refused.as_deref(), Some("address not allowed: 127.0.0.1"));
        client.execute("SELECT workflow_scheduler.hook_remove('e2e_loopback')", &[]).unwrap();
    }
    assert!(loopback.received().is_empty(), "nothing reached 127.0.0.1");

    // Allowed: 127.0.0.1/32 only (the cluster's setting).
    let other = Receiver::start("127.0.0.2", vec![], Reply::Status(200));
    create_hook(&mut client, "e2e_other", &other.url("/"), 5000);
    let workflow = new_workflow(&mut client);
    fire_to_hook(&mut client, &workflow, "e2e_other", 1, 0.5);
    assert_eq!(refused_attempt(&mut client, &workflow).as_deref(), Some("address not allowed: 127.0.0.2"));
    client.execute("SELECT workflow_scheduler.hook_remove('e2e_other')", &[]).unwrap();
    assert!(other.received().is_empty(), "nothing reached 127.0.0.2");
}

/// The error of the first attempt of `workflow`'s delivery, once there is one.
fn refused_attempt(client: &mut Client, workflow: &str) -> Option<String> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let error = client
            .query_opt(
                "SELECT a.error FROM workflow_scheduler.delivery_attempts AS a
                   JOIN workflow_scheduler.deliveries AS d USING (delivery_id)
                   JOIN workflow_scheduler.workflow_schedule_executions AS e USING (execution_id)
                  WHERE e.workflow_id = $1::text::uuid AND a.attempt = 1",
                &[&workflow],
            )
            .unwrap()
            .and_then(|row| row.get(0));
        if error.is_some() || Instant::now() > deadline {
            return error;
        }
        thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_slow_receiver_never_delays_fires() {
    const N: i32 = 20;
    let receiver = Receiver::start("127.0.0.1", vec![], Reply::Slow(Duration::from_secs(2)));
    let mut client = connect();
    let mut listener = listen(CHANNEL);
    create_hook(&mut client, "e2e_slow", &receiver.url("/"), 10_000);
    let workflow = new_workflow(&mut client);
    fire_to_hook(&mut client, &workflow, "e2e_slow", N, 1.0);

    let heard = collect(&mut listener, &workflow, N as usize, Duration::from_secs(15));
    assert_eq!(heard.len(), N as usize, "every fire was notified");
    wait_for_status(&mut client, &workflow, "delivered", N as usize);
    let fired_first: bool = client
        .query_one(
            "SELECT max(e.triggered_at) < min(d.delivered_at)
               FROM workflow_scheduler.workflow_schedule_executions AS e
               JOIN workflow_scheduler.deliveries AS d USING (execution_id)
              WHERE e.workflow_id = $1::text::uuid",
            &[&workflow],
        )
        .unwrap()
        .get(0);
    assert!(fired_first, "every schedule fired before the first slow delivery finished");
}

#[test]
fn an_idle_delivery_worker_runs_no_queries() {
    let mut client = connect();
    // Let earlier tests' deliveries settle: idle means nothing pending.
    let deadline = Instant::now() + Duration::from_secs(30);
    let pending = |client: &mut Client| -> i64 {
        client
            .query_one("SELECT count(*) FROM workflow_scheduler.deliveries WHERE status = 'pending'", &[])
            .unwrap()
            .get(0)
    };
    while pending(&mut client) > 0 && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(pending(&mut client), 0);
    // The worker reports its state around every transaction it runs; while it sleeps the
    // state does not change.
    let state_change = |client: &mut Client| -> String {
        client
            .query_one(
                "SELECT state || ' ' || state_change::text FROM pg_stat_activity
                  WHERE backend_type = 'workflow_scheduler delivery'",
                &[],
            )
            .unwrap()
            .get(0)
    };
    let mut before = state_change(&mut client);
    // It may be finishing its last step; take the first reading once it has settled.
    for _ in 0..10 {
        thread::sleep(Duration::from_millis(300));
        let now = state_change(&mut client);
        if now == before {
            break;
        }
        before = now;
    }
    thread::sleep(Duration::from_secs(3));
    assert_eq!(state_change(&mut client), before, "no transaction in 3 s of idling");
    assert!(before.starts_with("idle"), "{before}");
}
