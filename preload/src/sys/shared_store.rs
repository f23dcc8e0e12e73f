//! The crash model shared by every process of a run (`$FAILINJECT_RUN/crash`): mapped, laid
//! out and locked here, handed to `crash.rs` as a `&mut Store` while the lock is held.
//!
//! The file is, from its start: a header page (magic word, the store's size, the lock, the
//! cut), the `Store` itself, then the undo arena ([`ARENA`] bytes, sparse: pages cost only
//! once written). `failinject run` makes it empty; the first process that tracks sizes it
//! and copies a fresh store in, under `flock`. Each process maps it where it can: the store
//! holds no address but its arena's, which each process points at its own mapping whenever
//! it takes the lock (`Store::rehome`).
//!
//! The lock is a word holding the holder's pid, taken with a compare-and-swap and never
//! held across a wait; a waiter spins briefly, then sleeps on the word (a shared futex) until
//! the holder wakes it. A process killed while holding it (a power cut's SIGKILL, a `kill`
//! rule) cannot release it: a waiter that finds the holder gone (or a zombie) takes it over.

use super::kfile::{close, fstat, open_at};
use super::raw;
use failinject_crash::{Cut, Mode, Store};
use libc::c_long;
use std::ffi::CStr;
use std::sync::atomic::{AtomicPtr, AtomicU32, AtomicU64, Ordering};

/// "FICRASH" and the layout's version.
const MAGIC: u64 = u64::from_le_bytes(*b"FICRSH\0\x01");
/// The header page.
const HEADER: usize = 4096;
/// The store, from the header page on, rounded up to whole pages.
const STORE_AT: usize = HEADER;
const STORE_LEN: usize = std::mem::size_of::<Store<'static>>().next_multiple_of(4096);
/// The undo arena's size: what a run may keep of overwritten synced bytes at once.
pub const ARENA: usize = 1 << 30;
const ARENA_AT: usize = STORE_AT + STORE_LEN;
const TOTAL: usize = ARENA_AT + ARENA;

/// Header words (byte offsets).
const H_MAGIC: usize = 0;
const H_STORE: usize = 8;
const H_LOCK: usize = 16;
/// The cut under way: 0 before; else 1, `dirs` in bit 1, the mode's index in bits 2-3 and the
/// sector size's log2 in bits 8-15.
const H_CUT: usize = 20;
/// The seed of the cut's choices, written just after its cut word.
const H_SEED: usize = 24;

static BASE: AtomicPtr<u8> = AtomicPtr::new(std::ptr::null_mut());
/// The file's path, NUL-terminated, set once at start-up (`configure`).
static PATH: [std::sync::atomic::AtomicU8; 512] =
    [const { std::sync::atomic::AtomicU8::new(0) }; 512];

/// Remembers the file's path (the configuration path); the file is mapped only when the
/// process starts tracking writes. False when the path is too long.
pub fn configure(path: &[u8]) -> bool {
    if path.len() >= PATH.len() || path.contains(&0) {
        return false;
    }
    for (slot, b) in PATH.iter().zip(path.iter().chain([&0u8])) {
        slot.store(*b, Ordering::Relaxed);
    }
    true
}

/// Whether the shared model is mapped.
pub fn mapped() -> bool {
    !BASE.load(Ordering::Acquire).is_null()
}

fn base() -> *mut u8 {
    BASE.load(Ordering::Acquire)
}

fn u64_at(at: usize) -> &'static AtomicU64 {
    // SAFETY: only called once mapped; `at` is an 8-aligned header offset inside the page,
    // which stays mapped for the rest of the process.
    unsafe { AtomicU64::from_ptr(base().add(at).cast()) }
}

fn u32_at(at: usize) -> &'static AtomicU32 {
    // SAFETY: as `u64_at`, for a 4-aligned header word.
    unsafe { AtomicU32::from_ptr(base().add(at).cast()) }
}

/// Maps the shared model at the configured path, making it first if it is empty, with
/// `fresh`, a store nothing has touched, copied in. False when there is none or it cannot be
/// used (then the process keeps a model of its own).
pub fn map(fresh: &Store<'static>) -> bool {
    if mapped() {
        return true;
    }
    let mut path = [0u8; 512];
    for (b, slot) in path.iter_mut().zip(PATH.iter()) {
        *b = slot.load(Ordering::Relaxed);
    }
    let Ok(path) = CStr::from_bytes_until_nul(&path) else { return false };
    if path.is_empty() {
        return false;
    }
    let fd = open_at(libc::AT_FDCWD, path, libc::O_RDWR, 0);
    if fd < 0 {
        return false;
    }
    // SAFETY: flock on our own descriptor; it blocks only while another process of the run
    // lays the file out (a few page writes), at start-up.
    unsafe { libc::syscall(libc::SYS_flock, fd as c_long, libc::LOCK_EX as c_long) };
    let ok = map_locked(fd, fresh);
    // SAFETY: as above.
    unsafe { libc::syscall(libc::SYS_flock, fd as c_long, libc::LOCK_UN as c_long) };
    close(fd);
    ok
}

fn map_locked(fd: libc::c_int, fresh: &Store<'static>) -> bool {
    let Some(st) = fstat(fd) else { return false };
    let empty = st.size == 0;
    // SAFETY: ftruncate on our own descriptor.
    if empty && unsafe { libc::syscall(libc::SYS_ftruncate, fd as c_long, TOTAL as c_long) } != 0 {
        return false;
    }
    if !empty && st.size < TOTAL as u64 {
        return false;
    }
    // SAFETY: a shared mapping of our own descriptor (kept after it is closed); every
    // argument widened to 64 bits. MAP_NORESERVE: the arena's pages cost only once written.
    let p = unsafe {
        libc::syscall(
            libc::SYS_mmap,
            std::ptr::null_mut::<u8>(),
            TOTAL as c_long,
            (libc::PROT_READ | libc::PROT_WRITE) as c_long,
            (libc::MAP_SHARED | libc::MAP_NORESERVE) as c_long,
            fd as c_long,
            0 as c_long,
        )
    };
    if p <= 0 {
        return false;
    }
    let p = p as *mut u8;
    BASE.store(p, Ordering::Release);
    if empty {
        // SAFETY: the store's pages are inside the fresh mapping, page-aligned (so aligned
        // for `Store`), and nothing else refers to them yet (the file is locked); a typed
        // copy of one valid `Store`, which holds no pointer but an arena it does not have.
        unsafe {
            std::ptr::copy_nonoverlapping(fresh, p.add(STORE_AT).cast::<Store<'static>>(), 1)
        };
        u64_at(H_STORE).store(std::mem::size_of::<Store<'static>>() as u64, Ordering::Release);
        u64_at(H_MAGIC).store(MAGIC, Ordering::Release);
    }
    let same = u64_at(H_MAGIC).load(Ordering::Acquire) == MAGIC
        && u64_at(H_STORE).load(Ordering::Acquire) == std::mem::size_of::<Store<'static>>() as u64;
    if !same {
        BASE.store(std::ptr::null_mut(), Ordering::Release);
        // SAFETY: unmapping the mapping just made; nothing refers to it.
        unsafe { libc::syscall(libc::SYS_munmap, p, TOTAL as c_long) };
    }
    same
}

/// This process's pid, as the lock word holds it: asked of the kernel once per process (a
/// forked child forgets it), not at every taking of the lock.
static ME: AtomicU32 = AtomicU32::new(0);

fn lock_pid() -> u32 {
    match ME.load(Ordering::Relaxed) {
        0 => {
            let pid = raw::pid();
            ME.store(pid, Ordering::Relaxed);
            pid
        }
        pid => pid,
    }
}

/// In a forked child: its pid is its own.
pub fn after_fork_in_child() {
    ME.store(0, Ordering::Relaxed);
}

/// The shared model, locked; released when dropped.
pub struct SharedHeld(());

impl SharedHeld {
    /// Takes the lock (spinning, then yielding; a dead holder's lock is taken over) and
    /// points the store's arena at this process's mapping. `None` when nothing is mapped.
    pub fn lock() -> Option<SharedHeld> {
        if !mapped() {
            return None;
        }
        let me = lock_pid();
        let lock = u32_at(H_LOCK);
        let mut spins = 0u32;
        loop {
            let seen = match lock.compare_exchange_weak(0, me, Ordering::Acquire, Ordering::Relaxed)
            {
                Ok(_) => break,
                Err(seen) => seen,
            };
            spins += 1;
            // The holder keeps the lock for a few system calls: worth a short spin (a few
            // microseconds) before sleeping, which costs a wake-up of the scheduler.
            if spins < 4096 {
                std::hint::spin_loop();
                continue;
            }
            let holder = seen & !CONTENDED;
            // A holder that died with the lock (SIGKILL) never releases it: take it over. So
            // does one a power cut stopped (the founder of a bare run, `bare.rs`): it is
            // killed without running again once the files are restored.
            let gone = |pid| {
                !super::kfile::process_alive(pid) || (cutting() && super::kfile::stopped(pid))
            };
            if holder != 0
                && holder != me
                && spins.is_multiple_of(64)
                && gone(holder)
                && lock.compare_exchange(seen, me, Ordering::Acquire, Ordering::Relaxed).is_ok()
            {
                break;
            }
            // Sleep in the kernel until the holder lets go (it wakes the waiters when the word
            // says there are some), for 10 ms at most, so a dead holder is seen.
            if seen & CONTENDED != 0
                || lock
                    .compare_exchange(seen, seen | CONTENDED, Ordering::Relaxed, Ordering::Relaxed)
                    .is_ok()
            {
                futex_wait(lock, seen | CONTENDED);
            }
        }
        let mut held = SharedHeld(());
        // SAFETY: the arena's bytes are inside this process's mapping, which lives for the
        // rest of the process; only the lock holder reaches them.
        let arena = unsafe { std::slice::from_raw_parts_mut(base().add(ARENA_AT), ARENA) };
        let store = &mut *held;
        if store.ready() {
            store.rehome(arena);
        } else {
            store.give_arena(arena);
        }
        Some(held)
    }
}

impl std::ops::Deref for SharedHeld {
    type Target = Store<'static>;
    fn deref(&self) -> &Store<'static> {
        // SAFETY: a `SharedHeld` exists only while this process holds the lock, so no other
        // process or thread reaches the store; it lies at STORE_AT of a mapping that is never
        // unmapped, aligned, and was initialized with a valid store.
        unsafe { &*base().add(STORE_AT).cast::<Store<'static>>() }
    }
}

impl std::ops::DerefMut for SharedHeld {
    fn deref_mut(&mut self) -> &mut Store<'static> {
        // SAFETY: as in `deref`; the lock makes this the only reference.
        unsafe { &mut *base().add(STORE_AT).cast::<Store<'static>>() }
    }
}

impl Drop for SharedHeld {
    fn drop(&mut self) {
        let lock = u32_at(H_LOCK);
        if lock.swap(0, Ordering::Release) & CONTENDED != 0 {
            futex_wake(lock);
        }
    }
}

/// The bit of the lock word that says a process or thread sleeps on it (a pid is < 2^22).
const CONTENDED: u32 = 1 << 31;

/// Sleeps while `word` holds `expected`, 10 ms at most. A shared futex (no
/// `FUTEX_PRIVATE_FLAG`): the word is in a mapping several processes share.
fn futex_wait(word: &AtomicU32, expected: u32) {
    let timeout = libc::timespec { tv_sec: 0, tv_nsec: 10_000_000 };
    // SAFETY: `word` is a live, aligned u32 of the shared mapping; `timeout` lives until the
    // call returns; FUTEX_WAIT only reads them.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAIT as c_long,
            expected as c_long,
            &timeout as *const libc::timespec,
            0 as c_long,
            0 as c_long,
        )
    };
}

/// Wakes one sleeper on `word`.
fn futex_wake(word: &AtomicU32) {
    // SAFETY: as `futex_wait`; FUTEX_WAKE takes no pointer but the word's address.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAKE as c_long,
            1 as c_long,
            0,
            0,
            0,
        )
    };
}

/// Reads `len` bytes of the file `fd` at `off` into the arena at `at` (a reservation of the
/// caller's, `Store::reserve_write`), without the lock: no other process touches reserved
/// bytes until they are committed. How many bytes were read.
pub fn fill(at: usize, len: usize, fd: libc::c_int, off: u64) -> usize {
    if !mapped() || at.checked_add(len).is_none_or(|end| end > ARENA) {
        return 0;
    }
    // SAFETY: `at..at + len` lies inside the arena of this process's mapping (checked just
    // above), which is never unmapped; the range was reserved for this caller alone under the
    // lock, so nothing else reads or writes it until the caller commits it.
    let buf = unsafe { std::slice::from_raw_parts_mut(base().add(ARENA_AT + at), len) };
    super::kfile::pread_full(fd, buf, off)
}

/// Faults in the arena's pages in `range` (a new chunk of this process's) with one call
/// (`MADV_POPULATE_WRITE`, Linux 5.14; older kernels fault them one by one as they come).
pub fn populate(range: std::ops::Range<usize>) {
    if !mapped() || range.end > ARENA || range.is_empty() {
        return;
    }
    let start = (ARENA_AT + range.start) & !4095;
    let len = ARENA_AT + range.end - start;
    /// `MADV_POPULATE_WRITE` (Linux 5.14), which the libc crate does not name yet.
    const POPULATE_WRITE: c_long = 23;
    // SAFETY: advice on pages of our own mapping, inside it; it changes no content (an older
    // kernel refuses the unknown advice with EINVAL, and nothing happens).
    unsafe { libc::syscall(libc::SYS_madvise, base().add(start), len as c_long, POPULATE_WRITE) };
}

/// Marks the start of a run-wide power cut, `cut` with choices drawn from `seed`: true for
/// the one process that starts it.
pub fn begin_cut(cut: &Cut, seed: u64) -> bool {
    let mode = Mode::EVERY.iter().position(|m| *m == cut.mode).unwrap_or(0) as u32;
    let word = 1 | (u32::from(cut.dirs) << 1) | (mode << 2) | (cut.sector.trailing_zeros() << 8);
    if !mapped()
        || u32_at(H_CUT).compare_exchange(0, word, Ordering::AcqRel, Ordering::Acquire).is_err()
    {
        return false;
    }
    u64_at(H_SEED).store(seed, Ordering::Release);
    true
}

/// Whether a run-wide power cut has begun.
pub fn cutting() -> bool {
    mapped() && u32_at(H_CUT).load(Ordering::Acquire) != 0
}

/// The cut that began, and its seed.
pub fn cut() -> Option<(Cut, u64)> {
    let word = if mapped() { u32_at(H_CUT).load(Ordering::Acquire) } else { 0 };
    if word == 0 {
        return None;
    }
    let cut = Cut {
        mode: Mode::EVERY.get(((word >> 2) & 7) as usize).copied().unwrap_or_default(),
        dirs: word & 2 != 0,
        sector: 1 << ((word >> 8) & 0xff).min(31),
        // A `keep` cut's records are marked in the shared model already.
        keep: None,
    };
    Some((cut, u64_at(H_SEED).load(Ordering::Acquire)))
}
