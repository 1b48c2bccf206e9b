//! The due pass in the database, through `schedule_check_due()`: what a fire, a miss, a limit,
//! a one-time schedule and a broken row write, with no sleeps. Due times are set relative to
//! `now()` by moving `next_execution_at` into the past.

#[pgrx::pg_schema]
mod tests {
    use pgrx::prelude::*;

    use crate::tests::support::*;

    #[pg_test]
    fn a_due_schedule_fires_once_and_records_everything() {
        let id = id_of(&add_with_context(
            r#"{"schedule_type": "interval", "interval_seconds": 60}"#,
            r#"{"report": "daily"}"#,
        ));
        due_since(&id, "1 second");
        let fired = fired_now();
        assert_eq!(fired.len(), 1);
        assert_eq!(fired[0].0, id);
        assert!(fired_now().is_empty(), "nothing is due any more");

        let (status, report, coalesced) = Spi::get_three_with_args::<String, String, i32>(
            "SELECT status, trigger_data->>'report', coalesced FROM workflow_scheduler.workflow_schedule_executions
              WHERE execution_id = $1::uuid",
            &[fired[0].1.as_str().into()],
        )
        .unwrap();
        assert_eq!((status.as_deref(), report.as_deref(), coalesced), (Some("triggered"), Some("daily"), Some(0)));
        let (count, last_id, next_ahead) = Spi::get_three_with_args::<i32, String, bool>(
            "SELECT execution_count, last_execution_id::text, next_execution_at > now()
               FROM workflow_scheduler.workflow_schedules WHERE schedule_id = $1::uuid",
            &[id.as_str().into()],
        )
        .unwrap();
        assert_eq!((count, last_id, next_ahead), (Some(1), Some(fired[0].1.clone()), Some(true)));
        assert_eq!(audit_actions(&id), ["schedule_create", "schedule_triggered", "schedule_executed"]);
    }

    #[pg_test]
    fn an_occurrence_beyond_the_grace_period_is_missed_not_fired() {
        let id = id_of(&add(r#"{"schedule_type": "interval", "interval_seconds": 3600}"#));
        due_since(&id, "30 minutes");
        assert!(fired_now().is_empty());
        let (status, count) = Spi::get_two_with_args::<String, i32>(
            "SELECT e.status, s.execution_count FROM workflow_scheduler.workflow_schedule_executions e
               JOIN workflow_scheduler.workflow_schedules s USING (schedule_id) WHERE schedule_id = $1::uuid",
            &[id.as_str().into()],
        )
        .unwrap();
        assert_eq!((status.as_deref(), count), (Some("missed"), Some(0)), "a miss is not an execution");
        assert_eq!(audit_actions(&id), ["schedule_create", "schedule_missed"]);
    }

    #[pg_test]
    fn older_occurrences_within_grace_are_coalesced_into_one_fire() {
        let id = id_of(&add(r#"{"schedule_type": "cron", "cron_expression": "* * * * *"}"#));
        due_since(&id, "5 minutes");
        assert_eq!(fired_now().len(), 1, "one fire for the latest occurrence");
        let coalesced: i32 = Spi::get_one_with_args(
            "SELECT coalesced FROM workflow_scheduler.workflow_schedule_executions WHERE schedule_id = $1::uuid",
            &[id.as_str().into()],
        )
        .unwrap()
        .unwrap();
        assert!((4..=5).contains(&coalesced), "about five minutes of occurrences coalesced: {coalesced}");
    }

    #[pg_test]
    fn reaching_max_executions_deactivates_the_schedule() {
        let id = id_of(&add(r#"{"schedule_type": "interval", "interval_seconds": 60, "max_executions": 1}"#));
        due_since(&id, "1 second");
        assert_eq!(fired_now().len(), 1);
        let (active, next) = Spi::get_two_with_args::<bool, String>(
            "SELECT is_active, next_execution_at::text FROM workflow_scheduler.workflow_schedules WHERE schedule_id = $1::uuid",
            &[id.as_str().into()],
        )
        .unwrap();
        assert_eq!((active, next), (Some(false), None));
        assert_eq!(
            audit_actions(&id),
            ["schedule_create", "schedule_triggered", "schedule_executed", "schedule_limit_reached"]
        );
    }

    #[pg_test]
    fn a_broken_row_is_deactivated_and_the_others_still_fire() {
        let broken = id_of(&add(r#"{"schedule_type": "cron", "cron_expression": "0 * * * *"}"#));
        let healthy = id_of(&add(r#"{"schedule_type": "interval", "interval_seconds": 60}"#));
        Spi::run_with_args(
            "UPDATE workflow_scheduler.workflow_schedules SET timezone = 'Mars/Olympus' WHERE schedule_id = $1::uuid",
            &[broken.as_str().into()],
        )
        .unwrap();
        due_since(&broken, "1 second");
        due_since(&healthy, "1 second");
        let fired: Vec<String> = fired_now().into_iter().map(|(schedule, _)| schedule).collect();
        assert_eq!(fired, [healthy]);
        let (active, event_type) = Spi::get_two_with_args::<bool, String>(
            "SELECT s.is_active, a.event_type FROM workflow_scheduler.workflow_schedules s
               JOIN workflow_scheduler.audit_log a USING (schedule_id)
              WHERE s.schedule_id = $1::uuid AND a.action = 'scheduler_job_error'",
            &[broken.as_str().into()],
        )
        .unwrap();
        assert_eq!((active, event_type.as_deref()), (Some(false), Some("ERROR")));
    }

    /// An occurrence whose execution row exists already (recorded by another pass) is not
    /// fired again, and nothing counts it: not the counters, not the limit, not the audit log.
    #[pg_test]
    fn an_occurrence_recorded_already_is_not_fired_or_counted() {
        let id = id_of(&add(r#"{"schedule_type": "interval", "interval_seconds": 60, "max_executions": 1}"#));
        due_since(&id, "1 second");
        Spi::run_with_args(
            "INSERT INTO workflow_scheduler.workflow_schedule_executions
                 (execution_id, schedule_id, workflow_id, scheduled_for, triggered_at, status, trigger_data)
             SELECT gen_random_uuid(), schedule_id, workflow_id, next_execution_at, now(), 'triggered', '{}'
               FROM workflow_scheduler.workflow_schedules WHERE schedule_id = $1::uuid",
            &[id.as_str().into()],
        )
        .unwrap();
        assert!(fired_now().is_empty());
        let (executions, last_id, active_ahead) = Spi::get_three_with_args::<i32, String, bool>(
            "SELECT execution_count, last_execution_id::text, is_active AND next_execution_at > now()
               FROM workflow_scheduler.workflow_schedules WHERE schedule_id = $1::uuid",
            &[id.as_str().into()],
        )
        .unwrap();
        assert_eq!((executions, last_id, active_ahead), (Some(0), None, Some(true)), "moved on, limit not used up");
        assert_eq!(audit_actions(&id), ["schedule_create"]);
        assert_eq!(
            count("SELECT count(*) FROM workflow_scheduler.workflow_schedule_executions"),
            1,
            "no second execution row"
        );
    }

    /// A row whose context_data the JSON parser refuses (nesting deeper than it accepts; only
    /// a direct write can store one) is deactivated as broken; the others fire. In 0.1.0 it
    /// failed every pass.
    #[pg_test]
    fn a_row_with_unreadable_context_data_is_deactivated_and_the_others_fire() {
        let broken = id_of(&add(r#"{"schedule_type": "interval", "interval_seconds": 60}"#));
        let healthy = id_of(&add(r#"{"schedule_type": "interval", "interval_seconds": 60}"#));
        Spi::run_with_args(
            "UPDATE workflow_scheduler.workflow_schedules
                SET context_data = ('{\"deep\": ' || repeat('[', 200) || repeat(']', 200) || '}')::jsonb
              WHERE schedule_id = $1::uuid",
            &[broken.as_str().into()],
        )
        .unwrap();
        due_since(&broken, "1 second");
        due_since(&healthy, "1 second");
        let fired: Vec<String> = fired_now().into_iter().map(|(schedule, _)| schedule).collect();
        assert_eq!(fired, [healthy]);
        let error: Option<String> = Spi::get_one_with_args(
            "SELECT a.details->>'error' FROM workflow_scheduler.workflow_schedules s
               JOIN workflow_scheduler.audit_log a USING (schedule_id)
              WHERE s.schedule_id = $1::uuid AND NOT s.is_active AND a.action = 'scheduler_job_error'",
            &[broken.as_str().into()],
        )
        .unwrap();
        assert!(error.is_some_and(|e| e.starts_with("context_data cannot be read")));
    }
}
