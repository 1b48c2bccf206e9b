//! schedule_add_many: the same schedules, audit rows and errors as schedule_add, all or nothing.

#[pgrx::pg_schema]
mod tests {
    use pgrx::prelude::*;
    use pgrx::JsonB;
    use serde_json::Value;

    use crate::tests::support::*;

    /// (workflow_id, schedule_config, context_data) of a mixed batch: cron in zones, interval,
    /// one-time, a window, an overlap policy, a NULL context.
    const MIXED: &[(&str, &str, Option<&str>)] = &[
        (
            "00000000-0000-0000-0000-000000000001",
            r#"{"schedule_type": "cron", "cron_expression": "0 9 * * 1-5", "timezone": "Europe/Paris"}"#,
            Some(r#"{"n": 1}"#),
        ),
        (
            "00000000-0000-0000-0000-000000000002",
            r#"{"schedule_type": "interval", "interval_seconds": 90, "max_executions": 3, "overlap": "skip"}"#,
            Some(r#"{"n": 2, "deep": {"x": [1, 2.50]}}"#),
        ),
        (
            "00000000-0000-0000-0000-000000000003",
            r#"{"schedule_type": "one_time", "scheduled_time": "2099-07-01T09:30:00", "timezone": "Asia/Tokyo"}"#,
            None,
        ),
        (
            "00000000-0000-0000-0000-000000000004",
            r#"{"schedule_type": "cron", "cron_expression": "*/15 * * * *", "timezone": "America/New_York",
                "max_runtime_seconds": 30, "grace_seconds": 5}"#,
            Some("{}"),
        ),
        (
            "00000000-0000-0000-0000-000000000005",
            r#"{"schedule_type": "interval", "interval_seconds": 3600,
                "start_at": "2099-01-01T00:00:00Z", "end_at": "2099-02-01T00:00:00Z"}"#,
            Some(r#"{"n": 5}"#),
        ),
    ];

    /// `ARRAY[...]` literals of the inputs' workflow ids, configs and contexts.
    fn arrays(inputs: &[(&str, &str, Option<&str>)]) -> (String, String, String) {
        let quote = |text: &str| format!("'{}'", text.replace('\'', "''"));
        let workflows: Vec<String> = inputs.iter().map(|(w, _, _)| format!("{}::uuid", quote(w))).collect();
        let configs: Vec<String> = inputs.iter().map(|(_, c, _)| format!("{}::jsonb", quote(c))).collect();
        let contexts: Vec<String> = inputs
            .iter()
            .map(|(_, _, x)| x.map_or("NULL::jsonb".to_string(), |x| format!("{}::jsonb", quote(x))))
            .collect();
        (
            format!("ARRAY[{}]::uuid[]", workflows.join(", ")),
            format!("ARRAY[{}]::jsonb[]", configs.join(", ")),
            format!("ARRAY[{}]::jsonb[]", contexts.join(", ")),
        )
    }

    fn add_many_sql(inputs: &[(&str, &str, Option<&str>)]) -> String {
        let (workflows, configs, contexts) = arrays(inputs);
        format!("SELECT * FROM workflow_scheduler.schedule_add_many({workflows}, {configs}, 42, 1, {contexts})")
    }

    /// The rows schedule_add_many returned: (ordinality, schedule_id, next_execution_at as text).
    fn add_many(inputs: &[(&str, &str, Option<&str>)]) -> Vec<(i64, String, Option<String>)> {
        Spi::connect(|client| {
            client
                .select(
                    &format!(
                        "SELECT ordinality, schedule_id::text, next_execution_at::text FROM ({}) AS m",
                        add_many_sql(inputs)
                    ),
                    None,
                    &[],
                )
                .unwrap()
                .map(|row| (row.get(1).unwrap().unwrap(), row.get(2).unwrap().unwrap(), row.get(3).unwrap()))
                .collect()
        })
    }

    fn add_one_sql(input: &(&str, &str, Option<&str>)) -> String {
        let (workflows, configs, contexts) = arrays(std::slice::from_ref(input));
        format!("SELECT workflow_scheduler.schedule_add(({workflows})[1], ({configs})[1], 42, 1, ({contexts})[1])")
    }

    /// A stored schedule row as JSON, without what differs between any two schedules.
    fn stored(schedule_id: &str) -> Value {
        Spi::get_one_with_args::<JsonB>(
            "SELECT pg_catalog.to_jsonb(s) - '{id,schedule_id}'::text[] FROM workflow_scheduler.workflow_schedules AS s
              WHERE schedule_id = $1::uuid",
            &[schedule_id.into()],
        )
        .unwrap()
        .unwrap()
        .0
    }

    /// The schedule's audit rows as JSON, without their ids and times.
    fn audit_of(schedule_id: &str) -> Vec<Value> {
        Spi::get_one_with_args::<JsonB>(
            "SELECT coalesce(pg_catalog.jsonb_agg(pg_catalog.to_jsonb(a) - '{id,logged_at,schedule_id}'::text[]
                                        || pg_catalog.jsonb_build_object('details', a.details - 'schedule_id')), '[]')
               FROM workflow_scheduler.audit_log AS a WHERE schedule_id = $1::uuid",
            &[schedule_id.into()],
        )
        .unwrap()
        .unwrap()
        .0
        .as_array()
        .unwrap()
        .clone()
    }

    #[pg_test]
    fn many_creates_exactly_what_schedule_add_creates_in_input_order() {
        let (schedules, audits) = (schedule_count(), audit_count());
        let created = add_many(MIXED);
        assert_eq!(created.len(), MIXED.len());
        assert_eq!(schedule_count(), schedules + MIXED.len() as i64);
        assert_eq!(audit_count(), audits + MIXED.len() as i64, "one schedule_create row per schedule");
        for (i, input) in MIXED.iter().enumerate() {
            let (ordinality, bulk_id, next) = &created[i];
            assert_eq!(*ordinality, i as i64 + 1, "rows come back in input order");
            let single = Spi::get_one::<JsonB>(&add_one_sql(input)).unwrap().unwrap().0;
            let single_id = id_of(&single);
            let (bulk_row, single_row) = (stored(bulk_id), stored(&single_id));
            assert_eq!(bulk_row["workflow_id"], input.0, "element {} is the input's element {}", i + 1, i + 1);
            // Same transaction, same now(): every column is equal, field by field.
            for (field, value) in single_row.as_object().unwrap() {
                assert_eq!(&bulk_row[field], value, "element {}: column {field}", i + 1);
            }
            assert_eq!(bulk_row.as_object().unwrap().len(), single_row.as_object().unwrap().len());
            let stored_next: Option<String> = Spi::get_one_with_args(
                "SELECT next_execution_at::text FROM workflow_scheduler.workflow_schedules WHERE schedule_id = $1::uuid",
                &[bulk_id.as_str().into()],
            )
            .unwrap();
            assert_eq!(next, &stored_next, "the returned next_execution_at is the stored one");
            let bulk_audit = audit_of(bulk_id);
            assert_eq!(bulk_audit.len(), 1, "element {}: one audit row", i + 1);
            assert_eq!(bulk_audit, audit_of(&single_id), "element {}: the audit row schedule_add writes", i + 1);
        }
        assert_eq!(
            stored(&created[2].1)["context_data"],
            serde_json::json!({}),
            "a NULL context_data element is '{{}}', as schedule_add's NULL"
        );
    }

    #[pg_test]
    fn many_without_context_data_gives_every_schedule_an_empty_object() {
        let created: Vec<String> = Spi::connect(|client| {
            client
                .select(
                    &format!(
                        "SELECT schedule_id::text FROM workflow_scheduler.schedule_add_many(
                             ARRAY['{WORKFLOW}', '{WORKFLOW}']::uuid[],
                             ARRAY['{{\"schedule_type\": \"interval\", \"interval_seconds\": 60}}',
                                   '{{\"schedule_type\": \"cron\", \"cron_expression\": \"0 * * * *\"}}']::jsonb[],
                             42, 1) ORDER BY ordinality"
                    ),
                    None,
                    &[],
                )
                .unwrap()
                .map(|row| row.get(1).unwrap().unwrap())
                .collect()
        });
        assert_eq!(created.len(), 2);
        let me: String = Spi::get_one("SELECT current_user::text").unwrap().unwrap();
        for id in &created {
            assert_eq!(stored(id)["context_data"], serde_json::json!({}));
            assert_eq!(stored(id)["owner_role"], me.as_str());
        }
    }

    #[pg_test]
    fn many_with_empty_arrays_writes_nothing() {
        let (schedules, audits) = (schedule_count(), audit_count());
        let rows =
            count("SELECT count(*) FROM workflow_scheduler.schedule_add_many('{}'::uuid[], '{}'::jsonb[], 42, 1)");
        assert_eq!(rows, 0);
        let rows = count(
            "SELECT count(*) FROM workflow_scheduler.schedule_add_many('{}'::uuid[], '{}'::jsonb[], 42, 1, '{}'::jsonb[])",
        );
        assert_eq!(rows, 0);
        assert_eq!((schedule_count(), audit_count()), (schedules, audits));
    }

    #[pg_test]
    fn error_many_null_arrays() {
        let config = r#"ARRAY['{"schedule_type": "interval", "interval_seconds": 60}']::jsonb[]"#;
        assert_fails(
            &format!("SELECT * FROM workflow_scheduler.schedule_add_many(NULL, {config}, 42, 1)"),
            "22004",
            "Invalid argument: workflow_ids must not be null",
        );
        assert_fails(
            &format!("SELECT * FROM workflow_scheduler.schedule_add_many(ARRAY['{WORKFLOW}']::uuid[], NULL, 42, 1)"),
            "22004",
            "Invalid argument: schedule_configs must not be null",
        );
    }

    #[pg_test]
    fn error_many_arrays_of_different_lengths() {
        let two_configs = r#"ARRAY['{"schedule_type": "interval", "interval_seconds": 60}',
                                   '{"schedule_type": "interval", "interval_seconds": 60}']::jsonb[]"#;
        assert_fails(
            &format!("SELECT * FROM workflow_scheduler.schedule_add_many(ARRAY['{WORKFLOW}']::uuid[], {two_configs}, 42, 1)"),
            "2202E",
            "Invalid argument: workflow_ids, schedule_configs and context_data must have the same length (got 1, 2, NULL)",
        );
        assert_fails(
            &format!(
                "SELECT * FROM workflow_scheduler.schedule_add_many(ARRAY['{WORKFLOW}', '{WORKFLOW}']::uuid[], {two_configs},
                     42, 1, ARRAY['{{}}']::jsonb[])"
            ),
            "2202E",
            "Invalid argument: workflow_ids, schedule_configs and context_data must have the same length (got 2, 2, 1)",
        );
    }

    #[pg_test]
    fn error_many_over_the_limit() {
        // Refused before any element is read.
        assert_fails(
            &format!(
                "SELECT * FROM workflow_scheduler.schedule_add_many(array_fill('{WORKFLOW}'::uuid, ARRAY[100001]),
                     array_fill('{{}}'::jsonb, ARRAY[100001]), 42, 1)"
            ),
            "54000",
            "Too many schedules in one call: 100001 (at most 100000; ",
        );
    }

    /// Element `bad` of a batch fails with schedule_add's SQLSTATE and message for the same
    /// arguments, prefixed with its position, and nothing of the batch is written.
    fn assert_element_fails(bad: (&str, &str, Option<&str>), position: usize) {
        let (single_state, single_message) = capture_error(&add_one_sql(&bad));
        assert_ne!(single_state, "no error", "schedule_add refuses {bad:?}");
        let mut batch: Vec<(&str, &str, Option<&str>)> = MIXED[..3].to_vec();
        batch.insert(position - 1, bad);
        assert_fails(
            &add_many_sql(&batch),
            &single_state,
            &format!("schedule {position} of {}: {single_message}", batch.len()),
        );
    }

    #[pg_test]
    fn error_many_bad_element_is_schedule_adds_error_with_its_position() {
        let cron = r#"{"schedule_type": "cron", "cron_expression": "61 * * * *"}"#;
        assert_element_fails((WORKFLOW, cron, None), 2);
        assert_element_fails((WORKFLOW, cron, None), 4);
        let past = r#"{"schedule_type": "one_time", "scheduled_time": "2001-01-01T00:00:00Z"}"#;
        assert_element_fails((WORKFLOW, past, None), 1);
        let zone = r#"{"schedule_type": "cron", "cron_expression": "0 * * * *", "timezone": "Mars/Olympus"}"#;
        assert_element_fails((WORKFLOW, zone, None), 3);
        let hook = r#"{"schedule_type": "interval", "interval_seconds": 60, "hook": "no_such_hook"}"#;
        assert_element_fails((WORKFLOW, hook, None), 2);
        let interval = r#"{"schedule_type": "interval", "interval_seconds": 60}"#;
        assert_element_fails((WORKFLOW, interval, Some("[1, 2]")), 2);
    }

    #[pg_test]
    fn error_many_null_elements_are_schedule_adds_nulls() {
        let interval = r#"{"schedule_type": "interval", "interval_seconds": 60}"#;
        // The NULL literals of add_one_sql and add_many_sql.
        let (_, null_config) =
            capture_error(&format!("SELECT workflow_scheduler.schedule_add('{WORKFLOW}', NULL, 42, 1)"));
        let (_, null_workflow) =
            capture_error(&format!("SELECT workflow_scheduler.schedule_add(NULL, '{interval}', 42, 1)"));
        assert_fails(
            &format!(
                "SELECT * FROM workflow_scheduler.schedule_add_many(ARRAY['{WORKFLOW}', NULL]::uuid[],
                     ARRAY['{interval}', '{interval}']::jsonb[], 42, 1)"
            ),
            "22023",
            &format!("schedule 2 of 2: {null_workflow}"),
        );
        assert_fails(
            &format!(
                "SELECT * FROM workflow_scheduler.schedule_add_many(ARRAY['{WORKFLOW}', '{WORKFLOW}']::uuid[],
                     ARRAY[NULL, '{interval}']::jsonb[], 42, 1)"
            ),
            "22023",
            &format!("schedule 1 of 2: {null_config}"),
        );
    }

    #[pg_test]
    fn an_application_role_adds_many_and_owns_them() {
        create_app_roles();
        act_as(Some("ws_app_a"));
        let created = add_many(&MIXED[..3]);
        assert_eq!(created.len(), 3);
        for (_, id, _) in &created {
            assert_eq!(stored(id)["owner_role"], "ws_app_a", "the caller's current_user owns each schedule");
            assert_eq!(audit_of(id).len(), 1, "and sees its audit row");
        }
        let ids: Vec<String> = created.iter().map(|(_, id, _)| format!("'{id}'")).collect();
        let visible = format!(
            "SELECT count(*) FROM workflow_scheduler.workflow_schedules WHERE schedule_id IN ({})",
            ids.join(", ")
        );
        act_as(Some("ws_app_b"));
        assert_eq!(count(&visible), 0, "another application role sees none of them");
        act_as(None);
        Spi::run("CREATE ROLE ws_no_grants NOLOGIN").unwrap();
        act_as(Some("ws_no_grants"));
        let (state, message) = capture_error(&add_many_sql(&MIXED[..1]));
        assert_eq!(state, "42501", "{message}");
        assert!(message.contains("schedule_add_many"), "{message}");
        act_as(None);
        assert_eq!(count(&visible), 3);
    }
}
