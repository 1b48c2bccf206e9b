//! A bounded cache of parsed cron expressions.
//!
//! A due pass evaluates many schedules that share a handful of expressions. Parsing costs
//! several times more than a next-time search, so each backend keeps parsed expressions,
//! keyed by their text. The bound keeps memory flat whatever the number of distinct
//! expressions (the worker keeps no per-schedule state). Eviction is FIFO: simple, O(1), and
//! good enough for a working set that is normally far below the capacity.

use std::collections::{HashMap, VecDeque};
use std::rc::Rc;

use crate::error::ScheduleError;
use crate::time::cron::CronSchedule;

/// Parsed expressions keyed by expression text; single-threaded (one per backend).
#[derive(Debug)]
pub struct CronCache {
    capacity: usize,
    entries: HashMap<String, Rc<CronSchedule>>,
    order: VecDeque<String>,
}

impl CronCache {
    /// A cache holding at most `capacity` expressions. Capacity 0 disables caching.
    pub fn new(capacity: usize) -> CronCache {
        CronCache {
            capacity,
            entries: HashMap::with_capacity(capacity.min(1024)),
            order: VecDeque::with_capacity(capacity.min(1024)),
        }
    }

    /// The parsed expression, from the cache or freshly parsed. Errors are not cached.
    pub fn get_or_parse(&mut self, expr: &str) -> Result<Rc<CronSchedule>, ScheduleError> {
        if let Some(hit) = self.entries.get(expr) {
            return Ok(Rc::clone(hit));
        }
        let parsed = Rc::new(CronSchedule::parse(expr)?);
        if self.capacity == 0 {
            return Ok(parsed);
        }
        while self.entries.len() >= self.capacity {
            match self.order.pop_front() {
                Some(oldest) => {
                    self.entries.remove(&oldest);
                }
                None => break,
            }
        }
        self.entries.insert(expr.to_string(), Rc::clone(&parsed));
        self.order.push_back(expr.to_string());
        Ok(parsed)
    }

    /// Number of cached expressions.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The bound given to [`CronCache::new`].
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Drops every entry (e.g. on a settings reload).
    pub fn clear(&mut self) {
        self.entries.clear();
        self.order.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hits_return_the_same_parse() {
        let mut cache = CronCache::new(4);
        let a = cache.get_or_parse("*/5 * * * *").unwrap();
        let b = cache.get_or_parse("*/5 * * * *").unwrap();
        assert!(Rc::ptr_eq(&a, &b));
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn never_grows_beyond_capacity_and_evicts_oldest_first() {
        let mut cache = CronCache::new(3);
        let exprs: Vec<String> = (0..10).map(|m| format!("{m} * * * *")).collect();
        for expr in &exprs {
            cache.get_or_parse(expr).unwrap();
            assert!(cache.len() <= 3);
        }
        assert_eq!(cache.len(), 3);
        // The last three survive; the first was evicted and is parsed anew.
        let kept = cache.get_or_parse(&exprs[9]).unwrap();
        assert!(Rc::ptr_eq(&kept, &cache.get_or_parse(&exprs[9]).unwrap()));
        assert!(!cache.entries.contains_key(&exprs[0]));
        assert!(cache.entries.contains_key(&exprs[7]));
        assert_eq!(cache.order.len(), 3);
    }

    #[test]
    fn errors_are_not_cached() {
        let mut cache = CronCache::new(3);
        assert!(cache.get_or_parse("61 * * * *").is_err());
        assert!(cache.get_or_parse("61 * * * *").is_err());
        assert!(cache.is_empty());
    }

    #[test]
    fn zero_capacity_disables_caching() {
        let mut cache = CronCache::new(0);
        assert!(cache.get_or_parse("* * * * *").is_ok());
        assert!(cache.is_empty());
        assert_eq!(cache.capacity(), 0);
        let mut cache = CronCache::new(2);
        cache.get_or_parse("* * * * *").unwrap();
        cache.clear();
        assert!(cache.is_empty());
    }
}
