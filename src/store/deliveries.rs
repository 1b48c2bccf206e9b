//! The delivery worker's statements on the outbox: claim due deliveries with what a request
//! needs, record attempts and their outcomes, and find when the next one is due.

use std::mem::take;

use chrono::{DateTime, Utc};
use pgrx::datum::TimestampWithTimeZone;
use pgrx::prelude::*;
use pgrx::Uuid;

use crate::pg::kept_plans;
use crate::pg::spi::{required, spi_failed};
use crate::pg::time_conv::{from_utc, to_utc};

/// A claimed delivery comes due again (is sent again: at least once) if its outcome was never
/// recorded, say because the worker died mid-request, after twice its timeout (it may wait in
/// the pool's queue behind one request, then run its own) and this margin.
const LEASE_MARGIN_SECONDS: f64 = 5.0;

/// A due delivery with everything its request needs.
pub struct DueDelivery {
    pub delivery_id: Uuid,
    pub execution_id: Uuid,
    pub hook: String,
    /// Attempts made before this one.
    pub attempts: i32,
    pub url: String,
    pub timeout_ms: i32,
    pub secret: String,
    /// The secret before a rotation, while it still signs.
    pub previous_secret: Option<String>,
    /// The hook's own headers, a JSON object of strings.
    pub headers: String,
    /// The execution's full trigger data: the request body.
    pub body: String,
}

/// Claims at most `limit` pending deliveries of enabled hooks that are due at `now`, oldest
/// first. Each one's `next_attempt_at` moves past its request's time (see
/// `LEASE_MARGIN_SECONDS`): that is its lease.
pub fn claim_due(now: DateTime<Utc>, limit: i64) -> Vec<DueDelivery> {
    Spi::connect_mut(|client| {
        let table = kept_plans::run(
            client,
            // = ANY (ARRAY(...)) rather than a join on the claimed ids: a generic plan of this kept
            // statement cannot know how many rows the claim returns, and on a join it may scan.
            "UPDATE workflow_scheduler.deliveries AS d
                SET next_attempt_at = $1 OPERATOR(pg_catalog.+)
                        pg_catalog.make_interval(secs => h.timeout_ms OPERATOR(pg_catalog./) 500.0 OPERATOR(pg_catalog.+) $3)
               FROM workflow_scheduler.hooks AS h, workflow_scheduler.hook_secrets AS s
              WHERE d.delivery_id OPERATOR(pg_catalog.=) ANY (ARRAY(
                        SELECT due.delivery_id
                          FROM workflow_scheduler.deliveries AS due
                          JOIN workflow_scheduler.hooks AS dh ON dh.name OPERATOR(pg_catalog.=) due.hook
                         WHERE due.status = 'pending' AND due.next_attempt_at OPERATOR(pg_catalog.<=) $1 AND dh.enabled
                         ORDER BY due.next_attempt_at
                         LIMIT $2
                           FOR UPDATE OF due SKIP LOCKED))
                AND h.name OPERATOR(pg_catalog.=) d.hook
                AND s.hook OPERATOR(pg_catalog.=) d.hook
             RETURNING d.delivery_id, d.execution_id, d.hook, d.attempts, h.url, h.timeout_ms, s.secret,
                       CASE WHEN h.previous_valid_until OPERATOR(pg_catalog.>) $1 THEN s.previous_secret END,
                       s.headers::pg_catalog.text,
                       -- A subquery, not a join: an UPDATE keeps a whole-row copy of each joined
                       -- row for its row marks, and this row holds the trigger data.
                       (SELECT e.trigger_data::pg_catalog.text
                          FROM workflow_scheduler.workflow_schedule_executions AS e
                         WHERE e.execution_id OPERATOR(pg_catalog.=) d.execution_id)",
            &[from_utc(now).into(), limit.into(), LEASE_MARGIN_SECONDS.into()],
        )?;
        let mut rows = Vec::with_capacity(table.len());
        for row in table {
            rows.push(DueDelivery {
                delivery_id: required(row.get(1)?),
                execution_id: required(row.get(2)?),
                hook: required(row.get(3)?),
                attempts: required(row.get(4)?),
                url: required(row.get(5)?),
                timeout_ms: required(row.get(6)?),
                secret: required(row.get(7)?),
                previous_secret: row.get(8)?,
                headers: required(row.get(9)?),
                body: required(row.get(10)?),
            });
        }
        Ok::<_, pgrx::spi::Error>(rows)
    })
    .unwrap_or_else(|err| spi_failed(err))
}

/// The earliest time after `now` at which a pending delivery of an enabled hook comes due.
pub fn earliest_due_after(now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    kept_plans::first_value::<TimestampWithTimeZone>(
        "SELECT d.next_attempt_at
           FROM workflow_scheduler.deliveries AS d
           JOIN workflow_scheduler.hooks AS h ON h.name OPERATOR(pg_catalog.=) d.hook
          WHERE d.status = 'pending' AND d.next_attempt_at OPERATOR(pg_catalog.>) $1 AND h.enabled
          ORDER BY d.next_attempt_at LIMIT 1",
        &[from_utc(now).into()],
    )
    .unwrap_or_else(|err| spi_failed(err))
    .and_then(to_utc)
}

/// Attempts and the new state of their deliveries, column-wise.
#[derive(Default)]
pub struct AttemptRows {
    pub delivery_id: Vec<Uuid>,
    /// The attempt's number, 1 for the first: the delivery's new `attempts`.
    pub attempt: Vec<i32>,
    pub attempted_at: Vec<TimestampWithTimeZone>,
    pub status_code: Vec<Option<i32>>,
    pub error: Vec<Option<String>>,
    pub latency_ms: Vec<f64>,
    /// `pending`, `delivered` or `failed`.
    pub status: Vec<&'static str>,
    pub next_attempt_at: Vec<TimestampWithTimeZone>,
}

/// Records the attempts and moves their deliveries on. A delivery cancelled meanwhile
/// (`hook_remove`) keeps its status; its attempt is still recorded.
pub fn record_attempts(rows: &mut AttemptRows) {
    if rows.delivery_id.is_empty() {
        return;
    }
    kept_plans::execute(
        "WITH a AS (
             SELECT * FROM ROWS FROM (
                 pg_catalog.unnest($1::uuid[]),
                 pg_catalog.unnest($2::int[]),
                 pg_catalog.unnest($3::timestamptz[]),
                 pg_catalog.unnest($4::int[]),
                 pg_catalog.unnest($5::text[]),
                 pg_catalog.unnest($6::float8[]),
                 pg_catalog.unnest($7::text[]),
                 pg_catalog.unnest($8::timestamptz[])
             ) AS a(delivery_id, attempt, attempted_at, status_code, error, latency_ms, status, next_attempt_at)
         ),
         attempts AS (
             INSERT INTO workflow_scheduler.delivery_attempts
                 (delivery_id, attempt, attempted_at, status_code, error, latency_ms)
             SELECT a.delivery_id, a.attempt, a.attempted_at, a.status_code, a.error, a.latency_ms FROM a
         )
         UPDATE workflow_scheduler.deliveries AS d
            SET status = a.status, attempts = a.attempt, next_attempt_at = a.next_attempt_at,
                last_status_code = a.status_code, last_error = a.error,
                delivered_at = CASE WHEN a.status = 'delivered'
                                    THEN a.attempted_at OPERATOR(pg_catalog.+)
                                         pg_catalog.make_interval(secs => a.latency_ms OPERATOR(pg_catalog./) 1000.0)
                                    END
           FROM a
          -- = ANY: see claim_due.
          WHERE d.delivery_id OPERATOR(pg_catalog.=) ANY ($1::uuid[]) AND d.delivery_id OPERATOR(pg_catalog.=) a.delivery_id
            AND d.status = 'pending'",
        &[
            take(&mut rows.delivery_id).into(),
            take(&mut rows.attempt).into(),
            take(&mut rows.attempted_at).into(),
            take(&mut rows.status_code).into(),
            take(&mut rows.error).into(),
            take(&mut rows.latency_ms).into(),
            take(&mut rows.status).into(),
            take(&mut rows.next_attempt_at).into(),
        ],
    )
    .unwrap_or_else(|err| spi_failed(err));
}

/// What the latest attempts say about a hook.
pub struct HookHealth {
    pub hook: String,
    pub delivered_at: Option<DateTime<Utc>>,
    /// The last failure: when, and what.
    pub error: Option<(DateTime<Utc>, String)>,
    /// The receiver answered 410 Gone: disable the hook with this reason.
    pub gone: Option<String>,
}

/// Updates each hook's last delivery, last error, and disables the hooks that answered 410.
pub fn update_hooks(health: Vec<HookHealth>) {
    for hook in health {
        kept_plans::execute(
            "UPDATE workflow_scheduler.hooks
                SET last_delivered_at = COALESCE($2, last_delivered_at),
                    last_error = COALESCE($4, last_error),
                    last_error_at = COALESCE($3, last_error_at),
                    enabled = enabled AND $5::pg_catalog.text IS NULL,
                    disabled_reason = COALESCE($5, disabled_reason),
                    updated_at = CASE WHEN $5::pg_catalog.text IS NULL THEN updated_at ELSE pg_catalog.now() END
              WHERE name OPERATOR(pg_catalog.=) $1",
            &[
                hook.hook.into(),
                hook.delivered_at.map(from_utc).into(),
                hook.error.as_ref().map(|(at, _)| from_utc(*at)).into(),
                hook.error.map(|(_, error)| error).into(),
                hook.gone.into(),
            ],
        )
        .unwrap_or_else(|err| spi_failed(err));
    }
}
