//! Helpers shared by the in-database tests.

use pgrx::prelude::*;
use pgrx::JsonB;
use serde_json::Value;

pub const WORKFLOW: &str = "11111111-2222-3333-4444-555555555555";

/// Runs `stmt` in a subtransaction and returns (SQLSTATE, message) of the error it raised.
/// The helper function is created once per session, so it also works after `SET ROLE`.
pub fn capture_error(stmt: &str) -> (String, String) {
    let missing: bool = Spi::get_one("SELECT to_regprocedure('pg_temp.capture_error(text)') IS NULL").unwrap().unwrap();
    if missing {
        Spi::run(
            "CREATE FUNCTION pg_temp.capture_error(stmt text, OUT state text, OUT message text)
             LANGUAGE plpgsql AS $$
             BEGIN
                 EXECUTE stmt;
                 state := 'no error';
             EXCEPTION WHEN OTHERS THEN
                 state := SQLSTATE;
                 message := SQLERRM;
             END $$",
        )
        .unwrap();
    }
    let (state, message) =
        Spi::get_two_with_args::<String, String>("SELECT * FROM pg_temp.capture_error($1)", &[stmt.into()]).unwrap();
    (state.unwrap_or_default(), message.unwrap_or_default())
}

pub fn schedule_count() -> i64 {
    Spi::get_one("SELECT count(*) FROM workflow_scheduler.workflow_schedules").unwrap().unwrap()
}

pub fn audit_count() -> i64 {
    Spi::get_one("SELECT count(*) FROM workflow_scheduler.audit_log").unwrap().unwrap()
}

/// Asserts `stmt` fails with `state` and a message starting with `prefix`, writing nothing.
pub fn assert_fails(stmt: &str, state: &str, prefix: &str) {
    let (schedules, audits) = (schedule_count(), audit_count());
    let (got_state, message) = capture_error(stmt);
    assert_eq!(got_state, state, "SQLSTATE of {stmt} (message: {message})");
    assert!(message.starts_with(prefix), "message of {stmt}: {message:?} should start with {prefix:?}");
    assert_eq!(schedule_count(), schedules, "{stmt} left a schedule row behind");
    assert_eq!(audit_count(), audits, "{stmt} left an audit row behind");
}

pub fn add(config: &str) -> Value {
    add_with_context(config, "{}")
}

pub fn add_with_context(config: &str, context: &str) -> Value {
    Spi::get_one_with_args::<JsonB>(
        "SELECT workflow_scheduler.schedule_add($1::uuid, $2::jsonb, 42, 1, $3::jsonb)",
        &[WORKFLOW.into(), config.into(), context.into()],
    )
    .unwrap()
    .unwrap()
    .0
}

pub fn add_sql(config: &str) -> String {
    format!("SELECT workflow_scheduler.schedule_add('{WORKFLOW}', '{config}'::jsonb, 42, 1)")
}

pub fn ts(sql_literal: &str) -> String {
    Spi::get_one::<String>(&format!("SELECT ({sql_literal})::timestamptz AT TIME ZONE 'UTC' || ''"))
        .unwrap()
        .unwrap_or_default()
}

/// Two application roles with exactly the documented grants (README, docs/security.md). Roles
/// are created inside the test's transaction, so they vanish with it.
pub fn create_app_roles() {
    Spi::run(
        "CREATE ROLE ws_app_a NOLOGIN;
         CREATE ROLE ws_app_b NOLOGIN;
         GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA workflow_scheduler TO ws_app_a, ws_app_b;
         GRANT SELECT ON ALL TABLES IN SCHEMA workflow_scheduler TO ws_app_a, ws_app_b;",
    )
    .unwrap();
    // Created as the superuser, before any SET ROLE.
    capture_error("SELECT 1");
}

/// Acts as `role` for the rest of the test's transaction; `None` goes back to the superuser.
pub fn act_as(role: Option<&str>) {
    match role {
        Some(role) => Spi::run(&format!("SET LOCAL ROLE {role}")).unwrap(),
        None => Spi::run("RESET ROLE").unwrap(),
    }
}

pub fn count(sql: &str) -> i64 {
    Spi::get_one(sql).unwrap().unwrap()
}

/// Moves the schedule's next run `ago` into the past, as if the worker had been away.
pub fn due_since(schedule_id: &str, ago: &str) {
    Spi::run_with_args(
        "UPDATE workflow_scheduler.workflow_schedules
            SET next_execution_at = now() - $2::interval WHERE schedule_id = $1::uuid",
        &[schedule_id.into(), ago.into()],
    )
    .unwrap();
}

pub fn fired_now() -> Vec<(String, String)> {
    Spi::connect(|client| {
        client
            .select(
                "SELECT schedule_id::text, execution_id::text FROM workflow_scheduler.schedule_check_due()",
                None,
                &[],
            )
            .unwrap()
            .map(|row| (row.get::<String>(1).unwrap().unwrap(), row.get::<String>(2).unwrap().unwrap()))
            .collect()
    })
}

pub fn audit_actions(schedule_id: &str) -> Vec<String> {
    Spi::get_one_with_args::<Vec<String>>(
        "SELECT pg_catalog.array_agg(action ORDER BY id) FROM workflow_scheduler.audit_log WHERE schedule_id = $1::uuid",
        &[schedule_id.into()],
    )
    .unwrap()
    .unwrap_or_default()
}

pub fn id_of(schedule: &serde_json::Value) -> String {
    schedule["schedule_id"].as_str().unwrap().to_string()
}
