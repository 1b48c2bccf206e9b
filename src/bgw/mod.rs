//! Background workers: the scheduler (`scheduler`), which fires due schedules, the delivery
//! worker (`delivery`), which sends HTTP hooks, and what every worker of the extension does the
//! same way (`common`).

pub mod common;
pub mod delivery;
pub mod scheduler;
