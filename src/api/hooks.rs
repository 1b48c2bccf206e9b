//! The hook functions (PRODUCT.md, "HTTP hooks"): create, update, rotate the secret of and
//! remove HTTP hooks, and put a failed delivery back in the queue. Administrators only:
//! superusers and members of `workflow_scheduler.admin_role`; anyone else gets 42501 before
//! anything is looked at.
//!
//! The secret and the header values go to `hook_secrets`, which no role can read; `hooks`
//! keeps the header names and fingerprints. Neither ever reaches an audit row or a log line,
//! and only `hook_create` and `hook_rotate_secret` return the secret.

use pgrx::prelude::*;
use pgrx::{JsonB, Uuid};
use serde_json::{Map, Value};

use delivery_core::{validate_hook_headers, validate_hook_url, HookUrl, Secret};
use scheduler_core::{AuditEvent, MAX_HOOK_NAME_BYTES};

use crate::api::enter;
use crate::audit;
use crate::errors::{raise, ApiError};
use crate::guc;
use crate::pg::access::{with_extension_rights, Caller};
use crate::pg::jsonb_arg::JsonbArg;
use crate::pg::shmem::{wake_on_commit, Worker};
use crate::pg::time_conv::{from_utc, transaction_now};
use crate::store::hooks::{self as store, HookChange, NewHook, PreviousSecret};

/// The `hooks.timeout_ms` constraint.
const TIMEOUT_MS: std::ops::RangeInclusive<i32> = 1..=600_000;
const DEFAULT_TIMEOUT_MS: i32 = 10_000;
/// Receivers and proxies commonly refuse requests with more or larger headers than this.
const MAX_HEADERS: usize = 32;
const MAX_HEADER_VALUE_BYTES: usize = 8_192;
/// `hooks.disabled_reason` after `hook_update(..., enabled => false)`.
const DISABLED_BY_UPDATE: &str = "disabled by hook_update";

/// Creates a hook and returns it, with its secret: the only answer besides
/// `hook_rotate_secret` that shows it. A NULL secret generates one.
#[pg_extern(volatile, parallel_unsafe)]
#[search_path(pg_catalog, pg_temp)]
fn hook_create(
    name: Option<&str>,
    url: Option<&str>,
    secret: default!(Option<&str>, "NULL"),
    timeout_ms: default!(Option<i32>, 10000),
    headers: default!(Option<JsonbArg>, "'{}'"),
) -> JsonB {
    const ACTION: &str = "hook_create";
    let caller = admin(ACTION);
    let fail = |err: ApiError| -> ! { log_failure(ACTION, &caller, err) };
    let name = valid_name(name).unwrap_or_else(|err| fail(err));
    let url = valid_url(url).unwrap_or_else(|err| fail(err));
    let timeout_ms = valid_timeout(timeout_ms.unwrap_or(DEFAULT_TIMEOUT_MS)).unwrap_or_else(|err| fail(err));
    let (header_names, headers) = valid_headers(headers).unwrap_or_else(|err| fail(err));
    let generated = secret.is_none();
    let secret = secret
        .map_or_else(generate_secret, Secret::parse)
        .map_err(|err| invalid("secret", err))
        .unwrap_or_else(|err| fail(err));
    let fingerprint = secret.fingerprint();
    let hook = with_extension_rights(|| {
        let new = NewHook {
            name,
            url: &url,
            timeout_ms,
            header_names: header_names.clone(),
            headers: JsonB(headers),
            secret: secret.as_str(),
            secret_fingerprint: &fingerprint,
        };
        let hook = store::insert_hook(&new).unwrap_or_else(|| fail(ApiError::HookExists(name.to_string())));
        audit::record(
            &event(ACTION, &caller, name)
                .with("origin", origin(&url))
                .with("timeout_ms", timeout_ms)
                .with("header_names", header_names)
                .with("secret_fingerprint", fingerprint.as_str())
                .with("secret_generated", generated),
        );
        hook
    });
    with_secret(hook, &secret)
}

/// Changes what is given (NULL keeps the current value) and returns the hook. `headers`
/// replaces all of the hook's headers. Re-enabling a hook clears `disabled_reason` and wakes the
/// delivery worker, so that its pending deliveries resume.
#[pg_extern(volatile, parallel_unsafe)]
#[search_path(pg_catalog, pg_temp)]
fn hook_update(
    name: Option<&str>,
    url: default!(Option<&str>, "NULL"),
    enabled: default!(Option<bool>, "NULL"),
    timeout_ms: default!(Option<i32>, "NULL"),
    headers: default!(Option<JsonbArg>, "NULL"),
) -> JsonB {
    const ACTION: &str = "hook_update";
    let caller = admin(ACTION);
    let fail = |err: ApiError| -> ! { log_failure(ACTION, &caller, err) };
    let url = url.map(|url| valid_url(Some(url)).unwrap_or_else(|err| fail(err)));
    let timeout_ms = timeout_ms.map(|ms| valid_timeout(ms).unwrap_or_else(|err| fail(err)));
    let headers = headers.map(|arg| valid_headers(Some(arg)).unwrap_or_else(|err| fail(err)));
    let hook = with_extension_rights(|| {
        let (name, current) = lock(name).unwrap_or_else(|err| fail(err));
        let mut changed = Vec::new();
        url.is_some().then(|| changed.push("url"));
        enabled.is_some().then(|| changed.push("enabled"));
        timeout_ms.is_some().then(|| changed.push("timeout_ms"));
        headers.is_some().then(|| changed.push("headers"));
        if changed.is_empty() {
            // Nothing given: nothing to write, not even updated_at or an audit row.
            return store::hook_json(name);
        }
        let header_names = headers.as_ref().map(|(names, _)| names.clone());
        let hook = store::update_hook(
            name,
            HookChange {
                url: url.as_deref(),
                enabled,
                disabled_reason: DISABLED_BY_UPDATE,
                timeout_ms,
                headers: headers.map(|(names, json)| (names, JsonB(json))),
            },
        );
        let mut event = event(ACTION, &caller, name).with("changed", changed);
        if let Some(url) = &url {
            event = event.with("origin", origin(url));
        }
        if let Some(enabled) = enabled {
            event = event.with("enabled", enabled).with("was_enabled", current.enabled);
        }
        if let Some(timeout_ms) = timeout_ms {
            event = event.with("timeout_ms", timeout_ms);
        }
        if let Some(names) = header_names {
            event = event.with("header_names", names);
        }
        audit::record(&event);
        hook
    });
    if enabled == Some(true) {
        wake_on_commit(Worker::Delivery, transaction_now());
    }
    hook
}

/// Gives the hook a new secret (NULL generates one) and returns the hook with it. The old
/// secret keeps signing, next to the new one, for `workflow_scheduler.http_secret_overlap`.
#[pg_extern(volatile, parallel_unsafe)]
#[search_path(pg_catalog, pg_temp)]
fn hook_rotate_secret(name: Option<&str>, secret: default!(Option<&str>, "NULL")) -> JsonB {
    const ACTION: &str = "hook_rotate_secret";
    let caller = admin(ACTION);
    let fail = |err: ApiError| -> ! { log_failure(ACTION, &caller, err) };
    let generated = secret.is_none();
    let secret = secret
        .map_or_else(generate_secret, Secret::parse)
        .map_err(|err| invalid("secret", err))
        .unwrap_or_else(|err| fail(err));
    let fingerprint = secret.fingerprint();
    let overlap = guc::http_secret_overlap();
    let hook = with_extension_rights(|| {
        let (name, current) = lock(name).unwrap_or_else(|err| fail(err));
        if current.secret == secret.as_str() {
            fail(invalid("secret", "the new secret is the current one; rotate to a different secret"));
        }
        let valid_until = transaction_now() + overlap;
        // With no overlap the old secret stops signing at once: nothing to keep.
        let previous = (overlap > chrono::Duration::zero()).then(|| PreviousSecret {
            secret: &current.secret,
            fingerprint: &current.secret_fingerprint,
            valid_until: from_utc(valid_until),
        });
        let kept = previous.is_some();
        let hook = store::rotate_secret(name, secret.as_str(), &fingerprint, previous);
        let mut event = event(ACTION, &caller, name)
            .with("secret_fingerprint", fingerprint.as_str())
            .with("secret_generated", generated);
        if kept {
            event = event
                .with("previous_fingerprint", current.secret_fingerprint.as_str())
                .with("previous_valid_until", scheduler_core::iso_utc(valid_until));
        }
        audit::record(&event);
        hook
    });
    with_secret(hook, &secret)
}

/// Removes the hook; its pending deliveries become `cancelled`. Delivered and failed ones,
/// and every attempt, stay for history. An unknown hook is P0002, so this always returns true
/// (removing twice is an error, as for `schedule_update` of an unknown schedule).
#[pg_extern(volatile, parallel_unsafe)]
#[search_path(pg_catalog, pg_temp)]
fn hook_remove(name: Option<&str>) -> bool {
    const ACTION: &str = "hook_remove";
    let caller = admin(ACTION);
    let fail = |err: ApiError| -> ! { log_failure(ACTION, &caller, err) };
    with_extension_rights(|| {
        let (name, current) = lock(name).unwrap_or_else(|err| fail(err));
        let removed = store::remove_hook(name);
        audit::record(
            &event(ACTION, &caller, name)
                .with("origin", origin(&current.url))
                .with("cancelled_deliveries", removed.cancelled)
                .with("schedules_naming_it", removed.schedules_naming_it),
        );
        if removed.schedules_naming_it > 0 {
            pgrx::notice!(
                "{} active schedule(s) still name hook \"{name}\": their fires get no HTTP delivery until a hook of that name exists again",
                removed.schedules_naming_it
            );
        }
        true
    })
}

/// Puts a `failed` delivery back to `pending`, due now, with its attempt count reset (the
/// attempts made stay in `delivery_attempts`). True if it was failed; false for any other
/// status (pending, delivered, cancelled). Wakes the delivery worker.
#[pg_extern(volatile, parallel_unsafe)]
#[search_path(pg_catalog, pg_temp)]
fn delivery_retry(delivery_id: Option<Uuid>) -> bool {
    const ACTION: &str = "delivery_retry";
    let caller = admin(ACTION);
    let fail = |err: ApiError| -> ! { log_failure(ACTION, &caller, err) };
    let not_found = || ApiError::DeliveryNotFound(delivery_id.map_or_else(|| "NULL".to_string(), |id| id.to_string()));
    let retried = with_extension_rights(|| {
        let Some(id) = delivery_id else { fail(not_found()) };
        let delivery = store::lock_delivery(id).unwrap_or_else(|| fail(not_found()));
        if delivery.status != "failed" {
            return false;
        }
        if !delivery.hook_exists {
            // Pending forever otherwise: no hook of that name would ever send it.
            fail(ApiError::HookNotFound(delivery.hook));
        }
        store::retry_delivery(id);
        let schedule_id = delivery.schedule_id.to_string();
        audit::record(
            &AuditEvent::audit(ACTION, "SUCCESS", Some(schedule_id.clone()))
                .by(delivery.community_id, None)
                .with("role", caller.role_name())
                .with("delivery_id", id.to_string())
                .with("execution_id", delivery.execution_id.to_string())
                .with("schedule_id", schedule_id)
                .with("hook", delivery.hook.as_str()),
        );
        true
    });
    if retried {
        wake_on_commit(Worker::Delivery, transaction_now());
    }
    retried
}

/// A new random secret. The operating system failing to give random bytes is not the caller's
/// mistake: an internal error, not 22023.
fn generate_secret() -> Result<Secret, delivery_core::SecretError> {
    Ok(Secret::generate()
        .unwrap_or_else(|err| pgrx::error!("workflow_scheduler: could not generate a hook secret: {err}")))
}

/// Identifies the caller and refuses anyone but an administrator.
fn admin(action: &'static str) -> Caller {
    let caller = enter();
    if !caller.is_admin() {
        log_failure(action, &caller, ApiError::AdminOnly(action));
    }
    caller
}

/// Locks the named hook, or says it does not exist.
fn lock(name: Option<&str>) -> Result<(&str, store::LockedHook), ApiError> {
    let name = name.ok_or_else(|| ApiError::HookNotFound("NULL".to_string()))?;
    store::lock_hook(name).map(|hook| (name, hook)).ok_or_else(|| ApiError::HookNotFound(name.to_string()))
}

/// A name as `hooks.name` and the `hook` key of `schedule_config` accept it, and that reads
/// unambiguously in a log line.
fn valid_name(name: Option<&str>) -> Result<&str, ApiError> {
    let why = match name {
        None => "it must not be NULL".to_string(),
        Some("") => "it must not be empty".to_string(),
        Some(name) if name.len() > MAX_HOOK_NAME_BYTES => {
            format!("it is {} bytes long; at most {MAX_HOOK_NAME_BYTES} are allowed", name.len())
        }
        Some(name) if name.chars().any(char::is_control) => {
            "it contains a control character (a line break, a tab, ...)".to_string()
        }
        Some(name) if name.trim() != name => "it must not start or end with white space".to_string(),
        Some(name) => return Ok(name),
    };
    Err(invalid("name", why))
}

fn valid_url(url: Option<&str>) -> Result<String, ApiError> {
    let url = url.ok_or_else(|| ApiError::InvalidHook("URL", "it must not be NULL".to_string()))?;
    validate_hook_url(url).map_err(|err| ApiError::InvalidHook("URL", err.to_string()))?;
    Ok(url.to_string())
}

fn valid_timeout(timeout_ms: i32) -> Result<i32, ApiError> {
    if TIMEOUT_MS.contains(&timeout_ms) {
        return Ok(timeout_ms);
    }
    Err(invalid(
        "timeout_ms",
        format!("it must be from {} to {} milliseconds, got {timeout_ms}", TIMEOUT_MS.start(), TIMEOUT_MS.end()),
    ))
}

/// The headers argument (NULL: none): a JSON object of header names to string values, which
/// delivery_core accepts, with no name twice in another case. Returns the names and the object.
/// Messages name headers, never their values.
fn valid_headers(arg: Option<JsonbArg>) -> Result<(Vec<String>, Value), ApiError> {
    let bad = |why: String| invalid("headers", why);
    let value = match arg {
        None => return Ok((Vec::new(), Value::Object(Map::new()))),
        Some(arg) => arg.read("headers").map_err(bad)?,
    };
    let Value::Object(object) = &value else {
        return Err(bad(format!(
            "headers must be a JSON object of header names to string values, got {}",
            json_type(&value)
        )));
    };
    if object.len() > MAX_HEADERS {
        return Err(bad(format!("{} headers given; at most {MAX_HEADERS} are allowed", object.len())));
    }
    let mut pairs = Vec::with_capacity(object.len());
    for (name, value) in object {
        let Value::String(text) = value else {
            return Err(bad(format!("the value of header \"{name}\" must be a string, got {}", json_type(value))));
        };
        if text.len() > MAX_HEADER_VALUE_BYTES {
            return Err(bad(format!(
                "the value of header \"{name}\" is {} bytes long; at most {MAX_HEADER_VALUE_BYTES} are allowed",
                text.len()
            )));
        }
        if let Some((earlier, _)) = pairs.iter().find(|(other, _): &&(String, String)| other.eq_ignore_ascii_case(name))
        {
            return Err(bad(format!(
                "header \"{name}\" is given twice (as \"{earlier}\" too); header names are case-insensitive"
            )));
        }
        pairs.push((name.clone(), text.clone()));
    }
    validate_hook_headers(&pairs).map_err(|err| bad(err.to_string()))?;
    Ok((pairs.into_iter().map(|(name, _)| name).collect(), value))
}

fn invalid(what: &'static str, why: impl ToString) -> ApiError {
    ApiError::InvalidHook(what, why.to_string())
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// `scheme://host:port` of a valid URL: what audit rows and log lines show of it. Paths and
/// query strings often carry tokens.
fn origin(url: &str) -> String {
    HookUrl::parse(url)
        .map(|url| format!("{}://{}:{}", if url.is_https() { "https" } else { "http" }, url.host(), url.port()))
        .unwrap_or_default()
}

/// The hook JSON with the secret added: for the two answers that show it.
fn with_secret(hook: JsonB, secret: &Secret) -> JsonB {
    let mut hook = hook.0;
    if let Value::Object(object) = &mut hook {
        object.insert("secret".to_string(), Value::String(secret.as_str().to_string()));
    }
    JsonB(hook)
}

/// A successful hook operation's audit event. Hook events belong to no schedule, so only
/// administrators see their rows.
fn event(action: &'static str, caller: &Caller, name: &str) -> AuditEvent {
    AuditEvent::audit(action, "SUCCESS", None).with("role", caller.role_name()).with("hook", name)
}

/// Logs a failed operation and raises its error. Only the log line survives: the transaction
/// rolls back. Error messages never carry a secret or a header value.
fn log_failure(action: &'static str, caller: &Caller, err: ApiError) -> ! {
    audit::log(
        &AuditEvent::audit(action, "FAILURE", None).with("role", caller.role_name()).with("error", err.to_string()),
    );
    raise(err)
}
