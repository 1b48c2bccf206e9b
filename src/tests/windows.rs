//! Windows (`start_at`, `end_at`) and per-schedule grace (`grace_seconds`) in the database:
//! what is stored, the first run at `start_at`, the last fire of a window with
//! `schedule_ended`, a schedule's own grace through `schedule_check_due()`, and the errors.
//! Times are derived from `now()`, fixed in the test's transaction.

#[pgrx::pg_schema]
mod tests {
    use pgrx::prelude::*;
    use pgrx::JsonB;
    use serde_json::Value;

    use crate::tests::support::*;

    /// `now() + offset` as an ISO 8601 UTC text.
    fn at(offset: &str) -> String {
        Spi::get_one_with_args::<String>(
            "SELECT to_char((now() + $1::interval) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')",
            &[offset.into()],
        )
        .unwrap()
        .unwrap()
    }

    fn get(id: &str) -> Value {
        Spi::get_one_with_args::<JsonB>("SELECT workflow_scheduler.schedule_get($1::uuid)", &[id.into()])
            .unwrap()
            .unwrap()
            .0
    }

    #[pg_test]
    fn an_interval_starts_at_start_at_and_stores_its_window() {
        let (start, end) = (at("2 hours"), at("1 day"));
        let added = add(&format!(
            r#"{{"schedule_type": "interval", "interval_seconds": 600, "start_at": "{start}", "end_at": "{end}", "grace_seconds": 30}}"#
        ));
        let id = id_of(&added);
        let (first_is_start, anchored) = Spi::get_two_with_args::<bool, bool>(
            "SELECT next_execution_at = start_at, anchor_at = start_at - interval '600 seconds'
               FROM workflow_scheduler.workflow_schedules WHERE schedule_id = $1::uuid",
            &[id.as_str().into()],
        )
        .unwrap();
        assert_eq!((first_is_start, anchored), (Some(true), Some(true)));
        assert_eq!(added["grace_seconds"], 30);
        assert!(added["start_at"].is_string() && added["end_at"].is_string(), "{added}");
    }

    #[pg_test]
    fn the_last_fire_of_a_window_ends_the_schedule() {
        let id = id_of(&add(&format!(
            r#"{{"schedule_type": "interval", "interval_seconds": 60, "end_at": "{}"}}"#,
            at("90 seconds")
        )));
        // The grid is now() + 60 s, + 120 s, ...; only the first lies before end_at.
        Spi::run_with_args(
            "UPDATE workflow_scheduler.workflow_schedules
                SET anchor_at = now() - interval '60 seconds', next_execution_at = now() - interval '1 second'
              WHERE schedule_id = $1::uuid",
            &[id.as_str().into()],
        )
        .unwrap();
        Spi::run_with_args(
            "UPDATE workflow_scheduler.workflow_schedules SET end_at = now() + interval '30 seconds' WHERE schedule_id = $1::uuid",
            &[id.as_str().into()],
        )
        .unwrap();
        assert_eq!(fired_now().len(), 1, "the occurrence at now() is inside the window");
        let state = get(&id);
        assert_eq!((state["is_active"].as_bool(), state["next_execution_at"].is_null()), (Some(false), true));
        assert_eq!(
            audit_actions(&id),
            ["schedule_create", "schedule_triggered", "schedule_executed", "schedule_ended"]
        );
    }

    #[pg_test]
    fn a_schedule_grace_overrides_the_setting() {
        let strict = id_of(&add(r#"{"schedule_type": "interval", "interval_seconds": 3600, "grace_seconds": 60}"#));
        let lenient = id_of(&add(r#"{"schedule_type": "interval", "interval_seconds": 3600}"#));
        due_since(&strict, "5 minutes");
        due_since(&lenient, "5 minutes");
        let fired: Vec<String> = fired_now().into_iter().map(|(schedule, _)| schedule).collect();
        assert_eq!(fired, vec![lenient], "5 minutes late: within the 15-minute setting, beyond 60 s");
        assert_eq!(audit_actions(&strict), ["schedule_create", "schedule_missed"]);
    }

    #[pg_test]
    fn error_windows_that_cannot_work_write_nothing() {
        let interval =
            |extra: String| add_sql(&format!(r#"{{"schedule_type": "interval", "interval_seconds": 60{extra}}}"#));
        let (soon, later) = (at("1 hour"), at("2 hours"));
        assert_fails(
            &interval(format!(r#", "start_at": "{later}", "end_at": "{soon}""#)),
            "22023",
            "Invalid schedule configuration: end_at must be after start_at",
        );
        assert_fails(
            &interval(format!(r#", "end_at": "{}""#, at("-1 hour"))),
            "22023",
            "Invalid schedule configuration: end_at is in the past",
        );
        assert_fails(
            &interval(r#", "grace_seconds": -5"#.to_string()),
            "22023",
            "Invalid schedule configuration: grace_seconds must be at least 0",
        );
        assert_fails(
            &interval(r#", "start_at": "tomorrow""#.to_string()),
            "22023",
            "Invalid schedule configuration: start_at 'tomorrow' is not an ISO 8601 timestamp",
        );
    }

    fn preview(config: &str, count: i32, after: &str) -> Vec<String> {
        Spi::connect(|client| {
            client
                .select(
                    "SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI')
                       FROM workflow_scheduler.schedule_preview($1::jsonb, $2, $3::timestamptz) AS t",
                    None,
                    &[config.into(), count.into(), after.into()],
                )
                .unwrap()
                .map(|row| row.get::<String>(1).unwrap().unwrap())
                .collect()
        })
    }

    #[pg_test]
    fn preview_lists_the_next_times_in_the_config_zone_across_dst_and_within_the_window() {
        // Berlin springs forward on 2099-03-29 (02:00 -> 03:00): 02:30 resolves to 03:00 CEST.
        let cron = r#"{"schedule_type": "cron", "cron_expression": "30 2 * * *", "timezone": "Europe/Berlin"}"#;
        assert_eq!(
            preview(cron, 3, "2099-03-27 12:00+00"),
            ["2099-03-28 01:30", "2099-03-29 01:00", "2099-03-30 00:30"]
        );
        let windowed = r#"{"schedule_type": "interval", "interval_seconds": 3600,
                          "start_at": "2099-01-01T00:00:00Z", "end_at": "2099-01-01T03:00:00Z"}"#;
        assert_eq!(
            preview(windowed, 10, "2098-12-31 00:00+00"),
            ["2099-01-01 00:00", "2099-01-01 01:00", "2099-01-01 02:00"],
            "an interval starts at start_at, and the list ends with the window"
        );
        assert_eq!(schedule_count(), 0, "a preview saves nothing");
    }

    #[pg_test]
    fn error_preview_arguments() {
        let cron = r#"{"schedule_type": "cron", "cron_expression": "* * * * *"}"#;
        assert_fails(
            &format!("SELECT * FROM workflow_scheduler.schedule_preview('{cron}', 0)"),
            "22023",
            "Invalid argument: count must be between 1 and 1000, got 0",
        );
        assert_fails(
            &format!("SELECT * FROM workflow_scheduler.schedule_preview('{cron}', 5, 'infinity')"),
            "22023",
            "Invalid argument: after must be a finite timestamp",
        );
        assert_fails(
            r#"SELECT * FROM workflow_scheduler.schedule_preview('{"schedule_type": "cron", "cron_expression": "61 * * * *"}')"#,
            "22023",
            "Invalid cron expression: ",
        );
        assert_fails(
            "SELECT * FROM workflow_scheduler.schedule_preview('{\"schedule_type\": \"weekly\"}')",
            "22023",
            "Invalid schedule configuration: ",
        );
    }
}
