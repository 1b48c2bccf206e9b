//! `audit_log` rows: one at a time for the API, column-wise in bulk for a due pass.

use std::mem::take;

use pgrx::JsonB;
use scheduler_core::AuditEvent;

use crate::pg::kept_plans;
use crate::pg::spi::spi_failed;

/// Inserts one event's row in the caller's transaction.
pub fn insert(event: &AuditEvent) {
    kept_plans::execute(
        "INSERT INTO workflow_scheduler.audit_log
             (event_type, community_id, user_id, schedule_id, action, result, details)
         VALUES ($1, $2, $3, $4::uuid, $5, $6, $7)",
        &[
            event.event_type.as_str().into(),
            event.community_id.into(),
            event.user_id.into(),
            event.schedule_id.as_deref().into(),
            event.action.into(),
            event.result.into(),
            JsonB(event.details_json()).into(),
        ],
    )
    .unwrap_or_else(|err| spi_failed(err));
}

/// Column buffers for many events, written by one statement.
#[derive(Default)]
pub struct AuditRows {
    event_type: Vec<&'static str>,
    community_id: Vec<Option<i64>>,
    user_id: Vec<Option<i64>>,
    schedule_id: Vec<Option<String>>,
    action: Vec<&'static str>,
    result: Vec<&'static str>,
    details: Vec<JsonB>,
}

impl AuditRows {
    pub fn push(&mut self, event: AuditEvent) {
        self.details.push(JsonB(event.details_json()));
        self.event_type.push(event.event_type.as_str());
        self.community_id.push(event.community_id);
        self.user_id.push(event.user_id);
        self.schedule_id.push(event.schedule_id);
        self.action.push(event.action);
        self.result.push(event.result);
    }

    /// Inserts every buffered row; the buffers are handed to Postgres without copying.
    pub fn insert_all(&mut self) {
        if self.action.is_empty() {
            return;
        }
        kept_plans::execute(
            "INSERT INTO workflow_scheduler.audit_log
                 (event_type, community_id, user_id, schedule_id, action, result, details)
             SELECT * FROM ROWS FROM (
                 pg_catalog.unnest($1::text[]),
                 pg_catalog.unnest($2::bigint[]),
                 pg_catalog.unnest($3::bigint[]),
                 pg_catalog.unnest($4::uuid[]),
                 pg_catalog.unnest($5::text[]),
                 pg_catalog.unnest($6::text[]),
                 pg_catalog.unnest($7::jsonb[])
             )",
            &[
                take(&mut self.event_type).into(),
                take(&mut self.community_id).into(),
                take(&mut self.user_id).into(),
                take(&mut self.schedule_id).into(),
                take(&mut self.action).into(),
                take(&mut self.result).into(),
                take(&mut self.details).into(),
            ],
        )
        .unwrap_or_else(|err| spi_failed(err));
    }
}
