//! Every row of the cron conformance vectors (tests/data/cron_next.tsv, copied from the
//! project's shared conformance set; see tests/data/README.md for its origin).

use chrono::{DateTime, Utc};
use scheduler_core::{parse_timezone, CronSchedule};

const VECTORS: &str = include_str!("../../../tests/data/cron_next.tsv");

fn instant(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("bad timestamp {text:?}: {e}"))
}

/// Checks one row; `Err` describes every way it failed.
fn check_row(cols: &[&str]) -> Result<(), String> {
    let (expr, zone, start) = (cols[0], cols[1], cols[2]);
    let tz = parse_timezone(zone).map_err(|e| e.to_string())?;
    let schedule = CronSchedule::parse(expr).map_err(|e| e.to_string())?;
    let mut after = instant(start)?;
    let expected: Vec<&str> = cols[3..8].iter().copied().filter(|c| !c.is_empty()).collect();
    if expected.is_empty() {
        return Err("row checks nothing".into());
    }
    if expected == ["NONE"] {
        return match schedule.next_after(after, tz) {
            None => Ok(()),
            Some(t) => Err(format!("expected NONE, got {}", t.to_rfc3339())),
        };
    }
    for (k, want) in expected.iter().enumerate() {
        let want = instant(want)?;
        let got = schedule.next_after(after, tz);
        if got != Some(want) {
            return Err(format!(
                "next_{}: expected {}, got {:?}",
                k + 1,
                want.with_timezone(&tz).to_rfc3339(),
                got.map(|t| t.with_timezone(&tz).to_rfc3339())
            ));
        }
        // The backward search must agree: the occurrence is the latest one at or before
        // itself, and nothing lies between the previous answer and it.
        if schedule.latest_at_or_before(want, tz) != Some(want) {
            return Err(format!("latest_at_or_before({want}) is not {want}"));
        }
        let just_before = want - chrono::Duration::seconds(1);
        if let Some(previous) = schedule.latest_at_or_before(just_before, tz) {
            if previous >= want || schedule.next_after(previous, tz) != Some(want) {
                return Err(format!("latest_at_or_before({just_before}) = {previous}, inconsistent with next {want}"));
            }
        }
        after = want;
    }
    Ok(())
}

#[test]
fn every_conformance_row_passes() {
    let mut lines = VECTORS.lines();
    let header = lines.next().expect("header row");
    assert!(header.starts_with("expr\ttimezone\tstart\texpected_next_1"), "{header}");
    let mut failures = Vec::new();
    let mut rows = 0;
    for (index, line) in lines.enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        rows += 1;
        let cols: Vec<&str> = line.split('\t').collect();
        if cols.len() < 8 {
            failures.push(format!("line {}: only {} columns", index + 2, cols.len()));
            continue;
        }
        if let Err(why) = check_row(&cols) {
            failures.push(format!("line {} `{}` {} from {}: {}", index + 2, cols[0], cols[1], cols[2], why));
        }
    }
    assert!(rows >= 60, "expected the full vector file, read {rows} rows");
    assert!(failures.is_empty(), "{} of {rows} rows failed:\n{}", failures.len(), failures.join("\n"));
}
