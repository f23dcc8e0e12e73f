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
//! atomics (`sys/real.rs`); a call made from inside our own code passes straight through
//! (`sys/guard.rs`); the configuration is published once and never freed (`state.rs`); and
//! diagnostics go out through raw system calls (`sys/raw.rs`). The wrappers themselves are
//! generated from the engine's table of libc points (`wrappers/`). `docs/ARCHITECTURE.md`
//! draws the wings and what may import what.

// In unit tests the wrappers are not exported (so the test harness is not interposed) and the
// constructor does not run, which leaves much of the crate unused there.
#![cfg_attr(test, allow(dead_code))]

// The wings; a module imports only from modules below it in docs/ARCHITECTURE.md's table.
pub mod abi; // failinject_v1_*: in-code points and configuration from the program
mod bare; // a bare LD_PRELOAD tree as one run: founding it, its keeper
mod changes; // the record of changes for explore's crash search (FAILINJECT_CHANGES)
mod config; // the configuration at start-up
mod crash; // powercut/lose: the preload's side of the crash model
mod ctl; // the control socket
mod ctx; // what a decision may ask of the calling thread
mod effect; // carrying out a decision
mod fd; // what each descriptor refers to
mod local; // thread-scoped libc rules (`failinject::local::cfg("sys:…")`)
mod log; // the injection log
mod nearmiss; // why a rule never fired: the near misses of the rules not fired yet
mod run; // a run is one machine: membership, exact counts, one disk
mod scope; // fail scopes and reached points
mod state; // the published snapshot
mod sys; // the edge: system calls, libc, raw memory
mod title; // the process title, for proc= filters
pub mod wrappers; // the generated interposers, and the few hand-written ones

/// Loads the configuration before `main`. Wrappers called earlier (by ld.so or other
/// libraries' constructors) find no published configuration and pass straight through, so
/// nothing depends on the order constructors run in.
#[cfg(not(test))]
#[ctor::ctor(unsafe)]
fn init() {
    let Some(_inside) = sys::guard::Inside::enter() else { return };
    fd::table::own();
    scope::init();
    config::load();
    // The exit record of a process a catchable signal ends (`wrappers/signals.rs`), when a
    // log is written.
    if log::enabled() {
        wrappers::signals::install();
    }
    // SAFETY: registering plain function pointers; the parent handler bumps a counter, the
    // child handler resets our tables and reopens a per-pid log with raw system calls.
    unsafe { libc::pthread_atfork(None, Some(after_fork_parent), Some(after_fork_child)) };
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
    let Some(_inside) = sys::guard::Inside::enter() else { return };
    // The stores through shared mappings never synced, for explore's record of changes.
    crash::record_unsynced_mappings();
    // One exit record per process, however it ends (`_exit` may follow this handler).
    if log::claim_exit_record() {
        log::exit(status, state::snapshot());
    }
    ctl::stop();
}

/// In the parent after a `fork`: the shared mappings made so far are shared with the child,
/// whose stores to them no write-protect bit of ours sees (`sys/write_watch.rs`). One atomic
/// add: other threads may hold any lock.
extern "C" fn after_fork_parent() {
    sys::write_watch::after_fork_in_parent();
}

/// In a forked child, every part that keeps per-process state repairs it: only the forking
/// thread survives a `fork`, so whatever another thread of the parent held (a lock, a pool
/// entry, a half-written slot) is freed, and counters, log and control socket become the
/// child's own. Runs in the child of a possibly threaded parent, so nothing here takes a
/// lock that another thread may have held.
extern "C" fn after_fork_child() {
    // Our own calls here (reopening the log, serving a new socket) must not meet the
    // program's rules.
    let _inside = sys::guard::Inside::enter();
    crash::after_fork_in_child();
    changes::after_fork_in_child();
    run::after_fork_in_child();
    fd::table::after_fork_in_child();
    sys::pool::after_fork_in_child();
    log::after_fork_in_child();
    scope::after_fork_in_child();
    title::after_fork_in_child();
    ctl::after_fork_in_child();
    state::after_fork_in_child();
}
