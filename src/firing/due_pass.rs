//! One due pass: claim due schedules in a batch, fire or miss each, and record everything in
//! the caller's transaction. The worker and `schedule_check_due()` both run this code.
//!
//! The work is set-based: one SELECT ... FOR UPDATE SKIP LOCKED claims the batch, the time
//! logic runs in Rust on the claimed rows, and one statement each writes the execution rows,
//! the schedule updates and the audit rows. NOTIFY goes through `Async_Notify`, which Postgres
//! delivers only if the transaction commits.

use std::collections::HashSet;
use std::mem::take;

use chrono::{DateTime, Utc};
use pgrx::datum::TimestampWithTimeZone;
use pgrx::prelude::*;
use pgrx::{JsonB, Uuid};
use serde_json::{json, Map, Value};

use scheduler_core::{
    build_trigger_data, decide_due, iso_utc, notify_payload, DueOutcome, RecurrenceColumns, ScheduleError,
};

use crate::audit::{AuditEvent, EventType};
use crate::guc;
use crate::cron_cache::recurrence_of;
use crate::time_conv::{from_utc, to_utc};

/// The settings a pass runs with.
pub struct PassSettings {
    pub now: DateTime<Utc>,
    pub grace: chrono::Duration,
    pub batch_size: i64,
    pub channel: String,
}

impl PassSettings {
    /// The current settings, with `now` read from the clock: the worker and
    /// `schedule_check_due()` both run a pass this way.
    pub fn now() -> PassSettings {
        PassSettings {
            now: Utc::now(),
            grace: guc::grace_period(),
            batch_size: guc::batch_size(),
            channel: guc::notify_channel(),
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

struct ClaimedRow {
    id: i64,
    schedule_id: Uuid,
    workflow_id: Uuid,
    schedule_type: String,
    cron_expression: Option<String>,
    interval_seconds: Option<i32>,
    scheduled_time: Option<DateTime<Utc>>,
    timezone: String,
    anchor_at: Option<DateTime<Utc>>,
    next_execution_at: DateTime<Utc>,
    max_executions: Option<i32>,
    execution_count: i32,
    context_data: Map<String, Value>,
    community_id: Option<i64>,
}

impl ClaimedRow {
    fn recurrence_columns(&self) -> RecurrenceColumns<'_> {
        RecurrenceColumns {
            schedule_type: &self.schedule_type,
            cron_expression: self.cron_expression.as_deref(),
            interval_seconds: self.interval_seconds,
            scheduled_time: self.scheduled_time,
            timezone: &self.timezone,
            anchor_at: self.anchor_at,
        }
    }
}

/// Column-wise buffers for the set-based writes.
#[derive(Default)]
struct Writes {
    // workflow_schedule_executions
    exec_ids: Vec<Uuid>,
    exec_schedule_ids: Vec<Uuid>,
    exec_workflow_ids: Vec<Uuid>,
    exec_scheduled_for: Vec<TimestampWithTimeZone>,
    exec_status: Vec<&'static str>,
    exec_coalesced: Vec<i32>,
    exec_trigger_data: Vec<JsonB>,
    // workflow_schedules
    row_ids: Vec<i64>,
    row_next: Vec<Option<TimestampWithTimeZone>>,
    row_fired: Vec<bool>,
    row_execution_ids: Vec<Option<Uuid>>,
    // audit_log
    audit_type: Vec<&'static str>,
    audit_community: Vec<Option<i64>>,
    audit_action: Vec<&'static str>,
    audit_result: Vec<&'static str>,
    audit_details: Vec<JsonB>,
    // NOTIFY payloads, sent only for executions actually inserted
    notify: Vec<(Uuid, String)>,
}

impl Writes {
    fn audit(&mut self, event: AuditEvent) {
        event.log();
        self.audit_type.push(event.event_type.as_str());
        self.audit_community.push(event.community_id);
        self.audit_action.push(event.action);
        self.audit_result.push(event.result);
        self.audit_details.push(JsonB(event.details_json()));
    }
}

/// Claims at most `batch_size` due schedules and fires or misses each. Runs in the caller's
/// transaction; a full batch means more may be due.
pub fn run_batch(settings: &PassSettings) -> BatchReport {
    let rows = claim_due_rows(settings);
    let mut report = BatchReport { claimed: rows.len(), ..Default::default() };
    let mut writes = Writes::default();
    let triggered_at = settings.now;

    for row in rows {
        let recurrence = match recurrence_of(&row.recurrence_columns()) {
            Ok(recurrence) => recurrence,
            Err(err) => {
                deactivate_broken(&mut writes, &row, &err);
                report.broken += 1;
                continue;
            }
        };
        let decision = decide_due(&recurrence, row.next_execution_at, settings.now, settings.grace);
        let execution_id = Uuid::from_bytes(*uuid::Uuid::new_v4().as_bytes());
        let (scheduled_for, coalesced, fired) = match decision.outcome {
            DueOutcome::Fire { scheduled_for, coalesced } => (scheduled_for, coalesced, true),
            DueOutcome::Missed { scheduled_for, coalesced } => (scheduled_for, coalesced, false),
        };
        let trigger_data = build_trigger_data(
            &row.schedule_id.to_string(),
            &execution_id.to_string(),
            &row.workflow_id.to_string(),
            row.community_id,
            scheduled_for,
            triggered_at,
            &row.context_data,
        );
        let count_after = row.execution_count + i32::from(fired);
        let limit_reached = fired && row.max_executions.is_some_and(|max| count_after >= max);
        let next = if limit_reached { None } else { decision.next_execution_at };

        writes.exec_ids.push(execution_id);
        writes.exec_schedule_ids.push(row.schedule_id);
        writes.exec_workflow_ids.push(row.workflow_id);
        writes.exec_scheduled_for.push(from_utc(scheduled_for));
        writes.exec_status.push(if fired { "triggered" } else { "missed" });
        writes.exec_coalesced.push(i32::try_from(coalesced).unwrap_or(i32::MAX));
        writes.row_ids.push(row.id);
        writes.row_next.push(next.map(from_utc));
        writes.row_fired.push(fired);
        writes.row_execution_ids.push(fired.then_some(execution_id));

        let ids = [
            ("schedule_id", json!(row.schedule_id.to_string())),
            ("execution_id", json!(execution_id.to_string())),
            ("workflow_id", json!(row.workflow_id.to_string())),
            ("scheduled_for", json!(iso_utc(scheduled_for))),
        ];
        if fired {
            writes.notify.push((execution_id, notify_payload(&trigger_data)));
            let mut details = ids.to_vec();
            details.push(("coalesced", json!(coalesced)));
            writes.audit(event(EventType::Audit, row.community_id, "schedule_triggered", "SUCCESS", details));
            writes.audit(event(
                EventType::Audit,
                row.community_id,
                "schedule_executed",
                "SUCCESS",
                vec![
                    ("schedule_id", json!(row.schedule_id.to_string())),
                    ("execution_id", json!(execution_id.to_string())),
                    ("execution_count", json!(count_after)),
                    ("next_execution_at", json!(next.map(iso_utc))),
                ],
            ));
            report.fired.push(Fired {
                schedule_id: row.schedule_id,
                execution_id,
                workflow_id: row.workflow_id,
                scheduled_for,
                triggered_at,
            });
        } else {
            let mut details = ids.to_vec();
            details.push(("late_by_seconds", json!((settings.now - scheduled_for).num_seconds())));
            details.push(("coalesced", json!(coalesced)));
            writes.audit(event(EventType::Audit, row.community_id, "schedule_missed", "MISSED", details));
            report.missed += 1;
        }
        if limit_reached {
            writes.audit(event(
                EventType::Audit,
                row.community_id,
                "schedule_limit_reached",
                "SUCCESS",
                vec![
                    ("schedule_id", json!(row.schedule_id.to_string())),
                    ("max_executions", json!(row.max_executions)),
                    ("execution_count", json!(count_after)),
                ],
            ));
        }
        writes.exec_trigger_data.push(JsonB(trigger_data));
    }

    // Each write hands its columns to Postgres without copying them.
    let inserted = write_executions(&mut writes, triggered_at);
    write_schedules(&mut writes, triggered_at);
    write_audit(&mut writes);
    send_notifications(&settings.channel, &writes.notify, &inserted);
    // An occurrence whose execution row already existed was not fired by this pass.
    report.fired.retain(|f| inserted.contains(f.execution_id.as_bytes()));
    report
}

fn event<'a>(
    event_type: EventType,
    community_id: Option<i64>,
    action: &'static str,
    result: &'static str,
    details: Vec<(&'a str, Value)>,
) -> AuditEvent<'a> {
    AuditEvent { event_type, community_id, user_id: None, action, result, details }
}

/// A row that cannot be evaluated is deactivated with an ERROR event; the pass goes on.
fn deactivate_broken(writes: &mut Writes, row: &ClaimedRow, err: &ScheduleError) {
    writes.row_ids.push(row.id);
    writes.row_next.push(None);
    writes.row_fired.push(false);
    writes.row_execution_ids.push(None);
    writes.audit(event(
        EventType::Error,
        row.community_id,
        "scheduler_job_error",
        "FAILURE",
        vec![
            ("schedule_id", json!(row.schedule_id.to_string())),
            ("workflow_id", json!(row.workflow_id.to_string())),
            ("error", json!(err.to_string())),
            ("action_taken", json!("deactivated")),
        ],
    ));
}

fn spi_failed(err: pgrx::spi::Error) -> ! {
    pgrx::error!("workflow_scheduler: due pass SPI failure: {err}")
}

fn claim_due_rows(settings: &PassSettings) -> Vec<ClaimedRow> {
    // connect_mut: a read-only SPI connection refuses FOR UPDATE.
    Spi::connect_mut(|client| {
        let table = client.update(
            "SELECT id, schedule_id, workflow_id, schedule_type, cron_expression, interval_seconds,
                    scheduled_time, timezone, anchor_at, next_execution_at, max_executions,
                    execution_count, context_data, community_id
               FROM workflow_scheduler.workflow_schedules
              WHERE is_active AND next_execution_at <= $1
              ORDER BY next_execution_at
              LIMIT $2
                FOR UPDATE SKIP LOCKED",
            None,
            &[from_utc(settings.now).into(), settings.batch_size.into()],
        )?;
        let mut rows = Vec::with_capacity(table.len());
        for row in table {
            let context_data = match row.get::<JsonB>(13)? {
                Some(JsonB(Value::Object(map))) => map,
                _ => Map::new(),
            };
            let schedule_id: Uuid = row.get(2)?.unwrap_or_else(|| Uuid::from_bytes([0; 16]));
            rows.push(ClaimedRow {
                id: row.get(1)?.unwrap_or_default(),
                schedule_id,
                workflow_id: row.get(3)?.unwrap_or(schedule_id),
                schedule_type: row.get(4)?.unwrap_or_default(),
                cron_expression: row.get(5)?,
                interval_seconds: row.get(6)?,
                scheduled_time: row.get::<TimestampWithTimeZone>(7)?.and_then(to_utc),
                timezone: row.get(8)?.unwrap_or_default(),
                anchor_at: row.get::<TimestampWithTimeZone>(9)?.and_then(to_utc),
                next_execution_at: row.get::<TimestampWithTimeZone>(10)?.and_then(to_utc).unwrap_or(settings.now),
                max_executions: row.get(11)?,
                execution_count: row.get(12)?.unwrap_or(0),
                context_data,
                community_id: row.get(14)?,
            });
        }
        Ok::<_, pgrx::spi::Error>(rows)
    })
    .unwrap_or_else(|err| spi_failed(err))
}

/// Inserts the execution rows and returns the ids that went in. The unique
/// (schedule_id, scheduled_for) constraint drops an occurrence that was already recorded.
fn write_executions(writes: &mut Writes, triggered_at: DateTime<Utc>) -> HashSet<[u8; 16]> {
    if writes.exec_ids.is_empty() {
        return HashSet::new();
    }
    Spi::connect_mut(|client| {
        let table = client.update(
            "INSERT INTO workflow_scheduler.workflow_schedule_executions
                 (execution_id, schedule_id, workflow_id, scheduled_for, triggered_at, status,
                  coalesced, trigger_data)
             SELECT e.execution_id, e.schedule_id, e.workflow_id, e.scheduled_for, $8, e.status,
                    e.coalesced, e.trigger_data
               FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::timestamptz[], $5::text[],
                           $6::int[], $7::jsonb[]) WITH ORDINALITY
                    AS e(execution_id, schedule_id, workflow_id, scheduled_for, status, coalesced,
                         trigger_data, ord)
              ORDER BY e.ord
             ON CONFLICT (schedule_id, scheduled_for) DO NOTHING
             RETURNING execution_id",
            None,
            &[
                take(&mut writes.exec_ids).into(),
                take(&mut writes.exec_schedule_ids).into(),
                take(&mut writes.exec_workflow_ids).into(),
                take(&mut writes.exec_scheduled_for).into(),
                take(&mut writes.exec_status).into(),
                take(&mut writes.exec_coalesced).into(),
                take(&mut writes.exec_trigger_data).into(),
                from_utc(triggered_at).into(),
            ],
        )?;
        let mut inserted = HashSet::with_capacity(table.len());
        for row in table {
            if let Some(id) = row.get::<Uuid>(1)? {
                inserted.insert(*id.as_bytes());
            }
        }
        Ok::<_, pgrx::spi::Error>(inserted)
    })
    .unwrap_or_else(|err| spi_failed(err))
}

/// Advances every claimed schedule in one statement.
fn write_schedules(writes: &mut Writes, updated_at: DateTime<Utc>) {
    if writes.row_ids.is_empty() {
        return;
    }
    Spi::run_with_args(
        "UPDATE workflow_scheduler.workflow_schedules AS s
            SET next_execution_at = u.next_execution_at,
                is_active = u.next_execution_at IS NOT NULL,
                execution_count = s.execution_count + CASE WHEN u.fired THEN 1 ELSE 0 END,
                last_execution_at = CASE WHEN u.fired THEN $5 ELSE s.last_execution_at END,
                last_execution_id = CASE WHEN u.fired THEN u.execution_id ELSE s.last_execution_id END,
                updated_at = $5
           FROM unnest($1::bigint[], $2::timestamptz[], $3::boolean[], $4::uuid[])
                AS u(id, next_execution_at, fired, execution_id)
          WHERE s.id = u.id",
        &[
            take(&mut writes.row_ids).into(),
            take(&mut writes.row_next).into(),
            take(&mut writes.row_fired).into(),
            take(&mut writes.row_execution_ids).into(),
            from_utc(updated_at).into(),
        ],
    )
    .unwrap_or_else(|err| spi_failed(err));
}

fn write_audit(writes: &mut Writes) {
    if writes.audit_action.is_empty() {
        return;
    }
    Spi::run_with_args(
        "INSERT INTO workflow_scheduler.audit_log (event_type, community_id, action, result, details)
         SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::jsonb[])",
        &[
            take(&mut writes.audit_type).into(),
            take(&mut writes.audit_community).into(),
            take(&mut writes.audit_action).into(),
            take(&mut writes.audit_result).into(),
            take(&mut writes.audit_details).into(),
        ],
    )
    .unwrap_or_else(|err| spi_failed(err));
}

/// Queues one NOTIFY per inserted execution; Postgres sends them at commit.
fn send_notifications(channel: &str, payloads: &[(Uuid, String)], inserted: &HashSet<[u8; 16]>) {
    let payloads: Vec<&str> = payloads
        .iter()
        .filter(|(execution_id, _)| inserted.contains(execution_id.as_bytes()))
        .map(|(_, payload)| payload.as_str())
        .collect();
    if payloads.is_empty() {
        return;
    }
    Spi::run_with_args(
        "SELECT pg_notify($1, payload) FROM unnest($2::text[]) WITH ORDINALITY AS p(payload, ord) ORDER BY ord",
        &[channel.into(), payloads.into()],
    )
    .unwrap_or_else(|err| spi_failed(err));
}
