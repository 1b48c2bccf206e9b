//! One due pass: claim due schedules in a batch, plan each with the pure firing rules, and
//! record everything in the caller's transaction.
//!
//! The work is set-based: one SELECT ... FOR UPDATE SKIP LOCKED claims the batch, the rules run
//! in Rust on the claimed rows, and one statement each writes the execution rows, the schedule
//! updates, the audit rows and the NOTIFYs, which Postgres delivers only if the transaction
//! commits.

use chrono::{DateTime, Utc};
use pgrx::{JsonB, Uuid};

use scheduler_core::{notify_payload, plan_broken, plan_due, DueSchedule, PayloadMode};

use crate::audit;
use crate::guc;
use crate::pg::cron_cache::recurrence_of;
use crate::pg::time_conv::from_utc;
use crate::store::audit::AuditRows;
use crate::store::due::{
    advance_schedules, claim_due_rows, insert_executions, notify, ClaimedRow, ExecutionRows, ScheduleAdvances,
};

/// The settings a pass runs with.
pub struct PassSettings {
    pub now: DateTime<Utc>,
    pub grace: chrono::Duration,
    pub batch_size: i64,
    pub channel: String,
    pub payload: PayloadMode,
}

impl PassSettings {
    /// The current settings, with `now` read from the clock: the worker and
    /// `schedule_check_due()` both run a pass this way.
    pub fn from_gucs() -> PassSettings {
        PassSettings {
            now: Utc::now(),
            grace: guc::grace_period(),
            batch_size: guc::batch_size(),
            channel: guc::notify_channel(),
            payload: guc::notify_payload(),
        }
    }
}

/// A fired occurrence, as `schedule_check_due()` returns it.
pub struct Fired {
    pub schedule_id: Uuid,
    pub execution_id: Uuid,
    pub workflow_id: Uuid,
    pub scheduled_for: DateTime<Utc>,
    pub triggered_at: DateTime<Utc>,
}

/// What one batch did.
#[derive(Default)]
pub struct BatchReport {
    pub claimed: usize,
    pub fired: Vec<Fired>,
    pub missed: usize,
    pub broken: usize,
}

/// Claims at most `batch_size` due schedules (of `owners` only, if given) and fires or misses
/// each. Runs in the caller's transaction; a full batch means more may be due.
pub fn run_batch(settings: &PassSettings, owners: Option<Vec<String>>) -> BatchReport {
    let rows = claim_due_rows(settings.now, settings.batch_size, owners);
    let mut report = BatchReport { claimed: rows.len(), ..Default::default() };
    let mut executions = ExecutionRows::default();
    let mut advances = ScheduleAdvances::default();
    let mut audit_rows = AuditRows::default();
    let mut payloads: Vec<(Uuid, String)> = Vec::new();
    let now = settings.now;

    for row in rows {
        let schedule_id = row.schedule_id.to_string();
        let workflow_id = row.workflow_id.to_string();
        let due = DueSchedule {
            schedule_id: &schedule_id,
            workflow_id: &workflow_id,
            community_id: row.community_id,
            next_execution_at: row.next_execution_at,
            max_executions: row.max_executions,
            execution_count: row.execution_count,
            context_data: &row.context_data,
        };
        let recurrence = match recurrence_of(&row.recurrence_columns()) {
            Ok(recurrence) => recurrence,
            Err(err) => {
                push_event(&mut audit_rows, plan_broken(&due, &err));
                push_advance(&mut advances, &row, None, None);
                report.broken += 1;
                continue;
            }
        };
        let execution_id = Uuid::from_bytes(*uuid::Uuid::new_v4().as_bytes());
        let plan = plan_due(&due, &recurrence, &execution_id.to_string(), now, settings.grace);

        executions.execution_id.push(execution_id);
        executions.schedule_id.push(row.schedule_id);
        executions.workflow_id.push(row.workflow_id);
        executions.scheduled_for.push(from_utc(plan.scheduled_for));
        executions.status.push(plan.status());
        executions.coalesced.push(i32::try_from(plan.coalesced).unwrap_or(i32::MAX));
        push_advance(&mut advances, &row, plan.next_execution_at, plan.fired.then_some(execution_id));
        if plan.fired {
            payloads.push((execution_id, notify_payload(&plan.trigger_data, settings.payload)));
            report.fired.push(Fired {
                schedule_id: row.schedule_id,
                execution_id,
                workflow_id: row.workflow_id,
                scheduled_for: plan.scheduled_for,
                triggered_at: now,
            });
        } else {
            report.missed += 1;
        }
        executions.trigger_data.push(JsonB(plan.trigger_data));
        for event in plan.events {
            push_event(&mut audit_rows, event);
        }
    }

    let inserted = insert_executions(&mut executions, now);
    advance_schedules(&mut advances, now);
    audit_rows.insert_all();
    // An occurrence whose execution row already existed was not fired by this pass.
    payloads.retain(|(execution_id, _)| inserted.contains(execution_id.as_bytes()));
    notify(&settings.channel, payloads.into_iter().map(|(_, payload)| payload).collect());
    report.fired.retain(|f| inserted.contains(f.execution_id.as_bytes()));
    report
}

fn push_event(rows: &mut AuditRows, event: scheduler_core::AuditEvent) {
    audit::log(&event);
    rows.push(event);
}

fn push_advance(
    advances: &mut ScheduleAdvances,
    row: &ClaimedRow,
    next: Option<DateTime<Utc>>,
    fired_execution: Option<Uuid>,
) {
    advances.id.push(row.id);
    advances.next_execution_at.push(next.map(from_utc));
    advances.fired.push(fired_execution.is_some());
    advances.execution_id.push(fired_execution);
}
