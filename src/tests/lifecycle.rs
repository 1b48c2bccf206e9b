//! The execution lifecycle and the overlap policy in the database: claims with leases,
//! heartbeats, completions and their errors; skip, buffer_one and max_runtime_seconds through
//! `schedule_check_due()`. The test's transaction keeps `now()` fixed, so leases and deadlines
//! are expired by moving them into the past.

#[pgrx::pg_schema]
mod tests {
    use pgrx::prelude::*;

    use crate::tests::support::*;

    const EVERY_MINUTE: &str = r#"{"schedule_type": "interval", "interval_seconds": 60}"#;

    /// (execution_id, attempt) of each execution `execution_claim` returns.
    fn claim(max_rows: i32, claimed_by: &str) -> Vec<(String, i32)> {
        Spi::connect(|client| {
            client
                .select(
                    "SELECT execution_id::text, attempt FROM workflow_scheduler.execution_claim($1, '1 minute', $2)",
                    None,
                    &[max_rows.into(), claimed_by.into()],
                )
                .unwrap()
                .map(|row| (row.get::<String>(1).unwrap().unwrap(), row.get::<i32>(2).unwrap().unwrap()))
                .collect()
        })
    }

    fn status(execution_id: &str) -> String {
        Spi::get_one_with_args::<String>(
            "SELECT status FROM workflow_scheduler.workflow_schedule_executions WHERE execution_id = $1::uuid",
            &[execution_id.into()],
        )
        .unwrap()
        .unwrap()
    }

    fn complete(execution_id: &str, status: &str) -> bool {
        Spi::get_one_with_args::<bool>(
            "SELECT workflow_scheduler.execution_complete($1::uuid, $2, '{\"rows\": 12345678901234567890}')",
            &[execution_id.into(), status.into()],
        )
        .unwrap()
        .unwrap()
    }

    /// The statuses of the schedule's executions, oldest occurrence first.
    fn statuses(schedule_id: &str) -> Vec<String> {
        Spi::get_one_with_args::<Vec<String>>(
            "SELECT pg_catalog.array_agg(status ORDER BY scheduled_for)
               FROM workflow_scheduler.workflow_schedule_executions WHERE schedule_id = $1::uuid",
            &[schedule_id.into()],
        )
        .unwrap()
        .unwrap_or_default()
    }

    fn execution_count(schedule_id: &str) -> i32 {
        Spi::get_one_with_args::<i32>(
            "SELECT execution_count FROM workflow_scheduler.workflow_schedules WHERE schedule_id = $1::uuid",
            &[schedule_id.into()],
        )
        .unwrap()
        .unwrap()
    }

    #[pg_test]
    fn claims_take_each_execution_once_and_expired_leases_come_back() {
        let ids: Vec<String> = (0..3).map(|_| id_of(&add(EVERY_MINUTE))).collect();
        for (i, id) in ids.iter().enumerate() {
            due_since(id, &format!("{} seconds", 10 - i));
        }
        assert_eq!(fired_now().len(), 3);

        let first = claim(2, "engine-1");
        assert_eq!(first.len(), 2);
        assert!(first.iter().all(|(_, attempt)| *attempt == 1));
        let second = claim(5, "engine-2");
        assert_eq!(second.len(), 1, "only the one left");
        assert!(!first.iter().any(|c| c.0 == second[0].0));
        assert!(claim(5, "engine-3").is_empty(), "nothing left to claim");
        let (running, leased, by) = Spi::get_three_with_args::<i64, bool, String>(
            "SELECT count(*), bool_and(lease_expires_at = now() + interval '1 minute'), min(claimed_by)
               FROM workflow_scheduler.workflow_schedule_executions WHERE status = 'running'",
            &[],
        )
        .unwrap();
        assert_eq!((running, leased, by.as_deref()), (Some(3), Some(true), Some("engine-1")));

        // engine-1 dies: its lease runs out and the execution goes to whoever claims next.
        Spi::run_with_args(
            "UPDATE workflow_scheduler.workflow_schedule_executions
                SET lease_expires_at = now() - interval '1 second' WHERE execution_id = $1::uuid",
            &[first[0].0.as_str().into()],
        )
        .unwrap();
        assert_eq!(claim(5, "engine-3"), vec![(first[0].0.clone(), 2)], "attempt counts the claims");
    }

    #[pg_test]
    fn heartbeats_extend_only_running_executions() {
        let id = id_of(&add(EVERY_MINUTE));
        due_since(&id, "1 second");
        let execution = fired_now()[0].1.clone();
        let heartbeat = |lease: &str| -> bool {
            Spi::get_one_with_args::<bool>(
                "SELECT workflow_scheduler.execution_heartbeat($1::uuid, $2::interval)",
                &[execution.as_str().into(), lease.into()],
            )
            .unwrap()
            .unwrap()
        };
        assert!(!heartbeat("1 hour"), "a triggered execution has no lease to extend");
        claim(1, "engine");
        assert!(heartbeat("1 hour"));
        assert_eq!(
            count(&format!(
                "SELECT count(*) FROM workflow_scheduler.workflow_schedule_executions
                  WHERE execution_id = '{execution}' AND lease_expires_at = now() + interval '1 hour'"
            )),
            1
        );
        assert!(complete(&execution, "completed"));
        assert!(!heartbeat("1 hour"), "a finished execution has no lease");
    }

    #[pg_test]
    fn completion_records_the_outcome_once() {
        let id = id_of(&add(EVERY_MINUTE));
        due_since(&id, "1 second");
        let execution = fired_now()[0].1.clone();
        assert!(complete(&execution, "failed"), "from triggered: a LISTEN engine need not claim");
        assert!(!complete(&execution, "failed"), "the same outcome again is not an error");
        let (result, finished) = Spi::get_two_with_args::<String, bool>(
            "SELECT result::text, finished_at = now() FROM workflow_scheduler.workflow_schedule_executions
              WHERE execution_id = $1::uuid",
            &[execution.as_str().into()],
        )
        .unwrap();
        assert_eq!(result.as_deref(), Some(r#"{"rows": 12345678901234567890}"#), "numbers kept exactly");
        assert_eq!(finished, Some(true));
        assert_eq!(status(&execution), "failed");
    }

    #[pg_test]
    fn error_lifecycle_calls_with_bad_input_write_nothing() {
        let id = id_of(&add(EVERY_MINUTE));
        due_since(&id, "1 second");
        let execution = fired_now()[0].1.clone();
        let unknown = "00000000-0000-0000-0000-000000000000";
        let cases = [
            (
                format!("SELECT workflow_scheduler.execution_complete('{unknown}', 'completed')"),
                "P0002",
                "Execution not found: 00000000-0000-0000-0000-000000000000",
            ),
            (
                "SELECT workflow_scheduler.execution_complete(NULL, 'completed')".to_string(),
                "P0002",
                "Execution not found: NULL",
            ),
            (format!("SELECT workflow_scheduler.execution_heartbeat('{unknown}')"), "P0002", "Execution not found: "),
            (
                format!("SELECT workflow_scheduler.execution_complete('{execution}', 'done')"),
                "22023",
                "Invalid argument: status must be completed or failed, got 'done'",
            ),
            (
                format!("SELECT workflow_scheduler.execution_complete('{execution}', NULL)"),
                "22023",
                "Invalid argument: status must be completed or failed, got NULL",
            ),
            (
                format!(
                    "SELECT workflow_scheduler.execution_complete('{execution}', 'completed', '{}1{}')",
                    "[".repeat(200),
                    "]".repeat(200)
                ),
                "22023",
                "Invalid argument: result cannot be read: recursion limit exceeded",
            ),
            (
                "SELECT * FROM workflow_scheduler.execution_claim(0)".to_string(),
                "22023",
                "Invalid argument: max_rows must be between 1 and 10000, got 0",
            ),
            (
                "SELECT * FROM workflow_scheduler.execution_claim(10001)".to_string(),
                "22023",
                "Invalid argument: max_rows must be between 1 and 10000, got 10001",
            ),
            (
                "SELECT * FROM workflow_scheduler.execution_claim(1, '0 seconds')".to_string(),
                "22023",
                "Invalid argument: lease must be longer than 0 and at most 7 days",
            ),
            (
                "SELECT * FROM workflow_scheduler.execution_claim(1, '-1 minute')".to_string(),
                "22023",
                "Invalid argument: lease must be longer than 0",
            ),
            (
                "SELECT * FROM workflow_scheduler.execution_claim(1, '8 days')".to_string(),
                "22023",
                "Invalid argument: lease must be longer than 0 and at most 7 days",
            ),
            (
                "SELECT * FROM workflow_scheduler.execution_claim(1, NULL)".to_string(),
                "22023",
                "Invalid argument: lease must not be NULL",
            ),
            (
                format!("SELECT workflow_scheduler.execution_heartbeat('{execution}', '0 seconds')"),
                "22023",
                "Invalid argument: lease must be longer than 0",
            ),
        ];
        for (stmt, state, prefix) in cases {
            assert_fails(&stmt, state, prefix);
            assert_eq!(status(&execution), "triggered", "{stmt} changed nothing");
        }
        assert!(complete(&execution, "completed"));
        assert_fails(
            &format!("SELECT workflow_scheduler.execution_complete('{execution}', 'failed')"),
            "55000",
            &format!("Execution already finished: {execution} (status completed)"),
        );
        assert_eq!(status(&execution), "completed");
    }

    #[pg_test]
    fn skip_records_occurrences_that_come_while_the_last_run_is_unfinished() {
        let id = id_of(&add(r#"{"schedule_type": "interval", "interval_seconds": 60, "overlap": "skip"}"#));
        due_since(&id, "30 seconds");
        let first = fired_now()[0].1.clone();
        due_since(&id, "20 seconds");
        assert!(fired_now().is_empty(), "the first run is unfinished: skipped");
        assert_eq!(statuses(&id), ["triggered", "skipped"]);
        assert_eq!(execution_count(&id), 1, "a skipped occurrence does not count");
        assert!(audit_actions(&id).contains(&"schedule_skipped".to_string()));

        claim(1, "engine");
        due_since(&id, "15 seconds");
        assert!(fired_now().is_empty(), "running blocks too");
        assert!(complete(&first, "completed"));
        due_since(&id, "10 seconds");
        assert_eq!(fired_now().len(), 1, "finished: the next occurrence fires");
        assert_eq!(statuses(&id), ["completed", "skipped", "skipped", "triggered"]);
    }

    #[pg_test]
    fn buffer_one_holds_one_occurrence_until_the_run_finishes() {
        let id = id_of(&add(r#"{"schedule_type": "interval", "interval_seconds": 60, "overlap": "buffer_one"}"#));
        due_since(&id, "30 seconds");
        let first = fired_now()[0].1.clone();
        due_since(&id, "20 seconds");
        assert!(fired_now().is_empty(), "held back");
        let (buffered_ago, next_ahead) = Spi::get_two_with_args::<String, bool>(
            "SELECT (now() - buffered_for)::text, next_execution_at > now()
               FROM workflow_scheduler.workflow_schedules WHERE schedule_id = $1::uuid",
            &[id.as_str().into()],
        )
        .unwrap();
        assert_eq!((buffered_ago.as_deref(), next_ahead), (Some("00:00:20"), Some(true)));
        due_since(&id, "10 seconds");
        assert!(fired_now().is_empty(), "a second one is skipped: only one waits");
        assert_eq!(statuses(&id), ["triggered", "skipped"], "the buffered occurrence has no row yet");

        assert!(complete(&first, "completed"));
        let released = fired_now();
        assert_eq!(released.len(), 1, "the buffered occurrence fires once the run finished");
        let (scheduled_ago, buffered_left) = Spi::get_two_with_args::<String, bool>(
            "SELECT (now() - e.scheduled_for)::text, s.buffered_for IS NOT NULL
               FROM workflow_scheduler.workflow_schedule_executions AS e
               JOIN workflow_scheduler.workflow_schedules AS s USING (schedule_id)
              WHERE e.execution_id = $1::uuid",
            &[released[0].1.as_str().into()],
        )
        .unwrap();
        assert_eq!((scheduled_ago.as_deref(), buffered_left), (Some("00:00:20"), Some(false)), "for its own time");
        assert_eq!(execution_count(&id), 2);
        assert!(fired_now().is_empty(), "nothing else waits");
        let actions = audit_actions(&id);
        assert!(
            actions.contains(&"schedule_buffered".to_string()) && actions.contains(&"schedule_skipped".to_string())
        );
    }

    #[pg_test]
    fn max_runtime_times_out_a_run_that_blocks_its_schedule() {
        let id = id_of(&add(
            r#"{"schedule_type": "interval", "interval_seconds": 60, "overlap": "skip", "max_runtime_seconds": 300}"#,
        ));
        due_since(&id, "30 seconds");
        let first = fired_now()[0].1.clone();
        let deadline_in = Spi::get_one_with_args::<String>(
            "SELECT (deadline_at - triggered_at)::text FROM workflow_scheduler.workflow_schedule_executions
              WHERE execution_id = $1::uuid",
            &[first.as_str().into()],
        )
        .unwrap();
        assert_eq!(deadline_in.as_deref(), Some("00:05:00"));
        claim(1, "engine");
        // Its deadline passes.
        Spi::run_with_args(
            "UPDATE workflow_scheduler.workflow_schedule_executions
                SET deadline_at = now() - interval '1 second' WHERE execution_id = $1::uuid",
            &[first.as_str().into()],
        )
        .unwrap();
        due_since(&id, "20 seconds");
        assert_eq!(fired_now().len(), 1, "the timed-out run no longer blocks");
        assert_eq!(status(&first), "timed_out");
        assert!(audit_actions(&id).contains(&"execution_timed_out".to_string()));
        assert_fails(
            &format!("SELECT workflow_scheduler.execution_complete('{first}', 'completed')"),
            "55000",
            &format!("Execution already finished: {first} (status timed_out)"),
        );
        let heartbeat = Spi::get_one_with_args::<bool>(
            "SELECT workflow_scheduler.execution_heartbeat($1::uuid)",
            &[first.as_str().into()],
        )
        .unwrap();
        assert_eq!(heartbeat, Some(false), "its engine learns it timed out");
    }

    #[pg_test]
    fn an_update_or_removal_drops_the_buffered_occurrence() {
        let id = id_of(&add(r#"{"schedule_type": "interval", "interval_seconds": 60, "overlap": "buffer_one"}"#));
        due_since(&id, "30 seconds");
        let first = fired_now()[0].1.clone();
        due_since(&id, "20 seconds");
        fired_now();
        Spi::run_with_args(
            "SELECT workflow_scheduler.schedule_update($1::uuid, '{\"schedule_type\": \"interval\", \"interval_seconds\": 120, \"overlap\": \"buffer_one\"}', 1)",
            &[id.as_str().into()],
        )
        .unwrap();
        assert!(complete(&first, "completed"));
        assert!(fired_now().is_empty(), "the buffered occurrence belonged to the old configuration");
        assert_eq!(statuses(&id), ["completed"]);
    }
}
