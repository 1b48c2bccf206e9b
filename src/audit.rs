//! AAA audit events: a server log line in the seed's format plus a row in `audit_log`.
//!
//! Line format: `workflow_scheduler:0.1.0 AUDIT community=1 user=42 action=schedule_create
//! result=SUCCESS schedule_id=... workflow_id=... schedule_type=cron`.

use pgrx::prelude::*;
use pgrx::JsonB;
use serde_json::{Map, Value};

const MODULE: &str = concat!("workflow_scheduler:", env!("CARGO_PKG_VERSION"));

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventType {
    Audit,
    System,
    Error,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Audit => "AUDIT",
            EventType::System => "SYSTEM",
            EventType::Error => "ERROR",
        }
    }
}

/// One audit event. `details` keep their order in the log line.
pub struct AuditEvent<'a> {
    pub event_type: EventType,
    pub community_id: Option<i64>,
    pub user_id: Option<i64>,
    pub action: &'static str,
    pub result: &'static str,
    pub details: Vec<(&'a str, Value)>,
}

impl AuditEvent<'_> {
    /// The seed's log line, without the timestamp and level that the server log adds.
    pub fn log_line(&self) -> String {
        let mut line = format!(
            "{MODULE} {} community={} user={} action={} result={}",
            self.event_type.as_str(),
            display_id(self.community_id),
            display_id(self.user_id),
            self.action,
            self.result
        );
        for (key, value) in &self.details {
            match value {
                Value::String(text) => line.push_str(&format!(" {key}={text}")),
                other => line.push_str(&format!(" {key}={other}")),
            }
        }
        line
    }

    pub fn details_json(&self) -> Value {
        let map: Map<String, Value> =
            self.details.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
        Value::Object(map)
    }

    /// Writes the log line only: for failures, whose transaction is about to roll back.
    pub fn log(&self) {
        pgrx::log!("{}", self.log_line());
    }

    /// Writes the log line and the `audit_log` row, inside the caller's transaction.
    pub fn record(&self) {
        self.log();
        let inserted = Spi::run_with_args(
            "INSERT INTO workflow_scheduler.audit_log
                 (event_type, community_id, user_id, action, result, details)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                self.event_type.as_str().into(),
                self.community_id.into(),
                self.user_id.into(),
                self.action.into(),
                self.result.into(),
                JsonB(self.details_json()).into(),
            ],
        );
        if let Err(err) = inserted {
            pgrx::warning!("{MODULE} could not write audit_log row for {}: {err}", self.action);
        }
    }
}

fn display_id(id: Option<i64>) -> String {
    id.map_or_else(|| "-".to_string(), |v| v.to_string())
}
