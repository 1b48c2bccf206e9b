//! The firing rules: what a due schedule becomes (fire, miss, coalesce, limit, deactivation,
//! the overlap policy, audit events), what a change to a schedule does to its next run, and what a failed pass
//! blames (`faults`). The Postgres layer only
//! reads rows, calls these, and writes the results.

pub mod faults;
pub mod grace;
pub mod overlap;
pub mod plan;
