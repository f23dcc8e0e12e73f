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
//!
//! A replaced or removed rule is *retired* (which wakes a thread paused on it) only once a
//! snapshot without it exists: a thread woken from `pause` that hits the point again must find
//! the new rule, not the old one with its pause already over. [`Registry::publish`] retires
//! after the caller has made the new snapshot visible; [`Registry::snapshot`] retires as soon
//! as the new snapshot is compiled, for callers that publish it right after.

use crate::counters::{Entry, RuleState};
use crate::decide::Snapshot;
use crate::error::ParseError;
use crate::parse::{parse_key, parse_rules};
use crate::rule::{Rule, Task};
use std::sync::Arc;

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

/// The rules in force, in the order they were given.
#[derive(Debug, Clone)]
pub struct Registry {
    entries: Vec<Entry>,
    seed: u64,
    exe: Vec<u8>,
    generation: u64,
    /// Rules replaced or removed since the last snapshot, to retire once one is published.
    retiring: Vec<Arc<RuleState>>,
}

impl Registry {
    /// An empty registry whose random choices derive from `seed`.
    pub fn new(seed: u64) -> Registry {
        Registry { entries: Vec::new(), seed, exe: Vec::new(), generation: 0, retiring: Vec::new() }
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
            let old = std::mem::replace(e, Entry { rule, key, state });
            self.retire_later(old.state);
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
        let (gone, kept) =
            std::mem::take(&mut self.entries).into_iter().partition(|e| e.key == key);
        self.entries = kept;
        gone.into_iter().for_each(|e: Entry| self.retire_later(e.state));
        self.generation += 1;
        Ok(self.entries.len() != before)
    }

    /// Removes every rule.
    pub fn clear(&mut self) {
        for e in std::mem::take(&mut self.entries) {
            self.retire_later(e.state);
        }
        self.generation += 1;
    }

    /// Makes the rules those of `saved`, a clone of this registry taken earlier, in its order
    /// (a scenario's teardown going back to the launch configuration). A rule of `saved` that
    /// is still here keeps counting; one replaced or removed since comes back with the counters
    /// it had then (revived: its `pause` pauses again). Every other rule is retired at the next
    /// publish. The seed, `exe` and generation stay this registry's.
    pub fn restore(&mut self, saved: &Registry) {
        let mut entries = saved.entries.clone();
        for e in &mut entries {
            if e.state.is_retired() {
                e.state = Arc::new(e.state.revived());
            }
        }
        let kept = |s: &Arc<RuleState>| entries.iter().any(|e| Arc::ptr_eq(&e.state, s));
        self.retiring.retain(|s| !kept(s));
        for old in std::mem::take(&mut self.entries) {
            if !kept(&old.state) {
                self.retiring.push(old.state);
            }
        }
        self.entries = entries;
        self.generation += 1;
    }

    /// Queues a replaced or removed rule's state, to retire once a snapshot without it exists.
    fn retire_later(&mut self, state: Arc<RuleState>) {
        self.retiring.retain(|s| !s.is_retired());
        self.retiring.push(state);
    }

    /// Compiles the rules, hands the snapshot to `store` (which makes it the one evaluations
    /// read), and only then retires the rules replaced or removed since the last snapshot: a
    /// thread woken from their `pause` already finds the new configuration.
    pub fn publish<T>(&mut self, store: impl FnOnce(Snapshot) -> T) -> T {
        let out = store(self.compile());
        for s in self.retiring.drain(..) {
            s.retire();
        }
        out
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
            e.rule.chain.iter().any(|a| matches!(a.task, Task::Powercut { .. } | Task::Lose(..)))
        })
    }

    /// Compiles the rules into a snapshot for the evaluation path, and retires the rules
    /// replaced or removed since the last one. The caller should publish the snapshot at
    /// once: until it does, a thread woken from a retired rule's `pause` can still meet the
    /// old snapshot. [`Registry::publish`] leaves no such window.
    pub fn snapshot(&self) -> Snapshot {
        let snapshot = self.compile();
        self.retiring.iter().for_each(|s| s.retire());
        snapshot
    }

    fn compile(&self) -> Snapshot {
        Snapshot::compile(&self.entries, self.seed, &self.exe, self.generation)
    }
}
