//! The pool with the real client: every job answered once, the wake socket readable when
//! outcomes wait and quiet once drained, as the worker's WaitLatchOrSocket loop needs.

mod common;

use std::collections::BTreeMap;
use std::os::fd::RawFd;
use std::sync::Arc;
use std::time::Duration;

use common::{hook_request, loopback_client, status, Receiver};
use delivery_core::{DeliveryPool, Finished, Job, OutcomeClass};

/// poll(2) on the wake socket, as WaitLatchOrSocket would: true when readable.
fn readable(fd: RawFd, timeout: Duration) -> bool {
    let mut pollfd = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
    // SAFETY: one valid pollfd, for the length given.
    let ready = unsafe { libc::poll(&mut pollfd, 1, timeout.as_millis() as libc::c_int) };
    assert!(ready >= 0, "poll failed");
    ready == 1 && pollfd.revents & libc::POLLIN != 0
}

/// The worker's loop: wait on the socket, drain it, take the outcomes.
fn collect(pool: &DeliveryPool<usize>, count: usize) -> Vec<Finished<usize>> {
    let mut all = Vec::new();
    while all.len() < count {
        assert!(readable(pool.wake_fd(), Duration::from_secs(60)), "no wake-up with {} of {count} outcomes", all.len());
        pool.drain_wake();
        all.extend(pool.try_recv_results());
    }
    all
}

#[test]
fn the_pool_returns_every_outcome_and_wakes_the_caller() {
    // Every third request fails, to mix outcomes.
    let receiver = Receiver::start(|n| if n % 3 == 2 { status(503) } else { status(204) });
    let pool = DeliveryPool::start(4, Arc::new(loopback_client())).unwrap();
    assert_eq!(pool.workers(), 4);
    assert!(!readable(pool.wake_fd(), Duration::ZERO), "quiet before any job");

    for tag in 0..30 {
        pool.submit(Job { tag, request: hook_request(&receiver.url(&format!("/{tag}")), 10_000) }).unwrap();
    }
    let results = collect(&pool, 30);

    let by_tag: BTreeMap<usize, OutcomeClass> = results.iter().map(|f| (f.tag, f.outcome.class)).collect();
    assert_eq!(results.len(), 30, "each job answered once");
    assert_eq!(by_tag.keys().copied().collect::<Vec<_>>(), (0..30).collect::<Vec<_>>());
    let delivered = by_tag.values().filter(|c| **c == OutcomeClass::Delivered).count();
    assert_eq!(delivered, 20);
    assert_eq!(by_tag.values().filter(|c| **c == OutcomeClass::RetryLater).count(), 10);
    assert_eq!(receiver.requests().len(), 30);
    assert_eq!(pool.in_flight(), 0);

    pool.drain_wake();
    assert!(!readable(pool.wake_fd(), Duration::ZERO), "quiet once drained");
    assert!(pool.try_recv_results().is_empty());

    let report = pool.shutdown(Duration::from_secs(10));
    assert_eq!(report.still_running, 0);
    assert!(report.finished.is_empty());
}

#[test]
fn a_slow_receiver_does_not_hold_up_the_others() {
    let slow = Receiver::always(common::Reply::Hang(Duration::from_secs(20)));
    let fast = Receiver::always(status(200));
    let pool = DeliveryPool::start(2, Arc::new(loopback_client())).unwrap();
    pool.submit(Job { tag: 0, request: hook_request(&slow.url("/"), 60_000) }).unwrap();
    for tag in 1..=5 {
        pool.submit(Job { tag, request: hook_request(&fast.url("/"), 10_000) }).unwrap();
    }
    // The five fast ones come back while the slow one is still waiting on the other thread.
    let results = collect(&pool, 5);
    assert_eq!(results.iter().map(|f| f.tag).collect::<Vec<_>>(), [1, 2, 3, 4, 5]);
    assert_eq!(pool.in_flight(), 1);

    // Shutdown aborts the slow request instead of waiting out its 60 s timeout.
    let report = pool.shutdown(Duration::ZERO);
    assert_eq!(report.still_running, 0);
    assert_eq!(report.finished.len(), 1);
    let aborted = &report.finished[0];
    assert_eq!((aborted.tag, aborted.outcome.class), (0, OutcomeClass::RetryLater), "{:?}", aborted.outcome.error);
}
