//! Background workers: the scheduler (`scheduler`) and what every worker of the extension does
//! the same way (`common`).

pub mod common;
pub mod scheduler;
