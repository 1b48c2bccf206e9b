//! A LISTEN client for the demo and the firing benchmark: prints each notification as it
//! arrives and how late it was (receipt time minus `scheduled_for`).
//!
//! cargo run --release --example listen -- SOCKET_DIR PORT DATABASE CHANNEL SECONDS

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use postgres::fallible_iterator::FallibleIterator;
use postgres::NoTls;
use serde_json::Value;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, host, port, db, channel, seconds] = args.as_slice() else {
        eprintln!("usage: listen SOCKET_DIR PORT DATABASE CHANNEL SECONDS");
        std::process::exit(2);
    };
    let mut client =
        postgres::Config::new().host_path(host).port(port.parse()?).user("postgres").dbname(db).connect(NoTls)?;
    client.batch_execute(&format!("LISTEN \"{channel}\""))?;
    println!("listening on channel {channel:?} for {seconds} s (Ctrl-C stops)");

    let deadline = Instant::now() + Duration::from_secs(seconds.parse()?);
    let mut received = 0;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        let mut notifications = client.notifications();
        let Some(note) = notifications.timeout_iter(left).next()? else { break };
        let now = Utc::now();
        received += 1;
        let trigger: Value = serde_json::from_str(note.payload())?;
        let scheduled_for = trigger["scheduled_for"].as_str().and_then(|t| DateTime::parse_from_rfc3339(t).ok());
        let late = scheduled_for
            .map(|t| format!("{:>4} ms late", (now - t.with_timezone(&Utc)).num_milliseconds()))
            .unwrap_or_else(|| "truncated payload".into());
        println!(
            "{}  {late}  {:<28} scheduled_for={} execution={}",
            now.format("%H:%M:%S%.3f"),
            trigger["demo"].as_str().unwrap_or("-"),
            trigger["scheduled_for"].as_str().unwrap_or("-"),
            trigger["execution_id"].as_str().unwrap_or("-"),
        );
    }
    println!("{received} notifications received");
    Ok(())
}
