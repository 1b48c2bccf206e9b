//! `describe_cron` against tests/data/describe_cronstrue.tsv: cronstrue's text for every row
//! except the `derived` and `differs` ones, whose text is ours (tests/data/README.md).

use scheduler_core::{describe_cron, CronSchedule};

const VECTORS: &str = include_str!("data/describe_cronstrue.tsv");

#[test]
fn every_vector() {
    let mut failures = Vec::new();
    let mut rows = 0;
    for line in VECTORS.lines().skip(1).filter(|line| !line.is_empty()) {
        let columns: Vec<&str> = line.split('\t').collect();
        let [expression, expected, note] = columns[..] else {
            panic!("a row needs 3 columns: {line:?}");
        };
        rows += 1;
        match describe_cron(expression) {
            Ok(text) if text == expected => {}
            Ok(text) => failures.push(format!("{expression}\n    want {expected}\n    got  {text}\n    ({note})")),
            Err(e) => failures.push(format!("{expression}: {e}")),
        }
    }
    assert!(rows >= 300, "only {rows} vectors");
    assert!(failures.is_empty(), "{} of {rows} vectors differ:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn invalid_expressions_give_schedule_next_errors() {
    for expression in ["", "61 * * * *", "0 0 * * * *", "0 0 * MON *", "@reboot", "0 0 * * L", "5/0 * * * *"] {
        let want = CronSchedule::parse(expression).unwrap_err();
        assert_eq!(describe_cron(expression), Err(want.clone()), "{expression:?}");
        assert!(want.to_string().starts_with("Invalid cron expression: "));
    }
}

#[test]
fn never_firing_expressions_are_described() {
    // Valid syntax that never fires: schedule_next answers NULL, the description says what
    // was written.
    assert_eq!(describe_cron("0 0 30 2 *").unwrap(), "At 00:00, on day 30 of the month, only in February");
}

#[test]
fn rules_of_every_kind_in_english() {
    use scheduler_core::describe_rule;
    let at = common_utc("2026-12-25T14:30:00Z");
    let cases = [
        (describe_rule("interval", None, Some(900), None, "UTC"), "Every 15 minutes"),
        (describe_rule("interval", None, Some(90), None, "UTC"), "Every 90 seconds"),
        (describe_rule("interval", None, Some(3600), None, "UTC"), "Every hour"),
        (describe_rule("interval", None, Some(172_800), None, "UTC"), "Every 2 days"),
        (
            describe_rule("one_time", None, None, Some(at), "Europe/Berlin"),
            "Once, at 2026-12-25 15:30 in Europe/Berlin",
        ),
        (describe_rule("cron", Some("0 9 * * 1-5"), None, None, "UTC"), "At 09:00, Monday through Friday"),
    ];
    for (got, want) in cases {
        assert_eq!(got.unwrap(), want);
    }
    assert!(describe_rule("weekly", None, None, None, "UTC").is_err());
    assert!(describe_rule("interval", None, None, None, "UTC").is_err());
}

fn common_utc(text: &str) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&chrono::Utc)
}
