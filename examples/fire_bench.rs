//! Firing benchmark: workflow_scheduler against pg_cron, in the same cluster and the same run.
//!
//! bench/fire_bench.sh starts the cluster and runs this; by hand:
//!
//!   fire_bench run SOCKET_DIR PORT DATABASE [--phases ws-burst,cron-burst,steady]
//!              [--burst-sizes 1000,10000] [--steady 1000:1,100000:100] [--warm 5] [--window 30]
//!              [--dump DIR]   (per-fire CSV of the steady phases)
//!   fire_bench summarize RESULT_FILE...       (medians over several runs)
//!
//! Phases:
//! - ws-burst N: N one-time schedules due at the same instant T, created in one transaction with
//!   `schedule_add`. Delay = receipt - `scheduled_for` (= T); drain = last receipt - T.
//! - cron-burst N: N pg_cron jobs `* * * * *` running `SELECT pg_notify('pgcron_bench', '<i>')`,
//!   created before a minute boundary B. Delay = receipt - B; drain = last receipt - B.
//!   The jobs are unscheduled as soon as every notification has arrived (before B + 60 s); the
//!   channel is then watched past B + 60 s, and runs pg_cron still starts are counted.
//! - steady C:I: C interval schedules of I seconds whose grid anchors are spread uniformly over I,
//!   so C / I fire per second. Inserted directly into `workflow_schedules` (anchor_at and
//!   next_execution_at computed in SQL): `schedule_add` anchors every row of one transaction at
//!   the same now(). After `--warm` seconds of firing, fires due in the next `--window` seconds are
//!   measured, and the worker's /proc/<pid>/status is sampled every 5 s.
//!
//! Server and client share the machine clock, so receipt - due instant is a true delay.
//! Every wait is bounded. Output: markdown tables plus `RESULT key=value ...` lines.

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

/// Turns off every active workflow_scheduler schedule (leftovers of an earlier phase).
fn deactivate_all(ctl: &mut Client) -> Res<u64> {
    Ok(ctl.execute(
        "UPDATE workflow_scheduler.workflow_schedules
            SET is_active = false, next_execution_at = NULL
          WHERE is_active",
        &[],
    )?)
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

// ---------------------------------------------------------------------------------------------
// run

struct Options {
    phases: Vec<String>,
    burst_sizes: Vec<usize>,
    steady: Vec<(usize, i32)>,
    warm_s: i64,
    window_s: i64,
    /// Directory for per-fire CSV dumps (scheduled_for, receipt delay), if set.
    dump_dir: Option<String>,
}

fn parse_options(rest: &[String]) -> Res<Options> {
    let mut opts = Options {
        phases: vec!["ws-burst".into(), "cron-burst".into(), "steady".into()],
        burst_sizes: vec![1_000, 10_000],
        steady: vec![(1_000, 1), (100_000, 100)],
        warm_s: 5,
        window_s: 30,
        dump_dir: None,
    };
    let mut it = rest.iter();
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--phases" => opts.phases = value.split(',').map(str::to_string).collect(),
            "--burst-sizes" => opts.burst_sizes = value.split(',').map(|s| s.parse()).collect::<Result<_, _>>()?,
            "--steady" => {
                opts.steady = value
                    .split(',')
                    .map(|pair| -> Res<(usize, i32)> {
                        let (c, i) = pair.split_once(':').ok_or("--steady wants COUNT:INTERVAL_S,...")?;
                        Ok((c.parse()?, i.parse()?))
                    })
                    .collect::<Res<_>>()?
            }
            "--warm" => opts.warm_s = value.parse()?,
            "--window" => opts.window_s = value.parse()?,
            "--dump" => opts.dump_dir = Some(value.clone()),
            other => return Err(format!("unknown option {other}").into()),
        }
    }
    Ok(opts)
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
    let settings: Vec<String> = ctl
        .query(
            "SELECT name || '=' || setting FROM pg_settings
              WHERE name IN ('workflow_scheduler.batch_size', 'workflow_scheduler.poll_interval',
                             'log_min_messages', 'max_worker_processes', 'cron.use_background_workers',
                             'cron.host', 'cron.max_running_jobs', 'cron.log_run', 'cron.log_statement',
                             'shared_preload_libraries', 'server_version')
              ORDER BY name",
            &[],
        )?
        .iter()
        .map(|r| r.get(0))
        .collect();
    log(format!("settings: {}", settings.join(" ")));

    let mut records = Vec::new();
    let phase = |name: &str| opts.phases.iter().any(|p| p == name);

    if phase("ws-burst") {
        for &n in &opts.burst_sizes {
            let rec = ws_burst(&target, &mut ctl, n)?;
            emit(&rec);
            records.push(rec);
        }
    }
    if phase("cron-burst") {
        for &n in &opts.burst_sizes {
            for attempt in 1..=2 {
                let rec = cron_burst(&target, &mut ctl, n)?;
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
    }
    if phase("steady") {
        for &(count, interval) in &opts.steady {
            let rec = steady(&target, &mut ctl, count, interval, opts.warm_s, opts.window_s, opts.dump_dir.as_deref())?;
            emit(&rec);
            records.push(rec);
        }
    }
    deactivate_all(&mut ctl)?;
    let pid_end = worker_pid(&mut ctl)?;
    if pid_end != Some(pid) {
        println!("WARNING: the worker pid changed during the run: {pid} -> {pid_end:?} (did it crash?)");
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

fn ws_burst(target: &Target, ctl: &mut Client, n: usize) -> Res<Record> {
    let off = deactivate_all(ctl)?;
    log(format!("ws-burst N={n}: {off} leftover schedules deactivated"));
    let pid = wait_for_worker(ctl)?;
    let lead = Duration::from_millis(3_000 + n as u64 / 2);
    let due = (Utc::now() + lead).trunc_subsecs(3);
    let due_str = iso(due);
    let matcher = Box::new(move |payload: &str| {
        serde_json::from_str::<Value>(payload)
            .ok()
            .and_then(|v| v["scheduled_for"].as_str().and_then(|s| DateTime::parse_from_rfc3339(s).ok()))
            .is_some_and(|t| t.with_timezone(&Utc) == due)
    });
    let listener = Listener::start(target, WS_CHANNEL, n, Instant::now() + lead + Duration::from_secs(120), matcher)?;
    let mut cpu_before = None;

    let started = Instant::now();
    let created: i64 = ctl
        .query_one(
            "SELECT count(*) FROM (
                SELECT workflow_scheduler.schedule_add(
                           gen_random_uuid(),
                           jsonb_build_object('schedule_type', 'one_time', 'scheduled_time', $1::text),
                           1, 1)
                  FROM generate_series(1, $2::int)) s",
            &[&due_str, &(n as i32)],
        )?
        .get(0);
    let setup_ms = started.elapsed().as_secs_f64() * 1000.0;
    let margin_ms = ms_between(due, Utc::now());
    log(format!(
        "ws-burst N={n}: {created} schedules created in {setup_ms:.0} ms, due {due_str} ({margin_ms:.0} ms from now)"
    ));
    if margin_ms < 200.0 {
        return Err(
            format!("setup of ws-burst N={n} ended {margin_ms:.0} ms before the due instant; raise the lead").into()
        );
    }
    // The worker's CPU from just before the due instant to the end of the drain.
    sleep_until(due - chrono::Duration::milliseconds(100), Duration::from_secs(30));
    if listener.matched() == 0 {
        cpu_before = read_cpu_s(pid).ok();
    }
    let receipts = listener.finish()?;
    let worker_cpu_ms = match (cpu_before, read_cpu_s(pid).ok()) {
        (Some(a), Some(b)) => (b - a) * 1000.0,
        _ => f64::NAN,
    };
    let mem = read_mem(pid).unwrap_or_default();

    let mut delays = Vec::with_capacity(n);
    let mut seen = HashSet::with_capacity(n);
    let mut dups = 0usize;
    let mut last = due;
    for r in &receipts {
        let Ok(v) = serde_json::from_str::<Value>(&r.payload) else { continue };
        let Some(sf) = v["scheduled_for"].as_str().and_then(|s| DateTime::parse_from_rfc3339(s).ok()) else { continue };
        if sf.with_timezone(&Utc) != due {
            continue;
        }
        if !seen.insert(v["schedule_id"].as_str().unwrap_or_default().to_string()) {
            dups += 1;
        }
        delays.push(ms_between(r.at, due));
        last = last.max(r.at);
    }
    let received = delays.len();
    let d = Delays::new(delays);
    let drain_ms = ms_between(last, due);
    let mut pairs = burst_fields("burst", "ws", n, received, seen.len(), dups, drain_ms, &d, setup_ms);
    pairs.extend([
        ("worker_cpu_ms", f1(worker_cpu_ms)),
        ("rss_kb", mem.vm_rss_kb.to_string()),
        ("rss_anon_kb", mem.rss_anon_kb.to_string()),
    ]);
    pairs.extend(ws_server_side(ctl, due, last + chrono::Duration::seconds(1))?);
    log(format!("ws-burst N={n}: received {received}/{n}, drain {drain_ms:.0} ms"));
    Ok(record(&pairs))
}

fn unschedule_cron(ctl: &mut Client) -> Res<i64> {
    Ok(ctl.query_one("SELECT count(cron.unschedule(jobid)) FROM cron.job WHERE jobname LIKE 'fb\\_%'", &[])?.get(0))
}

fn cron_burst(target: &Target, ctl: &mut Client, n: usize) -> Res<Record> {
    deactivate_all(ctl)?;
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

    let mut delays = Vec::with_capacity(n);
    let mut seen = HashSet::with_capacity(n);
    let mut dups = 0usize;
    let mut last = boundary;
    for r in &receipts {
        let Ok(i) = r.payload.parse::<usize>() else { continue };
        if !(1..=n).contains(&i) {
            continue;
        }
        if !seen.insert(i) {
            dups += 1;
        }
        delays.push(ms_between(r.at, boundary));
        last = last.max(r.at);
    }
    let received = delays.len();
    let d = Delays::new(delays);
    let drain_ms = ms_between(last, boundary);
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
    let mut pairs = burst_fields(kind, "pg_cron", n, received, seen.len(), dups, drain_ms, &d, setup_ms);
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

fn steady(
    target: &Target,
    ctl: &mut Client,
    count: usize,
    interval_s: i32,
    warm_s: i64,
    window_s: i64,
    dump_dir: Option<&str>,
) -> Res<Record> {
    let off = deactivate_all(ctl)?;
    log(format!("steady C={count} I={interval_s}s: {off} leftover schedules deactivated"));
    let pid = wait_for_worker(ctl)?;
    thread::sleep(Duration::from_secs(2));
    let idle = read_mem(pid)?;

    let lead = chrono::Duration::milliseconds(4_000 + count as i64 / 20);
    let first = (Utc::now() + lead).trunc_subsecs(3);
    let window_start = first + chrono::Duration::seconds(warm_s);
    let window_end = window_start + chrono::Duration::seconds(window_s);
    let spacing_ms = f64::from(interval_s) * 1000.0 / count as f64;
    let listen_for = (window_end + chrono::Duration::seconds(5) - Utc::now()).to_std()?;
    let listener = Listener::start(target, WS_CHANNEL, 0, Instant::now() + listen_for, Box::new(|_| true))?;

    // Direct INSERT (see the header): anchors spread uniformly over one interval.
    let started = Instant::now();
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
    let setup_ms = started.elapsed().as_secs_f64() * 1000.0;
    let margin_ms = ms_between(first, Utc::now());
    log(format!(
        "steady C={count} I={interval_s}s: {inserted} rows inserted in {setup_ms:.0} ms; first due {} ({margin_ms:.0} ms from now), window {}..{}",
        iso(first),
        window_start.format("%H:%M:%S"),
        window_end.format("%H:%M:%S")
    ));
    if margin_ms < 200.0 {
        return Err(format!("setup of steady C={count} ended {margin_ms:.0} ms before the first fire").into());
    }

    // Memory: every 5 s through the window.
    sleep_until(window_start, Duration::from_secs(120));
    let cpu_start = read_cpu_s(pid)?;
    let mut samples = Vec::new();
    while Utc::now() < window_end {
        samples.push(read_mem(pid)?);
        sleep_until(window_end.min(Utc::now() + chrono::Duration::seconds(5)), Duration::from_secs(6));
    }
    samples.push(read_mem(pid)?);
    let worker_cpu_pct = (read_cpu_s(pid)? - cpu_start) * 100.0 / window_s as f64;
    let receipts = listener.finish()?;

    let mut delays = Vec::new();
    let mut seen = HashSet::new();
    let mut dups = 0usize;
    let mut csv = String::from("scheduled_for,delay_ms\n");
    for r in &receipts {
        let Ok(v) = serde_json::from_str::<Value>(&r.payload) else { continue };
        let Some(sf) = v["scheduled_for"].as_str().and_then(|s| DateTime::parse_from_rfc3339(s).ok()) else { continue };
        let sf = sf.with_timezone(&Utc);
        if sf < window_start || sf >= window_end {
            continue;
        }
        if !seen.insert(v["execution_id"].as_str().unwrap_or_default().to_string()) {
            dups += 1;
        }
        delays.push(ms_between(r.at, sf));
        if dump_dir.is_some() {
            csv.push_str(&format!("{},{:.3}\n", iso(sf), ms_between(r.at, sf)));
        }
    }
    if let Some(dir) = dump_dir {
        std::fs::write(format!("{dir}/steady-{count}.csv"), csv)?;
    }
    let expected = count as f64 * window_s as f64 / f64::from(interval_s);
    let received = delays.len();
    let d = Delays::new(delays);

    let srv = ctl.query_one(
        "SELECT count(*) FILTER (WHERE status = 'triggered'), count(*) FILTER (WHERE status = 'missed'),
                coalesce(max(coalesced), 0)
           FROM workflow_scheduler.workflow_schedule_executions
          WHERE scheduled_for >= $1::text::timestamptz AND scheduled_for < $2::text::timestamptz",
        &[&iso(window_start), &iso(window_end)],
    )?;
    let batches = ctl.query_one(
        "SELECT count(*), coalesce(avg((details->>'claimed')::int), 0)::float8,
                coalesce(max((details->>'claimed')::int), 0)
           FROM workflow_scheduler.audit_log
          WHERE action = 'scheduler_job_executed'
            AND logged_at >= $1::text::timestamptz AND logged_at < $2::text::timestamptz",
        &[&iso(window_start), &iso(window_end)],
    )?;
    let last = samples.last().copied().unwrap_or_default();
    let max_anon = samples.iter().map(|m| m.rss_anon_kb).max().unwrap_or(0);
    let anon_series: Vec<String> = samples.iter().map(|m| m.rss_anon_kb.to_string()).collect();
    log(format!(
        "steady C={count}: received {received} of ~{expected:.0} fires in the window; RssAnon samples (kB) {}",
        anon_series.join(",")
    ));
    Ok(record(&[
        ("kind", "steady".to_string()),
        ("sched", "ws".to_string()),
        ("n", count.to_string()),
        ("interval_s", interval_s.to_string()),
        ("rate_per_s", f1(count as f64 / f64::from(interval_s))),
        ("window_s", window_s.to_string()),
        ("expected", format!("{expected:.0}")),
        ("received", received.to_string()),
        ("dups", dups.to_string()),
        ("p50_ms", f1(d.p(50.0))),
        ("p99_ms", f1(d.p(99.0))),
        ("max_ms", f1(d.max())),
        ("setup_ms", f1(setup_ms)),
        ("worker_cpu_pct", f1(worker_cpu_pct)),
        ("srv_triggered", srv.get::<_, i64>(0).to_string()),
        ("srv_missed", srv.get::<_, i64>(1).to_string()),
        ("srv_max_coalesced", srv.get::<_, i32>(2).to_string()),
        ("srv_batches", batches.get::<_, i64>(0).to_string()),
        ("srv_avg_claimed", f1(batches.get::<_, f64>(1))),
        ("srv_max_claimed", batches.get::<_, i32>(2).to_string()),
        ("idle_rss_kb", idle.vm_rss_kb.to_string()),
        ("idle_rss_anon_kb", idle.rss_anon_kb.to_string()),
        ("rss_kb", last.vm_rss_kb.to_string()),
        ("rss_anon_kb", last.rss_anon_kb.to_string()),
        ("rss_file_kb", last.rss_file_kb.to_string()),
        ("rss_shmem_kb", last.rss_shmem_kb.to_string()),
        ("vm_hwm_kb", last.vm_hwm_kb.to_string()),
        ("max_rss_anon_kb", max_anon.to_string()),
    ]))
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
        for key in ["drain_ms", "p50_ms", "p99_ms", "max_ms", "rss_anon_kb", "runs_after_unschedule"] {
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

fn render(records: &[Record], runs: usize) {
    let title_suffix =
        if runs > 1 { format!(" (median of {runs} runs; each run in parentheses)") } else { String::new() };
    let by = |kind: &str, sched: &str, n: u64| {
        records.iter().find(|r| get(r, "kind") == kind && get(r, "sched") == sched && num(r, "n") == n as f64)
    };

    let mut bursts: Vec<&Record> = records.iter().filter(|r| get(r, "kind") == "burst").collect();
    bursts.sort_by(|a, b| get(a, "sched").cmp(get(b, "sched")).reverse().then(num(a, "n").total_cmp(&num(b, "n"))));
    if !bursts.is_empty() {
        println!("### Burst: N schedules due at the same instant{title_suffix}\n");
        println!("| scheduler | N | received | drain (ms) | fires/s | delay p50 (ms) | p99 (ms) | max (ms) | first (ms) | duplicates |");
        println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        for r in &bursts {
            println!(
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                if get(r, "sched") == "ws" { "workflow_scheduler" } else { "pg_cron 1.4.2" },
                get(r, "n"),
                get(r, "received"),
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
        println!("Server side (workflow_scheduler: first/last pass start and batches from the tables; pg_cron: cron.job_run_details):\n");
        println!("| scheduler | N | setup (ms) | detail |");
        println!("|---|---:|---:|---|");
        for r in &bursts {
            let detail = if get(r, "sched") == "ws" {
                format!(
                    "{} executions; first pass started +{} ms, last pass started +{} ms; {} batches, last batch's audit row +{} ms; worker CPU {} ms",
                    get(r, "srv_executions"),
                    get(r, "srv_first_pass_ms"),
                    get(r, "srv_last_pass_ms"),
                    get(r, "srv_batches"),
                    get(r, "srv_last_batch_logged_ms"),
                    get(r, "worker_cpu_ms")
                )
            } else {
                format!(
                    "{} runs ({} succeeded); first start +{} ms, last end +{} ms; after cron.unschedule: {} more runs, {} more notifications",
                    get(r, "srv_runs"),
                    get(r, "srv_succeeded"),
                    get(r, "srv_first_start_ms"),
                    get(r, "srv_last_end_ms"),
                    with_runs(r, "runs_after_unschedule"),
                    get(r, "notifications_after_unschedule")
                )
            };
            println!("| {} | {} | {} | {} |", get(r, "sched"), get(r, "n"), get(r, "setup_ms"), detail);
        }
        println!();
    }

    let mut steadies: Vec<&Record> = records.iter().filter(|r| get(r, "kind") == "steady").collect();
    steadies.sort_by(|a, b| num(a, "n").total_cmp(&num(b, "n")));
    if !steadies.is_empty() {
        println!("### Steady state: workflow_scheduler, interval schedules with spread anchors{title_suffix}\n");
        println!("| active schedules | interval | offered fires/s | window | fires received / expected | delay p50 (ms) | p99 (ms) | max (ms) | missed | batches in window (avg/max claimed) | worker CPU |");
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
                get(r, "worker_cpu_pct"),
            );
        }
        println!();
        println!("### Worker memory (/proc/<pid>/status, sampled at the end of the window){title_suffix}\n");
        println!("| active schedules | RssAnon | VmRSS | RssFile | RssShmem | VmHWM | max RssAnon in window | RssAnon idle before |");
        println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
        for r in &steadies {
            println!(
                "| {} | {}{} | {} | {} | {} | {} | {} | {} |",
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

    // Targets.
    println!("### Targets (workflow_scheduler)\n");
    println!("| target | measured | verdict |");
    println!("|---|---|---|");
    let verdict = |ok: Option<bool>| match ok {
        Some(true) => "met",
        Some(false) => "MISSED",
        None => "not measured",
    };
    let b10k = by("burst", "ws", 10_000);
    let drain = b10k.map(|r| num(r, "drain_ms"));
    let complete = b10k.is_some_and(|r| num(r, "received") == 10_000.0);
    println!(
        "| drain 10,000 simultaneous schedules in <= 2 s | {} | {} |",
        drain.map_or("-".into(), |d| format!("{d:.0} ms{}", if complete { "" } else { " (incomplete!)" })),
        verdict(drain.map(|d| complete && d <= 2000.0))
    );
    let rate = b10k.map(|r| num(r, "fires_per_s"));
    println!(
        "| >= 5,000 fires/s sustained (10,000 / drain) | {} | {} |",
        rate.map_or("-".into(), |x| format!("{x:.0} fires/s")),
        verdict(rate.map(|x| x >= 5000.0))
    );
    let s100k = by("steady", "ws", 100_000);
    let p99 = s100k.map(|r| num(r, "p99_ms"));
    let all_in = s100k.is_some_and(|r| num(r, "received") >= num(r, "expected") - 1.0);
    println!(
        "| steady-state p99 delay <= 50 ms (100,000 schedules) | {} | {} |",
        p99.map_or("-".into(), |x| format!("{x:.1} ms{}", if all_in { "" } else { " (fires missing!)" })),
        verdict(p99.map(|x| all_in && x <= 50.0))
    );
    let s1k = by("steady", "ws", 1_000);
    match (s1k, s100k) {
        (Some(a), Some(b)) => {
            let (a_anon, b_anon) = (num(a, "rss_anon_kb"), num(b, "rss_anon_kb"));
            let growth = b_anon - a_anon;
            // "Flat": within 10% or 1 MiB, whichever is larger.
            let flat = growth <= (a_anon * 0.10).max(1024.0);
            println!(
                "| worker memory flat from 1,000 to 100,000 schedules (RssAnon within max(10%, 1 MiB)) | RssAnon {} -> {} ({:+.0} kB); VmRSS {} -> {} | {} |",
                mib(a_anon),
                mib(b_anon),
                growth,
                mib(num(a, "rss_kb")),
                mib(num(b, "rss_kb")),
                verdict(Some(flat))
            );
        }
        _ => println!("| worker memory flat from 1,000 to 100,000 schedules | - | not measured |"),
    }
    println!();
    for n in [1_000u64, 10_000] {
        if let (Some(w), Some(c)) = (by("burst", "ws", n), by("burst", "pg_cron", n)) {
            println!(
                "pg_cron / workflow_scheduler at N={n}: drain {:.1}x, p50 {:.1}x",
                num(c, "drain_ms") / num(w, "drain_ms"),
                num(c, "p50_ms") / num(w, "p50_ms")
            );
        }
    }
}
