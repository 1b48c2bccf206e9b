//! The security model against the running worker: application roles that log in with exactly
//! the two documented grants, what a listener without grants learns, and objects planted in
//! `public` by a non-superuser while the worker fires.

use std::time::Duration;

use postgres::Client;

use crate::*;

fn one_time_in(client: &mut Client, workflow: &str, seconds: f64, context: &str) -> String {
    let at = in_seconds(client, seconds);
    add(client, workflow, &format!(r#"{{"schedule_type": "one_time", "scheduled_time": "{at}"}}"#), context)
        ["schedule_id"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn application_roles_with_the_two_grants_fire_through_the_worker_and_stay_apart() {
    let mut app_a = app_role("ws_e2e_app_a");
    let mut app_b = app_role("ws_e2e_app_b");
    let mut listener = listen(CHANNEL);
    let workflow = new_workflow(&mut app_a);
    let id = one_time_in(&mut app_a, &workflow, 1.0, r#"{"api_key": "secret of a"}"#);

    let fires = collect(&mut listener, &workflow, 1, Duration::from_secs(8));
    assert_eq!(fires.len(), 1, "the worker fired the application role's schedule");
    let status: String = app_a
        .query_one(
            "SELECT status FROM workflow_scheduler.workflow_schedule_executions WHERE schedule_id = $1::text::uuid",
            &[&id],
        )
        .unwrap()
        .get(0);
    assert_eq!(status, "triggered", "its owner reads the execution row");

    let err = app_b.query("SELECT workflow_scheduler.schedule_get($1::text::uuid)", &[&id]).unwrap_err();
    assert_eq!(sqlstate(&err), "P0002");
    assert_eq!(err.as_db_error().unwrap().message(), format!("Schedule not found: {id}"));
    for table in ["workflow_schedules", "workflow_schedule_executions", "audit_log"] {
        let visible: i64 = app_b
            .query_one(
                &format!("SELECT count(*) FROM workflow_scheduler.{table} WHERE schedule_id = $1::text::uuid"),
                &[&id],
            )
            .unwrap()
            .get(0);
        assert_eq!(visible, 0, "another role sees nothing of it in {table}");
    }
    // The 0.1.0 attack: pre-inserting an execution so that a real occurrence is never notified.
    let forged = app_b.execute(
        "INSERT INTO workflow_scheduler.workflow_schedule_executions
             (execution_id, schedule_id, workflow_id, scheduled_for, triggered_at, status, trigger_data)
         VALUES (gen_random_uuid(), $1::text::uuid, gen_random_uuid(), now(), now(), 'triggered', '{}')",
        &[&id],
    );
    assert_eq!(sqlstate(&forged.unwrap_err()), "42501");
}

#[test]
fn members_of_the_admin_role_see_and_change_every_schedule_and_keep_its_owner() {
    let mut app_a = app_role("ws_e2e_app_a");
    let mut operator = app_role("ws_e2e_operator");
    connect()
        .batch_execute(
            "DO $$ BEGIN
                 IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'ws_e2e_admins') THEN CREATE ROLE ws_e2e_admins; END IF;
             END $$;
             GRANT ws_e2e_admins TO ws_e2e_operator;",
        )
        .unwrap();
    let workflow = new_workflow(&mut app_a);
    let id = add(&mut app_a, &workflow, r#"{"schedule_type": "interval", "interval_seconds": 3600}"#, "{}")
        ["schedule_id"]
        .as_str()
        .unwrap()
        .to_string();
    let hidden = operator.query("SELECT workflow_scheduler.schedule_get($1::text::uuid)", &[&id]).unwrap_err();
    assert_eq!(sqlstate(&hidden), "P0002", "not an administrator yet");

    let _admins = ServerSetting::set("workflow_scheduler.admin_role", "ws_e2e_admins");
    let mut operator = config(&database(), "ws_e2e_operator").connect(NoTls).unwrap();
    let owner: String = operator
        .query_one(
            "SELECT workflow_scheduler.schedule_update($1::text::uuid,
                 '{\"schedule_type\": \"interval\", \"interval_seconds\": 60}', 9)->>'owner_role'",
            &[&id],
        )
        .unwrap()
        .get(0);
    assert_eq!(owner, "ws_e2e_app_a", "an administrator's change keeps the owner");
    let visible: i64 = operator
        .query_one(
            "SELECT count(*) FROM workflow_scheduler.audit_log WHERE schedule_id = $1::text::uuid OR schedule_id IS NULL",
            &[&id],
        )
        .unwrap()
        .get(0);
    assert!(visible >= 3, "the administrator reads the schedule's and the worker's audit rows: {visible}");
    remove_workflow(&mut connect(), &workflow);
}

#[test]
fn with_ids_payload_a_listener_without_grants_learns_only_ids() {
    let _ids = ServerSetting::set("workflow_scheduler.notify_payload", "ids");
    let mut admin = connect();
    admin
        .batch_execute(
            "DO $$ BEGIN
                 IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'ws_e2e_nobody') THEN CREATE ROLE ws_e2e_nobody LOGIN; END IF;
             END $$;",
        )
        .unwrap();
    let mut eavesdropper = config(&database(), "ws_e2e_nobody").connect(NoTls).unwrap();
    eavesdropper.batch_execute("LISTEN workflow_scheduler").unwrap();
    let workflow = new_workflow(&mut admin);
    let id = one_time_in(&mut admin, &workflow, 1.0, r#"{"api_key": "secret"}"#);

    let fires = collect(&mut eavesdropper, &workflow, 1, Duration::from_secs(8));
    assert_eq!(fires.len(), 1);
    let mut keys: Vec<&str> = fires[0].as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["execution_id", "schedule_id", "scheduled_for", "workflow_id"]);
    assert_eq!(fires[0]["schedule_id"], id.as_str());
    let full: String = admin
        .query_one(
            "SELECT trigger_data->>'api_key' FROM workflow_scheduler.workflow_schedule_executions
              WHERE execution_id = $1::text::uuid",
            &[&fires[0]["execution_id"].as_str().unwrap()],
        )
        .unwrap()
        .get(0);
    assert_eq!(full, "secret", "the engine confirms the fire against the execution row");
}

/// Objects a non-superuser planted in `public`, removed when the test ends however it ends:
/// they would capture this suite's own unqualified calls.
struct PlantedObjects;

impl Drop for PlantedObjects {
    fn drop(&mut self) {
        connect()
            .batch_execute(
                "DROP OWNED BY ws_e2e_mallory CASCADE;
                 REVOKE CREATE ON SCHEMA public FROM ws_e2e_mallory;",
            )
            .unwrap();
    }
}

#[test]
fn objects_planted_in_public_never_run_in_the_worker() {
    let mut admin = connect();
    admin
        .batch_execute(
            "DO $$ BEGIN
                 IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'ws_e2e_mallory') THEN CREATE ROLE ws_e2e_mallory LOGIN; END IF;
             END $$;
             GRANT CREATE ON SCHEMA public TO ws_e2e_mallory;",
        )
        .unwrap();
    let _cleanup = PlantedObjects;
    let mut mallory = config(&database(), "ws_e2e_mallory").connect(NoTls).unwrap();
    mallory.batch_execute(include_str!("../data/planted_objects.sql")).unwrap();
    let mut listener = listen(CHANNEL);
    let mut app = config(&database(), "postgres").connect(NoTls).unwrap();
    app.batch_execute("SET search_path = public, pg_catalog, workflow_scheduler").unwrap();
    let workflow = new_workflow(&mut app);
    let at = in_seconds(&mut app, 1.0);
    let added: String = app
        .query_one(
            "SELECT schedule_add($1::text::uuid, format('{\"schedule_type\": \"one_time\", \"scheduled_time\": \"%s\"}', $2::text)::jsonb, 1, 1)::text",
            &[&workflow, &at],
        )
        .unwrap()
        .get(0);
    assert!(added.contains(&workflow));
    let fires = collect(&mut listener, &workflow, 1, Duration::from_secs(8));
    assert_eq!(fires.len(), 1, "the worker fired as usual");
    let ran: Option<String> = admin
        .query_one("SELECT string_agg(what || ' superuser=' || by_superuser, ', ') FROM public.ws_hijacked", &[])
        .unwrap()
        .get(0);
    assert_eq!(ran, None, "planted objects ran: {ran:?}");
}
