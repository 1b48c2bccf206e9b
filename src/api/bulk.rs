//! schedule_add_many: many schedules in one call, each validated exactly as schedule_add
//! validates it, written by one statement per table.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use pgrx::datum::TimestampWithTimeZone;
use pgrx::prelude::*;
use pgrx::{Array, Uuid};
use scheduler_core::AuditEvent;

use crate::api::enter;
use crate::api::schedules::{created_event, log_failure, plan_schedule};
use crate::audit;
use crate::errors::{raise, ApiError};
use crate::pg::access::with_extension_rights;
use crate::pg::jsonb_arg::JsonbArg;
use crate::pg::shmem::wake_worker_on_commit;
use crate::pg::time_conv::{from_utc, transaction_now};
use crate::store::audit::AuditRows;
use crate::store::hooks::hook_exists;
use crate::store::schedules::{NewSchedule, NewSchedules};

/// At most this many schedules per call: bounds the memory one call holds (its column buffers
/// and returned rows); a bigger load goes in several calls.
pub const MAX_SCHEDULES_PER_CALL: usize = 100_000;

/// Creates one schedule per element, all or nothing: element i is what
/// `schedule_add(workflow_ids[i], schedule_configs[i], user_id, community_id, context_data[i])`
/// would create. Returns the new ids in input order.
#[pg_extern(volatile, parallel_unsafe)]
#[search_path(pg_catalog, pg_temp)]
fn schedule_add_many(
    workflow_ids: Option<Array<'_, Uuid>>,
    schedule_configs: Option<Array<'_, JsonbArg>>,
    user_id: Option<i64>,
    community_id: Option<i64>,
    context_data: default!(Option<Array<'_, JsonbArg>>, "NULL"),
) -> TableIterator<
    'static,
    (name!(ordinality, i64), name!(schedule_id, Uuid), name!(next_execution_at, Option<TimestampWithTimeZone>)),
> {
    let caller = enter();
    let now = transaction_now();
    let failure = |err: ApiError| -> ! {
        log_failure("schedule_create", community_id, user_id, &err);
        raise(err)
    };
    let Some(workflow_ids) = workflow_ids else {
        failure(ApiError::NullArgument("workflow_ids"));
    };
    let Some(schedule_configs) = schedule_configs else {
        failure(ApiError::NullArgument("schedule_configs"));
    };
    let count = workflow_ids.len();
    let contexts = context_data.as_ref().map_or(count, Array::len);
    if schedule_configs.len() != count || contexts != count {
        failure(ApiError::ArrayLengths(format!(
            "workflow_ids, schedule_configs and context_data must have the same length (got {count}, {}, {})",
            schedule_configs.len(),
            context_data.as_ref().map_or_else(|| "NULL".to_string(), |c| c.len().to_string()),
        )));
    }
    if count > MAX_SCHEDULES_PER_CALL {
        failure(ApiError::TooMany(count, MAX_SCHEDULES_PER_CALL));
    }
    if count == 0 {
        return TableIterator::new(Vec::new());
    }
    let owner_role = caller.role_name();

    let (created, soonest) = with_extension_rights(|| {
        // One lookup per hook name, not per schedule.
        let mut hooks: HashMap<String, bool> = HashMap::new();
        let mut known_hook = |name: &str| *hooks.entry(name.to_string()).or_insert_with(|| hook_exists(name));
        let mut contexts = context_data.as_ref().map(|c| c.iter());
        let mut rows = NewSchedules::default();
        let mut audit_rows = AuditRows::default();
        let mut created = Vec::with_capacity(count);
        let mut soonest = None;
        for (index, (workflow_id, config)) in workflow_ids.iter().zip(schedule_configs.iter()).enumerate() {
            // A NULL context_data element is schedule_add's NULL: '{}'.
            let context = contexts.as_mut().and_then(|c| c.next().flatten());
            let planned = plan_schedule(workflow_id, config, context, now, &mut known_hook)
                .unwrap_or_else(|err| failure(ApiError::InBatch { index: index + 1, count, err: Box::new(err) }));
            let schedule_id = Uuid::from_bytes(*uuid::Uuid::new_v4().as_bytes());
            audit_rows.push(created_event(
                schedule_id.to_string(),
                planned.workflow_id,
                &planned.config,
                &owner_role,
                community_id,
                user_id,
            ));
            let next = planned.next_execution_at;
            if let Some(next) = next {
                soonest = Some(soonest.map_or(next, |soonest: DateTime<Utc>| soonest.min(next)));
            }
            created.push((index as i64 + 1, schedule_id, next.map(from_utc)));
            rows.push(
                schedule_id,
                NewSchedule {
                    workflow_id: planned.workflow_id,
                    config: &planned.config,
                    next_execution_at: next,
                    anchor_at: planned.anchor_at,
                    context_data: planned.context,
                    community_id,
                    user_id,
                    owner_role: &owner_role,
                },
            );
        }
        rows.insert_all(community_id, user_id, &owner_role);
        audit_rows.insert_all();
        (created, soonest)
    });
    // One summary line, not one per schedule: the audit_log rows name each one.
    audit::log(
        &AuditEvent::audit("schedule_create", "SUCCESS", None)
            .by(community_id, user_id)
            .with("count", count)
            .with("owner_role", owner_role.as_str()),
    );
    if let Some(next) = soonest {
        wake_worker_on_commit(next);
    }
    TableIterator::new(created)
}
