//! The one place SPI failures become errors.

/// An SPI call that fails here is a bug or a broken installation, never bad user input (that
/// is rejected before any SQL runs): report it as an internal error.
pub fn spi_failed(err: pgrx::spi::Error) -> ! {
    pgrx::error!("workflow_scheduler: internal SPI failure: {err}")
}

/// `get_one` reports "no row" as an error; for a lookup it simply means "not there".
pub fn optional_row<T>(result: Result<Option<T>, pgrx::spi::Error>) -> Option<T> {
    match result {
        Ok(value) => value,
        Err(pgrx::spi::Error::InvalidPosition) => None,
        Err(err) => spi_failed(err),
    }
}

/// A NOT NULL column read as NULL means a corrupt row or a broken installation: say so rather
/// than invent a value.
pub fn required<T>(value: Option<T>) -> T {
    value.unwrap_or_else(|| pgrx::error!("workflow_scheduler: a NOT NULL column read as NULL"))
}
