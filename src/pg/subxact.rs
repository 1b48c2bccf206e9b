//! Running a piece of work in a subtransaction that an ERROR rolls back alone, as PL/pgSQL's
//! `BEGIN ... EXCEPTION` does: the surrounding transaction and its locks survive.

use std::panic::AssertUnwindSafe;

use pgrx::pg_sys;
use pgrx::pg_sys::panic::CaughtError;
use pgrx::PgTryBuilder;

/// An ERROR caught at a subtransaction's boundary.
#[derive(Debug, Clone)]
pub struct Failure {
    /// The five-character SQLSTATE, e.g. `P0001`.
    pub sqlstate: String,
    /// The same, packed as Postgres packs it (`MAKE_SQLSTATE`).
    pub sqlstate_code: i32,
    pub message: String,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (SQLSTATE {})", self.message, self.sqlstate)
    }
}

/// Runs `work` in a subtransaction: committed into the surrounding transaction if it returns,
/// rolled back (with its locks and writes) if it raises an ERROR, which is returned instead.
pub fn in_subtransaction<R>(work: impl FnOnce() -> R) -> Result<R, Failure> {
    let (memory, owner) = unsafe { (pg_sys::CurrentMemoryContext, pg_sys::CurrentResourceOwner) };
    let restore = move || unsafe {
        pg_sys::MemoryContextSwitchTo(memory);
        pg_sys::CurrentResourceOwner = owner;
    };
    unsafe {
        pg_sys::BeginInternalSubTransaction(std::ptr::null());
        pg_sys::MemoryContextSwitchTo(memory);
    }
    PgTryBuilder::new(AssertUnwindSafe(|| {
        let result = work();
        unsafe { pg_sys::ReleaseCurrentSubTransaction() };
        restore();
        Ok(result)
    }))
    .catch_others(|caught| {
        restore();
        unsafe { pg_sys::RollbackAndReleaseCurrentSubTransaction() };
        restore();
        Err(failure(&caught))
    })
    .execute()
}

fn failure(caught: &CaughtError) -> Failure {
    let report = match caught {
        CaughtError::PostgresError(report)
        | CaughtError::ErrorReport(report)
        | CaughtError::RustPanic { ereport: report, .. } => report,
    };
    let code = report.sql_error_code() as isize as i32;
    Failure { sqlstate: sqlstate_text(code), sqlstate_code: code, message: report.message().to_string() }
}

/// Decodes Postgres's packed SQLSTATE (`MAKE_SQLSTATE`: six bits per character).
fn sqlstate_text(code: i32) -> String {
    (0..5).map(|i| char::from(b'0' + ((code >> (6 * i)) & 0x3F) as u8)).collect()
}
