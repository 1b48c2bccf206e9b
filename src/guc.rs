//! Every `workflow_scheduler.*` setting, registered in one place, with typed accessors.

use std::ffi::{c_char, c_void, CStr};

use pgrx::{pg_sys, GucContext, GucFlags, GucRegistry, GucSetting, PostgresGucEnum};

use scheduler_core::PayloadMode;

static DATABASE_NAME: GucSetting<Option<std::ffi::CString>> =
    GucSetting::<Option<std::ffi::CString>>::new(Some(c"postgres"));
static ENABLED: GucSetting<bool> = GucSetting::<bool>::new(true);
static POLL_INTERVAL_MS: GucSetting<i32> = GucSetting::<i32>::new(1000);
static GRACE_PERIOD_S: GucSetting<i32> = GucSetting::<i32>::new(15 * 60);
static BATCH_SIZE: GucSetting<i32> = GucSetting::<i32>::new(1000);
static NOTIFY_CHANNEL: GucSetting<Option<std::ffi::CString>> =
    GucSetting::<Option<std::ffi::CString>>::new(Some(c"workflow_scheduler"));
static DEFAULT_TIMEZONE: GucSetting<Option<std::ffi::CString>> =
    GucSetting::<Option<std::ffi::CString>>::new(Some(c"UTC"));
static ADMIN_ROLE: GucSetting<Option<std::ffi::CString>> = GucSetting::<Option<std::ffi::CString>>::new(None);
/// See `fire_batch_window`: measured in docs/benchmarks.md (a pass per due instant at 0).
const DEFAULT_FIRE_BATCH_WINDOW_MS: i32 = 2;
static NOTIFY_PAYLOAD: GucSetting<NotifyPayload> = GucSetting::<NotifyPayload>::new(NotifyPayload::Full);
static COMPLETION_CHANNEL: GucSetting<Option<std::ffi::CString>> =
    GucSetting::<Option<std::ffi::CString>>::new(Some(c"workflow_scheduler_completed"));
static DEFAULT_HOOK: GucSetting<Option<std::ffi::CString>> = GucSetting::<Option<std::ffi::CString>>::new(None);
static HTTP_WORKERS: GucSetting<i32> = GucSetting::<i32>::new(delivery_core::DEFAULT_HTTP_WORKERS as i32);
static HTTP_RETRY_DELAYS: GucSetting<Option<std::ffi::CString>> =
    GucSetting::<Option<std::ffi::CString>>::new(Some(c"5s,30s,2min,10min,30min,1h,2h,4h,8h,8h"));
static HTTP_ALLOWED_CIDRS: GucSetting<Option<std::ffi::CString>> = GucSetting::<Option<std::ffi::CString>>::new(None);
static HTTP_SECRET_OVERLAP_S: GucSetting<i32> = GucSetting::<i32>::new(24 * 3600);
static HISTORY_RETENTION_S: GucSetting<i32> = GucSetting::<i32>::new(30 * 86_400);
static AUDIT_RETENTION_S: GucSetting<i32> = GucSetting::<i32>::new(90 * 86_400);
static FIRE_EVENTS: GucSetting<FireEventsSetting> =
    GucSetting::<FireEventsSetting>::new(FireEventsSetting::LogAndTable);
static FIRE_BATCH_WINDOW_MS: GucSetting<i32> = GucSetting::<i32>::new(DEFAULT_FIRE_BATCH_WINDOW_MS);
static NOTIFY_QUEUE_PAUSE_AT: GucSetting<f64> = GucSetting::<f64>::new(0.5);

/// `workflow_scheduler.fire_events`.
#[derive(PostgresGucEnum, Clone, Copy, PartialEq, Eq, Debug)]
enum FireEventsSetting {
    #[name = c"log_and_table"]
    LogAndTable,
    #[name = c"table"]
    Table,
    #[name = c"none"]
    None,
}

/// `workflow_scheduler.notify_payload`.
#[derive(PostgresGucEnum, Clone, Copy, PartialEq, Eq, Debug)]
enum NotifyPayload {
    #[name = c"full"]
    Full,
    #[name = c"ids"]
    Ids,
}

/// Registers the settings. `database_name` is a postmaster setting, so it is only defined
/// while `shared_preload_libraries` is being processed; the others are always defined so
/// that SQL functions see them in any backend.
pub fn init(preloading: bool) {
    if preloading {
        GucRegistry::define_string_guc(
            c"workflow_scheduler.database_name",
            c"Database the scheduler worker connects to.",
            c"The extension must be created in this database.",
            &DATABASE_NAME,
            GucContext::Postmaster,
            GucFlags::default(),
        );
        GucRegistry::define_int_guc(
            c"workflow_scheduler.http_workers",
            c"Threads of the delivery worker that send HTTP hook requests.",
            c"Each thread has at most one request in flight; they never touch the database.",
            &HTTP_WORKERS,
            1,
            256,
            GucContext::Postmaster,
            GucFlags::default(),
        );
    }
    GucRegistry::define_bool_guc(
        c"workflow_scheduler.enabled",
        c"Whether the scheduler worker fires due schedules.",
        c"When off, the worker stays connected but runs no due pass.",
        &ENABLED,
        GucContext::Sighup,
        GucFlags::default(),
    );
    GucRegistry::define_int_guc(
        c"workflow_scheduler.poll_interval",
        c"Longest time the worker sleeps between due passes.",
        c"The worker also wakes at the earliest next_execution_at, and at once when a sooner schedule is committed.",
        &POLL_INTERVAL_MS,
        10,
        3_600_000,
        GucContext::Sighup,
        GucFlags::UNIT_MS,
    );
    GucRegistry::define_int_guc(
        c"workflow_scheduler.grace_period",
        c"How late an occurrence may still fire.",
        c"An occurrence older than this is recorded as missed instead of fired.",
        &GRACE_PERIOD_S,
        0,
        i32::MAX,
        GucContext::Sighup,
        GucFlags::UNIT_S,
    );
    GucRegistry::define_int_guc(
        c"workflow_scheduler.batch_size",
        c"Most schedules one due-pass transaction claims.",
        c"Larger batches fire bursts faster; smaller ones keep transactions short.",
        &BATCH_SIZE,
        1,
        // The worker holds a batch in memory (about 10-14 KiB per row): keep it bounded.
        10_000,
        GucContext::Sighup,
        GucFlags::default(),
    );
    GucRegistry::define_string_guc(
        c"workflow_scheduler.admin_role",
        c"Role whose members see and change every schedule.",
        c"Empty: only superusers do. Other roles see only schedules owned by a role they are a member of.",
        &ADMIN_ROLE,
        // Sighup: only the server's configuration (a superuser) sets it.
        GucContext::Sighup,
        GucFlags::default(),
    );
    GucRegistry::define_enum_guc(
        c"workflow_scheduler.fire_events",
        c"What each scheduled fire writes besides its execution row: log_and_table, table or none.",
        c"Governs schedule_triggered, schedule_executed and scheduler_job_executed: the server log line and the audit_log row (log_and_table), the row only (table), or neither (none). Other events are always written.",
        &FIRE_EVENTS,
        GucContext::Sighup,
        GucFlags::default(),
    );
    GucRegistry::define_int_guc(
        c"workflow_scheduler.fire_batch_window",
        c"Shortest time from one due pass to the next while schedules keep falling due.",
        c"Schedules due within this time after a pass wait for the next one, so that near-simultaneous fires share a transaction; each fire is at most this much later. 0 starts a pass for every due instant.",
        &FIRE_BATCH_WINDOW_MS,
        0,
        1_000,
        GucContext::Sighup,
        GucFlags::UNIT_MS,
    );
    GucRegistry::define_enum_guc(
        c"workflow_scheduler.notify_payload",
        c"What a fire's NOTIFY carries: full (the trigger data) or ids.",
        c"LISTEN has no privileges: with ids, a listener learns only schedule_id, execution_id, workflow_id and scheduled_for.",
        &NOTIFY_PAYLOAD,
        GucContext::Sighup,
        GucFlags::default(),
    );
    GucRegistry::define_int_guc(
        c"workflow_scheduler.http_secret_overlap",
        c"How long a rotated hook secret still signs requests, next to the new one.",
        c"hook_rotate_secret keeps the old secret for this long; receivers accept either signature meanwhile.",
        &HTTP_SECRET_OVERLAP_S,
        0,
        i32::MAX,
        GucContext::Sighup,
        GucFlags::UNIT_S,
    );
    GucRegistry::define_int_guc(
        c"workflow_scheduler.history_retention",
        c"How long finished executions and their deliveries are kept.",
        c"The worker deletes older ones in batches between passes; run_maintenance() does it now. 0 keeps them forever.",
        &HISTORY_RETENTION_S,
        0,
        i32::MAX,
        GucContext::Sighup,
        GucFlags::UNIT_S,
    );
    GucRegistry::define_int_guc(
        c"workflow_scheduler.audit_retention",
        c"How long audit_log rows are kept.",
        c"The worker deletes older ones in batches between passes; run_maintenance() does it now. 0 keeps them forever.",
        &AUDIT_RETENTION_S,
        0,
        i32::MAX,
        GucContext::Sighup,
        GucFlags::UNIT_S,
    );
    GucRegistry::define_float_guc(
        c"workflow_scheduler.notify_queue_pause_at",
        c"Share of the NOTIFY queue in use above which the worker pauses firing.",
        c"A full queue makes every NOTIFY fail; listeners that do not read fill it. 0 pauses while any notification waits unread.",
        &NOTIFY_QUEUE_PAUSE_AT,
        0.0,
        1.0,
        GucContext::Sighup,
        GucFlags::default(),
    );
    // The string settings are checked when set: a bad value is refused with "invalid value
    // for parameter" and the old one stays, instead of failing every pass of the worker.
    unsafe {
        GucRegistry::define_string_guc_with_hooks(
            c"workflow_scheduler.notify_channel",
            c"NOTIFY channel that receives trigger payloads.",
            c"Workflow engines LISTEN on this channel. 1 to 63 bytes.",
            &NOTIFY_CHANNEL,
            GucContext::Sighup,
            GucFlags::default(),
            Some(check_notify_channel),
            None,
            None,
        );
        GucRegistry::define_string_guc_with_hooks(
            c"workflow_scheduler.completion_channel",
            c"NOTIFY channel that announces finished executions.",
            c"Each completion (completed, failed, timed_out) sends execution_id, schedule_id and status. 1 to 63 bytes.",
            &COMPLETION_CHANNEL,
            GucContext::Sighup,
            GucFlags::default(),
            Some(check_notify_channel),
            None,
            None,
        );
        GucRegistry::define_string_guc_with_hooks(
            c"workflow_scheduler.default_hook",
            c"HTTP hook for schedules whose schedule_config names none.",
            c"Empty: only schedules with a hook key are delivered by HTTP. NOTIFY is sent in every case.",
            &DEFAULT_HOOK,
            GucContext::Sighup,
            GucFlags::default(),
            Some(check_hook_name),
            None,
            None,
        );
        GucRegistry::define_string_guc_with_hooks(
            c"workflow_scheduler.http_retry_delays",
            c"Delays between attempts of an HTTP hook delivery.",
            c"Comma-separated, units ms, s, min, h; each is varied by 20%. After the last one the delivery is failed.",
            &HTTP_RETRY_DELAYS,
            GucContext::Sighup,
            GucFlags::default(),
            Some(check_retry_delays),
            None,
            None,
        );
        GucRegistry::define_string_guc_with_hooks(
            c"workflow_scheduler.http_allowed_cidrs",
            c"Non-public addresses that HTTP hooks may connect to anyway.",
            c"Comma-separated CIDRs, e.g. 127.0.0.1/32. Loopback, private, link-local and other non-public addresses are refused unless listed.",
            &HTTP_ALLOWED_CIDRS,
            GucContext::Sighup,
            GucFlags::SUPERUSER_ONLY,
            Some(check_allowed_cidrs),
            None,
            None,
        );
        GucRegistry::define_string_guc_with_hooks(
            c"workflow_scheduler.timezone",
            c"Default IANA time zone for schedules that name none.",
            c"Used by schedule_add and schedule_update when schedule_config has no timezone key.",
            &DEFAULT_TIMEZONE,
            GucContext::Sighup,
            GucFlags::default(),
            Some(check_timezone),
            None,
            None,
        );
    }
}

/// The value a string check hook is asked about, if it is valid UTF-8.
unsafe fn proposed(newval: *mut *mut c_char) -> Option<&'static str> {
    if newval.is_null() || unsafe { (*newval).is_null() } {
        return None;
    }
    unsafe { CStr::from_ptr(*newval) }.to_str().ok()
}

/// A channel name must fit an identifier: 1 to NAMEDATALEN - 1 bytes.
unsafe extern "C-unwind" fn check_notify_channel(
    newval: *mut *mut c_char,
    _extra: *mut *mut c_void,
    _source: pg_sys::GucSource::Type,
) -> bool {
    unsafe { proposed(newval) }.is_some_and(|name| !name.is_empty() && name.len() < pg_sys::NAMEDATALEN as usize)
}

/// A hook name as `hook_create` accepts it (empty: no default hook).
unsafe extern "C-unwind" fn check_hook_name(
    newval: *mut *mut c_char,
    _extra: *mut *mut c_void,
    _source: pg_sys::GucSource::Type,
) -> bool {
    unsafe { proposed(newval) }.is_none_or(|name| name.len() < pg_sys::NAMEDATALEN as usize)
}

unsafe extern "C-unwind" fn check_retry_delays(
    newval: *mut *mut c_char,
    _extra: *mut *mut c_void,
    _source: pg_sys::GucSource::Type,
) -> bool {
    unsafe { proposed(newval) }.is_some_and(|text| delivery_core::RetryDelays::parse(text).is_ok())
}

unsafe extern "C-unwind" fn check_allowed_cidrs(
    newval: *mut *mut c_char,
    _extra: *mut *mut c_void,
    _source: pg_sys::GucSource::Type,
) -> bool {
    unsafe { proposed(newval) }.is_none_or(|text| delivery_core::AddressPolicy::parse(text).is_ok())
}

unsafe extern "C-unwind" fn check_timezone(
    newval: *mut *mut c_char,
    _extra: *mut *mut c_void,
    _source: pg_sys::GucSource::Type,
) -> bool {
    unsafe { proposed(newval) }.is_some_and(|name| scheduler_core::parse_timezone(name).is_ok())
}

fn string_or(setting: &GucSetting<Option<std::ffi::CString>>, fallback: &CStr) -> String {
    setting.get().unwrap_or_else(|| fallback.to_owned()).to_string_lossy().into_owned()
}

pub fn database_name() -> String {
    string_or(&DATABASE_NAME, c"postgres")
}

pub fn enabled() -> bool {
    ENABLED.get()
}

pub fn poll_interval() -> std::time::Duration {
    std::time::Duration::from_millis(POLL_INTERVAL_MS.get().max(1) as u64)
}

pub fn grace_period() -> chrono::Duration {
    chrono::Duration::seconds(GRACE_PERIOD_S.get() as i64)
}

pub fn batch_size() -> i64 {
    BATCH_SIZE.get() as i64
}

pub fn notify_channel() -> String {
    string_or(&NOTIFY_CHANNEL, c"workflow_scheduler")
}

pub fn completion_channel() -> String {
    string_or(&COMPLETION_CHANNEL, c"workflow_scheduler_completed")
}

pub fn default_timezone() -> String {
    string_or(&DEFAULT_TIMEZONE, c"UTC")
}

/// The admin role's name, if one is set.
pub fn admin_role() -> Option<String> {
    let name = string_or(&ADMIN_ROLE, c"");
    (!name.is_empty()).then_some(name)
}

/// The hook for schedules that name none, if one is set.
pub fn default_hook() -> Option<String> {
    let name = string_or(&DEFAULT_HOOK, c"");
    (!name.is_empty()).then_some(name)
}

/// How long a rotated hook secret still signs, next to the new one.
pub fn http_secret_overlap() -> chrono::Duration {
    chrono::Duration::seconds(HTTP_SECRET_OVERLAP_S.get() as i64)
}

pub fn notify_payload() -> PayloadMode {
    match NOTIFY_PAYLOAD.get() {
        NotifyPayload::Full => PayloadMode::Full,
        NotifyPayload::Ids => PayloadMode::Ids,
    }
}

pub fn fire_events() -> scheduler_core::FireEvents {
    match FIRE_EVENTS.get() {
        FireEventsSetting::LogAndTable => scheduler_core::FireEvents::LogAndTable,
        FireEventsSetting::Table => scheduler_core::FireEvents::Table,
        FireEventsSetting::None => scheduler_core::FireEvents::None,
    }
}

pub fn fire_batch_window() -> chrono::Duration {
    chrono::Duration::milliseconds(i64::from(FIRE_BATCH_WINDOW_MS.get()))
}

/// Above this share of the NOTIFY queue in use, firing pauses.
pub fn notify_queue_pause_at() -> f64 {
    NOTIFY_QUEUE_PAUSE_AT.get()
}

pub fn http_workers() -> usize {
    HTTP_WORKERS.get().max(1) as usize
}

/// Checked when set, so it always parses; the default if it somehow does not.
pub fn http_retry_delays() -> delivery_core::RetryDelays {
    delivery_core::RetryDelays::parse(&string_or(&HTTP_RETRY_DELAYS, c"")).unwrap_or_default()
}

/// Checked when set, so it always parses; nothing allowed if it somehow does not.
pub fn http_allowed_cidrs() -> delivery_core::AddressPolicy {
    delivery_core::AddressPolicy::parse(&string_or(&HTTP_ALLOWED_CIDRS, c""))
        .unwrap_or_else(|_| delivery_core::AddressPolicy::new(Vec::new()))
}

/// Finished executions triggered before this are deleted; `None`: kept forever.
pub fn history_cutoff(now: chrono::DateTime<chrono::Utc>) -> Option<chrono::DateTime<chrono::Utc>> {
    retention_cutoff(HISTORY_RETENTION_S.get(), now)
}

/// Audit rows logged before this are deleted; `None`: kept forever.
pub fn audit_cutoff(now: chrono::DateTime<chrono::Utc>) -> Option<chrono::DateTime<chrono::Utc>> {
    retention_cutoff(AUDIT_RETENTION_S.get(), now)
}

fn retention_cutoff(seconds: i32, now: chrono::DateTime<chrono::Utc>) -> Option<chrono::DateTime<chrono::Utc>> {
    (seconds > 0).then(|| now - chrono::Duration::seconds(i64::from(seconds)))
}
