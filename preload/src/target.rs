//! The facts of a call that rules match on: its target's path and kind, its descriptor.
//!
//! Paths are made absolute (against the current directory, or a dirfd's recorded path) and
//! lexically normalised into buffers taken from a static pool for the duration of the call:
//! nothing is allocated and nothing is kept per thread. They are only touched on the slow
//! path, when a rule applies to the function called.

use crate::fds;
use failinject_engine::{FileKind, absolute_into};
use libc::{c_char, c_int};
use std::cell::UnsafeCell;
use std::ffi::CStr;
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

/// Path buffers for slow paths, shared by all threads. A thread-local copy would cost every
/// thread of every program 12 KiB of static TLS, which glibc takes out of the thread's stack
/// (a `PTHREAD_STACK_MIN` thread could no longer be created); the pool lives in `.bss`, so
/// entries never used cost nothing.
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

/// The bytes of a C string argument (`None` for a null pointer).
///
/// # Safety
/// `p` is null or points to a NUL-terminated string, as the C function's contract requires.
pub unsafe fn c_bytes<'a>(p: *const c_char) -> Option<&'a [u8]> {
    if p.is_null() {
        return None;
    }
    // SAFETY: non-null, NUL-terminated per the caller's contract.
    Some(unsafe { CStr::from_ptr(p) }.to_bytes())
}

/// The current directory, written into `out`.
fn cwd(out: &mut [u8]) -> Option<usize> {
    // SAFETY: `out` is a live buffer of the given length; the kernel writes at most that.
    let n = unsafe { libc::syscall(libc::SYS_getcwd, out.as_mut_ptr(), out.len()) };
    // The raw call returns the length including the terminating NUL.
    (n > 1).then(|| n as usize - 1)
}

/// `path` made absolute against the current directory (or against `dirfd`'s path when it is
/// not `AT_FDCWD`), into `out`, using `tmp` for the base.
pub fn resolve(dirfd: c_int, path: &[u8], out: &mut [u8], tmp: &mut [u8]) -> Option<usize> {
    if path.first() == Some(&b'/') {
        return absolute_into(b"/", path, out);
    }
    let base = if dirfd == libc::AT_FDCWD { cwd(tmp)? } else { fds::path(dirfd, tmp)? };
    absolute_into(&tmp[..base], path, out)
}

/// The descriptor behind a `FILE*`, or -1 for a null stream.
///
/// # Safety
/// `stream` is null or a live stream.
pub unsafe fn stream_fd(stream: *mut libc::FILE) -> c_int {
    if stream.is_null() {
        return -1;
    }
    // SAFETY: a live stream; glibc's fileno reads a field and takes no lock.
    unsafe { libc::fileno(stream) }
}

/// The descriptor behind a `DIR*`, or -1 for a null one.
///
/// # Safety
/// `dir` is null or a live directory stream.
pub unsafe fn dir_fd(dir: *mut libc::DIR) -> c_int {
    if dir.is_null() {
        return -1;
    }
    // SAFETY: a live directory stream.
    unsafe { libc::dirfd(dir) }
}

/// The kind of the target of a call on `fd`.
pub fn fd_kind(fd: c_int) -> FileKind {
    if fd < 0 { FileKind::Unknown } else { fds::kind(fd) }
}
