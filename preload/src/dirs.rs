//! The directory-entry model of `powercut(dirs)`: a journal of the creations, renames and
//! removals of this process, each undone by the power cut unless every directory it changed
//! was synced after it.
//!
//! Off unless a `powercut(dirs)` rule has been published (then on for good, from that
//! moment). A plain `powercut` takes every directory operation as durable when it returns.
//!
//! Each entry keeps the absolute path(s) it changed (at most [`PATH`] bytes each; longer
//! ones are not journaled), the parent directories (device and inode) that must be synced
//! for it to be durable, and for a removed or replaced regular file a read-only descriptor
//! of ours on it, so that its contents can be written back under its old name. A successful
//! `fsync` of a directory (`syncfs`, `sync`) makes the entries that waited for it durable and
//! frees them. The journal is a static array under its own spin lock, taken only inside the
//! re-entrancy guard and never across a call into libc; the tracker's lock (`track.rs`) may be
//! held when it is taken, never the other way round.

use crate::kfile::{self, Stat};
use crate::spin::SpinLock;
use crate::track::Pre;
use failinject_engine::SysCall;
use libc::{c_char, c_int};
use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicBool, Ordering};

static ON: AtomicBool = AtomicBool::new(false);
static LOCK: SpinLock = SpinLock::new();
static WARNED: AtomicBool = AtomicBool::new(false);

/// Starts journaling (a `powercut(dirs)` rule was published).
pub fn start() {
    ON.store(true, Ordering::Release);
}

fn on() -> bool {
    ON.load(Ordering::Relaxed)
}

const ENTRIES: usize = 1024;
/// The longest path journaled, with its NUL.
const PATH: usize = 512;

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    /// `a` was created (a file, a directory, a link): undone by removing it.
    Created,
    /// `a` was renamed to `b` (replacing `held`, if any): undone by renaming back and
    /// writing the replaced file back.
    Renamed,
    /// `a` was removed: undone by writing `held` back, or making the directory again.
    Removed { dir: bool },
}

#[derive(Clone, Copy)]
struct Entry {
    kind: Kind,
    live: bool,
    a: [u8; PATH],
    b: [u8; PATH],
    held: c_int,
    /// The parent directories still to be synced (device, inode); (0, 0) when none.
    parents: [(u64, u64); 2],
}

struct Journal {
    n: usize,
    e: [Entry; ENTRIES],
}

struct Shared(UnsafeCell<Journal>);

// SAFETY: the journal is only reached through `with_journal`, which holds `LOCK`: one thread
// at a time.
unsafe impl Sync for Shared {}

const EMPTY: Entry = Entry {
    kind: Kind::Created,
    live: false,
    a: [0; PATH],
    b: [0; PATH],
    held: -1,
    parents: [(0, 0); 2],
};

static JOURNAL: Shared = Shared(UnsafeCell::new(Journal { n: 0, e: [EMPTY; ENTRIES] }));

fn with_journal<R>(f: impl FnOnce(&mut Journal) -> R) -> R {
    let _held = LOCK.lock();
    // SAFETY: `LOCK` is held, so no other reference to the journal exists.
    f(unsafe { &mut *JOURNAL.0.get() })
}

/// In a forked child: no thread holds the journal (see `spin.rs`).
pub fn after_fork_in_child() {
    LOCK.reset_after_fork();
}

fn warn(what: &[u8]) {
    if !WARNED.swap(true, Ordering::Relaxed) {
        crate::raw::diag(&[b"powercut(dirs): ", what, b"; that change will survive a power cut"]);
    }
}

/// Copies `path` into `out` with a NUL; false when it does not fit.
fn put(out: &mut [u8; PATH], path: &[u8]) -> bool {
    if path.len() >= PATH || path.is_empty() {
        return false;
    }
    out[..path.len()].copy_from_slice(path);
    out[path.len()] = 0;
    true
}

/// The device and inode of the directory that holds `path` (absolute, NUL-terminated).
fn parent(path: &mut [u8; PATH]) -> (u64, u64) {
    let len = path.iter().position(|b| *b == 0).unwrap_or(0);
    let Some(slash) = path[..len].iter().rposition(|b| *b == b'/') else { return (0, 0) };
    let keep = path[slash.max(1)];
    path[slash.max(1)] = 0;
    // SAFETY: `path` is NUL-terminated at `slash` (or just after the root's `/`).
    let st = unsafe { kfile::stat_at(libc::AT_FDCWD, path.as_ptr() as *const c_char, false) };
    path[slash.max(1)] = keep;
    st.map_or((0, 0), |s| (s.dev, s.ino))
}

/// Appends an entry; `a` (and `b`) are absolute paths.
fn add(kind: Kind, a: &[u8], b: Option<&[u8]>, held: Option<c_int>) {
    let mut e = Entry { kind, live: true, held: held.unwrap_or(-1), ..EMPTY };
    if !put(&mut e.a, a) || b.is_some_and(|b| !put(&mut e.b, b)) {
        kfile::close(e.held);
        warn(b"a path is too long to journal");
        return;
    }
    e.parents[0] = parent(&mut e.a);
    if b.is_some() {
        let p = parent(&mut e.b);
        if p != e.parents[0] {
            e.parents[1] = p;
        }
    }
    with_journal(|j| {
        if j.n == ENTRIES {
            kfile::close(e.held);
            warn(b"more than 1024 directory changes are not synced");
            return;
        }
        j.e[j.n] = e;
        j.n += 1;
    });
}

/// Before a call that may remove or replace the file at `path`: keeps a descriptor on it
/// (regular files), or notes that it is a directory.
///
/// # Safety
/// `path` is null or NUL-terminated.
pub unsafe fn before_replace(dirfd: c_int, path: *const c_char) -> Pre {
    let mut pre = Pre::none();
    if !on() {
        return pre;
    }
    // SAFETY: the caller's contract.
    match unsafe { kfile::stat_at(dirfd, path, true) } {
        Some(st) if st.regular() => {
            // SAFETY: the caller's contract.
            let fd = unsafe { kfile::open_at(dirfd, path, libc::O_RDONLY | libc::O_NOFOLLOW, 0) };
            if fd >= 0 {
                pre.held = Some(kfile::to_high(fd));
            }
        }
        Some(st) if st.dir() => pre.dir = true,
        _ => {}
    }
    pre
}

/// After `open(O_CREAT)` created the file open as `fd`, at `path` (`None`: ask the kernel).
pub fn created(fd: c_int, path: Option<&[u8]>) {
    if !on() {
        return;
    }
    match path {
        Some(p) => add(Kind::Created, p, None, None),
        None => {
            let mut buf = [0u8; PATH];
            if let Some(n) = crate::fds::path(fd, &mut buf[..PATH - 1]) {
                let copy = buf;
                add(Kind::Created, &copy[..n], None, None);
            }
        }
    }
}

/// After `mkdir`, `link`, `symlink` (and their `*at` forms) returned `r`.
pub fn made(r: i64, call: &SysCall<'_>) {
    if on()
        && r == 0
        && let Some(p) = call.path
    {
        add(Kind::Created, p, None, None);
    }
}

/// After a rename returned `r`: the call's `path2` is the old name, `path` the new one.
pub fn renamed(pre: &mut Pre, r: i64, call: &SysCall<'_>) {
    if on()
        && r == 0
        && let (Some(to), Some(from)) = (call.path, call.path2)
    {
        add(Kind::Renamed, from, Some(to), pre.held.take());
    }
}

/// After `unlink`, `unlinkat`, `remove` or `rmdir` returned `r`.
pub fn removed(pre: &mut Pre, r: i64, call: &SysCall<'_>) {
    if on()
        && r == 0
        && let Some(p) = call.path
    {
        add(Kind::Removed { dir: pre.dir }, p, None, pre.held.take());
    }
}

/// Frees the entries whose directories were all synced.
fn prune(j: &mut Journal, synced: impl Fn((u64, u64)) -> bool) {
    for e in j.e[..j.n].iter_mut().filter(|e| e.live) {
        for p in &mut e.parents {
            if *p != (0, 0) && synced(*p) {
                *p = (0, 0);
            }
        }
        if e.parents == [(0, 0); 2] {
            e.live = false;
            kfile::close(e.held);
            e.held = -1;
        }
    }
    while j.n > 0 && !j.e[j.n - 1].live {
        j.n -= 1;
    }
}

/// A directory was synced.
pub fn synced_dir(st: &Stat) {
    if on() {
        with_journal(|j| prune(j, |p| p == (st.dev, st.ino)));
    }
}

/// A file system was synced.
pub fn synced_fs(dev: u64) {
    if on() {
        with_journal(|j| prune(j, |p| p.0 == dev));
    }
}

/// Everything was synced.
pub fn synced_all() {
    if on() {
        with_journal(|j| prune(j, |_| true));
    }
}

/// Undoes one entry.
///
/// # Safety
/// `e.a` and `e.b` are NUL-terminated.
unsafe fn undo_one(e: &Entry) {
    let a = e.a.as_ptr() as *const c_char;
    let b = e.b.as_ptr() as *const c_char;
    // SAFETY (every call below): `a` and `b` are NUL-terminated (the caller's contract).
    match e.kind {
        Kind::Created => {
            // SAFETY: as above.
            if unsafe { kfile::unlink_at(a, 0) } != 0 {
                // SAFETY: as above.
                unsafe { kfile::unlink_at(a, libc::AT_REMOVEDIR) };
            }
        }
        Kind::Renamed => {
            // SAFETY: as above.
            unsafe { kfile::rename(b, a) };
            if e.held >= 0 {
                // SAFETY: as above.
                unsafe { kfile::write_back(e.held, b) };
            }
        }
        Kind::Removed { dir } => {
            if e.held >= 0 {
                // SAFETY: as above.
                unsafe { kfile::write_back(e.held, a) };
            } else if dir {
                // SAFETY: as above.
                unsafe { kfile::mkdir(a) };
            }
        }
    }
}

/// Undoes the journal, newest first (the power cut).
pub fn undo() {
    if !on() {
        return;
    }
    with_journal(|j| {
        for e in j.e[..j.n].iter().rev().filter(|e| e.live) {
            // SAFETY: the entry's paths are NUL-terminated (`put`).
            unsafe { undo_one(e) };
        }
    });
}
