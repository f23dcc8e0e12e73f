//! `libfailinject.so`, the LD_PRELOAD library of failinject.
//!
//! Loaded into an unmodified, dynamically linked program, it interposes the libc calls that
//! touch files (open, write, fsync, rename, stdio, copy_file_range, …) and applies the rules
//! of [`failinject_engine`] to each of them:
//!
//! ```sh
//! FAILINJECT='sys:write[path=*.db]=2*off->error(ENOSPC)' \
//!     LD_PRELOAD=target/release/libfailinject.so sqlite3 app.db 'insert …'
//! ```
//!
//! Code here runs inside other people's programs: in signal handlers, during `malloc`,
//! before `main`, after `fork`. So on the path of an intercepted call nothing allocates,
//! blocks, panics or reads the environment; real functions are resolved lazily and cached in
//! atomics (`real.rs`); a call made from inside our own code passes straight through
//! (`guard.rs`); the configuration is published once and never freed (`state.rs`); and
//! diagnostics go out through raw system calls (`raw.rs`). The wrappers themselves are
//! generated from the engine's table of libc points (`wrappers.rs`).

// In unit tests the wrappers are not exported (so the test harness is not interposed) and the
// constructor does not run, which leaves much of the crate unused there.
#![cfg_attr(test, allow(dead_code))]

pub mod abi;
mod book;
mod config;
mod ctl;
mod dirs;
mod effect;
mod ends;
mod fds;
mod guard;
mod json;
mod kfile;
mod log;
mod nearmiss;
mod raw;
mod real;
mod ret;
mod scope;
mod site;
mod spin;
mod state;
mod target;
mod track;
mod undo;
pub mod wrappers;

/// Loads the configuration before `main`. Wrappers called earlier (by ld.so or other
/// libraries' constructors) find no published configuration and pass straight through, so
/// nothing depends on the order constructors run in.
#[cfg(not(test))]
#[ctor::ctor(unsafe)]
fn init() {
    let Some(_inside) = guard::Inside::enter() else { return };
    fds::own();
    scope::init();
    config::load();
    // SAFETY: registering a plain function pointer; the child handler resets our tables and
    // reopens a per-pid log with raw system calls.
    unsafe { libc::pthread_atfork(None, None, Some(after_fork_child)) };
    unsafe extern "C" {
        fn on_exit(
            f: extern "C" fn(libc::c_int, *mut libc::c_void),
            arg: *mut libc::c_void,
        ) -> libc::c_int;
    }
    // SAFETY: glibc's on_exit takes a function and an argument it passes back; ours ignores
    // the argument.
    unsafe { on_exit(at_exit, std::ptr::null_mut()) };
}

/// At `exit()`: the log's exit record, and the control socket's file removed.
extern "C" fn at_exit(status: libc::c_int, _arg: *mut libc::c_void) {
    let Some(_inside) = guard::Inside::enter() else { return };
    // One exit record per process, however it ends (`ends.rs`: `_exit` after this handler).
    if ends::claim() {
        log::exit(status, state::snapshot());
    }
    ctl::stop();
}

extern "C" fn after_fork_child() {
    // Our own calls here (reopening the log, serving a new socket) must not meet the
    // program's rules.
    let _inside = guard::Inside::enter();
    state::after_fork_in_child();
}
