//! HTTP-hook benchmark: the delivery worker end to end, against peers measured in the same run.
//!
//! bench/delivery_bench.sh starts the clusters and runs this; by hand:
//!
//!   delivery_bench run SOCKET_DIR PORT DATABASE [--phases fire-nohook,fire-hook,outbox,pg-net,client-loop,slow,steady]
//!                  [--n 10000] [--slow-n 5000] [--slow-ms 50] [--rate 100] [--warm 5] [--window 30]
//!                  [--loop-threads 16] [--pgnet-batch 200,500]
//!   delivery_bench summarize RESULT_FILE...        (medians over several runs)
//!
//! The receiver is written here: a threaded HTTP/1.1 server on 127.0.0.1 (a thread per
//! connection, keep-alive), which timestamps each request when its body has arrived and
//! answers `200` with an empty body, at once on `/fast`, `/outbox`, `/pgnet` and `/loop`, after
//! sleeping on `/slow/<ms>`. Signatures are checked after each phase (not while receiving).
//!
//! Phases (each starts from empty tables: TRUNCATE of schedules, executions, deliveries,
//! attempts and the audit log):
//! - fire-nohook N: N one-time schedules due at the same instant T, no hook. A LISTEN client
//!   timestamps each NOTIFY: fire drain = last NOTIFY - T. The baseline of fire-hook.
//! - fire-hook N: the same burst, each schedule naming a hook on `/fast`. Fire drain as above,
//!   delivery drain = last POST received - T, deliveries/s = N / delivery drain, and the delay
//!   of each POST from its `scheduled_for`.
//! - outbox N: the same burst to a hook that is disabled (the outbox fills, nothing is sent:
//!   fire drain with the outbox insert only), then `hook_update(enabled => true)`; from its
//!   COMMIT to the last POST: the worker's raw sending rate, comparable with pg-net.
//! - pg-net N (only if the `pg_net` extension exists): `net.http_post` of the same N bodies to
//!   `/pgnet` in one transaction; from its COMMIT to the last POST. Once per `--pgnet-batch`
//!   value of `pg_net.batch_size` (its default is 200; pg_net waits up to 1 s between batches).
//! - client-loop N: this program POSTs the same N bodies, signed, with `--loop-threads`
//!   threads and the worker's own client (`delivery_core::HttpClient`): the HTTP ceiling of
//!   the machine without Postgres.
//! - slow N: a burst to a hook on `/slow/<ms>`; then the client loop to the same path with as
//!   many threads as the worker has (`http_workers`): its ceiling is threads / latency.
//! - steady: one-time schedules due every 1/rate s over warm + window seconds, naming the fast
//!   hook; for those due in the window: POST delay (receipt - `scheduled_for`) and, as the
//!   baseline from the same fires, NOTIFY delay.
//!
//! Server and client share the machine clock, so receipt - due instant is a true delay.
//! Every wait is bounded. Output: markdown tables plus `RESULT key=value ...` lines.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use chrono::{DateTime, SecondsFormat, SubsecRound, Utc};
use delivery_core::{
    signature_header, AddressPolicy, ClientConfig, HookRequest, HttpClient, OutcomeClass, Secret, SigningSecrets,
};
use postgres::fallible_iterator::FallibleIterator;
use postgres::{Client, NoTls};
use serde_json::Value;

type Error = Box<dyn std::error::Error + Send + Sync>;
type Res<T> = Result<T, Error>;

const WS_CHANNEL: &str = "workflow_scheduler";
const HOOK_FAST: &str = "bench_fast";
const HOOK_SLOW: &str = "bench_slow";
const HOOK_OUTBOX: &str = "bench_outbox";

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let outcome =
        match args.get(1).map(String::as_str) {
            Some("run") => run(&args[2..]),
            Some("summarize") => summarize(&args[2..]),
            _ => Err("usage: delivery_bench run SOCKET_DIR PORT DATABASE [options] | delivery_bench summarize FILE..."
                .into()),
        };
    if let Err(err) = outcome {
        // postgres errors say "db error" and keep the server's message in their source.
        let mut text = err.to_string();
        let mut source = err.source();
        while let Some(inner) = source {
            text.push_str(&format!(": {inner}"));
            source = inner.source();
        }
        eprintln!("delivery_bench: {text}");
        std::process::exit(1);
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers

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
            .application_name("delivery_bench")
            .connect(NoTls)?)
    }
}

fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn ms_between(later: DateTime<Utc>, earlier: DateTime<Utc>) -> f64 {
    (later - earlier).num_microseconds().unwrap_or(i64::MAX) as f64 / 1000.0
}

fn sleep_until(t: DateTime<Utc>, cap: Duration) {
    if let Ok(left) = (t - Utc::now()).to_std() {
        thread::sleep(left.min(cap));
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

/// Nearest-rank percentiles of a set of values.
struct Delays {
    sorted: Vec<f64>,
}

impl Delays {
    fn new(mut v: Vec<f64>) -> Delays {
        v.sort_by(|a, b| a.total_cmp(b));
        Delays { sorted: v }
    }
    fn p(&self, p: f64) -> f64 {
        if self.sorted.is_empty() {
            return f64::NAN;
        }
        let rank = ((p / 100.0) * self.sorted.len() as f64).ceil() as usize;
        self.sorted[rank.clamp(1, self.sorted.len()) - 1]
    }
    fn max(&self) -> f64 {
        self.sorted.last().copied().unwrap_or(f64::NAN)
    }
}

fn scheduled_for(body: &[u8]) -> Option<DateTime<Utc>> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let s = v["scheduled_for"].as_str()?;
    Some(DateTime::parse_from_rfc3339(s).ok()?.with_timezone(&Utc))
}

/// CPU seconds (user + system) of a process, from /proc/<pid>/stat (USER_HZ = 100).
fn read_cpu_s(pid: i32) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { return f64::NAN };
    let Some((_, after_comm)) = stat.rsplit_once(')') else { return f64::NAN };
    let fields: Vec<&str> = after_comm.split_whitespace().collect();
    let tick = |i: usize| fields.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    (tick(11) + tick(12)) as f64 / 100.0
}

fn backend_pid(ctl: &mut Client, backend_type: &str) -> Res<Option<i32>> {
    let row = ctl.query_opt("SELECT pid FROM pg_stat_activity WHERE backend_type = $1 LIMIT 1", &[&backend_type])?;
    Ok(row.map(|r| r.get(0)))
}

/// The pids of the two workers, waiting (bounded) for both to run.
fn worker_pids(ctl: &mut Client) -> Res<(i32, i32)> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let sched = backend_pid(ctl, "workflow_scheduler")?;
        let delivery = backend_pid(ctl, "workflow_scheduler delivery")?;
        if let (Some(s), Some(d)) = (sched, delivery) {
            return Ok((s, d));
        }
        if Instant::now() > deadline {
            return Err("the workflow_scheduler workers are not both running (pg_stat_activity)".into());
        }
        thread::sleep(Duration::from_millis(200));
    }
}

/// CPU seconds of the scheduler worker and the delivery worker.
struct CpuMark {
    sched: f64,
    delivery: f64,
    at: Instant,
}

impl CpuMark {
    fn take(pids: (i32, i32)) -> CpuMark {
        CpuMark { sched: read_cpu_s(pids.0), delivery: read_cpu_s(pids.1), at: Instant::now() }
    }
    /// (scheduler, delivery) CPU in ms since `self`, and the wall time in ms.
    fn since(&self, pids: (i32, i32)) -> (f64, f64, f64) {
        let now = CpuMark::take(pids);
        (
            (now.sched - self.sched) * 1000.0,
            (now.delivery - self.delivery) * 1000.0,
            self.at.elapsed().as_secs_f64() * 1000.0,
        )
    }
}

// ---------------------------------------------------------------------------------------------
// The receiver

struct Hit {
    at: DateTime<Utc>,
    id: Option<String>,
    timestamp: Option<String>,
    signature: Option<String>,
    body: Vec<u8>,
}

struct Receiver {
    addr: SocketAddr,
    hits: Arc<Mutex<Vec<Hit>>>,
    count: Arc<AtomicUsize>,
    connections: Arc<AtomicUsize>,
}

impl Receiver {
    fn start() -> Res<Receiver> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let hits = Arc::new(Mutex::new(Vec::with_capacity(20_000)));
        let count = Arc::new(AtomicUsize::new(0));
        let connections = Arc::new(AtomicUsize::new(0));
        {
            let (hits, count, connections) = (Arc::clone(&hits), Arc::clone(&count), Arc::clone(&connections));
            thread::Builder::new().name("receiver-accept".into()).spawn(move || {
                for stream in listener.incoming().flatten() {
                    connections.fetch_add(1, Ordering::Relaxed);
                    let (hits, count) = (Arc::clone(&hits), Arc::clone(&count));
                    let _ = thread::Builder::new().stack_size(256 * 1024).spawn(move || serve(stream, &hits, &count));
                }
            })?;
        }
        Ok(Receiver { addr, hits, count, connections })
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn count(&self) -> usize {
        self.count.load(Ordering::Relaxed)
    }

    /// Connections opened since the last `take`.
    fn connections(&self) -> usize {
        self.connections.load(Ordering::Relaxed)
    }

    /// Takes what arrived so far and starts new counts (of requests and new connections).
    fn take(&self) -> Vec<Hit> {
        let mut hits = self.hits.lock().unwrap_or_else(|p| p.into_inner());
        self.count.store(0, Ordering::Relaxed);
        self.connections.store(0, Ordering::Relaxed);
        std::mem::take(&mut *hits)
    }

    /// Waits until `n` requests arrived, `deadline` passes, or nothing arrived for `stall`.
    fn wait_for(&self, n: usize, deadline: Instant, stall: Duration) {
        let mut last = (self.count(), Instant::now());
        while self.count() < n && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(5));
            let c = self.count();
            if c != last.0 {
                last = (c, Instant::now());
            } else if last.1.elapsed() > stall {
                return;
            }
        }
    }
}

/// Serves one connection, keep-alive, until the client closes it.
fn serve(stream: TcpStream, hits: &Mutex<Vec<Hit>>, count: &AtomicUsize) {
    let _ = stream.set_nodelay(true);
    let Ok(write_half) = stream.try_clone() else { return };
    let mut reader = BufReader::with_capacity(16 * 1024, stream);
    let mut writer = write_half;
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
        let (mut length, mut close, mut expect) = (0usize, false, false);
        let (mut id, mut timestamp, mut signature) = (None, None, None);
        loop {
            line.clear();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let trimmed = line.trim_end();
            if trimmed.is_empty() {
                break;
            }
            let Some((name, value)) = trimmed.split_once(':') else { continue };
            let value = value.trim();
            match name.trim().to_ascii_lowercase().as_str() {
                "content-length" => length = value.parse().unwrap_or(0),
                "connection" => close = value.eq_ignore_ascii_case("close"),
                "expect" => expect = value.eq_ignore_ascii_case("100-continue"),
                "webhook-id" => id = Some(value.to_string()),
                "webhook-timestamp" => timestamp = Some(value.to_string()),
                "webhook-signature" => signature = Some(value.to_string()),
                _ => {}
            }
        }
        if expect && writer.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").is_err() {
            return;
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let at = Utc::now();
        let delay = path.strip_prefix("/slow/").and_then(|ms| ms.parse::<u64>().ok());
        {
            let mut all = hits.lock().unwrap_or_else(|p| p.into_inner());
            all.push(Hit { at, id, timestamp, signature, body });
        }
        count.fetch_add(1, Ordering::Relaxed);
        if let Some(ms) = delay {
            thread::sleep(Duration::from_millis(ms));
        }
        let response: &[u8] = if close {
            b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
        } else {
            b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"
        };
        if writer.write_all(response).is_err() || close {
            return;
        }
    }
}

/// Counts requests whose `webhook-signature` does not verify with `secret`.
fn bad_signatures(hits: &[Hit], secret: &Secret) -> usize {
    let secrets = SigningSecrets::single(secret.clone());
    hits.iter()
        .filter(|h| {
            let (Some(id), Some(ts), Some(sig)) = (&h.id, &h.timestamp, &h.signature) else { return true };
            let Ok(ts) = ts.parse::<i64>() else { return true };
            signature_header(&secrets, id, ts, &h.body) != *sig
        })
        .count()
}

// ---------------------------------------------------------------------------------------------
// The LISTEN client: a dedicated thread and connection that timestamps each notification.

struct Note {
    at: DateTime<Utc>,
    payload: String,
}

struct Listener {
    handle: JoinHandle<Res<Vec<Note>>>,
    stop: Arc<AtomicBool>,
}

impl Listener {
    /// Starts listening; returns once LISTEN is active. The thread ends after `expected`
    /// notifications (0: never), at `deadline`, or when stopped.
    fn start(target: &Target, expected: usize, deadline: Instant) -> Res<Listener> {
        let mut client = target.connect()?;
        client.batch_execute(&format!("LISTEN \"{WS_CHANNEL}\""))?;
        let stop = Arc::new(AtomicBool::new(false));
        let (ready_tx, ready_rx) = mpsc::channel::<()>();
        let handle = {
            let stop = Arc::clone(&stop);
            thread::spawn(move || -> Res<Vec<Note>> {
                let _ = ready_tx.send(());
                let mut notes = Vec::with_capacity(expected.max(4096));
                'outer: loop {
                    let now = Instant::now();
                    if (expected > 0 && notes.len() >= expected) || now >= deadline || stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let wait = (deadline - now).min(Duration::from_millis(100));
                    let mut notifications = client.notifications();
                    let mut iter = notifications.timeout_iter(wait);
                    while let Some(note) = iter.next()? {
                        notes.push(Note { at: Utc::now(), payload: note.payload().to_string() });
                        if (expected > 0 && notes.len() >= expected) || stop.load(Ordering::Relaxed) {
                            break 'outer;
                        }
                    }
                }
                Ok(notes)
            })
        };
        ready_rx.recv_timeout(Duration::from_secs(10))?;
        Ok(Listener { handle, stop })
    }

    fn finish(self) -> Res<Vec<Note>> {
        self.handle.join().map_err(|_| "listener thread panicked")?
    }

    fn stop_and_finish(self) -> Res<Vec<Note>> {
        self.stop.store(true, Ordering::Relaxed);
        self.finish()
    }
}

/// (scheduled_for, receipt) of each notification that parses.
fn note_times(notes: &[Note]) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    notes.iter().filter_map(|n| Some((scheduled_for(n.payload.as_bytes())?, n.at))).collect()
}

// ---------------------------------------------------------------------------------------------
// Results

type Record = BTreeMap<String, String>;

fn emit(pairs: &[(&str, String)]) -> Record {
    let rec: Record = pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
    let line: Vec<String> = rec.iter().map(|(k, v)| format!("{k}={v}")).collect();
    println!("RESULT {}", line.join(" "));
    rec
}

// ---------------------------------------------------------------------------------------------
// run

struct Options {
    phases: Vec<String>,
    n: usize,
    slow_n: usize,
    slow_ms: u64,
    rate: usize,
    warm_s: i64,
    window_s: i64,
    loop_threads: usize,
    pgnet_batches: Vec<u32>,
}

fn parse_options(rest: &[String]) -> Res<Options> {
    let mut opts = Options {
        phases: ["fire-nohook", "fire-hook", "outbox", "pg-net", "client-loop", "slow", "steady"]
            .map(String::from)
            .to_vec(),
        n: 10_000,
        slow_n: 5_000,
        slow_ms: 50,
        rate: 100,
        warm_s: 5,
        window_s: 30,
        loop_threads: 16,
        pgnet_batches: vec![200, 500],
    };
    let mut it = rest.iter();
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--phases" => opts.phases = value.split(',').map(str::to_string).collect(),
            "--n" => opts.n = value.parse()?,
            "--slow-n" => opts.slow_n = value.parse()?,
            "--slow-ms" => opts.slow_ms = value.parse()?,
            "--rate" => opts.rate = value.parse()?,
            "--warm" => opts.warm_s = value.parse()?,
            "--window" => opts.window_s = value.parse()?,
            "--loop-threads" => opts.loop_threads = value.parse()?,
            "--pgnet-batch" => opts.pgnet_batches = value.split(',').map(|s| s.parse()).collect::<Result<_, _>>()?,
            other => return Err(format!("unknown option {other}").into()),
        }
    }
    Ok(opts)
}

/// What every phase needs.
struct Bench {
    target: Target,
    ctl: Client,
    receiver: Receiver,
    secrets: HashMap<String, Secret>,
    pids: (i32, i32),
    workers: usize,
    pg_net: bool,
}

fn run(args: &[String]) -> Res<()> {
    let [host, port, db, rest @ ..] = args else {
        return Err("run needs SOCKET_DIR PORT DATABASE".into());
    };
    let target = Target { host: host.clone(), port: port.parse()?, db: db.clone() };
    let opts = parse_options(rest)?;
    let mut ctl = target.connect()?;
    let pids = worker_pids(&mut ctl)?;
    let workers: i32 = ctl.query_one("SELECT current_setting('workflow_scheduler.http_workers')::int", &[])?.get(0);
    let has_pg_net: bool =
        ctl.query_one("SELECT EXISTS (SELECT FROM pg_extension WHERE extname = 'pg_net')", &[])?.get(0);
    let settings: Vec<String> = ctl
        .query(
            "SELECT name || '=' || setting FROM pg_settings
              WHERE name IN ('workflow_scheduler.batch_size', 'workflow_scheduler.poll_interval',
                             'workflow_scheduler.http_workers', 'workflow_scheduler.http_allowed_cidrs',
                             'log_min_messages', 'max_worker_processes', 'synchronous_commit', 'fsync',
                             'pg_net.batch_size', 'shared_preload_libraries', 'server_version')
              ORDER BY name",
            &[],
        )?
        .iter()
        .map(|r| r.get(0))
        .collect();
    log(format!("workers: scheduler pid {}, delivery pid {}; settings: {}", pids.0, pids.1, settings.join(" ")));

    let receiver = Receiver::start()?;
    log(format!("receiver on {}", receiver.addr));
    let mut bench =
        Bench { target, ctl, receiver, secrets: HashMap::new(), pids, workers: workers as usize, pg_net: has_pg_net };
    let slow_path = format!("/slow/{}", opts.slow_ms);
    // Hooks left by an earlier run in this database point at an older receiver.
    settle(&mut bench.ctl)?;
    bench.ctl.execute(
        "SELECT workflow_scheduler.hook_remove(name) FROM workflow_scheduler.hooks WHERE name = ANY($1)",
        &[&vec![HOOK_FAST, HOOK_SLOW, HOOK_OUTBOX]],
    )?;
    for (name, path) in [(HOOK_FAST, "/fast"), (HOOK_SLOW, slow_path.as_str()), (HOOK_OUTBOX, "/outbox")] {
        let url = bench.receiver.url(path);
        let created: Value = bench
            .ctl
            .query_one("SELECT workflow_scheduler.hook_create($1, $2, NULL, 10000)::text::jsonb", &[&name, &url])?
            .get(0);
        let secret = created["secret"].as_str().ok_or("hook_create shows no secret")?;
        bench.secrets.insert(name.to_string(), Secret::parse(secret).map_err(|e| format!("{e:?}"))?);
    }

    let mut records = Vec::new();
    let phase = |name: &str| opts.phases.iter().any(|p| p == name);
    if phase("fire-nohook") {
        records.push(burst(&mut bench, opts.n, None, "fire-nohook")?);
    }
    if phase("fire-hook") {
        records.push(burst(&mut bench, opts.n, Some(HOOK_FAST), "fire-hook")?);
    }
    if phase("outbox") {
        records.push(outbox(&mut bench, opts.n)?);
    }
    if phase("pg-net") {
        if bench.pg_net {
            for &batch in &opts.pgnet_batches {
                records.push(pg_net(&mut bench, opts.n, batch)?);
            }
        } else {
            log("pg-net: the pg_net extension is not installed in this database; phase skipped");
        }
    }
    if phase("client-loop") {
        records.push(client_loop(&mut bench, opts.n, opts.loop_threads, "/loop", "client-loop")?);
    }
    if phase("slow") {
        records.push(burst(&mut bench, opts.slow_n, Some(HOOK_SLOW), "slow")?);
        let threads = bench.workers;
        records.push(client_loop(&mut bench, opts.slow_n, threads, &slow_path, "slow-loop")?);
    }
    if phase("steady") {
        records.push(steady(&mut bench, opts.rate, opts.warm_s, opts.window_s)?);
    }
    settle(&mut bench.ctl)?;
    let end = worker_pids(&mut bench.ctl)?;
    if end != bench.pids {
        println!("WARNING: a worker pid changed during the run: {:?} -> {end:?} (did it crash?)", bench.pids);
    }
    add_fire_ratios(&mut records);
    println!();
    render(&records, 1);
    Ok(())
}

/// Gives each burst with a hook (`fire-hook`, `outbox`) its fire rate relative to the
/// `fire-nohook` burst of the same run (`records` come from one run), as `fire_ratio`.
fn add_fire_ratios(records: &mut [Record]) {
    let baseline: Vec<(String, f64)> = records
        .iter()
        .filter(|r| get(r, "kind") == "fire-nohook")
        .map(|r| (format!("{}/{}", get(r, "workers"), get(r, "n")), num(r, "fires_per_s")))
        .collect();
    for r in records.iter_mut().filter(|r| matches!(get(r, "kind"), "fire-hook" | "outbox")) {
        let key = format!("{}/{}", get(r, "workers"), get(r, "n"));
        if let Some((_, base)) = baseline.iter().find(|(k, _)| *k == key) {
            let ratio = num(r, "fires_per_s") / base;
            r.insert("fire_ratio".to_string(), format!("{ratio:.2}"));
        }
    }
}

/// Waits (bounded) until no delivery is pending, so a TRUNCATE cannot pull rows from under
/// a request in flight.
fn settle(ctl: &mut Client) -> Res<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let pending: i64 =
            ctl.query_one("SELECT count(*) FROM workflow_scheduler.deliveries WHERE status = 'pending'", &[])?.get(0);
        if pending == 0 {
            break;
        }
        if Instant::now() > deadline {
            return Err(format!("{pending} deliveries still pending after 60 s").into());
        }
        thread::sleep(Duration::from_millis(100));
    }
    thread::sleep(Duration::from_millis(300));
    Ok(())
}

/// Empty tables for the next phase.
fn reset(bench: &mut Bench) -> Res<()> {
    settle(&mut bench.ctl)?;
    bench.ctl.batch_execute(
        "TRUNCATE workflow_scheduler.delivery_attempts, workflow_scheduler.deliveries,
                  workflow_scheduler.workflow_schedule_executions, workflow_scheduler.workflow_schedules,
                  workflow_scheduler.audit_log;
         CHECKPOINT",
    )?;
    bench.receiver.take();
    Ok(())
}

/// Creates `n` one-time schedules due at `due` (naming `hook`, if any) in one transaction.
fn create_burst(ctl: &mut Client, n: usize, due: DateTime<Utc>, hook: Option<&str>) -> Res<f64> {
    let started = Instant::now();
    ctl.execute(
        "SELECT workflow_scheduler.schedule_add(
                    gen_random_uuid(),
                    jsonb_build_object('schedule_type', 'one_time', 'scheduled_time', $1::text, 'hook', $3::text),
                    1, 1)
           FROM generate_series(1, $2::int)",
        &[&iso(due), &(n as i32), &hook],
    )?;
    Ok(started.elapsed().as_secs_f64() * 1000.0)
}

/// Deliveries by status, and attempts, from the tables.
fn server_counts(ctl: &mut Client) -> Res<(i64, i64, i64)> {
    let row = ctl.query_one(
        "SELECT (SELECT count(*) FROM workflow_scheduler.deliveries WHERE status = 'delivered'),
                (SELECT count(*) FROM workflow_scheduler.deliveries WHERE status <> 'delivered'),
                (SELECT count(*) FROM workflow_scheduler.delivery_attempts)",
        &[],
    )?;
    Ok((row.get(0), row.get(1), row.get(2)))
}

/// One burst of `n` one-time schedules due at the same instant, to `hook` (None: no hook).
fn burst(bench: &mut Bench, n: usize, hook: Option<&str>, kind: &str) -> Res<Record> {
    reset(bench)?;
    let lead = Duration::from_millis(3_000 + n as u64 / 2);
    let due = (Utc::now() + lead).trunc_subsecs(3);
    let listener = Listener::start(&bench.target, n, Instant::now() + lead + Duration::from_secs(120))?;
    let setup_ms = create_burst(&mut bench.ctl, n, due, hook)?;
    let margin_ms = ms_between(due, Utc::now());
    log(format!("{kind} N={n}: {n} schedules created in {setup_ms:.0} ms, due in {margin_ms:.0} ms"));
    if margin_ms < 200.0 {
        return Err(format!("setup of {kind} N={n} ended {margin_ms:.0} ms before the due instant").into());
    }
    sleep_until(due - chrono::Duration::milliseconds(100), Duration::from_secs(30));
    let cpu = CpuMark::take(bench.pids);
    let notes = listener.finish()?;
    let fired: Vec<_> = note_times(&notes).into_iter().filter(|(sf, _)| *sf == due).collect();
    let fire_drain = fired.iter().map(|(_, at)| ms_between(*at, due)).fold(f64::NAN, f64::max);

    let mut pairs = vec![
        ("kind", kind.to_string()),
        ("workers", bench.workers.to_string()),
        ("n", n.to_string()),
        ("notified", fired.len().to_string()),
        ("fire_drain_ms", f1(fire_drain)),
        ("fires_per_s", f1(if fired.len() == n { n as f64 / (fire_drain / 1000.0) } else { f64::NAN })),
        ("setup_ms", f1(setup_ms)),
    ];
    if let Some(hook) = hook {
        bench.receiver.wait_for(n, Instant::now() + Duration::from_secs(300), Duration::from_secs(30));
        let (sched_cpu, delivery_cpu, wall) = cpu.since(bench.pids);
        let connections = bench.receiver.connections();
        let hits = bench.receiver.take();
        let mut ids = HashSet::with_capacity(n);
        let mut delay_ms = Vec::with_capacity(n);
        let (mut first, mut last) = (f64::NAN, f64::NAN);
        for h in &hits {
            if scheduled_for(&h.body) != Some(due) {
                continue;
            }
            ids.insert(h.id.clone().unwrap_or_default());
            let d = ms_between(h.at, due);
            delay_ms.push(d);
            first = first.min(d);
            last = last.max(d);
        }
        let received = delay_ms.len();
        let d = Delays::new(delay_ms);
        let bad = bench.secrets.get(hook).map_or(hits.len(), |s| bad_signatures(&hits, s));
        settle(&mut bench.ctl)?;
        let (delivered, undelivered, attempts) = server_counts(&mut bench.ctl)?;
        let complete = received == n;
        pairs.extend([
            ("received", received.to_string()),
            ("unique", ids.len().to_string()),
            ("bad_signatures", bad.to_string()),
            ("delivery_drain_ms", f1(last)),
            ("first_post_ms", f1(first)),
            ("deliveries_per_s", f1(if complete { n as f64 / (last / 1000.0) } else { f64::NAN })),
            ("sending_per_s", f1(if complete { n as f64 / ((last - first) / 1000.0) } else { f64::NAN })),
            ("p50_ms", f1(d.p(50.0))),
            ("p99_ms", f1(d.p(99.0))),
            ("srv_delivered", delivered.to_string()),
            ("srv_undelivered", undelivered.to_string()),
            ("srv_attempts", attempts.to_string()),
            ("connections", connections.to_string()),
            ("sched_cpu_ms", f1(sched_cpu)),
            ("delivery_cpu_ms", f1(delivery_cpu)),
            ("wall_ms", f1(wall)),
        ]);
        log(format!(
            "{kind} N={n}: fire drain {fire_drain:.0} ms; {received}/{n} POSTs, last at +{last:.0} ms ({:.0}/s)",
            n as f64 / (last / 1000.0)
        ));
    } else {
        let (sched_cpu, _, _) = cpu.since(bench.pids);
        pairs.push(("sched_cpu_ms", f1(sched_cpu)));
        log(format!("{kind} N={n}: fire drain {fire_drain:.0} ms ({} notified)", fired.len()));
    }
    Ok(emit(&pairs))
}

/// The outbox fills behind a disabled hook (fire cost with the insert only), then the hook is
/// enabled: from that COMMIT to the last POST is the worker's raw sending rate.
fn outbox(bench: &mut Bench, n: usize) -> Res<Record> {
    reset(bench)?;
    bench.ctl.execute("SELECT workflow_scheduler.hook_update($1, enabled => false)", &[&HOOK_OUTBOX])?;
    let lead = Duration::from_millis(3_000 + n as u64 / 2);
    let due = (Utc::now() + lead).trunc_subsecs(3);
    let listener = Listener::start(&bench.target, n, Instant::now() + lead + Duration::from_secs(120))?;
    let setup_ms = create_burst(&mut bench.ctl, n, due, Some(HOOK_OUTBOX))?;
    let notes = listener.finish()?;
    let fired: Vec<_> = note_times(&notes).into_iter().filter(|(sf, _)| *sf == due).collect();
    let fire_drain = fired.iter().map(|(_, at)| ms_between(*at, due)).fold(f64::NAN, f64::max);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let pending: i64 = bench
            .ctl
            .query_one("SELECT count(*) FROM workflow_scheduler.deliveries WHERE status = 'pending'", &[])?
            .get(0);
        if pending as usize >= n || Instant::now() > deadline {
            break;
        }
        thread::sleep(Duration::from_millis(50));
    }
    bench.ctl.batch_execute("VACUUM ANALYZE workflow_scheduler.deliveries")?;
    thread::sleep(Duration::from_millis(500));
    if bench.receiver.count() != 0 {
        return Err("outbox: POSTs arrived while the hook was disabled".into());
    }

    let cpu = CpuMark::take(bench.pids);
    let mut tx = bench.ctl.transaction()?;
    tx.execute("SELECT workflow_scheduler.hook_update($1, enabled => true)", &[&HOOK_OUTBOX])?;
    let start = Utc::now();
    tx.commit()?;
    bench.receiver.wait_for(n, Instant::now() + Duration::from_secs(300), Duration::from_secs(30));
    let (_, delivery_cpu, wall) = cpu.since(bench.pids);
    let connections = bench.receiver.connections();
    let hits = bench.receiver.take();
    let ids: HashSet<&str> = hits.iter().filter_map(|h| h.id.as_deref()).collect();
    let last = hits.iter().map(|h| ms_between(h.at, start)).fold(f64::NAN, f64::max);
    let first = hits.iter().map(|h| ms_between(h.at, start)).fold(f64::NAN, f64::min);
    let bad = bad_signatures(&hits, &bench.secrets[HOOK_OUTBOX]);
    settle(&mut bench.ctl)?;
    let (delivered, undelivered, attempts) = server_counts(&mut bench.ctl)?;
    log(format!(
        "outbox N={n}: fire drain {fire_drain:.0} ms (disabled hook); after enabling, {} POSTs, last at +{last:.0} ms",
        hits.len()
    ));
    Ok(emit(&[
        ("kind", "outbox".to_string()),
        ("workers", bench.workers.to_string()),
        ("n", n.to_string()),
        ("notified", fired.len().to_string()),
        ("fire_drain_ms", f1(fire_drain)),
        ("fires_per_s", f1(if fired.len() == n { n as f64 / (fire_drain / 1000.0) } else { f64::NAN })),
        ("setup_ms", f1(setup_ms)),
        ("received", hits.len().to_string()),
        ("unique", ids.len().to_string()),
        ("bad_signatures", bad.to_string()),
        ("first_post_ms", f1(first)),
        ("drain_ms", f1(last)),
        ("posts_per_s", f1(if ids.len() == n { n as f64 / (last / 1000.0) } else { f64::NAN })),
        ("srv_delivered", delivered.to_string()),
        ("srv_undelivered", undelivered.to_string()),
        ("srv_attempts", attempts.to_string()),
        ("connections", connections.to_string()),
        ("delivery_cpu_ms", f1(delivery_cpu)),
        ("wall_ms", f1(wall)),
    ]))
}

/// The bodies of the last phase's executions (the peers POST the same bytes), with their ids.
fn bodies(ctl: &mut Client, n: usize) -> Res<Vec<(String, String)>> {
    let rows = ctl.query(
        "SELECT execution_id::text, trigger_data::text FROM workflow_scheduler.workflow_schedule_executions
          ORDER BY triggered_at LIMIT $1",
        &[&(n as i64)],
    )?;
    if rows.len() < n {
        return Err(format!("the peers need {n} executions from the outbox phase, found {}", rows.len()).into());
    }
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

/// pg_net: the same N bodies queued with `net.http_post` in one transaction, sent with
/// `pg_net.batch_size = batch_size`.
fn pg_net(bench: &mut Bench, n: usize, batch_size: u32) -> Res<Record> {
    settle(&mut bench.ctl)?;
    bench.receiver.take();
    // ALTER SYSTEM refuses to run in a transaction block: one statement per call.
    bench.ctl.batch_execute(&format!("ALTER SYSTEM SET pg_net.batch_size = {batch_size}"))?;
    bench.ctl.batch_execute("SELECT pg_reload_conf()")?;
    thread::sleep(Duration::from_millis(500));
    let batch: String = bench.ctl.query_one("SELECT current_setting('pg_net.batch_size')", &[])?.get(0);
    if batch != batch_size.to_string() {
        return Err(format!("pg_net.batch_size is {batch} after the reload, not {batch_size}").into());
    }
    let url = bench.receiver.url("/pgnet");
    let mut tx = bench.ctl.transaction()?;
    let started = Instant::now();
    let queued: i64 = tx
        .query_one(
            "SELECT count(net.http_post(url := $1, body := e.trigger_data,
                                        headers := jsonb_build_object('Content-Type', 'application/json',
                                                                      'webhook-id', e.execution_id::text),
                                        timeout_milliseconds := 10000))
               FROM (SELECT execution_id, trigger_data FROM workflow_scheduler.workflow_schedule_executions
                      ORDER BY triggered_at LIMIT $2) e",
            &[&url, &(n as i64)],
        )?
        .get(0);
    let enqueue_ms = started.elapsed().as_secs_f64() * 1000.0;
    let start = Utc::now();
    tx.commit()?;
    log(format!("pg-net N={n}: {queued} requests queued in {enqueue_ms:.0} ms (pg_net.batch_size = {batch})"));
    bench.receiver.wait_for(n, Instant::now() + Duration::from_secs(600), Duration::from_secs(30));
    let connections = bench.receiver.connections();
    let hits = bench.receiver.take();
    let ids: HashSet<&str> = hits.iter().filter_map(|h| h.id.as_deref()).collect();
    let last = hits.iter().map(|h| ms_between(h.at, start)).fold(f64::NAN, f64::max);
    let first = hits.iter().map(|h| ms_between(h.at, start)).fold(f64::NAN, f64::min);
    // pg_net records every response; let it finish before reading them.
    thread::sleep(Duration::from_secs(2));
    let responses = bench.ctl.query_one(
        "SELECT count(*) FILTER (WHERE status_code = 200), count(*) FILTER (WHERE status_code IS DISTINCT FROM 200)
           FROM net._http_response",
        &[],
    )?;
    let (ok, not_ok): (i64, i64) = (responses.get(0), responses.get(1));
    if not_ok > 0 {
        for row in bench.ctl.query(
            "SELECT count(*), coalesce(error_msg, 'HTTP ' || status_code) FROM net._http_response
              WHERE status_code IS DISTINCT FROM 200 GROUP BY 2 ORDER BY 1 DESC LIMIT 3",
            &[],
        )? {
            log(format!("pg-net N={n}: {} failed requests: {}", row.get::<_, i64>(0), row.get::<_, String>(1)));
        }
    }
    bench.ctl.batch_execute("TRUNCATE net._http_response")?;
    bench.ctl.batch_execute("ALTER SYSTEM RESET pg_net.batch_size")?;
    bench.ctl.batch_execute("SELECT pg_reload_conf()")?;
    log(format!("pg-net N={n}: {} POSTs, last at +{last:.0} ms; responses 200: {ok}, other: {not_ok}", hits.len()));
    Ok(emit(&[
        ("kind", "pg-net".to_string()),
        ("workers", bench.workers.to_string()),
        ("n", n.to_string()),
        ("batch_size", batch),
        ("enqueue_ms", f1(enqueue_ms)),
        ("received", hits.len().to_string()),
        ("unique", ids.len().to_string()),
        ("first_post_ms", f1(first)),
        ("drain_ms", f1(last)),
        ("posts_per_s", f1(if ids.len() == n { n as f64 / (last / 1000.0) } else { f64::NAN })),
        ("srv_ok", ok.to_string()),
        ("srv_not_ok", not_ok.to_string()),
        ("connections", connections.to_string()),
    ]))
}

/// The plain client loop: this program POSTs the same N bodies, signed, from `threads` threads
/// with the worker's own HTTP client, to `path`.
fn client_loop(bench: &mut Bench, n: usize, threads: usize, path: &str, kind: &str) -> Res<Record> {
    settle(&mut bench.ctl)?;
    bench.receiver.take();
    let jobs = Arc::new(bodies(&mut bench.ctl, n)?);
    let secret = bench.secrets[HOOK_FAST].clone();
    let client = Arc::new(HttpClient::new(ClientConfig {
        version: env!("CARGO_PKG_VERSION").to_string(),
        policy: AddressPolicy::parse("127.0.0.1/32").map_err(|e| format!("{e:?}"))?,
        max_idle_per_host: threads,
    }));
    let url = bench.receiver.url(path);
    let next = Arc::new(AtomicUsize::new(0));
    let failures = Arc::new(AtomicUsize::new(0));
    let start = Utc::now();
    let started = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (jobs, client, next, failures) =
                (Arc::clone(&jobs), Arc::clone(&client), Arc::clone(&next), Arc::clone(&failures));
            let (url, secret) = (url.clone(), secret.clone());
            thread::spawn(move || loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some((id, body)) = jobs.get(i) else { return };
                let request = HookRequest {
                    url: url.clone(),
                    webhook_id: id.clone(),
                    body: body.clone().into_bytes(),
                    headers: Vec::new(),
                    secrets: SigningSecrets::single(secret.clone()),
                    timeout: Duration::from_secs(10),
                };
                if client.post(&request).class != OutcomeClass::Delivered {
                    failures.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for h in handles {
        let _ = h.join();
    }
    let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    let connections = bench.receiver.connections();
    let hits = bench.receiver.take();
    let ids: HashSet<&str> = hits.iter().filter_map(|h| h.id.as_deref()).collect();
    let last = hits.iter().map(|h| ms_between(h.at, start)).fold(f64::NAN, f64::max);
    let bad = bad_signatures(&hits, &secret);
    let failed = failures.load(Ordering::Relaxed);
    log(format!("{kind} N={n}: {threads} threads, {} POSTs in {elapsed_ms:.0} ms, {failed} failed", hits.len()));
    Ok(emit(&[
        ("kind", kind.to_string()),
        ("workers", bench.workers.to_string()),
        ("n", n.to_string()),
        ("threads", threads.to_string()),
        ("path", path.to_string()),
        ("received", hits.len().to_string()),
        ("unique", ids.len().to_string()),
        ("failed", failed.to_string()),
        ("bad_signatures", bad.to_string()),
        ("connections", connections.to_string()),
        ("drain_ms", f1(last)),
        ("elapsed_ms", f1(elapsed_ms)),
        ("posts_per_s", f1(if ids.len() == n { n as f64 / (elapsed_ms / 1000.0) } else { f64::NAN })),
    ]))
}

/// `rate` fires per second to the fast hook: POST delay and NOTIFY delay of the same fires.
fn steady(bench: &mut Bench, rate: usize, warm_s: i64, window_s: i64) -> Res<Record> {
    reset(bench)?;
    let count = rate * (warm_s + window_s + 1) as usize;
    let spacing_us = 1_000_000 / rate as i64;
    let lead = chrono::Duration::milliseconds(3_000 + count as i64 / 2);
    let first = (Utc::now() + lead).trunc_subsecs(3);
    let window_start = first + chrono::Duration::seconds(warm_s);
    let window_end = window_start + chrono::Duration::seconds(window_s);
    let listen_for = (window_end + chrono::Duration::seconds(3) - Utc::now()).to_std()?;
    let listener = Listener::start(&bench.target, 0, Instant::now() + listen_for)?;
    let started = Instant::now();
    bench.ctl.execute(
        "SELECT workflow_scheduler.schedule_add(
                    gen_random_uuid(),
                    jsonb_build_object('schedule_type', 'one_time', 'hook', $4::text,
                                       'scheduled_time', $1::text::timestamptz + (i - 1) * $2::bigint * interval '1 microsecond'),
                    1, 1)
           FROM generate_series(1, $3::int) i",
        &[&iso(first), &spacing_us, &(count as i32), &HOOK_FAST],
    )?;
    let setup_ms = started.elapsed().as_secs_f64() * 1000.0;
    let margin_ms = ms_between(first, Utc::now());
    log(format!(
        "steady {rate}/s: {count} schedules created in {setup_ms:.0} ms; first due in {margin_ms:.0} ms, window {}..{}",
        window_start.format("%H:%M:%S"),
        window_end.format("%H:%M:%S")
    ));
    if margin_ms < 200.0 {
        return Err(format!("setup of steady ended {margin_ms:.0} ms before the first fire").into());
    }
    sleep_until(window_start, Duration::from_secs(120));
    let cpu = CpuMark::take(bench.pids);
    sleep_until(window_end, Duration::from_secs(600));
    let (sched_cpu, delivery_cpu, wall) = cpu.since(bench.pids);
    let notes = listener.stop_and_finish()?;
    thread::sleep(Duration::from_secs(1));
    let hits = bench.receiver.take();
    let in_window = |sf: &DateTime<Utc>| *sf >= window_start && *sf < window_end;
    let post_delays: Vec<f64> = hits
        .iter()
        .filter_map(|h| Some((scheduled_for(&h.body)?, h.at)))
        .filter(|(sf, _)| in_window(sf))
        .map(|(sf, at)| ms_between(at, sf))
        .collect();
    let note_delays: Vec<f64> =
        note_times(&notes).into_iter().filter(|(sf, _)| in_window(sf)).map(|(sf, at)| ms_between(at, sf)).collect();
    let expected = rate * window_s as usize;
    let (posts, notified) = (post_delays.len(), note_delays.len());
    let (p, nd) = (Delays::new(post_delays), Delays::new(note_delays));
    log(format!(
        "steady {rate}/s: {posts} POSTs and {notified} NOTIFYs of {expected} in the window; POST p99 {:.1} ms, NOTIFY p99 {:.1} ms",
        p.p(99.0),
        nd.p(99.0)
    ));
    Ok(emit(&[
        ("kind", "steady".to_string()),
        ("workers", bench.workers.to_string()),
        ("n", rate.to_string()),
        ("window_s", window_s.to_string()),
        ("expected", expected.to_string()),
        ("received", posts.to_string()),
        ("notified", notified.to_string()),
        ("p50_ms", f1(p.p(50.0))),
        ("p99_ms", f1(p.p(99.0))),
        ("max_ms", f1(p.max())),
        ("notify_p50_ms", f1(nd.p(50.0))),
        ("notify_p99_ms", f1(nd.p(99.0))),
        ("notify_max_ms", f1(nd.max())),
        ("sched_cpu_pct", f1(sched_cpu / wall * 100.0)),
        ("delivery_cpu_pct", f1(delivery_cpu / wall * 100.0)),
        ("setup_ms", f1(setup_ms)),
    ]))
}

// ---------------------------------------------------------------------------------------------
// summarize: medians over several runs' RESULT lines

/// The figures whose every run is shown next to the median.
const HEADLINES: [&str; 11] = [
    "fire_drain_ms",
    "delivery_drain_ms",
    "deliveries_per_s",
    "drain_ms",
    "posts_per_s",
    "p50_ms",
    "p99_ms",
    "notify_p99_ms",
    "fires_per_s",
    "sending_per_s",
    "fire_ratio",
];

fn summarize(files: &[String]) -> Res<()> {
    if files.is_empty() {
        return Err("summarize needs result files".into());
    }
    let mut groups: BTreeMap<(String, u64, u64, u64), Vec<Record>> = BTreeMap::new();
    for file in files {
        let mut run: Vec<Record> = Vec::new();
        for line in std::fs::read_to_string(file)?.lines() {
            let Some(rest) = line.strip_prefix("RESULT ") else { continue };
            run.push(
                rest.split_whitespace()
                    .filter_map(|kv| kv.split_once('='))
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            );
        }
        // Ratios within each run (each file is one run of one cluster), then medians of them.
        add_fire_ratios(&mut run);
        for rec in run {
            let key = (
                rec.get("kind").cloned().unwrap_or_default(),
                rec.get("workers").and_then(|n| n.parse().ok()).unwrap_or(0),
                rec.get("n").and_then(|n| n.parse().ok()).unwrap_or(0),
                rec.get("batch_size").and_then(|n| n.parse().ok()).unwrap_or(0),
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
            let mut nums: Vec<f64> = values.iter().filter_map(|v| v.parse::<f64>().ok()).collect();
            let value = if nums.len() == values.len() && !nums.is_empty() {
                // A NaN (an incomplete run) sorts last and is reported as such in the runs.
                nums.sort_by(|a, b| a.total_cmp(b));
                let m = nums.len();
                let median = if m % 2 == 1 { nums[m / 2] } else { (nums[m / 2 - 1] + nums[m / 2]) / 2.0 };
                if key.ends_with("ratio") {
                    format!("{median:.2}")
                } else if values.iter().all(|v| !v.contains('.')) && median.fract() == 0.0 {
                    format!("{median:.0}")
                } else {
                    f1(median)
                }
            } else {
                values.first().map(|v| v.to_string()).unwrap_or_default()
            };
            out.insert(key.clone(), value);
        }
        for key in HEADLINES {
            let all: Vec<String> = recs.iter().filter_map(|r| r.get(key).cloned()).collect();
            if all.len() > 1 {
                out.insert(format!("{key}_runs"), all.join("/"));
            }
        }
        out.insert("runs".to_string(), recs.len().to_string());
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

fn render(records: &[Record], runs: usize) {
    let suffix = if runs > 1 { format!(" (median of {runs} runs; each run in parentheses)") } else { String::new() };
    let of = |kind: &str| -> Vec<&Record> {
        let mut v: Vec<&Record> = records.iter().filter(|r| get(r, "kind") == kind).collect();
        v.sort_by(|a, b| {
            num(a, "workers").total_cmp(&num(b, "workers")).then(num(a, "batch_size").total_cmp(&num(b, "batch_size")))
        });
        v
    };

    let bursts: Vec<&Record> = of("fire-hook").into_iter().chain(of("slow")).collect();
    if !bursts.is_empty() {
        println!("### Burst to a hook: N one-time schedules due at the same instant{suffix}\n");
        println!("| receiver | http_workers | N | POSTs received (unique) | bad signatures | fire drain (ms) | delivery drain (ms) | deliveries/s end to end | sending rate, first to last POST (/s) | delay p50 (ms) | p99 (ms) | attempts | receiver connections | delivery worker CPU (ms) |");
        println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        for r in &bursts {
            println!(
                "| {} | {} | {} | {} ({}) | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                if get(r, "kind") == "slow" { "50 ms" } else { "immediate" },
                get(r, "workers"),
                get(r, "n"),
                get(r, "received"),
                get(r, "unique"),
                get(r, "bad_signatures"),
                with_runs(r, "fire_drain_ms"),
                with_runs(r, "delivery_drain_ms"),
                with_runs(r, "deliveries_per_s"),
                get(r, "sending_per_s"),
                get(r, "p50_ms"),
                get(r, "p99_ms"),
                get(r, "srv_attempts"),
                get(r, "connections"),
                get(r, "delivery_cpu_ms"),
            );
        }
        println!();
    }

    let raw: Vec<&Record> =
        of("outbox").into_iter().chain(of("pg-net")).chain(of("client-loop")).chain(of("slow-loop")).collect();
    if !raw.is_empty() {
        println!("### Raw POSTs/s: N requests already queued, to the same receiver{suffix}\n");
        println!("| sender | http_workers | N | received (unique) | receiver connections | first POST (ms) | drain (ms) | POSTs/s |");
        println!("|---|---:|---:|---:|---:|---:|---:|---:|");
        for r in &raw {
            let sender = match get(r, "kind") {
                "outbox" => "workflow_scheduler, outbox of N fires, from `hook_update(enabled => true)`".to_string(),
                "pg-net" => {
                    format!("pg_net `net.http_post` x N, one transaction (batch_size {})", get(r, "batch_size"))
                }
                "client-loop" => {
                    format!("plain client loop, {} threads (delivery_core client, signed)", get(r, "threads"))
                }
                _ => format!("plain client loop to the 50 ms receiver, {} threads", get(r, "threads")),
            };
            println!(
                "| {} | {} | {} | {} ({}) | {} | {} | {} | {} |",
                sender,
                get(r, "workers"),
                get(r, "n"),
                get(r, "received"),
                get(r, "unique"),
                get(r, "connections"),
                get(r, "first_post_ms"),
                with_runs(r, "drain_ms"),
                with_runs(r, "posts_per_s"),
            );
        }
        println!();
    }

    let fires: Vec<&Record> = of("fire-nohook").into_iter().chain(of("fire-hook")).chain(of("outbox")).collect();
    if !fires.is_empty() {
        println!("### Firing with and without hooks: the same burst{suffix}\n");
        println!(
            "| schedules | http_workers | N | notified | fire drain (ms) | fires/s | fires/s / no hook's, same run |"
        );
        println!("|---|---:|---:|---:|---:|---:|---:|");
        for r in &fires {
            let ratio = if get(r, "kind") == "fire-nohook" { "1".to_string() } else { with_runs(r, "fire_ratio") };
            println!(
                "| {} | {} | {} | {} | {} | {} | {} |",
                match get(r, "kind") {
                    "fire-nohook" => "no hook",
                    "fire-hook" => "hook, delivered while firing",
                    _ => "hook disabled (outbox insert only)",
                },
                get(r, "workers"),
                get(r, "n"),
                get(r, "notified"),
                with_runs(r, "fire_drain_ms"),
                with_runs(r, "fires_per_s"),
                ratio,
            );
        }
        println!();
    }

    let steadies = of("steady");
    if !steadies.is_empty() {
        println!("### Steady state: one-time schedules due at a constant rate, fast hook{suffix}\n");
        println!("| rate (/s) | http_workers | window | POSTs / NOTIFYs / expected | POST delay p50 (ms) | p99 (ms) | max (ms) | NOTIFY delay p50 (ms) | p99 (ms) | max (ms) | scheduler CPU | delivery CPU |");
        println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        for r in &steadies {
            println!(
                "| {} | {} | {} s | {} / {} / {} | {} | {} | {} | {} | {} | {} | {}% | {}% |",
                get(r, "n"),
                get(r, "workers"),
                get(r, "window_s"),
                get(r, "received"),
                get(r, "notified"),
                get(r, "expected"),
                with_runs(r, "p50_ms"),
                with_runs(r, "p99_ms"),
                get(r, "max_ms"),
                get(r, "notify_p50_ms"),
                with_runs(r, "notify_p99_ms"),
                get(r, "notify_max_ms"),
                get(r, "sched_cpu_pct"),
                get(r, "delivery_cpu_pct"),
            );
        }
        println!();
    }

    println!("### Targets{suffix}\n");
    println!("| target | measured | verdict |");
    println!("|---|---|---|");
    let verdict = |ok: Option<bool>| match ok {
        Some(true) => "met",
        Some(false) => "MISSED",
        None => "not measured",
    };
    let find = |kind: &str, workers: usize| {
        records.iter().find(|r| get(r, "kind") == kind && num(r, "workers") == workers as f64)
    };
    for workers in [16, 64] {
        if let Some(r) = find("fire-hook", workers) {
            let x = num(r, "deliveries_per_s");
            println!(
                "| >= 3,000 deliveries/s end to end, immediate receiver, N = {} (http_workers = {workers}) | {x:.0}/s | {} |",
                get(r, "n"),
                verdict(Some(x >= 3000.0))
            );
        }
    }
    for workers in [16, 64] {
        if let Some(r) = find("slow", workers) {
            let x = num(r, "deliveries_per_s");
            println!(
                "| about 1,000 deliveries/s to a 50 ms receiver (http_workers = {workers}; ceiling {:.0}/s) | {x:.0}/s | {} |",
                workers as f64 / 0.05,
                if workers == 64 { verdict(Some(x >= 900.0)) } else { "reference" }
            );
        }
    }
    if let Some(r) = records.iter().find(|r| get(r, "kind") == "steady") {
        let x = num(r, "p99_ms");
        let complete = num(r, "received") >= num(r, "expected");
        println!(
            "| p99 due -> POST received <= 50 ms at {}/s | {x:.1} ms{} | {} |",
            get(r, "n"),
            if complete { "" } else { " (POSTs missing!)" },
            verdict(Some(complete && x <= 50.0))
        );
    }
    for workers in [16, 64] {
        if let Some(h) = find("fire-hook", workers) {
            let ratio = num(h, "fire_ratio");
            println!(
                "| firing with a hook on every schedule >= 0.8 x without (http_workers = {workers}) | {ratio:.2} | {} |",
                verdict(Some(ratio >= 0.8))
            );
        }
    }
}
