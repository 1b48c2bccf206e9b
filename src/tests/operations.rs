//! Pause, resume, run now and backfill in the database, through `schedule_check_due()`: a
//! paused schedule does not fire or miss, `schedule_update` keeps it paused, a resume fires
//! nothing of the pause; manual runs never collide with the grid; a backfill fires only
//! occurrences without an execution, across a DST fall-back too; and the errors.

#[pgrx::pg_schema]
mod tests {
    use pgrx::prelude::*;
    use pgrx::JsonB;
    use serde_json::Value;

    use crate::tests::support::*;

    const HOURLY: &str = r#"{"schedule_type": "interval", "interval_seconds": 3600}"#;

    fn call(sql: &str, id: &str) -> Value {
        Spi::get_one_with_args::<JsonB>(sql, &[id.into()]).unwrap().unwrap().0
    }

    fn executions(id: &str) -> i64 {
        count(&format!(
            "SELECT count(*) FROM workflow_scheduler.workflow_schedule_executions WHERE schedule_id = '{id}'"
        ))
    }

    #[pg_test]
    fn a_paused_schedule_neither_fires_nor_misses_and_resumes_after_now() {
        let id = id_of(&add(HOURLY));
        due_since(&id, "2 hours");
        let paused = call("SELECT workflow_scheduler.schedule_pause($1::uuid, 'maintenance window', 7)", &id);
        assert_eq!(paused["pause_note"], "maintenance window");
        assert_eq!(paused["paused_by"], 7);
        assert_eq!((paused["is_active"].as_bool(), paused["next_execution_at"].is_null()), (Some(false), true));
        assert!(fired_now().is_empty(), "paused: nothing fires");
        assert_eq!(executions(&id), 0, "and nothing is recorded as missed");

        let updated = call(
            "SELECT workflow_scheduler.schedule_update($1::uuid, '{\"schedule_type\": \"interval\", \"interval_seconds\": 1800}', 7)",
            &id,
        );
        assert_eq!(
            (updated["is_active"].as_bool(), updated["paused_at"].is_string()),
            (Some(false), true),
            "update keeps it paused"
        );

        let resumed = call("SELECT workflow_scheduler.schedule_resume($1::uuid, 7)", &id);
        assert_eq!((resumed["is_active"].as_bool(), resumed["paused_at"].is_null()), (Some(true), true));
        let next_after_now: bool = Spi::get_one_with_args(
            "SELECT next_execution_at > now() FROM workflow_scheduler.workflow_schedules WHERE schedule_id = $1::uuid",
            &[id.as_str().into()],
        )
        .unwrap()
        .unwrap();
        assert!(next_after_now, "the next run is after the resume");
        assert!(fired_now().is_empty());
        assert_eq!(executions(&id), 0, "what fell due during the pause is neither fired nor missed");
        assert_eq!(audit_actions(&id), ["schedule_create", "schedule_pause", "schedule_update", "schedule_resume"]);
        let again = call("SELECT workflow_scheduler.schedule_resume($1::uuid)", &id);
        assert_eq!(again, resumed, "resuming a running schedule changes nothing");
    }

    #[pg_test]
    fn pausing_twice_keeps_the_first_time_and_takes_the_new_note() {
        let id = id_of(&add(HOURLY));
        let first = call("SELECT workflow_scheduler.schedule_pause($1::uuid, 'first')", &id);
        let second = call("SELECT workflow_scheduler.schedule_pause($1::uuid, 'second')", &id);
        assert_eq!(second["paused_at"], first["paused_at"]);
        assert_eq!(second["pause_note"], "second");
        Spi::run_with_args("SELECT workflow_scheduler.schedule_remove($1::uuid, 1)", &[id.as_str().into()]).unwrap();
        let removed = call("SELECT workflow_scheduler.schedule_get($1::uuid)", &id);
        assert!(removed["paused_at"].is_null(), "a removed schedule is removed, not paused");
    }

    #[pg_test]
    fn error_pause_and_resume_of_what_cannot_be() {
        let id = id_of(&add(HOURLY));
        Spi::run_with_args("SELECT workflow_scheduler.schedule_remove($1::uuid, 1)", &[id.as_str().into()]).unwrap();
        assert_fails(
            &format!("SELECT workflow_scheduler.schedule_pause('{id}')"),
            "55000",
            &format!("Schedule is not active: {id}"),
        );
        let unknown = "00000000-0000-0000-0000-000000000000";
        assert_fails(
            &format!("SELECT workflow_scheduler.schedule_pause('{unknown}')"),
            "P0002",
            "Schedule not found: ",
        );
        assert_fails(
            &format!("SELECT workflow_scheduler.schedule_resume('{unknown}')"),
            "P0002",
            "Schedule not found: ",
        );

        // Another application role's schedule is as unknown.
        create_app_roles();
        act_as(Some("ws_app_a"));
        let theirs = id_of(&add(HOURLY));
        act_as(Some("ws_app_b"));
        assert_fails(&format!("SELECT workflow_scheduler.schedule_pause('{theirs}')"), "P0002", "Schedule not found: ");
    }

    fn trigger(id: &str, context: &str) -> String {
        Spi::get_one_with_args::<String>(
            "SELECT workflow_scheduler.schedule_trigger($1::uuid, $2::jsonb, 7)::text",
            &[id.into(), context.into()],
        )
        .unwrap()
        .unwrap()
    }

    #[pg_test]
    fn every_trigger_fires_now_outside_the_grid() {
        let id = id_of(&add_with_context(HOURLY, r#"{"report": "daily", "region": "eu"}"#));
        let next_before = get_next(&id);
        let first = trigger(&id, r#"{"region": "us"}"#);
        let second = trigger(&id, "{}");
        assert_ne!(first, second, "two calls in one transaction, two runs");
        let (kinds, statuses, region) = Spi::get_three_with_args::<Vec<String>, Vec<String>, String>(
            "SELECT pg_catalog.array_agg(trigger_kind ORDER BY triggered_at), pg_catalog.array_agg(status ORDER BY triggered_at),
                    (pg_catalog.array_agg(trigger_data->>'region' ORDER BY triggered_at))[1]
               FROM workflow_scheduler.workflow_schedule_executions WHERE schedule_id = $1::uuid",
            &[id.as_str().into()],
        )
        .unwrap();
        assert_eq!(kinds.unwrap(), ["manual", "manual"]);
        assert_eq!(statuses.unwrap(), ["triggered", "triggered"]);
        assert_eq!(region.as_deref(), Some("us"), "context_data is merged over the schedule's own");
        assert_eq!(get_next(&id), next_before, "the next regular occurrence does not move");
        let payload_kind: String = Spi::get_one_with_args(
            "SELECT trigger_data->>'trigger_kind' FROM workflow_scheduler.workflow_schedule_executions WHERE execution_id = $1::uuid",
            &[first.as_str().into()],
        )
        .unwrap()
        .unwrap();
        assert_eq!(payload_kind, "manual");
        assert!(audit_actions(&id).contains(&"schedule_trigger".to_string()));

        // A paused schedule may be run; the overlap policy applies.
        let skip = id_of(&add(r#"{"schedule_type": "interval", "interval_seconds": 3600, "overlap": "skip"}"#));
        Spi::run_with_args("SELECT workflow_scheduler.schedule_pause($1::uuid)", &[skip.as_str().into()]).unwrap();
        let ran = trigger(&skip, "{}");
        let skipped = trigger(&skip, "{}");
        let status = |execution: &str| -> String {
            Spi::get_one_with_args(
                "SELECT status FROM workflow_scheduler.workflow_schedule_executions WHERE execution_id = $1::uuid",
                &[execution.into()],
            )
            .unwrap()
            .unwrap()
        };
        assert_eq!((status(&ran), status(&skipped)), ("triggered".to_string(), "skipped".to_string()));
    }

    fn get_next(id: &str) -> Option<String> {
        Spi::get_one_with_args::<String>(
            "SELECT next_execution_at::text FROM workflow_scheduler.workflow_schedules WHERE schedule_id = $1::uuid",
            &[id.into()],
        )
        .unwrap()
    }

    #[pg_test]
    fn error_trigger_of_what_cannot_run() {
        let id = id_of(&add(HOURLY));
        assert_fails(
            &format!("SELECT workflow_scheduler.schedule_trigger('{id}', '{{\"execution_id\": 1}}')"),
            "22023",
            "Invalid schedule configuration: context_data key 'execution_id' is reserved",
        );
        assert_fails(
            &format!("SELECT workflow_scheduler.schedule_trigger('{id}', '{{\"trigger_kind\": \"x\"}}')"),
            "22023",
            "Invalid schedule configuration: context_data key 'trigger_kind' is reserved",
        );
        Spi::run_with_args("SELECT workflow_scheduler.schedule_remove($1::uuid, 1)", &[id.as_str().into()]).unwrap();
        assert_fails(
            &format!("SELECT workflow_scheduler.schedule_trigger('{id}')"),
            "55000",
            "Schedule is not active: ",
        );
        assert_fails(
            "SELECT workflow_scheduler.schedule_trigger('00000000-0000-0000-0000-000000000000')",
            "P0002",
            "Schedule not found: ",
        );
    }

    fn backfill(id: &str, start: &str, end: &str, max_runs: i32) -> i32 {
        Spi::get_one_with_args::<i32>(
            "SELECT workflow_scheduler.schedule_backfill($1::uuid, $2::timestamptz, $3::timestamptz, $4)",
            &[id.into(), start.into(), end.into(), max_runs.into()],
        )
        .unwrap()
        .unwrap()
    }

    #[pg_test]
    fn backfill_fires_only_occurrences_without_an_execution() {
        let id = id_of(&add(HOURLY));
        // Its grid: 2026-01-01 00:00, 01:00, ... UTC; 02:00 already fired.
        Spi::run_with_args(
            "UPDATE workflow_scheduler.workflow_schedules SET anchor_at = '2025-12-31 23:00+00' WHERE schedule_id = $1::uuid;",
            &[id.as_str().into()],
        )
        .unwrap();
        Spi::run_with_args(
            "INSERT INTO workflow_scheduler.workflow_schedule_executions
                 (execution_id, schedule_id, workflow_id, scheduled_for, triggered_at, status, trigger_data)
             SELECT gen_random_uuid(), schedule_id, workflow_id, '2026-01-01 02:00+00', now(), 'completed', '{}'
               FROM workflow_scheduler.workflow_schedules WHERE schedule_id = $1::uuid",
            &[id.as_str().into()],
        )
        .unwrap();
        let (start, end) = ("2026-01-01 00:00+00", "2026-01-01 04:00+00");
        assert_fails(
            &format!("SELECT workflow_scheduler.schedule_backfill('{id}', '{start}', '{end}', 2)"),
            "22023",
            "Invalid argument: more than 2 occurrences between start_at and end_at have no execution",
        );
        assert_eq!(backfill(&id, start, end, 3), 3, "00:00, 01:00 and 03:00; 02:00 had one");
        assert_eq!(backfill(&id, start, end, 3), 0, "a second backfill finds nothing to fire");
        let (kinds, times) = Spi::get_two_with_args::<Vec<String>, Vec<String>>(
            "SELECT pg_catalog.array_agg(trigger_kind ORDER BY scheduled_for), pg_catalog.array_agg(to_char(scheduled_for AT TIME ZONE 'UTC', 'HH24:MI') ORDER BY scheduled_for)
               FROM workflow_scheduler.workflow_schedule_executions WHERE schedule_id = $1::uuid",
            &[id.as_str().into()],
        )
        .unwrap();
        assert_eq!(kinds.unwrap(), ["backfill", "backfill", "scheduled", "backfill"]);
        assert_eq!(times.unwrap(), ["00:00", "01:00", "02:00", "03:00"]);
        assert!(audit_actions(&id).contains(&"schedule_backfill".to_string()));
    }

    #[pg_test]
    fn backfill_over_a_dst_fall_back_fires_both_passes_of_the_repeated_hour() {
        // New York falls back on 2025-11-02 at 02:00 EDT: 01:00-01:59 happens twice. Every 30
        // minutes from 00:00 EDT (04:00 UTC) to 03:00 EST (08:00 UTC) is 8 instants.
        let every = id_of(&add(
            r#"{"schedule_type": "cron", "cron_expression": "*/30 * * * *", "timezone": "America/New_York"}"#,
        ));
        assert_eq!(backfill(&every, "2025-11-02 04:00+00", "2025-11-02 08:00+00", 20), 8);
        // A fixed-time job in the repeated hour fires once, on the first pass.
        let fixed = id_of(&add(
            r#"{"schedule_type": "cron", "cron_expression": "30 1 * * *", "timezone": "America/New_York"}"#,
        ));
        assert_eq!(backfill(&fixed, "2025-11-02 04:00+00", "2025-11-02 08:00+00", 20), 1);
        let at: String = Spi::get_one_with_args(
            "SELECT to_char(scheduled_for AT TIME ZONE 'UTC', 'HH24:MI') FROM workflow_scheduler.workflow_schedule_executions WHERE schedule_id = $1::uuid",
            &[fixed.as_str().into()],
        )
        .unwrap()
        .unwrap();
        assert_eq!(at, "05:30", "01:30 EDT");
    }

    #[pg_test]
    fn error_backfill_arguments() {
        let id = id_of(&add(HOURLY));
        let cases = [
            (format!("SELECT workflow_scheduler.schedule_backfill('{id}', now() - interval '1 hour', now() + interval '1 hour')"), "Invalid argument: end_at must not be in the future"),
            (format!("SELECT workflow_scheduler.schedule_backfill('{id}', '2026-01-02', '2026-01-01')"), "Invalid argument: end_at must be after start_at"),
            (format!("SELECT workflow_scheduler.schedule_backfill('{id}', '2026-01-01', '2026-01-02', 0)"), "Invalid argument: max_runs must be between 1 and 10000, got 0"),
            (format!("SELECT workflow_scheduler.schedule_backfill('{id}', NULL, '2026-01-02')"), "Invalid argument: start_at and end_at must be finite timestamps"),
            (format!("SELECT workflow_scheduler.schedule_backfill('{id}', '-infinity', '2026-01-02')"), "Invalid argument: start_at and end_at must be finite timestamps"),
        ];
        for (stmt, prefix) in cases {
            assert_fails(&stmt, "22023", prefix);
        }
        assert_eq!(executions(&id), 0);
    }

    #[pg_test]
    fn run_maintenance_deletes_only_what_retention_expires() {
        let id = id_of(&add(HOURLY));
        // Four executions: finished 40 days ago, finished 40 days ago with a pending delivery,
        // unfinished 40 days ago, finished yesterday. Retention keeps 30 days by default.
        Spi::run_with_args(
            "INSERT INTO workflow_scheduler.workflow_schedule_executions
                 (execution_id, schedule_id, workflow_id, scheduled_for, triggered_at, status, trigger_data)
             SELECT gen_random_uuid(), s.schedule_id, s.workflow_id, now() - v.age, now() - v.age, v.status, pg_catalog.jsonb_build_object('n', v.n)
               FROM workflow_scheduler.workflow_schedules AS s,
                    (VALUES (1, interval '40 days', 'completed'), (2, interval '40 days 1 minute', 'failed'),
                            (3, interval '40 days 2 minutes', 'triggered'), (4, interval '1 day', 'missed')) AS v(n, age, status)
              WHERE s.schedule_id = $1::uuid;
             INSERT INTO workflow_scheduler.hooks (name, url, secret_fingerprint) VALUES ('h', 'https://example.com/', 'x');
             INSERT INTO workflow_scheduler.deliveries (delivery_id, execution_id, hook, next_attempt_at, created_at)
             SELECT gen_random_uuid(), execution_id, 'h', now(), now()
               FROM workflow_scheduler.workflow_schedule_executions WHERE trigger_data->>'n' = '2';
             INSERT INTO workflow_scheduler.delivery_attempts (delivery_id, attempt, attempted_at, status_code, latency_ms)
             SELECT delivery_id, 1, now(), 500, 1 FROM workflow_scheduler.deliveries;
             INSERT INTO workflow_scheduler.audit_log (logged_at, event_type, action, result)
             VALUES (now() - interval '100 days', 'SYSTEM', 'old', 'SUCCESS'), (now() - interval '10 days', 'SYSTEM', 'recent', 'SUCCESS');",
            &[id.as_str().into()],
        )
        .unwrap();
        let deleted = Spi::get_one::<JsonB>("SELECT workflow_scheduler.run_maintenance()").unwrap().unwrap().0;
        assert_eq!(deleted, serde_json::json!({"executions": 1, "deliveries": 0, "audit_log": 1}));
        let left: Vec<String> = Spi::get_one_with_args::<Vec<String>>(
            "SELECT pg_catalog.array_agg(trigger_data->>'n' ORDER BY trigger_data->>'n') FROM workflow_scheduler.workflow_schedule_executions
              WHERE schedule_id = $1::uuid",
            &[id.as_str().into()],
        )
        .unwrap()
        .unwrap();
        assert_eq!(left, ["2", "3", "4"], "a pending delivery, an unfinished run and a recent one stay");
        assert_eq!(
            count("SELECT count(*) FROM workflow_scheduler.delivery_attempts"),
            1,
            "the pending delivery's attempt stays"
        );
        assert_eq!(count("SELECT count(*) FROM workflow_scheduler.audit_log WHERE action IN ('old', 'recent')"), 1);

        // Once its delivery is done, the execution goes too, with the delivery.
        Spi::run("UPDATE workflow_scheduler.deliveries SET status = 'delivered'").unwrap();
        let deleted = Spi::get_one::<JsonB>("SELECT workflow_scheduler.run_maintenance()").unwrap().unwrap().0;
        assert_eq!(deleted, serde_json::json!({"executions": 1, "deliveries": 1, "audit_log": 0}));
        assert_eq!(count("SELECT count(*) FROM workflow_scheduler.delivery_attempts"), 0, "and its attempts");
        assert_eq!(count("SELECT count(*) FROM workflow_scheduler.deliveries"), 0);

        create_app_roles();
        act_as(Some("ws_app_a"));
        assert_fails(
            "SELECT workflow_scheduler.run_maintenance()",
            "42501",
            "permission denied for function run_maintenance",
        );
    }

    /// (state, description, runs, misses, skips) of a schedule in `schedule_overview`.
    fn overview(id: &str) -> (String, String, i32, i32, i32) {
        Spi::connect(|client| {
            let row = client
                .select(
                    "SELECT state, description, runs, misses, skips FROM workflow_scheduler.schedule_overview
                      WHERE schedule_id = $1::uuid",
                    None,
                    &[id.into()],
                )
                .unwrap()
                .first();
            (
                row.get::<String>(1).unwrap().unwrap(),
                row.get::<String>(2).unwrap().unwrap(),
                row.get::<i32>(3).unwrap().unwrap(),
                row.get::<i32>(4).unwrap().unwrap(),
                row.get::<i32>(5).unwrap().unwrap(),
            )
        })
    }

    #[pg_test]
    fn the_overview_shows_each_state_and_counts() {
        let active =
            id_of(&add(r#"{"schedule_type": "cron", "cron_expression": "0 9 * * 1-5", "timezone": "Europe/Berlin"}"#));
        let paused = id_of(&add(r#"{"schedule_type": "interval", "interval_seconds": 900}"#));
        let finished = id_of(&add(r#"{"schedule_type": "interval", "interval_seconds": 3600, "max_executions": 1}"#));
        let removed = id_of(&add(HOURLY));
        Spi::run_with_args("SELECT workflow_scheduler.schedule_pause($1::uuid)", &[paused.as_str().into()]).unwrap();
        Spi::run_with_args("SELECT workflow_scheduler.schedule_remove($1::uuid, 1)", &[removed.as_str().into()])
            .unwrap();
        due_since(&finished, "1 second");
        assert_eq!(fired_now().len(), 1);

        assert_eq!(overview(&active), ("active".into(), "At 09:00, Monday through Friday".into(), 0, 0, 0));
        assert_eq!(overview(&paused), ("paused".into(), "Every 15 minutes".into(), 0, 0, 0));
        assert_eq!(overview(&finished), ("finished".into(), "Every hour".into(), 1, 0, 0));
        assert_eq!(overview(&removed).0, "removed");

        let (local_is_berlin, last_status) = Spi::get_two_with_args::<bool, String>(
            "SELECT o.next_run_local = (o.next_run_at AT TIME ZONE 'Europe/Berlin'), f.last_status
               FROM workflow_scheduler.schedule_overview AS o, workflow_scheduler.schedule_overview AS f
              WHERE o.schedule_id = $1::uuid AND f.schedule_id = $2::uuid",
            &[active.as_str().into(), finished.as_str().into()],
        )
        .unwrap();
        assert_eq!((local_is_berlin, last_status.as_deref()), (Some(true), Some("triggered")));

        // A miss and a skip are counted.
        let skipping = id_of(&add(r#"{"schedule_type": "interval", "interval_seconds": 3600, "overlap": "skip"}"#));
        due_since(&skipping, "40 minutes");
        fired_now();
        Spi::run_with_args("SELECT workflow_scheduler.schedule_trigger($1::uuid)", &[skipping.as_str().into()])
            .unwrap();
        Spi::run_with_args("SELECT workflow_scheduler.schedule_trigger($1::uuid)", &[skipping.as_str().into()])
            .unwrap();
        let (_, _, runs, misses, skips) = overview(&skipping);
        assert_eq!((runs, misses, skips), (1, 1, 1), "missed once, ran once, then skipped while running");

        // It shows only what the caller may see.
        create_app_roles();
        act_as(Some("ws_app_a"));
        let own = id_of(&add(HOURLY));
        assert_eq!(count("SELECT count(*) FROM workflow_scheduler.schedule_overview"), 1);
        act_as(Some("ws_app_b"));
        assert_eq!(
            count(&format!("SELECT count(*) FROM workflow_scheduler.schedule_overview WHERE schedule_id = '{own}'")),
            0
        );
    }

    #[pg_test]
    fn scheduler_status_reports_what_is_due_and_waiting() {
        let id = id_of(&add(HOURLY));
        due_since(&id, "1 second");
        let status = |sql: &str| Spi::get_one::<JsonB>(sql).unwrap().unwrap().0;
        let before = status("SELECT workflow_scheduler.scheduler_status()");
        assert_eq!(before["due_not_fired"], 1, "{before}");
        assert_eq!(before["version"], env!("CARGO_PKG_VERSION"));
        assert!(before["workers"].is_array() && before["lateness_ms_last_5_minutes"].is_object(), "{before}");
        assert!(before["notify_queue_usage"].is_number());
        fired_now();
        let after = status("SELECT workflow_scheduler.scheduler_status()");
        assert_eq!(after["due_not_fired"], 0);
        assert_eq!(after["executions_not_taken"], 1, "the fire waits for an engine");
        // An application role sees the counts of what it may see.
        create_app_roles();
        act_as(Some("ws_app_b"));
        let theirs = status("SELECT workflow_scheduler.scheduler_status()");
        assert_eq!(theirs["executions_not_taken"], 0);
    }
}
