//! Why a rule never fired (issue 18): the near misses of the rules that have not fired yet,
//! which the log's exit record carries for `failinject run`'s summary (with the I/O and the
//! programs the preload cannot see: `log/mod.rs`, `sys/kfile.rs`, `wrappers/by_hand.rs`).
//!
//! - **Near misses** ([`after_decision`]). While some libc rule has not injected, the points
//!   that share a class with a rule's points (its siblings: `copy_file_range` beside `write`)
//!   are sent down the slow path too ([`watch`]), where a call no rule decided is shown to the
//!   engine ([`Snapshot::near_misses`]). The first near miss of each rule is kept in a fixed
//!   slot (its kind, the point, the descriptor and the path) and the exit record carries it
//!   ([`first`]). A sibling costs what a call under a rule with a non-matching `path=`
//!   costs (the descriptor's verdict is remembered after its first call), and only until every
//!   libc rule has fired: then the siblings leave the slow path (`state::unwatch`, asked by
//!   the wrapper when [`after_decision`] says so).
//!   While a rule of the write class has not fired, `mmap` is watched too: a shared writable
//!   mapping of a file the rule accepts is a near miss of its own (writes through memory).
//!   A rule's own functions pay one relaxed load more, on the slow path only.
//!
//! On the path of an intercepted call nothing here allocates, locks, panics or reads the
//! environment: slots are atomics.

#![forbid(unsafe_code)]

use failinject_engine::points::{POINTS, PointId};
use failinject_engine::{NearMiss, Role, Snapshot, SysCall};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU8, AtomicU32, AtomicU64, Ordering};

/// Whether some libc rule has not fired yet (so near misses are still looked for).
static ARMED: AtomicBool = AtomicBool::new(false);

/// Rules beyond this many (in order) get no near-miss slot.
const SLOTS: usize = 64;
/// The bytes of a near miss's path that are kept.
const PATH_KEPT: usize = 240;

/// The first near miss of one rule.
struct Slot {
    /// 0 empty, 1 being written (by the one thread that claimed it), 2 written.
    state: AtomicU8,
    /// The snapshot generation it was seen under (rule indexes are per snapshot).
    generation: AtomicU64,
    /// 1 [`NearMiss::StdStream`], 2 [`NearMiss::Sibling`], 3 [`NearMiss::SharedMapping`].
    cause: AtomicU8,
    /// The point called (its index in the table).
    point: AtomicU32,
    fd: AtomicI32,
    path_len: AtomicU32,
    path: [AtomicU8; PATH_KEPT],
    /// Near misses seen for this rule under that generation (the first call per descriptor:
    /// later calls on it are not decided again).
    calls: AtomicU64,
}

#[allow(clippy::declare_interior_mutable_const)] // a template for the array below
const EMPTY: Slot = Slot {
    state: AtomicU8::new(0),
    generation: AtomicU64::new(0),
    cause: AtomicU8::new(0),
    point: AtomicU32::new(0),
    fd: AtomicI32::new(-1),
    path_len: AtomicU32::new(0),
    path: [const { AtomicU8::new(0) }; PATH_KEPT],
    calls: AtomicU64::new(0),
};

static NEAR: [Slot; SLOTS] = [EMPTY; SLOTS];

/// At publication (`state.rs`, under the registry's lock): adds the siblings of the rules to
/// `words` (the points sent down the slow path) unless every libc rule has fired, and
/// returns the bits it added, for `state::unwatch` to take back.
pub fn watch(snap: &Snapshot, words: &mut [u64; 4]) -> [u64; 4] {
    let mut added = [0u64; 4];
    let armed = !snap.sys_rules_fired();
    ARMED.store(armed, Ordering::Release);
    if armed {
        for p in snap.sibling_points().iter() {
            let (w, bit) = (p.0 as usize / 64, 1u64 << (p.0 % 64));
            if words[w] & bit == 0 {
                added[w] |= bit;
                words[w] |= bit;
            }
        }
    }
    added
}

/// After the decision of a call on the slow path: a call no rule decided may be a near miss
/// of a rule that has not fired; a call one did may have been the last rule's first fault.
/// `shared_write` tells an `mmap` with `MAP_SHARED` and `PROT_WRITE` (its writes reach the
/// file past every wrapper). Returns the generation whose watched points may leave the slow
/// path, once every libc rule has fired: the caller asks `state::unwatch`, and calls
/// [`disarm`] if that was done.
#[inline]
pub fn after_decision(
    snap: &Snapshot,
    call: &SysCall<'_>,
    decided: bool,
    shared_write: bool,
) -> Option<u64> {
    if !ARMED.load(Ordering::Relaxed) {
        return None;
    }
    if !decided {
        note(snap, call, shared_write);
        return None;
    }
    snap.sys_rules_fired().then(|| snap.generation())
}

/// Every libc rule has fired and the watched points left the slow path: no more near misses.
pub fn disarm() {
    ARMED.store(false, Ordering::Release);
}

#[cold]
#[inline(never)]
fn note(snap: &Snapshot, call: &SysCall<'_>, shared_write: bool) {
    let generation = snap.generation();
    let record = |i: usize, why: NearMiss| {
        let Some(slot) = NEAR.get(i) else { return };
        // A slot of an older snapshot is taken over (its rules are gone or renumbered).
        if slot.state.load(Ordering::Acquire) == 2
            && slot.generation.load(Ordering::Relaxed) != generation
        {
            let _ = slot.state.compare_exchange(2, 0, Ordering::AcqRel, Ordering::Relaxed);
        }
        let cause = code(why);
        // A more telling clue takes the slot over (`NearMiss::rank`: fio's `mmap` engine
        // stats its file, then writes through memory).
        let stronger = slot.state.load(Ordering::Acquire) == 2
            && kept(slot).is_some_and(|(old, point)| why.rank(call.point) > old.rank(point));
        let claimed = slot
            .state
            .compare_exchange(0, 1, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok()
            || (stronger
                && slot.state.compare_exchange(2, 1, Ordering::AcqRel, Ordering::Relaxed).is_ok());
        if claimed {
            slot.generation.store(generation, Ordering::Relaxed);
            slot.calls.store(0, Ordering::Relaxed);
            slot.cause.store(cause, Ordering::Relaxed);
            slot.point.store(u32::from(call.point.0), Ordering::Relaxed);
            slot.fd.store(call.fd.unwrap_or(-1), Ordering::Relaxed);
            let path = call.path.unwrap_or(b"");
            let path = &path[..path.len().min(PATH_KEPT)];
            for (dst, &b) in slot.path.iter().zip(path) {
                dst.store(b, Ordering::Relaxed);
            }
            slot.path_len.store(path.len() as u32, Ordering::Relaxed);
            slot.state.store(2, Ordering::Release);
        }
        if slot.generation.load(Ordering::Relaxed) == generation {
            slot.calls.fetch_add(1, Ordering::Relaxed);
        }
    };
    if shared_write {
        snap.mapping_near_misses(call, record);
    } else if !call.point.info().roles.contains(Role::Maps) {
        snap.near_misses(call, record);
    }
}

/// A near miss's number in a slot (0: none).
fn code(n: NearMiss) -> u8 {
    match n {
        NearMiss::StdStream => 1,
        NearMiss::Sibling => 2,
        NearMiss::SharedMapping => 3,
    }
}

/// The near miss a written slot holds, and the point it was seen at.
fn kept(slot: &Slot) -> Option<(NearMiss, PointId)> {
    let n = match slot.cause.load(Ordering::Relaxed) {
        1 => NearMiss::StdStream,
        2 => NearMiss::Sibling,
        3 => NearMiss::SharedMapping,
        _ => return None,
    };
    let point = u16::try_from(slot.point.load(Ordering::Relaxed)).ok()?;
    (usize::from(point) < POINTS.len()).then_some((n, PointId(point)))
}

/// The first near miss of rule `index` of `snap`, for the exit record (`log/mod.rs`).
pub struct Near {
    /// `stdstream`, `sibling` or `sharedmap`.
    pub cause: &'static [u8],
    /// The point called.
    pub point: &'static str,
    /// Its descriptor (-1 when none).
    pub fd: i32,
    path: [u8; PATH_KEPT],
    path_len: usize,
    /// How many near misses were seen.
    pub calls: u64,
}

impl Near {
    /// The path of the call (its first bytes).
    pub fn path(&self) -> &[u8] {
        &self.path[..self.path_len]
    }
}

/// The first near miss of rule `index` of `snap`, when one was seen.
pub fn first(snap: &Snapshot, index: usize) -> Option<Near> {
    let slot = NEAR.get(index)?;
    if slot.state.load(Ordering::Acquire) != 2
        || slot.generation.load(Ordering::Relaxed) != snap.generation()
    {
        return None;
    }
    let cause = kept(slot).map_or("sibling", |(n, _)| n.name()).as_bytes();
    let point = POINTS.get(slot.point.load(Ordering::Relaxed) as usize).map_or("", |p| p.name);
    let mut path = [0u8; PATH_KEPT];
    let n = (slot.path_len.load(Ordering::Relaxed) as usize).min(PATH_KEPT);
    for (dst, src) in path.iter_mut().zip(&slot.path).take(n) {
        *dst = src.load(Ordering::Relaxed);
    }
    Some(Near {
        cause,
        point,
        fd: slot.fd.load(Ordering::Relaxed),
        path,
        path_len: n,
        calls: slot.calls.load(Ordering::Relaxed),
    })
}

/// I/O no wrapper sees, noticed while the process ran: bit 0 an io_uring ring (closed by the
/// program, so no longer among its descriptors at exit), bit 1 a Linux AIO context (libaio's
/// `io_setup`). The exit record adds what is still set up at exit.
static UNSEEN: AtomicU8 = AtomicU8::new(0);

/// What [`UNSEEN`] notes.
#[derive(Clone, Copy)]
pub enum Unseen {
    /// An io_uring instance.
    IoUring = 1,
    /// A Linux AIO context.
    Aio = 2,
}

/// Notes I/O no wrapper sees.
pub fn saw(what: Unseen) {
    UNSEEN.fetch_or(what as u8, Ordering::Relaxed);
}

/// Whether such I/O was noted.
pub fn seen(what: Unseen) -> bool {
    UNSEEN.load(Ordering::Relaxed) & what as u8 != 0
}
