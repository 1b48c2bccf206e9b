//! The security model, in the database: application roles with exactly the two documented
//! grants use every function, write no table directly, and see nothing of each other; objects
//! planted in `public` by a non-superuser never run.

#[pgrx::pg_schema]
mod tests {
    use pgrx::prelude::*;
    use pgrx::JsonB;

    use crate::tests::support::*;

    const EVERY_MINUTE: &str = r#"{"schedule_type": "cron", "cron_expression": "* * * * *"}"#;

    /// Makes every schedule of the workflow due now (as the superuser, then back to `role`).
    fn make_due(role: &str) {
        act_as(None);
        Spi::run(
            "UPDATE workflow_scheduler.workflow_schedules
                SET next_execution_at = now() - interval '1 second' WHERE is_active",
        )
        .unwrap();
        act_as(Some(role));
    }

    fn check_due() -> Vec<String> {
        Spi::connect(|client| {
            client
                .select("SELECT schedule_id::text FROM workflow_scheduler.schedule_check_due()", None, &[])
                .unwrap()
                .map(|row| row.get::<String>(1).unwrap().unwrap())
                .collect()
        })
    }

    #[pg_test]
    fn an_application_role_uses_every_function_and_owns_its_schedules() {
        create_app_roles();
        act_as(Some("ws_app_a"));
        let added = add(EVERY_MINUTE);
        let id = added["schedule_id"].as_str().unwrap().to_string();
        assert_eq!(added["owner_role"], "ws_app_a", "the caller's current_user owns the schedule");

        let got =
            Spi::get_one_with_args::<JsonB>("SELECT workflow_scheduler.schedule_get($1::uuid)", &[id.as_str().into()])
                .unwrap()
                .unwrap()
                .0;
        assert_eq!(got, added);
        make_due("ws_app_a");
        assert_eq!(check_due(), vec![id.clone()], "the role's own due schedule fires");
        assert_eq!(
            count("SELECT count(*) FROM workflow_scheduler.workflow_schedule_executions"),
            1,
            "it sees its execution"
        );
        assert!(count("SELECT count(*) FROM workflow_scheduler.audit_log") >= 3, "and its audit rows");
        let updated = Spi::get_one_with_args::<JsonB>(
            "SELECT workflow_scheduler.schedule_update($1::uuid, '{\"schedule_type\": \"interval\", \"interval_seconds\": 60}', 5)",
            &[id.as_str().into()],
        )
        .unwrap()
        .unwrap()
        .0;
        assert_eq!(updated["owner_role"], "ws_app_a");
        let removed: bool =
            Spi::get_one_with_args("SELECT workflow_scheduler.schedule_remove($1::uuid, 5)", &[id.as_str().into()])
                .unwrap()
                .unwrap();
        assert!(removed);
    }

    #[pg_test]
    fn an_application_role_cannot_write_any_table_directly() {
        create_app_roles();
        act_as(Some("ws_app_a"));
        let id = add(EVERY_MINUTE)["schedule_id"].as_str().unwrap().to_string();
        for stmt in [
            "INSERT INTO workflow_scheduler.workflow_schedules (workflow_id, schedule_type, cron_expression, next_execution_at)
             VALUES (gen_random_uuid(), 'cron', '* * * * *', now())"
                .to_string(),
            format!("UPDATE workflow_scheduler.workflow_schedules SET owner_role = 'postgres' WHERE schedule_id = '{id}'"),
            format!("DELETE FROM workflow_scheduler.workflow_schedules WHERE schedule_id = '{id}'"),
            format!(
                "INSERT INTO workflow_scheduler.workflow_schedule_executions
                     (execution_id, schedule_id, workflow_id, scheduled_for, triggered_at, status, trigger_data)
                 VALUES (gen_random_uuid(), '{id}', gen_random_uuid(), now() + interval '1 minute', now(), 'triggered', '{{}}')"
            ),
            "UPDATE workflow_scheduler.workflow_schedule_executions SET status = 'missed'".to_string(),
            "INSERT INTO workflow_scheduler.audit_log (event_type, action, result) VALUES ('AUDIT', 'forged', 'SUCCESS')"
                .to_string(),
            "UPDATE workflow_scheduler.audit_log SET result = 'FAILURE'".to_string(),
            "DELETE FROM workflow_scheduler.audit_log".to_string(),
            "SELECT nextval('workflow_scheduler.audit_log_id_seq')".to_string(),
        ] {
            let (state, message) = capture_error(&stmt);
            assert_eq!(state, "42501", "{stmt}: {message}");
        }
    }

    #[pg_test]
    fn another_role_sees_and_touches_nothing_of_it() {
        create_app_roles();
        act_as(Some("ws_app_a"));
        let id = add_with_context(EVERY_MINUTE, r#"{"api_key": "secret of a"}"#)["schedule_id"]
            .as_str()
            .unwrap()
            .to_string();
        make_due("ws_app_b");
        assert!(check_due().is_empty(), "b's due pass does not fire a's schedule");
        for stmt in [
            format!("SELECT workflow_scheduler.schedule_get('{id}')"),
            format!("SELECT workflow_scheduler.schedule_update('{id}', '{{\"schedule_type\": \"interval\", \"interval_seconds\": 5}}', 1)"),
            format!("SELECT workflow_scheduler.schedule_remove('{id}', 1)"),
        ] {
            assert_fails(&stmt, "P0002", &format!("Schedule not found: {id}"));
        }
        for table in ["workflow_schedules", "workflow_schedule_executions", "audit_log"] {
            assert_eq!(
                count(&format!("SELECT count(*) FROM workflow_scheduler.{table}")),
                0,
                "b sees no row of {table}"
            );
        }
        act_as(Some("ws_app_a"));
        assert_eq!(check_due(), vec![id.clone()], "a's own pass fires it");
        act_as(Some("ws_app_b"));
        assert_eq!(count("SELECT count(*) FROM workflow_scheduler.workflow_schedule_executions"), 0);
    }

    #[pg_test]
    fn members_of_the_owner_and_superusers_see_it() {
        create_app_roles();
        Spi::run("CREATE ROLE ws_app_a_member NOLOGIN IN ROLE ws_app_a").unwrap();
        act_as(Some("ws_app_a"));
        let id = add(EVERY_MINUTE)["schedule_id"].as_str().unwrap().to_string();
        act_as(Some("ws_app_a_member"));
        assert_eq!(count("SELECT count(*) FROM workflow_scheduler.workflow_schedules"), 1);
        let got =
            Spi::get_one_with_args::<JsonB>("SELECT workflow_scheduler.schedule_get($1::uuid)", &[id.as_str().into()])
                .unwrap()
                .unwrap()
                .0;
        assert_eq!(got["owner_role"], "ws_app_a");
        act_as(None);
        let updated = Spi::get_one_with_args::<JsonB>(
            "SELECT workflow_scheduler.schedule_update($1::uuid, '{\"schedule_type\": \"interval\", \"interval_seconds\": 60}', 1)",
            &[id.as_str().into()],
        )
        .unwrap()
        .unwrap()
        .0;
        assert_eq!(updated["owner_role"], "ws_app_a", "an administrator's change keeps the owner");
    }

    #[pg_test]
    fn audit_rows_of_no_schedule_are_for_administrators() {
        create_app_roles();
        Spi::run(
            "INSERT INTO workflow_scheduler.audit_log (event_type, action, result) VALUES ('SYSTEM', 'scheduler_start', 'SUCCESS')",
        )
        .unwrap();
        act_as(Some("ws_app_a"));
        assert_eq!(count("SELECT count(*) FROM workflow_scheduler.audit_log WHERE schedule_id IS NULL"), 0);
        act_as(None);
        assert_eq!(count("SELECT count(*) FROM workflow_scheduler.audit_log WHERE schedule_id IS NULL"), 1);
    }

    /// A non-superuser who can create objects in `public` (on PG 15 the database owner can)
    /// plants overloads of what the extension calls (tests/data/planted_objects.sql). Every call
    /// below runs with `public` before `pg_catalog` in the caller's search_path; none of the
    /// planted objects may run.
    #[pg_test]
    fn objects_planted_in_public_never_run() {
        create_app_roles();
        Spi::run(
            "CREATE ROLE ws_mallory NOLOGIN;
             GRANT CREATE ON SCHEMA public TO ws_mallory;
             SET LOCAL ROLE ws_mallory;",
        )
        .unwrap();
        Spi::run(include_str!("../../tests/data/planted_objects.sql")).unwrap();
        act_as(None);
        act_as(Some("ws_app_a"));
        Spi::run("SET LOCAL search_path = public, pg_catalog, workflow_scheduler").unwrap();
        let id = add(EVERY_MINUTE)["schedule_id"].as_str().unwrap().to_string();
        Spi::run_with_args("SELECT schedule_get($1::uuid)", &[id.as_str().into()]).unwrap();
        make_due("ws_app_a");
        Spi::run("SET LOCAL search_path = public, pg_catalog, workflow_scheduler").unwrap();
        assert_eq!(check_due(), vec![id.clone()]);
        Spi::run_with_args(
            "SELECT schedule_update($1::uuid, '{\"schedule_type\": \"interval\", \"interval_seconds\": 60}', 1)",
            &[id.as_str().into()],
        )
        .unwrap();
        Spi::run_with_args("SELECT schedule_remove($1::uuid, 1)", &[id.as_str().into()]).unwrap();
        assert_eq!(count("SELECT count(*) FROM workflow_scheduler.workflow_schedule_executions"), 1);
        act_as(None);
        let ran: Option<String> =
            Spi::get_one("SELECT pg_catalog.string_agg(what, ', ') FROM public.ws_hijacked").unwrap();
        assert_eq!(ran, None, "planted objects ran: {ran:?}");
    }
}
