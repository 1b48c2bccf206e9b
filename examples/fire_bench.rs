//! Firing benchmark: workflow_scheduler against hand-written set-based SQL, pg_cron, APScheduler
//! and pgAgent, in the same cluster and the same run.
//!
//! bench/fire_bench.sh starts the cluster and runs this; by hand:
//!
//!   fire_bench run SOCKET_DIR PORT DATABASE
//!              [--phases ws-burst,sql-ref,cron-burst,aps-burst,pgagent-burst,steady,steady-after-burst]
//!              [--burst-sizes 1000,10000,100000] [--peer-burst-sizes 1000,10000]
//!              [--pgagent-burst-sizes 1000] [--steady 1000:1,1000000:1000] [--after-burst 100000]
//!              [--warm 5] [--window 30] [--samples-dir DIR] [--ws-settings 'name=value,...']
//!              [--peers-dir bench/peers] [--pgagent-log FILE] [--dump DIR]
//!   fire_bench summarize RESULT_FILE...       (medians over several runs)
//!
//! Phases:
//! - ws-burst N: N one-time schedules due at the same instant T. Created with
//!   `schedule_add_many` when the installed extension has it, else with `schedule_add` in one
//!   transaction up to N = 10,000 and, above that, inserted directly into `workflow_schedules`
//!   (`schedule_add` is too slow for 100,000 within a short lead). Delay = receipt -
//!   `scheduled_for` (= T); drain = last receipt - T.
//! - sql-ref N: the reference, hand-written set-based SQL on plain tables in schema `bench_ref`
//!   shaped like the extension's: N one-time rows due at T; from T a client loop runs one CTE
//!   per batch (claim 1,000 FOR UPDATE SKIP LOCKED, insert the executions with trigger data of
//!   the extension's shape, advance the schedules, pg_notify each payload), one commit per
//!   batch, until a batch claims nothing. Measured like ws-burst.
//! - cron-burst N: N pg_cron jobs `* * * * *` running `SELECT pg_notify('pgcron_bench', '<i>')`,
//!   created before a minute boundary B. Delay = receipt - B; drain = last receipt - B.
//!   The jobs are unscheduled as soon as every notification has arrived (before B + 60 s); the
//!   channel is then watched past B + 60 s, and runs pg_cron still starts are counted.
//! - aps-burst N / pgagent-burst N: the peers in bench/peers/ (apscheduler_peer.py, run by
//!   $PEER_PYTHON or python3; pgagent_peer.sh): N jobs each sending pg_notify(channel, '<i>') at
//!   one instant; delay = receipt - that instant.
//! - steady C:I: C interval schedules of I seconds whose grid anchors are spread uniformly over I,
//!   so C / I fire per second. Inserted directly into `workflow_schedules` with one
//!   generate_series INSERT (anchor_at and next_execution_at computed in SQL): `schedule_add`
//!   anchors every row of one transaction at the same now(). After `--warm` seconds of firing,
//!   fires due in the next `--window` seconds are measured; the worker's CPU (utime + stime) over
//!   the window and its /proc/<pid>/status every 5 s.
//! - steady-after-burst: with the largest steady set firing, `--after-burst` one-time schedules
//!   fall due at one instant; the burst's drain, then the steady fires due in the `--window`
//!   seconds after it drained, and the worker's CPU over that window.
//!
//! Between phases the schedules and executions are removed with TRUNCATE (no dead rows for the
//! next phase's claims to walk, so no VACUUM is needed), and the tables are ANALYZEd after
//! each bulk insert.
//!
//! Server and client share the machine clock, so receipt - due instant is a true delay.
//! Every wait is bounded. Output: markdown tables plus `RESULT key=value ...` lines; with
//! `--samples-dir`, one CSV of delays per (kind, scheduler, N) for the charts.

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use chrono::{DateTime, SecondsFormat, SubsecRound, TimeZone, Utc};
use postgres::fallible_iterator::FallibleIterator;
use postgres::{Client, NoTls};
use serde_json::Value;

type Error = Box<dyn std::error::Error + Send + Sync>;
type Res<T> = Result<T, Error>;

const WS_CHANNEL: &str = "workflow_scheduler";
const CRON_CHANNEL: &str = "pgcron_bench";
const SQL_REF_CHANNEL: &str = "sql_reference";
const APS_CHANNEL: &str = "apscheduler_bench";
const PGAGENT_CHANNEL: &str = "pgagent_bench";

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let outcome = match args.get(1).map(String::as_str) {
        Some("run") => run(&args[2..]),
        Some("summarize") => summarize(&args[2..]),
        _ => Err("usage: fire_bench run SOCKET_DIR PORT DATABASE [options] | fire_bench summarize FILE...".into()),
    };
    if let Err(err) = outcome {
        eprintln!("fire_bench: {err}");
        std::process::exit(1);
    }
}

// ---------------------------------------------------------------------------------------------
// Connections and helpers

#[derive(Clone)]
struct Target {
    host: String,
    port: u16,
    db: String,
}

impl Target {
    fn connect(&self) -> Res<Client> {
        Ok(postgres::Config::new()
            .host_path(&self.host)
            .port(self.port)
            .user("postgres")
            .dbname(&self.db)
            .application_name("fire_bench")
            .connect(NoTls)?)
    }
}

fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn from_epoch(secs: f64) -> DateTime<Utc> {
    Utc.timestamp_micros((secs * 1e6).round() as i64).single().unwrap_or_default()
}

fn ms_between(later: DateTime<Utc>, earlier: DateTime<Utc>) -> f64 {
    (later - earlier).num_microseconds().unwrap_or(i64::MAX) as f64 / 1000.0
}

/// Sleeps until `t` (wall clock), never more than `cap`.
fn sleep_until(t: DateTime<Utc>, cap: Duration) {
    if let Ok(left) = (t - Utc::now()).to_std() {
        thread::sleep(left.min(cap));
    }
}

fn log(msg: impl AsRef<str>) {
    eprintln!("[{}] {}", Utc::now().format("%H:%M:%S%.3f"), msg.as_ref());
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Removes every workflow_scheduler schedule and execution (leftovers of an earlier phase).
/// TRUNCATE rather than UPDATE or DELETE: no dead rows for the next phase's claims to walk.
fn clear_ws(ctl: &mut Client) -> Res<()> {
    ctl.batch_execute(
        "TRUNCATE workflow_scheduler.workflow_schedule_executions, workflow_scheduler.workflow_schedules;
         ANALYZE workflow_scheduler.workflow_schedules",
    )?;
    Ok(())
}

fn worker_pid(ctl: &mut Client) -> Res<Option<i32>> {
    let row =
        ctl.query_opt("SELECT pid FROM pg_stat_activity WHERE backend_type = 'workflow_scheduler' LIMIT 1", &[])?;
    Ok(row.map(|r| r.get(0)))
}

/// Waits (bounded) until the worker runs and the extension is visible to it.
fn wait_for_worker(ctl: &mut Client) -> Res<i32> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(pid) = worker_pid(ctl)? {
            return Ok(pid);
        }
        if Instant::now() > deadline {
            return Err("the workflow_scheduler worker is not running (pg_stat_activity)".into());
        }
        thread::sleep(Duration::from_millis(200));
    }
}

#[derive(Clone, Copy, Default, Debug)]
struct Mem {
    vm_rss_kb: u64,
    rss_anon_kb: u64,
    rss_file_kb: u64,
    rss_shmem_kb: u64,
    vm_hwm_kb: u64,
}

fn read_mem(pid: i32) -> Res<Mem> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let mut mem = Mem::default();
    for line in status.lines() {
        let mut parts = line.split_whitespace();
        let (Some(key), Some(value)) = (parts.next(), parts.next()) else { continue };
        let value: u64 = value.parse().unwrap_or(0);
        match key {
            "VmRSS:" => mem.vm_rss_kb = value,
            "RssAnon:" => mem.rss_anon_kb = value,
            "RssFile:" => mem.rss_file_kb = value,
            "RssShmem:" => mem.rss_shmem_kb = value,
            "VmHWM:" => mem.vm_hwm_kb = value,
            _ => {}
        }
    }
    Ok(mem)
}

/// CPU seconds (user + system) a process has used, from /proc/<pid>/stat (USER_HZ = 100).
fn read_cpu_s(pid: i32) -> Res<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let after_comm = stat.rsplit_once(')').ok_or("bad /proc stat")?.1;
    let fields: Vec<&str> = after_comm.split_whitespace().collect();
    let ticks: u64 = fields.get(11).ok_or("bad /proc stat")?.parse::<u64>()?
        + fields.get(12).ok_or("bad /proc stat")?.parse::<u64>()?;
    Ok(ticks as f64 / 100.0)
}

// ---------------------------------------------------------------------------------------------
// The LISTEN client: a dedicated thread and connection that timestamps each notification.

struct Receipt {
    at: DateTime<Utc>,
    payload: String,
}

struct Listener {
    handle: JoinHandle<Res<Vec<Receipt>>>,
    matched: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl Listener {
    /// Starts listening; returns once LISTEN is active. The thread ends when `expected`
    /// matching notifications arrived (0: never), at `deadline`, or when stopped.
    fn start(
        target: &Target,
        channel: &str,
        expected: usize,
        deadline: Instant,
        matcher: Box<dyn Fn(&str) -> bool + Send>,
    ) -> Res<Listener> {
        let mut client = target.connect()?;
        client.batch_execute(&format!("LISTEN \"{channel}\""))?;
        let matched = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (ready_tx, ready_rx) = mpsc::channel::<()>();
        let handle = {
            let matched = Arc::clone(&matched);
            let stop = Arc::clone(&stop);
            thread::spawn(move || -> Res<Vec<Receipt>> {
                let _ = ready_tx.send(());
                let mut receipts = Vec::with_capacity(expected.max(4096));
                let mut count = 0usize;
                let done = |count: usize| expected > 0 && count >= expected;
                'outer: loop {
                    let now = Instant::now();
                    if done(count) || now >= deadline || stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let wait = (deadline - now).min(Duration::from_millis(100));
                    let mut notifications = client.notifications();
                    let mut iter = notifications.timeout_iter(wait);
                    while let Some(note) = iter.next()? {
                        let at = Utc::now();
                        if matcher(note.payload()) {
                            count += 1;
                            matched.store(count, Ordering::Relaxed);
                        }
                        receipts.push(Receipt { at, payload: note.payload().to_string() });
                        if done(count) || stop.load(Ordering::Relaxed) || Instant::now() >= deadline {
                            break 'outer;
                        }
                    }
                }
                Ok(receipts)
            })
        };
        ready_rx.recv_timeout(Duration::from_secs(10))?;
        Ok(Listener { handle, matched, stop })
    }

    fn matched(&self) -> usize {
        self.matched.load(Ordering::Relaxed)
    }

    fn finish(self) -> Res<Vec<Receipt>> {
        self.handle.join().map_err(|_| "listener thread panicked")?
    }

    fn stop_and_finish(self) -> Res<Vec<Receipt>> {
        self.stop.store(true, Ordering::Relaxed);
        self.finish()
    }
}

// ---------------------------------------------------------------------------------------------
// Results: one `RESULT k=v ...` line each; the tables are rendered from these, so `summarize`
// renders medians over runs the same way.

type Record = BTreeMap<String, String>;

fn record(pairs: &[(&str, String)]) -> Record {
    pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
}

fn emit(rec: &Record) {
    let line: Vec<String> = rec.iter().map(|(k, v)| format!("{k}={v}")).collect();
    println!("RESULT {}", line.join(" "));
}

/// The fields every burst result line has, for either scheduler.
#[allow(clippy::too_many_arguments)]
fn burst_fields(
    kind: &str,
    sched: &str,
    n: usize,
    received: usize,
    unique: usize,
    dups: usize,
    drain_ms: f64,
    d: &Delays,
    setup_ms: f64,
) -> Vec<(&'static str, String)> {
    let fires_per_s = if received == n { n as f64 / (drain_ms / 1000.0) } else { f64::NAN };
    vec![
        ("kind", kind.to_string()),
        ("sched", sched.to_string()),
        ("n", n.to_string()),
        ("received", received.to_string()),
        ("unique", unique.to_string()),
        ("dups", dups.to_string()),
        ("drain_ms", f1(drain_ms)),
        ("fires_per_s", f1(fires_per_s)),
        ("first_ms", f1(d.min())),
        ("p50_ms", f1(d.p(50.0))),
        ("p99_ms", f1(d.p(99.0))),
        ("max_ms", f1(d.max())),
        ("setup_ms", f1(setup_ms)),
    ]
}

fn f1(x: f64) -> String {
    if x.is_nan() {
        "nan".into()
    } else {
        format!("{x:.1}")
    }
}

struct Delays {
    sorted: Vec<f64>,
}

impl Delays {
    fn new(mut v: Vec<f64>) -> Delays {
        v.sort_by(|a, b| a.total_cmp(b));
        Delays { sorted: v }
    }
    fn p(&self, p: f64) -> f64 {
        percentile(&self.sorted, p)
    }
    fn min(&self) -> f64 {
        self.sorted.first().copied().unwrap_or(f64::NAN)
    }
    fn max(&self) -> f64 {
        self.sorted.last().copied().unwrap_or(f64::NAN)
    }
}

/// The notifications of one burst due at `due`: `key` names the fire a payload belongs to (None:
/// not this burst's).
struct BurstStats {
    received: usize,
    unique: usize,
    dups: usize,
    drain_ms: f64,
    /// In order of receipt, for the sample files.
    raw: Vec<f64>,
    delays: Delays,
}

fn burst_stats(receipts: &[Receipt], due: DateTime<Utc>, key: impl Fn(&str) -> Option<String>) -> BurstStats {
    let mut raw = Vec::with_capacity(receipts.len());
    let mut seen = HashSet::with_capacity(receipts.len());
    let mut dups = 0usize;
    let mut last = due;
    for r in receipts {
        let Some(k) = key(&r.payload) else { continue };
        if !seen.insert(k) {
            dups += 1;
        }
        raw.push(ms_between(r.at, due));
        last = last.max(r.at);
    }
    BurstStats {
        received: raw.len(),
        unique: seen.len(),
        dups,
        drain_ms: ms_between(last, due),
        delays: Delays::new(raw.clone()),
        raw,
    }
}

/// Key of a trigger-data payload (the extension's or sql_reference's) scheduled for `due`.
fn json_key_at(due: DateTime<Utc>, field: &'static str) -> impl Fn(&str) -> Option<String> {
    move |payload: &str| {
        let v = serde_json::from_str::<Value>(payload).ok()?;
        let sf = v["scheduled_for"].as_str().and_then(|s| DateTime::parse_from_rfc3339(s).ok())?;
        (sf.with_timezone(&Utc) == due).then(|| v[field].as_str().unwrap_or_default().to_string())
    }
}

/// Key of a peer's payload `<i>`, i in 0..=n (the peers number from 0 or 1).
fn index_key(n: usize) -> impl Fn(&str) -> Option<String> + Clone {
    move |payload: &str| payload.parse::<usize>().ok().filter(|i| *i <= n).map(|i| i.to_string())
}

// ---------------------------------------------------------------------------------------------
// run

struct Options {
    phases: Vec<String>,
    burst_sizes: Vec<usize>,
    peer_burst_sizes: Vec<usize>,
    pgagent_burst_sizes: Vec<usize>,
    steady: Vec<(usize, i32)>,
    after_burst: usize,
    warm_s: i64,
    window_s: i64,
    /// Directory for per-fire CSV dumps (scheduled_for, receipt delay), if set.
    dump_dir: Option<String>,
    /// One CSV of delays per (kind, scheduler, N), for bench/charts.py.
    samples_dir: Option<String>,
    ws_settings: Vec<(String, String)>,
    peers_dir: String,
    pgagent_log: Option<String>,
}

fn sizes(value: &str) -> Res<Vec<usize>> {
    Ok(value.split(',').filter(|s| !s.is_empty()).map(str::parse).collect::<Result<Vec<usize>, _>>()?)
}

fn parse_options(rest: &[String]) -> Res<Options> {
    let mut opts = Options {
        phases: ["ws-burst", "sql-ref", "cron-burst", "aps-burst", "pgagent-burst", "steady", "steady-after-burst"]
            .map(str::to_string)
            .to_vec(),
        burst_sizes: vec![1_000, 10_000, 100_000],
        peer_burst_sizes: vec![1_000, 10_000],
        pgagent_burst_sizes: vec![1_000],
        steady: vec![(1_000, 1), (1_000_000, 1_000)],
        after_burst: 100_000,
        warm_s: 5,
        window_s: 30,
        dump_dir: None,
        samples_dir: None,
        ws_settings: Vec::new(),
        peers_dir: "bench/peers".into(),
        pgagent_log: None,
    };
    let mut it = rest.iter();
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--phases" => opts.phases = value.split(',').map(str::to_string).collect(),
            "--burst-sizes" => opts.burst_sizes = sizes(value)?,
            "--peer-burst-sizes" => opts.peer_burst_sizes = sizes(value)?,
            "--pgagent-burst-sizes" => opts.pgagent_burst_sizes = sizes(value)?,
            "--steady" => {
                opts.steady = value
                    .split(',')
                    .map(|pair| -> Res<(usize, i32)> {
                        let (c, i) = pair.split_once(':').ok_or("--steady wants COUNT:INTERVAL_S,...")?;
                        Ok((c.parse()?, i.parse()?))
                    })
                    .collect::<Res<_>>()?
            }
            "--after-burst" => opts.after_burst = value.parse()?,
            "--warm" => opts.warm_s = value.parse()?,
            "--window" => opts.window_s = value.parse()?,
            "--dump" => opts.dump_dir = Some(value.clone()),
            "--samples-dir" => opts.samples_dir = Some(value.clone()),
            "--ws-settings" => {
                opts.ws_settings = value
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(|pair| -> Res<(String, String)> {
                        let (k, v) = pair.split_once('=').ok_or("--ws-settings wants name=value,...")?;
                        let k = k.trim();
                        let valid = k.starts_with("workflow_scheduler.")
                            && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
                        if !valid {
                            return Err(format!("--ws-settings: {k} is not a workflow_scheduler.* setting").into());
                        }
                        Ok((k.to_string(), v.trim().to_string()))
                    })
                    .collect::<Res<_>>()?
            }
            "--peers-dir" => opts.peers_dir = value.clone(),
            "--pgagent-log" => opts.pgagent_log = Some(value.clone()),
            other => return Err(format!("unknown option {other}").into()),
        }
    }
    const KNOWN: [&str; 7] =
        ["ws-burst", "sql-ref", "cron-burst", "aps-burst", "pgagent-burst", "steady", "steady-after-burst"];
    if let Some(bad) = opts.phases.iter().find(|p| !KNOWN.contains(&p.as_str())) {
        return Err(format!("unknown phase {bad} (known: {})", KNOWN.join(",")).into());
    }
    Ok(opts)
}

/// The scheduler's name in tables and sample files.
fn sched_name(sched: &str) -> &str {
    match sched {
        "ws" => "workflow_scheduler",
        other => other,
    }
}

/// Writes one sample file `DIR/<kind>_<scheduler>_<n>.csv`: header `delay_ms`, one row per
/// notification received, in order of receipt.
fn write_samples(dir: Option<&str>, kind: &str, sched: &str, n: usize, delays: &[f64]) -> Res<()> {
    let Some(dir) = dir else { return Ok(()) };
    std::fs::create_dir_all(dir)?;
    let mut csv = String::with_capacity(delays.len() * 10 + 16);
    csv.push_str("delay_ms\n");
    for d in delays {
        csv.push_str(&format!("{d:.3}\n"));
    }
    std::fs::write(format!("{dir}/{kind}_{}_{n}.csv", sched_name(sched)), csv)?;
    Ok(())
}

fn apply_ws_settings(ctl: &mut Client, settings: &[(String, String)]) -> Res<()> {
    if settings.is_empty() {
        return Ok(());
    }
    for (name, value) in settings {
        let quoted = value.replace('\'', "''");
        ctl.batch_execute(&format!("ALTER SYSTEM SET {name} = '{quoted}'"))?;
    }
    ctl.batch_execute("SELECT pg_reload_conf()")?;
    // The worker rereads its settings on SIGHUP, between passes.
    thread::sleep(Duration::from_secs(1));
    for (name, value) in settings {
        let now: String = ctl.query_one("SELECT current_setting($1)", &[name])?.get(0);
        log(format!("--ws-settings: {name} = {value} (server now reports {now})"));
    }
    Ok(())
}

fn run(args: &[String]) -> Res<()> {
    let [host, port, db, rest @ ..] = args else {
        return Err("run needs SOCKET_DIR PORT DATABASE".into());
    };
    let target = Target { host: host.clone(), port: port.parse()?, db: db.clone() };
    let opts = parse_options(rest)?;
    let mut ctl = target.connect()?;
    let pid = wait_for_worker(&mut ctl)?;
    log(format!("workflow_scheduler worker pid {pid}"));
    apply_ws_settings(&mut ctl, &opts.ws_settings)?;
    let settings: Vec<String> = ctl
        .query(
            "SELECT name || '=' || setting FROM pg_settings
              WHERE name LIKE 'workflow\\_scheduler.%'
                 OR name IN ('log_min_messages', 'max_worker_processes', 'cron.use_background_workers',
                             'cron.host', 'cron.max_running_jobs', 'cron.log_run', 'cron.log_statement',
                             'shared_preload_libraries', 'server_version')
              ORDER BY name",
            &[],
        )?
        .iter()
        .map(|r| r.get(0))
        .collect();
    log(format!("settings: {}", settings.join(" ")));
    println!("# settings: {}", settings.join(" "));

    let mut records = Vec::new();
    let phase = |name: &str| opts.phases.iter().any(|p| p == name);
    let samples = opts.samples_dir.as_deref();
    let mut walls: Vec<(String, f64)> = Vec::new();
    let mut timed = |name: &str, started: Instant| {
        let s = started.elapsed().as_secs_f64();
        log(format!("phase {name}: {s:.1} s wall"));
        walls.push((name.to_string(), s));
    };

    if phase("ws-burst") {
        let started = Instant::now();
        for &n in &opts.burst_sizes {
            let rec = ws_burst(&target, &mut ctl, n, samples)?;
            emit(&rec);
            records.push(rec);
        }
        timed("ws-burst", started);
    }
    if phase("sql-ref") {
        let started = Instant::now();
        for &n in &opts.burst_sizes {
            let rec = sql_ref_burst(&target, &mut ctl, n, samples)?;
            emit(&rec);
            records.push(rec);
        }
        timed("sql-ref", started);
    }
    if phase("cron-burst") {
        let started = Instant::now();
        for &n in &opts.peer_burst_sizes {
            for attempt in 1..=2 {
                let rec = cron_burst(&target, &mut ctl, n, samples)?;
                emit(&rec);
                let valid = get(&rec, "kind") == "burst";
                if valid || attempt == 2 {
                    records.push(rec);
                    break;
                }
                log(format!(
                    "cron-burst N={n}: pg_cron did not run every job at the boundary; repeating the phase once"
                ));
                println!("NOTE: pg_cron attempt {attempt} at N={n} was invalid (see the burst_invalid RESULT line); repeated");
            }
        }
        timed("cron-burst", started);
    }
    // A peer that is missing or fails costs its own rows only, not the rest of the run.
    let peer_failed = |name: &str, err: Error| {
        log(format!("{name} failed: {err}"));
        println!("NOTE: phase {name} failed: {err}");
    };
    if phase("aps-burst") {
        let started = Instant::now();
        let script = format!("{}/apscheduler_peer.py", opts.peers_dir);
        if std::path::Path::new(&script).exists() {
            for &n in &opts.peer_burst_sizes {
                match aps_burst(&target, &mut ctl, &opts.peers_dir, n, samples) {
                    Ok(rec) => {
                        emit(&rec);
                        records.push(rec);
                    }
                    Err(err) => peer_failed("aps-burst", err),
                }
            }
        } else {
            peer_failed("aps-burst", format!("{script} does not exist").into());
        }
        timed("aps-burst", started);
    }
    if phase("pgagent-burst") {
        let started = Instant::now();
        let logfile = opts.pgagent_log.clone().unwrap_or_else(|| format!("{host}/pgagent.log"));
        let peer = PgAgent { script: format!("{}/pgagent_peer.sh", opts.peers_dir), target: target.clone() };
        clear_ws(&mut ctl)?;
        let outcome = (|| -> Res<()> {
            if !std::path::Path::new(&peer.script).exists() {
                return Err(format!("{} does not exist", peer.script).into());
            }
            peer.call(&["start"], &[logfile.as_str()])?;
            let bursts = (|| -> Res<()> {
                for &n in &opts.pgagent_burst_sizes {
                    let rec = pgagent_burst(&target, &peer, n, samples)?;
                    emit(&rec);
                    records.push(rec);
                }
                Ok(())
            })();
            let stopped = peer.call(&["stop"], &[]);
            // With the daemon gone its connections are free: remove any jobs a failed clear left.
            let cleared = peer.call(&["clear"], &[]);
            bursts.and(stopped).and(cleared).map(|_| ())
        })();
        if let Err(err) = outcome {
            peer_failed("pgagent-burst", err);
        }
        timed("pgagent-burst", started);
    }
    if phase("steady") {
        let started = Instant::now();
        for &(count, interval) in &opts.steady {
            let rec = steady(&target, &mut ctl, count, interval, &opts, samples)?;
            emit(&rec);
            records.push(rec);
        }
        timed("steady", started);
    }
    if phase("steady-after-burst") {
        let started = Instant::now();
        let &(count, interval) =
            opts.steady.iter().max_by_key(|(c, _)| *c).ok_or("steady-after-burst needs a --steady set")?;
        let rec = steady_after_burst(&target, &mut ctl, count, interval, &opts, samples)?;
        emit(&rec);
        records.push(rec);
        timed("steady-after-burst", started);
    }
    clear_ws(&mut ctl)?;
    let pid_end = worker_pid(&mut ctl)?;
    if pid_end != Some(pid) {
        println!("WARNING: the worker pid changed during the run: {pid} -> {pid_end:?} (did it crash?)");
    }
    println!();
    println!(
        "Wall time per phase: {}",
        walls.iter().map(|(n, s)| format!("{n} {s:.0} s")).collect::<Vec<_>>().join(", ")
    );
    for (name, s) in &walls {
        emit(&record(&[("kind", "phase".into()), ("sched", name.clone()), ("n", "0".into()), ("wall_s", f1(*s))]));
    }
    println!();
    render(&records, 1);
    Ok(())
}

/// Executions and batches the worker recorded for one burst, from the tables.
fn ws_server_side(ctl: &mut Client, due: DateTime<Utc>, until: DateTime<Utc>) -> Res<Vec<(&'static str, String)>> {
    let row = ctl.query_one(
        "SELECT count(*), extract(epoch FROM min(triggered_at))::float8, extract(epoch FROM max(triggered_at))::float8
           FROM workflow_scheduler.workflow_schedule_executions
          WHERE scheduled_for = $1::text::timestamptz AND status = 'triggered'",
        &[&iso(due)],
    )?;
    let executions: i64 = row.get(0);
    let first_pass: Option<f64> = row.get(1);
    let last_pass: Option<f64> = row.get(2);
    let batches = ctl.query(
        "SELECT extract(epoch FROM logged_at)::float8, (details->>'claimed')::int
           FROM workflow_scheduler.audit_log
          WHERE action = 'scheduler_job_executed'
            AND logged_at >= $1::text::timestamptz AND logged_at <= $2::text::timestamptz
          ORDER BY logged_at",
        &[&iso(due - chrono::Duration::milliseconds(500)), &iso(until)],
    )?;
    let commits: Vec<f64> = batches.iter().map(|r| r.get(0)).collect();
    let claimed: i64 = batches.iter().map(|r| i64::from(r.get::<_, i32>(1))).sum();
    let ms = |t: Option<f64>| t.map_or(f64::NAN, |t| ms_between(from_epoch(t), due));
    Ok(vec![
        ("srv_executions", executions.to_string()),
        ("srv_first_pass_ms", f1(ms(first_pass))),
        ("srv_last_pass_ms", f1(ms(last_pass))),
        ("srv_batches", commits.len().to_string()),
        ("srv_claimed", claimed.to_string()),
        ("srv_last_batch_logged_ms", f1(ms(commits.last().copied()))),
    ])
}

/// How ws-burst creates its schedules (see the header).
#[derive(Clone, Copy, PartialEq)]
enum Create {
    AddMany,
    Add,
    Insert,
}

impl Create {
    fn choose(ctl: &mut Client, n: usize) -> Res<Create> {
        let many: bool = ctl
            .query_one(
                "SELECT to_regprocedure('workflow_scheduler.schedule_add_many(uuid[], jsonb[], bigint, bigint, jsonb[])') IS NOT NULL",
                &[],
            )?
            .get(0);
        // Another branch adds it: use it only if a call of the expected shape works.
        let usable = many
            && ctl
                .execute(
                    "SELECT workflow_scheduler.schedule_add_many('{}'::uuid[], '{}'::jsonb[], 1, 1, '{}'::jsonb[])",
                    &[],
                )
                .map_err(|err| log(format!("schedule_add_many is installed but not usable here: {err}")))
                .is_ok();
        Ok(if usable {
            Create::AddMany
        } else if n <= 10_000 {
            Create::Add
        } else {
            Create::Insert
        })
    }
    fn name(self) -> &'static str {
        match self {
            Create::AddMany => "schedule_add_many",
            Create::Add => "schedule_add",
            Create::Insert => "insert",
        }
    }
    /// Time to allow for creating n schedules before they fall due.
    fn lead(self, n: usize) -> Duration {
        match self {
            Create::Add => Duration::from_millis(3_000 + n as u64 / 2),
            Create::AddMany | Create::Insert => Duration::from_millis(3_000 + n as u64 / 10),
        }
    }
    /// Creates n one-time schedules due at `due` in one transaction; returns how many exist.
    fn create(self, ctl: &mut Client, n: usize, due: DateTime<Utc>) -> Res<i64> {
        let due_str = iso(due);
        let n32 = n as i32;
        match self {
            Create::AddMany => {
                ctl.execute(
                    "SELECT workflow_scheduler.schedule_add_many(
                         array(SELECT gen_random_uuid() FROM generate_series(1, $2::int)),
                         array_fill(jsonb_build_object('schedule_type', 'one_time', 'scheduled_time', $1::text), ARRAY[$2::int]),
                         1, 1,
                         array_fill('{}'::jsonb, ARRAY[$2::int]))",
                    &[&due_str, &n32],
                )?;
            }
            Create::Add => {
                ctl.execute(
                    "SELECT count(*) FROM (
                        SELECT workflow_scheduler.schedule_add(
                                   gen_random_uuid(),
                                   jsonb_build_object('schedule_type', 'one_time', 'scheduled_time', $1::text),
                                   1, 1)
                          FROM generate_series(1, $2::int)) s",
                    &[&due_str, &n32],
                )?;
            }
            Create::Insert => {
                ctl.execute(
                    "INSERT INTO workflow_scheduler.workflow_schedules
                         (workflow_id, schedule_type, scheduled_time, timezone, next_execution_at,
                          is_active, community_id, created_by, updated_by)
                     SELECT gen_random_uuid(), 'one_time', $1::text::timestamptz, 'UTC', $1::text::timestamptz,
                            true, 1, 1, 1
                       FROM generate_series(1, $2::int)",
                    &[&due_str, &n32],
                )?;
            }
        }
        Ok(ctl
            .query_one(
                "SELECT count(*) FROM workflow_scheduler.workflow_schedules
                  WHERE is_active AND schedule_type = 'one_time' AND next_execution_at = $1::text::timestamptz",
                &[&due_str],
            )?
            .get(0))
    }
}

fn ws_burst(target: &Target, ctl: &mut Client, n: usize, samples: Option<&str>) -> Res<Record> {
    clear_ws(ctl)?;
    let pid = wait_for_worker(ctl)?;
    let method = Create::choose(ctl, n)?;
    let lead = method.lead(n);
    let due = (Utc::now() + lead).trunc_subsecs(3);
    let due_str = iso(due);
    let matcher = Box::new(move |payload: &str| json_key_at(due, "schedule_id")(payload).is_some());
    let listener = Listener::start(target, WS_CHANNEL, n, Instant::now() + lead + Duration::from_secs(120), matcher)?;
    let mut cpu_before = None;

    let started = Instant::now();
    let created = method.create(ctl, n, due)?;
    if n > 10_000 {
        ctl.batch_execute("ANALYZE workflow_scheduler.workflow_schedules")?;
    }
    let setup_ms = started.elapsed().as_secs_f64() * 1000.0;
    let margin_ms = ms_between(due, Utc::now());
    log(format!(
        "ws-burst N={n}: {created} schedules created ({}) in {setup_ms:.0} ms, due {due_str} ({margin_ms:.0} ms from now)",
        method.name()
    ));
    if created != n as i64 {
        return Err(format!("ws-burst N={n}: {created} schedules due at {due_str}, not {n}").into());
    }
    if margin_ms < 200.0 {
        return Err(
            format!("setup of ws-burst N={n} ended {margin_ms:.0} ms before the due instant; raise the lead").into()
        );
    }
    // The worker's CPU from just before the due instant to the end of the drain.
    sleep_until(due - chrono::Duration::milliseconds(100), Duration::from_secs(60));
    if listener.matched() == 0 {
        cpu_before = read_cpu_s(pid).ok();
    }
    let receipts = listener.finish()?;
    let worker_cpu_ms = match (cpu_before, read_cpu_s(pid).ok()) {
        (Some(a), Some(b)) => (b - a) * 1000.0,
        _ => f64::NAN,
    };
    let mem = read_mem(pid).unwrap_or_default();

    let st = burst_stats(&receipts, due, json_key_at(due, "schedule_id"));
    write_samples(samples, "burst", "ws", n, &st.raw)?;
    let last = due + chrono::Duration::microseconds((st.drain_ms * 1000.0) as i64);
    let mut pairs = burst_fields("burst", "ws", n, st.received, st.unique, st.dups, st.drain_ms, &st.delays, setup_ms);
    pairs.extend([
        ("create", method.name().to_string()),
        ("worker_cpu_ms", f1(worker_cpu_ms)),
        ("rss_kb", mem.vm_rss_kb.to_string()),
        ("rss_anon_kb", mem.rss_anon_kb.to_string()),
    ]);
    pairs.extend(ws_server_side(ctl, due, last + chrono::Duration::seconds(1))?);
    log(format!("ws-burst N={n}: received {}/{n}, drain {:.0} ms", st.received, st.drain_ms));
    Ok(record(&pairs))
}

/// The reference: plain tables shaped like the extension's, fired by one set-based statement
/// per batch of 1,000 from a client loop.
const SQL_REF_SCHEMA: &str = "
CREATE SCHEMA IF NOT EXISTS bench_ref;
CREATE TABLE IF NOT EXISTS bench_ref.schedules (
    id                bigserial PRIMARY KEY,
    schedule_id       uuid NOT NULL UNIQUE DEFAULT gen_random_uuid(),
    workflow_id       uuid NOT NULL,
    is_active         boolean NOT NULL DEFAULT true,
    next_execution_at timestamptz,
    execution_count   integer NOT NULL DEFAULT 0,
    last_execution_at timestamptz,
    last_execution_id uuid,
    community_id      bigint,
    updated_at        timestamptz NOT NULL DEFAULT now(),
    context_data      jsonb NOT NULL DEFAULT '{}');
CREATE INDEX IF NOT EXISTS schedules_due_idx ON bench_ref.schedules (next_execution_at) WHERE is_active;
CREATE TABLE IF NOT EXISTS bench_ref.executions (
    execution_id  uuid PRIMARY KEY,
    schedule_id   uuid NOT NULL REFERENCES bench_ref.schedules (schedule_id),
    workflow_id   uuid NOT NULL,
    scheduled_for timestamptz NOT NULL,
    triggered_at  timestamptz NOT NULL,
    status        text NOT NULL,
    trigger_data  jsonb NOT NULL,
    UNIQUE (schedule_id, scheduled_for));";

/// One batch: claim, insert the executions, advance the schedules, notify; returns how many
/// it claimed. The trigger data has the extension's keys and timestamp format.
const SQL_REF_FIRE: &str = "
WITH claimed AS (
    SELECT id, schedule_id, workflow_id, community_id, next_execution_at, context_data,
           gen_random_uuid() AS execution_id, now() AS triggered_at
      FROM bench_ref.schedules
     WHERE is_active AND next_execution_at <= now()
     ORDER BY next_execution_at
     LIMIT 1000
       FOR UPDATE SKIP LOCKED),
inserted AS (
    INSERT INTO bench_ref.executions
        (execution_id, schedule_id, workflow_id, scheduled_for, triggered_at, status, trigger_data)
    SELECT c.execution_id, c.schedule_id, c.workflow_id, c.next_execution_at, c.triggered_at, 'triggered',
           jsonb_build_object(
               'schedule_id', c.schedule_id,
               'execution_id', c.execution_id,
               'triggered_at', to_char(c.triggered_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'),
               'workflow_id', c.workflow_id,
               'scheduled_for', to_char(c.next_execution_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'),
               'community_id', c.community_id,
               'trigger_kind', 'scheduled') || c.context_data
      FROM claimed c
    RETURNING trigger_data),
advanced AS (
    UPDATE bench_ref.schedules s
       SET is_active = false, next_execution_at = NULL, execution_count = s.execution_count + 1,
           last_execution_at = c.triggered_at, last_execution_id = c.execution_id, updated_at = c.triggered_at
      FROM claimed c
     WHERE s.id = c.id)
SELECT count(pg_notify('sql_reference', i.trigger_data::text))::int FROM inserted i";

fn sql_ref_burst(target: &Target, ctl: &mut Client, n: usize, samples: Option<&str>) -> Res<Record> {
    clear_ws(ctl)?;
    ctl.batch_execute(SQL_REF_SCHEMA)?;
    ctl.batch_execute("TRUNCATE bench_ref.executions, bench_ref.schedules")?;
    let lead = Duration::from_millis(3_000 + n as u64 / 10);
    let due = (Utc::now() + lead).trunc_subsecs(3);
    let due_str = iso(due);
    let matcher = Box::new(move |payload: &str| json_key_at(due, "schedule_id")(payload).is_some());
    let listener =
        Listener::start(target, SQL_REF_CHANNEL, n, Instant::now() + lead + Duration::from_secs(120), matcher)?;
    let started = Instant::now();
    let created = ctl.execute(
        "INSERT INTO bench_ref.schedules (workflow_id, next_execution_at, community_id)
         SELECT gen_random_uuid(), $1::text::timestamptz, 1 FROM generate_series(1, $2::int)",
        &[&due_str, &(n as i32)],
    )?;
    ctl.batch_execute("ANALYZE bench_ref.schedules")?;
    let fire = ctl.prepare(SQL_REF_FIRE)?;
    let setup_ms = started.elapsed().as_secs_f64() * 1000.0;
    let margin_ms = ms_between(due, Utc::now());
    log(format!(
        "sql-ref N={n}: {created} rows inserted in {setup_ms:.0} ms, due {due_str} ({margin_ms:.0} ms from now)"
    ));
    if margin_ms < 200.0 {
        return Err(format!("setup of sql-ref N={n} ended {margin_ms:.0} ms before the due instant").into());
    }
    sleep_until(due, Duration::from_secs(60));
    // Autocommit: one transaction, so one commit, per statement, i.e. per batch.
    let mut batches = 0usize;
    let mut claimed_total = 0i64;
    loop {
        let claimed: i32 = ctl.query_one(&fire, &[])?.get(0);
        if claimed == 0 {
            break;
        }
        batches += 1;
        claimed_total += i64::from(claimed);
    }
    let loop_ms = ms_between(Utc::now(), due);
    let receipts = listener.finish()?;
    let st = burst_stats(&receipts, due, json_key_at(due, "schedule_id"));
    write_samples(samples, "burst", "sql_reference", n, &st.raw)?;
    let executions: i64 = ctl
        .query_one(
            "SELECT count(*) FROM bench_ref.executions WHERE scheduled_for = $1::text::timestamptz",
            &[&due_str],
        )?
        .get(0);
    let mut pairs =
        burst_fields("burst", "sql_reference", n, st.received, st.unique, st.dups, st.drain_ms, &st.delays, setup_ms);
    pairs.extend([
        ("srv_executions", executions.to_string()),
        ("srv_batches", batches.to_string()),
        ("srv_claimed", claimed_total.to_string()),
        ("client_loop_ms", f1(loop_ms)),
    ]);
    log(format!("sql-ref N={n}: received {}/{n}, drain {:.0} ms, {batches} batches", st.received, st.drain_ms));
    Ok(record(&pairs))
}

fn unschedule_cron(ctl: &mut Client) -> Res<i64> {
    Ok(ctl.query_one("SELECT count(cron.unschedule(jobid)) FROM cron.job WHERE jobname LIKE 'fb\\_%'", &[])?.get(0))
}

fn cron_burst(target: &Target, ctl: &mut Client, n: usize, samples: Option<&str>) -> Res<Record> {
    clear_ws(ctl)?;
    let leftover = unschedule_cron(ctl)?;
    if leftover > 0 {
        log(format!("cron-burst N={n}: {leftover} leftover jobs unscheduled"));
    }
    // The next minute boundary with enough time before it to create the jobs; if it is too
    // close, let it pass first so no job can fire at it.
    let lead = chrono::Duration::milliseconds(4_000 + n as i64 * 3 / 10);
    let next_minute =
        |t: DateTime<Utc>| Utc.timestamp_opt((t.timestamp().div_euclid(60) + 1) * 60, 0).single().unwrap_or(t);
    let mut boundary = next_minute(Utc::now());
    if boundary - Utc::now() < lead {
        log(format!("cron-burst N={n}: waiting for {} to pass", boundary.format("%H:%M:%S")));
        sleep_until(boundary + chrono::Duration::milliseconds(1_500), Duration::from_secs(70));
        boundary = next_minute(Utc::now());
    }
    let matcher = Box::new(move |payload: &str| payload.parse::<usize>().is_ok_and(|i| (1..=n).contains(&i)));
    let until_boundary = (boundary - Utc::now()).to_std().unwrap_or_default();
    let listener =
        Listener::start(target, CRON_CHANNEL, n, Instant::now() + until_boundary + Duration::from_secs(115), matcher)?;
    let started = Instant::now();
    let created: i64 = ctl
        .query_one(
            "SELECT count(cron.schedule('fb_' || i, '* * * * *',
                                        format('SELECT pg_notify(%L, %L)', 'pgcron_bench', i::text)))
               FROM generate_series(1, $1::int) i",
            &[&(n as i32)],
        )?
        .get(0);
    let setup_ms = started.elapsed().as_secs_f64() * 1000.0;
    let margin_ms = ms_between(boundary, Utc::now());
    log(format!(
        "cron-burst N={n}: {created} jobs scheduled in {setup_ms:.0} ms, minute boundary {} ({margin_ms:.0} ms from now)",
        iso(boundary)
    ));
    if margin_ms < 500.0 {
        unschedule_cron(ctl)?;
        return Err(format!("setup of cron-burst N={n} ended {margin_ms:.0} ms before the boundary").into());
    }
    // Unschedule as soon as everything arrived, and in any case before the next boundary.
    let unschedule_at = boundary + chrono::Duration::seconds(50);
    while listener.matched() < n && Utc::now() < unschedule_at {
        thread::sleep(Duration::from_millis(100));
    }
    let removed = unschedule_cron(ctl)?;
    let unscheduled_ms = ms_between(Utc::now(), boundary);
    log(format!("cron-burst N={n}: {removed} jobs unscheduled at boundary + {unscheduled_ms:.0} ms"));
    let grace = Instant::now() + Duration::from_secs(15);
    while listener.matched() < n && Instant::now() < grace {
        thread::sleep(Duration::from_millis(100));
    }
    let receipts = listener.stop_and_finish()?;
    let unscheduled_at = Utc::now();

    // pg_cron may still start unscheduled jobs at the next minute boundary (seen with 10,000
    // jobs: thousands ran again). Watch the channel past that boundary, so they are counted
    // and do not run into the next phase.
    let next_boundary = boundary + chrono::Duration::seconds(60);
    let watcher = Listener::start(
        target,
        CRON_CHANNEL,
        0,
        Instant::now() + (next_boundary + chrono::Duration::seconds(90) - Utc::now()).to_std().unwrap_or_default(),
        Box::new(|_| true),
    )?;
    sleep_until(next_boundary + chrono::Duration::seconds(5), Duration::from_secs(70));
    let mut last_count = usize::MAX;
    while watcher.matched() != last_count && Utc::now() < next_boundary + chrono::Duration::seconds(90) {
        last_count = watcher.matched();
        thread::sleep(Duration::from_secs(3));
    }
    let zombies = watcher.stop_and_finish()?.len();
    let zombie_runs: i64 = ctl
        .query_one(
            "SELECT count(*) FROM cron.job_run_details
              WHERE command LIKE 'SELECT pg_notify(''pgcron_bench''%' AND start_time > $1::text::timestamptz",
            &[&iso(unscheduled_at)],
        )?
        .get(0);
    if zombies > 0 || zombie_runs > 0 {
        log(format!(
            "cron-burst N={n}: after cron.unschedule, pg_cron still started {zombie_runs} runs (job_run_details) and {zombies} notifications arrived, at the next minute boundary"
        ));
    }

    let st = burst_stats(&receipts, boundary, |p: &str| {
        p.parse::<usize>().ok().filter(|i| (1..=n).contains(i)).map(|i| i.to_string())
    });
    let (received, dups, drain_ms) = (st.received, st.dups, st.drain_ms);
    let srv = ctl.query_one(
        "SELECT count(*), count(*) FILTER (WHERE status = 'succeeded'),
                extract(epoch FROM min(start_time))::float8, extract(epoch FROM max(end_time))::float8
           FROM cron.job_run_details
          WHERE command LIKE 'SELECT pg_notify(''pgcron_bench''%'
            AND start_time >= $1::text::timestamptz AND start_time < $2::text::timestamptz",
        &[&iso(boundary - chrono::Duration::seconds(5)), &iso(unscheduled_at)],
    )?;
    let runs: i64 = srv.get(0);
    let succeeded: i64 = srv.get(1);
    let first_start: Option<f64> = srv.get(2);
    let last_end: Option<f64> = srv.get(3);
    let ms = |t: Option<f64>| t.map_or(f64::NAN, |t| ms_between(from_epoch(t), boundary));
    // Valid only if every job ran for this minute boundary (pg_cron sometimes picks up a bulk
    // cron.schedule late and skips the minute; then the phase is repeated).
    let valid = received == n && dups == 0 && drain_ms < 60_000.0;
    log(format!(
        "cron-burst N={n}: received {received}/{n}, drain {drain_ms:.0} ms{}",
        if valid { "" } else { " (INVALID)" }
    ));
    let kind = if valid { "burst" } else { "burst_invalid" };
    if valid {
        write_samples(samples, "burst", "pg_cron", n, &st.raw)?;
    }
    let mut pairs = burst_fields(kind, "pg_cron", n, received, st.unique, dups, drain_ms, &st.delays, setup_ms);
    pairs.extend([
        ("srv_runs", runs.to_string()),
        ("srv_succeeded", succeeded.to_string()),
        ("srv_first_start_ms", f1(ms(first_start))),
        ("srv_last_end_ms", f1(ms(last_end))),
        ("runs_after_unschedule", zombie_runs.to_string()),
        ("notifications_after_unschedule", zombies.to_string()),
    ]);
    Ok(record(&pairs))
}

/// Reads a child's stdout lines into a channel, so every wait on it can be bounded.
fn line_reader(stdout: std::process::ChildStdout) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Waits (bounded) for a line starting with `prefix`; other lines are logged.
fn wait_line(rx: &mpsc::Receiver<String>, prefix: &str, until: Instant, who: &str) -> Option<String> {
    loop {
        let left = until.checked_duration_since(Instant::now())?;
        match rx.recv_timeout(left) {
            Ok(line) if line.starts_with(prefix) => return Some(line),
            Ok(line) => log(format!("{who}: {line}")),
            Err(_) => return None,
        }
    }
}

fn peer_dsn(target: &Target) -> String {
    format!("host={} port={} dbname={} user=postgres", target.host, target.port, target.db)
}

/// The fields of a peer's burst that are common to APScheduler and pgAgent.
fn peer_record(
    sched: &str,
    n: usize,
    receipts: &[Receipt],
    due: DateTime<Utc>,
    setup_ms: f64,
    samples: Option<&str>,
) -> Res<Vec<(&'static str, String)>> {
    let st = burst_stats(receipts, due, index_key(n));
    // Complete: n distinct fires arrived (the peers number jobs from 0 or from 1).
    let complete = st.unique >= n;
    let kind = if complete { "burst" } else { "burst_incomplete" };
    write_samples(samples, "burst", sched, n, &st.raw)?;
    log(format!("{sched} N={n}: received {}/{n} ({} distinct), drain {:.0} ms", st.received, st.unique, st.drain_ms));
    let received = if complete { n } else { st.unique };
    Ok(burst_fields(kind, sched, n, received, st.unique, st.dups, st.drain_ms, &st.delays, setup_ms))
}

fn aps_burst(target: &Target, ctl: &mut Client, peers_dir: &str, n: usize, samples: Option<&str>) -> Res<Record> {
    clear_ws(ctl)?;
    let python = std::env::var("PEER_PYTHON").unwrap_or_else(|_| "python3".into());
    let script = format!("{peers_dir}/apscheduler_peer.py");
    // Adding the jobs, the interpreter's start and the scheduler's: a few seconds, more for 10,000.
    let lead = chrono::Duration::milliseconds(5_000 + n as i64);
    let due = (Utc::now() + lead).trunc_subsecs(0) + chrono::Duration::seconds(1);
    let drain_cap = Duration::from_secs(60) + Duration::from_millis(n as u64 * 20);
    let listen_for = (due - Utc::now()).to_std().unwrap_or_default() + drain_cap;
    let listener = Listener::start(
        target,
        APS_CHANNEL,
        n,
        Instant::now() + listen_for,
        Box::new(move |p: &str| index_key(n)(p).is_some()),
    )?;
    let started = Instant::now();
    let mut child = std::process::Command::new(&python)
        .arg(&script)
        .args(["burst", "--dsn", &peer_dsn(target), "--channel", APS_CHANNEL, "--count", &n.to_string()])
        .args(["--at", &due.timestamp().to_string()])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("{python} {script}: {e}"))?;
    let lines = line_reader(child.stdout.take().ok_or("no stdout")?);
    let ready =
        wait_line(&lines, "ready", Instant::now() + (due - Utc::now()).to_std().unwrap_or_default(), "apscheduler");
    let setup_ms = started.elapsed().as_secs_f64() * 1000.0;
    let margin_ms = ms_between(due, Utc::now());
    log(format!(
        "aps-burst N={n}: ready={} after {setup_ms:.0} ms, due {} ({margin_ms:.0} ms from now)",
        ready.is_some(),
        iso(due)
    ));
    let done = wait_line(&lines, "done", Instant::now() + listen_for + Duration::from_secs(10), "apscheduler");
    // The last notifications may still be on their way when the peer reports `done`.
    let grace = Instant::now() + Duration::from_secs(5);
    while listener.matched() < n && Instant::now() < grace {
        thread::sleep(Duration::from_millis(20));
    }
    let receipts = listener.stop_and_finish()?;
    if done.is_none() {
        let _ = child.kill();
    }
    let status = child.wait()?;
    let mut pairs = peer_record("apscheduler", n, &receipts, due, setup_ms, samples)?;
    if ready.is_none() || margin_ms < 0.0 {
        // Jobs added after their instant would fire late for reasons of setup, not of firing.
        pairs[0].1 = "burst_invalid".into();
        log(format!("aps-burst N={n}: not ready before the due instant; recorded as burst_invalid"));
    }
    let field = |line: &Option<String>, key: &str| {
        line.as_deref()
            .and_then(|l| l.split_whitespace().find_map(|kv| kv.strip_prefix(key)))
            .unwrap_or("-")
            .to_string()
    };
    pairs.extend([
        ("peer_fired", field(&done, "fired=")),
        ("peer_errors", field(&done, "errors=")),
        ("peer_exit", status.code().map_or("signal".into(), |c| c.to_string())),
    ]);
    Ok(record(&pairs))
}

/// bench/peers/pgagent_peer.sh, called with the cluster's SOCKET_DIR PORT DB.
struct PgAgent {
    script: String,
    target: Target,
}

impl PgAgent {
    fn call(&self, cmd: &[&str], extra: &[&str]) -> Res<String> {
        let t = &self.target;
        let out = std::process::Command::new("bash")
            .arg(&self.script)
            .args(cmd)
            .args([t.host.as_str(), &t.port.to_string(), t.db.as_str()])
            .args(extra)
            .stderr(std::process::Stdio::inherit())
            .output()
            .map_err(|e| format!("bash {}: {e}", self.script))?;
        if !out.status.success() {
            return Err(format!("{} {} failed: {}", self.script, cmd.join(" "), out.status).into());
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    }
}

fn pgagent_burst(target: &Target, peer: &PgAgent, n: usize, samples: Option<&str>) -> Res<Record> {
    // The peer picks the minute boundary; listen before it creates the jobs.
    let listener = Listener::start(
        target,
        PGAGENT_CHANNEL,
        n,
        Instant::now() + Duration::from_secs(240),
        Box::new(move |p: &str| index_key(n)(p).is_some()),
    )?;
    let started = Instant::now();
    let out = peer.call(&["burst"], &[PGAGENT_CHANNEL, n.to_string().as_str()]);
    let out = match out {
        Ok(out) => out,
        Err(err) => {
            let _ = listener.stop_and_finish();
            let _ = peer.call(&["clear"], &[]);
            return Err(err);
        }
    };
    let setup_ms = started.elapsed().as_secs_f64() * 1000.0;
    let boundary_s: i64 = out
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .ok_or_else(|| format!("pgagent_peer.sh burst printed {out:?}, not an epoch"))?;
    let due = Utc.timestamp_opt(boundary_s, 0).single().ok_or("bad epoch")?;
    log(format!(
        "pgagent-burst N={n}: jobs created in {setup_ms:.0} ms, due {} ({:.0} ms from now)",
        iso(due),
        ms_between(due, Utc::now())
    ));
    // Clear before the next minute boundary could run the jobs again, then allow a grace period.
    let clear_at = due + chrono::Duration::seconds(55);
    while listener.matched() < n && Utc::now() < clear_at {
        thread::sleep(Duration::from_millis(100));
    }
    // pgAgent may hold every connection slot (it opens one or two per running job), so clear
    // is retried; if it still fails, the phase's end clears again after `stop`.
    let mut cleared = false;
    for attempt in 1..=5 {
        match peer.call(&["clear"], &[]) {
            Ok(_) => {
                cleared = true;
                break;
            }
            Err(err) => log(format!("pgagent-burst N={n}: clear attempt {attempt}: {err}")),
        }
        thread::sleep(Duration::from_secs(2));
    }
    let grace = Instant::now() + Duration::from_secs(15);
    while listener.matched() < n && Instant::now() < grace {
        thread::sleep(Duration::from_millis(100));
    }
    let receipts = listener.stop_and_finish()?;
    let mut pairs = peer_record("pgagent", n, &receipts, due, setup_ms, samples)?;
    pairs.push(("cleared_ms", if cleared { f1(ms_between(Utc::now(), due)) } else { "failed".into() }));
    Ok(record(&pairs))
}

/// Inserts `count` interval schedules of `interval_s`, anchors spread uniformly so the first
/// fires from `first` on, one every interval_s / count; ANALYZEs. Returns the rows inserted.
fn insert_steady(ctl: &mut Client, count: usize, interval_s: i32, first: DateTime<Utc>) -> Res<u64> {
    let spacing_ms = f64::from(interval_s) * 1000.0 / count as f64;
    let inserted = ctl.execute(
        "INSERT INTO workflow_scheduler.workflow_schedules
             (workflow_id, schedule_type, interval_seconds, timezone, anchor_at, next_execution_at,
              is_active, community_id, created_by, updated_by)
         SELECT gen_random_uuid(), 'interval', $2::int, 'UTC',
                t.first - make_interval(secs => $2::int), t.first, true, 1, 1, 1
           FROM (SELECT $1::text::timestamptz + ((i - 1) * $4::float8) * interval '1 millisecond' AS first
                   FROM generate_series(1, $3::int) i) t",
        &[&iso(first), &interval_s, &(count as i32), &spacing_ms],
    )?;
    ctl.batch_execute("ANALYZE workflow_scheduler.workflow_schedules")?;
    Ok(inserted)
}

/// What the steady fires due in [start, end) did: their delays, in order of receipt.
struct SteadyStats {
    received: usize,
    dups: usize,
    raw: Vec<f64>,
    delays: Delays,
}

fn steady_stats(
    receipts: &[Receipt],
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    skip: Option<DateTime<Utc>>,
    mut csv: Option<&mut String>,
) -> SteadyStats {
    let mut raw = Vec::new();
    let mut seen = HashSet::new();
    let mut dups = 0usize;
    for r in receipts {
        let Ok(v) = serde_json::from_str::<Value>(&r.payload) else { continue };
        let Some(sf) = v["scheduled_for"].as_str().and_then(|s| DateTime::parse_from_rfc3339(s).ok()) else { continue };
        let sf = sf.with_timezone(&Utc);
        if sf < start || sf >= end || Some(sf) == skip {
            continue;
        }
        if !seen.insert(v["execution_id"].as_str().unwrap_or_default().to_string()) {
            dups += 1;
        }
        raw.push(ms_between(r.at, sf));
        if let Some(csv) = csv.as_deref_mut() {
            csv.push_str(&format!("{},{:.3}\n", iso(sf), ms_between(r.at, sf)));
        }
    }
    SteadyStats { received: raw.len(), dups, delays: Delays::new(raw.clone()), raw }
}

/// Server-side figures of a steady window: executions and the worker's batches.
fn steady_server_side(
    ctl: &mut Client,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    skip: Option<DateTime<Utc>>,
) -> Res<Vec<(&'static str, String)>> {
    let skip = skip.map(iso).unwrap_or_else(|| "-infinity".into());
    let srv = ctl.query_one(
        "SELECT count(*) FILTER (WHERE status = 'triggered'), count(*) FILTER (WHERE status = 'missed'),
                coalesce(max(coalesced), 0)
           FROM workflow_scheduler.workflow_schedule_executions
          WHERE scheduled_for >= $1::text::timestamptz AND scheduled_for < $2::text::timestamptz
            AND scheduled_for <> $3::text::timestamptz",
        &[&iso(start), &iso(end), &skip],
    )?;
    let batches = ctl.query_one(
        "SELECT count(*), coalesce(avg((details->>'claimed')::int), 0)::float8,
                coalesce(max((details->>'claimed')::int), 0)
           FROM workflow_scheduler.audit_log
          WHERE action = 'scheduler_job_executed'
            AND logged_at >= $1::text::timestamptz AND logged_at < $2::text::timestamptz",
        &[&iso(start), &iso(end)],
    )?;
    Ok(vec![
        ("srv_triggered", srv.get::<_, i64>(0).to_string()),
        ("srv_missed", srv.get::<_, i64>(1).to_string()),
        ("srv_max_coalesced", srv.get::<_, i32>(2).to_string()),
        ("srv_batches", batches.get::<_, i64>(0).to_string()),
        ("srv_avg_claimed", f1(batches.get::<_, f64>(1))),
        ("srv_max_claimed", batches.get::<_, i32>(2).to_string()),
    ])
}

/// Samples the worker's memory every 5 s until `end`; returns the samples and its CPU as % of
/// one core over [now, end].
fn watch_worker(pid: i32, end: DateTime<Utc>) -> Res<(Vec<Mem>, f64)> {
    let cpu_start = read_cpu_s(pid)?;
    let t0 = Instant::now();
    let mut samples = Vec::new();
    while Utc::now() < end {
        samples.push(read_mem(pid)?);
        sleep_until(end.min(Utc::now() + chrono::Duration::seconds(5)), Duration::from_secs(6));
    }
    samples.push(read_mem(pid)?);
    let cpu_pct = (read_cpu_s(pid)? - cpu_start) * 100.0 / t0.elapsed().as_secs_f64();
    Ok((samples, cpu_pct))
}

fn mem_fields(idle: Mem, samples: &[Mem]) -> Vec<(&'static str, String)> {
    let last = samples.last().copied().unwrap_or_default();
    let max_anon = samples.iter().map(|m| m.rss_anon_kb).max().unwrap_or(0);
    vec![
        ("idle_rss_kb", idle.vm_rss_kb.to_string()),
        ("idle_rss_anon_kb", idle.rss_anon_kb.to_string()),
        ("rss_kb", last.vm_rss_kb.to_string()),
        ("rss_anon_kb", last.rss_anon_kb.to_string()),
        ("rss_file_kb", last.rss_file_kb.to_string()),
        ("rss_shmem_kb", last.rss_shmem_kb.to_string()),
        ("vm_hwm_kb", last.vm_hwm_kb.to_string()),
        ("max_rss_anon_kb", max_anon.to_string()),
    ]
}

fn steady(
    target: &Target,
    ctl: &mut Client,
    count: usize,
    interval_s: i32,
    opts: &Options,
    samples: Option<&str>,
) -> Res<Record> {
    let (warm_s, window_s) = (opts.warm_s, opts.window_s);
    clear_ws(ctl)?;
    let pid = wait_for_worker(ctl)?;
    thread::sleep(Duration::from_secs(2));
    let idle = read_mem(pid)?;

    // Inserting 1,000,000 rows with their indexes takes 20 to 35 s here; if the insert outlasts
    // the lead (a busy machine), the phase starts over once with twice the lead.
    let mut attempt = 1;
    let (listener, window_start, window_end, setup_ms) = loop {
        let lead = chrono::Duration::milliseconds((4_000 + count as i64 / 25) * attempt);
        let first = (Utc::now() + lead).trunc_subsecs(3);
        let window_start = first + chrono::Duration::seconds(warm_s);
        let window_end = window_start + chrono::Duration::seconds(window_s);
        let listen_for = (window_end + chrono::Duration::seconds(5) - Utc::now()).to_std()?;
        let listener = Listener::start(target, WS_CHANNEL, 0, Instant::now() + listen_for, Box::new(|_| true))?;

        // Direct INSERT (see the header): anchors spread uniformly over one interval.
        let started = Instant::now();
        let inserted = insert_steady(ctl, count, interval_s, first)?;
        let setup_ms = started.elapsed().as_secs_f64() * 1000.0;
        let margin_ms = ms_between(first, Utc::now());
        log(format!(
            "steady C={count} I={interval_s}s: {inserted} rows inserted in {setup_ms:.0} ms; first due {} ({margin_ms:.0} ms from now), window {}..{}",
            iso(first),
            window_start.format("%H:%M:%S"),
            window_end.format("%H:%M:%S")
        ));
        if margin_ms >= 200.0 {
            break (listener, window_start, window_end, setup_ms);
        }
        listener.stop_and_finish()?;
        if attempt == 2 {
            return Err(format!("setup of steady C={count} ended {margin_ms:.0} ms before the first fire").into());
        }
        log(format!("steady C={count}: the insert outlasted the lead; starting over with twice the lead"));
        clear_ws(ctl)?;
        attempt += 1;
    };

    sleep_until(window_start, Duration::from_secs(120));
    let (mem_samples, worker_cpu_pct) = watch_worker(pid, window_end)?;
    let receipts = listener.finish()?;

    let mut csv = opts.dump_dir.as_ref().map(|_| String::from("scheduled_for,delay_ms\n"));
    let st = steady_stats(&receipts, window_start, window_end, None, csv.as_mut());
    if let (Some(dir), Some(csv)) = (&opts.dump_dir, csv) {
        std::fs::write(format!("{dir}/steady-{count}.csv"), csv)?;
    }
    write_samples(samples, "steady", "ws", count, &st.raw)?;
    let expected = count as f64 * window_s as f64 / f64::from(interval_s);
    let anon_series: Vec<String> = mem_samples.iter().map(|m| m.rss_anon_kb.to_string()).collect();
    log(format!(
        "steady C={count}: received {} of ~{expected:.0} fires in the window; worker CPU {worker_cpu_pct:.1}%; RssAnon samples (kB) {}",
        st.received,
        anon_series.join(",")
    ));
    let mut pairs = vec![
        ("kind", "steady".to_string()),
        ("sched", "ws".to_string()),
        ("n", count.to_string()),
        ("interval_s", interval_s.to_string()),
        ("rate_per_s", f1(count as f64 / f64::from(interval_s))),
        ("window_s", window_s.to_string()),
        ("expected", format!("{expected:.0}")),
        ("received", st.received.to_string()),
        ("dups", st.dups.to_string()),
        ("p50_ms", f1(st.delays.p(50.0))),
        ("p99_ms", f1(st.delays.p(99.0))),
        ("max_ms", f1(st.delays.max())),
        ("setup_ms", f1(setup_ms)),
        ("worker_cpu_pct", f1(worker_cpu_pct)),
    ];
    pairs.extend(steady_server_side(ctl, window_start, window_end, None)?);
    pairs.extend(mem_fields(idle, &mem_samples));
    Ok(record(&pairs))
}

/// The largest steady set firing, then `opts.after_burst` one-time schedules due at one instant
/// T: the burst's drain, and the steady fires due in the window that starts when it drained.
fn steady_after_burst(
    target: &Target,
    ctl: &mut Client,
    count: usize,
    interval_s: i32,
    opts: &Options,
    samples: Option<&str>,
) -> Res<Record> {
    let (warm_s, window_s, burst_n) = (opts.warm_s, opts.window_s, opts.after_burst);
    clear_ws(ctl)?;
    let pid = wait_for_worker(ctl)?;
    thread::sleep(Duration::from_secs(2));
    let idle = read_mem(pid)?;

    let first = (Utc::now() + chrono::Duration::milliseconds(4_000 + count as i64 / 25)).trunc_subsecs(3);
    // Generous: the burst's drain is what is measured, and it is bounded below.
    let listen_for =
        (first - Utc::now()).to_std()? + Duration::from_secs(warm_s as u64 + 30 + 120 + window_s as u64 + 5);
    let started = Instant::now();
    let inserted = insert_steady(ctl, count, interval_s, first)?;
    let setup_ms = started.elapsed().as_secs_f64() * 1000.0;
    log(format!("steady-after-burst: {inserted} interval rows of {interval_s} s inserted in {setup_ms:.0} ms"));
    // If the insert outlasted its lead, the overdue fires go first: warm up from the later instant.
    sleep_until(first.max(Utc::now()) + chrono::Duration::seconds(warm_s), Duration::from_secs(120));

    // The burst: created while the steady set fires, due a few seconds after it is in.
    let method = if Create::choose(ctl, burst_n)? == Create::AddMany { Create::AddMany } else { Create::Insert };
    // Half a millisecond off the steady grid (whole milliseconds), so no steady fire shares T.
    let due = (Utc::now() + method.lead(burst_n)).trunc_subsecs(3) + chrono::Duration::microseconds(500);
    let matcher = Box::new(move |payload: &str| json_key_at(due, "schedule_id")(payload).is_some());
    let listener = Listener::start(target, WS_CHANNEL, 0, Instant::now() + listen_for, matcher)?;
    let created = method.create(ctl, burst_n, due)?;
    ctl.batch_execute("ANALYZE workflow_scheduler.workflow_schedules")?;
    let margin_ms = ms_between(due, Utc::now());
    log(format!(
        "steady-after-burst: {created} one-time schedules ({}) due {} ({margin_ms:.0} ms from now)",
        method.name(),
        iso(due)
    ));
    if created != burst_n as i64 || margin_ms < 200.0 {
        let _ = listener.stop_and_finish();
        return Err(format!("steady-after-burst: {created} of {burst_n} created, {margin_ms:.0} ms before due").into());
    }
    sleep_until(due - chrono::Duration::milliseconds(100), Duration::from_secs(60));
    let cpu_burst = read_cpu_s(pid)?;
    let drain_cap = due + chrono::Duration::seconds(120);
    while listener.matched() < burst_n && Utc::now() < drain_cap {
        thread::sleep(Duration::from_millis(10));
    }
    let burst_cpu_ms = (read_cpu_s(pid)? - cpu_burst) * 1000.0;
    // The window starts on the next whole second after the drain.
    let window_start = Utc::now().trunc_subsecs(0) + chrono::Duration::seconds(1);
    let window_end = window_start + chrono::Duration::seconds(window_s);
    sleep_until(window_start, Duration::from_secs(2));
    let (mem_samples, worker_cpu_pct) = watch_worker(pid, window_end)?;
    sleep_until(window_end + chrono::Duration::seconds(2), Duration::from_secs(3));
    let receipts = listener.stop_and_finish()?;

    let b = burst_stats(&receipts, due, json_key_at(due, "schedule_id"));
    write_samples(samples, "burst-during-steady", "ws", burst_n, &b.raw)?;
    let during = steady_stats(&receipts, due, window_start, Some(due), None);
    let st = steady_stats(&receipts, window_start, window_end, Some(due), None);
    write_samples(samples, "steady-after-burst", "ws", count, &st.raw)?;
    let expected = count as f64 * window_s as f64 / f64::from(interval_s);
    log(format!(
        "steady-after-burst: burst {}/{burst_n} drained in {:.0} ms; window after it: {} of ~{expected:.0} fires, p99 {:.1} ms, worker CPU {worker_cpu_pct:.1}%",
        b.received,
        b.drain_ms,
        st.received,
        st.delays.p(99.0)
    ));
    let mut pairs = vec![
        ("kind", "steady_after_burst".to_string()),
        ("sched", "ws".to_string()),
        ("n", count.to_string()),
        ("interval_s", interval_s.to_string()),
        ("rate_per_s", f1(count as f64 / f64::from(interval_s))),
        ("burst_n", burst_n.to_string()),
        ("burst_create", method.name().to_string()),
        ("burst_received", b.received.to_string()),
        ("burst_dups", b.dups.to_string()),
        ("burst_drain_ms", f1(b.drain_ms)),
        ("burst_fires_per_s", f1(if b.received == burst_n { burst_n as f64 * 1000.0 / b.drain_ms } else { f64::NAN })),
        ("burst_worker_cpu_ms", f1(burst_cpu_ms)),
        ("during_received", during.received.to_string()),
        ("during_p99_ms", f1(during.delays.p(99.0))),
        ("during_max_ms", f1(during.delays.max())),
        ("window_s", window_s.to_string()),
        ("expected", format!("{expected:.0}")),
        ("received", st.received.to_string()),
        ("dups", st.dups.to_string()),
        ("p50_ms", f1(st.delays.p(50.0))),
        ("p99_ms", f1(st.delays.p(99.0))),
        ("max_ms", f1(st.delays.max())),
        ("setup_ms", f1(setup_ms)),
        ("worker_cpu_pct", f1(worker_cpu_pct)),
    ];
    pairs.extend(steady_server_side(ctl, window_start, window_end, Some(due))?);
    pairs.extend(mem_fields(idle, &mem_samples));
    Ok(record(&pairs))
}

// ---------------------------------------------------------------------------------------------
// summarize: medians over several runs' RESULT lines

fn summarize(files: &[String]) -> Res<()> {
    if files.is_empty() {
        return Err("summarize needs result files".into());
    }
    let mut groups: BTreeMap<(String, String, u64), Vec<Record>> = BTreeMap::new();
    for file in files {
        for line in std::fs::read_to_string(file)?.lines() {
            let Some(rest) = line.strip_prefix("RESULT ") else { continue };
            let rec: Record = rest
                .split_whitespace()
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            let key = (
                rec.get("kind").cloned().unwrap_or_default(),
                rec.get("sched").cloned().unwrap_or_default(),
                rec.get("n").and_then(|n| n.parse().ok()).unwrap_or(0),
            );
            groups.entry(key).or_default().push(rec);
        }
    }
    let mut medians = Vec::new();
    let mut runs = 0;
    for recs in groups.values() {
        runs = runs.max(recs.len());
        let mut out = Record::new();
        let keys: HashSet<&String> = recs.iter().flat_map(|r| r.keys()).collect();
        for key in keys {
            let values: Vec<&String> = recs.iter().filter_map(|r| r.get(key)).collect();
            let mut nums: Vec<f64> =
                values.iter().filter_map(|v| v.parse::<f64>().ok()).filter(|x| !x.is_nan()).collect();
            let value = if nums.len() == values.len() && !nums.is_empty() {
                nums.sort_by(|a, b| a.total_cmp(b));
                let m = nums.len();
                let median = if m % 2 == 1 { nums[m / 2] } else { (nums[m / 2 - 1] + nums[m / 2]) / 2.0 };
                if values.iter().all(|v| !v.contains('.')) && median.fract() == 0.0 {
                    format!("{median:.0}")
                } else {
                    f1(median)
                }
            } else {
                values.first().map(|v| v.to_string()).unwrap_or_default()
            };
            out.insert(key.clone(), value);
        }
        // Keep every run's value of the headline figures visible next to the median.
        for key in [
            "drain_ms",
            "p50_ms",
            "p99_ms",
            "max_ms",
            "rss_anon_kb",
            "runs_after_unschedule",
            "worker_cpu_pct",
            "burst_drain_ms",
        ] {
            let all: Vec<String> = recs.iter().filter_map(|r| r.get(key).cloned()).collect();
            if all.len() > 1 {
                out.insert(format!("{key}_runs"), all.join("/"));
            }
        }
        medians.push(out);
    }
    for rec in &medians {
        emit(rec);
    }
    println!();
    render(&medians, runs);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Tables

fn get<'a>(rec: &'a Record, key: &str) -> &'a str {
    rec.get(key).map_or("-", String::as_str)
}

fn num(rec: &Record, key: &str) -> f64 {
    rec.get(key).and_then(|v| v.parse().ok()).unwrap_or(f64::NAN)
}

fn with_runs(rec: &Record, key: &str) -> String {
    match rec.get(&format!("{key}_runs")) {
        Some(all) => format!("{} ({all})", get(rec, key)),
        None => get(rec, key).to_string(),
    }
}

fn mib(kb: f64) -> String {
    if kb.is_nan() {
        "-".into()
    } else {
        format!("{:.1} MiB", kb / 1024.0)
    }
}

fn sched_label(sched: &str) -> &str {
    match sched {
        "ws" => "workflow_scheduler",
        "pg_cron" => "pg_cron 1.4.2",
        "sql_reference" => "set-based SQL (reference)",
        "apscheduler" => "APScheduler",
        "pgagent" => "pgAgent",
        other => other,
    }
}

fn sched_order(sched: &str) -> usize {
    ["ws", "sql_reference", "pg_cron", "apscheduler", "pgagent"].iter().position(|s| *s == sched).unwrap_or(9)
}

/// "met, 2.1x margin" / "MISSED by 1.3x": `ratio` is limit / measured for an upper bound (and
/// measured / limit for a lower one), so above 1 is met.
fn verdict(ratio: Option<f64>, ok: Option<bool>) -> String {
    match (ok, ratio) {
        (None, _) => "not measured".into(),
        (Some(true), Some(r)) if r.is_finite() => format!("met, {r:.1}x margin"),
        (Some(true), _) => "met".into(),
        (Some(false), Some(r)) if r.is_finite() && r > 0.0 => format!("MISSED by {:.1}x", 1.0 / r),
        (Some(false), _) => "MISSED".into(),
    }
}

fn render(records: &[Record], runs: usize) {
    let title_suffix =
        if runs > 1 { format!(" (median of {runs} runs; each run in parentheses)") } else { String::new() };
    let by = |kind: &str, sched: &str, n: u64| {
        records.iter().find(|r| get(r, "kind") == kind && get(r, "sched") == sched && num(r, "n") == n as f64)
    };

    let mut bursts: Vec<&Record> =
        records.iter().filter(|r| get(r, "kind") == "burst" || get(r, "kind") == "burst_incomplete").collect();
    bursts.sort_by(|a, b| {
        num(a, "n").total_cmp(&num(b, "n")).then(sched_order(get(a, "sched")).cmp(&sched_order(get(b, "sched"))))
    });
    if !bursts.is_empty() {
        println!("### Burst: N schedules due at the same instant{title_suffix}\n");
        println!("| scheduler | N | received | drain (ms) | fires/s | delay p50 (ms) | p99 (ms) | max (ms) | first (ms) | duplicates |");
        println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        for r in &bursts {
            println!(
                "| {} | {} | {}{} | {} | {} | {} | {} | {} | {} | {} |",
                sched_label(get(r, "sched")),
                get(r, "n"),
                get(r, "received"),
                if get(r, "kind") == "burst_incomplete" { " (incomplete)" } else { "" },
                with_runs(r, "drain_ms"),
                get(r, "fires_per_s"),
                with_runs(r, "p50_ms"),
                with_runs(r, "p99_ms"),
                with_runs(r, "max_ms"),
                get(r, "first_ms"),
                get(r, "dups"),
            );
        }
        println!();
        println!("Server side:\n");
        println!("| scheduler | N | setup (ms) | detail |");
        println!("|---|---:|---:|---|");
        for r in &bursts {
            let detail = match get(r, "sched") {
                "ws" => format!(
                    "created with {}; {} executions; first pass started +{} ms, last pass started +{} ms; {} batches, last batch's audit row +{} ms; worker CPU {} ms",
                    get(r, "create"),
                    get(r, "srv_executions"),
                    get(r, "srv_first_pass_ms"),
                    get(r, "srv_last_pass_ms"),
                    get(r, "srv_batches"),
                    get(r, "srv_last_batch_logged_ms"),
                    get(r, "worker_cpu_ms")
                ),
                "sql_reference" => format!(
                    "{} executions in {} batches (one statement and commit each); client loop ended +{} ms",
                    get(r, "srv_executions"),
                    get(r, "srv_batches"),
                    get(r, "client_loop_ms")
                ),
                "pg_cron" => format!(
                    "{} runs ({} succeeded); first start +{} ms, last end +{} ms; after cron.unschedule: {} more runs, {} more notifications",
                    get(r, "srv_runs"),
                    get(r, "srv_succeeded"),
                    get(r, "srv_first_start_ms"),
                    get(r, "srv_last_end_ms"),
                    with_runs(r, "runs_after_unschedule"),
                    get(r, "notifications_after_unschedule")
                ),
                "apscheduler" => format!(
                    "peer reported fired={} errors={}, exit {}",
                    get(r, "peer_fired"),
                    get(r, "peer_errors"),
                    get(r, "peer_exit")
                ),
                "pgagent" => match get(r, "cleared_ms") {
                    "failed" => "clear failed at first (no free connection slot); cleared after stop".to_string(),
                    ms => format!("jobs cleared +{ms} ms"),
                },
                _ => String::new(),
            };
            println!("| {} | {} | {} | {} |", sched_name(get(r, "sched")), get(r, "n"), get(r, "setup_ms"), detail);
        }
        println!();
    }
    // Ratios, per N, in the same run (or of the medians).
    let mut ns: Vec<u64> = bursts.iter().map(|r| num(r, "n") as u64).collect();
    ns.dedup();
    ns.retain(|&n| by("burst", "ws", n).is_some());
    if !ns.is_empty() {
        println!("Ratios of the figures above: workflow_scheduler fires/s ÷ the reference SQL's; each peer's drain ÷ workflow_scheduler's.\n");
        println!(
            "| N | ws ÷ sql_reference fires/s | pg_cron ÷ ws drain | apscheduler ÷ ws drain | pgagent ÷ ws drain |"
        );
        println!("|---:|---:|---:|---:|---:|");
        for n in ns {
            let Some(w) = by("burst", "ws", n) else { continue };
            // An incomplete peer burst drained in more than its last receipt: a lower bound.
            let ratio = |sched: &str| match (by("burst", sched, n), by("burst_incomplete", sched, n)) {
                (Some(p), _) => format!("{:.1}x", num(p, "drain_ms") / num(w, "drain_ms")),
                (None, Some(p)) => {
                    format!("> {:.1}x ({} of {n} received)", num(p, "drain_ms") / num(w, "drain_ms"), get(p, "unique"))
                }
                (None, None) => "-".to_string(),
            };
            let sql = by("burst", "sql_reference", n)
                .map_or("-".to_string(), |q| format!("{:.0}%", 100.0 * num(w, "fires_per_s") / num(q, "fires_per_s")));
            println!("| {n} | {sql} | {} | {} | {} |", ratio("pg_cron"), ratio("apscheduler"), ratio("pgagent"));
        }
        println!();
    }

    let mut steadies: Vec<&Record> = records.iter().filter(|r| get(r, "kind") == "steady").collect();
    steadies.sort_by(|a, b| num(a, "n").total_cmp(&num(b, "n")));
    if !steadies.is_empty() {
        println!("### Steady state: workflow_scheduler, interval schedules with spread anchors{title_suffix}\n");
        println!("| active schedules | interval | offered fires/s | window | fires received / expected | delay p50 (ms) | p99 (ms) | max (ms) | missed | batches in window (avg/max claimed) | worker CPU (% of one core) |");
        println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        for r in &steadies {
            println!(
                "| {} | {} s | {} | {} s | {} / {} | {} | {} | {} | {} | {} ({}/{}) | {}% |",
                get(r, "n"),
                get(r, "interval_s"),
                get(r, "rate_per_s"),
                get(r, "window_s"),
                get(r, "received"),
                get(r, "expected"),
                with_runs(r, "p50_ms"),
                with_runs(r, "p99_ms"),
                with_runs(r, "max_ms"),
                get(r, "srv_missed"),
                get(r, "srv_batches"),
                get(r, "srv_avg_claimed"),
                get(r, "srv_max_claimed"),
                with_runs(r, "worker_cpu_pct"),
            );
        }
        println!();
    }
    let after: Vec<&Record> = records.iter().filter(|r| get(r, "kind") == "steady_after_burst").collect();
    if !after.is_empty() {
        println!("### Steady state right after a burst{title_suffix}\n");
        println!("The steady set fires; a burst of one-time schedules falls due at one instant; the window starts on the second after it drained.\n");
        println!("| active schedules | offered fires/s | burst N | burst drain (ms) | burst fires/s | steady fires during the burst: p99 / max (ms) | window | received / expected | p50 (ms) | p99 (ms) | max (ms) | missed | worker CPU in window |");
        println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        for r in &after {
            println!(
                "| {} | {} | {} | {} | {} | {} / {} | {} s | {} / {} | {} | {} | {} | {} | {}% |",
                get(r, "n"),
                get(r, "rate_per_s"),
                get(r, "burst_n"),
                with_runs(r, "burst_drain_ms"),
                get(r, "burst_fires_per_s"),
                get(r, "during_p99_ms"),
                get(r, "during_max_ms"),
                get(r, "window_s"),
                get(r, "received"),
                get(r, "expected"),
                with_runs(r, "p50_ms"),
                with_runs(r, "p99_ms"),
                with_runs(r, "max_ms"),
                get(r, "srv_missed"),
                with_runs(r, "worker_cpu_pct"),
            );
        }
        println!();
    }
    let mems: Vec<&Record> = steadies.iter().chain(after.iter()).copied().collect();
    if !mems.is_empty() {
        println!("### Worker memory (/proc/<pid>/status, sampled at the end of the window){title_suffix}\n");
        println!("| phase | active schedules | RssAnon | VmRSS | RssFile | RssShmem | VmHWM | max RssAnon in window | RssAnon idle before |");
        println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        for r in &mems {
            println!(
                "| {} | {} | {}{} | {} | {} | {} | {} | {} | {} |",
                get(r, "kind").replace('_', "-"),
                get(r, "n"),
                mib(num(r, "rss_anon_kb")),
                r.get("rss_anon_kb_runs").map(|s| format!(" ({s} kB)")).unwrap_or_default(),
                mib(num(r, "rss_kb")),
                mib(num(r, "rss_file_kb")),
                mib(num(r, "rss_shmem_kb")),
                mib(num(r, "vm_hwm_kb")),
                mib(num(r, "max_rss_anon_kb")),
                mib(num(r, "idle_rss_anon_kb")),
            );
        }
        println!();
    }

    // Targets of issue 11.
    println!("### Targets (issue 11)\n");
    println!("| target | measured | verdict |");
    println!("|---|---|---|");
    let complete = |r: &Record, n: f64| num(r, "received") >= n;
    let all_in = |r: &Record| num(r, "received") >= num(r, "expected") - 1.0;
    let missing = |ok: bool| if ok { "" } else { " (fires missing!)" };
    for (n, limit_ms) in [(10_000u64, 400.0), (100_000, 5_000.0)] {
        let r = by("burst", "ws", n);
        let d = r.map(|r| num(r, "drain_ms"));
        let ok = r.map(|r| complete(r, n as f64) && num(r, "drain_ms") <= limit_ms);
        println!(
            "| drain {n} simultaneous schedules in <= {limit_ms:.0} ms | {} | {} |",
            r.map_or("-".into(), |r| format!("{:.0} ms{}", num(r, "drain_ms"), missing(complete(r, n as f64)))),
            verdict(d.map(|d| limit_ms / d), ok)
        );
    }
    let steady_row = |label: &str, r: Option<&Record>| {
        let p99 = r.map(|r| num(r, "p99_ms"));
        println!(
            "| {label}: delay p99 <= 5 ms | {} | {} |",
            r.map_or("-".into(), |r| format!(
                "{:.1} ms ({} / {} fires){}",
                num(r, "p99_ms"),
                get(r, "received"),
                get(r, "expected"),
                missing(all_in(r))
            )),
            verdict(p99.map(|p| 5.0 / p), r.map(|r| all_in(r) && num(r, "p99_ms") <= 5.0))
        );
    };
    let s1k = by("steady", "ws", 1_000);
    steady_row("steady 1,000 fires/s, 1,000 schedules", s1k);
    let cpu = s1k.map(|r| num(r, "worker_cpu_pct"));
    println!(
        "| steady 1,000 fires/s, 1,000 schedules: worker <= 25% of one core | {} | {} |",
        cpu.map_or("-".into(), |c| format!("{c:.1}%")),
        verdict(cpu.map(|c| 25.0 / c), cpu.map(|c| c <= 25.0))
    );
    let s1m = by("steady", "ws", 1_000_000);
    steady_row("steady 1,000 fires/s, 1,000,000 schedules", s1m);
    match (s1k, s1m) {
        (Some(a), Some(b)) => {
            let (a_anon, b_anon) = (num(a, "rss_anon_kb"), num(b, "rss_anon_kb"));
            let growth = b_anon - a_anon;
            // "The same": within 10% or 1 MiB, whichever is larger.
            let flat = growth <= (a_anon * 0.10).max(1024.0);
            println!(
                "| worker private memory at 1,000,000 schedules as at 1,000 (RssAnon within max(10%, 1 MiB)) | RssAnon {} -> {} ({:+.0} kB); VmRSS {} -> {} | {} |",
                mib(a_anon),
                mib(b_anon),
                growth,
                mib(num(a, "rss_kb")),
                mib(num(b, "rss_kb")),
                verdict(None, Some(flat))
            );
        }
        _ => println!("| worker private memory at 1,000,000 schedules as at 1,000 | - | not measured |"),
    }
    let ab = after.iter().copied().max_by(|a, b| num(a, "n").total_cmp(&num(b, "n")));
    if let Some(r) = ab {
        steady_row(&format!("steady after a {} burst ({} schedules)", get(r, "burst_n"), get(r, "n")), Some(r));
        let c = num(r, "worker_cpu_pct");
        println!(
            "| steady after a {} burst: worker <= 25% of one core | {c:.1}% | {} |",
            get(r, "burst_n"),
            verdict(Some(25.0 / c), Some(c <= 25.0))
        );
    } else {
        println!("| steady right after a 100,000 burst: delay p99 <= 5 ms | - | not measured |");
    }
    let w10 = by("burst", "ws", 10_000);
    let q10 = by("burst", "sql_reference", 10_000);
    let share = match (w10, q10) {
        (Some(w), Some(q)) => Some(num(w, "fires_per_s") / num(q, "fires_per_s")),
        _ => None,
    };
    println!(
        "| 10,000 burst: firing rate >= 70% of the set-based SQL's | {} | {} |",
        match (w10, q10) {
            (Some(w), Some(q)) => format!(
                "{:.0} vs {:.0} fires/s ({:.0}%)",
                num(w, "fires_per_s"),
                num(q, "fires_per_s"),
                100.0 * share.unwrap_or(f64::NAN)
            ),
            _ => "-".into(),
        },
        verdict(share.map(|x| x / 0.7), share.map(|x| x >= 0.7))
    );
    for peer in ["pg_cron", "apscheduler"] {
        let ratio = match (w10, by("burst", peer, 10_000)) {
            (Some(w), Some(p)) => Some(num(p, "drain_ms") / num(w, "drain_ms")),
            _ => None,
        };
        println!(
            "| 10,000 burst: >= 100x faster than {} (drain) | {} | {} |",
            sched_label(peer),
            ratio.map_or("-".into(), |x| format!("{x:.1}x")),
            verdict(ratio.map(|x| x / 100.0), ratio.map(|x| x >= 100.0))
        );
    }
    println!();
}
