//! Execution-lifecycle benchmark: `execution_claim` + `execution_complete` from several engine
//! sessions, against plain `UPDATE ... FOR UPDATE SKIP LOCKED` claims and updates of a copy of
//! the same rows in a table without the extension, in the same run.
//!
//! bench/claim_bench.sh starts the cluster and runs this; by hand:
//!
//!   claim_bench run SOCKET_DIR PORT DATABASE [--n 20000] [--sessions 4] [--batch 50]
//!               [--modes batch,per-row] [--first ws|peer] [--session-roles engine,postgres]
//!   claim_bench summarize RESULT_FILE...       (medians over several runs)
//!
//! Setup: a login role `engine` with the two documented grants creates N one-time schedules
//! due a few seconds ahead; the worker fires them (N `triggered` executions, with their
//! trigger data). The peer table `bench_peer.executions` is `LIKE` the executions table
//! (columns, defaults, checks and every index, partial ones included) and gets a copy of
//! those N rows.
//!
//! Each mode runs both systems, one after the other (`--first` says which starts), each from
//! the same N `triggered` rows (reset, then `VACUUM ANALYZE` of both tables, `ANALYZE` of the
//! schedules, and a `CHECKPOINT`). `--sessions` connections as `engine`, opened before the
//! clock starts, loop: claim up to `--batch`, complete what was claimed, until a claim returns
//! nothing.
//! - batch: the claimed batch is completed with one statement
//!   (`execution_complete` over `unnest($1)`; the peer: `UPDATE ... WHERE id = ANY($1)`).
//! - per-row: one statement per execution, as `examples/engine.rs` does.
//!
//! `--session-roles engine,postgres` also runs everything with sessions of the superuser, in the
//! same run (a diagnostic: a superuser sees every schedule, so `execution_claim` has no owner
//! filter).
//!
//! executions/s = N / (time until the last session saw an empty claim). Every statement is
//! prepared once per session, for both systems. Output: markdown tables plus `RESULT` lines.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use chrono::{SecondsFormat, Utc};
use postgres::{Client, NoTls};

type Error = Box<dyn std::error::Error + Send + Sync>;
type Res<T> = Result<T, Error>;

const ENGINE_ROLE: &str = "engine";

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let outcome = match args.get(1).map(String::as_str) {
        Some("run") => run(&args[2..]),
        Some("summarize") => summarize(&args[2..]),
        _ => Err("usage: claim_bench run SOCKET_DIR PORT DATABASE [options] | claim_bench summarize FILE...".into()),
    };
    if let Err(err) = outcome {
        // postgres errors say "db error" and keep the server's message in their source.
        let mut text = err.to_string();
        let mut source = err.source();
        while let Some(inner) = source {
            text.push_str(&format!(": {inner}"));
            source = inner.source();
        }
        eprintln!("claim_bench: {text}");
        std::process::exit(1);
    }
}

#[derive(Clone)]
struct Target {
    host: String,
    port: u16,
    db: String,
}

impl Target {
    fn connect(&self, user: &str) -> Res<Client> {
        Ok(postgres::Config::new()
            .host_path(&self.host)
            .port(self.port)
            .user(user)
            .dbname(&self.db)
            .application_name("claim_bench")
            .connect(NoTls)?)
    }
}

fn log(msg: impl AsRef<str>) {
    eprintln!("[{}] {}", Utc::now().format("%H:%M:%S%.3f"), msg.as_ref());
}

fn f1(x: f64) -> String {
    if x.is_nan() {
        "nan".into()
    } else {
        format!("{x:.1}")
    }
}

struct Options {
    n: usize,
    sessions: usize,
    batch: i32,
    modes: Vec<String>,
    peer_first: bool,
    session_roles: Vec<String>,
}

fn parse_options(rest: &[String]) -> Res<Options> {
    let mut opts = Options {
        n: 20_000,
        sessions: 4,
        batch: 50,
        modes: vec!["batch".into(), "per-row".into()],
        peer_first: false,
        session_roles: vec![ENGINE_ROLE.to_string()],
    };
    let mut it = rest.iter();
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--n" => opts.n = value.parse()?,
            "--sessions" => opts.sessions = value.parse()?,
            "--batch" => opts.batch = value.parse()?,
            "--modes" => opts.modes = value.split(',').map(str::to_string).collect(),
            "--session-roles" => {
                opts.session_roles = value.split(',').map(str::to_string).collect();
                if !opts.session_roles.iter().all(|r| r == ENGINE_ROLE || r == "postgres") {
                    return Err(format!("--session-roles takes {ENGINE_ROLE} and/or postgres").into());
                }
            }
            "--first" => {
                opts.peer_first = match value.as_str() {
                    "ws" => false,
                    "peer" => true,
                    _ => return Err("--first is ws or peer".into()),
                }
            }
            other => return Err(format!("unknown option {other}").into()),
        }
    }
    if !opts.modes.iter().all(|m| m == "batch" || m == "per-row") {
        return Err("--modes takes batch and/or per-row".into());
    }
    Ok(opts)
}

fn run(args: &[String]) -> Res<()> {
    let [host, port, db, rest @ ..] = args else {
        return Err("run needs SOCKET_DIR PORT DATABASE".into());
    };
    let target = Target { host: host.clone(), port: port.parse()?, db: db.clone() };
    let opts = parse_options(rest)?;
    let mut ctl = target.connect("postgres")?;
    setup(&target, &mut ctl, opts.n)?;

    let mut records: Vec<BTreeMap<String, String>> = Vec::new();
    for role in &opts.session_roles {
        for mode in &opts.modes {
            let order: [&str; 2] = if opts.peer_first { ["peer", "ws"] } else { ["ws", "peer"] };
            for system in order {
                reset(&mut ctl, opts.n)?;
                let rec = measure(&target, role, system, mode, &opts)?;
                records.push(rec);
            }
        }
    }
    add_ratios(&mut records);
    println!();
    render(&records, 1);
    Ok(())
}

/// The engine role, N triggered executions fired by the worker, and the peer table with a
/// copy of them.
fn setup(target: &Target, ctl: &mut Client, n: usize) -> Res<()> {
    ctl.batch_execute(&format!(
        "DO $$ BEGIN
             IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{ENGINE_ROLE}') THEN
                 CREATE ROLE {ENGINE_ROLE} LOGIN;
             END IF;
         END $$;
         GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA workflow_scheduler TO {ENGINE_ROLE};
         GRANT SELECT ON ALL TABLES IN SCHEMA workflow_scheduler TO {ENGINE_ROLE};
         TRUNCATE workflow_scheduler.delivery_attempts, workflow_scheduler.deliveries,
                  workflow_scheduler.workflow_schedule_executions, workflow_scheduler.workflow_schedules,
                  workflow_scheduler.audit_log;
         DROP SCHEMA IF EXISTS bench_peer CASCADE;
         CREATE SCHEMA bench_peer;
         GRANT USAGE ON SCHEMA bench_peer TO {ENGINE_ROLE};"
    ))?;
    let lead_ms = 3_000 + n as i64 / 2;
    let due = (Utc::now() + chrono::Duration::milliseconds(lead_ms)).to_rfc3339_opts(SecondsFormat::Millis, true);
    let started = Instant::now();
    let mut engine = target.connect(ENGINE_ROLE)?;
    engine.execute(
        "SELECT workflow_scheduler.schedule_add(
                    gen_random_uuid(),
                    jsonb_build_object('schedule_type', 'one_time', 'scheduled_time', $1::text),
                    1, 1, '{\"report\": \"daily\", \"tenant\": \"bench\"}')
           FROM generate_series(1, $2::int)",
        &[&due, &(n as i32)],
    )?;
    log(format!("setup: {n} schedules created as {ENGINE_ROLE} in {} ms, due {due}", started.elapsed().as_millis()));
    let deadline = Instant::now() + Duration::from_millis(lead_ms as u64) + Duration::from_secs(60);
    loop {
        let fired: i64 = ctl
            .query_one(
                "SELECT count(*) FROM workflow_scheduler.workflow_schedule_executions WHERE status = 'triggered'",
                &[],
            )?
            .get(0);
        if fired as usize >= n {
            break;
        }
        if Instant::now() > deadline {
            return Err(format!("only {fired} of {n} schedules fired").into());
        }
        thread::sleep(Duration::from_millis(200));
    }
    ctl.batch_execute(&format!(
        "CREATE TABLE bench_peer.executions
             (LIKE workflow_scheduler.workflow_schedule_executions INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES);
         INSERT INTO bench_peer.executions SELECT * FROM workflow_scheduler.workflow_schedule_executions;
         GRANT SELECT, UPDATE ON bench_peer.executions TO {ENGINE_ROLE};"
    ))?;
    log(format!("setup: {n} executions triggered and copied to bench_peer.executions"));
    Ok(())
}

/// Both tables back to N `triggered` rows, vacuumed and analysed, and the schedules analysed.
fn reset(ctl: &mut Client, n: usize) -> Res<()> {
    for table in ["workflow_scheduler.workflow_schedule_executions", "bench_peer.executions"] {
        ctl.execute(
            &format!(
                "UPDATE {table} SET status = 'triggered', attempt = 0, claimed_by = NULL, lease_expires_at = NULL,
                                    finished_at = NULL, result = NULL
                  WHERE status <> 'triggered' OR attempt <> 0"
            ),
            &[],
        )?;
        ctl.batch_execute(&format!("VACUUM ANALYZE {table}"))?;
        let triggered: i64 =
            ctl.query_one(&format!("SELECT count(*) FROM {table} WHERE status = 'triggered'"), &[])?.get(0);
        if triggered as usize != n {
            return Err(format!("{table} has {triggered} triggered rows, not {n}").into());
        }
    }
    // The claim and the completion join the schedules: their statistics must be current too
    // (autovacuum would get to them at some point during the run, after the TRUNCATE of setup).
    ctl.batch_execute("ANALYZE workflow_scheduler.workflow_schedules; CHECKPOINT")?;
    Ok(())
}

const WS_CLAIM: &str = "SELECT execution_id, schedule_id, workflow_id, scheduled_for, attempt, trigger_data
                          FROM workflow_scheduler.execution_claim($1, '5 minutes', $2)";
const WS_COMPLETE_BATCH: &str = "SELECT count(*) FILTER (WHERE workflow_scheduler.execution_complete(id, 'completed'))
                                   FROM pg_catalog.unnest($1::uuid[]) AS id";
const WS_COMPLETE_ONE: &str = "SELECT workflow_scheduler.execution_complete($1, 'completed')";

const PEER_CLAIM: &str = "WITH picked AS (
                              SELECT e.execution_id FROM bench_peer.executions AS e
                               WHERE e.status = 'triggered'
                               ORDER BY e.triggered_at
                               LIMIT $1::int
                                 FOR UPDATE SKIP LOCKED)
                          UPDATE bench_peer.executions AS e
                             SET status = 'running', attempt = e.attempt + 1, claimed_by = $2,
                                 lease_expires_at = now() + interval '5 minutes'
                            FROM picked
                           WHERE e.execution_id = picked.execution_id
                          RETURNING e.execution_id, e.schedule_id, e.workflow_id, e.scheduled_for, e.attempt, e.trigger_data";
const PEER_COMPLETE_BATCH: &str = "UPDATE bench_peer.executions
                                      SET status = 'completed', result = NULL, finished_at = now(), lease_expires_at = NULL
                                    WHERE execution_id = ANY($1::uuid[]) AND status IN ('triggered', 'running')";
const PEER_COMPLETE_ONE: &str = "UPDATE bench_peer.executions
                                    SET status = 'completed', result = NULL, finished_at = now(), lease_expires_at = NULL
                                  WHERE execution_id = $1 AND status IN ('triggered', 'running')";

/// What one session did.
struct SessionResult {
    claimed: Vec<uuid::Uuid>,
    completed: u64,
    claims: u64,
    done_at: Instant,
}

fn session(
    mut client: Client,
    system: &str,
    mode: &str,
    batch: i32,
    name: String,
    start: Arc<Barrier>,
) -> Res<SessionResult> {
    let (claim_sql, complete_sql) = match (system, mode) {
        ("ws", "batch") => (WS_CLAIM, WS_COMPLETE_BATCH),
        ("ws", _) => (WS_CLAIM, WS_COMPLETE_ONE),
        (_, "batch") => (PEER_CLAIM, PEER_COMPLETE_BATCH),
        _ => (PEER_CLAIM, PEER_COMPLETE_ONE),
    };
    let claim = client.prepare(claim_sql)?;
    let complete = client.prepare(complete_sql)?;
    let mut out = SessionResult { claimed: Vec::new(), completed: 0, claims: 0, done_at: Instant::now() };
    start.wait();
    loop {
        let rows = client.query(&claim, &[&batch, &name])?;
        out.claims += 1;
        if rows.is_empty() {
            break;
        }
        let ids: Vec<uuid::Uuid> = rows.iter().map(|r| r.get(0)).collect();
        match (system, mode) {
            ("ws", "batch") => {
                let n: i64 = client.query_one(&complete, &[&ids])?.get(0);
                out.completed += n as u64;
            }
            ("ws", _) => {
                for id in &ids {
                    let done: bool = client.query_one(&complete, &[id])?.get(0);
                    out.completed += u64::from(done);
                }
            }
            (_, "batch") => out.completed += client.execute(&complete, &[&ids])?,
            _ => {
                for id in &ids {
                    out.completed += client.execute(&complete, &[id])?;
                }
            }
        }
        out.claimed.extend(ids);
    }
    out.done_at = Instant::now();
    Ok(out)
}

fn measure(target: &Target, role: &str, system: &str, mode: &str, opts: &Options) -> Res<BTreeMap<String, String>> {
    let start = Arc::new(Barrier::new(opts.sessions + 1));
    let mut handles = Vec::new();
    for k in 0..opts.sessions {
        let client = target.connect(role)?;
        let (system, mode, start) = (system.to_string(), mode.to_string(), Arc::clone(&start));
        let batch = opts.batch;
        handles.push(thread::spawn(move || session(client, &system, &mode, batch, format!("bench-{k}"), start)));
    }
    start.wait();
    let began = Instant::now();
    let mut results = Vec::new();
    for h in handles {
        results.push(h.join().map_err(|_| "a session panicked")??);
    }
    let end = results.iter().map(|r| r.done_at).max().unwrap_or(began);
    let elapsed_ms = end.duration_since(began).as_secs_f64() * 1000.0;
    let claimed: usize = results.iter().map(|r| r.claimed.len()).sum();
    let unique: HashSet<uuid::Uuid> = results.iter().flat_map(|r| r.claimed.iter().copied()).collect();
    let completed: u64 = results.iter().map(|r| r.completed).sum();
    let claims: u64 = results.iter().map(|r| r.claims).sum();
    let per_session: Vec<String> = results.iter().map(|r| r.claimed.len().to_string()).collect();
    let rate = if unique.len() == opts.n && completed as usize == opts.n {
        opts.n as f64 / (elapsed_ms / 1000.0)
    } else {
        f64::NAN
    };
    log(format!(
        "{system} {mode} as {role}: {claimed} claimed ({} unique), {completed} completed in {elapsed_ms:.0} ms: {rate:.0} executions/s",
        unique.len()
    ));
    let pairs = [
        ("kind", "claim".to_string()),
        ("system", system.to_string()),
        ("mode", mode.to_string()),
        ("n", opts.n.to_string()),
        ("sessions", opts.sessions.to_string()),
        ("batch", opts.batch.to_string()),
        ("role", role.to_string()),
        ("claimed", claimed.to_string()),
        ("unique", unique.len().to_string()),
        ("completed", completed.to_string()),
        ("claim_calls", claims.to_string()),
        ("per_session", per_session.join("/")),
        ("elapsed_ms", f1(elapsed_ms)),
        ("per_s", f1(rate)),
    ];
    let rec: BTreeMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
    let line: Vec<String> = rec.iter().map(|(k, v)| format!("{k}={v}")).collect();
    println!("RESULT {}", line.join(" "));
    Ok(rec)
}

// ---------------------------------------------------------------------------------------------
// summarize and tables

fn summarize(files: &[String]) -> Res<()> {
    if files.is_empty() {
        return Err("summarize needs result files".into());
    }
    let mut groups: BTreeMap<(String, String, String), Vec<BTreeMap<String, String>>> = BTreeMap::new();
    for file in files {
        let mut run: Vec<BTreeMap<String, String>> = Vec::new();
        for line in std::fs::read_to_string(file)?.lines() {
            let Some(rest) = line.strip_prefix("RESULT ") else { continue };
            run.push(
                rest.split_whitespace()
                    .filter_map(|kv| kv.split_once('='))
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            );
        }
        // workflow_scheduler / peer within each run (one file), then the median of those.
        add_ratios(&mut run);
        for rec in run {
            let field = |k: &str| rec.get(k).cloned().unwrap_or_default();
            let key = (field("mode"), field("system"), field("role"));
            groups.entry(key).or_default().push(rec);
        }
    }
    let mut medians = Vec::new();
    let mut runs = 0;
    for recs in groups.values() {
        runs = runs.max(recs.len());
        let mut out = recs[0].clone();
        for key in ["elapsed_ms", "per_s", "ratio"] {
            let mut nums: Vec<f64> = recs.iter().filter_map(|r| r.get(key)?.parse().ok()).collect();
            if nums.is_empty() {
                continue;
            }
            nums.sort_by(|a, b| a.total_cmp(b));
            let m = nums.len();
            let median = if m == 0 {
                f64::NAN
            } else if m % 2 == 1 {
                nums[m / 2]
            } else {
                (nums[m / 2 - 1] + nums[m / 2]) / 2.0
            };
            out.insert(key.to_string(), if key == "ratio" { format!("{median:.2}") } else { f1(median) });
            let all: Vec<String> = recs.iter().filter_map(|r| r.get(key).cloned()).collect();
            out.insert(format!("{key}_runs"), all.join("/"));
        }
        // Complete only if every run was.
        let all_complete = recs.iter().all(|r| r.get("unique") == r.get("n") && r.get("completed") == r.get("n"));
        out.insert("all_complete".to_string(), all_complete.to_string());
        medians.push(out);
    }
    for rec in &medians {
        let line: Vec<String> = rec.iter().map(|(k, v)| format!("{k}={v}")).collect();
        println!("MEDIAN {}", line.join(" "));
    }
    println!();
    render(&medians, runs);
    Ok(())
}

/// Gives each workflow_scheduler record of one run its rate relative to the peer's in the same
/// mode and role, as `ratio`.
fn add_ratios(run: &mut [BTreeMap<String, String>]) {
    let peers: Vec<(String, f64)> = run
        .iter()
        .filter(|r| get(r, "system") == "peer")
        .map(|r| (format!("{}/{}", get(r, "mode"), get(r, "role")), num(r, "per_s")))
        .collect();
    for r in run.iter_mut().filter(|r| get(r, "system") == "ws") {
        let key = format!("{}/{}", get(r, "mode"), get(r, "role"));
        if let Some((_, peer)) = peers.iter().find(|(k, _)| *k == key) {
            let ratio = num(r, "per_s") / peer;
            r.insert("ratio".to_string(), format!("{ratio:.2}"));
        }
    }
}

fn get<'a>(rec: &'a BTreeMap<String, String>, key: &str) -> &'a str {
    rec.get(key).map_or("-", String::as_str)
}

fn num(rec: &BTreeMap<String, String>, key: &str) -> f64 {
    rec.get(key).and_then(|v| v.parse().ok()).unwrap_or(f64::NAN)
}

fn with_runs(rec: &BTreeMap<String, String>, key: &str) -> String {
    match rec.get(&format!("{key}_runs")) {
        Some(all) if all.contains('/') => format!("{} ({all})", get(rec, key)),
        _ => get(rec, key).to_string(),
    }
}

fn render(records: &[BTreeMap<String, String>], runs: usize) {
    let suffix = if runs > 1 { format!(" (median of {runs} runs; each run in parentheses)") } else { String::new() };
    println!("### Claim + complete: N triggered executions, concurrent engine sessions{suffix}\n");
    println!("| mode | system | role | N | sessions | batch | claimed (unique) | completed | elapsed (ms) | executions/s | ws / peer, same run |");
    println!("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut sorted: Vec<&BTreeMap<String, String>> = records.iter().collect();
    sorted.sort_by(|a, b| {
        get(a, "role")
            .cmp(get(b, "role"))
            .then(get(a, "mode").cmp(get(b, "mode")))
            .then(get(b, "system").cmp(get(a, "system")))
    });
    for r in &sorted {
        let ratio = if get(r, "system") == "ws" { with_runs(r, "ratio") } else { "-".to_string() };
        println!(
            "| {} | {} | {} | {} | {} | {} | {} ({}) | {} | {} | {} | {} |",
            get(r, "mode"),
            if get(r, "system") == "ws" {
                "workflow_scheduler `execution_claim` + `execution_complete`"
            } else {
                "plain `UPDATE ... SKIP LOCKED` on a copy"
            },
            get(r, "role"),
            get(r, "n"),
            get(r, "sessions"),
            get(r, "batch"),
            get(r, "claimed"),
            get(r, "unique"),
            get(r, "completed"),
            with_runs(r, "elapsed_ms"),
            with_runs(r, "per_s"),
            ratio
        );
    }
    println!();
    for r in sorted.iter().filter(|r| get(r, "system") == "ws") {
        let x = num(r, "per_s");
        println!(
            "Target >= 5,000 executions/s ({} mode, {} sessions as {}): {x:.0}/s, {}",
            get(r, "mode"),
            get(r, "sessions"),
            get(r, "role"),
            if x >= 5000.0 { "met" } else { "MISSED" }
        );
    }
}
