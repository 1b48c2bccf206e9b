//! Statements that run on every due pass, parsed and planned once per process and kept
//! (`SPI_keepplan`), so that a pass at 1,000 wake-ups a second does not parse and plan the same
//! SQL a thousand times. Postgres' plan cache revalidates a kept plan itself when a table it
//! uses changes (an extension update, a dropped and recreated extension) or the role does.
//!
//! Only fixed SQL texts go here: the cache is keyed by the text and never shrinks.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use pgrx::datum::DatumWithOid;
use pgrx::pg_sys::PgOid;
use pgrx::spi::{OwnedPreparedStatement, SpiClient, SpiResult, SpiTupleTable};

thread_local! {
    static KEPT: RefCell<HashMap<&'static str, Rc<OwnedPreparedStatement>>> = RefCell::new(HashMap::new());
}

/// Runs `query` with `args` through this process's kept plan for it, preparing it on first use
/// with the argument types of this call (every call of one text passes the same types).
pub fn run<'conn>(
    client: &mut SpiClient<'conn>,
    query: &'static str,
    args: &[DatumWithOid<'_>],
) -> SpiResult<SpiTupleTable<'conn>> {
    // Cloned out of the map, so that no borrow is held while the statement runs (an ERROR
    // unwinds through here; the map stays usable).
    let kept = KEPT.with_borrow(|plans| plans.get(query).cloned());
    let statement = match kept {
        Some(statement) => statement,
        None => {
            let types: Vec<PgOid> = args.iter().map(|arg| PgOid::from(arg.oid())).collect();
            let statement = Rc::new(client.prepare_mut(query, &types)?.keep());
            KEPT.with_borrow_mut(|plans| plans.insert(query, Rc::clone(&statement)));
            statement
        }
    };
    client.update(&*statement, None, args)
}

/// Runs a statement that returns nothing the caller needs.
pub fn execute(query: &'static str, args: &[DatumWithOid<'_>]) -> SpiResult<()> {
    pgrx::spi::Spi::connect_mut(|client| run(client, query, args).map(|_| ()))
}

/// The first column of the first row, or `None` for no row or NULL.
pub fn first_value<T: pgrx::datum::FromDatum + pgrx::datum::IntoDatum>(
    query: &'static str,
    args: &[DatumWithOid<'_>],
) -> SpiResult<Option<T>> {
    pgrx::spi::Spi::connect_mut(|client| {
        let table = run(client, query, args)?;
        if table.is_empty() {
            return Ok(None);
        }
        table.first().get::<T>(1)
    })
}
