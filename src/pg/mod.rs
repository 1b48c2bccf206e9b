//! Postgres plumbing shared by every layer: who the caller is and whose rights the extension's
//! SQL runs with (`access`), SPI failures (`spi`), subtransactions that catch an ERROR
//! (`subxact`), time conversion, shared memory, and the backend's cache of parsed cron
//! expressions. `compat` holds what differs between PostgreSQL majors.

pub mod access;
pub mod compat;
pub mod cron_cache;
pub mod fire_stats;
pub mod jsonb_arg;
pub mod kept_plans;
pub mod shmem;
pub mod spi;
pub mod subxact;
pub mod time_conv;
