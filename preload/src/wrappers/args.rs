//! C arguments turned into safe types, once, at the edge: strings into `&CStr`, streams and
//! directory streams into descriptors, iovec arrays probed before they are read. Everything
//! past the wrappers (descriptors, crash model, log) takes the safe forms.

use crate::effect::{Scratch, alter};
use failinject_engine::Corruption;
use libc::{c_char, c_int, iovec};
use std::ffi::CStr;

/// A C string argument (`None` for a null pointer).
///
/// # Safety
/// `p` is null or points to a NUL-terminated string that outlives `'a`, as the C function's
/// contract requires.
pub unsafe fn c_str<'a>(p: *const c_char) -> Option<&'a CStr> {
    // SAFETY: non-null, NUL-terminated per the caller's contract.
    (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) })
}

/// The bytes of a C string argument (`None` for a null pointer).
///
/// # Safety
/// As [`c_str`].
pub unsafe fn c_bytes<'a>(p: *const c_char) -> Option<&'a [u8]> {
    // SAFETY: the caller's contract.
    unsafe { c_str(p) }.map(CStr::to_bytes)
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

/// [`stream_fd`] that leaves errno alone: `fileno` on a stream without a descriptor
/// (`open_memstream`) sets it.
///
/// # Safety
/// As [`stream_fd`].
pub unsafe fn stream_fd_quiet(stream: *mut libc::FILE) -> c_int {
    let e = crate::sys::raw::errno();
    // SAFETY: the caller's contract.
    let fd = unsafe { stream_fd(stream) };
    crate::sys::raw::set_errno(e);
    fd
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

/// The result of a call whose role is `opens`: a descriptor, or a stream or directory stream
/// on one.
pub trait Opened: Copy {
    /// The descriptor the call returned, or a negative number when it failed.
    ///
    /// # Safety
    /// `self` is what the real function just returned: a descriptor, or null or a live stream.
    unsafe fn descriptor(self) -> i64;
}

impl Opened for c_int {
    unsafe fn descriptor(self) -> i64 {
        i64::from(self)
    }
}

impl Opened for *mut libc::FILE {
    unsafe fn descriptor(self) -> i64 {
        // SAFETY: null or the live stream the function returned (the caller's contract).
        i64::from(unsafe { stream_fd(self) })
    }
}

impl Opened for *mut libc::DIR {
    unsafe fn descriptor(self) -> i64 {
        // SAFETY: null or the live directory stream the function returned.
        i64::from(unsafe { dir_fd(self) })
    }
}

/// The bytes an iovec array describes, or `None` when libc would refuse the array (a count
/// below 0 or above `IOV_MAX`, lengths adding up past `SSIZE_MAX`, or an array we cannot
/// read): such a call then goes to libc untouched, to get libc's own answer (EFAULT for a
/// bad pointer, where reading it ourselves would have crashed the program).
///
/// # Safety
/// None beyond the C function's: the array is probed before it is read.
pub unsafe fn iov_total(iov: *const iovec, cnt: c_int) -> Option<u64> {
    if iov.is_null() || !(0..=1024).contains(&cnt) {
        return (cnt == 0).then_some(0);
    }
    if !crate::sys::raw::readable(iov.cast(), cnt as usize * std::mem::size_of::<iovec>()) {
        return None;
    }
    // SAFETY: the kernel just read these `cnt` iovecs for us.
    let v = unsafe { std::slice::from_raw_parts(iov, cnt as usize) };
    v.iter()
        .try_fold(0u64, |sum, i| sum.checked_add(i.iov_len as u64))
        .filter(|t| *t <= isize::MAX as u64)
}

/// Copies the first iovecs of `iov` into `local`, cut so that they describe at most `n`
/// bytes; returns how many there are.
///
/// # Safety
/// As [`iov_total`].
pub unsafe fn truncate_iov(iov: *const iovec, cnt: c_int, n: u64, local: &mut [iovec]) -> c_int {
    if iov.is_null() || cnt <= 0 {
        return 0;
    }
    // SAFETY: caller's contract.
    let v = unsafe { std::slice::from_raw_parts(iov, cnt as usize) };
    let mut left = n;
    let mut k = 0;
    for i in v {
        if left == 0 || k == local.len() {
            break;
        }
        let take = (i.iov_len as u64).min(left);
        local[k] = iovec { iov_base: i.iov_base, iov_len: take as usize };
        left -= take;
        k += 1;
    }
    k as c_int
}

/// Gathers the bytes of an iovec array into one private copy (`None` for an array libc
/// would refuse, or bad pointers).
///
/// # Safety
/// As [`iov_total`].
pub unsafe fn gather(iov: *const iovec, cnt: c_int) -> Option<Scratch> {
    // SAFETY: caller's contract.
    let total = unsafe { iov_total(iov, cnt) }?;
    Scratch::gather(iov, cnt as usize, total as usize)
}

/// Alters the first `got` bytes described by an iovec array.
///
/// # Safety
/// As [`iov_total`], and every iovec's buffer is writable.
pub unsafe fn alter_iov(iov: *const iovec, cnt: c_int, got: u64, mode: Corruption, bits: u64) {
    if iov.is_null() || cnt <= 0 {
        return;
    }
    // SAFETY: caller's contract.
    let v = unsafe { std::slice::from_raw_parts(iov, cnt as usize) };
    let target = if mode == Corruption::Flip && got > 0 { bits % got } else { 0 };
    let mut seen = 0u64;
    for (k, i) in v.iter().enumerate() {
        if seen >= got {
            break;
        }
        let len = (i.iov_len as u64).min(got - seen) as usize;
        // SAFETY: the iovec's buffer has `iov_len >= len` writable bytes.
        let piece = unsafe { std::slice::from_raw_parts_mut(i.iov_base as *mut u8, len) };
        match mode {
            Corruption::Flip => {
                if target >= seen && target < seen + len as u64 {
                    alter(&mut piece[(target - seen) as usize..][..1], mode, bits);
                }
            }
            _ => alter(piece, mode, bits.wrapping_add(k as u64)),
        }
        seen += len as u64;
    }
}
