//! schedule_config and context_data validation: every rule, with its message prefix.

mod common;

use chrono::{DateTime, Duration, Utc};
use common::utc;
use scheduler_core::{
    validate_config, validate_context_data, CronCache, Recurrence, ScheduleConfig, ScheduleError, ScheduleKind,
};
use serde_json::{json, Value};

fn now() -> DateTime<Utc> {
    utc("2024-06-01T12:00:00Z")
}

fn ok(config: Value) -> ScheduleConfig {
    validate_config(&config, "UTC", now()).unwrap_or_else(|e| panic!("{config}: {e}"))
}

/// Asserts rejection with a message starting with `prefix`; returns the message.
#[track_caller]
fn rejected(config: Value, prefix: &str) -> String {
    match validate_config(&config, "UTC", now()) {
        Ok(c) => panic!("{config} accepted: {c:?}"),
        Err(e) => {
            let msg = e.to_string();
            assert!(msg.starts_with(prefix), "{config}: {msg:?} should start with {prefix:?}");
            msg
        }
    }
}

const CFG: &str = "Invalid schedule configuration: ";
const CRON: &str = "Invalid cron expression: ";

#[test]
fn valid_cron() {
    let c = ok(json!({"schedule_type": "cron", "cron_expression": " 0 9 * * MON-FRI ",
                      "timezone": "Europe/Berlin", "max_executions": 10}));
    assert_eq!(c.kind, ScheduleKind::Cron);
    assert_eq!(c.cron_expression.as_deref(), Some("0 9 * * MON-FRI"));
    assert_eq!(c.timezone, "Europe/Berlin");
    assert_eq!(c.max_executions, Some(10));
    assert_eq!((c.interval_seconds, c.scheduled_time), (None, None));
    let mut cache = CronCache::new(8);
    let r = c.recurrence(&mut cache, now()).unwrap();
    // 2024-06-03 is a Monday; 09:00 CEST = 07:00Z.
    assert_eq!(r.next_after(now()), Some(utc("2024-06-03T07:00:00Z")));
    assert_eq!(cache.len(), 1);
}

#[test]
fn valid_interval_and_defaults() {
    let c = ok(json!({"schedule_type": "interval", "interval_seconds": 300, "max_executions": null,
                      "timezone": null}));
    assert_eq!(c.interval_seconds, Some(300));
    assert_eq!(c.max_executions, None);
    assert_eq!(c.timezone, "UTC");
    let anchor = utc("2024-06-01T12:00:00.250Z");
    let r = c.recurrence(&mut CronCache::new(1), anchor).unwrap();
    assert!(matches!(r, Recurrence::Interval { every_seconds: 300, .. }));
    assert_eq!(r.next_after(anchor), Some(anchor + Duration::seconds(300)));
    // The default zone is the caller's setting, canonicalised.
    let c = validate_config(&json!({"schedule_type": "interval", "interval_seconds": 1}), "asia/tokyo", now()).unwrap();
    assert_eq!(c.timezone, "Asia/Tokyo");
    assert_eq!(c.interval_seconds, Some(1));
    let c = ok(json!({"schedule_type": "interval", "interval_seconds": i32::MAX}));
    assert_eq!(c.interval_seconds, Some(i32::MAX));
}

#[test]
fn valid_one_time_formats() {
    let berlin = |t: &str| {
        ok(json!({"schedule_type": "one_time", "scheduled_time": t,
                                     "timezone": "Europe/Berlin"}))
        .scheduled_time
        .unwrap()
    };
    // Local time in the schedule's zone (CET, +01:00 in December).
    assert_eq!(berlin("2024-12-25T15:30:00"), utc("2024-12-25T14:30:00Z"));
    assert_eq!(berlin("2024-12-25 15:30:00"), utc("2024-12-25T14:30:00Z"));
    assert_eq!(berlin("2024-12-25T15:30"), utc("2024-12-25T14:30:00Z"));
    assert_eq!(berlin("2024-12-25T15:30:00.123456"), utc("2024-12-25T14:30:00.123456Z"));
    assert_eq!(berlin("2024-12-25T15:30:00.1234569"), utc("2024-12-25T14:30:00.123456Z"));
    assert_eq!(berlin("2024-12-25"), utc("2024-12-24T23:00:00Z"));
    // An explicit offset wins over the zone.
    assert_eq!(berlin("2024-12-25T15:30:00Z"), utc("2024-12-25T15:30:00Z"));
    assert_eq!(berlin("2024-12-25T15:30:00+02:00"), utc("2024-12-25T13:30:00Z"));
    assert_eq!(berlin("2024-12-25T15:30:00-0530"), utc("2024-12-25T21:00:00Z"));
    assert_eq!(berlin("2024-12-25T15:30:00+05"), utc("2024-12-25T10:30:00Z"));
    assert_eq!(berlin("2024-12-25t15:30:00.5z"), utc("2024-12-25T15:30:00.5Z"));
    // DST gap: 2025-03-30 02:00 CET -> 03:00 CEST; 02:30 means 03:00 CEST = 01:00Z.
    assert_eq!(berlin("2025-03-30T02:30:00"), utc("2025-03-30T01:00:00Z"));
    // DST overlap: 2024-10-27 02:30 happens at 00:30Z and 01:30Z; the first pass.
    assert_eq!(berlin("2024-10-27T02:30:00"), utc("2024-10-27T00:30:00Z"));
    // Apia's skipped day: any time on 2011-12-30 means the end of the gap.
    let apia = validate_config(
        &json!({"schedule_type": "one_time", "scheduled_time": "2011-12-30T09:00:00",
                "timezone": "Pacific/Apia"}),
        "UTC",
        utc("2011-12-01T00:00:00Z"),
    )
    .unwrap();
    assert_eq!(apia.scheduled_time, Some(utc("2011-12-30T10:00:00Z")));
    let r = apia.recurrence(&mut CronCache::new(1), now()).unwrap();
    assert!(matches!(r, Recurrence::OneTime { .. }));
}

#[test]
fn config_must_be_an_object() {
    for bad in [json!(null), json!([]), json!("cron"), json!(5), json!(true)] {
        rejected(bad, &format!("{CFG}schedule_config must be a JSON object, got "));
    }
}

#[test]
fn unknown_keys_are_named() {
    let msg = rejected(
        json!({"schedule_type": "cron", "cron_expresion": "* * * * *"}),
        &format!("{CFG}unknown key 'cron_expresion'"),
    );
    assert!(msg.contains("allowed keys: schedule_type, cron_expression"), "{msg}");
    rejected(
        json!({"schedule_type": "interval", "interval_seconds": 5, "starts_at": null}),
        &format!("{CFG}unknown key 'starts_at'"),
    );
}

#[test]
fn schedule_type_rules() {
    rejected(json!({}), &format!("{CFG}schedule_type required"));
    rejected(json!({"schedule_type": null}), &format!("{CFG}schedule_type required"));
    rejected(json!({"schedule_type": 1}), &format!("{CFG}schedule_type must be a string, got number"));
    rejected(
        json!({"schedule_type": "hourly"}),
        &format!("{CFG}unknown schedule_type 'hourly' (expected cron, interval or one_time)"),
    );
}

#[test]
fn missing_type_fields() {
    assert_eq!(
        validate_config(&json!({"schedule_type": "cron"}), "UTC", now()).unwrap_err(),
        ScheduleError::MissingField("cron_expression")
    );
    rejected(
        json!({"schedule_type": "cron", "cron_expression": null}),
        "cron_expression required for schedule_type cron",
    );
    rejected(json!({"schedule_type": "interval"}), "interval_seconds required");
    rejected(json!({"schedule_type": "one_time"}), "scheduled_time required");
}

#[test]
fn keys_of_another_type_are_rejected() {
    rejected(
        json!({"schedule_type": "cron", "cron_expression": "* * * * *", "interval_seconds": 5}),
        &format!("{CFG}interval_seconds does not apply to schedule_type cron"),
    );
    rejected(
        json!({"schedule_type": "interval", "interval_seconds": 5, "cron_expression": "* * * * *"}),
        &format!("{CFG}cron_expression does not apply to schedule_type interval"),
    );
    rejected(
        json!({"schedule_type": "one_time", "scheduled_time": "2030-01-01", "interval_seconds": 5}),
        &format!("{CFG}interval_seconds does not apply to schedule_type one_time"),
    );
    rejected(
        json!({"schedule_type": "interval", "interval_seconds": 5, "scheduled_time": "2030-01-01"}),
        &format!("{CFG}scheduled_time does not apply to schedule_type interval"),
    );
    // null is the same as absent.
    ok(json!({"schedule_type": "interval", "interval_seconds": 5, "cron_expression": null}));
}

#[test]
fn wrong_json_types() {
    rejected(
        json!({"schedule_type": "interval", "interval_seconds": "60"}),
        &format!("{CFG}interval_seconds must be an integer, got string"),
    );
    rejected(
        json!({"schedule_type": "interval", "interval_seconds": 1.5}),
        &format!("{CFG}interval_seconds must be an integer, got 1.5"),
    );
    rejected(
        json!({"schedule_type": "interval", "interval_seconds": 60.0}),
        &format!("{CFG}interval_seconds must be an integer, got 60.0"),
    );
    rejected(
        json!({"schedule_type": "interval", "interval_seconds": [60]}),
        &format!("{CFG}interval_seconds must be an integer, got array"),
    );
    rejected(
        json!({"schedule_type": "cron", "cron_expression": 5}),
        &format!("{CFG}cron_expression must be a string, got number"),
    );
    rejected(
        json!({"schedule_type": "one_time", "scheduled_time": 1735000000}),
        &format!("{CFG}scheduled_time must be a string, got number"),
    );
    rejected(
        json!({"schedule_type": "interval", "interval_seconds": 5, "timezone": {}}),
        &format!("{CFG}timezone must be a string, got object"),
    );
    rejected(
        json!({"schedule_type": "interval", "interval_seconds": 5, "max_executions": "3"}),
        &format!("{CFG}max_executions must be an integer, got string"),
    );
    rejected(
        json!({"schedule_type": "interval", "interval_seconds": 5, "max_executions": true}),
        &format!("{CFG}max_executions must be an integer, got boolean"),
    );
}

#[test]
fn out_of_range_integers() {
    rejected(
        json!({"schedule_type": "interval", "interval_seconds": 0}),
        &format!("{CFG}interval_seconds must be at least 1, got 0"),
    );
    rejected(
        json!({"schedule_type": "interval", "interval_seconds": -60}),
        &format!("{CFG}interval_seconds must be at least 1, got -60"),
    );
    rejected(
        json!({"schedule_type": "interval", "interval_seconds": 2_147_483_648i64}),
        &format!("{CFG}interval_seconds must be at most 2147483647, got 2147483648"),
    );
    rejected(
        json!({"schedule_type": "interval", "interval_seconds": u64::MAX}),
        &format!("{CFG}interval_seconds must be at most 2147483647"),
    );
    rejected(
        json!({"schedule_type": "interval", "interval_seconds": 5, "max_executions": 0}),
        &format!("{CFG}max_executions must be at least 1, got 0"),
    );
}

#[test]
fn timezones() {
    rejected(
        json!({"schedule_type": "interval", "interval_seconds": 5, "timezone": "Mars/Olympus"}),
        "Invalid timezone: Mars/Olympus",
    );
    rejected(json!({"schedule_type": "interval", "interval_seconds": 5, "timezone": ""}), "Invalid timezone: ");
    assert_eq!(
        validate_config(&json!({"schedule_type": "interval", "interval_seconds": 5}), "Nowhere", now()).unwrap_err(),
        ScheduleError::InvalidTimezone("Nowhere".into())
    );
    let c = ok(json!({"schedule_type": "interval", "interval_seconds": 5, "timezone": "america/NEW_york"}));
    assert_eq!(c.timezone, "America/New_York");
}

#[test]
fn cron_expression_errors() {
    let cron = |expr: &str| json!({"schedule_type": "cron", "cron_expression": expr});
    rejected(
        cron("0 0 * * * *"),
        &format!(
            "{CRON}expected 5 fields (minute hour day-of-month month day-of-week), got 6; \
                       a seconds field is not supported"
        ),
    );
    rejected(cron(""), &format!("{CRON}expression is empty"));
    rejected(cron("60 * * * *"), &format!("{CRON}minute field '60'"));
    rejected(cron("0 25 * * *"), &format!("{CRON}hour field '25'"));
    rejected(cron("0 0 * 13 *"), &format!("{CRON}month field '13'"));
    rejected(cron("0 0 * * MOON"), &format!("{CRON}day-of-week field 'MOON': unknown name 'MOON'"));
    rejected(cron("0 0 * JANUARY *"), &format!("{CRON}month field 'JANUARY'"));
    rejected(cron("@every_5m"), &format!("{CRON}unknown macro '@every_5m'"));
    rejected(cron("0 0 30 2 *"), &format!("{CRON}'0 0 30 2 *' never fires"));
    rejected(cron("0 0 31 11 *"), &format!("{CRON}'0 0 31 11 *' never fires"));
    // Rare but possible is fine.
    ok(cron("0 0 29 2 *"));
    ok(cron("@midnight"));
}

#[test]
fn one_time_errors() {
    let at = |t: &str| json!({"schedule_type": "one_time", "scheduled_time": t});
    rejected(at("2024-06-01T11:59:59Z"), "scheduled_time must be in the future");
    rejected(at("2024-06-01T12:00:00Z"), "scheduled_time must be in the future");
    assert_eq!(validate_config(&at("2020-01-01"), "UTC", now()).unwrap_err(), ScheduleError::ScheduledTimeInPast);
    ok(at("2024-06-01T12:00:00.000001Z"));
    for bad in [
        "tomorrow",
        "2024-13-01T00:00:00",
        "2024-02-30",
        "2024-6-1",
        "2024-06-01T25:00:00",
        "2024-06-01T12:00:60",
        "2024-06-01X12:00:00",
        "2024-06-01T12",
        "2024-06-01T12:00:00+25:00",
        "2024-06-01T12:00:00+2:00",
        "2025-06-01T12:00:00 UTC",
        "2025-06-01T12:00:00+01:00:00",
        "",
        "2025-06-0é",
    ] {
        let msg = rejected(at(bad), &format!("{CFG}scheduled_time '{bad}' is not an ISO 8601 timestamp"));
        assert!(msg.contains("2024-12-25T15:30:00"), "{msg}");
    }
}

#[test]
fn context_data_rules() {
    validate_context_data(&json!({})).unwrap();
    validate_context_data(&json!({"region": "eu", "nested": {"schedule_id": 1}})).unwrap();
    for bad in [json!([]), json!(null), json!("x")] {
        let msg = validate_context_data(&bad).unwrap_err().to_string();
        assert!(msg.starts_with(&format!("{CFG}context_data must be a JSON object, got ")), "{msg}");
    }
    for key in scheduler_core::RESERVED_TRIGGER_KEYS {
        let msg = validate_context_data(&json!({ "ok": 1, key: "x" })).unwrap_err().to_string();
        assert!(msg.starts_with(&format!("{CFG}context_data key '{key}' is reserved")), "{msg}");
    }
}

#[test]
fn overlap_and_max_runtime() {
    use scheduler_core::firing::overlap::OverlapPolicy;
    let base = || json!({"schedule_type": "interval", "interval_seconds": 60});
    let c = ok(base());
    assert_eq!((c.overlap, c.max_runtime_seconds), (OverlapPolicy::Allow, None));
    for (name, policy) in
        [("allow", OverlapPolicy::Allow), ("skip", OverlapPolicy::Skip), ("buffer_one", OverlapPolicy::BufferOne)]
    {
        let mut config = base();
        config["overlap"] = json!(name);
        config["max_runtime_seconds"] = json!(3600);
        let c = ok(config);
        assert_eq!((c.overlap, c.max_runtime_seconds), (policy, Some(3600)));
    }
    let mut config = base();
    config["overlap"] = Value::Null;
    config["max_runtime_seconds"] = Value::Null;
    let c = ok(config);
    assert_eq!((c.overlap, c.max_runtime_seconds), (OverlapPolicy::Allow, None));

    let with = |key: &str, value: Value| {
        let mut config = base();
        config[key] = value;
        config
    };
    let msg = rejected(with("overlap", json!("queue")), CFG);
    assert!(msg.ends_with("overlap must be one of allow, skip, buffer_one, got 'queue'"), "{msg}");
    rejected(with("overlap", json!(true)), "Invalid schedule configuration: overlap must be a string");
    rejected(
        with("max_runtime_seconds", json!(0)),
        "Invalid schedule configuration: max_runtime_seconds must be at least 1",
    );
    rejected(
        with("max_runtime_seconds", json!("60")),
        "Invalid schedule configuration: max_runtime_seconds must be an integer",
    );
    rejected(with("max_runtime_seconds", json!(1.5)), CFG);
}

#[test]
fn hook_names() {
    let base = || json!({"schedule_type": "interval", "interval_seconds": 60});
    let with = |value: Value| {
        let mut config = base();
        config["hook"] = value;
        config
    };
    assert_eq!(ok(base()).hook, None, "no key: the default_hook setting applies at fire time");
    assert_eq!(ok(with(Value::Null)).hook, None, "null counts as absent, as for every key");
    assert_eq!(ok(with(json!("billing"))).hook.as_deref(), Some("billing"));
    // Exactly as written: names are compared as stored, not trimmed or folded.
    assert_eq!(ok(with(json!(" Billing "))).hook.as_deref(), Some(" Billing "));
    let longest = "h".repeat(scheduler_core::MAX_HOOK_NAME_BYTES);
    assert_eq!(ok(with(json!(longest.clone()))).hook, Some(longest));
    // 21 three-byte characters are 63 bytes; one more is 66.
    assert!(ok(with(json!("€".repeat(21)))).hook.is_some());
    let msg = rejected(with(json!("€".repeat(22))), CFG);
    assert!(msg.ends_with("hook must be at most 63 bytes, got 66"), "{msg}");
    rejected(with(json!("h".repeat(64))), "Invalid schedule configuration: hook must be at most 63 bytes, got 64");
    rejected(with(json!("")), "Invalid schedule configuration: hook must not be empty");
    rejected(with(json!(5)), "Invalid schedule configuration: hook must be a string, got number");
    rejected(with(json!(["a"])), "Invalid schedule configuration: hook must be a string, got array");
    rejected(with(json!({"name": "a"})), "Invalid schedule configuration: hook must be a string, got object");
    // The key is known for every schedule type.
    let c = ok(json!({"schedule_type": "cron", "cron_expression": "* * * * *", "hook": "h"}));
    assert_eq!(c.hook.as_deref(), Some("h"));
    let msg = rejected(json!({"schedule_type": "cron", "cron_expression": "* * * * *", "hok": "h"}), CFG);
    assert!(msg.contains("allowed keys: ") && msg.contains(", hook"), "{msg}");
}
