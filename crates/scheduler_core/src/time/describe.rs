//! Cron expressions in English: `0 9 * * 1-5` is "At 09:00, Monday through Friday".
//!
//! The wording and conventions are those of cronstrue (the npm package behind most cron
//! descriptions on the web, and the JavaScript sibling of cron-descriptor) with
//! `use24HourTimeFormat: true`, so that its users read familiar text;
//! `tests/data/describe_cronstrue.tsv` holds its output for a few hundred expressions. The
//! expression is validated first, with the errors `schedule_next` gives.
//!
//! Each field is described as written, not as the set it selects: `22-2` reads as a range
//! ("between 22:00 and 02:00"), `*/15` as a step. The text is ours where the contract's syntax
//! goes beyond cronstrue's (`$`, `*` in a list, the `+` prefix, Sunday-to-Sunday ranges, `#`
//! after a range) and where cronstrue's text would be wrong or garbled (`*/90` minutes, ranges
//! in a list with a step); tests/data/README.md lists each case.

use crate::error::ScheduleError;
use crate::time::cron::{expand_macro, CronSchedule};
use crate::time::cron_syntax::{sunday_at_range_end, value};

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
const ORDINALS: [&str; 5] = ["first", "second", "third", "fourth", "fifth"];

/// The English description of a cron expression (5 fields or a macro), or the error
/// [`CronSchedule::parse`] gives for it.
pub fn describe_cron(expression: &str) -> Result<String, ScheduleError> {
    let schedule = CronSchedule::parse(expression)?;
    let expanded = expand_macro(schedule.expression())?;
    let fields: Vec<&str> = expanded.split_whitespace().collect();
    let [minute, hour, day_of_month, month, day_of_week] = fields[..] else {
        // CronSchedule::parse accepts 5 fields only.
        return Err(ScheduleError::InvalidCron(format!("expected 5 fields, got {}", fields.len())));
    };
    let (days_and, day_of_week) = match day_of_week.strip_prefix('+') {
        Some(rest) => (true, rest),
        None => (false, day_of_week),
    };
    let mut parsed = Expression {
        minute: parse_field(Kind::Minute, minute),
        hour: parse_field(Kind::Hour, hour),
        day_of_month: parse_field(Kind::DayOfMonth, day_of_month),
        month: parse_field(Kind::Month, month),
        day_of_week: parse_field(Kind::DayOfWeek, day_of_week),
        days_and,
    };
    parsed.normalize();
    Ok(parsed.describe())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Minute,
    Hour,
    DayOfMonth,
    Month,
    DayOfWeek,
}

impl Kind {
    /// The field's index in `cron_syntax`.
    fn index(self) -> usize {
        self as usize
    }

    /// How many values the field has (a week has 7 days, whatever 7 means).
    fn length(self) -> u32 {
        match self {
            Kind::Minute => 60,
            Kind::Hour => 24,
            Kind::DayOfMonth => 31,
            Kind::Month => 12,
            Kind::DayOfWeek => 7,
        }
    }

    fn min(self) -> u32 {
        match self {
            Kind::DayOfMonth | Kind::Month => 1,
            _ => 0,
        }
    }
}

/// Where a step starts: `*/s`, `N/s` (on to the end of the field), `a-b/s`.
#[derive(Debug, Clone, PartialEq)]
enum Start {
    Every,
    At(u32),
    Range(u32, u32),
}

/// Which occurrence in the month `#` (or `L`) names.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Occurrence {
    Number(u32),
    Last,
}

/// One list element, as written. Day-of-week values keep 7 for Sunday.
#[derive(Debug, Clone, PartialEq)]
enum Element {
    Value(u32),
    Range(u32, u32),
    /// The step as written, without leading zeros (it may be longer than any integer type).
    Step(Start, String),
    /// `L` or `$` in day of month.
    LastDay,
    /// `LW`.
    LastWeekday,
    /// `15W`.
    NearestWeekday(u32),
    /// `5#2`, `5L`, `mon-fri#1`: that occurrence in the month of each day the element names.
    Nth(Box<Element>, Occurrence),
}

#[derive(Debug, Clone, PartialEq)]
enum Field {
    /// `*`, `?`, or a list with one of them.
    Every,
    List(Vec<Element>),
}

impl Field {
    fn single(&self) -> Option<&Element> {
        match self {
            Field::List(elements) if elements.len() == 1 => Some(&elements[0]),
            _ => None,
        }
    }

    fn has_step(&self) -> bool {
        matches!(self, Field::List(elements) if elements.iter().any(|e| matches!(e, Element::Step(..))))
    }
}

/// Reads a field that [`CronSchedule::parse`] accepted.
fn parse_field(kind: Kind, text: &str) -> Field {
    let parts: Vec<&str> = text.split(',').collect();
    let day_field = matches!(kind, Kind::DayOfMonth | Kind::DayOfWeek);
    if parts.iter().any(|part| *part == "*" || (day_field && *part == "?")) {
        return Field::Every;
    }
    let mut elements: Vec<Element> = parts.iter().map(|part| parse_element(kind, part)).collect();
    // A list of plain numbers reads in ascending order (cronstrue sorts it); any other list
    // reads in the order written.
    if parts.iter().all(|part| part.bytes().all(|b| b.is_ascii_digit())) {
        elements.sort_by_key(|element| match element {
            Element::Value(v) => *v,
            _ => 0,
        });
    }
    Field::List(elements)
}

fn parse_element(kind: Kind, text: &str) -> Element {
    if kind == Kind::DayOfMonth {
        match text.to_ascii_uppercase().as_str() {
            "L" | "$" => return Element::LastDay,
            "LW" => return Element::LastWeekday,
            _ => {}
        }
        if let Some(day) = text.strip_suffix('W') {
            return Element::NearestWeekday(number(day));
        }
    }
    if kind == Kind::DayOfWeek {
        if let Some((days, which)) = text.split_once('#') {
            let which =
                if which.eq_ignore_ascii_case("L") { Occurrence::Last } else { Occurrence::Number(number(which)) };
            return Element::Nth(Box::new(parse_element(kind, days)), which);
        }
        if let Some(day) = text.strip_suffix(['L', 'l']).and_then(|day| value(kind.index(), day)) {
            return Element::Nth(Box::new(Element::Value(day.number)), Occurrence::Last);
        }
    }
    let (range, step) = match text.split_once('/') {
        Some((range, step)) => (range, Some(step.trim_start_matches('0').to_string())),
        None => (text, None),
    };
    let start = if range == "*" {
        Start::Every
    } else if let Some((from, to)) = range.split_once('-') {
        range_ends(kind, from, to)
    } else {
        let at = value_of(kind, range);
        // `7/step` in day of week is `0/step`.
        Start::At(if kind == Kind::DayOfWeek && step.is_some() { at % 7 } else { at })
    };
    match (start, step) {
        (start, Some(step)) => Element::Step(start, step),
        (Start::Range(from, to), None) => sunday_to_sunday(kind, from, to),
        (Start::At(at), None) => Element::Value(at),
        // `*` alone is Field::Every, and `*#2` does not parse.
        (Start::Every, None) => Element::Value(kind.min()),
    }
}

fn range_ends(kind: Kind, from: &str, to: &str) -> Start {
    match (value(kind.index(), from), value(kind.index(), to)) {
        (Some(start), Some(end)) => Start::Range(start.number, sunday_at_range_end(kind.index(), start, end)),
        _ => Start::Range(number(from), number(to)),
    }
}

/// A day-of-week range from Sunday to Sunday selects Sunday (`sun-sun`, `7-7`) or the whole
/// week (`0-7`); "Sunday through Sunday" would not say which.
fn sunday_to_sunday(kind: Kind, from: u32, to: u32) -> Element {
    if kind != Kind::DayOfWeek || !matches!(from, 0 | 7) || !matches!(to, 0 | 7) {
        return Element::Range(from, to);
    }
    if (from, to) == (0, 7) {
        Element::Range(0, 6)
    } else {
        Element::Value(0)
    }
}

fn value_of(kind: Kind, text: &str) -> u32 {
    value(kind.index(), text).map_or(u32::MAX, |v| v.number)
}

fn number(text: &str) -> u32 {
    text.parse().unwrap_or(u32::MAX)
}

/// The five fields, read.
struct Expression {
    minute: Field,
    hour: Field,
    day_of_month: Field,
    month: Field,
    day_of_week: Field,
    /// `+` before the day of week: both day fields must match.
    days_and: bool,
}

impl Expression {
    /// Rewrites that keep the meaning and give cronstrue's reading: `0/5` minutes is `*/5`,
    /// `*/1` is `*`, `3/2` months is `3-12/2`, and an hour of `9` under a minute step is the
    /// range 09:00-09:59. Ours: `*/90` minutes is minute 0, not "every 90 minutes".
    fn normalize(&mut self) {
        // `*/1` in one day field still counts as restricted for the OR of the two, so it stays
        // a step when the other day field is restricted.
        let day_of_month_alone = self.day_of_week == Field::Every || self.days_and;
        let day_of_week_alone = self.day_of_month == Field::Every || self.days_and;
        for (kind, field, alone) in [
            (Kind::Minute, &mut self.minute, true),
            (Kind::Hour, &mut self.hour, true),
            (Kind::DayOfMonth, &mut self.day_of_month, day_of_month_alone),
            (Kind::Month, &mut self.month, true),
            (Kind::DayOfWeek, &mut self.day_of_week, day_of_week_alone),
        ] {
            let Field::List(elements) = field else { continue };
            for element in elements.iter_mut() {
                if let Element::Step(start @ Start::At(_), _) = element {
                    if *start == Start::At(kind.min()) && kind != Kind::DayOfWeek {
                        *start = Start::Every;
                    }
                }
                // A step longer than the field selects its first value only.
                if let Element::Step(Start::Every, step) = element {
                    if step.len() > 3 || step.parse::<u32>().is_ok_and(|step| step > kind.length()) {
                        *element = Element::Value(kind.min());
                    }
                }
            }
            if let [Element::Step(start, step)] = elements.as_mut_slice() {
                let end = match kind {
                    Kind::Month => Some(12),
                    Kind::DayOfWeek => Some(6),
                    _ => None,
                };
                if let (Start::At(at), Some(end)) = (&start, end) {
                    *start = Start::Range(*at, end);
                }
                if *start == Start::Every && step == "1" && alone {
                    *field = Field::Every;
                }
            }
        }
        let minute_repeats = self.minute == Field::Every || self.minute.has_step();
        if let (Some(Element::Value(hour)), true) = (self.hour.single(), minute_repeats) {
            self.hour = Field::List(vec![Element::Range(*hour, *hour)]);
        }
    }

    fn describe(&self) -> String {
        let mut text = self.time_of_day();
        text.push_str(&self.day_of_month());
        text.push_str(&self.day_of_week());
        text.push_str(&self.segment(Kind::Month, &self.month));
        capitalize(&concise(text))
    }

    fn time_of_day(&self) -> String {
        let (minute, hour) = (self.minute.single(), self.hour.single());
        match (minute, hour, &self.hour) {
            (Some(Element::Value(m)), Some(Element::Value(h)), _) => format!("At {}", clock(*h, *m)),
            (Some(Element::Range(from, to)), Some(Element::Value(h)), _) if from <= to => {
                format!("Every minute between {} and {}", clock(*h, *from), clock(*h, *to))
            }
            // A list of hours at one minute: "At 09:00 and 17:00".
            (Some(Element::Value(m)), None, Field::List(hours))
                if hours.iter().all(|h| matches!(h, Element::Value(_))) =>
            {
                let times: Vec<String> = hours
                    .iter()
                    .filter_map(|h| match h {
                        Element::Value(h) => Some(clock(*h, *m)),
                        _ => None,
                    })
                    .collect();
                format!("At {}", join_and(&times, false))
            }
            _ => {
                let minutes = self.segment(Kind::Minute, &self.minute);
                let hours = self.segment(Kind::Hour, &self.hour);
                if minutes == hours {
                    minutes
                } else {
                    format!("{minutes}, {hours}")
                }
            }
        }
    }

    fn day_of_month(&self) -> String {
        // Kept as a step only when the day of week is restricted too (see normalize).
        if let Some(Element::Step(Start::Every, step)) = self.day_of_month.single() {
            if step == "1" {
                return ", every day of the month".to_string();
            }
        }
        if self.day_of_month == Field::Every && self.day_of_week != Field::Every {
            return String::new();
        }
        self.segment(Kind::DayOfMonth, &self.day_of_month)
    }

    fn day_of_week(&self) -> String {
        match &self.day_of_week {
            Field::Every => String::new(),
            Field::List(elements) => match elements.as_slice() {
                [Element::Step(Start::Every, step)] if step == "1" => ", and every day of the week".to_string(),
                _ => self.segment(Kind::DayOfWeek, &self.day_of_week),
            },
        }
    }

    /// A whole field: `*`, one element, or a list.
    fn segment(&self, kind: Kind, field: &Field) -> String {
        match field {
            Field::Every => every(kind).to_string(),
            Field::List(elements) if elements.len() == 1 => self.element(kind, &elements[0]),
            Field::List(elements) => self.list(kind, elements),
        }
    }

    /// One element standing alone.
    fn element(&self, kind: Kind, element: &Element) -> String {
        match element {
            Element::Step(start, step) => self.step(kind, start, step),
            Element::Range(from, to) => {
                fill(range_frame(kind), &[&self.value(kind, *from, false), &self.value(kind, *to, true)])
            }
            _ => fill(&self.frame(kind, std::slice::from_ref(element)), &[&self.item(kind, element, false)]),
        }
    }

    fn step(&self, kind: Kind, start: &Start, step: &str) -> String {
        let mut text = fill(step_frame(kind, step), &[step]);
        match start {
            Start::Every => {}
            Start::Range(from, to) => {
                let range = fill(range_frame(kind), &[&self.value(kind, *from, false), &self.value(kind, *to, true)]);
                if !range.starts_with(", ") {
                    text.push_str(", ");
                }
                text.push_str(&range);
            }
            Start::At(at) => {
                let first = self.element(kind, &Element::Value(*at));
                text.push_str(", starting ");
                text.push_str(after_conjunction(&first.replacen(", ", "", 1)));
            }
        }
        text
    }

    fn list(&self, kind: Kind, elements: &[Element]) -> String {
        if kind == Kind::DayOfWeek {
            // Last weekdays of the month are described apart from the rest.
            let (lasts, others): (Vec<Element>, Vec<Element>) =
                elements.iter().cloned().partition(|e| matches!(e, Element::Nth(_, Occurrence::Last)));
            if !lasts.is_empty() && !others.is_empty() {
                let others = self.segment(kind, &Field::List(others));
                let lasts = self.segment(kind, &Field::List(lasts));
                return format!("{others} and {}", lasts.strip_prefix(", ").unwrap_or(&lasts));
            }
        }
        if !elements.iter().any(|e| matches!(e, Element::Step(..))) {
            // One frame around all items: "at 5 and 10 minutes past the hour".
            let special_first = !matches!(elements[0], Element::Value(_) | Element::Range(..));
            let parts: Vec<String> = elements
                .iter()
                .map(|element| {
                    let text = match element {
                        Element::Range(from, to) => {
                            format!("{} through {}", self.value(kind, *from, false), self.value(kind, *to, true))
                        }
                        _ => self.item(kind, element, false),
                    };
                    // After "the last day", a number needs its noun: "and day 1".
                    let numeric = matches!(element, Element::Value(_) | Element::Range(..));
                    if kind == Kind::DayOfMonth && special_first && numeric {
                        format!("day {text}")
                    } else {
                        text
                    }
                })
                .collect();
            return fill(&self.frame(kind, elements), &[&join_and(&parts, true)]);
        }
        // With a step, each element keeps its own frame.
        let parts: Vec<String> = elements
            .iter()
            .enumerate()
            .map(|(i, element)| {
                let text = match element {
                    // Times carry their unit; bare minutes and days of the month do not.
                    Element::Range(from, to) if kind == Kind::Hour => {
                        return format!("{} through {}", self.value(kind, *from, false), self.value(kind, *to, true));
                    }
                    _ => self.element(kind, element),
                };
                // The first element keeps its leading comma, which separates it from the
                // field before; the list's own "and" replaces a frame's.
                match text.strip_prefix(", ") {
                    Some(rest) if i > 0 => after_conjunction(rest).to_string(),
                    _ => text,
                }
            })
            .collect();
        join_and(&parts, true)
    }

    /// The frame around one or more items: "at {} minutes past the hour", ", only in {}".
    fn frame(&self, kind: Kind, elements: &[Element]) -> String {
        match kind {
            Kind::Minute => match elements {
                [Element::Value(0)] if self.hour.has_step() => "on the hour",
                [Element::Value(0)] => "every hour",
                [Element::Value(1)] => "at {} minute past the hour",
                _ => "at {} minutes past the hour",
            },
            Kind::Hour => "at {}",
            Kind::DayOfMonth => match elements.first() {
                Some(Element::Value(_) | Element::Range(..)) => ", on day {} of the month",
                _ => ", on {} of the month",
            },
            Kind::Month => ", only in {}",
            Kind::DayOfWeek => {
                let nth = |which: fn(&Occurrence) -> bool| {
                    elements.iter().any(|e| matches!(e, Element::Nth(_, occurrence) if which(occurrence)))
                };
                if nth(|o| matches!(o, Occurrence::Number(_))) {
                    ", on the {} of the month"
                } else if nth(|o| *o == Occurrence::Last) {
                    ", on the last {} of the month"
                } else if self.day_of_month == Field::Every || self.days_and {
                    ", only on {}"
                } else {
                    ", and on {}"
                }
            }
        }
        .to_string()
    }

    /// One item inside a frame: a number, a time, a name.
    fn item(&self, kind: Kind, element: &Element, range_end: bool) -> String {
        match element {
            Element::Value(v) => self.value(kind, *v, range_end),
            Element::LastDay => "the last day".to_string(),
            Element::LastWeekday => "the last weekday".to_string(),
            Element::NearestWeekday(1) => "the first weekday".to_string(),
            Element::NearestWeekday(day) => format!("the weekday nearest day {day}"),
            Element::Nth(days, which) => {
                let days = match days.as_ref() {
                    Element::Value(day) => self.value(kind, *day, false),
                    Element::Range(from, to) => {
                        format!("{} through {}", self.value(kind, *from, false), self.value(kind, *to, false))
                    }
                    Element::Step(start, step) => {
                        let names: Vec<String> =
                            step_values(start, step).into_iter().map(|d| self.value(kind, d, false)).collect();
                        join_and(&names, false)
                    }
                    other => self.item(kind, other, false),
                };
                match which {
                    Occurrence::Number(n) => {
                        format!("{} {days}", ORDINALS.get((*n as usize).wrapping_sub(1)).unwrap_or(&"every"))
                    }
                    Occurrence::Last => days,
                }
            }
            Element::Range(..) | Element::Step(..) => self.element(kind, element),
        }
    }

    fn value(&self, kind: Kind, value: u32, range_end: bool) -> String {
        match kind {
            Kind::Minute | Kind::DayOfMonth => value.to_string(),
            // The end of an hour range includes its minutes: "between 09:00 and 17:59".
            Kind::Hour => {
                clock(value, if range_end && self.minute.single() != Some(&Element::Value(0)) { 59 } else { 0 })
            }
            Kind::Month => MONTHS.get((value as usize).wrapping_sub(1)).unwrap_or(&"?").to_string(),
            Kind::DayOfWeek => DAYS[(value % 7) as usize].to_string(),
        }
    }
}

/// "and on Monday" inside a list that already says "and": "on Monday".
fn after_conjunction(text: &str) -> &str {
    text.strip_prefix("and ").unwrap_or(text)
}

/// The days of the week a stepped element selects, wrapping around as `cron_syntax` does.
fn step_values(start: &Start, step: &str) -> Vec<u32> {
    let step: u32 = step.parse().unwrap_or(u32::MAX).max(1);
    let (from, to) = match *start {
        Start::Every => (0, 6),
        Start::At(at) => (at % 7, 6),
        // 7 ends a range as itself (`1-7` reaches Sunday) but starts one as 0 (`7-7` is Sunday).
        Start::Range(7, to) => (0, to % 7),
        Start::Range(from, to) => (from, to),
    };
    let length = if to >= from { to - from } else { to + 7 - from };
    (0..=length).step_by(step as usize).map(|offset| (from + offset) % 7).collect()
}

fn every(kind: Kind) -> &'static str {
    match kind {
        Kind::Minute => "every minute",
        Kind::Hour => "every hour",
        Kind::DayOfMonth | Kind::DayOfWeek => ", every day",
        Kind::Month => "",
    }
}

fn step_frame(kind: Kind, step: &str) -> &'static str {
    let one = step == "1";
    match kind {
        Kind::Minute if one => "every {} minute",
        Kind::Minute => "every {} minutes",
        Kind::Hour if one => "every {} hour",
        Kind::Hour => "every {} hours",
        Kind::DayOfMonth if one => ", every day",
        Kind::DayOfMonth => ", every {} days in a month",
        Kind::Month | Kind::DayOfWeek if one => "",
        Kind::Month => ", every {} months",
        Kind::DayOfWeek => ", every {} days of the week",
    }
}

fn range_frame(kind: Kind) -> &'static str {
    match kind {
        Kind::Minute => "minutes {} through {} past the hour",
        Kind::Hour => "between {} and {}",
        Kind::DayOfMonth => ", between day {} and {} of the month",
        Kind::Month | Kind::DayOfWeek => ", {} through {}",
    }
}

/// Replaces each `{}` in `frame` by the next argument.
fn fill(frame: &str, args: &[&str]) -> String {
    let mut out = String::with_capacity(frame.len() + 16);
    let mut args = args.iter();
    let mut rest = frame;
    while let Some(at) = rest.find("{}") {
        out.push_str(&rest[..at]);
        out.push_str(args.next().copied().unwrap_or_default());
        rest = &rest[at + 2..];
    }
    out.push_str(rest);
    out
}

/// "a and b", "a, b and c"; with `serial`, "a, b, and c" (cronstrue uses both).
fn join_and(parts: &[String], serial: bool) -> String {
    match parts {
        [] => String::new(),
        [only] => only.clone(),
        [first, second] => format!("{first} and {second}"),
        [init @ .., last] => format!("{}{} and {last}", init.join(", "), if serial { "," } else { "" }),
    }
}

fn clock(hour: u32, minute: u32) -> String {
    format!("{hour:02}:{minute:02}")
}

/// The short form: "every minute", "every hour" and "every day" after a comma add nothing
/// unless a word follows them, and a trailing comma goes.
fn concise(mut text: String) -> String {
    for phrase in [", every minute", ", every hour", ", every day"] {
        let mut from = 0;
        while let Some(found) = text[from..].find(phrase) {
            let at = from + found;
            let end = at + phrase.len();
            let word_follows = text[end..].trim_start().starts_with(char::is_alphanumeric);
            if word_follows {
                from = end;
            } else {
                text.replace_range(at..end, "");
                from = at;
            }
        }
    }
    let trimmed = text.strip_suffix(", ").or_else(|| text.strip_suffix(',')).unwrap_or(&text);
    trimmed.to_string()
}

fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A schedule's rule in English: a cron expression as [`describe_cron`] words it, an interval
/// in its largest whole unit (`Every 15 minutes`, `Every 90 seconds`), a one-time schedule at
/// its wall-clock time (`Once, at 2026-12-25 15:30 in Europe/Berlin`).
pub fn describe_rule(
    schedule_type: &str,
    cron_expression: Option<&str>,
    interval_seconds: Option<i32>,
    scheduled_time: Option<chrono::DateTime<chrono::Utc>>,
    timezone: &str,
) -> Result<String, ScheduleError> {
    match crate::time::recurrence::ScheduleKind::parse(schedule_type)? {
        crate::time::recurrence::ScheduleKind::Cron => {
            describe_cron(cron_expression.ok_or(ScheduleError::MissingField("cron_expression"))?)
        }
        crate::time::recurrence::ScheduleKind::Interval => {
            let seconds = interval_seconds.ok_or(ScheduleError::MissingField("interval_seconds"))?;
            let (count, unit) = [(86_400, "day"), (3_600, "hour"), (60, "minute"), (1, "second")]
                .into_iter()
                .find(|(size, _)| seconds % size == 0)
                .map(|(size, unit)| (seconds / size, unit))
                .unwrap_or((seconds, "second"));
            Ok(if count == 1 { format!("Every {unit}") } else { format!("Every {count} {unit}s") })
        }
        crate::time::recurrence::ScheduleKind::OneTime => {
            let at = scheduled_time.ok_or(ScheduleError::MissingField("scheduled_time"))?;
            let tz = crate::time::zone::parse_timezone(timezone)?;
            Ok(format!("Once, at {} in {}", at.with_timezone(&tz).format("%Y-%m-%d %H:%M"), tz.name()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(expression: &str) -> String {
        describe_cron(expression).unwrap_or_else(|e| panic!("{expression:?}: {e}"))
    }

    #[test]
    fn the_contract_example() {
        assert_eq!(d("0 9 * * 1-5"), "At 09:00, Monday through Friday");
    }

    /// Forms the vectors do not cover (cronstrue refuses or garbles them all).
    #[test]
    fn forms_beyond_cronstrue() {
        let cases = [
            ("0 0 * * */2#2", "At 00:00, on the second Sunday, Tuesday, Thursday and Saturday of the month"),
            ("0 0 * * 3/2#1", "At 00:00, on the first Wednesday and Friday of the month"),
            ("0 0 * * 1-7/2#1", "At 00:00, on the first Monday, Wednesday, Friday and Sunday of the month"),
            ("0 0 * * 7-7/2#1", "At 00:00, on the first Sunday of the month"),
            ("0 0 * * fri-mon#2", "At 00:00, on the second Friday through Monday of the month"),
            ("0 0 * * 5#L", "At 00:00, on the last Friday of the month"),
            ("0 0 * * 1-5#L", "At 00:00, on the last Monday through Friday of the month"),
            ("0 0 * * 1,5#L", "At 00:00, only on Monday and on the last Friday of the month"),
            ("0 0 l * *", "At 00:00, on the last day of the month"),
            (
                "0 0 L,LW,15W * *",
                "At 00:00, on the last day, the last weekday, and the weekday nearest day 15 of the month",
            ),
            ("0 0 * * sun-7", "At 00:00, Sunday through Saturday"),
            ("0 0 * * 7-0", "At 00:00, only on Sunday"),
            // `+` with a day of week that is every day leaves the day of month alone.
            ("0 0 1 * +*", "At 00:00, on day 1 of the month"),
            ("0 0 1 * +*/1", "At 00:00, on day 1 of the month"),
            ("0 0 */1 * +mon", "At 00:00, only on Monday"),
            ("*/90 9 * * *", "At 09:00"),
            (" @HOURLY ", "Every hour"),
        ];
        for (expression, want) in cases {
            assert_eq!(d(expression), want, "{expression:?}");
        }
    }

    #[test]
    fn invalid_expressions_give_the_parse_error() {
        assert_eq!(describe_cron("61 * * * *"), Err(CronSchedule::parse("61 * * * *").unwrap_err()));
        assert!(describe_cron("0 0 * * * *").unwrap_err().to_string().starts_with("Invalid cron expression: "));
    }
}
