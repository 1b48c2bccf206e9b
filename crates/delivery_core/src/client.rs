//! The blocking HTTP client: one POST per call, its outcome classified for the worker.
//!
//! ureq 3 on rustls, configured so that nothing but the hook's URL decides where a request
//! goes: proxies from the environment are ignored, redirects are not followed, and a custom
//! resolver drops every address the guard refuses before ureq connects. One `Agent` is shared
//! by all pool threads, so connections to a receiver are reused.

use std::io::{self, Read};
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::RwLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ureq::config::Config;
use ureq::http::{header, StatusCode, Uri};
use ureq::unversioned::resolver::{ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{DefaultConnector, NextTimeout};
use ureq::Agent;

use crate::address_guard::{AddressPolicy, AddressRefused};
use crate::hook_url::HookUrl;
use crate::request::{build_headers, HookRequest};
use crate::retry::parse_retry_after;

/// How much of a response body is read: enough for an error message, never a large download.
pub const MAX_RESPONSE_BODY: u64 = 4096;

/// Idle connections older than this are not reused: below the common 5 s keep-alive of
/// receivers, so the worker rarely sends on a connection the receiver is closing.
const MAX_IDLE_AGE: Duration = Duration::from_secs(4);

/// What the worker does with an attempt (PRODUCT.md, "Outcomes").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutcomeClass {
    /// 2xx: the delivery is `delivered`.
    Delivered,
    /// 410: the hook is disabled; its deliveries wait.
    Gone,
    /// Anything else: another status (3xx included), a timeout, a refused or reset
    /// connection, a TLS or protocol error. Tried again after the next delay.
    RetryLater,
    /// Every address of the host was refused by the SSRF guard; nothing was sent.
    RefusedByGuard,
}

/// The result of one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptOutcome {
    pub class: OutcomeClass,
    /// The response status, when a response came.
    pub status: Option<u16>,
    /// The receiver's `Retry-After`, already capped at an hour.
    pub retry_after: Option<Duration>,
    /// What went wrong, for `last_error`; `None` when delivered.
    pub error: Option<String>,
    /// The start of the response body (at most [`MAX_RESPONSE_BODY`] bytes, lossy UTF-8).
    pub body_excerpt: String,
    /// From the start of the attempt to the end of the response (or the failure).
    pub latency: Duration,
    /// The `webhook-timestamp` of this attempt, Unix seconds.
    pub timestamp: i64,
}

impl AttemptOutcome {
    /// An attempt that produced no response.
    pub fn failed(class: OutcomeClass, error: String, latency: Duration, timestamp: i64) -> AttemptOutcome {
        AttemptOutcome {
            class,
            status: None,
            retry_after: None,
            error: Some(error),
            body_excerpt: String::new(),
            latency,
            timestamp,
        }
    }
}

/// Settings fixed for the client's life.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// The extension's version, sent as `User-Agent: workflow_scheduler/<version>`.
    pub version: String,
    /// The SSRF guard's exceptions (`http_allowed_cidrs`); replaceable later.
    pub policy: AddressPolicy,
    /// Idle connections kept per receiver: at least the number of pool threads, so each
    /// thread can keep its own connection to a busy receiver.
    pub max_idle_per_host: usize,
}

/// A blocking HTTP client for hook requests, safe to share between threads.
#[derive(Debug)]
pub struct HttpClient {
    version: String,
    max_idle_per_host: usize,
    // Replaced whole when the policy changes, which also drops pooled connections that the
    // new policy might refuse.
    agent: RwLock<Agent>,
}

impl HttpClient {
    pub fn new(config: ClientConfig) -> HttpClient {
        let agent = build_agent(config.policy, config.max_idle_per_host);
        HttpClient { version: config.version, max_idle_per_host: config.max_idle_per_host, agent: RwLock::new(agent) }
    }

    /// Applies a new `http_allowed_cidrs` (after SIGHUP). Requests in flight finish under
    /// the old policy; idle connections made under it are not reused.
    pub fn set_policy(&self, policy: AddressPolicy) {
        let agent = build_agent(policy, self.max_idle_per_host);
        *self.agent.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = agent;
    }

    /// Aborts requests in flight and fails later ones: for a worker that must stop now.
    pub fn shutdown(&self) {
        self.agent().shutdown();
    }

    fn agent(&self) -> Agent {
        self.agent.read().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    /// Sends one attempt of `request` and classifies what happened. Never panics on
    /// network errors: every failure is an outcome.
    pub fn post(&self, request: &HookRequest) -> AttemptOutcome {
        let started = Instant::now();
        let timestamp = unix_seconds(SystemTime::now());
        let failed = |class, error: String| AttemptOutcome::failed(class, error, started.elapsed(), timestamp);

        let url = match HookUrl::parse(&request.url) {
            Ok(url) => url,
            Err(e) => return failed(OutcomeClass::RetryLater, format!("Invalid hook URL: {e}")),
        };
        let headers = match build_headers(request, &self.version, timestamp) {
            Ok(headers) => headers,
            Err(e) => return failed(OutcomeClass::RetryLater, format!("Invalid hook headers: {e}")),
        };

        let mut builder =
            self.agent().post(url.as_uri().clone()).config().timeout_global(Some(request.timeout)).build();
        for (name, value) in headers {
            builder = builder.header(name, value);
        }
        let mut response = match builder.send(&request.body[..]) {
            Ok(response) => response,
            Err(e) => {
                let (class, text) = describe_error(&e, request.timeout);
                return failed(class, text);
            }
        };

        let status = response.status();
        let retry_after = response
            .headers()
            .get(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, SystemTime::now()));
        let location = response.headers().get(header::LOCATION).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let mut body = Vec::new();
        // The status decides the outcome; a body that fails halfway only shortens the excerpt.
        let _ = response.body_mut().as_reader().take(MAX_RESPONSE_BODY).read_to_end(&mut body);

        let (class, error) = classify_status(status, location.as_deref());
        AttemptOutcome {
            class,
            status: Some(status.as_u16()),
            retry_after,
            error,
            body_excerpt: String::from_utf8_lossy(&body).into_owned(),
            latency: started.elapsed(),
            timestamp,
        }
    }
}

fn build_agent(policy: AddressPolicy, max_idle_per_host: usize) -> Agent {
    let per_host = max_idle_per_host.max(1);
    let config = Agent::config_builder()
        // 4xx and 5xx are outcomes to record, not errors.
        .http_status_as_error(false)
        // A 3xx is a failed attempt, returned as a response (its Location is recorded).
        .max_redirects(0)
        .max_redirects_will_error(false)
        // ALL_PROXY/HTTP_PROXY/HTTPS_PROXY would route around the guard.
        .proxy(None)
        // Our own User-Agent header is always set; never fall back to ureq's.
        .user_agent("")
        .max_idle_connections(per_host.saturating_mul(4))
        .max_idle_connections_per_host(per_host)
        .max_idle_age(MAX_IDLE_AGE)
        .build();
    Agent::with_parts(config, DefaultConnector::default(), GuardedResolver { policy })
}

/// Outcome class and error text of a response status.
fn classify_status(status: StatusCode, location: Option<&str>) -> (OutcomeClass, Option<String>) {
    let line = format!("HTTP {} {}", status.as_u16(), status.canonical_reason().unwrap_or("")).trim_end().to_owned();
    if status.is_success() {
        (OutcomeClass::Delivered, None)
    } else if status == StatusCode::GONE {
        (OutcomeClass::Gone, Some(line))
    } else if status.is_redirection() {
        let target = location.map_or(String::new(), |l| format!(" to {l}"));
        (OutcomeClass::RetryLater, Some(format!("{line}: redirect{target} not followed")))
    } else {
        (OutcomeClass::RetryLater, Some(line))
    }
}

/// Outcome class and error text of a request that got no response.
fn describe_error(error: &ureq::Error, timeout: Duration) -> (OutcomeClass, String) {
    let retry = OutcomeClass::RetryLater;
    match error {
        ureq::Error::Io(io) => {
            if let Some(refused) = io.get_ref().and_then(|inner| inner.downcast_ref::<AddressRefused>()) {
                return (OutcomeClass::RefusedByGuard, refused.to_string());
            }
            let text = match io.kind() {
                io::ErrorKind::ConnectionRefused => "connection refused".to_owned(),
                io::ErrorKind::ConnectionReset => "connection reset by the receiver".to_owned(),
                io::ErrorKind::ConnectionAborted => "connection aborted".to_owned(),
                io::ErrorKind::UnexpectedEof => "connection closed by the receiver before a response".to_owned(),
                io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => {
                    format!("timed out after {} ms", timeout.as_millis())
                }
                _ => format!("network error: {io}"),
            };
            (retry, text)
        }
        // The hook's timeout is ureq's global one; other phases only time out by ureq defaults.
        ureq::Error::Timeout(ureq::Timeout::Global) => (retry, format!("timed out after {} ms", timeout.as_millis())),
        ureq::Error::Timeout(phase) => (retry, format!("timed out ({phase})")),
        ureq::Error::HostNotFound => (retry, "host not found".to_owned()),
        ureq::Error::Protocol(e) => (retry, format!("invalid HTTP response: {e}")),
        ureq::Error::Tls(e) => (retry, format!("TLS error: {e}")),
        ureq::Error::Rustls(e) => (retry, format!("TLS error: {e}")),
        other => (retry, other.to_string()),
    }
}

fn unix_seconds(at: SystemTime) -> i64 {
    at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

/// Resolves with the system resolver on the calling thread, then keeps only the addresses
/// the guard allows: ureq connects to exactly what this returns.
#[derive(Debug)]
struct GuardedResolver {
    policy: AddressPolicy,
}

impl Resolver for GuardedResolver {
    fn resolve(&self, uri: &Uri, config: &Config, _timeout: NextTimeout) -> Result<ResolvedSocketAddrs, ureq::Error> {
        // getaddrinfo has no timeout; the hook's overall timeout cannot interrupt it either way,
        // and ureq's alternative spawns a thread per lookup.
        let authority = uri.authority().ok_or_else(|| ureq::Error::BadUri("no host".to_owned()))?;
        let default_port = if uri.scheme_str() == Some("https") { 443 } else { 80 };
        let target = format!("{}:{}", authority.host(), authority.port_u16().unwrap_or(default_port));
        let resolved: Vec<SocketAddr> = config.ip_family().keep_wanted(target.to_socket_addrs()?).collect();

        let mut kept = self.empty();
        let mut first_refused = None;
        for addr in resolved {
            match self.policy.check(addr.ip()) {
                // ureq keeps at most 16 addresses; later ones would never be tried anyway.
                Ok(()) => {
                    let _ = kept.try_push(addr);
                }
                Err(refused) => {
                    first_refused.get_or_insert(refused);
                }
            }
        }
        match first_refused {
            Some(refused) if kept.is_empty() => {
                Err(ureq::Error::Io(io::Error::new(io::ErrorKind::PermissionDenied, refused)))
            }
            _ if kept.is_empty() => Err(ureq::Error::HostNotFound),
            _ => Ok(kept),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address_guard::Cidr;
    use crate::signature::{Secret, SigningSecrets};

    fn resolve(policy: AddressPolicy, url: &str) -> Result<Vec<SocketAddr>, ureq::Error> {
        let uri: Uri = url.parse().unwrap();
        let resolver = GuardedResolver { policy };
        resolver.resolve(&uri, &Config::default(), NextTimeout::default()).map(|addrs| addrs.iter().copied().collect())
    }

    fn refusal(result: Result<Vec<SocketAddr>, ureq::Error>) -> String {
        match result {
            Err(ureq::Error::Io(io)) => io.get_ref().unwrap().downcast_ref::<AddressRefused>().unwrap().to_string(),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn resolver_refuses_denied_literals_with_the_contract_text() {
        assert_eq!(
            refusal(resolve(AddressPolicy::default(), "http://127.0.0.1:8080/")),
            "address not allowed: 127.0.0.1"
        );
        assert_eq!(refusal(resolve(AddressPolicy::default(), "http://[::1]/")), "address not allowed: ::1");
        assert_eq!(
            refusal(resolve(AddressPolicy::default(), "http://169.254.169.254/latest/meta-data")),
            "address not allowed: 169.254.169.254"
        );
        assert_eq!(
            refusal(resolve(AddressPolicy::default(), "http://[::ffff:127.0.0.1]/")),
            "address not allowed: ::ffff:127.0.0.1"
        );
    }

    #[test]
    fn resolver_keeps_allowed_addresses_with_the_right_port() {
        let policy = AddressPolicy::new(vec!["127.0.0.1/32".parse::<Cidr>().unwrap()]);
        assert_eq!(resolve(policy.clone(), "http://127.0.0.1:8080/").unwrap(), ["127.0.0.1:8080".parse().unwrap()]);
        assert_eq!(resolve(policy.clone(), "http://127.0.0.1/").unwrap(), ["127.0.0.1:80".parse().unwrap()]);
        assert_eq!(resolve(policy.clone(), "https://127.0.0.1/").unwrap(), ["127.0.0.1:443".parse().unwrap()]);
        assert_eq!(refusal(resolve(policy, "http://127.0.0.2:8080/")), "address not allowed: 127.0.0.2");
    }

    #[test]
    fn resolver_drops_denied_addresses_of_a_name_and_keeps_the_rest() {
        // localhost resolves to ::1 and/or 127.0.0.1 here; allowing only 127.0.0.1 must
        // drop ::1 and keep 127.0.0.1.
        let policy = AddressPolicy::new(vec!["127.0.0.1/32".parse::<Cidr>().unwrap()]);
        let kept = resolve(policy, "http://localhost:9/").unwrap();
        assert!(!kept.is_empty() && kept.iter().all(|a| a.ip().to_string() == "127.0.0.1"), "{kept:?}");
        assert!(refusal(resolve(AddressPolicy::default(), "http://localhost:9/")).starts_with("address not allowed: "));
    }

    #[test]
    fn statuses_map_to_outcomes() {
        let cases = [
            (200, None, OutcomeClass::Delivered, None),
            (204, None, OutcomeClass::Delivered, None),
            (410, None, OutcomeClass::Gone, Some("HTTP 410 Gone")),
            (500, None, OutcomeClass::RetryLater, Some("HTTP 500 Internal Server Error")),
            (429, None, OutcomeClass::RetryLater, Some("HTTP 429 Too Many Requests")),
            (404, None, OutcomeClass::RetryLater, Some("HTTP 404 Not Found")),
            (599, None, OutcomeClass::RetryLater, Some("HTTP 599")),
            (
                302,
                Some("http://x.example/"),
                OutcomeClass::RetryLater,
                Some("HTTP 302 Found: redirect to http://x.example/ not followed"),
            ),
            (301, None, OutcomeClass::RetryLater, Some("HTTP 301 Moved Permanently: redirect not followed")),
        ];
        for (code, location, class, error) in cases {
            let status = StatusCode::from_u16(code).unwrap();
            assert_eq!(classify_status(status, location), (class, error.map(str::to_owned)), "{code}");
        }
    }

    #[test]
    fn io_errors_read_as_sentences() {
        let timeout = Duration::from_millis(1500);
        let io_error = |kind| ureq::Error::Io(io::Error::from(kind));
        let cases = [
            (io_error(io::ErrorKind::ConnectionRefused), "connection refused"),
            (io_error(io::ErrorKind::ConnectionReset), "connection reset by the receiver"),
            (io_error(io::ErrorKind::UnexpectedEof), "connection closed by the receiver before a response"),
            (io_error(io::ErrorKind::TimedOut), "timed out after 1500 ms"),
            (ureq::Error::Timeout(ureq::Timeout::Global), "timed out after 1500 ms"),
            (ureq::Error::Timeout(ureq::Timeout::Await100), "timed out (await 100)"),
            (ureq::Error::HostNotFound, "host not found"),
        ];
        for (error, text) in cases {
            assert_eq!(describe_error(&error, timeout), (OutcomeClass::RetryLater, text.to_owned()));
        }
    }

    #[test]
    fn invalid_requests_fail_before_any_network() {
        let client = HttpClient::new(ClientConfig {
            version: "0".into(),
            policy: AddressPolicy::default(),
            max_idle_per_host: 1,
        });
        let request = |url: &str, headers: Vec<(String, String)>| HookRequest {
            url: url.to_owned(),
            webhook_id: "id".to_owned(),
            body: b"{}".to_vec(),
            headers,
            secrets: SigningSecrets::single(Secret::generate().unwrap()),
            timeout: Duration::from_secs(1),
        };
        let bad_url = client.post(&request("ftp://example.com/", vec![]));
        assert_eq!(bad_url.class, OutcomeClass::RetryLater);
        assert_eq!(bad_url.error.as_deref(), Some("Invalid hook URL: the scheme must be http or https, not \"ftp\""));
        let bad_header = client.post(&request("http://127.0.0.1:9/", vec![("Host".into(), "x".into())]));
        assert!(bad_header.error.unwrap().starts_with("Invalid hook headers: header \"Host\" cannot be set"));
        let refused = client.post(&request("http://127.0.0.1:9/", vec![]));
        assert_eq!(refused.class, OutcomeClass::RefusedByGuard);
        assert_eq!(refused.error.as_deref(), Some("address not allowed: 127.0.0.1"));
        assert_eq!(refused.status, None);
    }
}
