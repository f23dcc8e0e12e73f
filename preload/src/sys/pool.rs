//! Path buffers for slow paths, shared by all threads and taken for the length of one call.
//!
//! A thread-local copy would cost every thread of every program 12 KiB of static TLS, which
//! glibc takes out of the thread's stack (a `PTHREAD_STACK_MIN` thread could no longer be
//! created); the pool lives in `.bss`, so entries never used cost nothing.

use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicBool, Ordering};

/// The longest path handled; longer ones leave the target unknown.
pub const PATH_MAX: usize = 4096;

/// Scratch space for one call's paths.
pub struct Bufs {
    /// The target path.
    pub a: [u8; PATH_MAX],
    /// The second path of a two-file call.
    pub b: [u8; PATH_MAX],
    /// Room for the base directory while joining.
    pub t: [u8; PATH_MAX],
}

/// One pool entry: a set of buffers and the flag of the thread using it.
struct Entry {
    busy: AtomicBool,
    bufs: UnsafeCell<Bufs>,
}

// SAFETY: `bufs` is only reached through `with_bufs`, by the one thread that won `busy` with a
// compare-and-swap, until it stores `false` again; no two threads touch it at once.
unsafe impl Sync for Entry {}

/// How many slow paths may run at the same time with buffers; beyond that a call waits a
/// little, then passes through uninjected.
const POOL: usize = 128;

/// The pool.
static BUFS: [Entry; POOL] = [const {
    Entry {
        busy: AtomicBool::new(false),
        bufs: UnsafeCell::new(Bufs { a: [0; PATH_MAX], b: [0; PATH_MAX], t: [0; PATH_MAX] }),
    }
}; POOL];

/// In a forked child: only the forking thread survives, and it was not inside a slow path,
/// so every entry is free (one held by another thread of the parent would be lost forever).
pub fn after_fork_in_child() {
    for e in &BUFS {
        e.busy.store(false, Ordering::Release);
    }
}

/// Runs `f` with a set of buffers no other thread is using, or returns `None` when all are
/// busy for long (the caller then passes the call through).
pub fn with_bufs<R>(f: impl FnOnce(&mut Bufs) -> R) -> Option<R> {
    // Start at a place that depends on the thread, so threads rarely collide.
    let marker = 0u8;
    let start = (&marker as *const u8 as usize >> 12) % POOL;
    for round in 0..64 {
        for k in 0..POOL {
            let e = &BUFS[(start + k) % POOL];
            if e.busy.compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed).is_ok() {
                // SAFETY: winning `busy` gives this thread the entry alone until it is
                // released below (see `impl Sync for Entry`).
                let r = f(unsafe { &mut *e.bufs.get() });
                e.busy.store(false, Ordering::Release);
                return Some(r);
            }
        }
        if round > 0 {
            // SAFETY: sched_yield has no preconditions.
            unsafe { libc::sched_yield() };
        }
    }
    None
}
