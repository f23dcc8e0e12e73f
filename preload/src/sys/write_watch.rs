//! This process's shared writable mappings of tracked files, and which of their pages were
//! written since the crash model last asked (`failinject_crash::Disk::written`).
//!
//! The kernel keeps the answer. Each mapping is registered with a `userfaultfd` of ours in
//! *asynchronous* write-protect mode (`UFFD_FEATURE_WP_ASYNC`, Linux 6.7, which takes any kind
//! of memory, file pages included) and write-protected whole. A store to a protected page
//! faults once, and the kernel resolves the fault itself by lifting the page's protection: no
//! thread of ours, no signal, no stop of the program, and a store by the kernel (a `read` into
//! the mapping) counts too. At a sync, the `PAGEMAP_SCAN` ioctl of `/proc/self/pagemap` lists
//! the pages no longer protected, and protects them again in the same walk.
//!
//! Why this way (`docs/CRASH.md`): soft-dirty bits need `CONFIG_MEM_SOFT_DIRTY`, which kernels
//! such as this machine's leave out, and clearing them (`clear_refs`) is process-wide;
//! protection through `mprotect` would take the program's SIGSEGV; comparing the range with a
//! copy costs what reading it again costs.
//!
//! Nothing here is trusted blindly. A scan that finds part of the range unmapped or no longer
//! registered (the program closed our descriptor, moved the mapping with `mremap`, mapped
//! something else there), a mapping made before a `fork` (the child's stores to the shared
//! pages set no bit of ours), a kernel or a sandbox without `userfaultfd`: each makes the
//! answer "cannot tell", and the crash model reads the whole range again.

use super::kfile::{close, fd_link, open_proc, to_high};
use super::raw;
use super::spin::SpinLock;
use failinject_crash::Stat;
use libc::{c_int, c_long};
use std::sync::atomic::{AtomicU64, Ordering};

/// A shared writable mapping of a file, made by this process.
#[derive(Clone, Copy)]
pub struct Mapping {
    /// Where it is.
    pub start: usize,
    /// Its length.
    pub len: usize,
    /// The file's device.
    pub dev: u64,
    /// The file's inode.
    pub ino: u64,
    /// The file offset it starts at.
    pub off: u64,
    /// The process whose write-protect bits watch it (this one, unless it was made by a parent
    /// before a fork); 0: not watched.
    owner: u32,
    /// [`FORKS`] when it was made.
    forks: u64,
}

/// The mappings, by address (a forked child has the same ones).
static MAPPINGS: SpinLock<[Option<Mapping>; 64]> = SpinLock::new([None; 64]);

/// How many times this process forked: a mapping made before the newest fork is shared with
/// a child whose stores no bit of ours sees.
static FORKS: AtomicU64 = AtomicU64::new(0);

/// Our `userfaultfd`: the process it belongs to in the high half, the descriptor plus one in
/// the low half (0: none could be made for that process). 0: none yet.
static UFFD: AtomicU64 = AtomicU64::new(0);

/// After `mmap` returned `start` for `len` bytes of the file `st` at `off`, shared and
/// writable: the mapping is noted and, where the kernel allows, watched. Called before its
/// synced content is copied, so that no store after the copy goes unseen. Returns the owner
/// for the crash model: this process's id when it watches the mapping, else 0.
pub fn mapped(start: usize, len: usize, st: &Stat, off: u64) -> u32 {
    let owner = if watch(start, len) { raw::pid() } else { 0 };
    let forks = FORKS.load(Ordering::Acquire);
    let m = Mapping { start, len, dev: st.dev, ino: st.ino, off, owner, forks };
    let mut table = MAPPINGS.lock();
    // A mapping made again at the same place replaces the old one (munmap is not watched).
    let at = table.iter().position(|s| s.is_some_and(|old| old.start == start));
    match at.or_else(|| table.iter().position(Option::is_none)) {
        Some(i) => {
            table[i] = Some(m);
            owner
        }
        // Not noted: nobody can answer for it.
        None => 0,
    }
}

/// Every mapping this process made (a copy of the table).
pub fn all() -> [Option<Mapping>; 64] {
    *MAPPINGS.lock()
}

impl Mapping {
    /// The process whose bits watch it; 0: none.
    pub fn owner(&self) -> u32 {
        self.owner
    }
}

/// The mapping that holds `addr`, if this process made one there.
pub fn at(addr: usize) -> Option<Mapping> {
    let table = MAPPINGS.lock();
    table.iter().flatten().copied().find(|m| (m.start..m.start + m.len).contains(&addr))
}

/// `failinject_crash::Disk::written` for this process: of the bytes `map` (offset, length)
/// of `file` that process `owner` mapped, calls `each` for the extents in `range` written
/// since the last call, and protects them again. False when it cannot tell.
pub fn written(
    file: &Stat,
    owner: u32,
    (map_off, map_len): (u64, u64),
    (from, to): (u64, u64),
    each: &mut dyn FnMut(u64, u64),
) -> bool {
    if owner == 0 || owner != raw::pid() || from < map_off || from >= to {
        return false;
    }
    let forks = FORKS.load(Ordering::Acquire);
    let m = {
        let table = MAPPINGS.lock();
        let mut same = table.iter().flatten().filter(|m| {
            (m.dev, m.ino, m.off, m.len as u64) == (file.dev, file.ino, map_off, map_len)
        });
        // Two mappings of one range in this process: the bits of one do not tell the other's.
        match (same.next().copied(), same.next()) {
            (Some(m), None) if m.owner == owner && m.forks == forks => m,
            _ => return false,
        }
    };
    let page = page_size();
    let a = m.start + ((from - map_off) as usize) / page * page;
    let end = (m.start + m.len).next_multiple_of(page);
    let b = m.start.saturating_add(usize::try_from(to - map_off).unwrap_or(usize::MAX));
    let b = b.next_multiple_of(page).min(end);
    scan(a, b, &mut |x, y| {
        let (x, y) = (map_off + (x - m.start) as u64, map_off + (y - m.start) as u64);
        let (x, y) = (x.max(from), y.min(to));
        if x < y {
            each(x, y - x);
        }
    })
}

/// In the parent after a `fork`: the mappings made so far are shared with the child.
pub fn after_fork_in_parent() {
    FORKS.fetch_add(1, Ordering::AcqRel);
}

/// In the child after a `fork`: the table's lock, which another thread of the parent may have
/// held, is free. (Its mappings keep the parent as owner: the child answers for none.)
pub fn after_fork_in_child() {
    MAPPINGS.reset_after_fork();
}

fn page_size() -> usize {
    // SAFETY: getauxval reads the auxiliary vector the kernel gave the process; no side effect.
    let page = unsafe { libc::getauxval(libc::AT_PAGESZ) } as usize;
    if page.is_power_of_two() { page } else { 4096 }
}

// ---- the kernel's interface (include/uapi/linux/userfaultfd.h, include/uapi/linux/fs.h) --
// Debian's libc headers and the libc crate predate PAGEMAP_SCAN (Linux 6.7).

const UFFD_API: u64 = 0xAA;
const UFFD_USER_MODE_ONLY: c_long = 1;
const UFFD_FEATURE_WP_UNPOPULATED: u64 = 1 << 13;
const UFFD_FEATURE_WP_ASYNC: u64 = 1 << 15;
const UFFDIO_REGISTER_MODE_WP: u64 = 2;
const UFFDIO_WRITEPROTECT_MODE_WP: u64 = 1;
/// `_IOWR(0xAA, 0x3F, struct uffdio_api)`.
const UFFDIO_API: c_long = 0xC018_AA3F;
/// `_IOWR(0xAA, 0x00, struct uffdio_register)`.
const UFFDIO_REGISTER: c_long = 0xC020_AA00;
/// `_IOR(0xAA, 0x01, struct uffdio_range)`.
const UFFDIO_UNREGISTER: c_long = 0x8010_AA01;
/// `_IOWR(0xAA, 0x06, struct uffdio_writeprotect)`.
const UFFDIO_WRITEPROTECT: c_long = 0xC018_AA06;
/// `_IOWR('f', 16, struct pm_scan_arg)`.
const PAGEMAP_SCAN: c_long = 0xC060_6610;
const PM_SCAN_WP_MATCHING: u64 = 1;
const PM_SCAN_CHECK_WPASYNC: u64 = 2;
const PAGE_IS_WRITTEN: u64 = 1 << 1;

#[repr(C)]
struct UffdioApi {
    api: u64,
    features: u64,
    ioctls: u64,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct UffdioRange {
    start: u64,
    len: u64,
}

#[repr(C)]
struct UffdioRegister {
    range: UffdioRange,
    mode: u64,
    ioctls: u64,
}

#[repr(C)]
struct UffdioWriteprotect {
    range: UffdioRange,
    mode: u64,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct PageRegion {
    start: u64,
    end: u64,
    categories: u64,
}

#[repr(C)]
#[derive(Default)]
struct PmScanArg {
    size: u64,
    flags: u64,
    start: u64,
    end: u64,
    walk_end: u64,
    vec: u64,
    vec_len: u64,
    max_pages: u64,
    category_inverted: u64,
    category_mask: u64,
    category_anyof_mask: u64,
    return_mask: u64,
}

/// `ioctl(fd, request, arg)`, raw; its result.
fn ioctl<T>(fd: c_int, request: c_long, arg: &mut T) -> c_long {
    // SAFETY: every request used here takes a pointer to the `repr(C)` struct `T` laid out
    // as the kernel's header says, which lives across the call; the kernel reads and writes
    // only that struct (and, for PAGEMAP_SCAN, the region array it points at, see `scan`).
    unsafe { libc::syscall(libc::SYS_ioctl, fd as c_long, request, arg as *mut T) }
}

/// Registers `start..start + len` with our `userfaultfd` and write-protects it whole.
fn watch(start: usize, len: usize) -> bool {
    let Some(fd) = uffd() else { return false };
    let range = UffdioRange { start: start as u64, len: len.next_multiple_of(page_size()) as u64 };
    let mut register = UffdioRegister { range, mode: UFFDIO_REGISTER_MODE_WP, ioctls: 0 };
    if ioctl(fd, UFFDIO_REGISTER, &mut register) != 0 {
        return false;
    }
    let mut protect = UffdioWriteprotect { range, mode: UFFDIO_WRITEPROTECT_MODE_WP };
    if ioctl(fd, UFFDIO_WRITEPROTECT, &mut protect) != 0 {
        let mut range = range;
        ioctl(fd, UFFDIO_UNREGISTER, &mut range);
        return false;
    }
    true
}

/// This process's `userfaultfd` in asynchronous write-protect mode, made on first use (and
/// again when the program closed ours); `None` when the kernel refuses one.
fn uffd() -> Option<c_int> {
    let me = u64::from(raw::pid());
    let now = UFFD.load(Ordering::Acquire);
    if now >> 32 == me {
        let fd = (now & 0xFFFF_FFFF) as c_int - 1;
        if fd < 0 {
            return None;
        }
        if is_ours(fd) {
            return Some(fd);
        }
    }
    let fd = make_uffd();
    let new = me << 32 | (fd + 1) as u32 as u64;
    match UFFD.compare_exchange(now, new, Ordering::AcqRel, Ordering::Acquire) {
        Ok(_) => (fd >= 0).then_some(fd),
        Err(other) => {
            // Another thread made one first: ours goes.
            close(fd);
            let fd = (other & 0xFFFF_FFFF) as c_int - 1;
            (other >> 32 == me && fd >= 0).then_some(fd)
        }
    }
}

/// Whether descriptor `fd` is still a `userfaultfd` (the program may close descriptors it
/// did not open, and reuse the number).
fn is_ours(fd: c_int) -> bool {
    let mut link = [0u8; 64];
    let want = b"anon_inode:[userfaultfd]";
    fd_link(fd, &mut link).is_some_and(|n| &link[..n] == want)
}

/// A new `userfaultfd`, close-on-exec, moved out of the program's range of descriptors; -1
/// when the kernel refuses one or the mode (Linux before 6.7).
fn make_uffd() -> c_int {
    let flags = (libc::O_CLOEXEC | libc::O_NONBLOCK) as c_long | UFFD_USER_MODE_ONLY;
    // SAFETY: userfaultfd takes flags only and returns a new descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_userfaultfd, flags) } as c_int;
    if fd < 0 {
        return -1;
    }
    let fd = to_high(fd);
    let features = UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED;
    let mut api = UffdioApi { api: UFFD_API, features, ioctls: 0 };
    if ioctl(fd, UFFDIO_API, &mut api) != 0 {
        close(fd);
        return -1;
    }
    fd
}

/// Walks the pages of `a..b` (page-aligned addresses of this process): calls `each(x, y)` for
/// each run of pages written since they were last protected, and protects them again. False
/// when part of the range is not mapped or not watched (then the caller assumes every page
/// written).
fn scan(a: usize, b: usize, each: &mut dyn FnMut(usize, usize)) -> bool {
    let pm = open_proc(c"/proc/self/pagemap");
    if pm < 0 {
        return false;
    }
    let mut regions = [PageRegion::default(); 32];
    let mut at = a as u64;
    let mut whole = true;
    while whole && at < b as u64 {
        let mut arg = PmScanArg {
            size: std::mem::size_of::<PmScanArg>() as u64,
            flags: PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC,
            start: at,
            end: b as u64,
            vec: regions.as_mut_ptr() as u64,
            vec_len: regions.len() as u64,
            // Every page matches, and is reported with its one category of interest, so that
            // the regions must cover the range: a gap is memory no longer mapped.
            return_mask: PAGE_IS_WRITTEN,
            ..PmScanArg::default()
        };
        // The kernel fills at most `vec_len` regions of the array `vec` points at, which lives
        // on this stack frame across the call.
        let n = ioctl(pm, PAGEMAP_SCAN, &mut arg);
        if n <= 0 {
            whole = false;
            break;
        }
        for r in &regions[..n as usize] {
            if r.start != at {
                whole = false;
                break;
            }
            if r.categories & PAGE_IS_WRITTEN != 0 {
                each(r.start as usize, r.end as usize);
            }
            at = r.end;
        }
    }
    close(pm);
    whole
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file of `pages` pages, mapped shared and writable, and watched.
    fn mapping(pages: usize) -> (std::fs::File, usize, usize) {
        use std::os::fd::AsRawFd as _;
        let dir = std::env::temp_dir().join(format!("fi-watch-{}-{pages}", std::process::id()));
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&dir)
            .unwrap();
        std::fs::remove_file(&dir).unwrap();
        let len = pages * page_size();
        file.set_len(len as u64).unwrap();
        // SAFETY: a shared mapping of a file we hold open, unmapped by the test.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                file.as_raw_fd(),
                0,
            )
        };
        assert_ne!(p, libc::MAP_FAILED);
        (file, p as usize, len)
    }

    fn written_pages(a: usize, b: usize) -> Option<Vec<usize>> {
        let page = page_size();
        let mut pages = Vec::new();
        let whole =
            scan(a, b, &mut |x, y| pages.extend((x..y).step_by(page).map(|p| (p - a) / page)));
        whole.then_some(pages)
    }

    fn store(addr: usize) {
        // SAFETY: a byte of a live shared writable mapping made by the test.
        unsafe { std::ptr::write_volatile(addr as *mut u8, 1) };
    }

    #[test]
    fn the_pages_stored_to_are_told_once_then_watched_again_while_the_watch_lasts() {
        let page = page_size();
        let (_file, p, len) = mapping(64);
        store(p); // populated before the watch: counts only if stored to again
        assert!(watch(p, len), "this kernel (6.7 or later) watches file pages");
        for k in [3, 10, 11] {
            store(p + k * page + 5);
        }
        // A store by the kernel: read(2) into the mapping.
        let src = std::fs::File::open("/proc/self/exe").unwrap();
        use std::os::fd::AsRawFd as _;
        // SAFETY: reading 8 bytes into the live mapping.
        let n = unsafe { libc::read(src.as_raw_fd(), (p + 20 * page) as *mut libc::c_void, 8) };
        assert_eq!(n, 8);
        assert_eq!(written_pages(p, p + len), Some(vec![3, 10, 11, 20]));
        assert_eq!(written_pages(p, p + len), Some(vec![]), "protected again by the scan");
        // Pages dropped from the page tables keep their watch.
        // SAFETY: dropping our own mapping's page table entries; the file keeps the bytes.
        unsafe { libc::madvise(p as *mut libc::c_void, len, libc::MADV_DONTNEED) };
        store(p + 50 * page);
        assert_eq!(written_pages(p, p + len), Some(vec![50]));
        // A page unmapped under the range: the scan cannot tell.
        // SAFETY: unmapping one page of our own mapping.
        unsafe { libc::munmap((p + 7 * page) as *mut libc::c_void, page) };
        assert_eq!(written_pages(p, p + len), None, "a hole");
        assert_eq!(written_pages(p + 8 * page, p + len), Some(vec![]), "past the hole");
        // SAFETY: the rest of the test's mapping.
        unsafe { libc::munmap(p as *mut libc::c_void, len) };

        // Memory never watched cannot be told.
        let (_file, p, len) = mapping(4);
        store(p);
        assert_eq!(written_pages(p, p + len), None);
        // Nor memory whose watch ended with our descriptor, which the program may close: then
        // a new one is made.
        assert!(watch(p, len));
        assert_eq!(written_pages(p, p + len), Some(vec![]));
        let first = uffd().expect("a userfaultfd");
        assert_eq!(uffd(), Some(first), "made once per process");
        close(first);
        store(p);
        assert_eq!(written_pages(p, p + len), None, "unwatched when its descriptor closed");
        let again = uffd().expect("a new one");
        assert!(is_ours(again));
        // SAFETY: the test's mapping.
        unsafe { libc::munmap(p as *mut libc::c_void, len) };
    }
}
