//! Every SQL statement the extension runs, one module per table or concern. All statements are
//! parameterised and schema-qualified, with functions and operators from `pg_catalog`, so no
//! name resolves through a search_path someone else controls.

pub mod audit;
pub mod deliveries;
pub mod due;
pub mod executions;
pub mod extension;
pub mod hooks;
pub mod retention;
pub mod schedules;
