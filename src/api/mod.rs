//! The SQL functions. Each one identifies its caller (`pg::access`), checks what the caller may
//! see, then runs its SQL with the extension's rights: application roles need EXECUTE and
//! SELECT only, never a table write.

mod access;
mod bulk;
mod due;
mod executions;
mod hooks;
mod maintenance;
mod operations;
mod preview;
mod schedules;
mod status;

use std::cell::Cell;

use pgrx::pg_sys;

use crate::errors::{raise, ApiError};
use crate::guc;
use crate::pg::access::Caller;
use crate::pg::shmem;
use crate::store;

thread_local! {
    /// Set once this backend has seen the installed extension match the library.
    static CATALOG_CHECKED: Cell<bool> = const { Cell::new(false) };
}

/// What every function that touches the tables does first: refuse to run against a catalog
/// of another version (after a library upgrade, before `ALTER EXTENSION ... UPDATE`), warn once
/// per session when this database is not the worker's, and identify the caller.
pub(crate) fn enter() -> Caller {
    if !CATALOG_CHECKED.get() {
        let installed = store::extension::installed_version().unwrap_or_default();
        if installed != env!("CARGO_PKG_VERSION") {
            raise(ApiError::VersionMismatch(installed));
        }
        warn_if_unserved_database();
        CATALOG_CHECKED.set(true);
    }
    Caller::current()
}

/// Schedules in a database the worker does not serve never fire on their own: say so.
fn warn_if_unserved_database() {
    if !shmem::preloaded() {
        return;
    }
    let here = unsafe { pg_sys::MyDatabaseId };
    let name = unsafe { std::ffi::CStr::from_ptr(pg_sys::get_database_name(here)) };
    let name = name.to_string_lossy();
    let served = guc::database_name();
    if name != served {
        shmem::note_unserved_database(here);
        pgrx::warning!(
            "workflow_scheduler: the worker serves database \"{served}\", not \"{name}\": schedules here fire only through schedule_check_due()"
        );
    }
}
