//! Write tracking for `powercut` and `lose(E)`: what each file looked like at its last sync,
//! and putting it back.
//!
//! Off (one relaxed load in the wrappers of the points in [`POINTS`], nothing anywhere else)
//! until a configuration with a `powercut` or `lose` task is published (`state.rs`); from
//! then on, for the rest of the process:
//!
//! - each regular file the process changes gets a slot in [`TABLE`], keyed by device and
//!   inode (several descriptors, names and renames reach one slot), holding its *synced
//!   size*, our own descriptor on it (opened through `/proc/self/fd`, moved to a high number,
//!   close-on-exec), and the newest of its undo records;
//! - before a write, truncate or hole punch, the bytes it is about to overwrite below the
//!   synced size are copied into an undo record (`undo.rs`, an mmap'd arena off the heap);
//! - a successful `fsync`/`fdatasync` (`syncfs` for its file system, `sync` for all) drops the
//!   file's records and frees its slot: what is on disk now is the synced state;
//! - rolling a file back truncates it (with our descriptor) to its synced size and writes the
//!   records back, newest first, so the oldest (the synced bytes) win.
//!
//! A file the process creates starts with synced size 0: never synced, it comes back empty.
//! A file first seen later starts with its size then: what was there before is taken as
//! synced. stdio writes reach the kernel from inside glibc, unseen, so a writable stream's
//! file is copied whole (below its synced size) at its first stdio call after a sync
//! ([`before_unseen_writes`]).
//!
//! Concurrency: the table and the arena change under one spin lock, held for a few system
//! calls on regular files and never across a call into libc or a wait. It is only taken
//! inside the re-entrancy guard, so a signal handler that interrupts the holder on its own
//! thread passes through instead of spinning on it; a forked child starts with it free.
//! Calls that change file data count themselves in [`INFLIGHT`] around the real call, so a
//! power cut waits for writes already under way, and new ones never start once it began.

use crate::kfile::{self, Stat};
use crate::spin::{self, SpinLock};
use crate::{raw, undo};
use failinject_engine::Effect;
use libc::{c_char, c_int};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, AtomicU64, AtomicUsize, Ordering};

/// The points whose calls are tracked once tracking is on: writes, truncation, allocation,
/// creation, stdio, syncs, and the directory operations of `powercut(dirs)`.
pub const POINTS: &[&str] = &[
    "open",
    "openat",
    "creat",
    "fopen",
    "freopen",
    "fdopen",
    "mkstemp",
    "write",
    "pwrite",
    "writev",
    "pwritev",
    "pwritev2",
    "copy_file_range",
    "sendfile",
    "splice",
    "ftruncate",
    "truncate",
    "fallocate",
    "posix_fallocate",
    "fwrite",
    "fputs",
    "fputc",
    "puts",
    "putchar",
    "fprintf",
    "printf",
    "dprintf",
    "fflush",
    "fclose",
    "fsync",
    "fdatasync",
    "sync_file_range",
    "syncfs",
    "sync",
    "rename",
    "renameat",
    "renameat2",
    "unlink",
    "unlinkat",
    "remove",
    "rmdir",
    "mkdir",
    "mkdirat",
    "link",
    "linkat",
    "symlink",
    "symlinkat",
];

/// Whether calls to `point` are tracked (in `const` code, for the wrappers).
pub const fn tracked(point: &str) -> bool {
    crate::book::listed(POINTS, point)
}

static ON: AtomicBool = AtomicBool::new(false);
/// Set when a power cut has begun: tracked writes no longer start.
static CUT: AtomicBool = AtomicBool::new(false);
/// Tracked calls between their undo record and the end of the real call.
static INFLIGHT: AtomicU32 = AtomicU32::new(0);
static LOCK: SpinLock = SpinLock::new();
/// Whether the "could not track" message was written (once per process).
static WARNED: AtomicBool = AtomicBool::new(false);

/// Whether tracking is on.
#[inline(always)]
pub fn on() -> bool {
    ON.load(Ordering::Relaxed)
}

/// Turns tracking on (the configuration path, when a `powercut`/`lose` rule is published).
/// Files are tracked from this moment: what they hold now counts as synced.
pub fn start() {
    if undo::reserve() {
        ON.store(true, Ordering::Release);
    } else {
        raw::diag(&[
            b"cannot reserve memory for write tracking: powercut and lose roll nothing back",
        ]);
    }
}

/// Whether the effect is one this module carries out instead of the call (no tracking of
/// the call itself then).
pub fn ends(e: &Effect<'_>) -> bool {
    matches!(e, Effect::Powercut { .. } | Effect::Lose(_))
}

// ---- the file table ------------------------------------------------------------------------

const FILES: usize = 1024;
/// The whole synced content (below the synced size) is in the records: stdio or another
/// writer we cannot see may change any byte.
const WHOLE: u32 = 1;
/// Undo data could not be kept (arena full, file unreadable): the rollback is incomplete.
const LOSSY: u32 = 2;
/// The process created the file since tracking began.
const CREATED: u32 = 4;

struct File {
    used: AtomicBool,
    dev: AtomicU64,
    ino: AtomicU64,
    /// Our own read-write descriptor on the file.
    fd: AtomicI32,
    synced: AtomicU64,
    /// The newest undo record (arena offset), 0 for none.
    head: AtomicU64,
    count: AtomicU64,
    flags: AtomicU32,
}

static TABLE: [File; FILES] = [const {
    File {
        used: AtomicBool::new(false),
        dev: AtomicU64::new(0),
        ino: AtomicU64::new(0),
        fd: AtomicI32::new(-1),
        synced: AtomicU64::new(0),
        head: AtomicU64::new(0),
        count: AtomicU64::new(0),
        flags: AtomicU32::new(0),
    }
}; FILES];
/// Slots at or above this index have never been used (the scan bound).
static HIGH: AtomicUsize = AtomicUsize::new(0);

/// The tracker's lock, held while the value lives.
type Held = spin::Held<'static>;

fn lock() -> Held {
    LOCK.lock()
}

fn used_slots(_held: &Held) -> impl Iterator<Item = (usize, &'static File)> {
    TABLE[..HIGH.load(Ordering::Relaxed)]
        .iter()
        .enumerate()
        .filter(|(_, f)| f.used.load(Ordering::Relaxed))
}

fn find(held: &Held, st: &Stat) -> Option<usize> {
    used_slots(held)
        .find(|(_, f)| {
            f.ino.load(Ordering::Relaxed) == st.ino && f.dev.load(Ordering::Relaxed) == st.dev
        })
        .map(|(i, _)| i)
}

fn warn(what: &[u8]) {
    if !WARNED.swap(true, Ordering::Relaxed) {
        raw::diag(&[b"write tracking: ", what, b"; a power cut will not roll every file back"]);
    }
}

/// The slot of the file `st` describes, registering it if needed: `own` is a new descriptor
/// of ours on it (closed if the file already has a slot), `synced` its synced size if new.
fn slot(held: &Held, st: &Stat, own: c_int, synced: u64, flags: u32) -> Option<usize> {
    if let Some(i) = find(held, st) {
        kfile::close(own);
        return Some(i);
    }
    if own < 0 {
        warn(b"a file could not be reopened for reading and writing");
        return None;
    }
    let Some(i) = TABLE.iter().position(|f| !f.used.load(Ordering::Relaxed)) else {
        kfile::close(own);
        warn(b"more than 1024 files are written and not synced");
        return None;
    };
    let f = &TABLE[i];
    f.dev.store(st.dev, Ordering::Relaxed);
    f.ino.store(st.ino, Ordering::Relaxed);
    f.fd.store(kfile::to_high(own), Ordering::Relaxed);
    f.synced.store(synced, Ordering::Relaxed);
    f.head.store(0, Ordering::Relaxed);
    f.count.store(0, Ordering::Relaxed);
    f.flags.store(flags, Ordering::Relaxed);
    f.used.store(true, Ordering::Relaxed);
    if i >= HIGH.load(Ordering::Relaxed) {
        HIGH.store(i + 1, Ordering::Relaxed);
    }
    Some(i)
}

/// The slot of the regular file open as the program's `fd` (registered with its current
/// size as the synced size when new), and its current facts.
fn slot_of_fd(held: &Held, fd: c_int) -> Option<(usize, Stat)> {
    // Facts read again under the lock: another thread may have changed the size meanwhile.
    let st = kfile::fstat(fd).filter(Stat::regular)?;
    if let Some(i) = find(held, &st) {
        return Some((i, st));
    }
    let own = kfile::reopen(fd, libc::O_RDWR);
    slot(held, &st, own, st.size, 0).map(|i| (i, st))
}

/// Copies the file's bytes `off..off + len` into a new undo record of slot `i`.
fn save(_held: &Held, i: usize, off: u64, len: u64) {
    if len == 0 {
        return;
    }
    let f = &TABLE[i];
    let Some(rec) = usize::try_from(len).ok().and_then(|len| undo::alloc(off, len)) else {
        f.flags.fetch_or(LOSSY, Ordering::Relaxed);
        warn(b"the undo arena is full");
        return;
    };
    // SAFETY: a record just allocated under the lock; nothing else refers to its bytes.
    let bytes = unsafe { undo::bytes(rec) };
    let got = kfile::pread_full(f.fd.load(Ordering::Relaxed), bytes, off);
    if got < bytes.len() {
        // The file is shorter than its size said (a racing truncate): keep what was read.
        undo::unalloc(rec);
        if got > 0 {
            save_short(i, off, got as u64);
        }
        return;
    }
    // SAFETY: as above; the head is a live record of this file or 0.
    unsafe { undo::link(rec, f.head.load(Ordering::Relaxed)) };
    f.head.store(rec, Ordering::Relaxed);
    f.count.fetch_add(1, Ordering::Relaxed);
}

/// [`save`] of a range that turned out shorter (no recursion past one step).
fn save_short(i: usize, off: u64, len: u64) {
    let f = &TABLE[i];
    let Some(rec) = undo::alloc(off, len as usize) else { return };
    // SAFETY: as in `save`.
    let bytes = unsafe { undo::bytes(rec) };
    if kfile::pread_full(f.fd.load(Ordering::Relaxed), bytes, off) < bytes.len() {
        undo::unalloc(rec);
        return;
    }
    // SAFETY: as in `save`.
    unsafe { undo::link(rec, f.head.load(Ordering::Relaxed)) };
    f.head.store(rec, Ordering::Relaxed);
    f.count.fetch_add(1, Ordering::Relaxed);
}

/// The bytes of slot `i` that a change at `off..off + len` would lose, clipped to what
/// exists and was synced; saved.
fn save_clipped(held: &Held, i: usize, st: &Stat, off: u64, len: u64) {
    let limit = st.size.min(TABLE[i].synced.load(Ordering::Relaxed));
    if off < limit {
        save(held, i, off, len.min(limit - off));
    }
}

/// Forgets slot `i`: its file is in its synced state (synced, or rolled back).
fn drop_slot(_held: &Held, i: usize) {
    let f = &TABLE[i];
    kfile::close(f.fd.swap(-1, Ordering::Relaxed));
    f.head.store(0, Ordering::Relaxed);
    f.used.store(false, Ordering::Relaxed);
    undo::dropped(f.count.swap(0, Ordering::Relaxed));
}

/// Puts slot `i`'s file back into its synced state.
fn roll_back(_held: &Held, i: usize) {
    let f = &TABLE[i];
    let fd = f.fd.load(Ordering::Relaxed);
    kfile::ftruncate(fd, f.synced.load(Ordering::Relaxed));
    let mut rec = f.head.load(Ordering::Relaxed);
    while rec != 0 {
        // SAFETY: records reachable from a head are live until the slot is dropped.
        let (off, prev) = unsafe { undo::describe(rec) };
        // SAFETY: as above.
        kfile::pwrite_all(fd, unsafe { undo::bytes(rec) }, off);
        rec = prev;
    }
}

// ---- the calls -----------------------------------------------------------------------------

/// A tracked call that changes file data, counted in [`INFLIGHT`] until it is dropped
/// (after the real call returned).
pub struct Pending(());

impl Drop for Pending {
    fn drop(&mut self) {
        INFLIGHT.fetch_sub(1, Ordering::Release);
    }
}

/// Counts a data-changing call in; once a power cut has begun, the thread waits for the
/// SIGKILL instead (its change would come after the cut).
fn pending() -> Pending {
    INFLIGHT.fetch_add(1, Ordering::AcqRel);
    if CUT.load(Ordering::Acquire) {
        INFLIGHT.fetch_sub(1, Ordering::Release);
        loop {
            raw::sleep_ms(1000);
        }
    }
    Pending(())
}

/// What the tracker did before a call, for after it.
pub struct Pre {
    /// Keeps the call counted in until the real call returned.
    _pending: Option<Pending>,
    /// The call may create the file (`O_CREAT` on a path that did not exist).
    creates: bool,
    /// Our descriptor on a file the call may unlink or replace (`dirs.rs`), closed on drop
    /// unless the directory journal takes it.
    pub held: Option<c_int>,
    /// What the call may remove is a directory (`dirs.rs`).
    pub dir: bool,
}

impl Pre {
    /// Nothing to do before the call.
    pub fn none() -> Pre {
        Pre { _pending: None, creates: false, held: None, dir: false }
    }
}

impl Drop for Pre {
    fn drop(&mut self) {
        if let Some(fd) = self.held.take() {
            kfile::close(fd);
        }
    }
}

/// Whether `fd` is a regular file: only those are tracked, and only calls on them count as
/// pending changes (a write blocked on a pipe must not hold up a power cut).
fn regular(fd: c_int) -> bool {
    fd >= 0 && kfile::fstat(fd).is_some_and(|st| st.regular())
}

/// Before a write of `count` bytes to `fd`, at `at` (`None`: at the file offset, or the end
/// for `O_APPEND`).
pub fn before_write(fd: c_int, at: Option<u64>, count: u64) -> Pre {
    if !regular(fd) {
        return Pre::none();
    }
    let p = pending();
    let held = lock();
    if let Some((i, st)) = slot_of_fd(&held, fd) {
        let off = match at {
            Some(off) => Some(off),
            None if kfile::status_flags(fd) & libc::O_APPEND != 0 => Some(st.size),
            None => kfile::offset(fd),
        };
        if let Some(off) = off {
            save_clipped(&held, i, &st, off, count);
        }
    }
    Pre { _pending: Some(p), creates: false, held: None, dir: false }
}

/// Before `ftruncate(fd, len)`.
pub fn before_truncate(fd: c_int, len: u64) -> Pre {
    if !regular(fd) {
        return Pre::none();
    }
    let p = pending();
    let held = lock();
    if let Some((i, st)) = slot_of_fd(&held, fd) {
        save_clipped(&held, i, &st, len, u64::MAX);
    }
    Pre { _pending: Some(p), creates: false, held: None, dir: false }
}

/// Before `truncate(path, len)` (or an open with `O_TRUNC`, `len` 0).
///
/// # Safety
/// `path` is null or NUL-terminated.
pub unsafe fn before_truncate_path(dirfd: c_int, path: *const c_char, len: u64) -> Pre {
    // SAFETY: the caller's contract.
    let Some(st) = (unsafe { kfile::stat_at(dirfd, path, false) }).filter(Stat::regular) else {
        return Pre::none();
    };
    let p = pending();
    let held = lock();
    let i = match find(&held, &st) {
        Some(i) => Some(i),
        None => {
            // SAFETY: the caller's contract.
            let own = unsafe { kfile::open_at(dirfd, path, libc::O_RDWR, 0) };
            slot(&held, &st, own, st.size, 0)
        }
    };
    if let Some(i) = i {
        save_clipped(&held, i, &st, len, u64::MAX);
    }
    Pre { _pending: Some(p), creates: false, held: None, dir: false }
}

/// Before `fallocate(fd, mode, off, len)`: punching, zeroing, collapsing or inserting a range
/// changes the bytes from `off` on; plain allocation only the size.
pub fn before_allocate(fd: c_int, mode: c_int, off: u64, _len: u64) -> Pre {
    if !regular(fd) {
        return Pre::none();
    }
    let p = pending();
    let held = lock();
    if let Some((i, st)) = slot_of_fd(&held, fd)
        && mode & !libc::FALLOC_FL_KEEP_SIZE != 0
    {
        save_clipped(&held, i, &st, off, u64::MAX);
    }
    Pre { _pending: Some(p), creates: false, held: None, dir: false }
}

/// Before an open of `path` with `flags`: an `O_TRUNC` of an existing file saves its synced
/// bytes; an `O_CREAT` of a missing one is noted, for [`after_open`].
///
/// # Safety
/// `path` is null or NUL-terminated.
pub unsafe fn before_open(dirfd: c_int, path: *const c_char, flags: c_int) -> Pre {
    if flags & (libc::O_CREAT | libc::O_TRUNC) == 0 || flags & libc::O_ACCMODE == libc::O_RDONLY {
        return Pre::none();
    }
    // SAFETY: the caller's contract.
    let exists = unsafe { kfile::stat_at(dirfd, path, false) }.is_some();
    let mut pre = if exists && flags & libc::O_TRUNC != 0 {
        // SAFETY: the caller's contract.
        unsafe { before_truncate_path(dirfd, path, 0) }
    } else {
        Pre::none()
    };
    pre.creates = !exists && flags & libc::O_CREAT != 0;
    if pre.creates && pre._pending.is_none() {
        pre._pending = Some(pending());
    }
    pre
}

/// [`before_open`] for a stdio mode string (`"w"`, `"a+"`, `"r+"`, …).
///
/// # Safety
/// `path` and `mode` are null or NUL-terminated.
pub unsafe fn before_fopen(path: *const c_char, mode: *const c_char) -> Pre {
    if path.is_null() || mode.is_null() {
        return Pre::none();
    }
    // SAFETY: the caller's contract: a NUL-terminated mode.
    let mode = unsafe { std::ffi::CStr::from_ptr(mode) }.to_bytes();
    let flags = match mode.first() {
        Some(b'w') => libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC,
        Some(b'a') => libc::O_WRONLY | libc::O_CREAT,
        _ => 0,
    };
    // SAFETY: the caller's contract.
    unsafe { before_open(libc::AT_FDCWD, path, flags) }
}

/// After an open that returned `fd` (negative on failure): a file it created starts empty.
pub fn after_open(pre: &Pre, fd: i64, call: &failinject_engine::SysCall<'_>) {
    if pre.creates {
        created_named(fd, call.path);
    }
}

/// The program's `fd` (negative: nothing happened) names a file it has just created, at
/// `path` (`None`: ask the kernel).
pub fn created_named(fd: i64, path: Option<&[u8]>) {
    if let Ok(fd) = c_int::try_from(fd)
        && fd >= 0
    {
        created(fd);
        crate::dirs::created(fd, path);
    }
}

/// The program's `fd` names a file it has just created: never synced, it is empty.
pub fn created(fd: c_int) {
    if fd < 0 {
        return;
    }
    let Some(st) = kfile::fstat(fd).filter(Stat::regular) else { return };
    let held = lock();
    if let Some(i) = find(&held, &st) {
        // Only possible for a file created, opened again and written in between.
        TABLE[i].flags.fetch_or(CREATED, Ordering::Relaxed);
        return;
    }
    slot(&held, &st, kfile::reopen(fd, libc::O_RDWR), 0, CREATED);
}

/// Before a call that writes to `fd` in a way we cannot see (stdio flushes from inside glibc,
/// `dprintf`): unless the file is opened for appending, its whole synced content is kept.
pub fn before_unseen_writes(fd: c_int) -> Pre {
    if fd < 0 {
        return Pre::none();
    }
    let flags = kfile::status_flags(fd);
    if flags & libc::O_ACCMODE == libc::O_RDONLY || !regular(fd) {
        return Pre::none();
    }
    let p = pending();
    let held = lock();
    if let Some((i, st)) = slot_of_fd(&held, fd)
        && flags & libc::O_APPEND == 0
        && TABLE[i].flags.fetch_or(WHOLE, Ordering::Relaxed) & WHOLE == 0
    {
        save_clipped(&held, i, &st, 0, u64::MAX);
    }
    Pre { _pending: Some(p), creates: false, held: None, dir: false }
}

/// [`before_unseen_writes`] for a stream.
///
/// # Safety
/// `stream` is null or a live stream.
pub unsafe fn before_stream(stream: *mut libc::FILE) -> Pre {
    if stream.is_null() {
        return Pre::none();
    }
    let e = raw::errno();
    // SAFETY: the caller's contract.
    let fd = unsafe { crate::target::stream_fd(stream) };
    raw::set_errno(e);
    before_unseen_writes(fd)
}

// ---- syncs ---------------------------------------------------------------------------------

/// `fsync(fd)` or `fdatasync(fd)` succeeded: the file's synced state is what it holds now.
pub fn synced(fd: c_int) {
    let Some(st) = kfile::fstat(fd) else { return };
    if st.dir() {
        crate::dirs::synced_dir(&st);
        return;
    }
    let held = lock();
    if let Some(i) = find(&held, &st) {
        drop_slot(&held, i);
    }
}

/// `sync_file_range(fd, off, n, flags)` succeeded. With `SYNC_FILE_RANGE_WAIT_AFTER` the
/// overwrites wholly inside the range are synced; the size, metadata, never is.
pub fn synced_range(fd: c_int, off: u64, n: u64, flags: u32) {
    if flags & libc::SYNC_FILE_RANGE_WAIT_AFTER == 0 {
        return;
    }
    let end = if n == 0 { u64::MAX } else { off.saturating_add(n) };
    let Some(st) = kfile::fstat(fd) else { return };
    let held = lock();
    let Some(i) = find(&held, &st) else { return };
    let f = &TABLE[i];
    let (mut newer, mut rec, mut gone) = (0u64, f.head.load(Ordering::Relaxed), 0);
    while rec != 0 {
        // SAFETY: a live record of this file, under the lock.
        let (r_off, prev) = unsafe { undo::describe(rec) };
        // SAFETY: as above.
        let len = unsafe { undo::bytes(rec) }.len() as u64;
        if r_off >= off && r_off + len <= end {
            if newer == 0 {
                f.head.store(prev, Ordering::Relaxed);
            } else {
                // SAFETY: `newer` is a live record of this file.
                unsafe { undo::set_prev(newer, prev) };
            }
            gone += 1;
        } else {
            newer = rec;
        }
        rec = prev;
    }
    f.count.fetch_sub(gone, Ordering::Relaxed);
    undo::dropped(gone);
}

/// `syncfs(fd)` succeeded: every file on its file system is synced.
pub fn synced_fs(fd: c_int) {
    let Some(st) = kfile::fstat(fd) else { return };
    let held = lock();
    for (i, f) in used_slots(&held) {
        if f.dev.load(Ordering::Relaxed) == st.dev {
            drop_slot(&held, i);
        }
    }
    crate::dirs::synced_fs(st.dev);
}

/// `sync()` ran: everything is synced.
pub fn synced_all() {
    let held = lock();
    for (i, _) in used_slots(&held) {
        drop_slot(&held, i);
    }
    crate::dirs::synced_all();
}

// ---- lose and powercut ---------------------------------------------------------------------

/// `lose(E)` on a sync of `fd` (`whole_fs` for `syncfs`): the writes not yet synced are
/// dropped, as Linux drops dirty pages after a writeback error; the file holds its synced
/// state again, so a retried sync succeeds over the loss.
pub fn lose(fd: c_int, whole_fs: bool) {
    if !on() {
        return;
    }
    let Some(st) = kfile::fstat(fd) else { return };
    let held = lock();
    for (i, f) in used_slots(&held) {
        let same = if whole_fs {
            f.dev.load(Ordering::Relaxed) == st.dev
        } else {
            f.dev.load(Ordering::Relaxed) == st.dev && f.ino.load(Ordering::Relaxed) == st.ino
        };
        if same {
            roll_back(&held, i);
            drop_slot(&held, i);
        }
    }
}

/// The power goes out: every tracked file goes back to its synced state (with `dirs`, the
/// directory operations not yet made durable are undone too), then SIGKILL.
pub fn powercut(dirs: bool) -> ! {
    CUT.store(true, Ordering::Release);
    // Writes already under way finish first (at most 2 s: one blocked for good must not
    // stop the cut).
    for _ in 0..2000 {
        if INFLIGHT.load(Ordering::Acquire) == 0 {
            break;
        }
        raw::sleep_ms(1);
    }
    let held = lock();
    for (i, f) in used_slots(&held) {
        roll_back(&held, i);
        if f.flags.load(Ordering::Relaxed) & LOSSY != 0 {
            raw::diag(&[b"powercut: a file could not be rolled back completely"]);
        }
    }
    if dirs {
        crate::dirs::undo();
    }
    kfile::kill_self()
}

/// In a forked child: the only thread held no lock and had no call in flight; the table
/// and our descriptors (shared with the parent) stay, so a power cut in the child rolls back
/// what either wrote since the last sync.
pub fn after_fork_in_child() {
    LOCK.reset_after_fork();
    crate::dirs::after_fork_in_child();
    INFLIGHT.store(0, Ordering::Release);
}
