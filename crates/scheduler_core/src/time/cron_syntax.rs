//! The contract's cron field syntax, rewritten into the croner 4 syntax that means the same.
//!
//! croner stays the only evaluator. This module rewrites, one list element at a time, the forms
//! croner refuses or reads differently, and passes everything else through unchanged:
//! - `N/step` is `N-max/step`, as croniter reads it (`10/15` is minutes 10, 25, 40, 55); for
//!   day of week the walk ends at 6, and `7/step` is `0/step`;
//! - a range whose start is after its end wraps around: `22-2` becomes `22-23,0-2`; with a step
//!   the walk goes on through the wrap: `50-10/5` is 50, 55, 0, 5, 10;
//! - `SUN` at the end of a day-of-week range is 7 when the range starts on Monday or later,
//!   else 0 (croner rewrites every `-SUN` to `-7`, which made `SUN-SUN` mean every day);
//! - a list with a `*` element (or `?` in the day fields) is `*`, also for the OR rule;
//! - `$` in day of month is `L` (pg_cron's spelling).
//!
//! Names become numbers here, so croner never sees one. Fields that select nothing (an empty
//! list element, a `+` with nothing after it, a bare `L` in day of week) are refused, because
//! croner accepts them and would then search for an occurrence that does not exist.
//!
//! Characters and names are checked before this runs (`cron::check_field_syntax`); what this
//! module does not recognise goes to croner as written, which reads it the contract's way
//! (`*`, `*/15`, `L`, `15W`, `LW`, `?`) or rejects it.

const DAY_OF_MONTH: usize = 2;
const MONTH: usize = 3;
const DAY_OF_WEEK: usize = 4;

/// The smallest and largest value of each field; day of week also accepts 7 for Sunday.
const BOUNDS: [(u32, u32); 5] = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 7)];

pub(crate) const MONTH_NAMES: [&str; 12] =
    ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
pub(crate) const DAY_NAMES: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

/// One list element as this module reads it.
#[derive(Debug)]
enum Element {
    Value(u32),
    /// `nL` in day of week: the last such weekday of the month.
    LastWeekday(u32),
    /// `a-b`, `a-b/step` or `N/step`; `step` is kept as written (`None` for none).
    Range {
        start: u32,
        end: u32,
        step: Option<u32>,
    },
    /// Anything else: left to croner as written.
    Croner,
}

/// Rewrites field `index` (0 = minute ... 4 = day of week) into croner syntax. `Err` says what
/// is wrong, for a message naming the field.
pub(crate) fn translate_field(index: usize, field: &str) -> Result<String, String> {
    // croner's `+` (day-of-week AND) prefix applies to the whole field.
    let (prefix, body) = match field.strip_prefix('+') {
        Some(rest) if index == DAY_OF_WEEK => ("+", rest),
        _ => ("", field),
    };
    if body.is_empty() {
        return Err("no value after '+'".to_string());
    }
    let elements: Vec<&str> = body.split(',').collect();
    if elements.iter().any(|element| element.is_empty()) {
        return Err("empty list element".to_string());
    }
    if elements.len() > 1 && elements.iter().any(|element| is_wildcard(index, element)) {
        return Ok(format!("{prefix}*"));
    }
    let mut translated = Vec::with_capacity(elements.len());
    for element in elements {
        translated.push(translate_element(index, element)?);
    }
    Ok(format!("{prefix}{}", translated.join(",")))
}

fn is_wildcard(index: usize, element: &str) -> bool {
    element == "*" || (element == "?" && matches!(index, DAY_OF_MONTH | DAY_OF_WEEK))
}

fn translate_element(index: usize, element: &str) -> Result<String, String> {
    if index == DAY_OF_MONTH && element.contains('$') {
        // pg_cron's `$` is a whole element; croner would only say "illegal character".
        return if element == "$" { Ok("L".to_string()) } else { Err("'$' must stand alone (it means L)".to_string()) };
    }
    if index == DAY_OF_WEEK && element.eq_ignore_ascii_case("L") {
        // croner accepts it and matches no day at all.
        return Err("'L' alone names no weekday; 5L is the last Friday".to_string());
    }
    // `#k` (k-th weekday of the month) applies to every day the rest of the element names.
    let (core, nth) = match element.find('#') {
        Some(at) if index == DAY_OF_WEEK => element.split_at(at),
        _ => (element, ""),
    };
    let rendered = match parse_element(index, core)? {
        Element::Croner => return Ok(element.to_string()),
        Element::Value(value) => vec![value.to_string()],
        Element::LastWeekday(day) => vec![format!("{day}L")],
        Element::Range { start, end, step } => range_to_croner(index, start, end, step),
    };
    Ok(rendered.iter().map(|part| format!("{part}{nth}")).collect::<Vec<_>>().join(","))
}

/// Reads a value, a range, a stepped range, `N/step` or `nL`; anything else is
/// [`Element::Croner`].
fn parse_element(index: usize, core: &str) -> Result<Element, String> {
    let (range, step) = match core.split_once('/') {
        Some((range, step)) => (range, Some(parse_step(step)?)),
        None => (core, None),
    };
    if let Some((start, end)) = range.split_once('-') {
        let (Some(start), Some(end)) = (value(index, start), value(index, end)) else {
            return Ok(Element::Croner);
        };
        check_bounds(index, start)?;
        check_bounds(index, end)?;
        let end = sunday_at_range_end(index, start, end);
        return Ok(Element::Range { start: start.number, end, step });
    }
    let Some(single) = value(index, range) else {
        return Ok(last_weekday(index, range)?.unwrap_or(Element::Croner));
    };
    check_bounds(index, single)?;
    Ok(match step {
        // `N/step` runs to the end of the field; day of week ends on Saturday.
        Some(_) => {
            let end = if index == DAY_OF_WEEK { 6 } else { BOUNDS[index].1 };
            Element::Range { start: single.number, end, step }
        }
        None => Element::Value(single.number),
    })
}

/// A value as written: a number, or a name of its own field.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Value {
    pub(crate) number: u32,
    is_sunday_name: bool,
}

pub(crate) fn value(index: usize, text: &str) -> Option<Value> {
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        // Too many digits to parse is simply out of bounds.
        let number = text.parse().unwrap_or(u32::MAX);
        return Some(Value { number, is_sunday_name: false });
    }
    let upper = text.to_ascii_uppercase();
    let names: &[&str] = match index {
        MONTH => &MONTH_NAMES,
        DAY_OF_WEEK => &DAY_NAMES,
        _ => return None,
    };
    let position = names.iter().position(|name| *name == upper)? as u32;
    let number = if index == MONTH { position + 1 } else { position };
    Some(Value { number, is_sunday_name: index == DAY_OF_WEEK && position == 0 })
}

/// `SUN` ending a day-of-week range counts as 7 after a Monday-or-later start (`MON-SUN`,
/// `SAT-SUN` reach Sunday) and as 0 otherwise (`SUN-SUN`, `0-SUN` are Sunday only). Numbers keep
/// their value.
pub(crate) fn sunday_at_range_end(index: usize, start: Value, end: Value) -> u32 {
    if index == DAY_OF_WEEK && end.is_sunday_name && start.number >= 1 {
        7
    } else {
        end.number
    }
}

/// `nL` in day of week (`5L`, `FRIL`).
fn last_weekday(index: usize, text: &str) -> Result<Option<Element>, String> {
    let day = match text.strip_suffix(['L', 'l']) {
        Some(day) if index == DAY_OF_WEEK => value(index, day),
        _ => None,
    };
    match day {
        Some(day) => check_bounds(index, day).map(|()| Some(Element::LastWeekday(day.number))),
        None => Ok(None),
    }
}

fn check_bounds(index: usize, value: Value) -> Result<(), String> {
    let (min, max) = BOUNDS[index];
    if (min..=max).contains(&value.number) {
        Ok(())
    } else {
        Err("number out of bounds".to_string())
    }
}

fn parse_step(text: &str) -> Result<u32, String> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err("invalid step".to_string());
    }
    match text.parse::<u32>() {
        Ok(0) => Err("step cannot be zero".to_string()),
        // A step this large selects the start only, like any step longer than the field.
        Ok(step) => Ok(step.min(u32::from(u16::MAX))),
        Err(_) => Ok(u32::from(u16::MAX)),
    }
}

/// croner ranges for `start-end[/step]`. A wrapped range becomes two ranges with the same step,
/// rather than a list of values, so croner's fixed-time test (which looks at the step) treats
/// it like the unwrapped form.
fn range_to_croner(index: usize, start: u32, end: u32, step: Option<u32>) -> Vec<String> {
    let with_step = |from: u32, to: u32| match step {
        Some(step) => format!("{from}-{to}/{step}"),
        None => format!("{from}-{to}"),
    };
    // Day of week wraps in a 7-day week, where 7 is Sunday like 0: `7-3` is `0-3`.
    let (min, max) = if index == DAY_OF_WEEK { (0, 6) } else { BOUNDS[index] };
    let start = if index == DAY_OF_WEEK && start == 7 && end < 7 { 0 } else { start };
    if start <= end {
        return vec![with_step(start, end)];
    }
    // The walk goes on through the wrap: one step past the last value before it lands on
    // `next` in the field's next cycle.
    let step_value = step.unwrap_or(1);
    let last_before_wrap = start + (max - start) / step_value * step_value;
    let next = last_before_wrap + step_value - (max - min + 1);
    let mut parts = vec![with_step(start, max)];
    if next <= end {
        parts.push(with_step(next, end));
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(index: usize, field: &str) -> String {
        translate_field(index, field).unwrap_or_else(|e| panic!("{field:?}: {e}"))
    }

    #[test]
    fn rewrites_the_forms_croner_lacks() {
        assert_eq!(t(0, "10/15"), "10-59/15");
        assert_eq!(t(1, "22-2"), "22-23,0-2");
        assert_eq!(t(0, "50-10/5"), "50-59/5,0-10/5");
        // 22, then 22 + 3 = 25 is hour 1; 4 is past the end.
        assert_eq!(t(1, "22-2/3"), "22-23/3,1-2/3");
        // The step jumps past the end: the start only.
        assert_eq!(t(1, "22-2/30"), "22-23/30");
        assert_eq!(t(2, "28-3/2"), "28-31/2,1-3/2");
        assert_eq!(t(3, "nov-feb"), "11-12,1-2");
        assert_eq!(t(4, "fri-mon"), "5-6,0-1");
        assert_eq!(t(4, "FRI-MON#2"), "5-6#2,0-1#2");
        assert_eq!(t(2, "$"), "L");
        assert_eq!(t(2, "1,$"), "1,L");
        assert_eq!(t(0, "*,5"), "*");
        assert_eq!(t(4, "+MON,*"), "+*");
        assert_eq!(t(2, "?,5"), "*");
    }

    #[test]
    fn sunday_and_day_of_week_steps() {
        assert_eq!(t(4, "sun-sun"), "0-0");
        assert_eq!(t(4, "0-sun"), "0-0");
        assert_eq!(t(4, "sat-sun"), "6-7");
        assert_eq!(t(4, "mon-sun"), "1-7");
        assert_eq!(t(4, "7-sun"), "7-7");
        assert_eq!(t(4, "0-7"), "0-7");
        assert_eq!(t(4, "7-3"), "0-3");
        assert_eq!(t(4, "5-0"), "5-6,0-0");
        assert_eq!(t(4, "3/2"), "3-6/2");
        assert_eq!(t(4, "7/2"), "0-6/2");
        assert_eq!(t(4, "SUN/3"), "0-6/3");
        assert_eq!(t(4, "mon-sun/2"), "1-7/2");
    }

    #[test]
    fn passes_the_rest_through() {
        for (index, field) in
            [(0, "*"), (0, "*/15"), (0, "1-30/5"), (2, "L"), (2, "LW"), (2, "15W"), (4, "?"), (4, "+1")]
        {
            assert_eq!(t(index, field), field);
        }
        assert_eq!(t(4, "FRIL"), "5L");
        assert_eq!(t(4, "mon#2"), "1#2");
        assert_eq!(t(3, "Jan,MAR"), "1,3");
        // Malformed elements reach croner unchanged, for its own message.
        assert_eq!(t(0, "1-2-3"), "1-2-3");
        assert_eq!(t(0, "/5"), "/5");
    }

    #[test]
    fn refuses_empty_sets_and_bad_values() {
        let e = |index: usize, field: &str| translate_field(index, field).unwrap_err();
        assert_eq!(e(0, ","), "empty list element");
        assert_eq!(e(1, "1,,2"), "empty list element");
        assert_eq!(e(2, "5,"), "empty list element");
        assert_eq!(e(4, "+"), "no value after '+'");
        assert!(e(4, "L").contains("names no weekday"));
        assert_eq!(e(0, "50-70"), "number out of bounds");
        assert_eq!(e(0, "99999999999/5"), "number out of bounds");
        assert_eq!(e(4, "8/2"), "number out of bounds");
        assert_eq!(e(0, "5/0"), "step cannot be zero");
        assert_eq!(e(0, "5/x"), "invalid step");
        assert_eq!(e(0, "5-10/"), "invalid step");
    }
}
