//! End-to-end tests against a real cluster that preloads workflow_scheduler, with a real
//! LISTEN client. `scripts/e2e.sh` starts the cluster and sets WS_E2E_HOST (the socket
//! directory), WS_E2E_PORT and WS_E2E_DB; run them through `make test`.
//!
//! Each test uses its own workflow_id and removes its schedules when done, so tests do not see
//! each other's notifications. They run one at a time (`--test-threads=1`): some change
//! server settings.

mod examples;
mod faults;
mod firing;
mod hooks;
mod lifecycle;
mod monitoring;
mod receiver;
mod security;
mod upgrade;
mod worker;

use std::thread;
use std::time::{Duration, Instant};

use postgres::fallible_iterator::FallibleIterator;
use postgres::{Client, NoTls};

use serde_json::Value;

pub const CHANNEL: &str = "workflow_scheduler";

pub fn connect() -> Client {
    connect_to(&database(), "postgres")
}

/// The e2e database, which the worker serves.
pub fn database() -> String {
    std::env::var("WS_E2E_DB").unwrap_or_else(|_| "ws_e2e".into())
}

/// The cluster's directory: its socket and `server.log` are there.
pub fn cluster_dir() -> String {
    std::env::var("WS_E2E_HOST").expect("WS_E2E_HOST: run these through `make test`")
}

/// Connects to `db` as the superuser and makes sure the extension exists.
pub fn connect_to(db: &str, user: &str) -> Client {
    let mut client = config(db, user).connect(NoTls).expect("connect to the e2e cluster");
    if user == "postgres" {
        client.batch_execute("CREATE EXTENSION IF NOT EXISTS workflow_scheduler").expect("create extension");
    }
    client
}

/// Connection settings for `db` as `user`; the cluster trusts local connections.
pub fn config(db: &str, user: &str) -> postgres::Config {
    let port: u16 = std::env::var("WS_E2E_PORT").expect("WS_E2E_PORT").parse().expect("port");
    let mut config = postgres::Config::new();
    config.host_path(cluster_dir()).port(port).user(user).dbname(db);
    config
}

/// A database created afresh for one test, with nothing in it.
pub fn fresh_database(name: &str) -> Client {
    let mut admin = connect();
    admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).unwrap();
    admin.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
    config(name, "postgres").connect(NoTls).expect("connect to the new database")
}

/// Waits up to `timeout` for `needle` to appear in the server log after byte `from`.
pub fn wait_for_log(needle: &str, from: u64, timeout: Duration) -> bool {
    let path = format!("{}/server.log", cluster_dir());
    let deadline = Instant::now() + timeout;
    loop {
        let log = std::fs::read(&path).unwrap_or_default();
        let tail = &log[(from as usize).min(log.len())..];
        if String::from_utf8_lossy(tail).contains(needle) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        thread::sleep(Duration::from_millis(200));
    }
}

/// The server log's current length, to look only at what comes after.
pub fn log_position() -> u64 {
    std::fs::metadata(format!("{}/server.log", cluster_dir())).map(|m| m.len()).unwrap_or(0)
}

/// The SQLSTATE of a failed statement.
pub fn sqlstate(err: &postgres::Error) -> String {
    err.as_db_error().map(|e| e.code().code().to_string()).unwrap_or_else(|| format!("not a server error: {err}"))
}

pub fn listen(channel: &str) -> Client {
    let mut client = connect();
    client.batch_execute(&format!("LISTEN \"{channel}\"")).expect("LISTEN");
    client
}

pub fn new_workflow(client: &mut Client) -> String {
    client.query_one("SELECT gen_random_uuid()::text", &[]).unwrap().get(0)
}

/// An ISO 8601 UTC time `seconds` from the server's clock.
pub fn in_seconds(client: &mut Client, seconds: f64) -> String {
    client
        .query_one(
            "SELECT to_char((clock_timestamp() + make_interval(secs => $1)) AT TIME ZONE 'UTC',
                            'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')",
            &[&seconds],
        )
        .unwrap()
        .get(0)
}

pub fn add(client: &mut Client, workflow: &str, config: &str, context: &str) -> Value {
    let row = client
        .query_one(
            "SELECT workflow_scheduler.schedule_add($1::text::uuid, $2::text::jsonb, 42, 7, $3::text::jsonb)::text",
            &[&workflow, &config, &context],
        )
        .expect("schedule_add");
    serde_json::from_str(row.get::<_, &str>(0)).unwrap()
}

pub fn get(client: &mut Client, schedule_id: &str) -> Value {
    let row = client
        .query_one("SELECT workflow_scheduler.schedule_get($1::text::uuid)::text", &[&schedule_id])
        .expect("schedule_get");
    serde_json::from_str(row.get::<_, &str>(0)).unwrap()
}

pub fn remove_workflow(client: &mut Client, workflow: &str) {
    client
        .execute(
            "SELECT workflow_scheduler.schedule_remove(schedule_id, 0)
               FROM workflow_scheduler.workflow_schedules WHERE workflow_id = $1::text::uuid",
            &[&workflow],
        )
        .unwrap();
}

/// Collects notifications for `workflow` until `want` arrived or `timeout` passed.
pub fn collect(listener: &mut Client, workflow: &str, want: usize, timeout: Duration) -> Vec<Value> {
    let deadline = Instant::now() + timeout;
    let mut got = Vec::new();
    while got.len() < want {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        let mut notifications = listener.notifications();
        let mut waiting = notifications.timeout_iter(left);
        match waiting.next().expect("reading notifications") {
            Some(note) => {
                let payload: Value = serde_json::from_str(note.payload()).expect("payload is JSON");
                if payload["workflow_id"] == workflow {
                    got.push(payload);
                }
            }
            None => break,
        }
    }
    got
}

pub fn count(client: &mut Client, sql: &str, workflow: &str) -> i64 {
    client.query_one(sql, &[&workflow]).unwrap().get(0)
}

/// A server setting changed with ALTER SYSTEM for one test, reset when the test ends, even
/// when it fails, so that no test leaks a setting into the next.
pub struct ServerSetting {
    name: &'static str,
}

impl ServerSetting {
    pub fn set(name: &'static str, value: &str) -> ServerSetting {
        let mut client = connect();
        client.batch_execute(&format!("ALTER SYSTEM SET {name} = '{value}'")).unwrap();
        reload(&mut client);
        ServerSetting { name }
    }
}

impl Drop for ServerSetting {
    fn drop(&mut self) {
        let mut client = connect();
        client.batch_execute(&format!("ALTER SYSTEM RESET {}", self.name)).unwrap();
        reload(&mut client);
    }
}

pub fn reload(client: &mut Client) {
    client.batch_execute("SELECT pg_reload_conf()").unwrap();
    // The worker rereads the file when it next wakes; SIGHUP sets its latch.
    thread::sleep(Duration::from_millis(500));
}

/// The worker's pid, waiting for it to start (a test before may have terminated it; the
/// postmaster restarts it after 5 s).
pub fn running_worker_pid(client: &mut Client) -> i32 {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match worker_pid(client) {
            Some(pid) => return pid,
            None if Instant::now() < deadline => thread::sleep(Duration::from_millis(200)),
            None => panic!("the worker did not start"),
        }
    }
}

pub fn worker_pid(client: &mut Client) -> Option<i32> {
    client
        .query_opt("SELECT pid FROM pg_stat_activity WHERE backend_type = 'workflow_scheduler'", &[])
        .unwrap()
        .map(|row| row.get(0))
}

/// Login roles with exactly the documented grants (idempotent: the cluster outlives a test).
pub fn app_role(name: &str) -> Client {
    let mut admin = connect();
    admin
        .batch_execute(&format!(
            "DO $$ BEGIN
                 IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{name}') THEN CREATE ROLE {name} LOGIN; END IF;
             END $$;
             GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA workflow_scheduler TO {name};
             GRANT SELECT ON ALL TABLES IN SCHEMA workflow_scheduler TO {name};"
        ))
        .unwrap();
    config(&database(), name).connect(NoTls).expect("log in as the application role")
}

/// Adds `n` one-time schedules of `workflow`, all due `seconds` from now.
pub fn add_burst(client: &mut Client, workflow: &str, n: i32, seconds: f64) {
    let at = in_seconds(client, seconds);
    client
        .execute(
            "SELECT workflow_scheduler.schedule_add($1::text::uuid,
                 jsonb_build_object('schedule_type', 'one_time', 'scheduled_time', $2::text), 1, 1)
               FROM generate_series(1, $3::int)",
            &[&workflow, &at, &n],
        )
        .unwrap();
}
