//! Pause and resume in the database, through `schedule_check_due()`: a paused schedule does
//! not fire or miss, `schedule_update` keeps it paused, a resume fires nothing of the pause,
//! and the errors.

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
}
