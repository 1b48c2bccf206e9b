//! Retention: deletes finished executions (with their deliveries) and audit rows older than
//! the retention settings, in bounded batches.

use chrono::{DateTime, Utc};
use pgrx::prelude::*;

use crate::pg::spi::{required, spi_failed};
use crate::pg::time_conv::from_utc;

/// What one batch deleted.
#[derive(Debug, Default, Clone, Copy)]
pub struct Deleted {
    pub executions: i64,
    pub deliveries: i64,
    pub audit_rows: i64,
}

impl Deleted {
    pub fn total(&self) -> i64 {
        self.executions + self.deliveries + self.audit_rows
    }

    pub fn add(&mut self, other: Deleted) {
        self.executions += other.executions;
        self.deliveries += other.deliveries;
        self.audit_rows += other.audit_rows;
    }
}

/// Deletes at most `limit` finished executions triggered before `history_before` (with their
/// deliveries and those deliveries' attempts), and at most `limit` audit rows logged before
/// `audit_before`. `None` keeps that kind forever. An execution with a delivery still pending
/// stays until it is delivered, failed or cancelled.
pub fn delete_expired(
    history_before: Option<DateTime<Utc>>,
    audit_before: Option<DateTime<Utc>>,
    limit: i64,
) -> Deleted {
    let mut deleted = Deleted::default();
    if let Some(before) = history_before {
        let (executions, deliveries) = Spi::connect_mut(|client| {
            let row = client
                .update(
                    // Rows go by their tid, found through the partial index in age order: a
                    // join on the key made each batch scan the whole table.
                    "WITH old AS MATERIALIZED (
                         SELECT e.ctid AS tid, e.execution_id
                           FROM workflow_scheduler.workflow_schedule_executions AS e
                          WHERE e.status NOT IN ('triggered', 'running')
                            AND e.triggered_at OPERATOR(pg_catalog.<) $1
                            AND NOT EXISTS (
                                SELECT 1 FROM workflow_scheduler.deliveries AS p
                                 WHERE p.execution_id OPERATOR(pg_catalog.=) e.execution_id AND p.status = 'pending')
                          ORDER BY e.triggered_at
                          LIMIT $2),
                     gone_deliveries AS (
                         DELETE FROM workflow_scheduler.deliveries AS d
                          WHERE d.execution_id OPERATOR(pg_catalog.=) ANY (ARRAY(SELECT old.execution_id FROM old))
                         RETURNING d.delivery_id),
                     gone_attempts AS (
                         DELETE FROM workflow_scheduler.delivery_attempts AS a
                          WHERE a.delivery_id OPERATOR(pg_catalog.=) ANY (ARRAY(SELECT g.delivery_id FROM gone_deliveries AS g))),
                     gone AS (
                         DELETE FROM workflow_scheduler.workflow_schedule_executions AS e
                          WHERE e.ctid OPERATOR(pg_catalog.=) ANY (ARRAY(SELECT old.tid FROM old))
                         RETURNING 1)
                     SELECT (SELECT pg_catalog.count(*) FROM gone), (SELECT pg_catalog.count(*) FROM gone_deliveries)",
                    None,
                    &[from_utc(before).into(), limit.into()],
                )?
                .first();
            Ok::<_, pgrx::spi::Error>((required::<i64>(row.get(1)?), required::<i64>(row.get(2)?)))
        })
        .unwrap_or_else(|err| spi_failed(err));
        deleted.executions = executions;
        deleted.deliveries = deliveries;
    }
    if let Some(before) = audit_before {
        deleted.audit_rows = Spi::get_one_with_args::<i64>(
            "WITH gone AS (
                 DELETE FROM workflow_scheduler.audit_log AS l
                  WHERE l.ctid OPERATOR(pg_catalog.=) ANY (ARRAY(
                        SELECT o.ctid FROM workflow_scheduler.audit_log AS o
                         WHERE o.logged_at OPERATOR(pg_catalog.<) $1 ORDER BY o.logged_at LIMIT $2))
                 RETURNING 1)
             SELECT pg_catalog.count(*) FROM gone",
            &[from_utc(before).into(), limit.into()],
        )
        .unwrap_or_else(|err| spi_failed(err))
        .unwrap_or_default();
    }
    deleted
}
