//! In-database tests (`cargo pgrx test`). Each test runs in a transaction that is rolled back,
//! so the worker never sees these rows; the worker and NOTIFY are covered by the end-to-end
//! tests in `tests/`.
//!
//! - `api`: every function, every error (SQLSTATE, message, nothing written), conformance;
//! - `bulk`: schedule_add_many against schedule_add: same rows, audit rows and errors;
//! - `firing`: the due pass through `schedule_check_due()`: fire, miss, coalesce, limit, broken
//!   row, with their execution and audit rows;
//! - `lifecycle`: claims, leases, heartbeats, completions and the overlap policy;
//! - `hooks`: the admin-only hook functions and their errors, secrets no role can read, the
//!   `hook` key of `schedule_config`, and the outbox rows fires write;
//! - `operations`: pause and resume;
//! - `windows`: start_at, end_at and grace_seconds;
//! - `security`: application roles with exactly the documented grants, isolation between
//!   them, and objects planted in `public` that must never run.

mod api;
mod bulk;
mod firing;
mod hooks;
mod lifecycle;
mod operations;
mod security;
mod support;
mod windows;
