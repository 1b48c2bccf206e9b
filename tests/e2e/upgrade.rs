//! Released versions stay usable: the 0.1.0 → 0.2.0 upgrade keeps schedules firing and gives
//! the catalog of a fresh install; a dump and restore keeps every row and the restored
//! schedules fire.

use std::process::Command;
use std::time::Duration;

use postgres::Client;

use crate::*;

const CATALOG: &str = include_str!("catalog.sql");

fn catalog(client: &mut Client) -> String {
    client.query_one(CATALOG, &[]).unwrap().get(0)
}

/// Lines of `a` missing from `b` and of `b` missing from `a`, for a readable failure.
fn difference(a: &str, b: &str) -> String {
    let only = |x: &str, y: &str| x.lines().filter(|l| !y.lines().any(|m| m == *l)).collect::<Vec<_>>().join("\n");
    format!("only in the first:\n{}\nonly in the second:\n{}", only(a, b), only(b, a))
}

#[test]
fn upgrade_from_0_1_0_keeps_schedules_firing_and_matches_a_fresh_install() {
    // The worker's own database, so the worker itself must pick the upgraded schedules up.
    let mut client = config(&database(), "postgres").connect(postgres::NoTls).unwrap();
    let log_from = log_position();
    client
        .batch_execute(
            "DROP EXTENSION IF EXISTS workflow_scheduler CASCADE;
             CREATE EXTENSION workflow_scheduler VERSION '0.1.0';",
        )
        .unwrap();
    assert!(
        wait_for_log("the installed extension is version \"0.1.0\"", log_from, Duration::from_secs(10)),
        "the worker says why it idles"
    );
    let refused = client
        .query("SELECT workflow_scheduler.schedule_get(gen_random_uuid())", &[])
        .expect_err("the 0.2.0 library refuses a 0.1.0 catalog");
    assert_eq!(sqlstate(&refused), "55000", "{refused}");

    // Rows as 0.1.0 wrote them: a one-time schedule due in 3 s, an hourly interval, and the
    // audit rows of their creation (schedule ids only in details).
    let workflow = new_workflow(&mut client);
    let at = in_seconds(&mut client, 3.0);
    let ids: Vec<String> = client
        .query(
            "INSERT INTO workflow_scheduler.workflow_schedules
                 (workflow_id, schedule_type, scheduled_time, interval_seconds, next_execution_at, context_data, community_id)
             VALUES ($1::text::uuid, 'one_time', $2::text::timestamptz, NULL, $2::text::timestamptz, '{\"from\": \"0.1.0\"}', 7),
                    ($1::text::uuid, 'interval', NULL, 3600, now() + interval '1 hour', '{}', 7)
             RETURNING schedule_id::text",
            &[&workflow, &at],
        )
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    client
        .execute(
            "INSERT INTO workflow_scheduler.audit_log (event_type, community_id, user_id, action, result, details)
             SELECT 'AUDIT', 7, 42, 'schedule_create', 'SUCCESS', jsonb_build_object('schedule_id', id)
               FROM unnest($1::text[]) AS id",
            &[&ids],
        )
        .unwrap();

    let mut listener = listen(CHANNEL);
    client.batch_execute("ALTER EXTENSION workflow_scheduler UPDATE").unwrap();
    let version: String = client
        .query_one("SELECT extversion FROM pg_extension WHERE extname = 'workflow_scheduler'", &[])
        .unwrap()
        .get(0);
    assert_eq!(version, "0.2.0");

    let fires = collect(&mut listener, &workflow, 2, Duration::from_secs(15));
    assert_eq!(fires.len(), 1, "the one-time schedule of 0.1.0 fired once after the upgrade: {fires:?}");
    assert_eq!(fires[0]["schedule_id"], ids[0].as_str());
    assert_eq!(fires[0]["from"], "0.1.0");
    let audit_linked = count(
        &mut client,
        "SELECT count(*) FROM workflow_scheduler.audit_log
          WHERE action = 'schedule_create' AND schedule_id::text = ANY(string_to_array($1, ','))",
        &ids.join(","),
    );
    assert_eq!(audit_linked, 2, "0.1.0 audit rows name their schedule after the upgrade");
    let updated = client.query_one(
        "SELECT workflow_scheduler.schedule_update($1::text::uuid, '{\"schedule_type\": \"interval\", \"interval_seconds\": 60}', 1)->>'owner_role'",
        &[&ids[1]],
    );
    assert_eq!(updated.unwrap().get::<_, String>(0), "postgres");

    let mut fresh = fresh_database("ws_fresh_install");
    fresh.batch_execute("CREATE EXTENSION workflow_scheduler").unwrap();
    let (upgraded, installed) = (catalog(&mut client), catalog(&mut fresh));
    assert!(upgraded.lines().count() > 50, "the catalog query sees the extension:\n{upgraded}");
    assert!(
        upgraded == installed,
        "the upgraded catalog differs from a fresh install:\n{}",
        difference(&upgraded, &installed)
    );
    remove_workflow(&mut client, &workflow);
}

fn pg_tool(tool: &str, args: &[&str]) {
    let port = std::env::var("WS_E2E_PORT").unwrap();
    // The cluster's own major: scripts/e2e.sh passes its bindir.
    let bindir = std::env::var("WS_E2E_BINDIR").unwrap_or_else(|_| "/usr/lib/postgresql/15/bin".into());
    let output = Command::new(format!("{bindir}/{tool}"))
        .args(["-h", &cluster_dir(), "-p", &port, "-U", "postgres"])
        .args(args)
        .output()
        .unwrap_or_else(|err| panic!("run {tool}: {err}"));
    assert!(output.status.success(), "{tool} {args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
}

fn table_counts(client: &mut Client) -> Vec<i64> {
    let row = client
        .query_one(
            "SELECT (SELECT count(*) FROM workflow_scheduler.workflow_schedules),
                    (SELECT count(*) FROM workflow_scheduler.workflow_schedule_executions),
                    (SELECT count(*) FROM workflow_scheduler.audit_log)",
            &[],
        )
        .unwrap();
    (0..3).map(|i| row.get(i)).collect()
}

#[test]
fn dump_and_restore_keep_everything_and_the_restored_schedules_fire() {
    let mut source = fresh_database("ws_dump_source");
    source.batch_execute("CREATE EXTENSION workflow_scheduler").unwrap();
    let workflow = new_workflow(&mut source);
    for config in [
        r#"{"schedule_type": "cron", "cron_expression": "0 9 * * *", "timezone": "Europe/Berlin"}"#,
        r#"{"schedule_type": "interval", "interval_seconds": 60, "max_executions": 10}"#,
        r#"{"schedule_type": "interval", "interval_seconds": 3600}"#,
    ] {
        add(&mut source, &workflow, config, r#"{"kept": true}"#);
    }
    source
        .batch_execute(
            "UPDATE workflow_scheduler.workflow_schedules SET next_execution_at = now() - interval '1 second'
              WHERE schedule_type = 'interval';
             SELECT count(*) FROM workflow_scheduler.schedule_check_due();",
        )
        .unwrap();
    let before = table_counts(&mut source);
    assert_eq!(before[..2], [3, 2], "three schedules, two executions");

    let dump = format!("{}/ws_dump_source.dump", cluster_dir());
    pg_tool("pg_dump", &["-Fc", "-d", "ws_dump_source", "-f", &dump]);
    drop(fresh_database("ws_dump_restored"));
    pg_tool("pg_restore", &["-d", "ws_dump_restored", &dump]);
    let _ = std::fs::remove_file(&dump);

    let mut restored = config("ws_dump_restored", "postgres").connect(postgres::NoTls).unwrap();
    assert_eq!(table_counts(&mut restored), before, "schedules, executions and audit rows all came back");
    let same_ids: bool = restored
        .query_one(
            "SELECT nextval('workflow_scheduler.audit_log_id_seq') > (SELECT max(id) FROM workflow_scheduler.audit_log)",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(same_ids, "the sequences continue after the restored rows");

    restored.batch_execute("LISTEN workflow_scheduler").unwrap();
    let fired = restored
        .query(
            "WITH due AS (UPDATE workflow_scheduler.workflow_schedules SET next_execution_at = now() - interval '1 second'
                           WHERE schedule_type = 'cron' RETURNING 1)
             SELECT count(*) FROM due",
            &[],
        )
        .unwrap();
    assert_eq!(fired[0].get::<_, i64>(0), 1);
    let fired = restored.query("SELECT schedule_id FROM workflow_scheduler.schedule_check_due()", &[]).unwrap();
    assert_eq!(fired.len(), 1, "the restored cron schedule fires");
    let fires = collect(&mut restored, &workflow, 1, Duration::from_secs(5));
    assert_eq!(fires.len(), 1);
    assert_eq!(fires[0]["kept"], true);
}
