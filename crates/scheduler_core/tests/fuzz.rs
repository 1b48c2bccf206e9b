//! Fuzz targets for the two parsers users feed directly: the cron expression parser and the
//! `schedule_config` / `context_data` validators. Whatever the input, they must return (an
//! error is fine) without panicking, and a parsed expression must answer `next_after` with a
//! later instant or none, and have a description (`describe_cron`).
//!
//! coverage-guided fuzzers (cargo fuzz, libFuzzer) need a nightly toolchain this project does
//! not have, so the targets run here on generated inputs: random bytes, mutations of valid
//! expressions built from the cron alphabet, and random JSON configs. `make test` runs a bounded
//! number of inputs (a few seconds); run longer with
//! `WS_FUZZ_INPUTS=5000000 cargo test --release -p scheduler_core --test fuzz`.

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::{json, Map, Value};

use scheduler_core::{describe_cron, parse_timezone, validate_config, validate_context_data, CronSchedule};

mod common;
use common::Lcg;

fn inputs(default: usize) -> usize {
    std::env::var("WS_FUZZ_INPUTS").ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

const SEEDS: [&str; 12] = [
    "*/15 9-17 * * 1-5",
    "0 0 L * *",
    "0 12 15W * *",
    "0 9 * * fri#2",
    "30 2 * * *",
    "10/15 22-2 28-3 nov-feb fri-mon",
    "0 0 $ * *",
    "*,5 * * * sun-sun",
    "@hourly",
    "0 0 1 * +MON",
    "0 0 ? * 5L",
    "59 23 31 12 7",
];

/// Characters a cron expression is made of, plus a few that are not.
const ALPHABET: &[u8] = b"0123456789*/-,#LW?$+ @ JANFEBMARSUNMONfri\t\n\\\"'%\x00\xff";

/// One of the valid seed expressions with a few random edits.
fn mutate(rng: &mut Lcg) -> Vec<u8> {
    let mut bytes = SEEDS[rng.index(SEEDS.len())].as_bytes().to_vec();
    for _ in 0..1 + rng.index(4) {
        let at = rng.index(bytes.len() + 1);
        match rng.index(4) {
            0 => bytes.insert(at, rng.choose(ALPHABET)),
            1 if at < bytes.len() => {
                bytes.remove(at);
            }
            2 if at < bytes.len() => bytes[at] = rng.choose(ALPHABET),
            _ => {
                // Repeat a slice: long lists, long ranges.
                let end = (at + 1 + rng.index(6)).min(bytes.len());
                let piece = bytes[at.min(end)..end].to_vec();
                for _ in 0..rng.index(20) {
                    bytes.splice(at..at, piece.iter().copied());
                }
            }
        }
    }
    bytes
}

fn random_bytes(rng: &mut Lcg) -> Vec<u8> {
    (0..rng.index(40)).map(|_| if rng.index(2) == 0 { rng.choose(ALPHABET) } else { rng.next() as u8 }).collect()
}

/// Parses and, when that succeeds, asks for the next time after a random instant in a random
/// zone: it must be later, or none; and the expression must have a description.
fn cron_target(input: &[u8], rng: &mut Lcg) {
    let text = String::from_utf8_lossy(input);
    let Ok(schedule) = CronSchedule::parse(&text) else {
        return;
    };
    const ZONES: [&str; 4] = ["UTC", "Europe/Berlin", "Australia/Lord_Howe", "Pacific/Apia"];
    let zone = parse_timezone(ZONES[rng.index(ZONES.len())]).unwrap();
    let base: DateTime<Utc> = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
    let after = base + Duration::minutes(rng.index(4 * 365 * 1440) as i64);
    if let Some(next) = schedule.next_after(after, zone) {
        assert!(next > after, "{text:?}: next {next} is not after {after}");
    }
    let description = describe_cron(&text).unwrap_or_else(|e| panic!("{text:?} parses but has no description: {e}"));
    assert!(!description.is_empty() && !description.contains("{}"), "{text:?}: {description:?}");
}

fn random_value(rng: &mut Lcg, depth: usize) -> Value {
    match rng.index(if depth > 3 { 6 } else { 8 }) {
        0 => Value::Null,
        1 => json!(rng.index(2) == 0),
        2 => json!(rng.next() as i64 - (1 << 30)),
        3 => json!(rng.choose(&["cron", "interval", "one_time", "weekly", "", "UTC", "Mars/Olympus"])),
        4 => json!(String::from_utf8_lossy(&random_bytes(rng))),
        5 => {
            const NUMBERS: [&str; 4] = ["1e400", "-0", "12345678901234567890123", "0.1"];
            serde_json::from_str(NUMBERS[rng.index(NUMBERS.len())]).unwrap()
        }
        6 => Value::Array((0..rng.index(4)).map(|_| random_value(rng, depth + 1)).collect()),
        _ => Value::Object(random_object(rng, depth + 1)),
    }
}

fn random_object(rng: &mut Lcg, depth: usize) -> Map<String, Value> {
    const KEYS: [&str; 12] = [
        "schedule_type",
        "cron_expression",
        "interval_seconds",
        "scheduled_time",
        "timezone",
        "max_executions",
        "typo",
        "schedule_id",
        "execution_id",
        "truncated",
        "",
        "nested",
    ];
    (0..rng.index(6))
        .map(|_| {
            let key = rng.choose(&KEYS);
            let value = match key {
                "cron_expression" if rng.index(2) == 0 => {
                    json!(String::from_utf8_lossy(&mutate(rng)))
                }
                "scheduled_time" if rng.index(2) == 0 => {
                    json!(rng.choose(&[
                        "2030-01-01T00:00:00",
                        "2024-03-31T02:30",
                        "2030-13-01",
                        "x",
                        "2030-01-01 00:00+25:00"
                    ]))
                }
                _ => random_value(rng, depth),
            };
            (key.to_string(), value)
        })
        .collect()
}

#[test]
fn the_cron_parser_never_panics() {
    let mut rng = Lcg(0x5eed_c205);
    // The slowest input is reported (run with --nocapture), not asserted: speed is measured,
    // never a test condition.
    let mut slowest = (std::time::Duration::ZERO, Vec::new());
    for round in 0..inputs(100_000) {
        let input = if round % 3 == 0 { random_bytes(&mut rng) } else { mutate(&mut rng) };
        let began = std::time::Instant::now();
        cron_target(&input, &mut rng);
        if began.elapsed() > slowest.0 {
            slowest = (began.elapsed(), input);
        }
    }
    eprintln!("slowest cron input: {:?} for {:?}", slowest.0, String::from_utf8_lossy(&slowest.1));
}

#[test]
fn the_config_validators_never_panic() {
    let mut rng = Lcg(0x5eed_c0f1);
    let now = Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap();
    for _ in 0..inputs(100_000) {
        let config =
            if rng.index(5) == 0 { random_value(&mut rng, 0) } else { Value::Object(random_object(&mut rng, 0)) };
        if let Ok(valid) = validate_config(&config, "UTC", now) {
            assert!(valid.interval_seconds.is_none_or(|s| s >= 1), "{config}");
            assert!(valid.max_executions.is_none_or(|m| m >= 1), "{config}");
        }
        let _ = validate_context_data(&random_value(&mut rng, 0));
    }
}
