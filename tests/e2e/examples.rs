//! The engine loops in examples/ (Python, Node.js, psql, async Rust), each run as a child
//! process, as an application role with exactly the two documented grants: executions that
//! fired before the engine started (catch-up) and after (LISTEN), each completed exactly once
//! and named in the engine's output.

use std::collections::HashSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use postgres::Client;

use crate::*;

const BEFORE: usize = 3;
const AFTER: usize = 3;
/// The engine stops on its own after this long if it has not seen every execution.
const ENGINE_SECONDS: &str = "90";

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The compiled examples sit next to this test binary's folder (target/<profile>/examples);
/// scripts/e2e.sh builds examples/engine.rs before the tests.
fn rust_engine() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().and_then(Path::parent).unwrap().join("examples").join("engine")
}

/// A login role with exactly the two grants of docs/security.md, unique to this run.
fn engine_role(language: &str) -> (String, Client) {
    let suffix: String = connect().query_one("SELECT left(md5(random()::text), 8)", &[]).unwrap().get(0);
    let role = format!("ws_e2e_{language}_engine_{suffix}");
    let client = app_role(&role);
    (role, client)
}

fn executions(client: &mut Client, workflow: &str, status: &str) -> Vec<String> {
    client
        .query(
            "SELECT execution_id::text FROM workflow_scheduler.workflow_schedule_executions
              WHERE workflow_id = $1::text::uuid AND status = $2 ORDER BY execution_id",
            &[&workflow, &status],
        )
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect()
}

fn wait_until(what: &str, within: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !done() {
        assert!(Instant::now() < deadline, "gave up waiting: {what}");
        thread::sleep(Duration::from_millis(200));
    }
}

/// Kills the engine if the test fails before it stops on its own.
struct Engine(Child);

impl Drop for Engine {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn run_engine(language: &str, mut command: Command) {
    let (role, mut app) = engine_role(language);
    let workflow = new_workflow(&mut app);

    // Fired while no engine runs: only a claim can find these.
    add_burst(&mut app, &workflow, BEFORE as i32, 0.5);
    wait_until("the first schedules fire", Duration::from_secs(60), || {
        executions(&mut app, &workflow, "triggered").len() == BEFORE
    });

    let port = std::env::var("WS_E2E_PORT").unwrap();
    let child = command
        .arg((BEFORE + AFTER).to_string())
        .arg(ENGINE_SECONDS)
        .current_dir(repo())
        .env("PGHOST", cluster_dir())
        .env("PGPORT", &port)
        .env("PGDATABASE", database())
        .env("PGUSER", &role)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|err| panic!("start the {language} engine: {err}"));
    let mut child = Engine(child);
    let mut stdout = child.0.stdout.take().unwrap();
    let reader = thread::spawn(move || {
        let mut out = String::new();
        stdout.read_to_string(&mut out).unwrap();
        out
    });

    // No NOTIFY comes for these: an engine that waited before claiming would find them only at
    // its idle claim, 30 s later. 20 s is far more than a start-up takes, and less than that.
    wait_until("the engine completes what it missed", Duration::from_secs(20), || {
        executions(&mut app, &workflow, "completed").len() == BEFORE
    });
    // Once the engine caught up, more fire while it waits.
    add_burst(&mut app, &workflow, AFTER as i32, 1.0);

    let status = child.0.wait().unwrap();
    let output = reader.join().unwrap();
    println!("{language} engine:\n{output}");
    assert!(status.success(), "the {language} engine exited with {status}");

    let completed = executions(&mut app, &workflow, "completed");
    let all: i64 = app
        .query_one(
            "SELECT count(*) FROM workflow_scheduler.workflow_schedule_executions WHERE workflow_id = $1::text::uuid",
            &[&workflow],
        )
        .unwrap()
        .get(0);
    assert_eq!(completed.len(), BEFORE + AFTER, "every execution completed");
    assert_eq!(all, (BEFORE + AFTER) as i64, "one execution per schedule, nothing else");
    let first_attempts: i64 = app
        .query_one(
            "SELECT count(*) FROM workflow_scheduler.workflow_schedule_executions
              WHERE workflow_id = $1::text::uuid AND attempt = 1 AND claimed_by LIKE $2
                AND result ->> 'workflow_id' = $1",
            &[&workflow, &format!("{language}-engine-%")],
        )
        .unwrap()
        .get(0);
    assert_eq!(first_attempts, (BEFORE + AFTER) as i64, "each claimed once, by this engine, with its result");

    let printed: Vec<&str> = output
        .lines()
        .filter_map(|line| line.strip_prefix("completed "))
        .filter_map(|rest| rest.split_whitespace().next())
        .collect();
    let unique: HashSet<&str> = printed.iter().copied().collect();
    assert_eq!(printed.len(), unique.len(), "no execution printed twice");
    let expected: HashSet<&str> = completed.iter().map(String::as_str).collect();
    assert_eq!(unique, expected, "the output names every execution");
    assert!(output.contains(&format!("engine stopped after {} executions", BEFORE + AFTER)));
    remove_workflow(&mut app, &workflow);
}

#[test]
fn the_python_engine_catches_up_then_completes_what_fires() {
    let mut command = Command::new("python3");
    command.arg("examples/python/engine.py");
    run_engine("python", command);
}

#[test]
fn the_node_engine_catches_up_then_completes_what_fires() {
    let mut command = Command::new("node");
    command.arg("examples/node/engine.js");
    run_engine("node", command);
}

#[test]
fn the_psql_engine_catches_up_then_completes_what_fires() {
    let mut command = Command::new("bash");
    command.arg("examples/psql/engine.sh");
    run_engine("psql", command);
}

#[test]
fn the_async_rust_engine_catches_up_then_completes_what_fires() {
    run_engine("rust", Command::new(rust_engine()));
}
