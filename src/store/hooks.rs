//! The statements of the hook functions: `hooks` (what every role may see), `hook_secrets`
//! (the secret and the header values, which no role can read) and the deliveries they touch.

use pgrx::prelude::*;
use pgrx::{JsonB, Uuid};

use crate::pg::spi::{optional_row, required, spi_failed};

/// The JSON every hook function returns, from `workflow_scheduler.hooks AS h`. Never the
/// secret nor a header value: the functions that show the secret add it themselves.
const HOOK_JSON: &str = "pg_catalog.jsonb_build_object(
        'name',                 h.name,
        'url',                  h.url,
        'timeout_ms',           h.timeout_ms,
        'header_names',         h.header_names,
        'enabled',              h.enabled,
        'disabled_reason',      h.disabled_reason,
        'secret_fingerprint',   h.secret_fingerprint,
        'previous_fingerprint', h.previous_fingerprint,
        'previous_valid_until', h.previous_valid_until,
        'last_delivered_at',    h.last_delivered_at,
        'last_error',           h.last_error,
        'last_error_at',        h.last_error_at,
        'created_at',           h.created_at,
        'updated_at',           h.updated_at)";

/// A new hook, validated.
pub struct NewHook<'a> {
    pub name: &'a str,
    pub url: &'a str,
    pub timeout_ms: i32,
    pub header_names: Vec<String>,
    pub headers: JsonB,
    pub secret: &'a str,
    pub secret_fingerprint: &'a str,
}

/// Inserts the hook and its secrets; `None` if the name is taken (by a committed hook, or by
/// one a concurrent transaction then commits).
pub fn insert_hook(new: &NewHook) -> Option<JsonB> {
    let hook = Spi::connect_mut(|client| {
        let rows = client.update(
            &format!(
                "INSERT INTO workflow_scheduler.hooks AS h (name, url, timeout_ms, header_names, secret_fingerprint)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (name) DO NOTHING
                 RETURNING {HOOK_JSON}"
            ),
            None,
            &[
                new.name.into(),
                new.url.into(),
                new.timeout_ms.into(),
                new.header_names.clone().into(),
                new.secret_fingerprint.into(),
            ],
        )?;
        match rows.into_iter().next() {
            Some(row) => Ok::<_, pgrx::spi::Error>(Some(required::<JsonB>(row.get(1)?))),
            None => Ok(None),
        }
    })
    .unwrap_or_else(|err| spi_failed(err))?;
    Spi::run_with_args(
        "INSERT INTO workflow_scheduler.hook_secrets (hook, secret, headers) VALUES ($1, $2, $3)",
        &[new.name.into(), new.secret.into(), JsonB(new.headers.0.clone()).into()],
    )
    .unwrap_or_else(|err| spi_failed(err));
    Some(hook)
}

/// A hook locked for a change, with what the change needs.
pub struct LockedHook {
    pub enabled: bool,
    pub url: String,
    pub secret: String,
    pub secret_fingerprint: String,
}

/// Locks the hook (and its secrets) for the rest of the transaction.
pub fn lock_hook(name: &str) -> Option<LockedHook> {
    Spi::connect_mut(|client| {
        let rows = client.update(
            "SELECT h.enabled, h.url, s.secret, h.secret_fingerprint
               FROM workflow_scheduler.hooks AS h
               JOIN workflow_scheduler.hook_secrets AS s ON s.hook OPERATOR(pg_catalog.=) h.name
              WHERE h.name OPERATOR(pg_catalog.=) $1
                FOR UPDATE",
            Some(1),
            &[name.into()],
        )?;
        let Some(row) = rows.into_iter().next() else {
            return Ok(None);
        };
        Ok::<_, pgrx::spi::Error>(Some(LockedHook {
            enabled: required(row.get(1)?),
            url: required(row.get(2)?),
            secret: required(row.get(3)?),
            secret_fingerprint: required(row.get(4)?),
        }))
    })
    .unwrap_or_else(|err| spi_failed(err))
}

/// The hook as JSON (it exists: the caller holds its lock).
pub fn hook_json(name: &str) -> JsonB {
    Spi::get_one_with_args::<JsonB>(
        &format!("SELECT {HOOK_JSON} FROM workflow_scheduler.hooks AS h WHERE h.name OPERATOR(pg_catalog.=) $1"),
        &[name.into()],
    )
    .unwrap_or_else(|err| spi_failed(err))
    .unwrap_or_else(|| pgrx::error!("workflow_scheduler: a locked hook has no row"))
}

/// What `hook_update` changes; `None` keeps the current value.
pub struct HookChange<'a> {
    pub url: Option<&'a str>,
    pub enabled: Option<bool>,
    pub disabled_reason: &'a str,
    pub timeout_ms: Option<i32>,
    /// The header names and the headers object.
    pub headers: Option<(Vec<String>, JsonB)>,
}

/// Applies a change to a locked hook and returns it. Disabling an already disabled hook keeps
/// the reason it has (the worker's, after a 410, says more than ours).
pub fn update_hook(name: &str, change: HookChange) -> JsonB {
    let (header_names, headers) = change.headers.map_or((None, None), |(names, json)| (Some(names), Some(json)));
    if let Some(headers) = headers {
        Spi::run_with_args(
            "UPDATE workflow_scheduler.hook_secrets SET headers = $2 WHERE hook OPERATOR(pg_catalog.=) $1",
            &[name.into(), headers.into()],
        )
        .unwrap_or_else(|err| spi_failed(err));
    }
    Spi::get_one_with_args::<JsonB>(
        &format!(
            "UPDATE workflow_scheduler.hooks AS h
                SET url = COALESCE($2, h.url),
                    enabled = COALESCE($3, h.enabled),
                    disabled_reason = CASE
                        WHEN $3 THEN NULL
                        WHEN NOT $3 AND h.enabled THEN $4
                        ELSE h.disabled_reason END,
                    timeout_ms = COALESCE($5, h.timeout_ms),
                    header_names = COALESCE($6, h.header_names),
                    updated_at = pg_catalog.now()
              WHERE h.name OPERATOR(pg_catalog.=) $1
             RETURNING {HOOK_JSON}"
        ),
        &[
            name.into(),
            change.url.into(),
            change.enabled.into(),
            change.disabled_reason.into(),
            change.timeout_ms.into(),
            header_names.into(),
        ],
    )
    .unwrap_or_else(|err| spi_failed(err))
    .unwrap_or_else(|| pgrx::error!("workflow_scheduler: UPDATE returned no row"))
}

/// The secret a rotation replaces, while it still signs.
pub struct PreviousSecret<'a> {
    pub secret: &'a str,
    pub fingerprint: &'a str,
    pub valid_until: pgrx::datum::TimestampWithTimeZone,
}

/// Puts a new secret in place on a locked hook; the old one signs until `previous` expires
/// (`None`: no overlap, it stops at once). Returns the hook.
pub fn rotate_secret(name: &str, secret: &str, fingerprint: &str, previous: Option<PreviousSecret>) -> JsonB {
    let (previous_secret, previous_fingerprint, valid_until) =
        previous.map_or((None, None, None), |p| (Some(p.secret), Some(p.fingerprint), Some(p.valid_until)));
    Spi::run_with_args(
        "UPDATE workflow_scheduler.hook_secrets SET secret = $2, previous_secret = $3
          WHERE hook OPERATOR(pg_catalog.=) $1",
        &[name.into(), secret.into(), previous_secret.into()],
    )
    .unwrap_or_else(|err| spi_failed(err));
    Spi::get_one_with_args::<JsonB>(
        &format!(
            "UPDATE workflow_scheduler.hooks AS h
                SET secret_fingerprint = $2, previous_fingerprint = $3, previous_valid_until = $4,
                    updated_at = pg_catalog.now()
              WHERE h.name OPERATOR(pg_catalog.=) $1
             RETURNING {HOOK_JSON}"
        ),
        &[name.into(), fingerprint.into(), previous_fingerprint.into(), valid_until.into()],
    )
    .unwrap_or_else(|err| spi_failed(err))
    .unwrap_or_else(|| pgrx::error!("workflow_scheduler: UPDATE returned no row"))
}

/// What removing a hook did.
pub struct Removed {
    /// Its pending deliveries, now `cancelled`.
    pub cancelled: i64,
    /// Active schedules that still name it: their fires get no delivery from now on.
    pub schedules_naming_it: i64,
}

/// Deletes a locked hook (its `hook_secrets` row cascades) and cancels its pending deliveries.
pub fn remove_hook(name: &str) -> Removed {
    Spi::run_with_args("DELETE FROM workflow_scheduler.hooks WHERE name OPERATOR(pg_catalog.=) $1", &[name.into()])
        .unwrap_or_else(|err| spi_failed(err));
    let cancelled = Spi::get_one_with_args::<i64>(
        "WITH cancelled AS (
             UPDATE workflow_scheduler.deliveries SET status = 'cancelled'
              WHERE hook OPERATOR(pg_catalog.=) $1 AND status OPERATOR(pg_catalog.=) 'pending'
             RETURNING 1)
         SELECT pg_catalog.count(*) FROM cancelled",
        &[name.into()],
    )
    .unwrap_or_else(|err| spi_failed(err));
    let naming = Spi::get_one_with_args::<i64>(
        "SELECT pg_catalog.count(*) FROM workflow_scheduler.workflow_schedules
          WHERE hook OPERATOR(pg_catalog.=) $1 AND is_active",
        &[name.into()],
    )
    .unwrap_or_else(|err| spi_failed(err));
    Removed { cancelled: required(cancelled), schedules_naming_it: required(naming) }
}

/// Whether a hook of this name exists.
pub fn hook_exists(name: &str) -> bool {
    optional_row(Spi::get_one_with_args::<bool>(
        "SELECT true FROM workflow_scheduler.hooks WHERE name OPERATOR(pg_catalog.=) $1",
        &[name.into()],
    ))
    .unwrap_or(false)
}

/// A delivery locked for a retry.
pub struct LockedDelivery {
    pub status: String,
    pub hook: String,
    pub hook_exists: bool,
    pub execution_id: Uuid,
    pub schedule_id: Uuid,
    pub community_id: Option<i64>,
}

/// Locks one delivery for the rest of the transaction.
pub fn lock_delivery(delivery_id: Uuid) -> Option<LockedDelivery> {
    Spi::connect_mut(|client| {
        let rows = client.update(
            "SELECT d.status, d.hook,
                    EXISTS (SELECT 1 FROM workflow_scheduler.hooks AS h WHERE h.name OPERATOR(pg_catalog.=) d.hook),
                    d.execution_id, e.schedule_id, s.community_id
               FROM workflow_scheduler.deliveries AS d
               JOIN workflow_scheduler.workflow_schedule_executions AS e
                 ON e.execution_id OPERATOR(pg_catalog.=) d.execution_id
               JOIN workflow_scheduler.workflow_schedules AS s
                 ON s.schedule_id OPERATOR(pg_catalog.=) e.schedule_id
              WHERE d.delivery_id OPERATOR(pg_catalog.=) $1
                FOR UPDATE OF d",
            Some(1),
            &[delivery_id.into()],
        )?;
        let Some(row) = rows.into_iter().next() else {
            return Ok(None);
        };
        Ok::<_, pgrx::spi::Error>(Some(LockedDelivery {
            status: required(row.get(1)?),
            hook: required(row.get(2)?),
            hook_exists: required(row.get(3)?),
            execution_id: required(row.get(4)?),
            schedule_id: required(row.get(5)?),
            community_id: row.get(6)?,
        }))
    })
    .unwrap_or_else(|err| spi_failed(err))
}

/// Puts a locked `failed` delivery back to `pending`, due now, with a fresh attempt count.
/// Its attempts stay in `delivery_attempts`.
pub fn retry_delivery(delivery_id: Uuid) {
    Spi::run_with_args(
        "UPDATE workflow_scheduler.deliveries
            SET status = 'pending', attempts = 0, next_attempt_at = pg_catalog.now()
          WHERE delivery_id OPERATOR(pg_catalog.=) $1",
        &[delivery_id.into()],
    )
    .unwrap_or_else(|err| spi_failed(err));
}
