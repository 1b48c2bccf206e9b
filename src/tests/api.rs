//! Every schedule function (and `schedule_describe`), every row of the error table with its
//! SQLSTATE and message, and every conformance vector through `schedule_next`, as the superuser.

#[pgrx::pg_schema]
mod tests {
    use pgrx::prelude::*;
    use pgrx::JsonB;
    use serde_json::Value;

    use crate::tests::support::*;

    #[pg_test]
    fn add_cron_schedule_returns_the_seed_shape() {
        // The seed's test_cron_schedule_creation, against this API.
        let result = add(r#"{"schedule_type": "cron", "cron_expression": "0 12 * * *", "timezone": "UTC"}"#);
        for key in [
            "schedule_id",
            "workflow_id",
            "schedule_type",
            "cron_expression",
            "interval_seconds",
            "scheduled_time",
            "timezone",
            "is_active",
            "next_execution_at",
            "max_executions",
            "execution_count",
            "context_data",
            "created_at",
            "updated_at",
        ] {
            assert!(result.get(key).is_some(), "missing key {key} in {result}");
        }
        assert!(result["schedule_id"].is_string());
        assert_eq!(result["schedule_type"], "cron");
        assert_eq!(result["is_active"], true);
        assert_eq!(result["execution_count"], 0);
        assert_eq!(result["workflow_id"], WORKFLOW);
        let next_is_noon_utc: bool = Spi::get_one_with_args(
            "SELECT $1::timestamptz > now() AND extract(hour FROM $1::timestamptz AT TIME ZONE 'UTC') = 12
                    AND extract(minute FROM $1::timestamptz AT TIME ZONE 'UTC') = 0",
            &[result["next_execution_at"].as_str().unwrap().into()],
        )
        .unwrap()
        .unwrap();
        assert!(next_is_noon_utc, "next_execution_at {}", result["next_execution_at"]);
    }

    #[pg_test]
    fn add_interval_schedule_with_max_executions() {
        // The seed's test_interval_schedule_execution, up to what runs without the worker:
        // the schedule is stored with its limit and is due interval_seconds after creation.
        let result = add(r#"{"schedule_type": "interval", "interval_seconds": 1, "max_executions": 1}"#);
        assert_eq!(result["schedule_type"], "interval");
        assert_eq!(result["interval_seconds"], 1);
        assert_eq!(result["max_executions"], 1);
        assert_eq!(result["execution_count"], 0);
        let one_second_after_now: bool = Spi::get_one_with_args(
            "SELECT $1::timestamptz = now() + interval '1 second'",
            &[result["next_execution_at"].as_str().unwrap().into()],
        )
        .unwrap()
        .unwrap();
        assert!(one_second_after_now, "next_execution_at {}", result["next_execution_at"]);
    }

    #[pg_test]
    fn add_one_time_schedule_reads_local_time_in_its_zone() {
        let result = add(
            r#"{"schedule_type": "one_time", "scheduled_time": "2099-07-01T09:30:00", "timezone": "Europe/Paris"}"#,
        );
        assert_eq!(ts(&format!("'{}'", result["next_execution_at"].as_str().unwrap())), "2099-07-01 07:30:00");
        assert_eq!(ts(&format!("'{}'", result["scheduled_time"].as_str().unwrap())), "2099-07-01 07:30:00");
        assert_eq!(result["timezone"], "Europe/Paris");
    }

    #[pg_test]
    fn add_uses_the_timezone_setting_by_default() {
        // The setting is sighup-only; here it has its default.
        let setting: String = Spi::get_one("SELECT current_setting('workflow_scheduler.timezone')").unwrap().unwrap();
        assert_eq!(setting, "UTC");
        let result = add(r#"{"schedule_type": "cron", "cron_expression": "0 9 * * *"}"#);
        assert_eq!(result["timezone"], "UTC");
        let explicit = add(r#"{"schedule_type": "cron", "cron_expression": "0 9 * * *", "timezone": "asia/tokyo"}"#);
        assert_eq!(
            explicit["timezone"], "Asia/Tokyo",
            "zone names are matched case-insensitively and stored canonical"
        );
    }

    #[pg_test]
    fn add_keeps_context_data_and_writes_an_audit_row() {
        let result = add_with_context(
            r#"{"schedule_type": "interval", "interval_seconds": 60}"#,
            r#"{"custom_param": "value", "user_context": {"role": "admin"}}"#,
        );
        assert_eq!(result["context_data"]["user_context"]["role"], "admin");
        let (action, result_text) = Spi::get_two_with_args::<String, String>(
            "SELECT action, result FROM workflow_scheduler.audit_log
              WHERE details->>'schedule_id' = $1 AND event_type = 'AUDIT' AND user_id = 42 AND community_id = 1",
            &[result["schedule_id"].as_str().unwrap().into()],
        )
        .unwrap();
        assert_eq!(action.as_deref(), Some("schedule_create"));
        assert_eq!(result_text.as_deref(), Some("SUCCESS"));
    }

    /// Numbers in context_data pass through exactly as jsonb stores them, into the schedule
    /// and into the trigger data of a fire: no round trip through f64.
    #[pg_test]
    fn context_data_numbers_are_kept_exactly() {
        let context =
            r#"{"big": 12345678901234567890123, "fine": 0.1000000000000000055511151231257827, "huge": 1e400}"#;
        let added = add_with_context(r#"{"schedule_type": "interval", "interval_seconds": 60}"#, context);
        let id = added["schedule_id"].as_str().unwrap();
        Spi::run_with_args(
            "UPDATE workflow_scheduler.workflow_schedules SET next_execution_at = now() - interval '1 second'
              WHERE schedule_id = $1::uuid",
            &[id.into()],
        )
        .unwrap();
        Spi::run("SELECT count(*) FROM workflow_scheduler.schedule_check_due()").unwrap();
        let exact: bool = Spi::get_one_with_args(
            "SELECT s.context_data = $2::jsonb AND e.trigger_data @> $2::jsonb
               FROM workflow_scheduler.workflow_schedules s
               JOIN workflow_scheduler.workflow_schedule_executions e USING (schedule_id)
              WHERE s.schedule_id = $1::uuid",
            &[id.into(), context.into()],
        )
        .unwrap()
        .unwrap();
        assert!(exact, "stored {}", added["context_data"]);
    }

    #[pg_test]
    fn get_returns_the_same_shape() {
        let added = add(r#"{"schedule_type": "interval", "interval_seconds": 3600}"#);
        let got = Spi::get_one_with_args::<JsonB>(
            "SELECT workflow_scheduler.schedule_get($1::uuid)",
            &[added["schedule_id"].as_str().unwrap().into()],
        )
        .unwrap()
        .unwrap()
        .0;
        assert_eq!(got, added);
    }

    #[pg_test]
    fn update_replaces_the_config_and_recomputes_next() {
        let added = add(r#"{"schedule_type": "interval", "interval_seconds": 3600}"#);
        let id = added["schedule_id"].as_str().unwrap();
        let updated = Spi::get_one_with_args::<JsonB>(
            "SELECT workflow_scheduler.schedule_update($1::uuid,
                 '{\"schedule_type\": \"cron\", \"cron_expression\": \"0 9 * * *\", \"timezone\": \"America/New_York\"}', 7)",
            &[id.into()],
        )
        .unwrap()
        .unwrap()
        .0;
        assert_eq!(updated["schedule_id"], id);
        assert_eq!(updated["schedule_type"], "cron");
        assert_eq!(updated["cron_expression"], "0 9 * * *");
        assert_eq!(updated["interval_seconds"], Value::Null);
        assert_eq!(updated["timezone"], "America/New_York");
        let nine_in_new_york: bool = Spi::get_one_with_args(
            "SELECT extract(hour FROM $1::timestamptz AT TIME ZONE 'America/New_York') = 9",
            &[updated["next_execution_at"].as_str().unwrap().into()],
        )
        .unwrap()
        .unwrap();
        assert!(nine_in_new_york);
        let audited: i64 = Spi::get_one_with_args(
            "SELECT count(*) FROM workflow_scheduler.audit_log
              WHERE action = 'schedule_update' AND user_id = 7 AND details->>'schedule_id' = $1",
            &[id.into()],
        )
        .unwrap()
        .unwrap();
        assert_eq!(audited, 1);
    }

    #[pg_test]
    fn update_keeps_the_interval_grid_when_the_interval_is_unchanged() {
        let added = add(r#"{"schedule_type": "interval", "interval_seconds": 600}"#);
        let id = added["schedule_id"].as_str().unwrap();
        let updated = Spi::get_one_with_args::<JsonB>(
            "SELECT workflow_scheduler.schedule_update($1::uuid,
                 '{\"schedule_type\": \"interval\", \"interval_seconds\": 600, \"max_executions\": 3}', 7)",
            &[id.into()],
        )
        .unwrap()
        .unwrap()
        .0;
        assert_eq!(updated["next_execution_at"], added["next_execution_at"]);
        assert_eq!(updated["max_executions"], 3);
    }

    #[pg_test]
    fn remove_deactivates_and_keeps_the_row() {
        let added = add(r#"{"schedule_type": "interval", "interval_seconds": 60}"#);
        let id = added["schedule_id"].as_str().unwrap();
        let removed: bool =
            Spi::get_one_with_args("SELECT workflow_scheduler.schedule_remove($1::uuid, 42)", &[id.into()])
                .unwrap()
                .unwrap();
        assert!(removed);
        let again: bool =
            Spi::get_one_with_args("SELECT workflow_scheduler.schedule_remove($1::uuid, 42)", &[id.into()])
                .unwrap()
                .unwrap();
        assert!(!again, "removing an inactive schedule reports false");
        let got = Spi::get_one_with_args::<JsonB>("SELECT workflow_scheduler.schedule_get($1::uuid)", &[id.into()])
            .unwrap()
            .unwrap()
            .0;
        assert_eq!(got["is_active"], false);
        assert_eq!(got["next_execution_at"], Value::Null);
    }

    #[pg_test]
    fn update_resumes_a_removed_schedule() {
        let added = add(r#"{"schedule_type": "interval", "interval_seconds": 60}"#);
        let id = added["schedule_id"].as_str().unwrap();
        Spi::run_with_args("SELECT workflow_scheduler.schedule_remove($1::uuid, 42)", &[id.into()]).unwrap();
        let updated = Spi::get_one_with_args::<JsonB>(
            "SELECT workflow_scheduler.schedule_update($1::uuid, '{\"schedule_type\": \"interval\", \"interval_seconds\": 60}', 42)",
            &[id.into()],
        )
        .unwrap()
        .unwrap()
        .0;
        assert_eq!(updated["is_active"], true);
        assert!(updated["next_execution_at"].is_string());
    }

    #[pg_test]
    fn next_for_each_kind() {
        assert_eq!(
            ts("workflow_scheduler.schedule_next('cron', cron_expression => '30 2 * * *', timezone => 'America/New_York', after => '2027-03-13 12:00-05')"),
            "2027-03-14 07:00:00"
        );
        assert_eq!(
            ts("workflow_scheduler.schedule_next('interval', interval_seconds => 90, after => '2027-01-01 00:00:00+00')"),
            "2027-01-01 00:01:30"
        );
        assert_eq!(
            ts("workflow_scheduler.schedule_next('one_time', scheduled_time => '2030-01-01 00:00+00', after => '2029-01-01 00:00+00')"),
            "2030-01-01 00:00:00"
        );
        let none: Option<String> = Spi::get_one(
            "SELECT workflow_scheduler.schedule_next('one_time', scheduled_time => '2020-01-01 00:00+00', after => '2029-01-01 00:00+00')::text",
        )
        .unwrap();
        assert_eq!(none, None, "a one-time schedule in the past has no next occurrence");
        let never: Option<String> = Spi::get_one(
            "SELECT workflow_scheduler.schedule_next('cron', cron_expression => '0 0 30 2 *', after => '2024-01-01 00:00+00')::text",
        )
        .unwrap();
        assert_eq!(never, None, "an expression that never fires has no next occurrence");
    }

    #[pg_test]
    fn next_at_the_edges_of_time_and_with_foreign_fields() {
        for far in ["'infinity'", "'270000-01-01 00:00+00'"] {
            let none: Option<String> = Spi::get_one(&format!(
                "SELECT workflow_scheduler.schedule_next('cron', cron_expression => '* * * * *', after => {far})::text"
            ))
            .unwrap();
            assert_eq!(none, None, "nothing representable comes after {far}");
        }
        assert_fails(
            "SELECT workflow_scheduler.schedule_next('cron', cron_expression => '0 0 1 1 *', after => '4713-01-01 BC')",
            "22023",
            "Invalid schedule configuration: after must be 0001-01-01 00:00 UTC or later",
        );
        assert_fails(
            "SELECT workflow_scheduler.schedule_next('cron', cron_expression => '0 0 1 1 *', after => '-infinity')",
            "22023",
            "Invalid schedule configuration: after must not be -infinity",
        );
        assert_fails(
            "SELECT workflow_scheduler.schedule_next('interval', cron_expression => '* * * * *', interval_seconds => 60)",
            "22023",
            "Invalid schedule configuration: cron_expression does not apply to schedule_type interval",
        );
        assert_eq!(
            ts("workflow_scheduler.schedule_next('cron', cron_expression => '0 0 1 1 *', after => '0001-06-01 00:00+00')"),
            "0002-01-01 00:00:00"
        );
    }

    #[pg_test]
    fn next_writes_nothing_and_is_granted_to_public() {
        let public_can_execute: bool = Spi::get_one(
            "SELECT has_function_privilege('public', 'workflow_scheduler.schedule_next(text,text,integer,timestamptz,text,timestamptz)', 'EXECUTE')",
        )
        .unwrap()
        .unwrap();
        assert!(public_can_execute);
        let public_can_add: bool = Spi::get_one(
            "SELECT has_function_privilege('public', 'workflow_scheduler.schedule_add(uuid,jsonb,bigint,bigint,jsonb)', 'EXECUTE')",
        )
        .unwrap()
        .unwrap();
        assert!(!public_can_add);
        let public_can_read: bool =
            Spi::get_one("SELECT has_table_privilege('public', 'workflow_scheduler.workflow_schedules', 'SELECT')")
                .unwrap()
                .unwrap();
        assert!(!public_can_read);
    }

    #[pg_test]
    fn describe_in_english() {
        let describe = |expression: Option<&str>| -> Option<String> {
            Spi::get_one_with_args("SELECT workflow_scheduler.schedule_describe($1)", &[expression.into()]).unwrap()
        };
        for (expression, want) in [
            ("0 9 * * 1-5", "At 09:00, Monday through Friday"),
            ("*/15 9-17 * * mon-fri", "Every 15 minutes, between 09:00 and 17:59, Monday through Friday"),
            ("0 22-2 * * *", "Every hour, between 22:00 and 02:00"),
            ("0 0 $ * *", "At 00:00, on the last day of the month"),
            ("0 16 */2 * sat", "At 16:00, every 2 days in a month, and on Saturday"),
            ("@weekly", "At 00:00, only on Sunday"),
            // Valid, never fires: described all the same (schedule_next answers NULL).
            ("0 0 30 2 *", "At 00:00, on day 30 of the month, only in February"),
        ] {
            assert_eq!(describe(Some(expression)).as_deref(), Some(want), "{expression}");
        }
        assert_eq!(describe(None), None, "STRICT: NULL in, NULL out");
        assert_fails(
            "SELECT workflow_scheduler.schedule_describe('61 * * * *')",
            "22023",
            "Invalid cron expression: minute field '61': number out of bounds",
        );
        // The same error, word for word, as schedule_next.
        for expression in ["0 0 * MON *", "0 0 0 * * *", "@reboot"] {
            let described = capture_error(&format!("SELECT workflow_scheduler.schedule_describe('{expression}')"));
            let next = capture_error(&format!(
                "SELECT workflow_scheduler.schedule_next('cron', cron_expression => '{expression}')"
            ));
            assert_eq!(described.0, "22023", "{expression}: {}", described.1);
            assert_eq!(described, next, "{expression}");
        }
        let public_can_execute: bool = Spi::get_one(
            "SELECT has_function_privilege('public', 'workflow_scheduler.schedule_describe(text)', 'EXECUTE')",
        )
        .unwrap()
        .unwrap();
        assert!(!public_can_execute, "only schedule_next is granted to PUBLIC");
    }

    /// Every row of tests/data/cron_next.tsv, through `schedule_next` applied repeatedly.
    #[pg_test]
    fn conformance_vectors_through_schedule_next() {
        let tsv = include_str!("../../tests/data/cron_next.tsv");
        let mut failures = Vec::new();
        let mut checked = 0;
        for line in tsv.lines().skip(1).filter(|l| !l.trim().is_empty()) {
            let cols: Vec<&str> = line.split('\t').collect();
            let (expr, tz, start) = (cols[0], cols[1], cols[2]);
            let mut after = start.to_string();
            for expected in cols[3..8].iter().filter(|c| !c.is_empty()) {
                let got: Option<String> = Spi::get_one_with_args(
                    "SELECT to_char(workflow_scheduler.schedule_next('cron', cron_expression => $1,
                                timezone => $2, after => $3::timestamptz) AT TIME ZONE 'UTC',
                                'YYYY-MM-DD\"T\"HH24:MI:SS')",
                    &[expr.into(), tz.into(), after.as_str().into()],
                )
                .unwrap();
                let want: Option<String> = if *expected == "NONE" {
                    None
                } else {
                    Spi::get_one_with_args(
                        "SELECT to_char($1::timestamptz AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS')",
                        &[(*expected).into()],
                    )
                    .unwrap()
                };
                checked += 1;
                if got != want {
                    failures.push(format!("{expr} [{tz}] after {after}: got {got:?}, want {want:?}"));
                    break;
                }
                match got {
                    Some(next) => after = format!("{next}Z"),
                    None => break,
                }
            }
        }
        assert!(checked >= 69, "only {checked} vectors checked");
        assert!(failures.is_empty(), "{} conformance failures:\n{}", failures.len(), failures.join("\n"));
    }

    #[pg_test]
    fn error_bad_cron_expression() {
        assert_fails(
            &add_sql(r#"{"schedule_type": "cron", "cron_expression": "61 * * * *"}"#),
            "22023",
            "Invalid cron expression: ",
        );
        assert_fails(
            &add_sql(r#"{"schedule_type": "cron", "cron_expression": "0 0 * * * *"}"#),
            "22023",
            "Invalid cron expression: ",
        );
        assert_fails(
            "SELECT workflow_scheduler.schedule_next('cron', cron_expression => 'not a cron')",
            "22023",
            "Invalid cron expression: ",
        );
    }

    #[pg_test]
    fn error_cron_expression_that_never_fires() {
        assert_fails(
            &add_sql(r#"{"schedule_type": "cron", "cron_expression": "0 0 30 2 *"}"#),
            "22023",
            "Invalid cron expression: ",
        );
    }

    #[pg_test]
    fn error_missing_fields() {
        assert_fails(&add_sql(r#"{"schedule_type": "cron"}"#), "22023", "cron_expression required");
        assert_fails(&add_sql(r#"{"schedule_type": "interval"}"#), "22023", "interval_seconds required");
        assert_fails(&add_sql(r#"{"schedule_type": "one_time"}"#), "22023", "scheduled_time required");
        assert_fails("SELECT workflow_scheduler.schedule_next('interval')", "22023", "interval_seconds required");
    }

    #[pg_test]
    fn error_one_time_in_the_past() {
        assert_fails(
            &add_sql(r#"{"schedule_type": "one_time", "scheduled_time": "2001-01-01T00:00:00Z"}"#),
            "22023",
            "scheduled_time must be in the future",
        );
    }

    #[pg_test]
    fn error_unknown_timezone() {
        assert_fails(
            &add_sql(r#"{"schedule_type": "cron", "cron_expression": "0 * * * *", "timezone": "Mars/Olympus"}"#),
            "22023",
            "Invalid timezone: ",
        );
        assert_fails(
            "SELECT workflow_scheduler.schedule_next('cron', cron_expression => '0 * * * *', timezone => 'Nowhere')",
            "22023",
            "Invalid timezone: ",
        );
    }

    #[pg_test]
    fn error_invalid_configuration() {
        assert_fails(&add_sql(r#"{"schedule_type": "weekly"}"#), "22023", "Invalid schedule configuration: ");
        assert_fails(
            &add_sql(r#"{"schedule_type": "interval", "interval_secs": 5}"#),
            "22023",
            "Invalid schedule configuration: ",
        );
        assert_fails(
            &add_sql(r#"{"schedule_type": "interval", "interval_seconds": "60"}"#),
            "22023",
            "Invalid schedule configuration: ",
        );
        assert_fails(
            &add_sql(r#"{"schedule_type": "interval", "interval_seconds": 0}"#),
            "22023",
            "Invalid schedule configuration: ",
        );
        assert_fails(
            &add_sql(r#"{"schedule_type": "interval", "interval_seconds": 5, "max_executions": 0}"#),
            "22023",
            "Invalid schedule configuration: ",
        );
        assert_fails(&add_sql(r#"["cron"]"#), "22023", "Invalid schedule configuration: ");
        assert_fails(
            &format!(
                "SELECT workflow_scheduler.schedule_add('{WORKFLOW}', '{{\"schedule_type\": \"interval\", \"interval_seconds\": 5}}', 1, 1, '{{\"execution_id\": 1}}')"
            ),
            "22023",
            "Invalid schedule configuration: ",
        );
        assert_fails("SELECT workflow_scheduler.schedule_next('hourly')", "22023", "Invalid schedule configuration: ");
    }

    /// jsonb nests deeper than the JSON parser reads (128 levels): 22023, not an internal error.
    #[pg_test]
    fn error_json_nested_beyond_what_the_core_reads() {
        let deep = format!("{}1{}", "[".repeat(200), "]".repeat(200));
        let interval = r#"{"schedule_type": "interval", "interval_seconds": 5}"#;
        assert_fails(
            &format!(
                "SELECT workflow_scheduler.schedule_add('{WORKFLOW}', '{interval}', 1, 1, '{{\"deep\": {deep}}}')"
            ),
            "22023",
            "Invalid schedule configuration: context_data cannot be read: recursion limit exceeded",
        );
        assert_fails(
            &add_sql(&format!(r#"{{"schedule_type": "interval", "interval_seconds": 5, "x": {deep}}}"#)),
            "22023",
            "Invalid schedule configuration: schedule_config cannot be read: recursion limit exceeded",
        );
        let id = add(interval)["schedule_id"].as_str().unwrap().to_string();
        assert_fails(
            &format!("SELECT workflow_scheduler.schedule_update('{id}', '{deep}', 1)"),
            "22023",
            "Invalid schedule configuration: schedule_config cannot be read: ",
        );
    }

    #[pg_test]
    fn error_invalid_update_writes_nothing() {
        let added = add(r#"{"schedule_type": "interval", "interval_seconds": 60}"#);
        let id = added["schedule_id"].as_str().unwrap();
        assert_fails(
            &format!("SELECT workflow_scheduler.schedule_update('{id}', '{{\"schedule_type\": \"cron\"}}', 1)"),
            "22023",
            "cron_expression required",
        );
        let unchanged =
            Spi::get_one_with_args::<JsonB>("SELECT workflow_scheduler.schedule_get($1::uuid)", &[id.into()])
                .unwrap()
                .unwrap()
                .0;
        assert_eq!(unchanged, added);
    }

    #[pg_test]
    fn error_unknown_schedule_id() {
        let unknown = "00000000-0000-0000-0000-000000000000";
        assert_fails(
            &format!("SELECT workflow_scheduler.schedule_update('{unknown}', '{{\"schedule_type\": \"interval\", \"interval_seconds\": 5}}', 1)"),
            "P0002",
            &format!("Schedule not found: {unknown}"),
        );
        assert_fails(
            &format!("SELECT workflow_scheduler.schedule_remove('{unknown}', 1)"),
            "P0002",
            &format!("Schedule not found: {unknown}"),
        );
        assert_fails(
            &format!("SELECT workflow_scheduler.schedule_get('{unknown}')"),
            "P0002",
            &format!("Schedule not found: {unknown}"),
        );
    }

    #[pg_test]
    fn constraints_reject_impossible_rows() {
        for insert in [
            "INSERT INTO workflow_scheduler.workflow_schedules (workflow_id, schedule_type, next_execution_at) VALUES (gen_random_uuid(), 'cron', now())",
            "INSERT INTO workflow_scheduler.workflow_schedules (workflow_id, schedule_type, interval_seconds, next_execution_at) VALUES (gen_random_uuid(), 'interval', 0, now())",
            "INSERT INTO workflow_scheduler.workflow_schedules (workflow_id, schedule_type, interval_seconds) VALUES (gen_random_uuid(), 'interval', 5)",
            "INSERT INTO workflow_scheduler.workflow_schedules (workflow_id, schedule_type, next_execution_at) VALUES (gen_random_uuid(), 'hourly', now())",
        ] {
            let (state, message) = capture_error(insert);
            assert_eq!(state, "23514", "{insert}: {message}");
        }
    }

    /// `\d+` and `\df+` in psql explain every table, view, column and function.
    #[pg_test]
    fn every_object_has_a_comment() {
        let missing: Vec<String> = Spi::connect(|client| {
            client
                .select(
                    "SELECT c.relname || coalesce('.' || a.attname, '')
                       FROM pg_class c
                       LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                      WHERE c.relnamespace = 'workflow_scheduler'::regnamespace AND c.relkind IN ('r', 'v')
                        AND (a.attnum IS NULL AND obj_description(c.oid, 'pg_class') IS NULL
                             OR a.attnum IS NOT NULL AND c.relkind = 'r' AND col_description(c.oid, a.attnum) IS NULL)
                     UNION ALL
                     SELECT p.oid::regprocedure::text FROM pg_proc p
                      WHERE p.pronamespace = 'workflow_scheduler'::regnamespace AND obj_description(p.oid, 'pg_proc') IS NULL
                     UNION ALL
                     SELECT c.relname FROM pg_class c
                      WHERE c.relnamespace = 'workflow_scheduler'::regnamespace AND c.relkind IN ('r', 'v')
                        AND obj_description(c.oid, 'pg_class') IS NULL",
                    None,
                    &[],
                )
                .unwrap()
                .map(|row| row.get::<String>(1).unwrap().unwrap())
                .collect()
        });
        assert!(missing.is_empty(), "objects without a COMMENT: {missing:?}");
    }
}
