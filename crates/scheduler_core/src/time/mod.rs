//! When a schedule fires: cron parsing and next-time search, time zones and DST, the three
//! schedule kinds' occurrence arithmetic, and the cache of parsed expressions.

pub mod cache;
pub mod cron;
mod cron_syntax;
pub mod describe;
pub mod recurrence;
pub mod zone;
