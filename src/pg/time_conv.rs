//! Conversions between Postgres `timestamptz` and chrono instants.

use chrono::{DateTime, Utc};
use pgrx::datum::TimestampWithTimeZone;
use pgrx::pg_sys;

/// Microseconds from the Unix epoch to the Postgres epoch (2000-01-01 00:00:00 UTC).
const PG_EPOCH_UNIX_MICROS: i64 = 946_684_800_000_000;

/// The instant, or None for `infinity` / `-infinity`.
pub fn to_utc(ts: TimestampWithTimeZone) -> Option<DateTime<Utc>> {
    if !ts.is_finite() {
        return None;
    }
    let pg_micros: pg_sys::TimestampTz = ts.into();
    DateTime::from_timestamp_micros(pg_micros + PG_EPOCH_UNIX_MICROS)
}

pub fn from_utc(t: DateTime<Utc>) -> TimestampWithTimeZone {
    let pg_micros = t.timestamp_micros() - PG_EPOCH_UNIX_MICROS;
    TimestampWithTimeZone::try_from(pg_micros).unwrap_or_else(|_| TimestampWithTimeZone::positive_infinity())
}

/// `now()`: the start of the current transaction, as every SQL function in it sees it.
pub fn transaction_now() -> DateTime<Utc> {
    let pg_micros = unsafe { pg_sys::GetCurrentTransactionStartTimestamp() };
    DateTime::from_timestamp_micros(pg_micros + PG_EPOCH_UNIX_MICROS).unwrap_or_default()
}
