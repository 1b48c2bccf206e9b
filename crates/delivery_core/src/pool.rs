//! A fixed pool of plain threads that send hook requests, for a Postgres background worker.
//!
//! Postgres allows its API on the main thread only, so the threads here never touch it: jobs
//! arrive on a channel, outcomes leave on another, and after each outcome a thread writes a
//! byte to a socket. The main thread waits on its latch plus that socket
//! (`WaitLatchOrSocket` with [`DeliveryPool::wake_fd`]), so it sleeps until there is
//! something to record, without polling.
//!
//! The threads start with every signal blocked: Postgres's handlers (SIGTERM, SIGHUP, the
//! latch's SIGURG) must run on the main thread. A panic while sending becomes a failed
//! attempt; it never takes a thread, or the pool, down.

use std::any::Any;
use std::cell::Cell;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::client::{AttemptOutcome, HttpClient, OutcomeClass};
use crate::request::HookRequest;

/// `workflow_scheduler.http_workers`' default.
pub const DEFAULT_HTTP_WORKERS: usize = 16;

/// How long shutdown waits for threads after aborting their requests.
const ABORT_WAIT: Duration = Duration::from_secs(1);

/// Sends one attempt. [`HttpClient`] is the real one; the seam exists so the pool's own
/// rules (every job answered, panics contained, signals blocked) can be tested alone.
pub trait Deliver: Send + Sync + 'static {
    fn deliver(&self, request: &HookRequest) -> AttemptOutcome;

    /// Makes requests in flight return at once; called when shutdown's grace runs out.
    fn abort(&self) {}
}

impl Deliver for HttpClient {
    fn deliver(&self, request: &HookRequest) -> AttemptOutcome {
        self.post(request)
    }

    fn abort(&self) {
        self.shutdown();
    }
}

/// One attempt to send. `tag` is the caller's bookkeeping (a delivery id, the hook, the
/// attempt number), returned untouched with the outcome.
#[derive(Debug)]
pub struct Job<T> {
    pub tag: T,
    pub request: HookRequest,
}

/// A job's outcome, with its tag.
#[derive(Debug)]
pub struct Finished<T> {
    pub tag: T,
    pub outcome: AttemptOutcome,
}

/// What shutdown collected, and what it could not stop.
#[derive(Debug)]
pub struct ShutdownReport<T> {
    /// Outcomes that arrived before the pool stopped, not yet taken by the caller.
    pub finished: Vec<Finished<T>>,
    /// Threads still running when shutdown gave up on them (they end with the process).
    pub still_running: usize,
}

/// The pool. Owned by one thread (the worker's main thread); the threads inside it share
/// only the job queue, the result channel and the wake socket.
pub struct DeliveryPool<T> {
    jobs: Sender<Job<T>>,
    results: Receiver<Finished<T>>,
    wake_reader: UnixStream,
    threads: Vec<JoinHandle<()>>,
    stopping: Arc<AtomicBool>,
    deliverer: Arc<dyn Deliver>,
    in_flight: Cell<usize>,
}

impl<T: Send + 'static> DeliveryPool<T> {
    /// Starts `workers` threads (at least one) sending with `deliverer`.
    pub fn start(workers: usize, deliverer: Arc<dyn Deliver>) -> io::Result<DeliveryPool<T>> {
        if workers == 0 {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "a delivery pool needs at least one thread"));
        }
        let (wake_reader, wake_writer) = UnixStream::pair()?;
        // Neither side may block: the main thread drains until empty, and a thread finding the
        // socket full can skip its byte because the socket is readable already.
        wake_reader.set_nonblocking(true)?;
        wake_writer.set_nonblocking(true)?;
        let wake_writer = Arc::new(wake_writer);
        let (jobs, job_queue) = mpsc::channel::<Job<T>>();
        let job_queue = Arc::new(Mutex::new(job_queue));
        let (result_sender, results) = mpsc::channel();
        let stopping = Arc::new(AtomicBool::new(false));

        let mut threads = Vec::with_capacity(workers);
        {
            let _blocked = SignalsBlocked::new();
            for index in 0..workers {
                let thread = PoolThread {
                    jobs: Arc::clone(&job_queue),
                    results: result_sender.clone(),
                    wake: Arc::clone(&wake_writer),
                    stopping: Arc::clone(&stopping),
                    deliverer: Arc::clone(&deliverer),
                };
                threads.push(std::thread::Builder::new().name(format!("ws-http-{index}")).spawn(move || thread.run())?);
            }
        }
        Ok(DeliveryPool { jobs, results, wake_reader, threads, stopping, deliverer, in_flight: Cell::new(0) })
    }

    /// Queues a job for the next free thread. Gives the job back if no thread is left to
    /// take it (they only end at shutdown, so this means a bug).
    pub fn submit(&self, job: Job<T>) -> Result<(), Box<Job<T>>> {
        self.jobs.send(job).map_err(|mpsc::SendError(job)| Box::new(job))?;
        self.in_flight.set(self.in_flight.get() + 1);
        Ok(())
    }

    /// Every outcome that has arrived, without waiting.
    pub fn try_recv_results(&self) -> Vec<Finished<T>> {
        let finished: Vec<Finished<T>> = self.results.try_iter().collect();
        self.in_flight.set(self.in_flight.get().saturating_sub(finished.len()));
        finished
    }

    /// Jobs submitted whose outcome has not been taken yet.
    pub fn in_flight(&self) -> usize {
        self.in_flight.get()
    }

    /// The number of threads.
    pub fn workers(&self) -> usize {
        self.threads.len()
    }

    /// Readable when outcomes may be waiting: the socket for `WaitLatchOrSocket`.
    pub fn wake_fd(&self) -> RawFd {
        self.wake_reader.as_raw_fd()
    }

    /// Empties the wake socket. Call it before [`try_recv_results`](Self::try_recv_results):
    /// a byte written after the drain then wakes the next wait, so no outcome is missed.
    pub fn drain_wake(&self) {
        let mut buf = [0u8; 256];
        // Stops at WouldBlock (empty), at end of stream, or at any other error alike.
        while matches!((&self.wake_reader).read(&mut buf), Ok(n) if n > 0) {}
    }

    /// Stops the pool: queued jobs are dropped unsent (the outbox still has them), requests
    /// in flight get `grace` to finish, then are aborted (which leaves an [`HttpClient`]
    /// deliverer shut down for good). Returns the outcomes that arrived.
    pub fn shutdown(mut self, grace: Duration) -> ShutdownReport<T> {
        self.stopping.store(true, Ordering::SeqCst);
        // Wake threads blocked on an empty queue: with every sender gone, recv fails.
        let (closed, _) = mpsc::channel();
        drop(std::mem::replace(&mut self.jobs, closed));

        let mut finished = self.try_recv_results();
        self.wait_for_threads(Instant::now() + grace, &mut finished);
        if self.threads.iter().any(|t| !t.is_finished()) {
            self.deliverer.abort();
            self.wait_for_threads(Instant::now() + ABORT_WAIT, &mut finished);
        }
        finished.extend(self.try_recv_results());
        let (done, running): (Vec<_>, Vec<_>) = self.threads.drain(..).partition(|t| t.is_finished());
        for thread in done {
            let _ = thread.join();
        }
        ShutdownReport { finished, still_running: running.len() }
    }

    fn wait_for_threads(&self, deadline: Instant, finished: &mut Vec<Finished<T>>) {
        while self.threads.iter().any(|t| !t.is_finished()) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            // A short slice: thread exits are not signalled, outcomes are.
            match self.results.recv_timeout(left.min(Duration::from_millis(10))) {
                Ok(one) => finished.push(one),
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {}
            }
        }
    }
}

impl<T> Drop for DeliveryPool<T> {
    /// A pool dropped without shutdown stops taking jobs; its threads end after their
    /// current request.
    fn drop(&mut self) {
        self.stopping.store(true, Ordering::SeqCst);
    }
}

/// What one thread holds.
struct PoolThread<T> {
    jobs: Arc<Mutex<Receiver<Job<T>>>>,
    results: Sender<Finished<T>>,
    wake: Arc<UnixStream>,
    stopping: Arc<AtomicBool>,
    deliverer: Arc<dyn Deliver>,
}

impl<T> PoolThread<T> {
    fn run(self) {
        loop {
            // The lock is held only while waiting for a job; nothing in it can panic.
            let job = match self.jobs.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).recv() {
                Ok(job) => job,
                Err(_) => return,
            };
            if self.stopping.load(Ordering::SeqCst) {
                continue;
            }
            let outcome = self.deliver_catching_panics(&job.request);
            if self.results.send(Finished { tag: job.tag, outcome }).is_err() {
                return;
            }
            // WouldBlock means the socket is full, hence readable: the wake-up is not lost.
            let _ = (&*self.wake).write(&[1]);
        }
    }

    fn deliver_catching_panics(&self, request: &HookRequest) -> AttemptOutcome {
        let started = Instant::now();
        catch_unwind(AssertUnwindSafe(|| self.deliverer.deliver(request))).unwrap_or_else(|panic| {
            let timestamp = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
            let error = format!("internal error: the delivery thread panicked: {}", panic_message(&*panic));
            AttemptOutcome::failed(OutcomeClass::RetryLater, error, started.elapsed(), timestamp)
        })
    }
}

fn panic_message(panic: &(dyn Any + Send)) -> &str {
    panic.downcast_ref::<&str>().copied().or_else(|| panic.downcast_ref::<String>().map(String::as_str)).unwrap_or("?")
}

/// Blocks every signal in the calling thread until dropped, so that threads spawned
/// meanwhile inherit a fully blocked mask.
struct SignalsBlocked {
    previous: libc::sigset_t,
}

impl SignalsBlocked {
    fn new() -> SignalsBlocked {
        // SAFETY: sigset_t is plain data; sigfillset and pthread_sigmask only write into the
        // sets passed, which live on this stack frame.
        unsafe {
            let mut all: libc::sigset_t = std::mem::zeroed();
            let mut previous: libc::sigset_t = std::mem::zeroed();
            libc::sigfillset(&mut all);
            libc::pthread_sigmask(libc::SIG_BLOCK, &all, &mut previous);
            SignalsBlocked { previous }
        }
    }
}

impl Drop for SignalsBlocked {
    fn drop(&mut self) {
        // SAFETY: restores the mask saved by `new`, on the same thread.
        unsafe {
            libc::pthread_sigmask(libc::SIG_SETMASK, &self.previous, std::ptr::null_mut());
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use super::*;
    use crate::signature::{Secret, SigningSecrets};

    fn request(url: &str) -> HookRequest {
        HookRequest {
            url: url.to_owned(),
            webhook_id: "id".to_owned(),
            body: b"{}".to_vec(),
            headers: Vec::new(),
            secrets: SigningSecrets::single(Secret::generate().unwrap()),
            timeout: Duration::from_secs(1),
        }
    }

    fn delivered() -> AttemptOutcome {
        AttemptOutcome {
            class: OutcomeClass::Delivered,
            status: Some(204),
            retry_after: None,
            error: None,
            body_excerpt: String::new(),
            latency: Duration::ZERO,
            timestamp: 0,
        }
    }

    /// Answers 204, or panics when the URL says so.
    struct Scripted;

    impl Deliver for Scripted {
        fn deliver(&self, request: &HookRequest) -> AttemptOutcome {
            if request.url.contains("panic") {
                panic!("scripted panic for {}", request.url);
            }
            delivered()
        }
    }

    fn wait_for(pool: &DeliveryPool<usize>, count: usize) -> Vec<Finished<usize>> {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut all = Vec::new();
        while all.len() < count && Instant::now() < deadline {
            all.extend(pool.try_recv_results());
            std::thread::sleep(Duration::from_millis(2));
        }
        all
    }

    #[test]
    fn a_panicking_job_becomes_a_failed_attempt_and_the_pool_keeps_working() {
        let pool = DeliveryPool::start(1, Arc::new(Scripted)).unwrap();
        pool.submit(Job { tag: 1, request: request("http://x/panic") }).unwrap();
        pool.submit(Job { tag: 2, request: request("http://x/fine") }).unwrap();
        let mut results = wait_for(&pool, 2);
        results.sort_by_key(|f| f.tag);
        assert_eq!(results.len(), 2);
        let failed = &results[0].outcome;
        assert_eq!(failed.class, OutcomeClass::RetryLater);
        assert_eq!(
            failed.error.as_deref(),
            Some("internal error: the delivery thread panicked: scripted panic for http://x/panic")
        );
        assert_eq!(results[1].outcome.class, OutcomeClass::Delivered);
        assert_eq!(pool.in_flight(), 0);
        assert_eq!(pool.shutdown(Duration::from_secs(5)).still_running, 0);
    }

    /// Reports whether SIGTERM, SIGHUP, SIGUSR1 and SIGURG are blocked in the sending thread.
    struct SignalProbe(Arc<AtomicUsize>);

    impl Deliver for SignalProbe {
        fn deliver(&self, _: &HookRequest) -> AttemptOutcome {
            // SAFETY: reads this thread's mask into a local set.
            let blocked = unsafe {
                let mut current: libc::sigset_t = std::mem::zeroed();
                libc::pthread_sigmask(libc::SIG_BLOCK, std::ptr::null(), &mut current);
                [libc::SIGTERM, libc::SIGHUP, libc::SIGUSR1, libc::SIGURG, libc::SIGINT]
                    .iter()
                    .all(|&s| libc::sigismember(&current, s) == 1)
            };
            if blocked {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
            delivered()
        }
    }

    #[test]
    fn threads_run_with_signals_blocked_and_the_caller_keeps_its_mask() {
        // SAFETY: reads this thread's mask into a local set.
        let caller_blocks_term = || unsafe {
            let mut current: libc::sigset_t = std::mem::zeroed();
            libc::pthread_sigmask(libc::SIG_BLOCK, std::ptr::null(), &mut current);
            libc::sigismember(&current, libc::SIGTERM) == 1
        };
        let before = caller_blocks_term();
        let blocked = Arc::new(AtomicUsize::new(0));
        let pool = DeliveryPool::start(3, Arc::new(SignalProbe(Arc::clone(&blocked)))).unwrap();
        assert_eq!(caller_blocks_term(), before);
        for tag in 0..6 {
            pool.submit(Job { tag, request: request("http://x/") }).unwrap();
        }
        assert_eq!(wait_for(&pool, 6).len(), 6);
        assert_eq!(blocked.load(Ordering::SeqCst), 6);
        pool.shutdown(Duration::from_secs(5));
    }

    #[test]
    fn refuses_to_start_without_threads() {
        let err = DeliveryPool::<usize>::start(0, Arc::new(Scripted)).err().unwrap();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }

    /// Blocks until released (or aborted), counting calls and aborts.
    struct Gate {
        started: AtomicUsize,
        aborted: AtomicUsize,
        release: Mutex<Receiver<()>>,
        abort_release: Mutex<Sender<()>>,
    }

    fn gate() -> (Arc<Gate>, Sender<()>) {
        let (release, gate) = mpsc::channel();
        let deliverer = Gate {
            started: AtomicUsize::new(0),
            aborted: AtomicUsize::new(0),
            release: Mutex::new(gate),
            abort_release: Mutex::new(release.clone()),
        };
        (Arc::new(deliverer), release)
    }

    impl Deliver for Gate {
        fn deliver(&self, _: &HookRequest) -> AttemptOutcome {
            self.started.fetch_add(1, Ordering::SeqCst);
            let _ = self.release.lock().unwrap().recv_timeout(Duration::from_secs(60));
            delivered()
        }

        fn abort(&self) {
            self.aborted.fetch_add(1, Ordering::SeqCst);
            let _ = self.abort_release.lock().unwrap().send(());
        }
    }

    fn start_gated(deliverer: &Arc<Gate>, jobs: usize) -> DeliveryPool<usize> {
        let pool = DeliveryPool::start(1, Arc::clone(deliverer) as Arc<dyn Deliver>).unwrap();
        for tag in 0..jobs {
            pool.submit(Job { tag, request: request("http://x/") }).unwrap();
        }
        while deliverer.started.load(Ordering::SeqCst) == 0 {
            std::thread::sleep(Duration::from_millis(1));
        }
        pool
    }

    #[test]
    fn shutdown_drops_queued_jobs_and_returns_outcomes_of_those_in_flight() {
        let (deliverer, release) = gate();
        let pool = start_gated(&deliverer, 5);
        // Release the job in flight only once shutdown has begun, so no queued job starts.
        let stopping = Arc::clone(&pool.stopping);
        let releaser = std::thread::spawn(move || {
            while !stopping.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(1));
            }
            release.send(()).unwrap();
        });
        let report = pool.shutdown(Duration::from_secs(60));
        releaser.join().unwrap();
        assert_eq!(report.still_running, 0);
        assert_eq!(report.finished.iter().map(|f| f.tag).collect::<Vec<_>>(), [0]);
        assert_eq!(deliverer.started.load(Ordering::SeqCst), 1);
        assert_eq!(deliverer.aborted.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn shutdown_aborts_requests_that_outlive_the_grace() {
        let (deliverer, _release) = gate();
        let pool = start_gated(&deliverer, 3);
        let report = pool.shutdown(Duration::ZERO);
        assert_eq!(deliverer.aborted.load(Ordering::SeqCst), 1);
        assert_eq!(deliverer.started.load(Ordering::SeqCst), 1);
        // The aborted job's outcome is either collected or still on its way; never a queued one.
        assert!(report.finished.iter().all(|f| f.tag == 0));
    }
}
