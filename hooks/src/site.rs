//! A fail point site: the `static` behind each `fail_point!`, and its one-load fast path.
//!
//! Each site remembers the configuration generation in which it found that no rule names it.
//! While the generation is unchanged, a hit costs one load of the generation, one load of the
//! site and a compare: no lock, no map lookup, no shared write, whatever other points are
//! configured. A configured site remembers where its rules are (generation and index) and
//! evaluates without a name lookup.

use crate::backend::{GENERATION_PTR, Outcome, backend};
use std::ffi::CStr;
use std::sync::atomic::{AtomicU64, Ordering};

/// A `quiet` value no generation has.
const NEVER: u64 = u64::MAX;

/// The state of one `fail_point!`.
pub struct Site {
    name: &'static str,
    /// The name's hash (for `after=`), computed at compile time.
    hash: u64,
    cname: &'static CStr,
    /// The generation in which no rule named this point, or `NEVER`.
    quiet: AtomicU64,
    /// `generation << 32 | index` of this point's rules, valid while the generation holds.
    place: AtomicU64,
}

impl Site {
    /// A site for the point `name` (`cname` is the same name, NUL-terminated).
    pub const fn new(name: &'static str, cname: &'static CStr) -> Site {
        Site {
            name,
            hash: failinject_engine::name_hash(name.as_bytes()),
            cname,
            quiet: AtomicU64::new(NEVER),
            place: AtomicU64::new(NEVER),
        }
    }

    /// What to do at this point: `None` on the fast path. A wait (`sleep`, `pause`, …) comes
    /// back as [`Outcome::Wait`], for the caller to block on or await.
    ///
    /// The fast path compares the site's quiet generation with the current one, salted with
    /// the calling thread's [`local::salt`](crate::local): a thread with a local configuration
    /// never matches and takes the slow path, which looks at its local rules; every other
    /// thread keeps the fast path.
    #[inline(always)]
    pub fn eval(&self) -> Option<Outcome> {
        // SAFETY: GENERATION_PTR always points to a live AtomicU64-sized u64 (ours or the
        // preload's, which lives as long as the process).
        let generation = unsafe { &*(GENERATION_PTR.load(Ordering::Relaxed) as *const AtomicU64) };
        if self.quiet.load(Ordering::Relaxed)
            == generation.load(Ordering::Relaxed) ^ crate::local::salt()
        {
            return None;
        }
        self.slow()
    }

    #[cold]
    #[inline(never)]
    fn slow(&self) -> Option<Outcome> {
        if let Some(outcome) = crate::local::eval(self.name) {
            return Some(outcome);
        }
        let b = backend();
        let place = self.place.load(Ordering::Acquire);
        // SAFETY: as in `eval`; the backend is chosen now, so this is its generation.
        let now = unsafe { &*(GENERATION_PTR.load(Ordering::Acquire) as *const AtomicU64) }
            .load(Ordering::Acquire);
        let (generation, index) = if place != NEVER && place >> 32 == now & 0xffff_ffff {
            (now, place as u32)
        } else {
            let (generation, index) = b.lookup(self.name, self.hash, self.cname);
            let Some(i) = index else {
                // No rule can act here: cache that, unless a callback still needs this site's
                // slow path. A thread with local rules does not cache: its salted generation
                // could never match, and the other threads may use the fast path.
                if crate::local::salt() == 0 && !crate::callbacks::has(self.name) {
                    self.quiet.store(generation, Ordering::Release);
                }
                return crate::callbacks::run(self.name);
            };
            self.place.store((generation & 0xffff_ffff) << 32 | u64::from(i), Ordering::Release);
            (generation, i)
        };
        evaluate(generation, index, self.name, self.hash, self.cname)
    }

    /// The point's name.
    pub fn name(&self) -> &'static str {
        self.name
    }
}

/// Evaluates a point looked up at (`generation`, `index`); a point that does nothing runs
/// its callback, if it has one.
fn evaluate(generation: u64, index: u32, name: &str, hash: u64, cname: &CStr) -> Option<Outcome> {
    match backend().eval(generation, index, name, hash, cname) {
        Outcome::Nothing => crate::callbacks::run(name),
        other => Some(other),
    }
}

/// What to do at a point whose name is not a literal (no `static` site to cache in): looked
/// up on every hit.
pub fn eval_dynamic(name: &str) -> Option<Outcome> {
    if let Some(outcome) = crate::local::eval(name) {
        return Some(outcome);
    }
    let cname = std::ffi::CString::new(name).ok()?;
    let hash = failinject_engine::name_hash(name.as_bytes());
    match backend().lookup(name, hash, &cname) {
        (generation, Some(i)) => evaluate(generation, i, name, hash, &cname),
        (_, None) => crate::callbacks::run(name),
    }
}
