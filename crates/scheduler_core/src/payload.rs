//! Trigger data and the NOTIFY payload (PRODUCT.md, "Trigger data").

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value};

use crate::config::RESERVED_TRIGGER_KEYS;

/// Postgres rejects a NOTIFY payload of 8000 bytes or more.
pub const NOTIFY_PAYLOAD_LIMIT: usize = 8000;

/// The one timestamp format of the trigger data: ISO 8601 in UTC with microseconds
/// (Postgres's resolution), e.g. `2026-11-26T14:00:00.123456Z`. A fixed width keeps the
/// strings sortable and trivially parseable (Python `datetime.fromisoformat`, JS `Date`).
pub fn iso_utc(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Why an execution exists: its schedule's grid, `schedule_trigger`, or `schedule_backfill`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TriggerKind {
    Scheduled,
    Manual,
    Backfill,
}

impl TriggerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TriggerKind::Scheduled => "scheduled",
            TriggerKind::Manual => "manual",
            TriggerKind::Backfill => "backfill",
        }
    }
}

/// When and why an execution happens.
#[derive(Debug, Clone, Copy)]
pub struct Occasion {
    pub scheduled_for: DateTime<Utc>,
    pub triggered_at: DateTime<Utc>,
    pub kind: TriggerKind,
}

/// The trigger data of one execution: the reserved keys, then the schedule's `context_data`
/// merged at the top level. A context key never overrides a reserved key (`schedule_add`
/// rejects them anyway; this is the second line of defence for rows written before).
pub fn build_trigger_data(
    schedule_id: &str,
    execution_id: &str,
    workflow_id: &str,
    community_id: Option<i64>,
    occasion: Occasion,
    context_data: &Map<String, Value>,
) -> Value {
    let Occasion { scheduled_for, triggered_at, kind: trigger_kind } = occasion;
    let mut data = Map::new();
    data.insert("schedule_id".into(), Value::from(schedule_id));
    data.insert("execution_id".into(), Value::from(execution_id));
    data.insert("triggered_at".into(), Value::from(iso_utc(triggered_at)));
    data.insert("workflow_id".into(), Value::from(workflow_id));
    data.insert("scheduled_for".into(), Value::from(iso_utc(scheduled_for)));
    data.insert("community_id".into(), community_id.map_or(Value::Null, Value::from));
    data.insert("trigger_kind".into(), Value::from(trigger_kind.as_str()));
    for (key, value) in context_data {
        if !RESERVED_TRIGGER_KEYS.contains(&key.as_str()) {
            data.insert(key.clone(), value.clone());
        }
    }
    Value::Object(data)
}

/// What the NOTIFY carries (`workflow_scheduler.notify_payload`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadMode {
    /// The whole trigger data (the seed's payload), truncated when too large.
    Full,
    /// Only `schedule_id`, `execution_id`, `workflow_id` and `scheduled_for`: LISTEN has no
    /// privileges, so any role that can connect reads the channel; the engine reads the rest
    /// from the execution row, which row-level security protects.
    Ids,
}

/// The NOTIFY payload for `trigger_data`. `Full`: its JSON text (reserved keys first) when
/// shorter than [`NOTIFY_PAYLOAD_LIMIT`] bytes, else
/// `{"schedule_id":…,"execution_id":…,"workflow_id":…,"truncated":true}`. The full trigger
/// data is always kept in the execution row.
pub fn notify_payload(trigger_data: &Value, mode: PayloadMode) -> String {
    let field = |key: &str| trigger_data.get(key).cloned().unwrap_or(Value::Null);
    let only = |keys: &[&str], truncated: bool| {
        let mut short: Map<String, Value> = keys.iter().map(|key| (key.to_string(), field(key))).collect();
        if truncated {
            short.insert("truncated".into(), Value::Bool(true));
        }
        ordered_json(&Value::Object(short))
    };
    if mode == PayloadMode::Ids {
        return only(&["schedule_id", "execution_id", "workflow_id", "scheduled_for"], false);
    }
    let full = ordered_json(trigger_data);
    if full.len() < NOTIFY_PAYLOAD_LIMIT {
        return full;
    }
    only(&["schedule_id", "execution_id", "workflow_id"], true)
}

/// Compact JSON with the reserved keys first, in their documented order, then the others.
///
/// Why by hand: serde_json's map is sorted unless the `preserve_order` feature is on, and
/// turning that on would change map order for every crate in the build. Only the top level
/// is reordered; nested values keep serde_json's rendering.
fn ordered_json(value: &Value) -> String {
    let Value::Object(object) = value else {
        return value.to_string();
    };
    let reserved = RESERVED_TRIGGER_KEYS.iter().filter_map(|key| object.get_key_value(*key));
    let others = object.iter().filter(|(key, _)| !RESERVED_TRIGGER_KEYS.contains(&key.as_str()));
    let mut out = String::with_capacity(256);
    out.push('{');
    for (i, (key, value)) in reserved.chain(others).enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&Value::from(key.as_str()).to_string());
        out.push(':');
        out.push_str(&value.to_string());
    }
    out.push('}');
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const SID: &str = "5f0c1d2e-0000-4000-8000-000000000001";
    const EID: &str = "5f0c1d2e-0000-4000-8000-000000000002";
    const WID: &str = "5f0c1d2e-0000-4000-8000-000000000003";

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn data(context: Value) -> Value {
        let Value::Object(context) = context else { panic!("object") };
        build_trigger_data(
            SID,
            EID,
            WID,
            Some(7),
            Occasion {
                scheduled_for: utc("2026-11-26T14:00:00Z"),
                triggered_at: utc("2026-11-26T14:00:00.123456Z"),
                kind: TriggerKind::Scheduled,
            },
            &context,
        )
    }

    #[test]
    fn iso_format_is_utc_with_microseconds() {
        assert_eq!(iso_utc(utc("2026-11-26T15:00:00.123456+01:00")), "2026-11-26T14:00:00.123456Z");
        assert_eq!(iso_utc(utc("2026-11-26T14:00:00Z")), "2026-11-26T14:00:00.000000Z");
    }

    #[test]
    fn reserved_keys_first_then_context_merged() {
        let d = data(json!({"region": "eu", "attempt": 2, "schedule_id": "spoofed"}));
        assert_eq!(d["schedule_id"], SID);
        assert_eq!(d["region"], "eu");
        assert_eq!(d["community_id"], 7);
        assert_eq!(d["scheduled_for"], "2026-11-26T14:00:00.000000Z");
        assert_eq!(d["triggered_at"], "2026-11-26T14:00:00.123456Z");
        let text = notify_payload(&d, PayloadMode::Full);
        assert_eq!(
            text,
            format!(
                "{{\"schedule_id\":\"{SID}\",\"execution_id\":\"{EID}\",\
                 \"triggered_at\":\"2026-11-26T14:00:00.123456Z\",\"workflow_id\":\"{WID}\",\
                 \"scheduled_for\":\"2026-11-26T14:00:00.000000Z\",\"community_id\":7,\
                 \"trigger_kind\":\"scheduled\",\"attempt\":2,\"region\":\"eu\"}}"
            )
        );
        // The text is valid JSON with the same content.
        assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), d);
    }

    #[test]
    fn missing_community_is_null() {
        let d = build_trigger_data(
            SID,
            EID,
            WID,
            None,
            Occasion { scheduled_for: Utc::now(), triggered_at: Utc::now(), kind: TriggerKind::Manual },
            &Map::new(),
        );
        assert_eq!(d["community_id"], Value::Null);
    }

    #[test]
    fn truncation_at_the_8000_byte_boundary() {
        let base = notify_payload(&data(json!({"pad": ""})), PayloadMode::Full).len();
        // Pad with a 2-byte character too, to check bytes (not chars) are counted.
        for (unit, unit_len) in [("x", 1), ("é", 2)] {
            let fill = |bytes: usize| unit.repeat(bytes / unit_len) + &"x".repeat(bytes % unit_len);
            let just_under = data(json!({ "pad": fill(NOTIFY_PAYLOAD_LIMIT - 1 - base) }));
            let text = notify_payload(&just_under, PayloadMode::Full);
            assert_eq!(text.len(), NOTIFY_PAYLOAD_LIMIT - 1, "{unit}");
            assert!(!text.contains("truncated"));

            let at_limit = data(json!({ "pad": fill(NOTIFY_PAYLOAD_LIMIT - base) }));
            let text = notify_payload(&at_limit, PayloadMode::Full);
            assert_eq!(
                text,
                format!(
                    "{{\"schedule_id\":\"{SID}\",\"execution_id\":\"{EID}\",\
                     \"workflow_id\":\"{WID}\",\"truncated\":true}}"
                ),
                "{unit}"
            );
        }
    }

    #[test]
    fn ids_mode_sends_only_the_ids_whatever_the_size() {
        for context in [json!({"secret": "s3cr3t"}), json!({"pad": "x".repeat(9000)})] {
            let text = notify_payload(&data(context), PayloadMode::Ids);
            assert_eq!(
                text,
                format!(
                    "{{\"schedule_id\":\"{SID}\",\"execution_id\":\"{EID}\",\
                     \"workflow_id\":\"{WID}\",\"scheduled_for\":\"2026-11-26T14:00:00.000000Z\"}}"
                )
            );
        }
    }
}
