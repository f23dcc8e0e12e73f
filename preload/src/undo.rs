//! The undo arena: the original bytes of every range overwritten since a file's last sync,
//! outside the heap.
//!
//! One anonymous private mapping, reserved once when the first `powercut`/`lose` rule is
//! published (`MAP_NORESERVE`: pages cost memory only once written), handed out by a bump
//! pointer. A record is a header (the previous record of the same file, the file offset, the
//! length) followed by the bytes. Records are never freed one by one: the whole arena is
//! reset when no file has any record left (every tracked file synced or rolled back). Every
//! function here runs under the tracker's lock (`track.rs`).

use std::sync::atomic::{AtomicPtr, AtomicU64, AtomicUsize, Ordering};

/// A record's header, at an 8-aligned arena offset.
#[repr(C)]
struct Header {
    /// The arena offset of the file's previous (older) record, 0 for none.
    prev: u64,
    /// Where in the file the bytes were.
    off: u64,
    /// How many bytes follow the header.
    len: u64,
}

const HEADER: usize = std::mem::size_of::<Header>();
/// Offset 0 means "no record", so the first record starts past it.
const FIRST: usize = 64;

static BASE: AtomicPtr<u8> = AtomicPtr::new(std::ptr::null_mut());
static CAP: AtomicUsize = AtomicUsize::new(0);
/// The bump pointer (under the tracker's lock).
static USED: AtomicUsize = AtomicUsize::new(FIRST);
/// Records alive (in some file's list).
static LIVE: AtomicU64 = AtomicU64::new(0);

/// Reserves the arena, once: 64 GiB of address space, or less if the system refuses.
/// Whether an arena exists.
pub fn reserve() -> bool {
    if !BASE.load(Ordering::Acquire).is_null() {
        return true;
    }
    for shift in [36u32, 33, 30, 27] {
        let size = 1usize << shift;
        // SAFETY: an anonymous private mapping has no preconditions; every argument is
        // widened to 64 bits.
        let p = unsafe {
            libc::syscall(
                libc::SYS_mmap,
                std::ptr::null_mut::<u8>(),
                size as libc::c_long,
                (libc::PROT_READ | libc::PROT_WRITE) as libc::c_long,
                (libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE) as libc::c_long,
                -1 as libc::c_long,
                0 as libc::c_long,
            )
        };
        if p > 0 {
            CAP.store(size, Ordering::Release);
            BASE.store(p as *mut u8, Ordering::Release);
            return true;
        }
    }
    false
}

/// A new record of `len` bytes for file offset `off`, its bytes to be filled in through
/// [`bytes`]; `None` when the arena is full (or missing).
pub fn alloc(off: u64, len: usize) -> Option<u64> {
    let base = BASE.load(Ordering::Acquire);
    if base.is_null() {
        return None;
    }
    let at = USED.load(Ordering::Relaxed);
    let end = at.checked_add(HEADER)?.checked_add(len)?.checked_next_multiple_of(8)?;
    if end > CAP.load(Ordering::Relaxed) {
        return None;
    }
    USED.store(end, Ordering::Relaxed);
    // SAFETY: `at..end` lies inside our mapping and belongs to no other record (bump
    // allocation under the tracker's lock); `at` is 8-aligned.
    unsafe { (base.add(at) as *mut Header).write(Header { prev: 0, off, len: len as u64 }) };
    Some(at as u64)
}

/// The bytes of record `rec`.
///
/// # Safety
/// `rec` came from [`alloc`] since the last [`reset`], and no other reference to its bytes
/// is alive (the tracker's lock is held).
pub unsafe fn bytes<'a>(rec: u64) -> &'a mut [u8] {
    let base = BASE.load(Ordering::Acquire);
    // SAFETY: the caller's contract: a live record inside the mapping.
    unsafe {
        let h = &*(base.add(rec as usize) as *const Header);
        std::slice::from_raw_parts_mut(base.add(rec as usize + HEADER), h.len as usize)
    }
}

/// Where record `rec`'s bytes were in the file, and the file's older record.
///
/// # Safety
/// As [`bytes`].
pub unsafe fn describe(rec: u64) -> (u64, u64) {
    let base = BASE.load(Ordering::Acquire);
    // SAFETY: the caller's contract.
    let h = unsafe { &*(base.add(rec as usize) as *const Header) };
    (h.off, h.prev)
}

/// Links `rec` in front of `head` (a file's newest record) and counts it alive.
///
/// # Safety
/// As [`bytes`].
pub unsafe fn link(rec: u64, head: u64) {
    let base = BASE.load(Ordering::Acquire);
    // SAFETY: the caller's contract.
    unsafe { (*(base.add(rec as usize) as *mut Header)).prev = head };
    LIVE.fetch_add(1, Ordering::Relaxed);
}

/// Makes `prev` the record older than `rec` (unlinking the records between them).
///
/// # Safety
/// As [`bytes`].
pub unsafe fn set_prev(rec: u64, prev: u64) {
    let base = BASE.load(Ordering::Acquire);
    // SAFETY: the caller's contract.
    unsafe { (*(base.add(rec as usize) as *mut Header)).prev = prev };
}

/// Gives back the last record allocated, which was never linked (its bytes could not be
/// read).
pub fn unalloc(rec: u64) {
    USED.store(rec as usize, Ordering::Relaxed);
}

/// `n` records were dropped from their file's list; when none is left, the arena starts
/// over and the memory it had written is given back to the system.
pub fn dropped(n: u64) {
    let left = LIVE.load(Ordering::Relaxed).saturating_sub(n);
    LIVE.store(left, Ordering::Relaxed);
    if left == 0 {
        reset();
    }
}

/// Empties the arena.
fn reset() {
    let used = USED.swap(FIRST, Ordering::Relaxed);
    let base = BASE.load(Ordering::Acquire);
    // A big arena's pages go back to the system; a small one is simply reused.
    if !base.is_null() && used > (16 << 20) {
        // SAFETY: discarding our own private anonymous pages; they read as zero afterwards.
        unsafe {
            libc::syscall(
                libc::SYS_madvise,
                base,
                used as libc::c_long,
                libc::MADV_DONTNEED as libc::c_long,
            )
        };
    }
}
