//! The postgres_exporter query set (docs/monitoring/queries.yaml): every query runs against the
//! e2e database, as an exporter role with the documented grants, and returns every column its
//! metrics declare.

use crate::*;

const QUERIES: &str = include_str!("../../docs/monitoring/queries.yaml");

/// (name, SQL, declared columns) of each query in the file: the top-level keys, their
/// `query: |` block and the names under `metrics:`. Enough YAML for this one file.
fn queries() -> Vec<(String, String, Vec<String>)> {
    let mut found: Vec<(String, String, Vec<String>)> = Vec::new();
    let mut in_query = false;
    for line in QUERIES.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            in_query = false;
            continue;
        }
        if !line.starts_with(' ') {
            found.push((line.trim_end_matches(':').to_string(), String::new(), Vec::new()));
            in_query = false;
        } else if line.trim() == "query: |" {
            in_query = true;
        } else if in_query && line.starts_with("    ") {
            let current = found.last_mut().expect("a query under a name");
            current.1.push_str(line.trim());
            current.1.push('\n');
        } else if let Some(name) = line.strip_prefix("    - ").and_then(|rest| rest.strip_suffix(':')) {
            in_query = false;
            found.last_mut().expect("metrics under a name").2.push(name.to_string());
        } else {
            in_query = false;
        }
    }
    found
}

#[test]
fn every_monitoring_query_runs_and_returns_its_metrics() {
    let mut admin = connect();
    admin
        .batch_execute(
            "DO $$ BEGIN
                 IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'ws_e2e_exporter') THEN CREATE ROLE ws_e2e_exporter LOGIN; END IF;
             END $$;
             GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA workflow_scheduler TO ws_e2e_exporter;
             GRANT SELECT ON ALL TABLES IN SCHEMA workflow_scheduler TO ws_e2e_exporter;",
        )
        .unwrap();
    let mut exporter = config(&database(), "ws_e2e_exporter").connect(postgres::NoTls).unwrap();
    let all = queries();
    assert_eq!(all.len(), 4, "the file's queries: {:?}", all.iter().map(|q| &q.0).collect::<Vec<_>>());
    for (name, sql, metrics) in all {
        assert!(!metrics.is_empty(), "{name} declares its metrics");
        let statement = exporter.prepare(&sql).unwrap_or_else(|err| panic!("{name}: {err}"));
        let columns: Vec<&str> = statement.columns().iter().map(|c| c.name()).collect();
        assert_eq!(columns, metrics, "{name}: the columns are the declared metrics, in order");
        exporter.query(&statement, &[]).unwrap_or_else(|err| panic!("{name} runs: {err}"));
    }
}
