//! One due pass: claim due schedules in a batch, plan each with the pure firing rules, and
//! record everything in the caller's transaction.
//!
//! The work is set-based: one SELECT ... FOR UPDATE SKIP LOCKED claims the batch, the rules run
//! in Rust on the claimed rows, and one statement each writes the execution rows, the schedule
//! updates, the HTTP hook deliveries (the outbox), the audit rows and the NOTIFYs, which
//! Postgres delivers only if the transaction commits.

use chrono::{DateTime, Utc};
use pgrx::{JsonB, Uuid};
use serde_json::{Map, Value};

use scheduler_core::firing::plan::Occurrence;
use scheduler_core::{
    notify_payload, plan_broken, plan_due, plan_extra_run, AuditEvent, DueSchedule, EventSinks, FireEvents, FirePlan,
    PayloadMode, TriggerKind,
};

use crate::audit;
use crate::guc;
use crate::pg::cron_cache::recurrence_of;
use crate::pg::shmem::{wake_on_commit, Worker};
use crate::pg::time_conv::from_utc;
use crate::store::audit::AuditRows;
use crate::store::due::{
    advance_schedules, claim_due_rows, claim_released_buffers, insert_deliveries, insert_executions, notify,
    ClaimedRow, DeliveryRows, ExecutionRows, ScheduleAdvances,
};
use crate::store::executions;

/// The settings a pass runs with.
#[derive(Clone)]
pub struct PassSettings {
    pub now: DateTime<Utc>,
    pub grace: chrono::Duration,
    pub batch_size: i64,
    pub channel: String,
    pub payload: PayloadMode,
    /// The hook of schedules that name none.
    pub default_hook: Option<String>,
    /// What a scheduled fire writes besides its execution row.
    pub fire_events: FireEvents,
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
            default_hook: guc::default_hook(),
            fire_events: guc::fire_events(),
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
    /// Occurrences the overlap policy skipped, or held back (`buffer_one`).
    pub skipped: usize,
    pub buffered: usize,
    /// Executions that ran out of `max_runtime_seconds` before this pass.
    pub timed_out: usize,
    /// Occurrences whose execution row existed already: not fired again, not counted.
    pub already_recorded: usize,
    /// HTTP hook deliveries queued for the fires.
    pub deliveries: i64,
    /// A failure made the pass retry with fewer rows: more may be due at once.
    pub narrowed: bool,
}

/// A claimed row and what the rules made of it.
struct Planned {
    row: ClaimedRow,
    execution_id: Uuid,
    plan: FirePlan,
    /// The NOTIFY payload of a fire, sent only if its execution row goes in.
    payload: Option<String>,
}

/// Claims at most `batch_size` due schedules (of `owners` only, if given) and fires or misses
/// each. Runs in the caller's transaction; a full batch means more may be due.
///
/// The execution rows go in first: only an occurrence whose row was actually inserted counts
/// (counters, `last_execution_id`, audit events, `max_executions`, NOTIFY). One that the unique
/// (schedule_id, scheduled_for) key refused was recorded by another pass; its schedule only
/// moves on.
///
/// First, executions past their `max_runtime_seconds` become `timed_out`, so that they stop
/// blocking their schedules; then due schedules are claimed, and with the room left in the
/// batch, schedules whose buffered occurrence no longer waits for anything.
pub fn run_batch(settings: &PassSettings, owners: Option<Vec<String>>) -> BatchReport {
    let timed_out = time_out_overdue(settings, owners.clone());
    let mut rows = claim_due_rows(settings.now, settings.batch_size, owners.clone());
    let room = settings.batch_size - rows.len() as i64;
    if room > 0 {
        let claimed = rows.iter().map(|row| row.id).collect();
        rows.extend(claim_released_buffers(room, owners, claimed));
    }
    BatchReport { timed_out, ..fire_claimed(settings, rows) }
}

/// Marks the executions past their deadline `timed_out`, with an audit event and a completion
/// NOTIFY each. Returns how many.
fn time_out_overdue(settings: &PassSettings, owners: Option<Vec<String>>) -> usize {
    let overdue = executions::time_out_overdue(settings.now, settings.batch_size, owners);
    let mut audit_rows = AuditRows::default();
    let mut completions = Vec::with_capacity(overdue.len());
    for execution in &overdue {
        let (execution_id, schedule_id) = (execution.execution_id.to_string(), execution.schedule_id.to_string());
        push_event(
            &mut audit_rows,
            AuditEvent::audit("execution_timed_out", "FAILURE", Some(schedule_id.clone()))
                .by(execution.community_id, None)
                .with("schedule_id", schedule_id.as_str())
                .with("execution_id", execution_id.as_str())
                .with("workflow_id", execution.workflow_id.to_string())
                .with("max_runtime_seconds", execution.max_runtime_seconds),
        );
        completions.push(completion_payload(&execution_id, &schedule_id, "timed_out"));
    }
    audit_rows.insert_all();
    notify(&guc::completion_channel(), completions);
    overdue.len()
}

/// Fires or misses rows already claimed (locked) by this transaction.
pub fn fire_claimed(settings: &PassSettings, rows: Vec<ClaimedRow>) -> BatchReport {
    let mut report = BatchReport { claimed: rows.len(), ..Default::default() };
    let mut advances = ScheduleAdvances::default();
    let mut audit_rows = AuditRows::default();
    let now = settings.now;

    let mut planned = Vec::with_capacity(rows.len());
    for row in rows {
        let ids = text_ids(&row);
        let due = due_schedule(&row, &ids);
        let readable = row
            .context_data
            .as_ref()
            .map_err(Clone::clone)
            .and_then(|_| recurrence_of(&row.recurrence_columns()).map_err(|err| err.to_string()))
            .map(|recurrence| recurrence.windowed(row.start_at, row.end_at));
        match readable {
            Ok(recurrence) => {
                let execution_id = Uuid::from_bytes(*uuid::Uuid::new_v4().as_bytes());
                let plan = plan_due(&due, &recurrence, &execution_id.to_string(), now, settings.grace);
                let payload = plan.fired().then(|| notify_payload(&plan.trigger_data, settings.payload));
                planned.push(Planned { row, execution_id, plan, payload });
            }
            Err(err) => {
                push_event(&mut audit_rows, plan_broken(&due, &err));
                push_deactivation(&mut advances, row.id);
                report.broken += 1;
            }
        }
    }

    write_planned(settings, planned, report, advances, audit_rows)
}

/// A run of one claimed (locked) schedule outside its grid: `schedule_trigger` (now) or
/// `schedule_backfill` (a past occurrence), written like a fire of the due pass. Returns the
/// execution id and what became of it (fired, skipped by the overlap policy, or already
/// recorded: a backfilled occurrence that has an execution).
pub fn fire_extra_run(
    settings: &PassSettings,
    row: ClaimedRow,
    kind: TriggerKind,
    scheduled_for: DateTime<Utc>,
    extra_context: &Map<String, Value>,
) -> (Uuid, Occurrence) {
    let ids = text_ids(&row);
    let execution_id = Uuid::from_bytes(*uuid::Uuid::new_v4().as_bytes());
    let plan = plan_extra_run(
        &due_schedule(&row, &ids),
        kind,
        scheduled_for,
        extra_context,
        &execution_id.to_string(),
        settings.now,
    );
    let payload = plan.fired().then(|| notify_payload(&plan.trigger_data, settings.payload));
    let report = BatchReport { claimed: 1, ..Default::default() };
    let report = write_planned(
        settings,
        vec![Planned { row, execution_id, plan, payload }],
        report,
        ScheduleAdvances::default(),
        AuditRows::default(),
    );
    let occurrence = if !report.fired.is_empty() {
        Occurrence::Fired
    } else if report.skipped > 0 {
        Occurrence::Skipped
    } else {
        Occurrence::AlreadyRecorded
    };
    (execution_id, occurrence)
}

/// Writes planned occurrences: execution rows first (only an occurrence whose row went in
/// counts), then the schedules' advances, deliveries, audit rows and NOTIFYs.
fn write_planned(
    settings: &PassSettings,
    mut planned: Vec<Planned>,
    mut report: BatchReport,
    mut advances: ScheduleAdvances,
    mut audit_rows: AuditRows,
) -> BatchReport {
    let now = settings.now;
    let inserted = insert_executions(&mut execution_rows(&mut planned), now);
    let mut payloads = Vec::new();
    let mut deliveries = DeliveryRows::default();
    for Planned { row, execution_id, mut plan, payload } in planned {
        if plan.status().is_some() && !inserted.contains(execution_id.as_bytes()) {
            report.already_recorded += 1;
            plan = plan.already_recorded();
        }
        match plan.occurrence {
            Occurrence::Fired => {
                payloads.extend(payload);
                if let Some(hook) = row.hook.as_ref().or(settings.default_hook.as_ref()) {
                    deliveries.execution_id.push(execution_id);
                    deliveries.hook.push(hook.clone());
                }
                report.fired.push(Fired {
                    schedule_id: row.schedule_id,
                    execution_id,
                    workflow_id: row.workflow_id,
                    scheduled_for: plan.scheduled_for,
                    triggered_at: now,
                });
            }
            Occurrence::Missed => report.missed += 1,
            Occurrence::Skipped => report.skipped += 1,
            Occurrence::Buffered => report.buffered += 1,
            Occurrence::AlreadyRecorded => {}
        }
        push_advance(&mut advances, row.id, &plan, execution_id);
        // An operator's run (manual, backfill) is always written in full.
        let fire_events =
            if plan.trigger_kind == TriggerKind::Scheduled { settings.fire_events } else { FireEvents::LogAndTable };
        for event in plan.events {
            write_event(&mut audit_rows, event, fire_events);
        }
    }
    advance_schedules(&mut advances, now);
    report.deliveries = insert_deliveries(&mut deliveries, now);
    if report.deliveries > 0 {
        wake_on_commit(Worker::Delivery, now);
    }
    audit_rows.insert_all();
    notify(&settings.channel, payloads);
    report
}

/// The execution rows of the planned occurrences, column-wise; the trigger data moves into them.
/// A buffered occurrence has no row yet.
fn execution_rows(planned: &mut [Planned]) -> ExecutionRows {
    let mut rows = ExecutionRows::default();
    for Planned { row, execution_id, plan, .. } in planned {
        let Some(status) = plan.status() else { continue };
        rows.execution_id.push(*execution_id);
        rows.schedule_id.push(row.schedule_id);
        rows.workflow_id.push(row.workflow_id);
        rows.scheduled_for.push(from_utc(plan.scheduled_for));
        rows.status.push(status);
        rows.coalesced.push(i32::try_from(plan.coalesced).unwrap_or(i32::MAX));
        rows.trigger_data.push(JsonB(std::mem::take(&mut plan.trigger_data)));
        rows.deadline_at.push(plan.deadline_at.map(from_utc));
        rows.trigger_kind.push(plan.trigger_kind.as_str());
    }
    rows
}

/// The completion NOTIFY: which execution finished, of which schedule, and how.
pub fn completion_payload(execution_id: &str, schedule_id: &str, status: &str) -> String {
    serde_json::json!({"execution_id": execution_id, "schedule_id": schedule_id, "status": status}).to_string()
}

fn push_event(rows: &mut AuditRows, event: AuditEvent) {
    write_event(rows, event, FireEvents::LogAndTable);
}

/// Logs the event and buffers its row, as far as `fire_events` keeps it.
fn write_event(rows: &mut AuditRows, event: AuditEvent, fire_events: FireEvents) {
    let EventSinks { log, table } = fire_events.sinks(event.action);
    if log {
        audit::log(&event);
    }
    if table {
        rows.push(event);
    }
}

fn push_advance(advances: &mut ScheduleAdvances, id: i64, plan: &FirePlan, execution_id: Uuid) {
    advances.id.push(id);
    advances.next_execution_at.push(plan.next_execution_at.map(from_utc));
    advances.outcome.push(match plan.occurrence {
        Occurrence::Fired => "fired",
        Occurrence::Missed => "missed",
        Occurrence::Skipped => "skipped",
        Occurrence::Buffered | Occurrence::AlreadyRecorded => "none",
    });
    advances.execution_id.push(plan.fired().then_some(execution_id));
    advances.buffered_for.push(plan.buffered_for.map(from_utc));
}

/// Deactivates a schedule: no next time, nothing fired, nothing buffered.
fn push_deactivation(advances: &mut ScheduleAdvances, id: i64) {
    advances.id.push(id);
    advances.next_execution_at.push(None);
    advances.outcome.push("none");
    advances.execution_id.push(None);
    advances.buffered_for.push(None);
}

/// Deactivates a claimed row that cannot be fired, with an ERROR audit event saying why.
pub fn deactivate_broken(row: &ClaimedRow, error: &str) {
    let ids = text_ids(row);
    let mut audit_rows = AuditRows::default();
    push_event(&mut audit_rows, plan_broken(&due_schedule(row, &ids), error));
    let mut advances = ScheduleAdvances::default();
    push_deactivation(&mut advances, row.id);
    advance_schedules(&mut advances, Utc::now());
    audit_rows.insert_all();
}

/// The schedule and workflow ids as text, as the rules and the payload use them.
fn text_ids(row: &ClaimedRow) -> (String, String) {
    (row.schedule_id.to_string(), row.workflow_id.to_string())
}

/// The context of a row whose `context_data` cannot be read (it is deactivated, not fired).
static NO_CONTEXT: std::sync::LazyLock<Map<String, Value>> = std::sync::LazyLock::new(Map::new);

/// What the firing rules need to know about a claimed row.
fn due_schedule<'a>(row: &'a ClaimedRow, (schedule_id, workflow_id): &'a (String, String)) -> DueSchedule<'a> {
    DueSchedule {
        schedule_id,
        workflow_id,
        community_id: row.community_id,
        next_execution_at: row.next_execution_at,
        max_executions: row.max_executions,
        execution_count: row.execution_count,
        context_data: row.context_data.as_ref().unwrap_or(&NO_CONTEXT),
        overlap: row.overlap,
        max_runtime_seconds: row.max_runtime_seconds,
        busy: row.busy,
        buffered_for: row.buffered_for,
        grace_seconds: row.grace_seconds,
        end_at: row.end_at,
    }
}
