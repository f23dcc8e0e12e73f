//! The facts of a call that rules match on: its target's path and kind, its descriptor.
//!
//! Paths are made absolute (against the current directory, or a dirfd's recorded path) and
//! lexically normalised into per-thread buffers: a `const`-initialised thread-local holding
//! plain byte arrays, which needs no destructor and never allocates. They are only touched on
//! the slow path, when a rule applies to the function called.

use crate::fds;
use failinject_engine::{FileKind, absolute_into};
use libc::{c_char, c_int};
use std::cell::RefCell;
use std::ffi::CStr;

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

thread_local! {
    static BUFS: RefCell<Bufs> = const {
        RefCell::new(Bufs { a: [0; PATH_MAX], b: [0; PATH_MAX], t: [0; PATH_MAX] })
    };
}

/// Runs `f` with this thread's buffers, or returns `None` when they are in use (a signal
/// handler that interrupted our own slow path: the caller then passes the call through).
pub fn with_bufs<R>(f: impl FnOnce(&mut Bufs) -> R) -> Option<R> {
    BUFS.try_with(|b| b.try_borrow_mut().ok().map(|mut b| f(&mut b))).ok().flatten()
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
