//! Every difference between the supported PostgreSQL majors (13 to 18) in the `pg_sys` API the
//! extension uses, so the rest of the code is the same on each.

use pgrx::pg_sys;

/// This backend's index in `ProcGlobal->allProcs`, where other backends find its latch.
///
/// # Safety
/// Only in a backend that has its `MyProc` (after `InitProcess`).
pub unsafe fn my_procno() -> i32 {
    #[cfg(not(any(feature = "pg17", feature = "pg18")))]
    {
        (*pg_sys::MyProc).pgprocno
    }
    // 17 dropped PGPROC.pgprocno; its GetNumberFromPGProc() is this pointer difference.
    #[cfg(any(feature = "pg17", feature = "pg18"))]
    {
        pg_sys::MyProc.offset_from((*pg_sys::ProcGlobal).allProcs) as i32
    }
}

/// Writes `message` to the server log at LOG level (the audit lines, the worker's idle reason).
///
/// pgrx 0.18's `log!` first asks whether LOG is wanted, and on 13 it answers by comparing the
/// level numbers with `log_min_messages`; LOG ranks below WARNING there, so with the default
/// setting every LOG line was dropped on 13. The report itself goes through Postgres's
/// `errstart`, which applies the server's own rule, so 13 reports it directly.
#[track_caller]
pub fn log(message: String) {
    #[cfg(feature = "pg13")]
    pgrx::pg_sys::panic::ErrorReport::new(pgrx::PgSqlErrorCode::ERRCODE_SUCCESSFUL_COMPLETION, message, "log")
        .report(pgrx::PgLogLevel::LOG);
    #[cfg(not(feature = "pg13"))]
    pgrx::log!("{message}");
}
