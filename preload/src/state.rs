//! The published configuration: what every wrapper reads, and how it changes.
//!
//! The registry lives behind a mutex that only the configuration path takes (start-up, later
//! the control socket and `cfg`). Each change compiles a [`Snapshot`], leaks it (a published
//! snapshot is never freed: a thread may still be reading it) and publishes its address in an
//! atomic. A wrapper first tests its point's bit in [`ACTIVE`] with one relaxed load; only
//! when the bit is set does it read the snapshot.

#![forbid(unsafe_code)]

use crate::sys::published::Published;
use failinject_engine::{Filter, PointId, Registry, Roles, Snapshot, Task};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// One bit per libc point: set when at least one rule applies to it.
static ACTIVE: [AtomicU64; 4] = [const { AtomicU64::new(0) }; 4];
/// The bits of [`ACTIVE`] set only for near misses (`nearmiss.rs`), taken back when every
/// libc rule has fired.
static WATCHED: [AtomicU64; 4] = [const { AtomicU64::new(0) }; 4];
/// Set once any libc rule exists: descriptors are tracked from then on.
static TRACKING: AtomicBool = AtomicBool::new(false);
static SNAPSHOT: Published<Snapshot> = Published::new();
/// The published snapshot's generation, shifted for [`verdict_key`]; its top 16 bits count
/// the changes of local contexts ([`local_changed`]).
static GENERATION: AtomicU64 = AtomicU64::new(0);
/// The published snapshot's generation, as is: in-code points compare it with the
/// generation they last looked their rules up in (`failinject_v1_generation_ptr`).
pub static PLAIN_GENERATION: AtomicU64 = AtomicU64::new(0);
static REGISTRY: Mutex<Option<Registry>> = Mutex::new(None);

/// Whether any rule applies to `p`: the wrappers' fast path.
#[inline(always)]
pub fn active(p: PointId) -> bool {
    ACTIVE[p.0 as usize / 64].load(Ordering::Relaxed) & (1 << (p.0 % 64)) != 0
}

/// Whether descriptors must be tracked (any libc rule exists).
#[inline(always)]
pub fn tracking() -> bool {
    TRACKING.load(Ordering::Relaxed)
}

/// The key under which verdicts about descriptors for point `p` are remembered: it changes
/// with every published snapshot, and every change of a local context (see
/// `fds::rejected`).
#[inline(always)]
pub fn verdict_key(p: PointId) -> u64 {
    GENERATION.load(Ordering::Acquire) | (u64::from(p.0) + 1)
}

/// The published snapshot, if any.
#[inline]
pub fn snapshot() -> Option<&'static Snapshot> {
    SNAPSHOT.get()
}

/// The launch configuration (`FAILINJECT`, `FAILINJECT_FILE`, `FAILPOINTS`), as installed
/// by the constructor, sharing its rules' counters with the registry until they are
/// replaced: what [`restore_launch`] returns to.
static LAUNCH: Mutex<Option<Registry>> = Mutex::new(None);

/// Compiles and publishes `registry`, and keeps it as the registry for later changes (and a
/// copy as the launch configuration).
pub fn install(mut registry: Registry) {
    if let Ok(mut slot) = REGISTRY.lock() {
        publish(&mut registry);
        if let Ok(mut launch) = LAUNCH.lock() {
            *launch = Some(registry.clone());
        }
        *slot = Some(registry);
    }
}

/// Makes the rules the launch configuration again, each launch rule with its counters (a
/// `FailScenario`'s teardown, `failinject_v1_restore_launch`). `None` when there is no
/// registry.
pub fn restore_launch() -> Option<()> {
    change(|registry| {
        if let Ok(launch) = LAUNCH.lock()
            && let Some(launch) = launch.as_ref()
        {
            registry.restore(launch);
        }
    })
}

/// Changes the registry with `f` and publishes the result: the configuration path of the
/// C ABI and the control socket. `None` when there is no registry (the preload never
/// started) or its lock is poisoned.
pub fn change<T>(f: impl FnOnce(&mut Registry) -> T) -> Option<T> {
    let mut slot = REGISTRY.lock().ok()?;
    let registry = slot.as_mut()?;
    let before = snapshot();
    let out = f(registry);
    if registry.rules().any(|r| r.filters.iter().any(|f| matches!(f, Filter::Site(_)))) {
        crate::sys::site::warm_up();
    }
    publish(registry);
    // Rules removed or replaced keep their counts in the log.
    crate::log::retired(before);
    Some(out)
}

/// Reads the registry (for `list` and `seed`).
pub fn read<T>(f: impl FnOnce(&Registry) -> T) -> Option<T> {
    REGISTRY.lock().ok().and_then(|slot| slot.as_ref().map(f))
}

/// Compiles `registry` into a snapshot, leaks it and makes it the published one; only then
/// are the rules it replaced retired (`Registry::publish`), so a thread woken from their
/// `pause` already finds the new snapshot.
fn publish(registry: &mut Registry) {
    // A `powercut`/`lose` rule turns write tracking on for good (from this moment: what files
    // hold now counts as synced), and sends every tracked point down the slow path.
    // Recording changes for explore (`changes.rs`) needs every hook: directories, and what
    // each write left.
    if registry.needs_tracking() || crate::changes::on() {
        let cuts = || {
            registry.rules().flat_map(|r| &r.chain).filter_map(|a| match a.task {
                Task::Powercut(cut) => Some(cut),
                _ => None,
            })
        };
        // A live replay of a crash state counts the changes as explore's recording did.
        if let Some(keep) = cuts().find_map(|c| c.keep) {
            crate::changes::arm(keep.point);
        }
        let recording = crate::changes::on();
        crate::crash::start(
            recording || cuts().any(|c| c.dirs),
            recording || cuts().any(|c| c.mode.keeps_changes()),
        );
    }
    // Once on, tracking stays on: turning it off would let the table go stale while
    // descriptor numbers are reused, and a later rule would then see wrong paths.
    let sys = registry.rules().any(|r| r.is_sys());
    registry.publish(|snapshot| store(snapshot, sys));
}

/// Makes `snapshot` the published one, with the fast-path bits of its points.
fn store(snapshot: Snapshot, sys: bool) {
    let snap = SNAPSHOT.publish(snapshot);
    let epoch = GENERATION.load(Ordering::Acquire) & LOCAL_EPOCH;
    GENERATION.store((snap.generation() << 16 & !LOCAL_EPOCH) | epoch, Ordering::Release);
    PLAIN_GENERATION.store(snap.generation(), Ordering::Release);
    // The points of thread-scoped rules take the slow path for every thread (`local.rs`).
    let mut words = crate::local::words();
    for p in snap.active_points().iter() {
        words[p.0 as usize / 64] |= 1 << (p.0 % 64);
    }
    if crate::crash::on() {
        // Every call that changes files or directories, as the table's roles say.
        for p in PointId::all().filter(|p| p.info().roles.meets(Roles::CHANGES)) {
            words[p.0 as usize / 64] |= 1 << (p.0 % 64);
        }
    }
    // Until every libc rule has fired, their siblings come down the slow path too, for the
    // near misses that say why a rule never fired (`nearmiss.rs`).
    let watched = crate::nearmiss::watch(snap, &mut words);
    for (a, w) in WATCHED.iter().zip(watched) {
        a.store(w, Ordering::Release);
    }
    for (a, w) in ACTIVE.iter().zip(words) {
        a.store(w, Ordering::Release);
    }
    if sys || crate::changes::on() {
        TRACKING.store(true, Ordering::Release);
    }
}

/// The bits of [`GENERATION`] that count changes of local contexts.
const LOCAL_EPOCH: u64 = 0xffff << 48;

/// A local context changed (`local.rs`): its points join the slow path, and every descriptor
/// verdict is forgotten (one made before may skip a bound thread's new rule).
pub fn local_changed() {
    // Under the registry's lock: a publication running at the same time must not store
    // fast-path bits computed before this change.
    let _registry = REGISTRY.lock();
    for (a, w) in ACTIVE.iter().zip(crate::local::words()) {
        a.fetch_or(w, Ordering::AcqRel);
    }
    let now = GENERATION.load(Ordering::Acquire);
    let epoch = (now & LOCAL_EPOCH).wrapping_add(1 << 48) & LOCAL_EPOCH;
    GENERATION.store((now & !LOCAL_EPOCH) | epoch, Ordering::Release);
}

/// Takes the points [`crate::nearmiss::watch`] added off the slow path, once every libc rule
/// of the snapshot of `generation` has fired. Never blocks: when the registry is being
/// changed (its lock is held), or was changed since, nothing is done and `false` returned.
pub fn unwatch(generation: u64) -> bool {
    let Ok(_slot) = REGISTRY.try_lock() else { return false };
    if PLAIN_GENERATION.load(Ordering::Acquire) != generation {
        return false;
    }
    // A point a local context names stays on the slow path.
    for ((a, w), local) in ACTIVE.iter().zip(&WATCHED).zip(crate::local::words()) {
        a.fetch_and(!(w.swap(0, Ordering::AcqRel) & !local), Ordering::AcqRel);
    }
    true
}

/// In a forked child: every rule's counters start afresh (counters are per process). Runs
/// in the child of a possibly threaded parent, so it takes no lock.
pub fn after_fork_in_child() {
    if let Some(s) = snapshot() {
        s.reset_counters();
    }
}
