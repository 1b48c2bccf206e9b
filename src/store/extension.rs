//! What the catalog says about the extension itself.

use pgrx::prelude::*;

use crate::pg::spi::optional_row;

/// The installed version (`pg_extension.extversion`), or `None` before CREATE EXTENSION.
pub fn installed_version() -> Option<String> {
    optional_row(Spi::get_one::<String>(
        "SELECT extversion FROM pg_catalog.pg_extension WHERE extname OPERATOR(pg_catalog.=) 'workflow_scheduler'",
    ))
}
