//! The counters of a rule, shared by the registry that holds it and every snapshot compiled
//! from it: replacing one rule gives it fresh counters and leaves every other rule's running.

use crate::rule::Rule;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

/// Where a rule's `full(BYTES)` budget lives when several processes share one disk: given the
/// [`name_hash`](crate::random::name_hash) of the rule's key, the counter of bytes let
/// through, or `None` for the process's own.
pub type SharedBudgets = fn(key_hash: u64) -> Option<&'static AtomicU64>;

static SHARED_BUDGETS: OnceLock<SharedBudgets> = OnceLock::new();

/// Makes every `full` rule of this process draw on the budgets `budgets` hands out (the
/// preload's run-wide state, `failinject run`), from now on. Set once; later calls are
/// ignored.
pub fn share_budgets(budgets: SharedBudgets) {
    let _ = SHARED_BUDGETS.set(budgets);
}

/// The counter of bytes a `full` rule with key hash `key_hash` has let through: the shared
/// one when budgets are shared and one is available, else `own`.
pub(crate) fn budget(key_hash: u64, own: &AtomicU64) -> &AtomicU64 {
    SHARED_BUDGETS.get().and_then(|f| f(key_hash)).unwrap_or(own)
}

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
    /// Bytes let through by a `full(BYTES)` action, when the budget is this process's own
    /// (see [`share_budgets`]).
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
