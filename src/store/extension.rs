//! What the catalog says about the extension itself.

use crate::pg::kept_plans;
use crate::pg::spi::spi_failed;

/// The installed version (`pg_extension.extversion`), or `None` before CREATE EXTENSION.
pub fn installed_version() -> Option<String> {
    kept_plans::first_value::<String>(
        "SELECT extversion FROM pg_catalog.pg_extension WHERE extname OPERATOR(pg_catalog.=) 'workflow_scheduler'",
        &[],
    )
    .unwrap_or_else(|err| spi_failed(err))
}
