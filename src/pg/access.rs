//! The security model's moving parts: who is calling, which schedules they may see, and
//! running the extension's own SQL with the extension's rights.
//!
//! Application roles hold only EXECUTE on the functions and SELECT on the tables (filtered by
//! row-level security). The functions check ownership here, then read and write as the
//! bootstrap superuser, as the worker does, with `search_path = pg_catalog, pg_temp` set on
//! every function, so that nothing a caller owns can run with those rights.

use std::ffi::CString;

use pgrx::pg_sys;
use pgrx::prelude::*;

use crate::guc;

/// The role a function was called by (`current_user` at the call).
pub struct Caller {
    role: pg_sys::Oid,
    /// Superusers and members of `workflow_scheduler.admin_role` see and change everything.
    sees_everything: bool,
}

impl Caller {
    /// Must be called before `with_extension_rights`, which changes the current user.
    pub fn current() -> Caller {
        let role = unsafe { pg_sys::GetUserId() };
        Caller { role, sees_everything: is_admin(role) }
    }

    /// Whether the caller may see and operate a schedule owned by `owner_role`: it must be a
    /// member of that role (or an administrator). `None` is for rows that belong to no
    /// schedule, such as the worker's own audit events: administrators only.
    pub fn may_access(&self, owner_role: Option<&str>) -> bool {
        self.sees_everything || owner_role.and_then(role_oid).is_some_and(|owner| is_member(self.role, owner))
    }

    /// Superuser, or member of `workflow_scheduler.admin_role`: may manage hooks.
    pub fn is_admin(&self) -> bool {
        self.sees_everything
    }

    /// The caller's role name: the owner of the schedules it creates.
    pub fn role_name(&self) -> String {
        let name = unsafe { std::ffi::CStr::from_ptr(pg_sys::GetUserNameFromId(self.role, false)) };
        name.to_string_lossy().into_owned()
    }

    /// The roles whose schedules the caller may operate, or `None` for all of them. Used to
    /// filter set-based statements (one catalog query per call, not one check per row).
    pub fn visible_owners(&self) -> Option<Vec<String>> {
        if self.sees_everything {
            return None;
        }
        let owners = Spi::get_one_with_args::<Vec<String>>(
            "SELECT pg_catalog.array_agg(r.rolname::text)
               FROM pg_catalog.pg_roles AS r
              WHERE pg_catalog.pg_has_role($1, r.oid, 'MEMBER')",
            &[self.role.into()],
        )
        .unwrap_or_else(|err| crate::pg::spi::spi_failed(err));
        Some(owners.unwrap_or_default())
    }
}

fn is_admin(role: pg_sys::Oid) -> bool {
    let superuser = unsafe { pg_sys::superuser_arg(role) };
    superuser || guc::admin_role().as_deref().and_then(role_oid).is_some_and(|admin| is_member(role, admin))
}

fn is_member(member: pg_sys::Oid, role: pg_sys::Oid) -> bool {
    unsafe { pg_sys::is_member_of_role(member, role) }
}

/// A role's oid, or `None` if no such role exists (a schedule's owner may have been dropped).
fn role_oid(name: &str) -> Option<pg_sys::Oid> {
    let name = CString::new(name).ok()?;
    let oid = unsafe { pg_sys::get_role_oid(name.as_ptr(), true) };
    (oid != pg_sys::InvalidOid).then_some(oid)
}

/// Runs `f` as the bootstrap superuser, the role the worker runs as. The previous user is
/// restored afterwards; if `f` raises an ERROR, the (sub)transaction abort restores it.
pub fn with_extension_rights<R>(f: impl FnOnce() -> R) -> R {
    let mut saved_user = pg_sys::InvalidOid;
    let mut saved_context = 0;
    unsafe {
        pg_sys::GetUserIdAndSecContext(&mut saved_user, &mut saved_context);
        pg_sys::SetUserIdAndSecContext(
            pg_sys::Oid::from(pg_sys::BOOTSTRAP_SUPERUSERID),
            saved_context | pg_sys::SECURITY_LOCAL_USERID_CHANGE as i32,
        );
    }
    let result = f();
    unsafe { pg_sys::SetUserIdAndSecContext(saved_user, saved_context) };
    result
}
