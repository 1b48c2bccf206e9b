//! `caller_can_access`: the test of the row-level security policies, callable by anyone.

use pgrx::prelude::*;

use crate::pg::access::Caller;

/// `workflow_scheduler.caller_can_access(owner_role)`: the row-level security policies'
/// test. True when the current user may see rows of schedules owned by `owner_role`; NULL
/// (rows of no schedule) is for administrators only.
#[pg_extern(stable, parallel_safe)]
#[search_path(pg_catalog, pg_temp)]
fn caller_can_access(owner_role: Option<&str>) -> bool {
    Caller::current().may_access(owner_role)
}
