//! The hand-written interposers: functions that do not fit the table, each saying why.
//!
//! - `_exit`, `_Exit`, `abort`: not file calls, so not points of the table; interposed so a
//!   process that ends without `exit()` still writes its exit record (its counts). `exit()`
//!   writes it from an `on_exit` handler (`lib.rs`), which these three never run: dash
//!   `_exit`s, so does every `fork` child that does not exec, and `abort` ends at once. (A
//!   process a catchable signal ends writes it from a handler: `signals.rs`.)
//! - `io_setup` (libaio's, when a program links it): the AIO context it makes carries I/O
//!   that no libc wrapper sees, and is gone by the program's exit; interposed to note it, for
//!   why a rule never fired.
//! - `posix_spawn`, `posix_spawnp`: glibc execs inside them, past the `exec` wrappers, so
//!   they are interposed to write a `spawn` record naming the program (the summary names a
//!   program that then never started the preload: static, setuid, Go).
//!
//! `_exit` may be called in a signal handler, in a `vfork` child, or in a `fork` child of a
//! threaded program: the record is formatted on the stack, written with one `write(2)`, and
//! nothing is allocated or locked. A `vfork` child writes nothing (it shares its parent's
//! memory, so claiming the record would claim the parent's).

use crate::fd::table as fds;
use crate::sys::{guard, raw, real::Real};
use crate::{log, state};
use libc::{c_char, c_int, pid_t, posix_spawn_file_actions_t, posix_spawnattr_t};

/// The exit record of a process ending without `exit()`.
fn ended(status: Option<c_int>, reason: &[u8]) {
    if fds::in_vfork_child() {
        return;
    }
    // Called from inside our own code (a `panic` task aborting): that path logged already.
    let Some(_inside) = guard::Inside::enter() else { return };
    log::ended(status, reason, state::snapshot());
}

/// Interposes `_exit`: the exit record, then the process ends.
///
/// # Safety
/// None: any status is accepted, as by libc's.
#[cfg_attr(not(test), unsafe(no_mangle))]
pub unsafe extern "C" fn _exit(status: c_int) -> ! {
    ended(Some(status), b"_exit");
    raw::exit_group(status)
}

/// Interposes `_Exit` (glibc's alias of `_exit`).
///
/// # Safety
/// None: any status is accepted, as by libc's.
#[cfg_attr(not(test), unsafe(no_mangle))]
#[allow(non_snake_case)] // the C name
pub unsafe extern "C" fn _Exit(status: c_int) -> ! {
    ended(Some(status), b"_Exit");
    raw::exit_group(status)
}

/// Interposes `abort`: the exit record, then libc's `abort` (SIGABRT, the program's handler
/// if it has one, and a core dump as configured).
///
/// # Safety
/// None: `abort` takes no arguments.
#[cfg_attr(not(test), unsafe(no_mangle))]
pub unsafe extern "C" fn abort() -> ! {
    ended(None, b"abort");
    static REAL: Real = Real::new(c"abort");
    if let Some(addr) = REAL.get() {
        type F = unsafe extern "C" fn() -> !;
        // SAFETY: `addr` is the next definition of `abort`, whose C type is `F`.
        let real: F = unsafe { std::mem::transmute::<usize, F>(addr) };
        // SAFETY: abort takes no arguments.
        unsafe { real() }
    }
    // No later `abort` (cannot happen with glibc): end as an uncaught SIGABRT would.
    // SAFETY: restoring the default action and raising a signal in the calling thread.
    unsafe {
        libc::signal(libc::SIGABRT, libc::SIG_DFL);
        libc::raise(libc::SIGABRT);
    }
    raw::exit_group(128 + libc::SIGABRT)
}

/// The bytes of a C string the program passed, or `None` for a null or unreadable pointer.
///
/// # Safety
/// A readable `path` is NUL-terminated (the C contract of the call it was passed to).
pub unsafe fn program_name<'a>(path: *const c_char) -> Option<&'a [u8]> {
    if path.is_null() || !raw::readable(path.cast(), 1) {
        return None;
    }
    // SAFETY: the caller's contract: a readable path is a NUL-terminated string.
    unsafe { super::args::c_bytes(path) }
}

/// The `exec` record of a `vfork` child, which must not touch the buffers it shares with its
/// parent: formatted on the stack, out of line so only this path pays for the frame.
///
/// # Safety
/// As [`program_name`].
#[inline(never)]
pub unsafe fn exec_record_from_stack(path: *const c_char) {
    let mut buf = [0u8; 1024];
    // SAFETY: the caller's contract.
    let name = unsafe { program_name(path) };
    log::program(&mut buf, b"exec", None, name);
}

type Spawn = unsafe extern "C" fn(
    *mut pid_t,
    *const c_char,
    *const posix_spawn_file_actions_t,
    *const posix_spawnattr_t,
    *const *mut c_char,
    *const *mut c_char,
) -> c_int;

/// Calls the real `posix_spawn` or `posix_spawnp` and writes the `spawn` record.
///
/// # Safety
/// The C function's contract.
unsafe fn spawn(
    real: &Real,
    pid: *mut pid_t,
    path: *const c_char,
    actions: *const posix_spawn_file_actions_t,
    attr: *const posix_spawnattr_t,
    argv: *const *mut c_char,
    envp: *const *mut c_char,
) -> c_int {
    let Some(addr) = real.get() else { return libc::ENOSYS };
    // SAFETY: `addr` is the next definition of this symbol, whose C type is `Spawn`.
    let f: Spawn = unsafe { std::mem::transmute::<usize, Spawn>(addr) };
    let mut child: pid_t = 0;
    // The caller may pass no pid pointer; the record needs the child's.
    let out = if pid.is_null() { &mut child as *mut pid_t } else { pid };
    // SAFETY: the caller's arguments, forwarded unchanged but for a pid pointer of ours when
    // the caller passed none.
    let r = unsafe { f(out, path, actions, attr, argv, envp) };
    if r == 0 {
        let mut buf = [0u8; 1024];
        // SAFETY: on success posix_spawn stored the child's pid at `out`, and it read `path`
        // as a C string, so we may too.
        let (child, name) = unsafe { (*out, program_name(path)) };
        log::program(&mut buf, b"spawn", Some(child), name);
    }
    r
}

/// Interposes `posix_spawn` to name the program it starts (glibc execs inside it).
///
/// # Safety
/// The C function's contract.
#[cfg_attr(not(test), unsafe(no_mangle))]
pub unsafe extern "C" fn posix_spawn(
    pid: *mut pid_t,
    path: *const c_char,
    actions: *const posix_spawn_file_actions_t,
    attr: *const posix_spawnattr_t,
    argv: *const *mut c_char,
    envp: *const *mut c_char,
) -> c_int {
    static REAL: Real = Real::new(c"posix_spawn");
    // SAFETY: the caller's contract.
    unsafe { spawn(&REAL, pid, path, actions, attr, argv, envp) }
}

/// Interposes `posix_spawnp` to name the program it starts.
///
/// # Safety
/// The C function's contract.
#[cfg_attr(not(test), unsafe(no_mangle))]
pub unsafe extern "C" fn posix_spawnp(
    pid: *mut pid_t,
    file: *const c_char,
    actions: *const posix_spawn_file_actions_t,
    attr: *const posix_spawnattr_t,
    argv: *const *mut c_char,
    envp: *const *mut c_char,
) -> c_int {
    static REAL: Real = Real::new(c"posix_spawnp");
    // SAFETY: the caller's contract.
    unsafe { spawn(&REAL, pid, file, actions, attr, argv, envp) }
}

/// Interposes libaio's `io_setup` to note that the process does Linux AIO (`nearmiss.rs`).
///
/// # Safety
/// The C function's contract.
#[cfg_attr(not(test), unsafe(no_mangle))]
pub unsafe extern "C" fn io_setup(maxevents: c_int, ctx: *mut libc::c_void) -> c_int {
    static REAL: Real = Real::new(c"io_setup");
    crate::nearmiss::saw(crate::nearmiss::Unseen::Aio);
    type F = unsafe extern "C" fn(c_int, *mut libc::c_void) -> c_int;
    let Some(addr) = REAL.get() else { return -libc::ENOSYS };
    // SAFETY: `addr` is the next definition of `io_setup` (libaio's), whose C type is `F`.
    let f: F = unsafe { std::mem::transmute::<usize, F>(addr) };
    // SAFETY: the caller's arguments, forwarded unchanged.
    unsafe { f(maxevents, ctx) }
}
