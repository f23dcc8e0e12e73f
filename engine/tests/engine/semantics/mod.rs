//! Decision semantics through `Registry` and `Snapshot`: fail-rs's chains, the rule walk of
//! §3.3, every filter of §3.1, the libc tasks' effects, seeded randomness (§3.4) and counters
//! shared between threads.

use failinject_engine::{
    Context, Corruption, Cut, CutMode, Effect, Errno, FileKind, Loss, NoContext, PointId, Registry,
    SetOutcome, Signal, Snapshot, SysCall, name_hash, parse_rule,
};
use std::collections::BTreeSet;

/// A registry with `rules` set, or a panic that shows the parse error.
fn registry(seed: u64, rules: &str) -> Registry {
    let mut registry = Registry::new(seed);
    if let Err(e) = registry.configure(rules, "test") {
        panic!("{rules:?} should parse:\n{e}");
    }
    registry
}

fn point(name: &str) -> PointId {
    PointId::from_name(name).unwrap_or_else(|| panic!("no libc point `{name}`"))
}

/// A 4 KiB call on fd 5, a regular file at `path`.
fn file_call<'a>(name: &str, path: &'a [u8]) -> SysCall<'a> {
    SysCall {
        fd: Some(5),
        path: Some(path),
        kind: FileKind::File,
        size: Some(4096),
        ..SysCall::new(point(name))
    }
}

fn write_call() -> SysCall<'static> {
    file_call("write", b"/data/app.db")
}

fn effect<'s>(snapshot: &'s Snapshot, call: &SysCall<'_>) -> Option<Effect<'s>> {
    snapshot.decide_sys(call, &mut NoContext).map(|d| d.effect)
}

/// A power cut's seed is left out (set to 0): `a_power_cut_draws_its_seed_from_the_rule`
/// checks it.
fn effects<'s>(snapshot: &'s Snapshot, call: &SysCall<'_>, n: usize) -> Vec<Option<Effect<'s>>> {
    (0..n).map(|_| unseeded(effect(snapshot, call))).collect()
}

/// The effect with a power cut's seed set to 0.
fn unseeded(e: Option<Effect<'_>>) -> Option<Effect<'_>> {
    match e {
        Some(Effect::Powercut { cut, .. }) => Some(Effect::Powercut { cut, seed: 0 }),
        e => e,
    }
}

/// Whether `rules` decide something for `call` (one evaluation on a fresh registry).
fn fires(rules: &str, call: &SysCall<'_>) -> bool {
    let registry = registry(1, rules);
    let snapshot = registry.snapshot();
    snapshot.decide_sys(call, &mut NoContext).is_some()
}

/// (key, matches, injections) of every rule, in order.
fn counts(registry: &Registry) -> Vec<(String, u64, u64)> {
    registry.list().into_iter().map(|s| (s.key, s.matches, s.injections)).collect()
}

fn counted(key: &str, matches: u64, injections: u64) -> (String, u64, u64) {
    (key.to_owned(), matches, injections)
}

const EIO: Option<Effect<'static>> = Some(Effect::Error(Errno::EIO));
const ENOSPC: Option<Effect<'static>> = Some(Effect::Error(Errno::ENOSPC));

mod chains;
mod filters;
mod randomness;
mod registry;
mod tasks;
mod walk;
