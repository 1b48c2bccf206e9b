//! A bounded cache of parsed cron expressions.
//!
//! A due pass evaluates many schedules that share a handful of expressions. Parsing costs
//! several times more than a next-time search, so each backend keeps parsed expressions,
//! keyed by their text. The bounds keep memory flat whatever the number of distinct
//! expressions (the worker keeps no per-schedule state): a count of entries, and an
//! approximate count of bytes, because a parse holds about 5.5 KB (croner keeps a byte per
//! possible year) and expressions may be up to 1 KiB long. Eviction is FIFO: simple, O(1),
//! and good enough for a working set that is normally far below the bounds.

use std::collections::{HashMap, VecDeque};
use std::mem::size_of;
use std::rc::Rc;

use crate::error::ScheduleError;
use crate::time::cron::CronSchedule;

/// Parsed expressions keyed by expression text; single-threaded (one per backend).
#[derive(Debug)]
pub struct CronCache {
    capacity: usize,
    byte_budget: usize,
    /// Approximate bytes held by the entries, per [`entry_bytes`].
    bytes: usize,
    entries: HashMap<String, Rc<CronSchedule>>,
    /// Keys, oldest first, with the bytes each entry was charged.
    order: VecDeque<(String, usize)>,
}

impl CronCache {
    /// The byte budget of [`CronCache::new`]: 16 MiB, about 2,900 typical expressions, so a
    /// worker batch (at most 1,000 rows, at most that many expressions) always stays cached,
    /// while 1 KiB expressions cannot grow a backend past it.
    pub const DEFAULT_BYTE_BUDGET: usize = 16 << 20;

    /// A cache holding at most `capacity` expressions and about
    /// [`CronCache::DEFAULT_BYTE_BUDGET`] bytes. Capacity 0 disables caching.
    pub fn new(capacity: usize) -> CronCache {
        CronCache::with_limits(capacity, CronCache::DEFAULT_BYTE_BUDGET)
    }

    /// A cache holding at most `capacity` expressions and about `byte_budget` bytes (see
    /// [`CronCache::bytes`]). Either bound at 0 disables caching.
    pub fn with_limits(capacity: usize, byte_budget: usize) -> CronCache {
        CronCache {
            capacity,
            byte_budget,
            bytes: 0,
            entries: HashMap::with_capacity(capacity.min(1024)),
            order: VecDeque::with_capacity(capacity.min(1024)),
        }
    }

    /// The parsed expression, from the cache or freshly parsed. Errors are not cached.
    pub fn get_or_parse(&mut self, expr: &str) -> Result<Rc<CronSchedule>, ScheduleError> {
        // Keyed by the trimmed text, which is all the parser reads: padding cannot make a
        // key of any size, nor two entries for one expression.
        let key = expr.trim();
        if let Some(hit) = self.entries.get(key) {
            return Ok(Rc::clone(hit));
        }
        let parsed = Rc::new(CronSchedule::parse(key)?);
        let charge = entry_bytes(key, &parsed);
        if self.capacity == 0 || charge > self.byte_budget {
            return Ok(parsed);
        }
        while self.entries.len() >= self.capacity || self.bytes + charge > self.byte_budget {
            let Some((oldest, freed)) = self.order.pop_front() else { break };
            self.entries.remove(&oldest);
            self.bytes -= freed;
        }
        self.entries.insert(key.to_string(), Rc::clone(&parsed));
        self.order.push_back((key.to_string(), charge));
        self.bytes += charge;
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

    /// The count bound given to [`CronCache::new`] or [`CronCache::with_limits`].
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The byte bound given to [`CronCache::with_limits`] (or the default).
    pub fn byte_budget(&self) -> usize {
        self.byte_budget
    }

    /// Approximate bytes the cached entries hold: never more than [`CronCache::byte_budget`].
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Drops every entry (e.g. on a settings reload).
    pub fn clear(&mut self) {
        self.entries.clear();
        self.order.clear();
        self.bytes = 0;
    }
}

/// What one entry costs: the parse (see `CronSchedule::approx_bytes`), its `Rc` counters, and
/// the key, stored twice (map and queue) with the slots that hold them. Allocator rounding
/// and the map's spare capacity are left out: this is an estimate, not an accounting.
fn entry_bytes(key: &str, parsed: &CronSchedule) -> usize {
    let slots = size_of::<(String, Rc<CronSchedule>)>() + size_of::<(String, usize)>();
    parsed.approx_bytes() + 2 * size_of::<usize>() + 2 * key.len() + slots
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
        // Padding is not part of the key.
        let c = cache.get_or_parse("  */5 * * * *\n").unwrap();
        assert!(Rc::ptr_eq(&a, &c));
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
    fn entries_are_charged_what_they_hold() {
        let short = CronSchedule::parse("* * * * *").unwrap();
        let charge = entry_bytes("* * * * *", &short);
        // croner's bit vectors alone are over 5 KB; the struct and strings come on top.
        assert!(charge > 5_000 + size_of::<CronSchedule>(), "{charge}");
        assert!(charge < 8_000, "{charge}");
        // A longer expression costs its length about four times (given, croner's copy, keys).
        let long_text = format!("0{} * * * *", ",0".repeat(400));
        let long = CronSchedule::parse(&long_text).unwrap();
        assert!(entry_bytes(&long_text, &long) >= charge + 4 * 800, "{}", entry_bytes(&long_text, &long));
    }

    #[test]
    fn never_holds_more_bytes_than_the_budget_and_evicts_oldest_first() {
        let one = entry_bytes("0 * * * *", &CronSchedule::parse("0 * * * *").unwrap());
        // Room for three entries of this size by bytes, thirty by count.
        let mut cache = CronCache::with_limits(30, 3 * one + one / 2);
        let exprs: Vec<String> = (10..20).map(|m| format!("{m} * * * *")).collect();
        for expr in &exprs {
            cache.get_or_parse(expr).unwrap();
            assert!(cache.bytes() <= cache.byte_budget(), "{} > {}", cache.bytes(), cache.byte_budget());
        }
        assert_eq!(cache.len(), 3);
        assert!(!cache.entries.contains_key(&exprs[6]));
        assert!(cache.entries.contains_key(&exprs[7]) && cache.entries.contains_key(&exprs[9]));
        // A long expression pushes out as many old ones as it needs.
        let long = format!("0{} * * * *", ",0".repeat(500));
        cache.get_or_parse(&long).unwrap();
        assert!(cache.bytes() <= cache.byte_budget());
        assert!(cache.entries.contains_key(long.as_str()));
        assert!(!cache.entries.contains_key(&exprs[7]));
        assert_eq!(cache.bytes(), cache.order.iter().map(|(_, b)| b).sum::<usize>());
        // An entry larger than the whole budget is parsed but not cached.
        let mut tiny = CronCache::with_limits(30, one - 1);
        assert!(tiny.get_or_parse("0 * * * *").is_ok());
        assert!(tiny.is_empty());
        assert_eq!(tiny.bytes(), 0);
    }

    #[test]
    fn the_default_budget_bounds_a_full_cache() {
        let mut cache = CronCache::new(4096);
        assert_eq!(cache.byte_budget(), CronCache::DEFAULT_BYTE_BUDGET);
        for i in 0..4000 {
            cache.get_or_parse(&format!("{} {} {} * *", i % 60, i / 60 % 24, i / 1440 % 28 + 1)).unwrap();
        }
        assert!(cache.bytes() <= CronCache::DEFAULT_BYTE_BUDGET);
        assert!((2000..4000).contains(&cache.len()), "{}", cache.len());
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
        let mut cache = CronCache::with_limits(8, 0);
        assert!(cache.get_or_parse("* * * * *").is_ok());
        assert!(cache.is_empty());
        let mut cache = CronCache::new(2);
        cache.get_or_parse("* * * * *").unwrap();
        cache.clear();
        assert!(cache.is_empty());
        assert_eq!(cache.bytes(), 0);
    }
}
