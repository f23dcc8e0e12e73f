//! The facts of a call that rules match on: its target's path and kind.
//!
//! Paths are made absolute (against the current directory, or a dirfd's recorded path) and
//! lexically normalised into buffers taken from the pool (`sys/pool.rs`) for the duration of
//! the call: nothing is allocated and nothing is kept per thread. They are only touched on
//! the slow path, when a rule applies to the function called.

use super::table;
use crate::sys::kfile;
use failinject_engine::{FileKind, absolute_into};
use libc::c_int;

/// `path` made absolute against the current directory (or against `dirfd`'s path when it is
/// not `AT_FDCWD`), into `out`, using `tmp` for the base.
pub fn resolve(dirfd: c_int, path: &[u8], out: &mut [u8], tmp: &mut [u8]) -> Option<usize> {
    if path.first() == Some(&b'/') {
        return absolute_into(b"/", path, out);
    }
    let base = if dirfd == libc::AT_FDCWD { kfile::cwd(tmp)? } else { table::path(dirfd, tmp)? };
    absolute_into(&tmp[..base], path, out)
}

/// The kind of the target of a call on `fd`.
pub fn fd_kind(fd: c_int) -> FileKind {
    if fd < 0 { FileKind::Unknown } else { table::kind(fd) }
}
