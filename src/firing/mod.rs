//! Firing: one due pass, shared by the worker and `schedule_check_due()` (`due_pass`), and the
//! worker's fault isolation around it (`isolation`). The rules come from
//! `scheduler_core::firing`; this layer reads the claimed rows and writes the results.

pub mod due_pass;
pub mod isolation;
