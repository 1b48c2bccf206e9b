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
