//! The run's shared state file (`failinject_engine::run_state`), mapped once per program and
//! never unmapped, handed to the wing above (`run.rs`) as atomic words.
//!
//! The mapping is `MAP_SHARED`: a forked child keeps it (and shares it with its parent and
//! every other process of the run); an exec'd program maps it again from the path.

use failinject_engine::run_state::{MAGIC, SIZE};
use libc::c_long;
use std::ffi::CStr;
use std::sync::atomic::{AtomicPtr, AtomicU32, AtomicU64, Ordering};

static BASE: AtomicPtr<u8> = AtomicPtr::new(std::ptr::null_mut());

/// Maps the state file at `path`. False when it cannot be opened or mapped, is too small, or
/// is not a run's state (its magic word).
pub fn map(path: &CStr) -> bool {
    if !BASE.load(Ordering::Acquire).is_null() {
        return true;
    }
    let fd = super::kfile::open_at(libc::AT_FDCWD, path, libc::O_RDWR, 0);
    if fd < 0 {
        return false;
    }
    let big_enough = super::kfile::fstat(fd).is_some_and(|st| st.size >= SIZE as u64);
    // SAFETY: a shared mapping of our own descriptor, which stays valid after the descriptor
    // is closed; every argument is widened to 64 bits.
    let p = big_enough.then(|| unsafe {
        libc::syscall(
            libc::SYS_mmap,
            std::ptr::null_mut::<u8>(),
            SIZE as c_long,
            (libc::PROT_READ | libc::PROT_WRITE) as c_long,
            libc::MAP_SHARED as c_long,
            fd as c_long,
            0 as c_long,
        )
    });
    super::kfile::close(fd);
    let Some(p) = p.filter(|p| *p > 0) else { return false };
    let base = p as *mut u8;
    // SAFETY: the mapping just made is page-aligned and SIZE bytes long, so its first 8
    // bytes are an aligned u64 that lives as long as the process (never unmapped below).
    let magic = unsafe { AtomicU64::from_ptr(base.cast::<u64>()) }.load(Ordering::Acquire);
    if magic != MAGIC
        || BASE
            .compare_exchange(std::ptr::null_mut(), base, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
    {
        // SAFETY: unmapping the mapping just made, which nothing refers to.
        unsafe { libc::syscall(libc::SYS_munmap, base, SIZE as c_long) };
        return magic == MAGIC && !BASE.load(Ordering::Acquire).is_null();
    }
    true
}

/// Whether the state is mapped.
pub fn mapped() -> bool {
    !BASE.load(Ordering::Acquire).is_null()
}

/// The 64-bit word at byte `at` of the state; `None` when nothing is mapped, or `at` is not
/// an aligned offset inside it.
pub fn word(at: usize) -> Option<&'static AtomicU64> {
    let base = BASE.load(Ordering::Acquire);
    if base.is_null() || !at.is_multiple_of(8) || at + 8 > SIZE {
        return None;
    }
    // SAFETY: `base` is a page-aligned shared mapping of SIZE bytes that is never unmapped,
    // and `at` is a multiple of 8 with the word inside it: an aligned u64 for the rest of the
    // process. Every access to the file, by any process, is atomic.
    Some(unsafe { AtomicU64::from_ptr(base.add(at).cast::<u64>()) })
}

/// The 32-bit word at byte `at`, as [`word`].
pub fn half(at: usize) -> Option<&'static AtomicU32> {
    let base = BASE.load(Ordering::Acquire);
    if base.is_null() || !at.is_multiple_of(4) || at + 4 > SIZE {
        return None;
    }
    // SAFETY: as in `word`, for an aligned u32.
    Some(unsafe { AtomicU32::from_ptr(base.add(at).cast::<u32>()) })
}
