//! AAA audit events: what each operation reports, as one value that the Postgres layer turns
//! into a server log line (the seed's format) and an `audit_log` row.
//!
//! Line format: `workflow_scheduler:0.2.0 AUDIT community=1 user=42 action=schedule_create
//! result=SUCCESS schedule_id=... workflow_id=... schedule_type=cron`.

use serde_json::{Map, Value};

/// `audit_log.event_type`.
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

/// What a routine fire writes (`workflow_scheduler.fire_events`): the seed's log line and an
/// `audit_log` row (the default), the row only, or neither: at 1,000 fires a second these are
/// most of the worker's writes, and the execution row records every fire either way.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FireEvents {
    #[default]
    LogAndTable,
    Table,
    None,
}

/// The events every scheduled fire writes (and one per due pass): the only ones
/// `FireEvents` governs. Misses, limits, broken schedules, timeouts and every operator action
/// (a manual trigger, a backfill) are always logged and recorded.
pub const ROUTINE_FIRE_EVENTS: [&str; 3] = ["schedule_triggered", "schedule_executed", "scheduler_job_executed"];

/// Where one event goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventSinks {
    pub log: bool,
    pub table: bool,
}

impl FireEvents {
    /// Where `action` goes under this setting, for a routine (scheduled) fire or pass.
    pub fn sinks(self, action: &str) -> EventSinks {
        let routine = ROUTINE_FIRE_EVENTS.contains(&action);
        match self {
            _ if !routine => EventSinks { log: true, table: true },
            FireEvents::LogAndTable => EventSinks { log: true, table: true },
            FireEvents::Table => EventSinks { log: false, table: true },
            FireEvents::None => EventSinks { log: false, table: false },
        }
    }
}

/// One audit event. `details` keep their order in the log line.
#[derive(Clone, Debug, PartialEq)]
pub struct AuditEvent {
    pub event_type: EventType,
    pub community_id: Option<i64>,
    pub user_id: Option<i64>,
    /// The schedule the event is about; events without one (worker start and stop) are
    /// visible to administrators only.
    pub schedule_id: Option<String>,
    pub action: &'static str,
    pub result: &'static str,
    pub details: Vec<(&'static str, Value)>,
}

impl AuditEvent {
    /// An `AUDIT` event about an operation on a schedule.
    pub fn audit(action: &'static str, result: &'static str, schedule_id: Option<String>) -> AuditEvent {
        AuditEvent {
            event_type: EventType::Audit,
            community_id: None,
            user_id: None,
            schedule_id,
            action,
            result,
            details: Vec::new(),
        }
    }

    /// A `SYSTEM` event of the worker, not about any one schedule.
    pub fn system(action: &'static str) -> AuditEvent {
        AuditEvent { event_type: EventType::System, ..AuditEvent::audit(action, "SUCCESS", None) }
    }

    /// An `ERROR` event about a schedule.
    pub fn error(action: &'static str, schedule_id: Option<String>) -> AuditEvent {
        AuditEvent { event_type: EventType::Error, ..AuditEvent::audit(action, "FAILURE", schedule_id) }
    }

    pub fn by(mut self, community_id: Option<i64>, user_id: Option<i64>) -> AuditEvent {
        self.community_id = community_id;
        self.user_id = user_id;
        self
    }

    pub fn with(mut self, key: &'static str, value: impl Into<Value>) -> AuditEvent {
        self.details.push((key, value.into()));
        self
    }

    /// The seed's log line, without the timestamp and level that the server log adds.
    /// `module` is `workflow_scheduler:<version>`.
    pub fn log_line(&self, module: &str) -> String {
        let mut line = format!(
            "{module} {} community={} user={} action={} result={}",
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
        let map: Map<String, Value> = self.details.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
        Value::Object(map)
    }
}

fn display_id(id: Option<i64>) -> String {
    id.map_or_else(|| "-".to_string(), |v| v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fire_events_governs_only_routine_fire_events() {
        let all = EventSinks { log: true, table: true };
        for setting in [FireEvents::LogAndTable, FireEvents::Table, FireEvents::None] {
            for action in ["schedule_missed", "schedule_limit_reached", "scheduler_job_error", "schedule_create"] {
                assert_eq!(setting.sinks(action), all, "{setting:?} {action}");
            }
        }
        for action in ROUTINE_FIRE_EVENTS {
            assert_eq!(FireEvents::LogAndTable.sinks(action), all);
            assert_eq!(FireEvents::Table.sinks(action), EventSinks { log: false, table: true });
            assert_eq!(FireEvents::None.sinks(action), EventSinks { log: false, table: false });
        }
        assert_eq!(FireEvents::default(), FireEvents::LogAndTable);
    }

    #[test]
    fn log_line_has_the_seed_format() {
        let event = AuditEvent::audit("schedule_create", "SUCCESS", Some("s-1".into()))
            .by(Some(1), Some(42))
            .with("schedule_id", "s-1")
            .with("count", 3);
        assert_eq!(
            event.log_line("workflow_scheduler:0.2.0"),
            "workflow_scheduler:0.2.0 AUDIT community=1 user=42 action=schedule_create result=SUCCESS schedule_id=s-1 count=3"
        );
        assert_eq!(event.details_json(), serde_json::json!({"schedule_id": "s-1", "count": 3}));
    }

    #[test]
    fn system_events_have_no_schedule_and_dashes_for_ids() {
        let event = AuditEvent::system("scheduler_start");
        assert_eq!(event.schedule_id, None);
        assert_eq!(event.log_line("m"), "m SYSTEM community=- user=- action=scheduler_start result=SUCCESS");
    }
}
