//! The registry: the current set of rules, keyed by `point[filters]`, with their counters.
//!
//! A [`Registry`] is changed on the configuration path (start-up, the control socket, `cfg`)
//! and compiled into an immutable [`Snapshot`] that the evaluation path reads. Each rule's
//! counters live in a shared [`RuleState`], so replacing one rule gives it fresh counters and
//! leaves every other rule's counters running, in the registry and in every snapshot.
//!
//! The registry never blocks the evaluation path: publishing a snapshot is the caller's
//! business (the preload swaps a pointer to a leaked snapshot), and a snapshot needs no lock
//! to evaluate.

use crate::decide::Snapshot;
use crate::error::ParseError;
use crate::parse::{parse_key, parse_rules};
use crate::rule::{Rule, Task};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// The counters of one rule, shared by the registry and every snapshot that holds the rule.
#[derive(Debug)]
pub struct RuleState {
    /// Calls that passed every filter but `when` (what `when` counts).
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
    fn new(rule: &Rule) -> RuleState {
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

    fn retire(&self) {
        self.retired.store(true, Ordering::Release);
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

/// One rule as `list` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleStatus {
    /// The rule's key, `point[filters]`.
    pub key: String,
    /// Its chain as text.
    pub actions: String,
    /// How many calls matched it.
    pub matches: u64,
    /// How many of them it injected into.
    pub injections: u64,
}

/// Whether [`Registry::set`] added a rule or replaced one with the same key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetOutcome {
    /// The key was new; the rule went to the end.
    Added,
    /// A rule with this key existed; the new one took its place in the order.
    Replaced,
}

#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub rule: Rule,
    pub key: String,
    pub state: Arc<RuleState>,
}

/// The rules in force, in the order they were given.
#[derive(Debug, Clone)]
pub struct Registry {
    entries: Vec<Entry>,
    seed: u64,
    exe: Vec<u8>,
    generation: u64,
}

impl Registry {
    /// An empty registry whose random choices derive from `seed`.
    pub fn new(seed: u64) -> Registry {
        Registry { entries: Vec::new(), seed, exe: Vec::new(), generation: 0 }
    }

    /// Sets the running program's executable path, which `exe=` filters match. A rule whose
    /// `exe=` does not match is kept in the list but never evaluated.
    pub fn set_exe(&mut self, exe: &[u8]) {
        self.exe = exe.to_vec();
        self.generation += 1;
    }

    /// The executable path `exe=` filters are matched against.
    pub fn exe(&self) -> &[u8] {
        &self.exe
    }

    /// The seed of every random choice.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// A number that changes every time the rules change.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Adds `rule`, or replaces the rule with the same key in place (fail-rs's `cfg`).
    pub fn set(&mut self, rule: Rule) -> SetOutcome {
        self.generation += 1;
        let key = rule.key();
        let state = Arc::new(RuleState::new(&rule));
        if let Some(e) = self.entries.iter_mut().find(|e| e.key == key) {
            e.state.retire();
            *e = Entry { rule, key, state };
            SetOutcome::Replaced
        } else {
            self.entries.push(Entry { rule, key, state });
            SetOutcome::Added
        }
    }

    /// Parses `text` (one or more rules) and sets each of them; nothing changes when any rule
    /// is bad. Returns how many rules were set.
    pub fn configure(&mut self, text: &str, source_name: &str) -> Result<usize, ParseError> {
        let rules = parse_rules(text, source_name)?;
        let n = rules.len();
        for rule in rules {
            self.set(rule);
        }
        Ok(n)
    }

    /// Removes the rule whose key is `key` (written in any equivalent form: spellings and
    /// filter order do not matter). Returns whether there was one.
    pub fn remove(&mut self, key: &str) -> Result<bool, ParseError> {
        let key = parse_key(key)?;
        let before = self.entries.len();
        self.entries.retain(|e| {
            let keep = e.key != key;
            if !keep {
                e.state.retire();
            }
            keep
        });
        self.generation += 1;
        Ok(self.entries.len() != before)
    }

    /// Removes every rule.
    pub fn clear(&mut self) {
        for e in &self.entries {
            e.state.retire();
        }
        self.entries.clear();
        self.generation += 1;
    }

    /// The rules, in order.
    pub fn rules(&self) -> impl ExactSizeIterator<Item = &Rule> {
        self.entries.iter().map(|e| &e.rule)
    }

    /// Whether there are no rules.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Each rule with its counters, in order.
    pub fn list(&self) -> Vec<RuleStatus> {
        self.entries
            .iter()
            .map(|e| RuleStatus {
                key: e.key.clone(),
                actions: e.rule.chain_text(),
                matches: e.state.matches(),
                injections: e.state.injections(),
            })
            .collect()
    }

    /// The counters of the rule with this key (written in any equivalent form).
    pub fn state(&self, key: &str) -> Option<&Arc<RuleState>> {
        let key = parse_key(key).ok()?;
        self.entries.iter().find(|e| e.key == key).map(|e| &e.state)
    }

    /// Starts every rule's counters afresh, as a forked child must.
    pub fn reset_counters(&self) {
        for e in &self.entries {
            e.state.reset(&e.rule);
        }
    }

    /// Whether any rule needs write tracking (`powercut` or `lose`).
    pub fn needs_tracking(&self) -> bool {
        self.entries.iter().any(|e| {
            e.rule.chain.iter().any(|a| matches!(a.task, Task::Powercut { .. } | Task::Lose(_)))
        })
    }

    /// Compiles the rules into a snapshot for the evaluation path.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot::compile(&self.entries, self.seed, &self.exe, self.generation)
    }
}
