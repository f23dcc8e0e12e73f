//! Descriptor bookkeeping: what the descriptor table (`table.rs`) learns from the calls whose
//! roles in the libc table are `opens`, `dups` and `closes`.
//!
//! These calls are wrapped even when no rule applies to them (once any libc rule exists), so
//! that a later `write` knows its file's path without asking the kernel.

use super::table as fds;
use crate::sys::ret::Ret;
use failinject_engine::SysCall;
use libc::c_int;

/// A call returned descriptor `fd` (or failed with a negative value) for the call's target.
pub fn new_fd(fd: i64, call: &SysCall<'_>) {
    if fd >= 0 {
        // The number is the log's only if the log was closed behind our back.
        crate::log::descriptor_closed(fd as c_int);
        match call.path {
            Some(p) => fds::record(fd as c_int, p),
            None => fds::forget(fd as c_int),
        }
    }
}

/// A call returned descriptor `fd` whose path is only known to the kernel (`mkstemp` fills in
/// its template, `tmpfile` has no name): it is looked up when a rule needs it.
pub fn new_fd_unnamed(fd: i64) {
    if fd >= 0 {
        fds::forget(fd as c_int);
    }
}

/// `to` (a result, negative on failure) now duplicates `from`.
pub fn dup<R: Ret>(from: c_int, to: R) {
    let to = to.as_i64();
    if to >= 0 {
        fds::duplicate(from, to as c_int);
        // dup2 onto the log's number closed the log first.
        crate::log::descriptor_closed(to as c_int);
    }
}

/// The descriptor of the call was released.
pub fn forget(call: &SysCall<'_>) {
    // A ring the program closes is gone by its exit: noted now, for why a rule never fired.
    if call.path.is_some_and(|p| p.starts_with(b"anon_inode:[io_uring]")) {
        crate::nearmiss::saw(crate::nearmiss::Unseen::IoUring);
    }
    if let Some(fd) = call.fd {
        fds::forget(fd);
        crate::log::descriptor_closed(fd);
    }
}

/// `close_range(first, last)` succeeded, or `closefrom(first)` ran (`last` = `u32::MAX`).
pub fn forget_range(first: u32, last: u32) {
    let log = crate::log::descriptor();
    if log >= 0 && (first..=last).contains(&(log as u32)) {
        crate::log::descriptor_closed(log);
    }
    let last = last.min(fds::MAX_FDS as u32 - 1);
    for fd in first..=last {
        fds::forget(fd as c_int);
    }
}
