//! The schedule functions: add, update, remove and get.
//!
//! Each one validates everything before it writes anything, so a failing call leaves no row. A
//! schedule outside the caller's reach answers exactly like an unknown one.

use pgrx::prelude::*;
use pgrx::{JsonB, Uuid};
use serde_json::{json, Value};

use scheduler_core::{
    plan_create, plan_update, validate_config, validate_context_data, AuditEvent, ScheduleConfig, ScheduleError,
    StoredSchedule,
};

use crate::api::enter;
use crate::audit;
use crate::errors::{raise, ApiError};
use crate::guc;
use crate::pg::access::with_extension_rights;
use crate::pg::cron_cache::with_cron_cache;
use crate::pg::jsonb_arg::JsonbArg;
use crate::pg::shmem::wake_worker_on_commit;
use crate::pg::time_conv::transaction_now;
use crate::store::hooks::hook_exists;
use crate::store::schedules::{self as store, LockedSchedule};

/// Creates a schedule owned by the calling role and returns it as JSON.
#[pg_extern(volatile, parallel_unsafe)]
#[search_path(pg_catalog, pg_temp)]
fn schedule_add(
    workflow_id: Option<Uuid>,
    schedule_config: Option<JsonbArg>,
    user_id: Option<i64>,
    community_id: Option<i64>,
    context_data: default!(Option<JsonbArg>, "'{}'"),
) -> JsonB {
    let caller = enter();
    let now = transaction_now();
    let owner_role = caller.role_name();
    let (schedule, next) = with_extension_rights(|| {
        let planned =
            plan_schedule(workflow_id, schedule_config, context_data, now, &mut hook_exists).unwrap_or_else(|err| {
                log_failure("schedule_create", community_id, user_id, &err);
                raise(err)
            });
        let schedule = store::insert_schedule(&store::NewSchedule {
            workflow_id: planned.workflow_id,
            config: &planned.config,
            next_execution_at: planned.next_execution_at,
            anchor_at: planned.anchor_at,
            context_data: planned.context,
            community_id,
            user_id,
            owner_role: &owner_role,
        });
        let schedule_id = schedule.0["schedule_id"].as_str().unwrap_or_default().to_string();
        audit::record(&created_event(
            schedule_id,
            planned.workflow_id,
            &planned.config,
            &owner_role,
            community_id,
            user_id,
        ));
        (schedule, planned.next_execution_at)
    });
    if let Some(next) = next {
        wake_worker_on_commit(next);
    }
    schedule
}

/// A schedule_add call's arguments validated and planned, not yet written.
pub(crate) struct PlannedSchedule {
    pub workflow_id: Uuid,
    pub config: ScheduleConfig,
    pub next_execution_at: Option<chrono::DateTime<chrono::Utc>>,
    pub anchor_at: chrono::DateTime<chrono::Utc>,
    pub context: Value,
}

/// What schedule_add and schedule_add_many both run on each schedule's arguments, so that they
/// accept and refuse exactly the same inputs, in the same order. `hook_exists` answers whether
/// a hook exists (schedule_add_many asks once per name). Runs with the extension's rights.
pub(crate) fn plan_schedule(
    workflow_id: Option<Uuid>,
    schedule_config: Option<JsonbArg>,
    context_data: Option<JsonbArg>,
    now: chrono::DateTime<chrono::Utc>,
    hook_exists: &mut impl FnMut(&str) -> bool,
) -> Result<PlannedSchedule, ApiError> {
    let Some(workflow_id) = workflow_id else {
        return Err(invalid("workflow_id must not be null"));
    };
    let context = read_json(context_data, "context_data", json!({}))?;
    validate_context_data(&context)?;
    let config = parse_config(schedule_config, now)?;
    let plan = with_cron_cache(|cache| plan_create(&config, cache, now))?;
    check_hook(&config, hook_exists)?;
    Ok(PlannedSchedule {
        workflow_id,
        next_execution_at: plan.next_execution_at,
        anchor_at: plan.anchor_at,
        config,
        context,
    })
}

/// The `schedule_create` audit event of one new schedule.
pub(crate) fn created_event(
    schedule_id: String,
    workflow_id: Uuid,
    config: &ScheduleConfig,
    owner_role: &str,
    community_id: Option<i64>,
    user_id: Option<i64>,
) -> AuditEvent {
    AuditEvent::audit("schedule_create", "SUCCESS", Some(schedule_id.clone()))
        .by(community_id, user_id)
        .with("schedule_id", schedule_id)
        .with("workflow_id", workflow_id.to_string())
        .with("schedule_type", config.kind.as_str())
        .with("owner_role", owner_role)
}

/// Replaces a schedule's configuration and recomputes its next execution.
///
/// The schedule becomes active again (this is how a removed or finished schedule is resumed),
/// unless `execution_count` has already reached the new `max_executions`. An interval schedule
/// whose `interval_seconds` does not change keeps its grid; any other change restarts the grid
/// at the time of the update. The owner never changes, whoever updates.
#[pg_extern(volatile, parallel_unsafe)]
#[search_path(pg_catalog, pg_temp)]
fn schedule_update(schedule_id: Option<Uuid>, schedule_config: Option<JsonbArg>, user_id: Option<i64>) -> JsonB {
    let caller = enter();
    let now = transaction_now();
    let (schedule, next) = with_extension_rights(|| {
        let current = lock_visible(schedule_id, &caller, "schedule_update", user_id);
        let stored = StoredSchedule {
            schedule_type: &current.schedule_type,
            interval_seconds: current.interval_seconds,
            anchor_at: current.anchor_at,
            execution_count: current.execution_count,
            start_at: current.start_at,
        };
        let planned = parse_config(schedule_config, now).and_then(|config| {
            let plan = with_cron_cache(|cache| plan_update(&stored, &config, cache, now))?;
            Ok((config, plan))
        });
        let (config, plan) = planned
            .map_err(ApiError::from)
            .and_then(|planned| check_hook(&planned.0, &mut hook_exists).map(|()| planned))
            .unwrap_or_else(|err| {
                log_failure("schedule_update", current.community_id, user_id, &err);
                raise(err)
            });
        let schedule = store::update_schedule(&store::ScheduleChange {
            schedule_id: current.schedule_id,
            config: &config,
            next_execution_at: plan.next_execution_at,
            anchor_at: plan.anchor_at,
            user_id,
        });
        audit::record(
            &about(&current, "schedule_update", user_id)
                .with("schedule_type", config.kind.as_str())
                .with("is_active", plan.next_execution_at.is_some()),
        );
        (schedule, plan.next_execution_at)
    });
    if let Some(next) = next {
        wake_worker_on_commit(next);
    }
    schedule
}

/// Deactivates a schedule and keeps its row for history. Returns true when it was active.
#[pg_extern(volatile, parallel_unsafe)]
#[search_path(pg_catalog, pg_temp)]
fn schedule_remove(schedule_id: Option<Uuid>, user_id: Option<i64>) -> bool {
    let caller = enter();
    with_extension_rights(|| {
        let current = lock_visible(schedule_id, &caller, "schedule_remove", user_id);
        store::deactivate_schedule(current.schedule_id, user_id);
        audit::record(&about(&current, "schedule_remove", user_id).with("was_active", current.is_active));
        current.is_active
    })
}

/// One schedule, in the same JSON shape as `schedule_add` returns.
#[pg_extern(stable, parallel_safe)]
#[search_path(pg_catalog, pg_temp)]
fn schedule_get(schedule_id: Option<Uuid>) -> JsonB {
    let caller = enter();
    with_extension_rights(|| schedule_id.and_then(store::schedule_json))
        .filter(|(_, owner)| caller.may_access(Some(owner)))
        .map(|(json, _)| json)
        .unwrap_or_else(|| raise(not_found(schedule_id)))
}

/// Locks the schedule if the caller may operate it; otherwise fails as if it did not exist.
pub(crate) fn lock_visible(
    schedule_id: Option<Uuid>,
    caller: &crate::pg::access::Caller,
    action: &'static str,
    user_id: Option<i64>,
) -> LockedSchedule {
    schedule_id
        .and_then(store::lock_schedule)
        .filter(|current| caller.may_access(Some(&current.owner_role)))
        .unwrap_or_else(|| {
            let err = not_found(schedule_id);
            log_failure(action, None, user_id, &err);
            raise(err)
        })
}

/// A successful operation's audit event about `current`.
pub(crate) fn about(current: &LockedSchedule, action: &'static str, user_id: Option<i64>) -> AuditEvent {
    let schedule_id = current.schedule_id.to_string();
    AuditEvent::audit(action, "SUCCESS", Some(schedule_id.clone()))
        .by(current.community_id, user_id)
        .with("schedule_id", schedule_id)
        .with("workflow_id", current.workflow_id.to_string())
}

pub(crate) fn parse_config(
    schedule_config: Option<JsonbArg>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<ScheduleConfig, ScheduleError> {
    let config = read_json(schedule_config, "schedule_config", Value::Null)?;
    validate_config(&config, &guc::default_timezone(), now)
}

/// A hook the config names must exist (any role may name any hook). Checked when the schedule
/// is saved; a hook removed later only means its fires get no delivery.
fn check_hook(config: &ScheduleConfig, hook_exists: &mut impl FnMut(&str) -> bool) -> Result<(), ApiError> {
    match &config.hook {
        Some(name) if !hook_exists(name) => Err(invalid(&format!("hook '{name}' does not exist"))),
        _ => Ok(()),
    }
}

/// A jsonb argument's value (`absent` for NULL); one the core cannot read is invalid input.
pub(crate) fn read_json(arg: Option<JsonbArg>, name: &str, absent: Value) -> Result<Value, ScheduleError> {
    arg.map_or(Ok(absent), |arg| arg.read(name).map_err(ScheduleError::InvalidConfig))
}

pub(crate) fn invalid(what: &str) -> ApiError {
    ApiError::Invalid(ScheduleError::InvalidConfig(what.to_string()))
}

fn not_found(schedule_id: Option<Uuid>) -> ApiError {
    ApiError::NotFound(schedule_id.map_or_else(|| "NULL".to_string(), |id| id.to_string()))
}

/// Logs a failed operation. Only the log line survives: the transaction rolls back.
pub(crate) fn log_failure(action: &'static str, community_id: Option<i64>, user_id: Option<i64>, err: &ApiError) {
    audit::log(&AuditEvent::audit(action, "FAILURE", None).by(community_id, user_id).with("error", err.to_string()));
}
