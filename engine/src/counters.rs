//! The counters of a rule, shared by the registry that holds it and every snapshot compiled
//! from it: replacing one rule gives it fresh counters and leaves every other rule's running.

use crate::rule::Rule;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// The counters of one rule, shared by the registry and every snapshot that holds the rule.
#[derive(Debug)]
pub struct RuleState {
    /// Calls that passed every filter but `when` (what `when` counts; only counted for a rule
    /// that has a `when` filter).
    pub(crate) seen: AtomicU64,
    /// Calls whose chain was evaluated (passed `when` too).
    pub(crate) matched: AtomicU64,
    /// Evaluations that yielded a task other than `off`.
    pub(crate) injected: AtomicU64,
    /// The remaining count of each action of the chain (`u64::MAX` when unlimited).
    pub(crate) remaining: Box<[AtomicU64]>,
    /// Bytes let through by a `full(BYTES)` action.
    pub(crate) full_used: AtomicU64,
    retired: AtomicBool,
}

impl RuleState {
    pub(crate) fn new(rule: &Rule) -> RuleState {
        RuleState {
            seen: AtomicU64::new(0),
            matched: AtomicU64::new(0),
            injected: AtomicU64::new(0),
            remaining: rule
                .chain
                .iter()
                .map(|a| AtomicU64::new(a.count.unwrap_or(u64::MAX)))
                .collect(),
            full_used: AtomicU64::new(0),
            retired: AtomicBool::new(false),
        }
    }

    /// How many calls matched the rule (its chain was evaluated).
    pub fn matches(&self) -> u64 {
        self.matched.load(Ordering::Relaxed)
    }

    /// How many calls the rule injected into (its chain yielded a task other than `off`).
    pub fn injections(&self) -> u64 {
        self.injected.load(Ordering::Relaxed)
    }

    /// Whether the rule has been replaced or removed; a `pause` waits for this.
    pub fn is_retired(&self) -> bool {
        self.retired.load(Ordering::Acquire)
    }

    pub(crate) fn retire(&self) {
        self.retired.store(true, Ordering::Release);
    }

    /// A live copy of a retired state, its counters as they are now.
    pub(crate) fn revived(&self) -> RuleState {
        let copy = |a: &AtomicU64| AtomicU64::new(a.load(Ordering::Relaxed));
        RuleState {
            seen: copy(&self.seen),
            matched: copy(&self.matched),
            injected: copy(&self.injected),
            remaining: self.remaining.iter().map(copy).collect(),
            full_used: copy(&self.full_used),
            retired: AtomicBool::new(false),
        }
    }

    /// Starts the counters afresh, as in a forked child ("counters are per process").
    pub fn reset(&self, rule: &Rule) {
        self.seen.store(0, Ordering::Relaxed);
        self.matched.store(0, Ordering::Relaxed);
        self.injected.store(0, Ordering::Relaxed);
        self.full_used.store(0, Ordering::Relaxed);
        for (r, a) in self.remaining.iter().zip(&rule.chain) {
            r.store(a.count.unwrap_or(u64::MAX), Ordering::Relaxed);
        }
    }
}

/// A rule of a registry, with its key and its counters (shared with the snapshots).
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub rule: Rule,
    pub key: String,
    pub state: Arc<RuleState>,
}
