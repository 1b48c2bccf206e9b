//! HTTP hooks in the database: the admin-only hook functions with every error (SQLSTATE,
//! message, nothing written), secrets that no role can read, the `hook` key of
//! `schedule_config`, and the outbox rows a fire writes in its own transaction. Sending is the
//! delivery worker's, covered by the end-to-end tests.

#[pgrx::pg_schema]
mod tests {
    use pgrx::prelude::*;
    use pgrx::JsonB;
    use serde_json::Value;

    use crate::firing::due_pass::{run_batch, PassSettings};
    use crate::tests::support::*;

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const OTHER_SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
    const EVERY_MINUTE: &str = r#"{"schedule_type": "interval", "interval_seconds": 60}"#;

    fn json(sql: &str) -> Value {
        Spi::get_one::<JsonB>(sql).unwrap().unwrap().0
    }

    fn create(name: &str) -> Value {
        json(&format!(
            "SELECT workflow_scheduler.hook_create('{name}', 'https://hooks.example.com/{name}?token=t0k3n')"
        ))
    }

    /// Rows of every table a hook function writes, to prove a failing call wrote none.
    fn hook_rows() -> [i64; 4] {
        [
            count("SELECT count(*) FROM workflow_scheduler.hooks"),
            count("SELECT count(*) FROM workflow_scheduler.hook_secrets"),
            count("SELECT count(*) FROM workflow_scheduler.deliveries"),
            count("SELECT count(*) FROM workflow_scheduler.audit_log"),
        ]
    }

    /// Like `assert_fails`, and the hook tables did not change either (their content: a
    /// rejected update must not have changed the row).
    fn assert_hook_fails(stmt: &str, state: &str, prefix: &str) {
        let snapshot = || -> String {
            Spi::get_one(
                "SELECT (SELECT coalesce(pg_catalog.string_agg(h::text, ';' ORDER BY name), '') FROM workflow_scheduler.hooks AS h)
                     || (SELECT coalesce(pg_catalog.string_agg(s::text, ';' ORDER BY hook), '') FROM workflow_scheduler.hook_secrets AS s)
                     || (SELECT coalesce(pg_catalog.string_agg(d::text, ';' ORDER BY delivery_id), '') FROM workflow_scheduler.deliveries AS d)",
            )
            .unwrap()
            .unwrap()
        };
        let (rows, before) = (hook_rows(), snapshot());
        assert_fails(stmt, state, prefix);
        assert_eq!(hook_rows(), rows, "{stmt} changed a hook table");
        assert_eq!(snapshot(), before, "{stmt} changed a hook row");
    }

    fn secret_row(name: &str) -> (Option<String>, Option<String>, Value) {
        Spi::connect(|client| {
            let row = client
                .select(
                    "SELECT secret, previous_secret, headers FROM workflow_scheduler.hook_secrets WHERE hook = $1",
                    None,
                    &[name.into()],
                )
                .unwrap()
                .first();
            (row.get(1).unwrap(), row.get(2).unwrap(), row.get::<JsonB>(3).unwrap().unwrap().0)
        })
    }

    /// The fingerprint as SQL computes it (docs): the first 8 hex digits of sha256 of the text.
    fn sql_fingerprint(secret: &str) -> String {
        Spi::get_one_with_args::<String>(
            "SELECT left(encode(sha256(convert_to($1, 'UTF8')), 'hex'), 8)",
            &[secret.into()],
        )
        .unwrap()
        .unwrap()
    }

    fn last_audit(action: &str) -> Value {
        Spi::get_one_with_args::<JsonB>(
            "SELECT details FROM workflow_scheduler.audit_log WHERE action = $1 ORDER BY id DESC LIMIT 1",
            &[action.into()],
        )
        .unwrap()
        .unwrap()
        .0
    }

    /// No audit row holds a secret, a header value or the URL's query string.
    fn assert_audit_keeps_secrets(secrets: &[&str]) {
        let text: String = Spi::get_one(
            "SELECT coalesce(pg_catalog.string_agg(details::text, ' '), '') FROM workflow_scheduler.audit_log",
        )
        .unwrap()
        .unwrap();
        for secret in secrets.iter().chain(&["whsec_", "t0k3n", "header-value"]) {
            assert!(!text.contains(secret), "an audit row holds {secret:?}: {text}");
        }
    }

    #[pg_test]
    fn hook_create_returns_the_hook_and_a_generated_secret_once() {
        let hook = create("billing");
        let secret = hook["secret"].as_str().unwrap().to_string();
        assert!(secret.starts_with("whsec_") && secret.len() == 6 + 44, "32 bytes in base64: {secret}");
        assert_eq!(hook["name"], "billing");
        assert_eq!(hook["url"], "https://hooks.example.com/billing?token=t0k3n");
        assert_eq!(hook["timeout_ms"], 10000);
        assert_eq!(hook["header_names"], serde_json::json!([]));
        assert_eq!((hook["enabled"].as_bool(), hook["disabled_reason"].is_null()), (Some(true), true));
        assert_eq!(hook["secret_fingerprint"], sql_fingerprint(&secret));
        assert!(hook["previous_fingerprint"].is_null() && hook["previous_valid_until"].is_null());
        for key in ["created_at", "updated_at"] {
            assert!(hook[key].is_string(), "{key}");
        }
        assert_eq!(secret_row("billing"), (Some(secret.clone()), None, serde_json::json!({})));
        let again = create("payroll");
        assert_ne!(again["secret"], hook["secret"], "each generated secret is new");

        let details = last_audit("hook_create");
        assert_eq!(details["hook"], "payroll");
        assert_eq!(details["origin"], "https://hooks.example.com:443", "no path, no query string");
        assert_eq!(details["secret_generated"], true);
        assert_audit_keeps_secrets(&[&secret]);
        assert_eq!(
            count("SELECT count(*) FROM workflow_scheduler.audit_log WHERE action = 'hook_create' AND schedule_id IS NULL"),
            2
        );
    }

    #[pg_test]
    fn hook_create_stores_a_given_secret_and_headers_apart() {
        let hook = json(&format!(
            "SELECT workflow_scheduler.hook_create('crm', 'http://127.0.0.1:8080/in', '{SECRET}', 600000,
                     '{{\"X-Api-Key\": \"header-value-1\", \"Authorization\": \"Bearer header-value-2\"}}')"
        ));
        assert_eq!(hook["secret"], SECRET);
        assert_eq!(hook["timeout_ms"], 600000);
        assert_eq!(hook["header_names"], serde_json::json!(["Authorization", "X-Api-Key"]));
        assert_eq!(hook["secret_fingerprint"], sql_fingerprint(SECRET));
        let (secret, previous, headers) = secret_row("crm");
        assert_eq!((secret.as_deref(), previous), (Some(SECRET), None));
        assert_eq!(
            headers,
            serde_json::json!({"X-Api-Key": "header-value-1", "Authorization": "Bearer header-value-2"})
        );
        let row: String =
            Spi::get_one("SELECT h::text FROM workflow_scheduler.hooks AS h WHERE name = 'crm'").unwrap().unwrap();
        assert!(!row.contains("whsec_") && !row.contains("header-value"), "hooks keeps no secret: {row}");
        // NULL timeout and headers mean the defaults; timeout 1 ms is the lower bound.
        let hook = json("SELECT workflow_scheduler.hook_create('d', 'http://h.example', NULL, NULL, NULL)");
        assert_eq!((hook["timeout_ms"].as_i64(), hook["header_names"].clone()), (Some(10000), serde_json::json!([])));
        let hook =
            json("SELECT workflow_scheduler.hook_create(name => 'e', url => 'http://h.example', timeout_ms => 1)");
        assert_eq!(hook["timeout_ms"], 1);
        assert_eq!(secret_row("d").2, serde_json::json!({}));
        assert_audit_keeps_secrets(&[SECRET]);
    }

    #[pg_test]
    fn hook_create_rejects_bad_input_and_writes_nothing() {
        create("taken");
        let call = |args: &str| format!("SELECT workflow_scheduler.hook_create({args})");
        let long = "n".repeat(64);
        for (args, prefix) in [
            ("'h', 'ftp://h.example/'".to_string(), "Invalid hook URL: the scheme must be http or https, not \"ftp\""),
            ("'h', 'h.example/x'".to_string(), "Invalid hook URL: it must start with http:// or https://"),
            ("'h', 'http://user:pw@h.example/'".to_string(), "Invalid hook URL: user info (user:password@) is not allowed"),
            ("'h', 'http://h.example:0/'".to_string(), "Invalid hook URL: the port must be a number from 1 to 65535"),
            ("'h', ''".to_string(), "Invalid hook URL: the URL is empty"),
            ("'h', NULL".to_string(), "Invalid hook URL: it must not be NULL"),
            ("NULL, 'http://h.example'".to_string(), "Invalid hook name: it must not be NULL"),
            ("'', 'http://h.example'".to_string(), "Invalid hook name: it must not be empty"),
            (format!("'{long}', 'http://h.example'"), "Invalid hook name: it is 64 bytes long; at most 63 are allowed"),
            ("E'a\\nb', 'http://h.example'".to_string(), "Invalid hook name: it contains a control character"),
            ("' billing', 'http://h.example'".to_string(), "Invalid hook name: it must not start or end with white space"),
            ("'h', 'http://h.example', NULL, 0".to_string(), "Invalid hook timeout_ms: it must be from 1 to 600000 milliseconds, got 0"),
            ("'h', 'http://h.example', NULL, 600001".to_string(), "Invalid hook timeout_ms: it must be from 1 to 600000 milliseconds, got 600001"),
            ("'h', 'http://h.example', NULL, -5".to_string(), "Invalid hook timeout_ms: "),
            ("'h', 'http://h.example', 'secret'".to_string(), "Invalid hook secret: the secret must start with whsec_"),
            ("'h', 'http://h.example', 'whsec_%%%'".to_string(), "Invalid hook secret: the part after whsec_ must be standard base64"),
            ("'h', 'http://h.example', 'whsec_AAAAAAAAAAA='".to_string(), "Invalid hook secret: the secret decodes to 8 bytes; it must be 24 to 64 bytes"),
            ("'h', 'http://h.example', NULL, 100, '[]'".to_string(), "Invalid hook headers: headers must be a JSON object of header names to string values, got array"),
            ("'h', 'http://h.example', NULL, 100, 'null'".to_string(), "Invalid hook headers: headers must be a JSON object"),
            ("'h', 'http://h.example', NULL, 100, '{\"X-N\": 1}'".to_string(), "Invalid hook headers: the value of header \"X-N\" must be a string, got number"),
            ("'h', 'http://h.example', NULL, 100, '{\"Host\": \"header-value\"}'".to_string(), "Invalid hook headers: header \"Host\" cannot be set by a hook: it comes from the URL"),
            ("'h', 'http://h.example', NULL, 100, '{\"webhook-signature\": \"header-value\"}'".to_string(), "Invalid hook headers: header \"webhook-signature\" cannot be set by a hook"),
            ("'h', 'http://h.example', NULL, 100, '{\"bad name\": \"header-value\"}'".to_string(), "Invalid hook headers: \"bad name\" is not a valid header name"),
            ("'h', 'http://h.example', NULL, 100, '{\"X-A\": \"header-value\\n\"}'".to_string(), "Invalid hook headers: the value of header \"X-A\" contains a line break"),
            ("'h', 'http://h.example', NULL, 100, '{\"X-A\": \"1\", \"x-a\": \"2\"}'".to_string(), "Invalid hook headers: header \"x-a\" is given twice (as \"X-A\" too)"),
            ("'h', 'http://h.example', NULL, 100, (SELECT jsonb_object_agg('X-' || i, 'v') FROM generate_series(1, 33) AS i)".to_string(), "Invalid hook headers: 33 headers given; at most 32 are allowed"),
            ("'h', 'http://h.example', NULL, 100, pg_catalog.jsonb_build_object('X-Big', repeat('v', 8193))".to_string(), "Invalid hook headers: the value of header \"X-Big\" is 8193 bytes long; at most 8192 are allowed"),
            ("'h', 'http://h.example', NULL, 100, (repeat('{\"a\":', 200) || '1' || repeat('}', 200))::jsonb".to_string(), "Invalid hook headers: headers cannot be read"),
            ("'taken', 'http://h.example'".to_string(), "Hook already exists: taken"),
        ] {
            let state = if prefix.starts_with("Hook already") { "42710" } else { "22023" };
            assert_hook_fails(&call(&args), state, prefix);
        }
        // Messages never repeat a header value or a secret.
        let (_, message) = capture_error(&call("'h', 'http://h.example', NULL, 100, '{\"X-A\": \"header-value\\r\"}'"));
        assert!(!message.contains("header-value"), "{message}");
        let (_, message) = capture_error(&call("'h', 'http://h.example', 'whsec_c2VjcmV0LXZhbHVl'"));
        assert!(!message.contains("c2VjcmV0LXZhbHVl"), "{message}");
        // 63 bytes is the longest name.
        create(&"n".repeat(63));
    }

    #[pg_test]
    fn hook_update_changes_what_is_given() {
        let created = create("h");
        let update = |args: &str| json(&format!("SELECT workflow_scheduler.hook_update('h'{args})"));
        let hook = update(", url => 'http://other.example/x', timeout_ms => 250");
        assert_eq!((hook["url"].as_str(), hook["timeout_ms"].as_i64()), (Some("http://other.example/x"), Some(250)));
        assert_eq!(hook["secret_fingerprint"], created["secret_fingerprint"]);
        assert!(hook.get("secret").is_none(), "only create and rotate show the secret");

        let hook = update(", headers => '{\"X-Token\": \"header-value\"}'");
        assert_eq!(hook["header_names"], serde_json::json!(["X-Token"]));
        assert_eq!(hook["url"], "http://other.example/x", "NULL keeps the URL");
        assert_eq!(secret_row("h").2, serde_json::json!({"X-Token": "header-value"}));
        let hook = update(", headers => '{}'");
        assert_eq!(hook["header_names"], serde_json::json!([]), "headers replaces them all");
        assert_eq!(secret_row("h").2, serde_json::json!({}));

        let hook = update(", enabled => false");
        assert_eq!(
            (hook["enabled"].as_bool(), hook["disabled_reason"].as_str()),
            (Some(false), Some("disabled by hook_update"))
        );
        let hook = update(", enabled => true");
        assert_eq!((hook["enabled"].as_bool(), hook["disabled_reason"].is_null()), (Some(true), true));
        // The worker disabled it after a 410: disabling again keeps the worker's reason.
        Spi::run(
            "UPDATE workflow_scheduler.hooks SET enabled = false, disabled_reason = 'HTTP 410 Gone' WHERE name = 'h'",
        )
        .unwrap();
        assert_eq!(update(", enabled => false")["disabled_reason"], "HTTP 410 Gone");
        assert_eq!(update(", enabled => true")["disabled_reason"], Value::Null);

        let details = last_audit("hook_update");
        assert_eq!(details["changed"], serde_json::json!(["enabled"]));
        assert_eq!((details["enabled"].as_bool(), details["was_enabled"].as_bool()), (Some(true), Some(false)));

        // Nothing given: the hook as it is, nothing written.
        let before = hook_rows();
        let unchanged = update("");
        assert_eq!(hook_rows(), before, "no audit row for an empty update");
        assert_eq!(unchanged["timeout_ms"], 250);
        assert_audit_keeps_secrets(&[created["secret"].as_str().unwrap()]);
    }

    #[pg_test]
    fn hook_update_rejects_bad_input_and_unknown_hooks() {
        create("h");
        let call = |args: &str| format!("SELECT workflow_scheduler.hook_update({args})");
        for (args, state, prefix) in [
            ("'nope', enabled => false", "P0002", "Hook not found: nope"),
            ("NULL, enabled => false", "P0002", "Hook not found: NULL"),
            ("'h', url => 'gopher://h.example'", "22023", "Invalid hook URL: the scheme must be http or https"),
            ("'h', url => ''", "22023", "Invalid hook URL: the URL is empty"),
            ("'h', timeout_ms => 0", "22023", "Invalid hook timeout_ms: "),
            ("'h', headers => '\"x\"'", "22023", "Invalid hook headers: headers must be a JSON object"),
            (
                "'h', headers => '{\"Content-Type\": \"text/plain\"}'",
                "22023",
                "Invalid hook headers: header \"Content-Type\" cannot be set",
            ),
            // A valid change next to an invalid one writes neither.
            ("'h', enabled => false, timeout_ms => 700000", "22023", "Invalid hook timeout_ms: "),
            ("'nope', url => 'ftp://x'", "22023", "Invalid hook URL: "),
        ] {
            assert_hook_fails(&call(args), state, prefix);
        }
    }

    #[pg_test]
    fn hook_rotate_secret_keeps_the_old_one_signing_for_the_overlap() {
        json(&format!("SELECT workflow_scheduler.hook_create('h', 'http://h.example', '{SECRET}')"));
        let hook = json(&format!("SELECT workflow_scheduler.hook_rotate_secret('h', '{OTHER_SECRET}')"));
        assert_eq!(hook["secret"], OTHER_SECRET);
        assert_eq!(hook["secret_fingerprint"], sql_fingerprint(OTHER_SECRET));
        assert_eq!(hook["previous_fingerprint"], sql_fingerprint(SECRET));
        assert_eq!(
            count(
                "SELECT count(*) FROM workflow_scheduler.hooks
                  WHERE name = 'h' AND previous_valid_until = now() + interval '24 hours'"
            ),
            1,
            "the default http_secret_overlap is 24 h"
        );
        assert_eq!(secret_row("h"), (Some(OTHER_SECRET.to_string()), Some(SECRET.to_string()), serde_json::json!({})));
        let details = last_audit("hook_rotate_secret");
        assert_eq!(details["previous_fingerprint"], sql_fingerprint(SECRET));
        assert_eq!(details["secret_generated"], false);

        // Rotating again within the overlap: the secret being replaced is the one kept.
        let hook = json("SELECT workflow_scheduler.hook_rotate_secret('h')");
        let generated = hook["secret"].as_str().unwrap().to_string();
        assert!(generated.starts_with("whsec_"));
        assert_eq!(hook["previous_fingerprint"], sql_fingerprint(OTHER_SECRET));
        assert_eq!(secret_row("h").0.as_deref(), Some(generated.as_str()));
        assert_eq!(secret_row("h").1.as_deref(), Some(OTHER_SECRET));
        assert_audit_keeps_secrets(&[SECRET, OTHER_SECRET, &generated]);

        let call = |args: &str| format!("SELECT workflow_scheduler.hook_rotate_secret({args})");
        for (args, state, prefix) in [
            ("'nope'".to_string(), "P0002", "Hook not found: nope"),
            ("NULL".to_string(), "P0002", "Hook not found: NULL"),
            ("'h', 'nope'".to_string(), "22023", "Invalid hook secret: the secret must start with whsec_"),
            (format!("'h', '{generated}'"), "22023", "Invalid hook secret: the new secret is the current one"),
        ] {
            assert_hook_fails(&call(&args), state, prefix);
        }
    }

    thread_local! {
        static DUE_OFFSET: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
    }

    /// Makes the schedule due at a time no earlier call used: `now()` is fixed in the test's
    /// transaction, and each occurrence fires at most once.
    fn make_due(schedule_id: &str) {
        let seconds = DUE_OFFSET.with(|offset| {
            offset.set(offset.get() + 1);
            offset.get()
        });
        due_since(schedule_id, &format!("{seconds} seconds"));
    }

    /// Fires the schedule now and returns the execution id.
    fn fire(schedule_id: &str) -> String {
        make_due(schedule_id);
        let fired = fired_now();
        assert_eq!(fired.len(), 1, "{fired:?}");
        fired[0].1.clone()
    }

    /// A delivery to `hook` in status `status`, of a new fire of `schedule_id` (a schedule
    /// without a hook: the row is written here, not by the fire).
    fn delivery_for(schedule_id: &str, hook: &str, status: &str) -> String {
        let execution_id = fire(schedule_id);
        Spi::get_one_with_args(
            "INSERT INTO workflow_scheduler.deliveries (delivery_id, execution_id, hook, status, next_attempt_at, created_at)
             VALUES (gen_random_uuid(), $1::uuid, $2, $3, now(), now())
             RETURNING delivery_id::text",
            &[execution_id.as_str().into(), hook.into(), status.into()],
        )
        .unwrap()
        .unwrap()
    }

    fn delivery_status(delivery_id: &str) -> String {
        Spi::get_one_with_args(
            "SELECT status FROM workflow_scheduler.deliveries WHERE delivery_id = $1::uuid",
            &[delivery_id.into()],
        )
        .unwrap()
        .unwrap()
    }

    fn with_hook(hook: &str) -> String {
        format!(r#"{{"schedule_type": "interval", "interval_seconds": 60, "hook": "{hook}"}}"#)
    }

    #[pg_test]
    fn hook_remove_cancels_pending_deliveries_and_keeps_the_others() {
        create("gone");
        create("stays");
        let schedule = id_of(&add(EVERY_MINUTE));
        let other = id_of(&add(EVERY_MINUTE));
        let pending = delivery_for(&schedule, "gone", "pending");
        let delivered = delivery_for(&schedule, "gone", "delivered");
        let failed = delivery_for(&schedule, "gone", "failed");
        let elsewhere = delivery_for(&other, "stays", "pending");
        Spi::run_with_args(
            "UPDATE workflow_scheduler.workflow_schedules SET hook = 'gone' WHERE schedule_id = $1::uuid",
            &[schedule.as_str().into()],
        )
        .unwrap();

        assert!(Spi::get_one::<bool>("SELECT workflow_scheduler.hook_remove('gone')").unwrap().unwrap());
        assert_eq!(delivery_status(&pending), "cancelled");
        assert_eq!((delivery_status(&delivered), delivery_status(&failed)), ("delivered".into(), "failed".into()));
        assert_eq!(delivery_status(&elsewhere), "pending", "another hook's deliveries are untouched");
        assert_eq!(
            count("SELECT count(*) FROM workflow_scheduler.hook_secrets WHERE hook = 'gone'"),
            0,
            "its secret went with it"
        );
        let details = last_audit("hook_remove");
        assert_eq!(
            (details["cancelled_deliveries"].as_i64(), details["schedules_naming_it"].as_i64()),
            (Some(1), Some(1))
        );

        // Its schedule keeps firing (NOTIFY and execution row), without a delivery.
        let execution = fire(&schedule);
        assert_eq!(
            count(&format!("SELECT count(*) FROM workflow_scheduler.deliveries WHERE execution_id = '{execution}'")),
            0
        );

        for (stmt, prefix) in [
            ("SELECT workflow_scheduler.hook_remove('gone')", "Hook not found: gone"),
            ("SELECT workflow_scheduler.hook_remove(NULL)", "Hook not found: NULL"),
        ] {
            assert_hook_fails(stmt, "P0002", prefix);
        }
    }

    #[pg_test]
    fn delivery_retry_puts_a_failed_delivery_back_in_the_queue() {
        create("h");
        let schedule = id_of(&add(EVERY_MINUTE));
        let failed = delivery_for(&schedule, "h", "failed");
        Spi::run_with_args(
            "UPDATE workflow_scheduler.deliveries
                SET attempts = 10, next_attempt_at = now() - interval '1 day', last_status_code = 503, last_error = 'HTTP 503'
              WHERE delivery_id = $1::uuid;
             INSERT INTO workflow_scheduler.delivery_attempts (delivery_id, attempt, attempted_at, status_code, latency_ms)
             VALUES ($1::uuid, 10, now() - interval '1 day', 503, 12.5)",
            &[failed.as_str().into()],
        )
        .unwrap();
        let retry = |id: &str| -> bool {
            Spi::get_one_with_args("SELECT workflow_scheduler.delivery_retry($1::uuid)", &[id.into()]).unwrap().unwrap()
        };
        assert!(retry(&failed));
        assert_eq!(
            count(&format!(
                "SELECT count(*) FROM workflow_scheduler.deliveries
                  WHERE delivery_id = '{failed}' AND status = 'pending' AND attempts = 0 AND next_attempt_at = now()"
            )),
            1
        );
        assert_eq!(count("SELECT count(*) FROM workflow_scheduler.delivery_attempts"), 1, "its history stays");
        let details = last_audit("delivery_retry");
        assert_eq!(details["delivery_id"], failed.as_str());
        assert_eq!(
            count(&format!(
                "SELECT count(*) FROM workflow_scheduler.audit_log WHERE action = 'delivery_retry' AND schedule_id = '{schedule}'"
            )),
            1,
            "the schedule's owner sees the retry of its delivery"
        );

        // Any other status: false, nothing written.
        for status in ["pending", "delivered", "cancelled"] {
            let id = delivery_for(&schedule, "h", status);
            let before = hook_rows();
            assert!(!retry(&id), "{status}");
            assert_eq!((delivery_status(&id), hook_rows()), (status.to_string(), before));
        }

        let unknown = "00000000-0000-4000-8000-000000000000";
        assert_hook_fails(
            &format!("SELECT workflow_scheduler.delivery_retry('{unknown}')"),
            "P0002",
            &format!("Delivery not found: {unknown}"),
        );
        assert_hook_fails("SELECT workflow_scheduler.delivery_retry(NULL)", "P0002", "Delivery not found: NULL");
        // A failed delivery of a hook removed since would wait forever: refused.
        let orphan = delivery_for(&schedule, "h", "failed");
        Spi::run("SELECT workflow_scheduler.hook_remove('h')").unwrap();
        assert_hook_fails(
            &format!("SELECT workflow_scheduler.delivery_retry('{orphan}')"),
            "P0002",
            "Hook not found: h",
        );
    }

    #[pg_test]
    fn application_roles_may_not_manage_hooks() {
        create("h");
        let schedule = id_of(&add(EVERY_MINUTE));
        let failed = delivery_for(&schedule, "h", "failed");
        create_app_roles();
        act_as(Some("ws_app_a"));
        for (function, args) in [
            ("hook_create", "'x', 'http://h.example'".to_string()),
            ("hook_create", "'h', 'ftp://invalid'".to_string()),
            ("hook_update", "'h', enabled => false".to_string()),
            ("hook_update", "'nope'".to_string()),
            ("hook_rotate_secret", "'h'".to_string()),
            ("hook_remove", "'h'".to_string()),
            ("hook_remove", "'nope'".to_string()),
            ("delivery_retry", format!("'{failed}'")),
            ("delivery_retry", "'00000000-0000-4000-8000-000000000000'".to_string()),
        ] {
            assert_hook_fails(
                &format!("SELECT workflow_scheduler.{function}({args})"),
                "42501",
                &format!("permission denied for function {function}: only superusers and members of the role named by workflow_scheduler.admin_role may call it"),
            );
        }
        act_as(None);
        assert_eq!(delivery_status(&failed), "failed");
    }

    #[pg_test]
    fn secrets_and_header_values_are_readable_by_no_application_role() {
        json(&format!(
            "SELECT workflow_scheduler.hook_create('h', 'http://h.example', '{SECRET}', 100, '{{\"X-Key\": \"header-value\"}}')"
        ));
        create_app_roles();
        act_as(Some("ws_app_a"));
        assert_eq!(count("SELECT count(*) FROM workflow_scheduler.hook_secrets"), 0, "no policy: no row");
        let (state, message) =
            capture_error("SELECT secret FROM workflow_scheduler.hook_secrets WHERE secret IS NOT NULL LIMIT 1");
        assert_eq!(state, "no error", "{message}");
        let visible: String = Spi::get_one("SELECT h::text FROM workflow_scheduler.hooks AS h").unwrap().unwrap();
        let fingerprint = delivery_core::Secret::parse(SECRET).unwrap().fingerprint();
        assert!(visible.contains(&fingerprint), "the fingerprint shows: {visible}");
        assert!(!visible.contains("whsec_") && !visible.contains("header-value"), "{visible}");
        for stmt in [
            "UPDATE workflow_scheduler.hook_secrets SET secret = 'x'",
            "UPDATE workflow_scheduler.hooks SET url = 'http://evil.example'",
            "DELETE FROM workflow_scheduler.hooks",
            "INSERT INTO workflow_scheduler.hooks (name, url, secret_fingerprint) VALUES ('x', 'http://x', 'x')",
            "UPDATE workflow_scheduler.deliveries SET status = 'pending'",
        ] {
            assert_eq!(capture_error(stmt).0, "42501", "{stmt}");
        }
    }

    #[pg_test]
    fn a_schedule_names_an_existing_hook() {
        create("h");
        let added = add(&with_hook("h"));
        assert_eq!(added["hook"], "h");
        let id = id_of(&added);
        let got = json(&format!("SELECT workflow_scheduler.schedule_get('{id}')"));
        assert_eq!(got["hook"], "h");
        let updated = json(&format!("SELECT workflow_scheduler.schedule_update('{id}', '{EVERY_MINUTE}', 1)"));
        assert_eq!(updated["hook"], Value::Null, "the whole config is replaced: no key, no hook");

        assert_fails(
            &add_sql(&with_hook("nope")),
            "22023",
            "Invalid schedule configuration: hook 'nope' does not exist",
        );
        assert_fails(
            &format!("SELECT workflow_scheduler.schedule_update('{id}', '{}', 1)", with_hook("nope")),
            "22023",
            "Invalid schedule configuration: hook 'nope' does not exist",
        );
        assert_eq!(json(&format!("SELECT workflow_scheduler.schedule_get('{id}')"))["hook"], Value::Null);
        assert_fails(
            &add_sql(r#"{"schedule_type": "interval", "interval_seconds": 60, "hook": 5}"#),
            "22023",
            "Invalid schedule configuration: hook must be a string",
        );

        // Any role may name a hook: hooks are for administrators to manage, not to use.
        create_app_roles();
        act_as(Some("ws_app_a"));
        assert_eq!(add(&with_hook("h"))["hook"], "h");
    }

    #[pg_test]
    fn a_fire_writes_its_delivery_in_the_same_transaction() {
        create("h");
        let id = id_of(&add(&with_hook("h")));
        let plain = id_of(&add(EVERY_MINUTE));
        due_since(&id, "1 second");
        due_since(&plain, "1 second");
        let fired = fired_now();
        assert_eq!(fired.len(), 2);
        let execution = fired.iter().find(|(schedule, _)| *schedule == id).unwrap().1.clone();
        let (hook, status, due_now) = Spi::get_three::<String, String, bool>(&format!(
            "SELECT hook, status,
                    attempts = 0 AND next_attempt_at = created_at AND created_at BETWEEN now() AND clock_timestamp()
               FROM workflow_scheduler.deliveries WHERE execution_id = '{execution}'"
        ))
        .unwrap();
        assert_eq!((hook.as_deref(), status.as_deref(), due_now), (Some("h"), Some("pending"), Some(true)));
        assert_eq!(count("SELECT count(*) FROM workflow_scheduler.deliveries"), 1, "a schedule without a hook: none");
        let version: i32 = Spi::get_one(
            "SELECT count(*)::int FROM workflow_scheduler.deliveries
              WHERE delivery_id::text ~ '^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab]'",
        )
        .unwrap()
        .unwrap();
        assert_eq!(version, 1, "delivery_id is a uuid v4");

        // The owner sees its delivery, another role does not.
        create_app_roles();
        act_as(Some("ws_app_a"));
        let own = id_of(&add(&with_hook("h")));
        act_as(None);
        fire(&own);
        act_as(Some("ws_app_a"));
        assert_eq!(count("SELECT count(*) FROM workflow_scheduler.deliveries"), 1);
        act_as(Some("ws_app_b"));
        assert_eq!(count("SELECT count(*) FROM workflow_scheduler.deliveries"), 0);
    }

    #[pg_test]
    fn hook_status_shows_what_waits_and_the_last_error() {
        create("watched");
        create("quiet");
        let id = id_of(&add(&with_hook("watched")));
        fire(&id);
        fire(&id);
        Spi::run(
            "UPDATE workflow_scheduler.hooks SET last_error = 'HTTP 503', last_error_at = now() WHERE name = 'watched'",
        )
        .unwrap();
        create_app_roles();
        act_as(Some("ws_app_a"));
        let (pending, waiting, error) = Spi::get_three::<i64, bool, String>(
            "SELECT pending, oldest_pending_age IS NOT NULL, last_error
               FROM workflow_scheduler.hook_status WHERE name = 'watched'",
        )
        .unwrap();
        assert_eq!((pending, waiting, error.as_deref()), (Some(2), Some(true), Some("HTTP 503")));
        let (quiet_pending, quiet_age) = Spi::get_two::<i64, String>(
            "SELECT pending, oldest_pending_age::text FROM workflow_scheduler.hook_status WHERE name = 'quiet'",
        )
        .unwrap();
        assert_eq!((quiet_pending, quiet_age), (Some(0), None), "an application role reads it too");
    }

    #[pg_test]
    fn only_fires_get_deliveries() {
        create("h");
        // Missed (beyond grace): no delivery.
        let late = id_of(&add(&with_hook("h")));
        due_since(&late, "1 hour");
        assert!(fired_now().is_empty());
        assert_eq!(count("SELECT count(*) FROM workflow_scheduler.deliveries"), 0, "a missed occurrence");

        // skip: the skipped occurrence has none; buffer_one: the released one has one.
        let buffering = id_of(&add(
            r#"{"schedule_type": "interval", "interval_seconds": 60, "overlap": "buffer_one", "hook": "h"}"#,
        ));
        due_since(&buffering, "30 seconds");
        let first = fired_now()[0].1.clone();
        due_since(&buffering, "20 seconds");
        assert!(fired_now().is_empty(), "held back");
        due_since(&buffering, "10 seconds");
        assert!(fired_now().is_empty(), "skipped");
        assert_eq!(count("SELECT count(*) FROM workflow_scheduler.deliveries"), 1, "the first fire only");
        Spi::run_with_args(
            "SELECT workflow_scheduler.execution_complete($1::uuid, 'completed')",
            &[first.as_str().into()],
        )
        .unwrap();
        let released = fired_now();
        assert_eq!(released.len(), 1);
        assert_eq!(
            count(&format!(
                "SELECT count(*) FROM workflow_scheduler.deliveries WHERE execution_id = '{}' AND status = 'pending'",
                released[0].1
            )),
            1,
            "the released buffered occurrence is a fire: it has its delivery"
        );

        // A disabled hook still gets its deliveries: they wait until it is enabled again.
        Spi::run("SELECT workflow_scheduler.hook_update('h', enabled => false)").unwrap();
        let disabled = id_of(&add(&with_hook("h")));
        let execution = fire(&disabled);
        assert_eq!(
            count(&format!("SELECT count(*) FROM workflow_scheduler.deliveries WHERE execution_id = '{execution}'")),
            1
        );
    }

    #[pg_test]
    fn the_default_hook_applies_to_schedules_that_name_none() {
        assert_eq!(crate::guc::default_hook(), None, "empty by default");
        create("fallback");
        create("own");
        let without = id_of(&add(EVERY_MINUTE));
        let with_own = id_of(&add(&with_hook("own")));
        due_since(&without, "1 second");
        due_since(&with_own, "1 second");
        // The setting is sighup: a test cannot SET it, so the pass gets it the way the worker
        // and schedule_check_due() read it, through PassSettings.
        let settings = PassSettings { default_hook: Some("fallback".to_string()), ..PassSettings::from_gucs() };
        let report = run_batch(&settings, None);
        assert_eq!((report.fired.len(), report.deliveries), (2, 2));
        let hook_of = |schedule: &str| -> String {
            Spi::get_one(&format!(
                "SELECT d.hook FROM workflow_scheduler.deliveries AS d
                   JOIN workflow_scheduler.workflow_schedule_executions AS e USING (execution_id)
                  WHERE e.schedule_id = '{schedule}'"
            ))
            .unwrap()
            .unwrap()
        };
        assert_eq!(hook_of(&without), "fallback");
        assert_eq!(hook_of(&with_own), "own", "a schedule's own hook wins");

        // A default naming no hook: fires, no delivery.
        due_since(&without, "2 seconds");
        let settings = PassSettings { default_hook: Some("never-created".to_string()), ..PassSettings::from_gucs() };
        let report = run_batch(&settings, None);
        assert_eq!((report.fired.len(), report.deliveries), (1, 0));
    }
}
