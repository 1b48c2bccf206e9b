//! What one attempt's outcome makes of its delivery (PRODUCT.md, "Outcomes"): delivered, wait
//! for the hook to be enabled again (410), retried after the next delay, or failed.

use std::time::Duration;

use crate::client::{AttemptOutcome, OutcomeClass};
use crate::retry::{next_step, NextStep, RetryDelays};

/// The delivery's next state after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settlement {
    /// 2xx: `delivered`.
    Delivered,
    /// 410 Gone: the hook is disabled; the delivery stays `pending` and goes out when the hook
    /// is enabled again.
    HookGone,
    /// Tried again after `delay`.
    Retry { delay: Duration },
    /// That was the last attempt: `failed`, a dead letter.
    Failed,
}

impl Settlement {
    /// The delivery's `status` column.
    pub fn status(self) -> &'static str {
        match self {
            Settlement::Delivered => "delivered",
            Settlement::HookGone | Settlement::Retry { .. } => "pending",
            Settlement::Failed => "failed",
        }
    }
}

/// `attempts_made` counts this attempt too (1 after the first). `random` drives the jitter.
pub fn settle(outcome: &AttemptOutcome, attempts_made: u32, delays: &RetryDelays, random: u64) -> Settlement {
    match outcome.class {
        OutcomeClass::Delivered => Settlement::Delivered,
        OutcomeClass::Gone => Settlement::HookGone,
        // A refused address is a failed attempt like any other: the allowed list may change.
        OutcomeClass::RetryLater | OutcomeClass::RefusedByGuard => {
            match next_step(attempts_made, delays, outcome.retry_after, random) {
                NextStep::Retry { delay } => Settlement::Retry { delay },
                NextStep::GiveUp => Settlement::Failed,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(class: OutcomeClass, retry_after: Option<Duration>) -> AttemptOutcome {
        let mut outcome = AttemptOutcome::failed(class, "x".into(), Duration::ZERO, 0);
        outcome.retry_after = retry_after;
        outcome
    }

    fn retry_delay(settlement: Settlement) -> Duration {
        match settlement {
            Settlement::Retry { delay } => delay,
            other => panic!("expected a retry, got {other:?}"),
        }
    }

    #[test]
    fn each_outcome_class() {
        let delays = RetryDelays::parse("1s,10s").unwrap();
        let middle = u64::MAX / 2;
        assert_eq!(settle(&outcome(OutcomeClass::Delivered, None), 1, &delays, middle), Settlement::Delivered);
        assert_eq!(settle(&outcome(OutcomeClass::Gone, None), 3, &delays, middle), Settlement::HookGone);
        let first = retry_delay(settle(&outcome(OutcomeClass::RetryLater, None), 1, &delays, middle));
        assert!((Duration::from_millis(800)..=Duration::from_millis(1200)).contains(&first), "{first:?}");
        let second = retry_delay(settle(&outcome(OutcomeClass::RefusedByGuard, None), 2, &delays, middle));
        assert!((Duration::from_secs(8)..=Duration::from_secs(12)).contains(&second), "{second:?}");
        assert_eq!(settle(&outcome(OutcomeClass::RetryLater, None), 3, &delays, middle), Settlement::Failed);
        assert_eq!(
            settle(&outcome(OutcomeClass::RetryLater, Some(Duration::from_secs(30))), 1, &delays, middle),
            Settlement::Retry { delay: Duration::from_secs(30) },
            "Retry-After later than the delay wins"
        );
        assert_eq!(Settlement::HookGone.status(), "pending");
        assert_eq!(Settlement::Failed.status(), "failed");
    }
}
