//! workflow_scheduler: workflow schedules kept in Postgres and fired by a background worker.
//!
//! The rules (cron, time zones, DST, intervals, grace, firing plans, audit events, payloads)
//! live in the pure crate `scheduler_core`; the modules here are the Postgres layer around it:
//! - `api`: the SQL functions (`schedule_add`, ..., `schedule_check_due`);
//! - `firing`: one due pass, shared by the worker and `schedule_check_due()`;
//! - `bgw`: the background worker and what every worker does alike;
//! - `store`: every SQL statement, by table;
//! - `pg`: caller identity and rights, SPI errors, time conversion, shared memory, cron cache;
//! - `audit`: audit events written to the log and `audit_log`;
//! - `guc`: the `workflow_scheduler.*` settings;
//! - `errors`: the one place user errors become SQLSTATEs.
//!
//! SQL that is not a Rust function lives in `sql/`: `schema.sql` (tables, loaded first) and
//! `security.sql` (row-level security and grants, loaded last).

use pgrx::prelude::*;

mod api;
mod audit;
mod bgw;
mod errors;
mod firing;
mod guc;
mod pg;
mod store;

#[cfg(any(test, feature = "pg_test"))]
mod tests;

pgrx::pg_module_magic!(name, version);

pgrx::extension_sql_file!("../sql/schema.sql", name = "schema", bootstrap);
pgrx::extension_sql_file!("../sql/security.sql", name = "security", finalize);

/// True while the postmaster loads `shared_preload_libraries`.
fn preloading() -> bool {
    unsafe { pg_sys::process_shared_preload_libraries_in_progress }
}

#[pg_guard]
pub extern "C-unwind" fn _PG_init() {
    let preloading = preloading();
    guc::init(preloading);
    if preloading {
        pg::shmem::init_shared_memory();
        pg::fire_stats::init_shared_memory();
        // pg_upgrade starts the server in binary-upgrade mode: no worker may touch the tables.
        if unsafe { !pg_sys::IsBinaryUpgrade } {
            bgw::scheduler::register();
            bgw::delivery::register();
        }
    }
}

/// Used by `cargo pgrx test`: the in-database tests need the settings of a preloaded library.
#[cfg(test)]
pub mod pg_test {
    pub fn setup(_options: Vec<&str>) {}

    pub fn postgresql_conf_options() -> Vec<&'static str> {
        // The worker serves database "postgres", not the tests' database: it never fires
        // the tests' rows, and the functions warn once per session that it does not.
        vec!["shared_preload_libraries = 'workflow_scheduler'"]
    }
}
