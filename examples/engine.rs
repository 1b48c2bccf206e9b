//! A workflow engine loop with tokio-postgres (docs/delivery.md): LISTEN as a wake-up hint,
//! `execution_claim` as the durable source of work (called before the first wait too, so a
//! restarted engine finds every fire it missed), `execution_heartbeat` while a run is long, and
//! `execution_complete` with the outcome.
//!
//! cargo run --release --example engine -- MAX_EXECUTIONS SECONDS
//!
//! Stops after MAX_EXECUTIONS executions (0: no limit) or SECONDS seconds, whichever comes
//! first. The connection comes from PGHOST (a host or a socket directory), PGPORT, PGDATABASE
//! and PGUSER, like psql's. Prints one line per execution and a summary.

use std::time::Duration;

use futures_util::{stream, StreamExt};
use serde_json::{json, Value};
use tokio::sync::mpsc;
use tokio::time::{timeout_at, Instant};
use tokio_postgres::{AsyncMessage, Client, NoTls};

/// How long to wait for a NOTIFY before claiming anyway: a notification can be lost (a dropped
/// connection), a claim cannot.
const IDLE_CLAIM_EVERY: Duration = Duration::from_secs(30);

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, limit, seconds] = args.as_slice() else {
        eprintln!("usage: engine MAX_EXECUTIONS SECONDS");
        std::process::exit(2);
    };
    let limit: u64 = limit.parse()?;
    let deadline = Instant::now() + Duration::from_secs_f64(seconds.parse()?);

    let (client, mut connection) = connection_config()?.connect(NoTls).await?;
    // The connection task drives the socket; notifications arrive through it, the work does not.
    let (hints, mut hint) = mpsc::unbounded_channel();
    let mut messages = stream::poll_fn(move |cx| connection.poll_message(cx));
    tokio::spawn(async move {
        while let Some(message) = messages.next().await {
            match message {
                Ok(AsyncMessage::Notification(_)) => {
                    let _ = hints.send(());
                }
                Ok(_) => {}
                Err(err) => {
                    eprintln!("connection: {err}");
                    break;
                }
            }
        }
    });
    client.batch_execute("LISTEN workflow_scheduler").await?;
    let worker_name = format!("rust-engine-{}", std::process::id());
    let mut done: u64 = 0;

    while Instant::now() < deadline && (limit == 0 || done < limit) {
        // Drain: claim until nothing is left, then wait for the next hint.
        while limit == 0 || done < limit {
            let batch = if limit == 0 { 10 } else { 10.min(limit - done) as i32 };
            let claimed = client
                .query(
                    "SELECT execution_id, workflow_id, attempt, trigger_data
                       FROM workflow_scheduler.execution_claim($1, '5 minutes', $2)",
                    &[&batch, &worker_name],
                )
                .await?;
            if claimed.is_empty() {
                break;
            }
            for row in claimed {
                let execution_id: uuid::Uuid = row.get(0);
                let workflow_id: uuid::Uuid = row.get(1);
                let attempt: i32 = row.get(2);
                let trigger: Value = row.get(3);
                let (status, result) = match run_workflow(&client, execution_id, &trigger).await {
                    Ok(result) => ("completed", result),
                    Err(err) => ("failed", json!({ "error": err.to_string() })),
                };
                client
                    .execute(
                        "SELECT workflow_scheduler.execution_complete($1, $2, $3)",
                        &[&execution_id, &status, &result],
                    )
                    .await?;
                done += 1;
                println!("{status} {execution_id} workflow {workflow_id} attempt {attempt}");
            }
        }
        if limit != 0 && done >= limit {
            break;
        }
        // A hint, or IDLE_CLAIM_EVERY, or the deadline: whichever comes first.
        let _ = timeout_at(deadline.min(Instant::now() + IDLE_CLAIM_EVERY), hint.recv()).await;
        while hint.try_recv().is_ok() {}
    }
    println!("engine stopped after {done} executions");
    Ok(())
}

/// The libpq variables psql reads; a PGHOST starting with `/` is a socket directory.
fn connection_config() -> Result<tokio_postgres::Config, Box<dyn std::error::Error>> {
    let var = |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.to_string());
    let user = var("PGUSER", &var("USER", "postgres"));
    let mut config = tokio_postgres::Config::new();
    config
        .host(var("PGHOST", "/var/run/postgresql"))
        .port(var("PGPORT", "5432").parse()?)
        .dbname(var("PGDATABASE", &user))
        .user(&user);
    Ok(config)
}

/// Stands in for starting the workflow. A long run calls `execution_heartbeat` before its
/// lease runs out; false means the scheduler gave the execution up (it timed out).
async fn run_workflow(
    client: &Client,
    execution_id: uuid::Uuid,
    trigger: &Value,
) -> Result<Value, tokio_postgres::Error> {
    let still_ours: bool = client
        .query_one("SELECT workflow_scheduler.execution_heartbeat($1, '5 minutes')", &[&execution_id])
        .await?
        .get(0);
    Ok(json!({ "workflow_id": trigger["workflow_id"], "still_ours": still_ours, "engine": "rust" }))
}
