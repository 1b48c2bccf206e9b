//! The one place where errors become Postgres ERRORs with real SQLSTATEs.
//!
//! A `#[pg_extern]` returning `Result` would report SQLSTATE 22000 for everything, so every
//! user-facing failure goes through `raise` instead.

use pgrx::{PgLogLevel, PgSqlErrorCode};
use scheduler_core::ScheduleError;

/// Errors the SQL layer raises: the pure layer's validation errors plus lookups.
#[derive(Debug)]
pub enum ApiError {
    Invalid(ScheduleError),
    /// Unknown, or outside the caller's reach: both answer the same.
    NotFound(String),
    /// The installed extension (this version) differs from the loaded library.
    VersionMismatch(String),
    /// A function argument out of its range: what is wrong.
    InvalidArgument(String),
    /// A finished or removed schedule asked to pause or run.
    ScheduleInactive(String),
    /// An execution that does not exist, or is outside the caller's reach.
    ExecutionNotFound(String),
    /// An execution already finished with another status: (execution_id, its status).
    ExecutionFinished(String, String),
    /// A function for administrators only, called by another role: the function's name.
    AdminOnly(&'static str),
    /// A bad hook argument: what it is (`URL`, `name`, `secret`, ...) and what is wrong.
    InvalidHook(&'static str, String),
    /// A hook name that is already taken.
    HookExists(String),
    /// A hook that does not exist.
    HookNotFound(String),
    /// A delivery that does not exist.
    DeliveryNotFound(String),
    /// A required argument given as NULL: its name.
    NullArgument(&'static str),
    /// Array arguments whose lengths differ: what they are.
    ArrayLengths(String),
    /// More elements than one call takes: (how many were given, the limit).
    TooMany(usize, usize),
    /// Element `index` (1-based) of `count` failed: its own error, SQLSTATE and all.
    InBatch {
        index: usize,
        count: usize,
        err: Box<ApiError>,
    },
}

impl From<ScheduleError> for ApiError {
    fn from(err: ScheduleError) -> Self {
        ApiError::Invalid(err)
    }
}

impl ApiError {
    fn sqlstate(&self) -> PgSqlErrorCode {
        match self {
            ApiError::Invalid(_) => PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE, // 22023
            ApiError::NotFound(_) => PgSqlErrorCode::ERRCODE_NO_DATA_FOUND,          // P0002
            ApiError::VersionMismatch(_) => PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE, // 55000
            ApiError::InvalidArgument(_) => PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE, // 22023
            ApiError::ScheduleInactive(_) => PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE, // 55000
            ApiError::ExecutionNotFound(_) => PgSqlErrorCode::ERRCODE_NO_DATA_FOUND, // P0002
            ApiError::ExecutionFinished(..) => PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE, // 55000
            ApiError::AdminOnly(_) => PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE, // 42501
            ApiError::InvalidHook(..) => PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE, // 22023
            ApiError::HookExists(_) => PgSqlErrorCode::ERRCODE_DUPLICATE_OBJECT,     // 42710
            ApiError::HookNotFound(_) => PgSqlErrorCode::ERRCODE_NO_DATA_FOUND,      // P0002
            ApiError::DeliveryNotFound(_) => PgSqlErrorCode::ERRCODE_NO_DATA_FOUND,  // P0002
            ApiError::NullArgument(_) => PgSqlErrorCode::ERRCODE_NULL_VALUE_NOT_ALLOWED, // 22004
            ApiError::ArrayLengths(_) => PgSqlErrorCode::ERRCODE_ARRAY_ELEMENT_ERROR, // 2202E array_subscript_error
            ApiError::TooMany(..) => PgSqlErrorCode::ERRCODE_PROGRAM_LIMIT_EXCEEDED, // 54000
            ApiError::InBatch { err, .. } => err.sqlstate(),
        }
    }

    fn message(&self) -> String {
        match self {
            ApiError::Invalid(err) => err.to_string(),
            ApiError::NotFound(id) => format!("Schedule not found: {id}"),
            ApiError::VersionMismatch(installed) => format!(
                "workflow_scheduler: the installed extension is version \"{installed}\" but the loaded library is \"{}\"; run ALTER EXTENSION workflow_scheduler UPDATE",
                env!("CARGO_PKG_VERSION")
            ),
            ApiError::InvalidArgument(what) => format!("Invalid argument: {what}"),
            ApiError::ScheduleInactive(id) => format!("Schedule is not active: {id} (it finished or was removed)"),
            ApiError::ExecutionNotFound(id) => format!("Execution not found: {id}"),
            ApiError::ExecutionFinished(id, status) => format!("Execution already finished: {id} (status {status})"),
            ApiError::AdminOnly(function) => format!(
                "permission denied for function {function}: only superusers and members of the role named by workflow_scheduler.admin_role may call it"
            ),
            ApiError::InvalidHook(what, why) => format!("Invalid hook {what}: {why}"),
            ApiError::HookExists(name) => format!("Hook already exists: {name}"),
            ApiError::HookNotFound(name) => format!("Hook not found: {name}"),
            ApiError::DeliveryNotFound(id) => format!("Delivery not found: {id}"),
            ApiError::NullArgument(name) => format!("Invalid argument: {name} must not be null"),
            ApiError::ArrayLengths(what) => format!("Invalid argument: {what}"),
            ApiError::TooMany(given, limit) => {
                format!("Too many schedules in one call: {given} (at most {limit}; load more in several calls)")
            }
            ApiError::InBatch { index, count, err } => format!("schedule {index} of {count}: {}", err.message()),
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message())
    }
}

/// Raises `err` as an ERROR; the transaction aborts, so nothing the call wrote survives.
pub fn raise(err: ApiError) -> ! {
    pgrx::ereport!(PgLogLevel::ERROR, err.sqlstate(), err.message());
    unreachable!("ereport(ERROR) does not return")
}

/// Unwraps a result or raises its error.
pub trait OrRaise<T> {
    fn or_raise(self) -> T;
}

impl<T, E: Into<ApiError>> OrRaise<T> for Result<T, E> {
    fn or_raise(self) -> T {
        match self {
            Ok(value) => value,
            Err(err) => raise(err.into()),
        }
    }
}
