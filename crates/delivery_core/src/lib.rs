//! HTTP-hook delivery of `workflow_scheduler`, without Postgres: what the delivery worker
//! needs to turn an outbox row into a signed POST and its outcome into the next step.
//!
//! - `signature`: Standard Webhooks v1 signatures and `whsec_` secrets;
//! - `retry`: the `http_retry_delays` setting, jitter, `Retry-After`, retry or give up;
//! - `settle`: what an attempt's outcome makes of its delivery;
//! - `address_guard`: the SSRF policy and the `http_allowed_cidrs` setting;
//! - `hook_url`, `request`: what `hook_create` validates, and the headers of one POST;
//! - `client`: a blocking ureq client that checks every address it connects to;
//! - `pool`: a fixed pool of plain threads with a socket to wake the worker's latch.
//!
//! What it deliberately does not do: touch Postgres (no pgrx, no Postgres types, nothing a
//! pool thread could call by mistake; rows, SQL and the latch stay in the extension), or run
//! an async runtime (ureq is blocking; concurrency is the pool's fixed threads). Keeping it
//! apart makes every rule testable with plain `cargo test`, against real receivers on
//! 127.0.0.1.

pub mod address_guard;
pub mod client;
pub mod hook_url;
pub mod pool;
pub mod request;
pub mod retry;
pub mod settle;
pub mod signature;

pub use address_guard::{is_denied_by_default, AddressPolicy, AddressRefused, AllowedCidrsError, Cidr};
pub use client::{AttemptOutcome, ClientConfig, HttpClient, OutcomeClass, MAX_RESPONSE_BODY};
pub use hook_url::{validate_hook_url, HookUrl, HookUrlError};
pub use pool::{Deliver, DeliveryPool, Finished, Job, ShutdownReport, DEFAULT_HTTP_WORKERS};
pub use request::{build_headers, validate_hook_headers, HeaderError, HookRequest};
pub use retry::{
    jitter, next_step, parse_retry_after, NextStep, RetryDelays, RetryDelaysError, DEFAULT_RETRY_DELAYS,
    RETRY_AFTER_CAP,
};
pub use settle::{settle, Settlement};
pub use signature::{sign, signature_header, Secret, SecretError, SigningSecrets};
