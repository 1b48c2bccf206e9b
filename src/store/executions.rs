//! The statements of the execution lifecycle: engines claim, heartbeat and complete
//! executions; the due pass times out the overdue ones.

use chrono::{DateTime, Utc};
use pgrx::datum::{Interval, TimestampWithTimeZone};
use pgrx::prelude::*;
use pgrx::{JsonB, Uuid};

use std::sync::LazyLock;

use crate::pg::kept_plans;
use crate::pg::spi::{required, spi_failed};
use crate::pg::time_conv::from_utc;

/// Only schedules of these roles (bound as `$OWNERS`): the caller's reach, as a statement filter.
/// Statements that filter by owner come in two texts, for every schedule and for some roles'
/// (one text with `$n IS NULL OR EXISTS (...)` made the planner hash every schedule of the role
/// on each call); both are kept plans.
const OWNED_BY: &str = "EXISTS (
        SELECT 1 FROM workflow_scheduler.workflow_schedules AS s
         WHERE s.schedule_id OPERATOR(pg_catalog.=) e.schedule_id
           AND s.owner_role::pg_catalog.text OPERATOR(pg_catalog.=) ANY ($OWNERS::pg_catalog.text[]))";

/// A statement's text with `{owned}` replaced by the owner filter, or by `true` (the owners
/// parameter is still declared, and unused).
fn with_owner_filter(template: &str, owners_param: &str, owners: bool) -> String {
    let filter = if owners { OWNED_BY.replace("$OWNERS", owners_param) } else { "true".to_owned() };
    template.replace("{owned}", &filter)
}

/// The text to run for `owners`, from the two built once per process.
fn pick(texts: &'static [String; 2], owners: &Option<Vec<String>>) -> &'static str {
    texts[usize::from(owners.is_some())].as_str()
}

/// An execution that ran out of its schedule's `max_runtime_seconds`.
pub struct TimedOut {
    pub execution_id: Uuid,
    pub schedule_id: Uuid,
    pub workflow_id: Uuid,
    pub community_id: Option<i64>,
    pub max_runtime_seconds: Option<i32>,
}

/// Marks at most `limit` unfinished executions whose deadline is at or before `now` as
/// `timed_out`, skipping rows another session holds (an engine completing them right now).
pub fn time_out_overdue(now: DateTime<Utc>, limit: i64, owners: Option<Vec<String>>) -> Vec<TimedOut> {
    static TEXTS: LazyLock<[String; 2]> = LazyLock::new(|| {
        let template = "WITH overdue AS (
                 SELECT e.execution_id FROM workflow_scheduler.workflow_schedule_executions AS e
                  WHERE e.status IN ('triggered', 'running') AND e.deadline_at IS NOT NULL
                    AND e.deadline_at OPERATOR(pg_catalog.<=) $1 AND {owned}
                  ORDER BY e.deadline_at
                  LIMIT $2
                    FOR UPDATE SKIP LOCKED)
             UPDATE workflow_scheduler.workflow_schedule_executions AS e
                SET status = 'timed_out', finished_at = $1, lease_expires_at = NULL
               FROM overdue
              WHERE e.execution_id OPERATOR(pg_catalog.=) overdue.execution_id
             RETURNING e.execution_id, e.schedule_id, e.workflow_id,
                       (SELECT s.community_id FROM workflow_scheduler.workflow_schedules AS s
                         WHERE s.schedule_id OPERATOR(pg_catalog.=) e.schedule_id),
                       (SELECT s.max_runtime_seconds FROM workflow_scheduler.workflow_schedules AS s
                         WHERE s.schedule_id OPERATOR(pg_catalog.=) e.schedule_id)";
        [false, true].map(|owners| with_owner_filter(template, "$3", owners))
    });
    Spi::connect_mut(|client| {
        let query = pick(&TEXTS, &owners);
        let table = kept_plans::run(client, query, &[from_utc(now).into(), limit.into(), owners.into()])?;
        let mut rows = Vec::with_capacity(table.len());
        for row in table {
            rows.push(TimedOut {
                execution_id: required(row.get(1)?),
                schedule_id: required(row.get(2)?),
                workflow_id: required(row.get(3)?),
                community_id: row.get(4)?,
                max_runtime_seconds: row.get(5)?,
            });
        }
        Ok::<_, pgrx::spi::Error>(rows)
    })
    .unwrap_or_else(|err| spi_failed(err))
}

/// A claimed execution, as `execution_claim` returns it.
pub struct Claimed {
    pub execution_id: Uuid,
    pub schedule_id: Uuid,
    pub workflow_id: Uuid,
    pub scheduled_for: TimestampWithTimeZone,
    pub attempt: i32,
    pub trigger_data: JsonB,
}

/// Which executions a claim takes, oldest first: running ones whose lease expired (their
/// engine is gone), then triggered ones.
#[derive(Clone, Copy)]
pub enum ClaimFrom {
    ExpiredLeases,
    Triggered,
}

/// Marks at most `limit` executions `running` under a lease until `now() + lease` and returns
/// them; rows another session holds are skipped, so concurrent claimers never share one.
pub fn claim(
    from: ClaimFrom,
    limit: i64,
    lease: Interval,
    claimed_by: Option<&str>,
    owners: Option<Vec<String>>,
) -> Vec<Claimed> {
    static TEXTS: LazyLock<[[String; 2]; 2]> = LazyLock::new(|| {
        [
            (
                "e.status = 'running' AND e.lease_expires_at OPERATOR(pg_catalog.<=) pg_catalog.now()",
                "e.lease_expires_at",
            ),
            ("e.status = 'triggered'", "e.triggered_at"),
        ]
        .map(|(filter, order)| {
            let template = format!(
                "WITH picked AS (
                     SELECT e.execution_id FROM workflow_scheduler.workflow_schedule_executions AS e
                      WHERE {filter} AND {{owned}}
                      ORDER BY {order}
                      LIMIT $1
                        FOR UPDATE SKIP LOCKED)
                 UPDATE workflow_scheduler.workflow_schedule_executions AS e
                    SET status = 'running', attempt = e.attempt OPERATOR(pg_catalog.+) 1, claimed_by = $3,
                        lease_expires_at = pg_catalog.now() OPERATOR(pg_catalog.+) $2
                   FROM picked
                  WHERE e.execution_id OPERATOR(pg_catalog.=) picked.execution_id
                 RETURNING e.execution_id, e.schedule_id, e.workflow_id, e.scheduled_for, e.attempt, e.trigger_data"
            );
            [false, true].map(|owners| with_owner_filter(&template, "$4", owners))
        })
    });
    let texts = match from {
        ClaimFrom::ExpiredLeases => &TEXTS[0],
        ClaimFrom::Triggered => &TEXTS[1],
    };
    Spi::connect_mut(|client| {
        let query = pick(texts, &owners);
        let table = kept_plans::run(client, query, &[limit.into(), lease.into(), claimed_by.into(), owners.into()])?;
        let mut rows = Vec::with_capacity(table.len());
        for row in table {
            rows.push(Claimed {
                execution_id: required(row.get(1)?),
                schedule_id: required(row.get(2)?),
                workflow_id: required(row.get(3)?),
                scheduled_for: required(row.get(4)?),
                attempt: required(row.get(5)?),
                trigger_data: required(row.get(6)?),
            });
        }
        Ok::<_, pgrx::spi::Error>(rows)
    })
    .unwrap_or_else(|err| spi_failed(err))
}

/// An execution locked for a change, with what the caller's access check needs.
pub struct LockedExecution {
    pub schedule_id: Uuid,
    pub status: String,
    pub owner_role: String,
    /// The schedule holds back an occurrence (`buffer_one`) until this one finishes.
    pub schedule_buffers: bool,
}

/// Locks one execution for the rest of the transaction.
pub fn lock_execution(execution_id: Uuid) -> Option<LockedExecution> {
    Spi::connect_mut(|client| {
        let rows = kept_plans::run(
            client,
            "SELECT e.schedule_id, e.status, s.owner_role::pg_catalog.text, s.buffered_for IS NOT NULL
               FROM workflow_scheduler.workflow_schedule_executions AS e
               JOIN workflow_scheduler.workflow_schedules AS s
                 ON s.schedule_id OPERATOR(pg_catalog.=) e.schedule_id
              WHERE e.execution_id OPERATOR(pg_catalog.=) $1
                FOR UPDATE OF e",
            &[execution_id.into()],
        )?;
        let Some(row) = rows.into_iter().next() else {
            return Ok(None);
        };
        Ok::<_, pgrx::spi::Error>(Some(LockedExecution {
            schedule_id: required(row.get(1)?),
            status: required(row.get(2)?),
            owner_role: required(row.get(3)?),
            schedule_buffers: required(row.get(4)?),
        }))
    })
    .unwrap_or_else(|err| spi_failed(err))
}

/// Extends the lease of a locked `running` execution.
pub fn extend_lease(execution_id: Uuid, lease: Interval) {
    kept_plans::execute(
        "UPDATE workflow_scheduler.workflow_schedule_executions
            SET lease_expires_at = pg_catalog.now() OPERATOR(pg_catalog.+) $2
          WHERE execution_id OPERATOR(pg_catalog.=) $1",
        &[execution_id.into(), lease.into()],
    )
    .unwrap_or_else(|err| spi_failed(err));
}

/// Records the outcome of a locked unfinished execution.
pub fn finish(execution_id: Uuid, status: &str, result: Option<JsonB>) {
    kept_plans::execute(
        "UPDATE workflow_scheduler.workflow_schedule_executions
            SET status = $2, result = $3, finished_at = pg_catalog.now(), lease_expires_at = NULL
          WHERE execution_id OPERATOR(pg_catalog.=) $1",
        &[execution_id.into(), status.into(), result.into()],
    )
    .unwrap_or_else(|err| spi_failed(err));
}
