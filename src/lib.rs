//! workflow_scheduler: workflow schedules kept in Postgres and fired by a background worker.
//!
//! The time logic (cron, time zones, DST, intervals, grace, payloads) lives in the pure crate
//! `scheduler_core`; the modules here are the thin Postgres layer around it:
//! - `api`: the SQL functions (`schedule_add`, `schedule_update`, ...);
//! - `store`: the SQL statements those functions run;
//! - `audit`: AAA audit events (log line + `audit_log` row);
//! - `guc`: the `workflow_scheduler.*` settings;
//! - `due_pass`: one batch of firing, shared by the worker and `schedule_check_due()`;
//! - `worker`: the background worker loop;
//! - `wakeup`: shared memory used to wake the worker when a sooner schedule commits;
//! - `cron_cache`: the backend's bounded cache of parsed cron expressions;
//! - `errors`: the one place errors become SQLSTATEs.

use pgrx::prelude::*;

mod api;
mod audit;
mod cron_cache;
mod due_pass;
mod errors;
mod guc;
mod store;
mod time_conv;
mod wakeup;
mod worker;

#[cfg(any(test, feature = "pg_test"))]
mod pg_tests;

pgrx::pg_module_magic!(name, version);

pgrx::extension_sql_file!("../sql/schema.sql", name = "schema", bootstrap);
pgrx::extension_sql_file!("../sql/privileges.sql", name = "privileges", finalize);

/// True while the postmaster loads `shared_preload_libraries`.
fn preloading() -> bool {
    unsafe { pg_sys::process_shared_preload_libraries_in_progress }
}

#[pg_guard]
pub extern "C-unwind" fn _PG_init() {
    let preloading = preloading();
    guc::init(preloading);
    if preloading {
        wakeup::init_shared_memory();
        // pg_upgrade starts the server in binary-upgrade mode: no worker may touch the tables.
        if unsafe { !pg_sys::IsBinaryUpgrade } {
            worker::register();
        }
    }
}

/// Used by `cargo pgrx test`: the in-database tests need the settings of a preloaded library.
#[cfg(test)]
pub mod pg_test {
    pub fn setup(_options: Vec<&str>) {}

    pub fn postgresql_conf_options() -> Vec<&'static str> {
        vec!["shared_preload_libraries = 'workflow_scheduler'"]
    }
}
