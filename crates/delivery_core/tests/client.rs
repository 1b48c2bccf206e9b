//! The client against real receivers on 127.0.0.1: every outcome class, the guard on the
//! address actually connected to, no redirects, connection reuse, and verifiable signatures.

mod common;

use std::io::{ErrorKind, Read};
use std::net::TcpListener;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use common::{client_with, hook_request, loopback_client, status, status_with_header, Receiver, Reply};
use delivery_core::{next_step, AddressPolicy, NextStep, OutcomeClass, RetryDelays, Secret, SigningSecrets};

#[test]
fn a_2xx_on_the_first_try_is_delivered() {
    let receiver = Receiver::always(status(204));
    let outcome = loopback_client().post(&hook_request(&receiver.url("/hook"), 5_000));
    assert_eq!(outcome.class, OutcomeClass::Delivered);
    assert_eq!(outcome.status, Some(204));
    assert_eq!(outcome.error, None);
    let requests = receiver.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!((requests[0].method.as_str(), requests[0].path.as_str()), ("POST", "/hook"));
    assert_eq!(requests[0].body, br#"{"n":1}"#);
}

#[test]
fn sends_the_contract_headers() {
    let receiver = Receiver::always(status(200));
    let outcome = loopback_client().post(&hook_request(&receiver.url("/"), 5_000));
    let request = &receiver.requests()[0];
    assert_eq!(request.header("content-type"), "application/json");
    assert_eq!(request.header("user-agent"), "workflow_scheduler/0.2.0-test");
    assert_eq!(request.header("authorization"), "Bearer test-token");
    assert_eq!(request.header("webhook-id"), "0190b3a4-7c3e-7d2a-9f00-1f2e3d4c5b6a");
    assert_eq!(request.header("webhook-timestamp"), outcome.timestamp.to_string());
    assert_eq!(request.header("content-length"), "7");
    assert_eq!(request.header("host"), receiver.addr.to_string());
}

/// Standard Webhooks verification, written from the spec rather than with the crate's `sign`.
fn verifies(secret: &str, id: &str, timestamp: &str, body: &[u8], signature: &str) -> bool {
    let key = STANDARD.decode(secret.strip_prefix("whsec_").unwrap()).unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    let expected = STANDARD.encode(mac.finalize().into_bytes());
    signature.strip_prefix("v1,") == Some(expected.as_str())
}

#[test]
fn the_signature_verifies_with_the_secret_and_rotation_sends_both() {
    let receiver = Receiver::always(status(200));
    let old = Secret::generate().unwrap();
    let mut request = hook_request(&receiver.url("/"), 5_000);
    request.secrets = SigningSecrets { current: common::secret(), previous: Some(old.clone()) };
    loopback_client().post(&request);

    let received = &receiver.requests()[0];
    let (id, timestamp) = (received.header("webhook-id"), received.header("webhook-timestamp"));
    let signatures: Vec<&str> = received.header("webhook-signature").split(' ').collect();
    assert_eq!(signatures.len(), 2);
    assert!(verifies(common::secret().as_str(), id, timestamp, &received.body, signatures[0]));
    assert!(verifies(old.as_str(), id, timestamp, &received.body, signatures[1]));
    assert!(!verifies(old.as_str(), id, timestamp, &received.body, signatures[0]));
    assert!(!verifies(common::secret().as_str(), id, timestamp, b"{\"n\":2}", signatures[0]));
}

#[test]
fn a_500_then_a_200_retries_with_the_same_webhook_id() {
    let receiver = Receiver::start(|n| if n == 0 { status(500) } else { status(200) });
    let client = loopback_client();
    let request = hook_request(&receiver.url("/"), 5_000);

    let first = client.post(&request);
    assert_eq!(first.class, OutcomeClass::RetryLater);
    assert_eq!(first.status, Some(500));
    assert_eq!(first.error.as_deref(), Some("HTTP 500 Internal Server Error"));
    assert!(matches!(next_step(1, &RetryDelays::default(), first.retry_after, 0), NextStep::Retry { .. }));

    let second = client.post(&request);
    assert_eq!(second.class, OutcomeClass::Delivered);
    let ids: Vec<String> = receiver.requests().iter().map(|r| r.header("webhook-id").to_owned()).collect();
    assert_eq!(ids, ["0190b3a4-7c3e-7d2a-9f00-1f2e3d4c5b6a"; 2]);
}

#[test]
fn a_receiver_that_hangs_times_out() {
    let receiver = Receiver::always(Reply::Hang(Duration::from_secs(20)));
    let outcome = loopback_client().post(&hook_request(&receiver.url("/"), 300));
    assert_eq!(outcome.class, OutcomeClass::RetryLater);
    assert_eq!(outcome.status, None);
    assert_eq!(outcome.error.as_deref(), Some("timed out after 300 ms"));
    assert_eq!(receiver.requests().len(), 1, "the request was sent before the wait");
}

#[test]
fn a_429_with_retry_after_is_honoured() {
    let receiver = Receiver::always(status_with_header(429, "Retry-After", "7"));
    let outcome = loopback_client().post(&hook_request(&receiver.url("/"), 5_000));
    assert_eq!(outcome.class, OutcomeClass::RetryLater);
    assert_eq!(outcome.status, Some(429));
    assert_eq!(outcome.retry_after, Some(Duration::from_secs(7)));
    // The first default delay is 5 s ± 20%, so the receiver's 7 s wins.
    let step = next_step(1, &RetryDelays::default(), outcome.retry_after, u64::MAX);
    assert_eq!(step, NextStep::Retry { delay: Duration::from_secs(7) });
}

#[test]
fn a_410_is_gone() {
    let receiver = Receiver::always(status(410));
    let outcome = loopback_client().post(&hook_request(&receiver.url("/"), 5_000));
    assert_eq!(outcome.class, OutcomeClass::Gone);
    assert_eq!(outcome.status, Some(410));
    assert_eq!(outcome.error.as_deref(), Some("HTTP 410 Gone"));
}

#[test]
fn a_connection_reset_without_an_answer_is_a_failed_attempt() {
    let receiver = Receiver::always(Reply::Reset);
    let outcome = loopback_client().post(&hook_request(&receiver.url("/"), 5_000));
    assert_eq!(outcome.class, OutcomeClass::RetryLater);
    assert_eq!(outcome.status, None);
    assert_eq!(outcome.error.as_deref(), Some("connection reset by the receiver"));
}

#[test]
fn a_connection_closed_without_an_answer_is_a_failed_attempt() {
    let receiver = Receiver::always(Reply::Close);
    let outcome = loopback_client().post(&hook_request(&receiver.url("/"), 5_000));
    assert_eq!(outcome.class, OutcomeClass::RetryLater);
    assert_eq!(outcome.status, None);
    assert_eq!(outcome.error.as_deref(), Some("connection closed by the receiver before a response"));
}

#[test]
fn a_closed_port_is_connection_refused() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let outcome = loopback_client().post(&hook_request(&format!("http://127.0.0.1:{port}/"), 5_000));
    assert_eq!(outcome.class, OutcomeClass::RetryLater);
    assert_eq!(outcome.error.as_deref(), Some("connection refused"));
}

#[test]
fn a_302_is_a_failure_and_is_not_followed() {
    let target = Receiver::always(status(200));
    let location = target.url("/elsewhere");
    let receiver = Receiver::always(status_with_header(302, "Location", &location));
    let outcome = loopback_client().post(&hook_request(&receiver.url("/"), 5_000));
    assert_eq!(outcome.class, OutcomeClass::RetryLater);
    assert_eq!(outcome.status, Some(302));
    assert_eq!(outcome.error, Some(format!("HTTP 302 Found: redirect to {location} not followed")));
    assert_eq!(receiver.requests().len(), 1);
    assert_eq!(target.connections(), 0);
}

/// A listener nobody serves: a non-blocking accept shows whether anyone connected.
fn silent_listener() -> TcpListener {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    listener
}

fn nobody_connected(listener: &TcpListener) -> bool {
    matches!(listener.accept(), Err(e) if e.kind() == ErrorKind::WouldBlock)
}

#[test]
fn loopback_is_refused_when_nothing_is_allowed() {
    let listener = silent_listener();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let outcome = client_with(AddressPolicy::default()).post(&hook_request(&url, 5_000));
    assert_eq!(outcome.class, OutcomeClass::RefusedByGuard);
    assert_eq!(outcome.error.as_deref(), Some("address not allowed: 127.0.0.1"));
    assert_eq!(outcome.status, None);
    assert!(nobody_connected(&listener), "the guard must refuse before connecting");
    // The same listener is reachable once allowed: the refusal above was the guard's.
    let allowed = loopback_client().post(&hook_request(&url, 300));
    assert_ne!(allowed.class, OutcomeClass::RefusedByGuard);
    assert!(!nobody_connected(&listener));
}

#[test]
fn an_address_outside_the_allowed_list_is_refused_before_connecting() {
    // Nothing listens on 127.0.0.2: a connection attempt would say "connection refused".
    let outcome = loopback_client().post(&hook_request("http://127.0.0.2:9/", 5_000));
    assert_eq!(outcome.class, OutcomeClass::RefusedByGuard);
    assert_eq!(outcome.error.as_deref(), Some("address not allowed: 127.0.0.2"));
}

#[test]
fn a_name_resolving_to_loopback_is_refused_when_not_allowed() {
    let listener = silent_listener();
    let url = format!("http://localhost:{}/", listener.local_addr().unwrap().port());
    let outcome = client_with(AddressPolicy::default()).post(&hook_request(&url, 5_000));
    assert_eq!(outcome.class, OutcomeClass::RefusedByGuard);
    assert!(outcome.error.unwrap().starts_with("address not allowed: "));
    assert!(nobody_connected(&listener));
}

#[test]
fn an_ipv4_mapped_loopback_literal_is_refused() {
    let outcome = client_with(AddressPolicy::default()).post(&hook_request("http://[::ffff:127.0.0.1]:9/", 5_000));
    assert_eq!(outcome.class, OutcomeClass::RefusedByGuard);
    assert_eq!(outcome.error.as_deref(), Some("address not allowed: ::ffff:127.0.0.1"));
}

#[test]
fn a_new_policy_applies_to_the_next_request() {
    let receiver = Receiver::always(status(200));
    let client = loopback_client();
    let request = hook_request(&receiver.url("/"), 5_000);
    assert_eq!(client.post(&request).class, OutcomeClass::Delivered);
    client.set_policy(AddressPolicy::default());
    assert_eq!(client.post(&request).class, OutcomeClass::RefusedByGuard);
    assert_eq!(receiver.requests().len(), 1);
}

#[test]
fn sequential_requests_reuse_one_connection() {
    let receiver = Receiver::always(status(200));
    let client = loopback_client();
    let request = hook_request(&receiver.url("/"), 5_000);
    for _ in 0..5 {
        assert_eq!(client.post(&request).class, OutcomeClass::Delivered);
    }
    assert_eq!(receiver.requests().len(), 5);
    assert_eq!(receiver.connections(), 1);
    assert!(receiver.requests().iter().all(|r| r.connection == 0));
}

#[test]
fn reads_at_most_4_kib_of_a_response_body() {
    let big = vec![b'x'; 1 << 20];
    let receiver = Receiver::always(Reply::Status(500, Vec::new(), big));
    let outcome = loopback_client().post(&hook_request(&receiver.url("/"), 5_000));
    assert_eq!(outcome.status, Some(500));
    assert_eq!(outcome.body_excerpt.len(), 4096);
}

#[test]
fn https_speaks_tls() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("https://{}/", listener.local_addr().unwrap());
    let server = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut first = [0u8; 1];
        stream.read_exact(&mut first).unwrap();
        first[0]
    });
    let outcome = loopback_client().post(&hook_request(&url, 5_000));
    // 0x16: a TLS handshake record (the ClientHello).
    assert_eq!(server.join().unwrap(), 0x16);
    assert_eq!(outcome.class, OutcomeClass::RetryLater);
    assert_eq!(outcome.status, None);
}
