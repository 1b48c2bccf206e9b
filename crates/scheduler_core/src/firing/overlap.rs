//! The overlap policy (PRODUCT.md, "Execution lifecycle"): what an occurrence does while an
//! earlier execution of the same schedule is still `triggered` or `running`.

use std::fmt;

use crate::error::ScheduleError;

/// The `overlap` key of `schedule_config`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OverlapPolicy {
    /// Every occurrence fires (the seed's behaviour).
    #[default]
    Allow,
    /// An occurrence that comes while an earlier execution is unfinished is recorded as
    /// `skipped`.
    Skip,
    /// One such occurrence waits and fires when the earlier execution finishes; further ones
    /// are skipped.
    BufferOne,
}

impl OverlapPolicy {
    pub const NAMES: [&'static str; 3] = ["allow", "skip", "buffer_one"];

    pub fn parse(text: &str) -> Result<OverlapPolicy, ScheduleError> {
        match text {
            "allow" => Ok(OverlapPolicy::Allow),
            "skip" => Ok(OverlapPolicy::Skip),
            "buffer_one" => Ok(OverlapPolicy::BufferOne),
            other => Err(ScheduleError::InvalidConfig(format!(
                "overlap must be one of {}, got '{other}'",
                OverlapPolicy::NAMES.join(", ")
            ))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            OverlapPolicy::Allow => "allow",
            OverlapPolicy::Skip => "skip",
            OverlapPolicy::BufferOne => "buffer_one",
        }
    }
}

impl fmt::Display for OverlapPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an occurrence that is due (within grace) becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverlapOutcome {
    Fire,
    Skip,
    /// Held as the schedule's one waiting occurrence.
    Buffer,
}

/// `busy`: an earlier execution of the schedule is `triggered` or `running`. `buffer_taken`:
/// an occurrence already waits.
pub fn decide_overlap(policy: OverlapPolicy, busy: bool, buffer_taken: bool) -> OverlapOutcome {
    match (policy, busy) {
        (OverlapPolicy::Allow, _) | (_, false) => OverlapOutcome::Fire,
        (OverlapPolicy::Skip, true) => OverlapOutcome::Skip,
        (OverlapPolicy::BufferOne, true) if !buffer_taken => OverlapOutcome::Buffer,
        (OverlapPolicy::BufferOne, true) => OverlapOutcome::Skip,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_are_refused() {
        for name in OverlapPolicy::NAMES {
            assert_eq!(OverlapPolicy::parse(name).unwrap().as_str(), name);
        }
        assert_eq!(
            OverlapPolicy::parse("queue").unwrap_err().to_string(),
            "Invalid schedule configuration: overlap must be one of allow, skip, buffer_one, got 'queue'"
        );
    }

    #[test]
    fn each_policy_while_busy_and_while_idle() {
        use OverlapOutcome::{Buffer, Fire};
        use OverlapPolicy::{Allow, BufferOne};
        const SKIP: OverlapPolicy = OverlapPolicy::Skip;
        let skipped = OverlapOutcome::Skip;
        let cases = [
            (Allow, false, false, Fire),
            (Allow, true, false, Fire),
            (Allow, true, true, Fire),
            (SKIP, false, false, Fire),
            (SKIP, true, false, skipped),
            (BufferOne, false, false, Fire),
            (BufferOne, true, false, Buffer),
            (BufferOne, true, true, skipped),
        ];
        for (policy, busy, taken, want) in cases {
            assert_eq!(decide_overlap(policy, busy, taken), want, "{policy} busy={busy} buffer_taken={taken}");
        }
    }
}
