//! The firing rules: what a due schedule becomes (fire, miss, coalesce, limit, deactivation,
//! audit events) and what a change to a schedule does to its next run. The Postgres layer only
//! reads rows, calls these, and writes the results.

pub mod grace;
pub mod plan;
