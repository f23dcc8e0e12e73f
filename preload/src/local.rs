//! Thread-scoped libc rules: `failinject::local::cfg("sys:write[…]", …)` under the preload.
//!
//! Tests in one process that fail their own writes must not see each other's faults. A
//! *local context* is a registry of its own (its rules, its counters: a `full` budget belongs
//! to its rule) that only the threads bound to it see. The `failinject` crate makes one per
//! local configuration and binds every thread (and every poll of a bound future) that holds
//! it; a thread's binding is one `const`-initialised thread-local number, without destructor.
//!
//! A call first meets its thread's local rules, then the process-wide ones. The points of
//! every local context go down the slow path for every thread (their bits join the published
//! ones, `state.rs`), and no descriptor verdict is remembered for them: a verdict made by a
//! thread without local rules must not let a bound thread skip its own.
//!
//! Tasks that act on the whole process (`powercut`, `kill`, `panic`, `lose`) and in-code
//! points (the crate decides those itself) are refused in a local context.

#![forbid(unsafe_code)]

use crate::sys::published::Published;
use failinject_engine::{
    Context, Decision, ParseError, PointId, Points, Registry, Snapshot, SysCall, Task, parse_key,
    parse_rules,
};
use std::cell::Cell;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// How many local contexts may exist at once.
const CONTEXTS: usize = 256;

struct Slot {
    used: AtomicBool,
    registry: Mutex<Option<Registry>>,
    snapshot: Published<Snapshot>,
}

static SLOTS: [Slot; CONTEXTS] = [const {
    Slot { used: AtomicBool::new(false), registry: Mutex::new(None), snapshot: Published::new() }
}; CONTEXTS];

/// The points of every live local context: they take the slow path.
static WORDS: [AtomicU64; 4] = [const { AtomicU64::new(0) }; 4];

thread_local! {
    /// The calling thread's local context (its index + 1), 0 for none.
    static BOUND: Cell<u32> = const { Cell::new(0) };
}

fn slot(ctx: u64) -> Option<&'static Slot> {
    usize::try_from(ctx)
        .ok()?
        .checked_sub(1)
        .and_then(|i| SLOTS.get(i))
        .filter(|s| s.used.load(Ordering::Acquire))
}

/// A new, empty local context (its number, from 1), with the process-wide `seed` and `exe`;
/// `None` when all are in use.
pub fn new(seed: u64, exe: &[u8]) -> Option<u64> {
    let i = SLOTS.iter().position(|s| {
        s.used.compare_exchange(false, true, Ordering::AcqRel, Ordering::Relaxed).is_ok()
    })?;
    let mut registry = Registry::new(seed);
    registry.set_exe(exe);
    let s = &SLOTS[i];
    s.snapshot.publish(registry.snapshot());
    if let Ok(mut r) = s.registry.lock() {
        *r = Some(registry);
    }
    Some(i as u64 + 1)
}

/// Why a rule cannot be local.
pub fn refusal(rule: &failinject_engine::Rule) -> Option<String> {
    if !matches!(rule.points, Points::Sys(_)) {
        return Some(format!("`{rule}`: only libc rules (sys:…) go to a local context"));
    }
    let whole = rule.chain.iter().find_map(|a| match a.task {
        Task::Powercut { .. } => Some("powercut"),
        Task::Kill(_) => Some("kill"),
        Task::Panic(_) => Some("panic"),
        Task::Lose(..) => Some("lose"),
        _ => None,
    });
    whole.map(|t| {
        format!(
            "`{rule}`: `{t}` acts on the whole process, not on one thread: set it with cfg, \
             not local::cfg"
        )
    })
}

/// Sets `rules` in context `ctx` (each replacing its key). Nothing is changed on an error.
pub fn cfg(ctx: u64, rules: &str) -> Result<(), String> {
    let slot = slot(ctx).ok_or("no such local context")?;
    let parsed = parse_rules(rules, "local").map_err(|e: ParseError| e.to_string())?;
    if let Some(why) = parsed.iter().find_map(refusal) {
        return Err(why);
    }
    change(slot, |reg| {
        for r in parsed {
            let _ = reg.set(r);
        }
    });
    Ok(())
}

/// Removes the rule with `key` from `ctx`; whether there was one.
pub fn remove(ctx: u64, key: &str) -> Result<bool, String> {
    let slot = slot(ctx).ok_or("no such local context")?;
    parse_key(key).map_err(|e| e.to_string())?;
    Ok(change(slot, |reg| reg.remove(key).unwrap_or(false)))
}

/// Ends context `ctx`: its rules are gone (threads still bound see none).
pub fn free(ctx: u64) {
    if let Some(slot) = slot(ctx) {
        change(slot, |reg| *reg = Registry::new(reg.seed()));
        slot.used.store(false, Ordering::Release);
        recompute();
    }
}

fn change<T>(slot: &Slot, f: impl FnOnce(&mut Registry) -> T) -> T {
    let mut guard = slot.registry.lock().unwrap_or_else(|e| e.into_inner());
    let registry = guard.get_or_insert_with(|| Registry::new(0));
    let out = f(registry);
    registry.publish(|s| {
        let _ = slot.snapshot.publish(s);
    });
    drop(guard);
    recompute();
    out
}

/// The union of the live contexts' points, into [`WORDS`].
fn recompute() {
    let mut words = [0u64; 4];
    for s in SLOTS.iter().filter(|s| s.used.load(Ordering::Acquire)) {
        if let Some(snap) = s.snapshot.get() {
            for p in snap.active_points().iter() {
                words[p.0 as usize / 64] |= 1 << (p.0 % 64);
            }
        }
    }
    for (w, v) in WORDS.iter().zip(words) {
        w.store(v, Ordering::Release);
    }
}

/// The points of every live context, for the published fast-path bits.
pub fn words() -> [u64; 4] {
    [0, 1, 2, 3].map(|i| WORDS[i].load(Ordering::Acquire))
}

/// Whether some local context has a rule on `p` (then no descriptor verdict is remembered).
#[inline]
pub fn covers(p: PointId) -> bool {
    WORDS[p.0 as usize / 64].load(Ordering::Relaxed) & (1 << (p.0 % 64)) != 0
}

/// Binds the calling thread to context `ctx` (0: none).
pub fn bind(ctx: u64) {
    BOUND.with(|b| b.set(u32::try_from(ctx).unwrap_or(0)));
}

/// The decision of the calling thread's local rules for `call`, if one applies.
#[inline]
pub fn decide(call: &SysCall<'_>, ctx: &mut dyn Context) -> Option<Decision<'static>> {
    let bound = BOUND.with(Cell::get);
    if bound == 0 {
        return None;
    }
    slot(u64::from(bound))?.snapshot.get()?.decide_sys(call, ctx)
}
