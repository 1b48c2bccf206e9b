//! A complete engine loop (docs/delivery.md): LISTEN as a wake-up hint, `execution_claim` as
//! the durable source of work, `execution_heartbeat` while a run is long, and
//! `execution_complete` with the outcome. A restarted engine finds every fire it missed,
//! because it claims before it waits.
//!
//! cargo run --release --example engine -- SOCKET_DIR PORT DATABASE ROLE SECONDS

use std::time::{Duration, Instant};

use postgres::fallible_iterator::FallibleIterator;
use postgres::{Client, NoTls};
use serde_json::{json, Value};

/// How long to wait for a NOTIFY before claiming anyway: a notification can be lost (a dropped
/// connection), a claim cannot.
const IDLE_CLAIM_EVERY: Duration = Duration::from_secs(30);

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, host, port, db, role, seconds] = args.as_slice() else {
        eprintln!("usage: engine SOCKET_DIR PORT DATABASE ROLE SECONDS");
        std::process::exit(2);
    };
    let mut client =
        postgres::Config::new().host_path(host).port(port.parse()?).user(role).dbname(db).connect(NoTls)?;
    client.batch_execute("LISTEN workflow_scheduler")?;
    let worker_name = format!("engine-{}", std::process::id());
    let deadline = Instant::now() + Duration::from_secs(seconds.parse()?);

    while Instant::now() < deadline {
        // Drain: claim until nothing is left, then wait for the next hint.
        loop {
            let claimed = client.query(
                "SELECT execution_id, workflow_id, attempt, trigger_data
                   FROM workflow_scheduler.execution_claim(10, '5 minutes', $1)",
                &[&worker_name],
            )?;
            if claimed.is_empty() {
                break;
            }
            for row in claimed {
                let execution_id: uuid::Uuid = row.get(0);
                let trigger: Value = row.get(3);
                let (status, result) = match run_workflow(&mut client, execution_id, &trigger) {
                    Ok(result) => ("completed", result),
                    Err(err) => ("failed", json!({ "error": err.to_string() })),
                };
                client.execute(
                    "SELECT workflow_scheduler.execution_complete($1, $2, $3)",
                    &[&execution_id, &status, &result],
                )?;
                println!("{execution_id} attempt {} {status}", row.get::<_, i32>(2));
            }
        }
        let wait = IDLE_CLAIM_EVERY.min(deadline.saturating_duration_since(Instant::now()));
        let mut notifications = client.notifications();
        let _hint = notifications.timeout_iter(wait).next()?;
    }
    Ok(())
}

/// Stands in for starting the workflow. A long run calls `execution_heartbeat` before its
/// lease runs out; false means the scheduler gave the execution up (it timed out).
fn run_workflow(client: &mut Client, execution_id: uuid::Uuid, trigger: &Value) -> Result<Value, postgres::Error> {
    let still_ours: bool =
        client.query_one("SELECT workflow_scheduler.execution_heartbeat($1, '5 minutes')", &[&execution_id])?.get(0);
    Ok(json!({ "workflow_id": trigger["workflow_id"], "still_ours": still_ours }))
}
