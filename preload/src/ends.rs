//! Exact counts for processes that do not end through `exit()` (issue 18), and for rules that
//! are removed before the process ends.
//!
//! The log's `exit` record carries each rule's match count. `exit()` writes it from an
//! `on_exit` handler (`lib.rs`), but a process that ends with `_exit` (dash does, and every
//! `fork` child that does not exec should), `_Exit` or `abort` never runs those handlers. So
//! the three are interposed here: each writes the record (reason `_exit`, `_Exit` or
//! `abort`), then ends the process as libc would. A process writes one exit record however it
//! ends ([`claim`]): a program whose `atexit` handler calls `_exit` is not counted twice.
//!
//! No signal handler is installed: a process killed by a signal (caught or not) leaves no
//! record, and the summary shows its count as a lower bound, naming it. Installing handlers
//! in someone else's program would change what its own handlers see (`SA_SIGINFO` chains,
//! `SIG_DFL` checks, the order of installation); the run-wide supervisor is where an exact
//! count after a signal belongs.
//!
//! A rule removed or replaced over the control socket (or by `failinject_v1_cfg`) drops out
//! of the snapshot the exit record reads, and with it its counts. [`retired`] writes a
//! `retired` record for each such rule when it goes: its key, its rule text (so the summary
//! can show its actions) and its counts in this process.
//!
//! `_exit` may be called in a signal handler, in a `vfork` child, or in a `fork` child of a
//! threaded program: the record is formatted on the stack, written with one `write(2)`, and
//! nothing is allocated or locked. A `vfork` child writes nothing (it shares its parent's
//! memory, so claiming the record would claim the parent's).

use crate::{fds, guard, log, raw, state};
use failinject_engine::Snapshot;
use libc::{c_int, c_long};
use std::sync::atomic::{AtomicU32, Ordering};

/// The pid of the process that wrote its exit record (0: none yet). A forked child has
/// another pid, so it may write its own; an exec starts the library afresh.
static WRITTEN: AtomicU32 = AtomicU32::new(0);

/// Claims this process's exit record: true the first time in a process, false after.
pub fn claim() -> bool {
    let me = raw::pid();
    WRITTEN.swap(me, Ordering::AcqRel) != me
}

/// Writes the exit record of a process that ends without `exit()`, unless it was written.
#[inline(never)]
fn record(status: Option<c_int>, reason: &[u8]) {
    if !log::enabled() || fds::in_vfork_child() {
        return;
    }
    // Called from inside our own code (a `panic` task aborting): that path logged already.
    let Some(_inside) = guard::Inside::enter() else { return };
    if !claim() {
        return;
    }
    let mut buf = [0u8; 4096];
    log::exit_record(&mut buf, status, reason, state::snapshot());
}

/// Ends the process as glibc's `_exit` does: `exit_group`, then `exit` should that return.
fn exit_group(status: c_int) -> ! {
    // SAFETY: exit_group takes a status and does not return; nothing is passed by pointer.
    unsafe { libc::syscall(libc::SYS_exit_group, status as c_long) };
    loop {
        // SAFETY: as above, for the calling thread only.
        unsafe { libc::syscall(libc::SYS_exit, status as c_long) };
    }
}

/// Interposes `_exit`: the exit record, then the process ends.
///
/// # Safety
/// None: any status is accepted, as by libc's.
#[cfg_attr(not(test), unsafe(no_mangle))]
pub unsafe extern "C" fn _exit(status: c_int) -> ! {
    record(Some(status), b"_exit");
    exit_group(status)
}

/// Interposes `_Exit` (glibc's alias of `_exit`).
///
/// # Safety
/// None: any status is accepted, as by libc's.
#[cfg_attr(not(test), unsafe(no_mangle))]
#[allow(non_snake_case)] // the C name
pub unsafe extern "C" fn _Exit(status: c_int) -> ! {
    record(Some(status), b"_Exit");
    exit_group(status)
}

/// Interposes `abort`: the exit record, then libc's `abort` (SIGABRT, the program's handler
/// if it has one, and a core dump as configured).
///
/// # Safety
/// None: `abort` takes no arguments.
#[cfg_attr(not(test), unsafe(no_mangle))]
pub unsafe extern "C" fn abort() -> ! {
    record(None, b"abort");
    static REAL: crate::real::Real = crate::real::Real::new(c"abort");
    if let Some(addr) = REAL.get() {
        type F = unsafe extern "C" fn() -> !;
        // SAFETY: `addr` is the next definition of `abort`, whose C type is `F`.
        let real: F = unsafe { std::mem::transmute::<usize, F>(addr) };
        // SAFETY: abort takes no arguments.
        unsafe { real() }
    }
    // No later `abort` (cannot happen with glibc): end as an uncaught SIGABRT would.
    // SAFETY: raising a signal in the calling thread; then the default action ends us.
    unsafe {
        libc::signal(libc::SIGABRT, libc::SIG_DFL);
        libc::raise(libc::SIGABRT);
    }
    exit_group(128 + libc::SIGABRT)
}

/// After a change of the rules: a `retired` record for each rule of `before` (the snapshot
/// published before the change) that the change removed or replaced, with its counts.
/// Runs where the registry is changed (control socket thread, `failinject_v1_cfg`), outside
/// any intercepted call, where allocating is fine.
pub fn retired(before: Option<&Snapshot>) {
    let Some(before) = before else { return };
    if !log::enabled() {
        return;
    }
    for (key, rule, st) in before.rule_entries() {
        if !st.is_retired() {
            continue;
        }
        let text = rule.to_string();
        let mut buf = vec![0u8; 2 * (key.len() + text.len()) + 256];
        let mut line = crate::json::Line::new(&mut buf);
        line.str("type", b"retired")
            .num("pid", i64::from(raw::pid()))
            .str("key", key.as_bytes())
            .str("rule", text.as_bytes())
            .num("matches", st.matches() as i64)
            .num("injections", st.injections() as i64);
        raw::write_all(log::descriptor(), line.finish());
    }
}
