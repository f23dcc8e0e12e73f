//! Write tracking for `powercut` and `lose(E)`: the preload's side of the crash model.
//!
//! The model itself (`failinject-crash`) keeps, for every file and directory changed since
//! its last sync, what a power cut would take away; it reaches files through a `Disk`, which
//! here is `sys::disk::Kernel`: raw system calls on descriptors of our own (opened through
//! `/proc/self/fd`, moved to a high number, close-on-exec). This module turns the program's
//! calls into the model's operations:
//!
//! - before a write, truncation or hole punch on a regular file, the model saves the synced
//!   bytes it overwrites; an open that creates a file registers it as empty;
//! - after a successful `fsync`/`fdatasync` (`syncfs`, `sync`, `sync_file_range` with
//!   `WAIT_AFTER`), the model forgets what became durable;
//! - with `powercut(dirs)`, creations, renames and removals are journaled until their
//!   directory is synced;
//! - stdio writes reach the kernel from inside glibc, unseen, so a writable stream's file is
//!   saved whole at its first stdio call after a sync ([`before_unseen_writes`]).
//!
//! The tracked points are the ones the libc table gives a role that changes files or
//! directories (`Roles::CHANGES`: `creates`, `writes`, `syncs`, `renames`, …); the arms of
//! `wrappers/crash_arms.rs` turn each role into the calls below.
//!
//! Off (one relaxed load in the wrappers of the tracked points, nothing anywhere else) until a
//! configuration with a `powercut` or `lose` task is published (`state.rs`); from then on, for
//! the rest of the process: what files hold at that moment counts as synced.
//!
//! Concurrency: the model is behind one spin lock, held for a few system calls on regular
//! files and never across a call into libc or a wait, and only taken inside the re-entrancy
//! guard, so a signal handler that interrupts the holder on its own thread passes through
//! instead of spinning on it; a forked child starts with it free. Calls that change file data
//! count themselves in [`INFLIGHT`] around the real call, so a power cut waits for writes
//! already under way, and new ones never start once it began.

#![forbid(unsafe_code)]

use crate::changes;
use crate::fd::table as fds;
use crate::sys::disk::Kernel;
use crate::sys::kfile;
use crate::sys::raw;
use crate::sys::shared_store::{self, SharedHeld};
use crate::sys::spin::{Held, SpinLock};
use crate::sys::write_watch;
use failinject_crash::{Cut, Handle, Mode, Op, Stat, Store, Warning};
use failinject_engine::{Effect, SysCall};
use libc::c_int;
use std::ffi::CStr;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

static ON: AtomicBool = AtomicBool::new(false);
/// The model is the run's, shared with every process of it (`failinject run`).
static SHARED: AtomicBool = AtomicBool::new(false);
/// Journaling of directory entries (`powercut(dirs)`) is on.
static DIRS: AtomicBool = AtomicBool::new(false);
/// A cut may keep changes (`powercut(prefix|any|torn)`): what each write left is recorded
/// after it.
static KEEPS: AtomicBool = AtomicBool::new(false);
/// Set when a power cut has begun: tracked writes no longer start.
static CUT: AtomicBool = AtomicBool::new(false);
/// Tracked calls between their undo record and the end of the real call.
static INFLIGHT: AtomicU32 = AtomicU32::new(0);
/// This process's run of the shared arena (`Chunk`), used under the run's lock: the records of
/// the run's processes do not share pages. A forked child starts a run of its own.
static CHUNK: SpinLock<failinject_crash::Chunk> = SpinLock::new(failinject_crash::Chunk::EMPTY);
/// The model. In `.bss`: a process that never tracks pays nothing for it.
static STORE: SpinLock<Store<'static>> = SpinLock::new(Store::new());
/// Whether the "could not track" message was written, for data and for directories.
static WARNED: [AtomicBool; 2] = [const { AtomicBool::new(false) }; 2];
/// An arena reset larger than this gives its pages back to the system.
const GIVE_BACK: usize = 16 << 20;

/// Whether tracking is on.
#[inline(always)]
pub fn on() -> bool {
    ON.load(Ordering::Relaxed)
}

fn dirs_on() -> bool {
    DIRS.load(Ordering::Relaxed)
}

/// Whether what each change left is recorded, for cuts that keep some.
pub fn keeps() -> bool {
    KEEPS.load(Ordering::Relaxed)
}

/// Turns tracking on (the configuration path, when a `powercut`/`lose` rule is published),
/// with `dirs` the journal of directory entries, and with `keeps` the record of what each
/// change left (a cut that keeps changes is armed). Files are tracked from this moment: what
/// they hold now counts as synced. Changes made before `keeps` came on are not recorded one
/// by one: a cut loses them whole.
pub fn start(dirs: bool, keeps: bool) {
    let _inside = crate::sys::guard::Inside::enter();
    let mut store = STORE.lock();
    // Under `failinject run` the run has one model for all its processes: a power cut rolls
    // back every process's writes. This process's own model, untouched until now, is the
    // fresh store the shared one starts from.
    if !share(&store)
        && let Some(mem) = kfile::reserve_arena()
    {
        store.give_arena(mem);
    }
    if SHARED.load(Ordering::Acquire) || store.ready() {
        DIRS.fetch_or(dirs, Ordering::AcqRel);
        KEEPS.fetch_or(keeps, Ordering::AcqRel);
        ON.store(true, Ordering::Release);
    } else {
        raw::diag(&[
            b"cannot reserve memory for write tracking: powercut and lose roll nothing back",
        ]);
    }
}

/// Whether the effect is one this module carries out instead of the call (no tracking of
/// the call itself then). A `powercut(keep=ID)` comes after the call, which is tracked.
pub fn ends(e: &Effect<'_>) -> bool {
    match e {
        Effect::Powercut { cut, .. } => cut.mode != Mode::Keep,
        Effect::Lose(..) => true,
        _ => false,
    }
}

/// A `powercut(keep=ID)` decided for the call under way, made once its change is recorded
/// ([`cut_pending`]): the mode's marks need the call's own change.
static PENDING: SpinLock<Option<(Cut, u64)>> = SpinLock::new(None);

/// Notes a `powercut(keep=ID)` for the end of the call under way.
pub fn pend(cut: Cut, seed: u64) {
    *PENDING.lock() = Some((cut, seed));
}

/// After a call's tracking: the power cut it was decided to end with, if any.
#[inline]
pub fn cut_pending() {
    if !changes::armed() {
        return;
    }
    let pending = PENDING.lock().take();
    if let Some((cut, seed)) = pending {
        powercut(cut, seed);
    }
}

/// The model, locked: the run's when it shares one, else this process's.
fn store() -> Guard {
    if SHARED.load(Ordering::Acquire)
        && let Some(held) = SharedHeld::lock()
    {
        return Guard::Shared(held);
    }
    Guard::Local(STORE.lock())
}

/// A locked model: the process's own or the run's.
enum Guard {
    Local(Held<'static, Store<'static>>),
    Shared(SharedHeld),
}

impl Deref for Guard {
    type Target = Store<'static>;
    fn deref(&self) -> &Store<'static> {
        match self {
            Guard::Local(h) => h,
            Guard::Shared(h) => h,
        }
    }
}

impl DerefMut for Guard {
    fn deref_mut(&mut self) -> &mut Store<'static> {
        match self {
            Guard::Local(h) => h,
            Guard::Shared(h) => h,
        }
    }
}

/// Reports a change the model could not record in full, once per process and kind.
fn warn(result: Result<(), Warning>) {
    if let Err(w) = result {
        let (i, head, tail): (usize, &[u8], &[u8]) = if w.about_dirs() {
            (1, b"powercut(dirs): ", b"; that change will survive a power cut")
        } else {
            (0, b"write tracking: ", b"; a power cut will not roll every file back")
        };
        if !WARNED[i].swap(true, Ordering::Relaxed) {
            raw::diag(&[head, w.text().as_bytes(), tail]);
        }
    }
}

/// A handle of ours on what the program's `fd` refers to, for the model.
fn reopened(fd: c_int) -> Option<Handle> {
    let own = kfile::reopen(fd, libc::O_RDWR);
    if own >= 0 { Kernel::handle(own) } else { None }
}

/// Gives back the arena's pages after a large reset (this process's own arena; the run's
/// is reused as it is).
fn reclaim(store: &mut Store<'_>) {
    let used = store.take_reset();
    if used > GIVE_BACK && !SHARED.load(Ordering::Acquire) {
        kfile::discard_arena(used);
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
    if CUT.load(Ordering::Acquire) || (SHARED.load(Ordering::Relaxed) && shared_store::cutting()) {
        INFLIGHT.fetch_sub(1, Ordering::Release);
        // The run's keeper kills every process of the run; one it missed ends itself.
        for _ in 0..15 {
            raw::sleep_ms(1000);
        }
        kfile::kill_self();
    }
    Pending(())
}

/// What the tracker did before a call, for after it.
pub struct Pre {
    /// Keeps the call counted in until the real call returned.
    pending: Option<Pending>,
    /// The call may create the file (`O_CREAT` on a path that did not exist).
    creates: bool,
    /// Our handle on a file the call may unlink or replace, released on drop unless the
    /// journal takes it.
    held: Option<Handle>,
    /// What the call may remove is a directory.
    dir: bool,
    /// What to record once the call made its change, when cuts keep changes.
    after: After,
}

/// A change to record after the call ([`after_change`]), for cuts that keep changes.
#[derive(Clone, Copy)]
enum After {
    Nothing,
    /// A write to the file `st` (the program's `fd`) at `off` (as many bytes as the call
    /// returns), durable at once with `dsync`.
    Write {
        st: Stat,
        fd: c_int,
        off: u64,
        dsync: bool,
    },
    /// The file `st` (the program's `fd`, or -1 for a path) truncated to `len` (when the call
    /// succeeds).
    Truncate {
        st: Stat,
        fd: c_int,
        len: u64,
    },
    /// `fallocate` on the file `st` (the program's `fd`): its size may change, and with `from`
    /// its bytes from there on (a hole punched, a range zeroed, collapsed or inserted). Only
    /// for the record of changes (`changes.rs`).
    Allocate {
        st: Stat,
        fd: c_int,
        from: Option<u64>,
    },
}

impl Pre {
    /// Nothing to do before the call.
    pub fn none() -> Pre {
        Pre { pending: None, creates: false, held: None, dir: false, after: After::Nothing }
    }

    fn counted() -> Pre {
        Pre { pending: Some(pending()), ..Pre::none() }
    }
}

impl Drop for Pre {
    fn drop(&mut self) {
        if let Some(h) = self.held.take() {
            failinject_crash::Disk::release(&Kernel, h);
        }
    }
}

/// The facts of the program's `fd` when it is a regular file: only those are tracked, and
/// only calls on them count as pending changes (a write blocked on a pipe must not hold up
/// a power cut).
fn regular(fd: c_int) -> Option<Stat> {
    (fd >= 0).then(|| kfile::fstat(fd)).flatten().filter(Stat::regular)
}

/// Before a write of `count` bytes to `fd`, at `at` (`None`: at the file offset, or the end
/// for `O_APPEND`).
pub fn before_write(fd: c_int, at: Option<u64>, count: u64) -> Pre {
    // The descriptor's facts, cached (`fd/table.rs`): O_APPEND says where the write lands,
    // and O_DSYNC (or O_SYNC) that it is durable when it returns (LMDB's meta pages, a WAL
    // opened with open_datasync).
    let Some(facts) = fds::facts(fd) else { return Pre::none() };
    let mut pre = Pre::counted();
    let flags = facts.flags;
    let dsync = flags & libc::O_DSYNC != 0;
    // Most tracked writes overwrite nothing synced (appends, a file created since its last
    // sync): known without the file's size, and with the lock held for one lookup.
    if !keeps() && !dsync && overwrites_nothing(fd, at, &facts) {
        return pre;
    }
    let Some(st) = regular(fd) else { return pre };
    let off = write_offset(fd, at, &st, flags);
    if (keeps() || dsync)
        && let Some(off) = off
    {
        pre.after = After::Write { st, fd, off, dsync };
    }
    if SHARED.load(Ordering::Relaxed) {
        // The run's model, which every process of the run waits on: its lock is held only
        // for the bookkeeping, and the facts and the old bytes are read without it (two
        // threads writing one range at once race in the program anyway).
        let r = match off {
            Some(off) => {
                // Its own statement: the lock is let go at its end, before `shared_write`
                // takes it again (a guard made in a `match` head lives to the end of the
                // `match`).
                let reserved = {
                    let mut chunk = CHUNK.lock();
                    let end = chunk.end();
                    let r = store().reserve_write(
                        &Kernel,
                        &st,
                        || reopened(fd),
                        &mut chunk,
                        off,
                        count,
                    );
                    // A new chunk: its pages faulted in at once, not one by one.
                    if chunk.end() != end {
                        shared_store::populate(chunk.unused());
                    }
                    r
                };
                match reserved {
                    Ok(Some(r)) => {
                        shared_write(fd, r, off, count);
                        return pre;
                    }
                    other => other.map(drop),
                }
            }
            None => store().register(&Kernel, &st, || reopened(fd)),
        };
        warn(r);
        return pre;
    }
    let mut s = store();
    // Facts read again under the lock: another thread may have changed the size meanwhile.
    if let Some(st) = regular(fd) {
        let r = match write_offset(fd, at, &st, flags) {
            Some(off) => s.before_write(&Kernel, &st, || reopened(fd), off, count),
            None => s.register(&Kernel, &st, || reopened(fd)),
        };
        warn(r);
    }
    pre
}

/// Whether a write to `fd` at `at` (`None`: its offset, or its end) surely overwrites no
/// synced byte of a file the model tracks: the file has none, or the write appends, or lands
/// at or past the synced size. False for a file not tracked yet (the full path registers it).
fn overwrites_nothing(fd: c_int, at: Option<u64>, facts: &fds::Facts) -> bool {
    let id = Stat { dev: facts.dev, ino: facts.ino, ..Stat::default() };
    let Some(synced) = store().synced_of(&id) else { return false };
    synced == 0
        || (at.is_none() && facts.flags & libc::O_APPEND != 0)
        || at.or_else(|| kfile::offset(fd)).is_some_and(|off| off >= synced)
}

/// Where a write to `fd` (its status `flags`) lands: `at`, else the end for `O_APPEND`, else
/// the file offset.
fn write_offset(fd: c_int, at: Option<u64>, st: &Stat, flags: c_int) -> Option<u64> {
    match at {
        Some(off) => Some(off),
        None if flags & libc::O_APPEND != 0 => Some(st.size),
        None => kfile::offset(fd),
    }
}

/// The rest of [`before_write`] on the run's model: the reserved bytes are read without the
/// lock, so that the run's processes do not wait on each other's reads, then linked under
/// it; if the file was synced meanwhile they are saved again, under the lock.
fn shared_write(fd: c_int, r: failinject_crash::Reserved, off: u64, count: u64) {
    let got = shared_store::fill(r.at, r.len, Kernel::fd(r.handle), r.off);
    let mut s = store();
    if !s.commit(r, got)
        && let Some(st) = regular(fd)
    {
        warn(s.before_write(&Kernel, &st, || reopened(fd), off, count));
    }
}

/// Before `ftruncate(fd, len)`.
pub fn before_truncate(fd: c_int, len: u64) -> Pre {
    let mut pre = before_cut(fd, Some(len));
    if keeps()
        && pre.pending.is_some()
        && let Some(st) = regular(fd)
    {
        pre.after = After::Truncate { st, fd, len };
    }
    pre
}

/// Before `fallocate(fd, mode, off, …)`: punching, zeroing, collapsing or inserting a range
/// changes the bytes from `off` on; plain allocation only the size.
pub fn before_allocate(fd: c_int, mode: c_int, off: u64) -> Pre {
    let from = (mode & !libc::FALLOC_FL_KEEP_SIZE != 0).then_some(off);
    let mut pre = before_cut(fd, from);
    if (changes::on() || changes::armed())
        && pre.pending.is_some()
        && let Some(st) = regular(fd)
    {
        pre.after = After::Allocate { st, fd, from };
    }
    pre
}

/// Before a call that loses the bytes of `fd` from `from` on (`None`: only its size changes).
fn before_cut(fd: c_int, from: Option<u64>) -> Pre {
    if regular(fd).is_none() {
        return Pre::none();
    }
    let pre = Pre::counted();
    let mut s = store();
    if let Some(st) = regular(fd) {
        warn(match from {
            Some(off) => s.before_cut(&Kernel, &st, || reopened(fd), off),
            None => s.register(&Kernel, &st, || reopened(fd)),
        });
    }
    pre
}

/// Before `truncate(path, len)` (or an open with `O_TRUNC`, `len` 0).
pub fn before_truncate_path(dirfd: c_int, path: Option<&CStr>, len: u64) -> Pre {
    let Some(path) = path else { return Pre::none() };
    let Some(st) = kfile::stat_at(dirfd, path, false).filter(Stat::regular) else {
        return Pre::none();
    };
    let mut pre = Pre::counted();
    let open = || {
        let own = kfile::open_at(dirfd, path, libc::O_RDWR, 0);
        if own >= 0 { Kernel::handle(own) } else { None }
    };
    warn(store().before_cut(&Kernel, &st, open, len));
    if keeps() {
        pre.after = After::Truncate { st, fd: -1, len };
    }
    pre
}

/// After a call that wrote or truncated returned `r` (bytes written; 0 or a descriptor for a
/// truncation; negative on failure): with cuts that keep changes, what it left is recorded,
/// and so is the change itself when explore records changes (`changes.rs`).
pub fn after_change(pre: &Pre, r: i64) {
    match pre.after {
        After::Nothing => {}
        After::Write { st, fd, off, dsync } if r > 0 => {
            let (handle, seq) = {
                let mut s = store();
                let seq = if keeps() {
                    warn(s.wrote(&Kernel, &st, off, r as u64));
                    s.seq()
                } else {
                    0
                };
                if dsync {
                    warn(s.synced_write(&Kernel, &st, off, r as u64));
                }
                (changes::counting().then(|| s.handle_of(&st)).flatten(), seq)
            };
            // Only when changes are recorded or counted: a kept handle's descriptor may
            // take a request to the run's keeper.
            if changes::counting() {
                let from = handle.map_or(-1, Kernel::fd);
                changes::write(&st, fd, from, (off, r as u64), (dsync, false), seq);
            }
        }
        After::Truncate { st, fd, len } if r >= 0 => {
            let seq = {
                let mut s = store();
                warn(s.truncated(&Kernel, &st, len));
                s.seq()
            };
            changes::truncate(&st, fd, None, len, seq);
        }
        // The record of changes sees an allocation as what it left: the bytes from where it
        // changed them to the end, and the size.
        After::Allocate { st, fd, from } if r >= 0 => {
            let size = kfile::fstat(fd).map_or(st.size, |now| now.size);
            if let Some(off) = from.filter(|off| *off < size && changes::counting()) {
                let handle = store().handle_of(&st);
                let read = handle.map_or(-1, Kernel::fd);
                changes::write(&st, fd, read, (off, size - off), (false, false), 0);
            }
            if size != st.size || from.is_some() {
                changes::truncate(&st, fd, None, size, 0);
            }
        }
        After::Write { .. } | After::Truncate { .. } | After::Allocate { .. } => {}
    }
}

/// Before an open of `path` with `flags`: an `O_TRUNC` of an existing file saves its synced
/// bytes; an `O_CREAT` of a missing one is noted, for [`after_open`].
pub fn before_open(dirfd: c_int, path: Option<&CStr>, flags: c_int) -> Pre {
    let Some(p) = path else { return Pre::none() };
    if flags & (libc::O_CREAT | libc::O_TRUNC) == 0 || flags & libc::O_ACCMODE == libc::O_RDONLY {
        return Pre::none();
    }
    let exists = kfile::stat_at(dirfd, p, false).is_some();
    let mut pre = if exists && flags & libc::O_TRUNC != 0 {
        before_truncate_path(dirfd, path, 0)
    } else {
        Pre::none()
    };
    pre.creates = !exists && flags & libc::O_CREAT != 0;
    if pre.creates && pre.pending.is_none() {
        pre.pending = Some(pending());
    }
    pre
}

/// [`before_open`] for a stdio mode string (`"w"`, `"a+"`, `"r+"`, …).
pub fn before_fopen(path: Option<&CStr>, mode: Option<&CStr>) -> Pre {
    let flags = match mode.and_then(|m| m.to_bytes().first()) {
        Some(b'w') => libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC,
        Some(b'a') => libc::O_WRONLY | libc::O_CREAT,
        _ => 0,
    };
    before_open(libc::AT_FDCWD, path, flags)
}

/// After an open that returned `fd` (negative on failure): a file it created starts empty.
pub fn after_open(pre: &Pre, fd: i64, call: &SysCall<'_>) {
    if pre.creates {
        created_named(fd, call.path);
    }
    // An `O_TRUNC` of an existing file.
    after_change(pre, fd);
}

/// The program's `fd` (negative: nothing happened) names a file it has just created, at
/// `path` (`None`: ask the kernel).
pub fn created_named(fd: i64, path: Option<&[u8]>) {
    let Ok(fd) = c_int::try_from(fd) else { return };
    if fd < 0 {
        return;
    }
    let st = regular(fd);
    if let Some(st) = st {
        warn(store().created(&Kernel, &st, || reopened(fd)));
    }
    if dirs_on() {
        let mut buf = [0u8; failinject_crash::PATH];
        let path = path
            .or_else(|| fds::path(fd, &mut buf[..failinject_crash::PATH - 1]).map(|n| &buf[..n]));
        if let Some(p) = path {
            let seq = journal(Op::Created, p, None, None);
            changes::entry(b"create", (p, None), st.as_ref(), false, seq);
        }
    }
}

/// Before a call that writes to `fd` in a way we cannot see (stdio flushes from inside glibc,
/// `dprintf`): unless the file is opened for appending, its whole synced content is kept.
pub fn before_unseen_writes(fd: c_int) -> Pre {
    if fd < 0 {
        return Pre::none();
    }
    let flags = kfile::status_flags(fd);
    if flags & libc::O_ACCMODE == libc::O_RDONLY || regular(fd).is_none() {
        return Pre::none();
    }
    let pre = Pre::counted();
    let mut s = store();
    if let Some(st) = regular(fd) {
        let append = flags & libc::O_APPEND != 0;
        warn(s.before_unseen(&Kernel, &st, || reopened(fd), append));
    }
    pre
}

// ---- syncs ---------------------------------------------------------------------------------

/// `fsync(fd)` or `fdatasync(fd)` succeeded: the file's (or directory's) synced state is what
/// it holds now.
pub fn synced(fd: c_int) {
    let Some(st) = kfile::fstat(fd) else { return };
    if st.dir() && !dirs_on() {
        return;
    }
    let mut s = store();
    warn(s.synced(&Recorded, &st));
    reclaim(&mut s);
    drop(s);
    changes::synced(b"fsync", Some(&st), fd, None);
}

/// `sync_file_range(fd, off, n, flags)` succeeded. With `SYNC_FILE_RANGE_WAIT_AFTER` the
/// overwrites wholly inside the range are synced; the size, metadata, never is.
pub fn synced_range(fd: c_int, off: u64, n: u64, flags: u32) {
    if flags & libc::SYNC_FILE_RANGE_WAIT_AFTER == 0 {
        return;
    }
    let Some(st) = kfile::fstat(fd) else { return };
    let mut s = store();
    s.synced_range(&Kernel, &st, off, n);
    reclaim(&mut s);
    drop(s);
    changes::synced(b"sync_range", Some(&st), fd, Some((off, n)));
}

/// `syncfs(fd)` succeeded: every file on its file system is synced.
pub fn synced_fs(fd: c_int) {
    let Some(st) = kfile::fstat(fd) else { return };
    let mut s = store();
    warn(s.synced_fs(&Recorded, st.dev));
    reclaim(&mut s);
    drop(s);
    changes::synced(b"syncfs", Some(&st), -1, None);
}

/// `sync()` ran: everything is synced.
pub fn synced_all() {
    let mut s = store();
    warn(s.synced_all(&Recorded));
    reclaim(&mut s);
    drop(s);
    changes::synced(b"sync", None, -1, None);
}

// ---- writes through shared mappings --------------------------------------------------------

/// After `mmap` returned `addr` for `len` bytes of `fd` at `off`: a shared writable mapping
/// of a regular file makes its writes unseen, so the crash model keeps the mapped range's
/// synced content (`Store::mapped`), and the kernel watches which pages are written
/// (`write_watch.rs`) so that a sync reads again only those.
pub fn mapped(addr: usize, len: u64, prot: c_int, flags: c_int, fd: c_int, off: i64) {
    let shared_write = prot & libc::PROT_WRITE != 0 && flags & libc::MAP_SHARED != 0;
    if !on() || !shared_write || addr == usize::MAX || off < 0 {
        return;
    }
    let Some(st) = regular(fd) else { return };
    let off = off as u64;
    // Watched first: a store after the copy below must not go unseen.
    let owner = write_watch::mapped(addr, len as usize, &st, off);
    warn(store().mapped(&Kernel, &st, || reopened(fd), (off, len), owner));
}

/// At exit, when explore records changes (`changes.rs`): the pages stored through this
/// process's shared mappings since their last sync are changes too, never synced, so that a
/// crash state may keep or lose them (LMDB with `MDB_NOSYNC` never syncs its map). All of a
/// mapping when the kernel cannot tell which (it was unmapped already, say).
pub fn record_unsynced_mappings() {
    if !changes::on() {
        return;
    }
    for m in write_watch::all().into_iter().flatten() {
        let st = Stat { dev: m.dev, ino: m.ino, ..Stat::default() };
        let Some(h) = store().handle_of(&st) else { continue };
        let fd = Kernel::fd(h);
        let (off, len) = (m.off, m.len as u64);
        let mut record = |at: u64, n: u64| changes::write(&st, -1, fd, (at, n), (false, true), 0);
        if !write_watch::written(&st, m.owner(), (off, len), (off, off + len), &mut record) {
            let size = kfile::fstat(fd).map_or(0, |now| now.size);
            if size > off {
                record(off, len.min(size - off));
            }
        }
    }
}

/// After a successful `msync(addr, len, MS_SYNC)`: the bytes of the file mapped there are
/// durable (`Store::synced_bytes`).
pub fn msynced(addr: usize, len: usize) {
    let Some(m) = write_watch::at(addr) else { return };
    let st = Stat { dev: m.dev, ino: m.ino, ..Stat::default() };
    let from = m.off + (addr - m.start) as u64;
    let len = len.min(m.start + m.len - addr) as u64;
    warn(store().synced_bytes(&Recorded, &st, from, len));
    changes::synced(b"msync", Some(&st), -1, Some((from, len)));
}

/// [`Kernel`], but the pages a sync finds written through a shared mapping are also
/// recorded for explore (`changes.rs`): with what they hold now, all of the range when the
/// kernel cannot tell which. Used for syncs; a no-op addition when nothing is recorded.
struct Recorded;

impl failinject_crash::Disk for Recorded {
    fn read_at(&self, h: Handle, buf: &mut [u8], off: u64) -> usize {
        Kernel.read_at(h, buf, off)
    }
    fn write_at(&self, h: Handle, data: &[u8], off: u64) -> bool {
        Kernel.write_at(h, data, off)
    }
    fn truncate(&self, h: Handle, len: u64) -> bool {
        Kernel.truncate(h, len)
    }
    fn size(&self, h: Handle) -> Option<u64> {
        Kernel.size(h)
    }
    fn release(&self, h: Handle) {
        Kernel.release(h)
    }
    fn stat_path(&self, path: &CStr) -> Option<Stat> {
        Kernel.stat_path(path)
    }
    fn remove(&self, path: &CStr, dir: bool) -> bool {
        Kernel.remove(path, dir)
    }
    fn rename(&self, from: &CStr, to: &CStr) -> bool {
        Kernel.rename(from, to)
    }
    fn make_dir(&self, path: &CStr) -> bool {
        Kernel.make_dir(path)
    }
    fn write_back(&self, from: Handle, path: &CStr) -> bool {
        Kernel.write_back(from, path)
    }
    fn written(
        &self,
        file: &Stat,
        h: Handle,
        owner: u32,
        map: (u64, u64),
        range: (u64, u64),
        each: &mut dyn FnMut(u64, u64),
    ) -> bool {
        let record = |(off, len): (u64, u64)| {
            changes::write(file, -1, Kernel::fd(h), (off, len), (false, true), 0);
        };
        let told = Kernel.written(file, h, owner, map, range, &mut |off, len| {
            record((off, len));
            each(off, len);
        });
        if !told {
            record((range.0, range.1 - range.0));
        }
        told
    }
}

// ---- directory entries (`powercut(dirs)`) --------------------------------------------------

/// Journals a directory entry change; its number in the model.
fn journal(op: Op, path: &[u8], to: Option<&[u8]>, held: Option<Handle>) -> u64 {
    let mut s = store();
    warn(s.journal(&Kernel, op, path, to, held));
    s.seq()
}

/// Before a call that may remove or replace the file at `path`: keeps a handle on it
/// (regular files), or notes that it is a directory.
pub fn before_replace(dirfd: c_int, path: Option<&CStr>) -> Pre {
    let mut pre = Pre::none();
    let Some(path) = path.filter(|_| dirs_on()) else { return pre };
    match kfile::stat_at(dirfd, path, true) {
        Some(st) if st.regular() => {
            let fd = kfile::open_at(dirfd, path, libc::O_RDONLY | libc::O_NOFOLLOW, 0);
            if fd >= 0 {
                pre.held = Kernel::handle(fd);
            }
        }
        Some(st) if st.dir() => pre.dir = true,
        _ => {}
    }
    pre
}

/// After `mkdir`, `link`, `symlink` (and their `*at` forms) returned `r`.
pub fn made(r: i64, call: &SysCall<'_>) {
    if dirs_on()
        && r == 0
        && let Some(p) = call.path
    {
        let seq = journal(Op::Created, p, None, None);
        if changes::on() || changes::armed() {
            let name = call.point.info().name;
            let op: &[u8] = if name.contains("symlink") {
                b"symlink"
            } else if name.contains("link") {
                b"link"
            } else {
                b"create"
            };
            let st = path_stat(p);
            let dir = st.is_some_and(|st| st.dir());
            changes::entry(op, (p, None), st.as_ref().filter(|st| !st.dir()), dir, seq);
        }
    }
}

/// The facts of the file at `path` (not following a last symbolic link).
fn path_stat(path: &[u8]) -> Option<Stat> {
    let mut buf = [0u8; failinject_crash::PATH + 1];
    buf.get_mut(..path.len())?.copy_from_slice(path);
    let c = CStr::from_bytes_until_nul(&buf[..=path.len()]).ok()?;
    kfile::stat_at(libc::AT_FDCWD, c, true)
}

/// After a rename returned `r`: the call's `path2` is the old name, `path` the new one.
pub fn renamed(pre: &mut Pre, r: i64, call: &SysCall<'_>) {
    if dirs_on()
        && r == 0
        && let (Some(to), Some(from)) = (call.path, call.path2)
    {
        let seq = journal(Op::Renamed, from, Some(to), pre.held.take());
        if changes::on() || changes::armed() {
            let st = path_stat(to);
            let dir = st.is_some_and(|s| s.dir());
            changes::entry(b"rename", (from, Some(to)), st.as_ref(), dir, seq);
        }
    }
}

/// After `unlink`, `unlinkat`, `remove` or `rmdir` returned `r`.
pub fn removed(pre: &mut Pre, r: i64, call: &SysCall<'_>) {
    if dirs_on()
        && r == 0
        && let Some(p) = call.path
    {
        let seq = journal(Op::Removed { dir: pre.dir }, p, None, pre.held.take());
        changes::entry(b"unlink", (p, None), None, pre.dir, seq);
    }
}

// ---- lose and powercut ---------------------------------------------------------------------

/// `lose(E)` on a sync of `fd` (`whole_fs` for `syncfs`): the writes not yet synced are
/// dropped, as Linux drops dirty pages after a writeback error; the file holds its synced
/// state again, so a retried sync succeeds over the loss.
pub fn lose(fd: c_int, whole_fs: bool, how: failinject_engine::Loss) {
    if !on() {
        return;
    }
    let Some(st) = kfile::fstat(fd) else { return };
    let mut s = store();
    if how == failinject_engine::Loss::Clean {
        // Nothing changes now: the pages are only no longer dirty (`lose(E,clean)`).
        s.lose_clean(&Kernel, &st, whole_fs);
        return;
    }
    // An incomplete rollback was already reported when the record could not be kept.
    let _complete = s.lose(&Kernel, &st, whole_fs);
    reclaim(&mut s);
}

/// The power goes out: every tracked file goes back to its synced state, but for the changes
/// `cut` keeps (its choices drawn from `seed`); with `cut.dirs`, the directory operations not
/// yet made durable are undone too. Then SIGKILL.
pub fn powercut(cut: Cut, seed: u64) -> ! {
    CUT.store(true, Ordering::Release);
    let cut = Cut { dirs: cut.dirs && dirs_on(), ..cut };
    let seed = match cut.keep {
        Some(keep) => mark_kept(keep),
        None => seed,
    };
    if SHARED.load(Ordering::Acquire) {
        // The whole run: `failinject run` kills every process of it, this one included,
        // waits until all are gone, then rolls back every file (`restore_run`). Only if it
        // cannot be told, or does not come, does this process roll back what it can.
        if !shared_store::begin_cut(&cut, seed) || crate::sys::keeper::cut(cut.dirs) {
            for _ in 0..10_000 {
                raw::sleep_ms(1);
            }
        }
        raw::diag(&[b"powercut: the run's keeper did not end the run; rolling back here"]);
    }
    // Writes already under way finish first (at most 2 s: one blocked for good must not
    // stop the cut).
    for _ in 0..2000 {
        if INFLIGHT.load(Ordering::Acquire) == 0 {
            break;
        }
        raw::sleep_ms(1);
    }
    // The cut that began first, when another process of the run began one.
    let (cut, seed) = shared_store::cut().unwrap_or((cut, seed));
    let s = store();
    if !s.power_cut(&Kernel, &cut, seed) {
        raw::diag(&[b"powercut: a file could not be rolled back completely"]);
    }
    kfile::kill_self()
}

/// In a forked child: the only thread held no lock and had no call in flight; the model
/// and our descriptors (shared with the parent) stay, so a power cut in the child rolls back
/// what either wrote since the last sync.
/// Switches this process to the run's shared model (starting it from `fresh`, this
/// process's own untouched store, if it is the first): false outside a run, or when the
/// model cannot be had.
fn share(fresh: &Store<'static>) -> bool {
    if SHARED.load(Ordering::Acquire) {
        return true;
    }
    if !crate::run::shared_model(fresh) {
        return false;
    }
    Kernel::keep_handles();
    SHARED.store(true, Ordering::Release);
    true
}

/// A power cut asked for over the control socket (`powercut [MODE]`), from the control
/// thread: as a `powercut` rule would.
/// Before a `powercut(keep=ID)`: every record of the model marked with what the crash state
/// `keep` does with its change, found by the change's index in this process's count
/// (`changes.rs`); returns the cut's seed, the number of the last directory entry kept. Says
/// so when the program made other changes than the recording, or a torn write is too long
/// to tear live.
fn mark_kept(keep: &failinject_crash::Keep) -> u64 {
    if changes::count() != keep.point + 1 {
        raw::diag(&[b"powercut(keep=...): the program made other changes than explore recorded \
            before this cut; the state made differs from the one explore checked"]);
    }
    let (last, exact) = {
        let mut s = store();
        s.mark_kept(&|seq| changes::index_of(seq).and_then(|i| keep.fate(i)), keep.entries)
    };
    if !exact {
        raw::diag(&[b"powercut(keep=...): a torn write of more than 48 sectors is kept whole"]);
    }
    if keep.kept.iter().any(|i| *i <= keep.point && !changes::has_record(*i)) {
        raw::diag(&[b"powercut(keep=...): a kept change has no record to make again (a store \
            through a shared mapping, or a write the model could not record): it is rolled \
            back, and the state differs from the one explore checked"]);
    }
    last
}

pub fn cut_now(cut: Cut, seed: u64) -> ! {
    let _inside = crate::sys::guard::Inside::enter();
    powercut(cut, seed)
}

/// Rolls back every file of the run after its processes are gone (`failinject run` asks for
/// it, in a process of its own, once it has killed them all): the run's shared model, whose
/// lock a killed process may still hold, in the crash state the cut that began chose (`dirs`:
/// directory entries too, if no cut is recorded). False when the model cannot be had or a
/// file could not be rolled back completely.
pub fn restore_run(dirs: bool) -> bool {
    let _inside = crate::sys::guard::Inside::enter();
    if !share(&STORE.lock()) {
        return false;
    }
    let (cut, seed) = shared_store::cut().unwrap_or((Cut { dirs, ..Cut::ALL }, 0));
    match SharedHeld::lock() {
        Some(s) => s.power_cut(&Kernel, &cut, seed),
        None => false,
    }
}

pub fn after_fork_in_child() {
    crate::sys::keeper::after_fork_in_child();
    shared_store::after_fork_in_child();
    write_watch::after_fork_in_child();
    STORE.reset_after_fork();
    CHUNK.reset_after_fork();
    *CHUNK.lock() = failinject_crash::Chunk::EMPTY;
    INFLIGHT.store(0, Ordering::Release);
}
