//! Exit records for processes that a catchable signal ends (issue 18): `SIGTERM` from a
//! supervisor, `SIGINT` from a terminal, `SIGPIPE` from a reader that went away, a
//! `SIGSEGV`.
//!
//! Only when a log is written (the summary needs the record) and only for the signals whose
//! disposition is still the default at start-up, the library installs a handler that writes
//! the exit record (reason `signal`, status 128 + the signal, formatted on the stack, one
//! `write(2)`), puts the default back and raises the signal again, so the process ends as it
//! would have, core dump included. The program must not notice:
//!
//! - `sigaction` and `signal` (and `bsd_signal`, `sysv_signal`) are interposed here (they are
//!   not file calls, so not points of the table): asked for the disposition of such a
//!   signal they answer `SIG_DFL`, as without the library; a program that sets its own
//!   handler (or `SIG_IGN`) simply replaces ours, which is then forgotten, and one that sets
//!   `SIG_DFL` (dash does, for every signal, at start-up) keeps ours: to it, they are the same;
//! - a signal the program ignored or handled at start-up (a shell's `trap`, `nohup`) is left
//!   alone; `exec` resets every handler, as the kernel does for any program;
//! - `sigwait`, `sigwaitinfo` and `signalfd` take blocked signals whatever the handler.
//!
//! What stays visible: a raw `rt_sigaction` system call sees our handler, and
//! `/proc/PID/status` lists the signal as caught.

use crate::sys::real::Real;
use crate::sys::{guard, raw};
use crate::{log, state};
use libc::{c_int, sighandler_t};
use std::sync::atomic::{AtomicU64, Ordering};

/// The signals that end a process by default and may be caught: the ones handled here.
const ENDING: [c_int; 18] = [
    libc::SIGHUP,
    libc::SIGINT,
    libc::SIGQUIT,
    libc::SIGILL,
    libc::SIGABRT,
    libc::SIGBUS,
    libc::SIGFPE,
    libc::SIGUSR1,
    libc::SIGSEGV,
    libc::SIGUSR2,
    libc::SIGPIPE,
    libc::SIGALRM,
    libc::SIGTERM,
    libc::SIGSTKFLT,
    libc::SIGXCPU,
    libc::SIGXFSZ,
    libc::SIGSYS,
    libc::SIGPWR,
];

/// The signals whose handler is ours (bit N for signal N).
static OURS: AtomicU64 = AtomicU64::new(0);

static REAL_SIGACTION: Real = Real::new(c"sigaction");
static REAL_SIGNAL: Real = Real::new(c"signal");

type SigactionFn =
    unsafe extern "C" fn(c_int, *const libc::sigaction, *mut libc::sigaction) -> c_int;
type SignalFn = unsafe extern "C" fn(c_int, sighandler_t) -> sighandler_t;

fn bit(sig: c_int) -> u64 {
    if (1..64).contains(&sig) { 1u64 << sig } else { 0 }
}

fn ours(sig: c_int) -> bool {
    OURS.load(Ordering::Acquire) & bit(sig) != 0
}

/// libc's `sigaction`, or `None`.
fn real_sigaction() -> Option<SigactionFn> {
    let addr = REAL_SIGACTION.get()?;
    // SAFETY: `addr` is libc's `sigaction`, whose C type is `SigactionFn`.
    Some(unsafe { std::mem::transmute::<usize, SigactionFn>(addr) })
}

/// At start-up, when a log is written: our handler for each ending signal whose disposition
/// is the default.
pub fn install() {
    let Some(sigaction) = real_sigaction() else { return };
    let mut mask = 0;
    for sig in ENDING {
        // SAFETY: `sigaction` is plain data the kernel fills in.
        let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
        // SAFETY: a null new action only reads the current one into `old`.
        if unsafe { sigaction(sig, std::ptr::null(), &mut old) } != 0
            || old.sa_sigaction != libc::SIG_DFL
        {
            continue;
        }
        // SAFETY: as above; every signal stays deliverable while ours runs but this one.
        let mut act: libc::sigaction = unsafe { std::mem::zeroed() };
        act.sa_sigaction = handler as extern "C" fn(c_int) as sighandler_t;
        act.sa_flags = libc::SA_RESTART | libc::SA_ONSTACK;
        // SAFETY: a valid action for a catchable signal.
        if unsafe { sigaction(sig, &act, std::ptr::null_mut()) } == 0 {
            mask |= bit(sig);
        }
    }
    OURS.store(mask, Ordering::Release);
}

/// The handler: the exit record, then the signal again with its default action.
extern "C" fn handler(sig: c_int) {
    let errno = raw::errno();
    // A record formatted on the stack and written with one system call; no lock.
    let _inside = guard::Inside::enter();
    log::ended(Some(128 + sig), b"signal", state::snapshot());
    OURS.fetch_and(!bit(sig), Ordering::AcqRel);
    if let Some(sigaction) = real_sigaction() {
        // SAFETY: the default action for a signal is a valid action.
        unsafe {
            let mut act: libc::sigaction = std::mem::zeroed();
            act.sa_sigaction = libc::SIG_DFL;
            sigaction(sig, &act, std::ptr::null_mut());
        }
    }
    raw::set_errno(errno);
    // SAFETY: unblocking the signal (blocked while its handler runs) and sending it to this
    // thread again: its default action now ends the process, as it would have at first.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, sig);
        libc::syscall(
            libc::SYS_tgkill,
            raw::pid() as libc::c_long,
            raw::tid(),
            sig as libc::c_long,
        );
        libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
    }
}

/// Interposes `sigaction`: for a signal whose handler is ours, the program is told `SIG_DFL`
/// and its own action replaces ours.
///
/// # Safety
/// The C function's contract.
#[cfg_attr(not(test), unsafe(no_mangle))]
pub unsafe extern "C" fn sigaction(
    sig: c_int,
    act: *const libc::sigaction,
    oldact: *mut libc::sigaction,
) -> c_int {
    let Some(real) = real_sigaction() else {
        raw::set_errno(libc::ENOSYS);
        return -1;
    };
    if !ours(sig) {
        // SAFETY: the caller's arguments, forwarded unchanged.
        return unsafe { real(sig, act, oldact) };
    }
    // SAFETY: the caller's `act` is null or a valid action.
    let to_default = !act.is_null() && unsafe { (*act).sa_sigaction } == libc::SIG_DFL;
    // Setting the default keeps ours (the same to the program); anything else replaces it.
    let act = if to_default { std::ptr::null() } else { act };
    if !act.is_null() {
        OURS.fetch_and(!bit(sig), Ordering::AcqRel);
    }
    // SAFETY: the caller's arguments, forwarded unchanged but for a default action not set.
    let r = unsafe { real(sig, act, oldact) };
    if r == 0 && !oldact.is_null() {
        // SAFETY: the caller's writable `oldact`, just filled in by libc.
        unsafe {
            if (*oldact).sa_sigaction == handler as extern "C" fn(c_int) as sighandler_t {
                *oldact = std::mem::zeroed();
                (*oldact).sa_sigaction = libc::SIG_DFL;
            }
        }
    }
    r
}

/// `signal` and its spellings: the same as [`sigaction`].
///
/// # Safety
/// The C function's contract.
unsafe fn replace(real: &Real, sig: c_int, handler_: sighandler_t) -> sighandler_t {
    let Some(addr) = real.get() else { return libc::SIG_ERR };
    // SAFETY: `addr` is libc's function of this name, whose C type is `SignalFn`.
    let f: SignalFn = unsafe { std::mem::transmute::<usize, SignalFn>(addr) };
    let was_ours = ours(sig);
    if was_ours && handler_ == libc::SIG_DFL {
        // The default is ours already, to the program.
        return libc::SIG_DFL;
    }
    if was_ours {
        OURS.fetch_and(!bit(sig), Ordering::AcqRel);
    }
    // SAFETY: the caller's arguments, forwarded unchanged.
    let old = unsafe { f(sig, handler_) };
    if was_ours && old == handler as extern "C" fn(c_int) as sighandler_t {
        libc::SIG_DFL
    } else {
        old
    }
}

/// Interposes `signal` (see [`sigaction`]).
///
/// # Safety
/// The C function's contract.
#[cfg_attr(not(test), unsafe(no_mangle))]
pub unsafe extern "C" fn signal(sig: c_int, handler_: sighandler_t) -> sighandler_t {
    // SAFETY: the caller's contract.
    unsafe { replace(&REAL_SIGNAL, sig, handler_) }
}

/// Interposes `bsd_signal` (see [`sigaction`]).
///
/// # Safety
/// The C function's contract.
#[cfg_attr(not(test), unsafe(no_mangle))]
pub unsafe extern "C" fn bsd_signal(sig: c_int, handler_: sighandler_t) -> sighandler_t {
    static REAL: Real = Real::new(c"bsd_signal");
    // SAFETY: the caller's contract.
    unsafe { replace(&REAL, sig, handler_) }
}

/// Interposes `sysv_signal` (see [`sigaction`]).
///
/// # Safety
/// The C function's contract.
#[cfg_attr(not(test), unsafe(no_mangle))]
pub unsafe extern "C" fn sysv_signal(sig: c_int, handler_: sighandler_t) -> sighandler_t {
    static REAL: Real = Real::new(c"sysv_signal");
    // SAFETY: the caller's contract.
    unsafe { replace(&REAL, sig, handler_) }
}

/// Interposes `__sysv_signal` (see [`sigaction`]).
///
/// # Safety
/// The C function's contract.
#[cfg_attr(not(test), unsafe(no_mangle))]
pub unsafe extern "C" fn __sysv_signal(sig: c_int, handler_: sighandler_t) -> sighandler_t {
    static REAL: Real = Real::new(c"__sysv_signal");
    // SAFETY: the caller's contract.
    unsafe { replace(&REAL, sig, handler_) }
}
