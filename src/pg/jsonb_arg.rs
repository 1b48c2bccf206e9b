//! A `jsonb` argument that is parsed inside the function, not by pgrx's argument conversion.
//!
//! pgrx's `JsonB` panics (XX000, with a backtrace) on a value serde_json refuses, such as
//! nesting deeper than 128 levels, before the function body runs. `JsonbArg` keeps the SQL type
//! `jsonb` (the signature does not change) and hands the parse result to the function, which
//! answers 22023 like for any other bad input.

use pgrx::callconv::{Arg, ArgAbi};
use pgrx::datum::{Datum, FromDatum, UnboxDatum};
use pgrx::nullable::Nullable;
use pgrx::pg_sys;
use serde_json::Value;

/// A `jsonb` argument: its value, or why serde_json cannot read it.
pub struct JsonbArg(pub Result<Value, String>);

impl JsonbArg {
    /// The value, or an error message that names the argument.
    pub fn read(self, name: &str) -> Result<Value, String> {
        self.0.map_err(|err| format!("{name} cannot be read: {err}"))
    }
}

impl FromDatum for JsonbArg {
    unsafe fn from_polymorphic_datum(datum: pg_sys::Datum, is_null: bool, _: pg_sys::Oid) -> Option<JsonbArg> {
        if is_null {
            return None;
        }
        // jsonb_out gives the canonical text; numbers keep every digit (serde_json's
        // arbitrary_precision keeps them as written).
        let text = unsafe { pgrx::direct_function_call::<&core::ffi::CStr>(pg_sys::jsonb_out, &[Some(datum)]) }?;
        let parsed = match text.to_str() {
            Ok(text) => serde_json::from_str(text).map_err(|err| err.to_string()),
            Err(err) => Err(err.to_string()),
        };
        unsafe { pg_sys::pfree(text.as_ptr().cast_mut().cast()) };
        Some(JsonbArg(parsed))
    }
}

unsafe impl<'fcx> ArgAbi<'fcx> for JsonbArg {
    unsafe fn unbox_arg_unchecked(arg: Arg<'_, 'fcx>) -> Self {
        let index = arg.index();
        unsafe { arg.unbox_arg_using_from_datum() }.unwrap_or_else(|| panic!("argument {index} must not be null"))
    }

    unsafe fn unbox_nullable_arg(arg: Arg<'_, 'fcx>) -> Nullable<Self> {
        unsafe { arg.unbox_arg_using_from_datum() }.into()
    }
}

// An element of a `jsonb[]` argument (schedule_add_many), parsed the same way.
unsafe impl UnboxDatum for JsonbArg {
    type As<'src> = JsonbArg;

    unsafe fn unbox<'src>(datum: Datum<'src>) -> JsonbArg
    where
        Self: 'src,
    {
        // The array iterator hands over non-null elements only.
        unsafe { JsonbArg::from_polymorphic_datum(datum.sans_lifetime(), false, pg_sys::JSONBOID) }
            .expect("a non-null jsonb element")
    }
}

pgrx::impl_sql_translatable!(JsonbArg, arg_only = "jsonb");
