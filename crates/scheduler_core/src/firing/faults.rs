//! What the worker does when a due pass fails: blame one row, or back off.
//!
//! A failed batch is rolled back alone (a subtransaction) and retried in halves until the
//! failure is narrowed to one schedule. Whether that schedule is to blame depends on the error:
//! bad data and failing triggers are about the row and deactivate it; running out of resources,
//! a lock timeout, a cancelled statement or a broken installation would fail any row, so the
//! worker backs off instead and deactivates nothing.

use std::time::Duration;

/// SQLSTATE classes that say nothing about the row being fired: connection (08), invalid
/// transaction state (25), transaction rollback such as deadlock (40), syntax or privileges,
/// a broken installation (42), insufficient resources (53), program limits such as a full
/// NOTIFY queue (54), object state such as a lock not available (55), operator intervention
/// such as a statement timeout (57), system errors (58), feature not supported (0A),
/// configuration file errors (F0).
const NOT_THE_ROW: [&str; 12] = ["08", "25", "40", "42", "53", "54", "55", "57", "58", "0A", "F0", "3D"];

/// Whether an error met when firing exactly one schedule is that schedule's fault.
pub fn blames_the_row(sqlstate: &str) -> bool {
    let class = sqlstate.get(..2).unwrap_or("");
    !NOT_THE_ROW.contains(&class)
}

/// How long to wait after `failures` consecutive failed passes that blamed no row:
/// 1 s, 2 s, 4 s, ... up to a minute.
pub fn backoff(failures: u32) -> Duration {
    let exponent = failures.saturating_sub(1).min(6);
    Duration::from_secs(1 << exponent).min(Duration::from_secs(60))
}

/// The batch sizes tried after a batch of `size` failed: halves, down to one schedule.
pub fn smaller_batches(size: i64) -> impl Iterator<Item = i64> {
    std::iter::successors(Some(size / 2), |&n| (n > 1).then_some(n / 2)).filter(|&n| n >= 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_and_trigger_errors_blame_the_row_resource_errors_do_not() {
        for row_fault in ["P0001", "22003", "23505", "XX000", "22P02"] {
            assert!(blames_the_row(row_fault), "{row_fault}");
        }
        for global in ["54000", "53100", "55P03", "57014", "40P01", "42501", "58030"] {
            assert!(!blames_the_row(global), "{global}");
        }
    }

    #[test]
    fn backoff_doubles_up_to_a_minute() {
        let waits: Vec<u64> = (1..=9).map(|n| backoff(n).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
    }

    #[test]
    fn batches_halve_down_to_one() {
        assert_eq!(smaller_batches(1000).collect::<Vec<_>>(), [500, 250, 125, 62, 31, 15, 7, 3, 1]);
        assert_eq!(smaller_batches(2).collect::<Vec<_>>(), [1]);
        assert_eq!(smaller_batches(1).count(), 0);
    }
}
