//! A run is one machine (`failinject run`): this process's part in the state every process
//! of the run shares (`failinject_engine::run_state`, mapped by `sys/shared.rs`).
//!
//! - **Membership and exact counts.** Each program joins the run by claiming a member slot
//!   (a forked child claims its own; an exec'd program joins again), and after every
//!   decision copies its rules' counters there, before the decision takes effect. A process
//!   that a `kill` or `powercut` ends with SIGKILL never writes its exit record, yet
//!   `failinject run` reads its counts from the slot.
//! - **One disk.** `full(BYTES)` draws on one budget per rule for the whole run: the engine
//!   asks [`budget`] for the counter (`failinject_engine::share_budgets`).
//!
//! Without `FAILINJECT_RUN` (a bare `LD_PRELOAD`) none of this is on, and each process counts
//! and spends for itself. Every function here is lock-free and allocates nothing: a slot is
//! claimed with one compare-and-swap, and the words are plain atomics.

#![forbid(unsafe_code)]

use crate::sys::{keeper, kfile, raw, shared, shared_store};
use failinject_engine::Snapshot;
use failinject_engine::run_state::{
    BUDGETS, BUDGETS_AT, COUNTS, ENDED, KEEPER, MEMBER, MEMBERS, MEMBERS_AT, PID, RULES, RUNNING,
    START, STATE,
};
use std::ffi::CStr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// This program's member slot, or `usize::MAX` before it joined (or when the run is full).
static SLOT: AtomicUsize = AtomicUsize::new(usize::MAX);

/// Joins the run whose directory is `dir` (`FAILINJECT_RUN`): maps its state and claims a
/// member slot. The configuration path; returns a message when the state cannot be used.
pub fn attach(dir: &[u8]) -> Result<(), String> {
    open(dir)?;
    failinject_engine::share_budgets(budget);
    join();
    Ok(())
}

/// Maps the run's state and learns where its crash model and keeper are, without joining
/// (the process that rolls the run's files back after a power cut is not one of its
/// members).
pub fn open(dir: &[u8]) -> Result<(), String> {
    let mut path = dir.to_vec();
    path.extend_from_slice(b"/state\0");
    let Ok(path) = CStr::from_bytes_with_nul(&path) else {
        return Err("FAILINJECT_RUN holds a NUL byte".into());
    };
    if !shared::map(path) {
        return Err(format!(
            "cannot use the run's shared state {}: counts are per process, and `full` budgets \
             are not shared",
            path.to_string_lossy()
        ));
    }
    // The run's crash model and the keeper of its handles (`failinject run` serves it).
    let keeper = shared::half(KEEPER).map_or(0, |w| w.load(Ordering::Acquire));
    let mut sock = dir.to_vec();
    sock.extend_from_slice(b"/keeper");
    let mut crash = dir.to_vec();
    crash.extend_from_slice(b"/crash");
    if keeper != 0 && keeper::configure(&sock, keeper) {
        shared_store::configure(&crash);
    }
    Ok(())
}

/// Maps the run's crash model, shared by every process of the run, starting it from `fresh`
/// if this process is the first to track writes. False outside a run (or when the model
/// cannot be had): the process then keeps a model of its own.
pub fn shared_model(fresh: &failinject_crash::Store<'static>) -> bool {
    keeper::configured() && shared_store::map(fresh)
}

/// The members that joined so far, as (pid, start time), in the order they joined.
pub fn members() -> impl Iterator<Item = (u32, u64)> {
    (0..MEMBERS)
        .map(|m| MEMBERS_AT + m * MEMBER)
        .map(|at| {
            let pid = shared::half(at + PID).map_or(0, |w| w.load(Ordering::Acquire));
            let start = shared::word(at + START).map_or(0, |w| w.load(Ordering::Acquire));
            (pid, start)
        })
        .take_while(|(pid, _)| *pid != 0)
}

/// Claims the first free member slot for this process.
fn join() {
    let pid = raw::pid();
    for m in 0..MEMBERS {
        let at = MEMBERS_AT + m * MEMBER;
        let Some(owner) = shared::half(at + PID) else { return };
        if owner.compare_exchange(0, pid, Ordering::AcqRel, Ordering::Acquire).is_ok() {
            // When it started: what tells this process from a later one given its pid.
            if let (Some(w), Some(start)) = (shared::word(at + START), kfile::start_time(pid)) {
                w.store(start, Ordering::Release);
            }
            if let Some(state) = shared::half(at + STATE) {
                state.store(RUNNING, Ordering::Release);
            }
            SLOT.store(m, Ordering::Release);
            return;
        }
    }
}

/// A forked child is a process of its own: it claims a slot (its counters start afresh).
pub fn after_fork_in_child() {
    if shared::mapped() {
        SLOT.store(usize::MAX, Ordering::Release);
        join();
    }
}

/// Copies the counters of `snapshot`'s rules (the first `RULES` of them) to this process's
/// slot: called after each decision, before it takes effect.
pub fn mirror(snapshot: &Snapshot) {
    let m = SLOT.load(Ordering::Acquire);
    if m == usize::MAX {
        return;
    }
    let slot = MEMBERS_AT + m * MEMBER + COUNTS;
    for (i, (key, matches, injections)) in snapshot.rule_counts().take(RULES).enumerate() {
        let at = slot + 24 * i;
        // The counts first: a reader that sees the key sees counts at least this new.
        for (off, value) in [(8, matches), (16, injections), (0, key)] {
            if let Some(w) = shared::word(at + off) {
                w.store(value, Ordering::Release);
            }
        }
    }
}

/// This program wrote its exit record (it ends, or execs): the log has its counts. A vfork
/// child about to exec shares its parent's memory, and so its slot number, but not its pid:
/// the parent's slot is left alone.
pub fn ended() {
    let m = SLOT.load(Ordering::Acquire);
    if m == usize::MAX {
        return;
    }
    let at = MEMBERS_AT + m * MEMBER;
    if shared::half(at + PID).is_some_and(|p| p.load(Ordering::Acquire) == raw::pid())
        && let Some(state) = shared::half(at + STATE)
    {
        state.store(ENDED, Ordering::Release);
    }
}

/// The run's budget of the `full` rule whose key hashes to `key_hash`: found, or claimed in
/// the first free budget slot; `None` when the run has no room left (the rule then spends
/// this process's own).
fn budget(key_hash: u64) -> Option<&'static AtomicU64> {
    for b in 0..BUDGETS {
        let at = BUDGETS_AT + 16 * b;
        let key = shared::word(at)?;
        match key.compare_exchange(0, key_hash, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => return shared::word(at + 8),
            Err(k) if k == key_hash => return shared::word(at + 8),
            Err(_) => {}
        }
    }
    None
}
