//! The exported wrappers, generated from the engine's table of libc points.
//!
//! `failinject_engine::libc_points!(wrappers)` hands every entry of the table to the macro
//! below, which writes one `extern "C"` function per glibc spelling. Each one:
//!
//! 1. resolves the real function once (`real.rs`);
//! 2. tests its point's bit in the published mask and, when no rule applies and the call
//!    creates or releases no descriptor, tail-calls the real function: the fast path;
//! 3. otherwise enters the re-entrancy guard, works out the call's facts (`target.rs`), asks
//!    the snapshot for a decision, carries it out (`effect.rs`) with closures that make the real
//!    call unchanged, shortened or with altered data, and updates the descriptor table
//!    (`book.rs`).
//!
//! Variadic functions are defined with a fixed last argument, which is how the SysV x86-64
//! ABI passes the one variadic argument they read (`open`'s mode, `fcntl`'s argument): in the
//! same register as a fixed argument of that position. True `...` functions (the printf
//! family) are naked jumps to C shims that call the `va_list` forms (`variadic.c`).

#[macro_use]
mod facts;
#[macro_use]
mod data;
#[macro_use]
mod crash_arms;
#[macro_use]
mod book_arms;
pub mod args;
pub mod by_hand;
pub mod signals;

use crate::ctx::Ctx;
use crate::effect::{CallInfo, Scratch, alter, apply};
use crate::fd::target::{fd_kind, resolve};
use crate::fd::{book, table as fds};
use crate::state;
use crate::sys::pool::with_bufs;
use crate::sys::ret::Ret;
use crate::sys::{guard, real::Real};
use args::{
    Opened, alter_iov, c_bytes, c_str, dir_fd, gather, iov_total, stream_fd, stream_fd_quiet,
    truncate_iov,
};
use failinject_engine::{Corruption, PointId, Role, Roles, SysCall};
use libc::{c_char, c_int, iovec};

/// What a wrapper returns when the real function does not exist in this libc.
pub fn missing<R: Ret>(p: PointId) -> R {
    crate::sys::raw::set_errno(libc::ENOSYS);
    R::failure(p.info().fail, libc::ENOSYS)
}

macro_rules! wrappers {
    // The table, in the normalized form `libc_points!` hands over: regroup per point.
    ($(
        $point:ident $docs:tt $classes:tt $target:tt $fail:ident $io:tt $does:tt $errnos:tt
        $explore:tt [$( $attrs:tt [$($name:ident)+] $params:tt -> $ret:ty; )+];
    )*) => {
        $(
            wrappers!(@point $point $target $io $does {
                $( [$($name)+] $params -> $ret; )+
            });
        )*
    };

    (@point $point:ident $target:tt $io:tt $does:tt { $( [$($name:ident)+] $args:tt -> $ret:ty; )+ }) => {
        $( wrappers!(@group $point $target $io $does $args $ret; $($name)+); )+
    };

    (@group $point:ident $target:tt $io:tt $does:tt $args:tt $ret:ty; $($name:ident)+) => {
        $( wrappers!(@fn $point $target $io $does $args $ret; $name); )+
    };

    // The role names of `does:`, for `Roles::named`.
    (@roles [$($role:ident $form:tt)*]) => { &[$(stringify!($role)),*] };

    // True C varargs (`...`, the printf family): stable Rust cannot define them, so the
    // exported symbol is a naked jump to a C shim (`variadic.c`) that makes a va_list and
    // calls the `v…` form, whose wrapper is generated below like any other.
    (@fn $point:ident $target:tt $io:tt $does:tt ($($arg:ident : $ty:ty),* , ...) $ret:ty; $name:ident) => {
        #[doc = concat!("Interposes `", stringify!($name), "` through its C shim.")]
        ///
        /// # Safety
        /// The C function's contract.
        #[cfg(not(test))]
        #[unsafe(naked)]
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $name() {
            unsafe extern "C" {
                #[link_name = concat!("failinject_shim_", stringify!($name))]
                fn shim();
            }
            // A jump, not a call: every argument register, the vector-count in %al and the
            // stack arguments reach the shim exactly as the caller left them.
            core::arch::naked_asm!("jmp {0}", sym shim)
        }
    };
    (@fn $point:ident $target:tt $io:tt $does:tt ($($arg:ident : $ty:ty),*) $ret:ty; $name:ident) => {
        #[doc = concat!("Interposes `", stringify!($name), "` (the point `sys:", stringify!($point), "`).")]
        ///
        /// # Safety
        /// The C function's contract: the caller passes what libc would accept.
        #[cfg_attr(not(test), unsafe(no_mangle))]
        #[allow(clippy::missing_safety_doc)]
        pub unsafe extern "C" fn $name($($arg: $ty),*) -> $ret {
            const P: PointId = PointId::of(stringify!($point));
            /// What the call does, from the table's `does:`.
            const ROLES: Roles = Roles::named(wrappers!(@roles $does));
            /// Whether the call changes what descriptors refer to (`fd/book.rs`).
            const TRACKS: bool = ROLES.meets(Roles::DESCRIPTORS);
            /// Whether the call replaces the program (the log writes its exit record first).
            const EXECS: bool = ROLES.contains(Role::Execs);
            /// Whether `powercut`/`lose` tracking watches this point (`crash.rs`).
            const CRASH: bool = ROLES.meets(Roles::CHANGES);
            static REAL: Real = Real::new(match std::ffi::CStr::from_bytes_with_nul(
                concat!(stringify!($name), "\0").as_bytes(),
            ) {
                Ok(c) => c,
                Err(_) => panic!("symbol names have no NUL"),
            });
            type F = unsafe extern "C" fn($($ty),*) -> $ret;
            // The fast path: resolved already, and nothing to do for this point.
            let addr = REAL.cached();
            if addr > 1
                && !(state::active(P)
                    || (TRACKS && state::tracking())
                    || (EXECS && (crate::log::enabled() || crate::sys::handover::on())))
            {
                // SAFETY: `addr` is the next definition of this very symbol, whose C type is
                // `F` (the table's signature, checked against the libc crate's declarations).
                let real: F = unsafe { std::mem::transmute::<usize, F>(addr) };
                // SAFETY: the caller's arguments, forwarded unchanged under the same contract.
                return unsafe { real($($arg),*) };
            }
            // Still on the fast path for a call on a descriptor that no rule of this point can
            // match (the verdict `slow` files, see `fds::rejected`): a few loads, no call, so
            // no registers to save.
            if addr > 1 && !TRACKS && !EXECS
                && let Some(fd) = facts!(@pure_fd $target)
                && fds::rejected(fd, state::verdict_key(P))
            {
                // SAFETY: as above.
                let real: F = unsafe { std::mem::transmute::<usize, F>(addr) };
                // SAFETY: the caller's arguments, forwarded unchanged.
                return unsafe { real($($arg),*) };
            }
            // SAFETY: the caller's arguments under the C contract.
            return unsafe { slow($($arg),*) };

            /// Everything but the fast path, out of line so the fast path stays a handful of
            /// instructions and a tail call: resolving the real function, the decision, the
            /// bookkeeping.
            #[cold]
            #[inline(never)]
            unsafe extern "C" fn slow($($arg: $ty),*) -> $ret {
            let Some(addr) = REAL.get() else { return missing::<$ret>(P) };
            // SAFETY: as on the fast path.
            let real: F = unsafe { std::mem::transmute::<usize, F>(addr) };
            if !(state::active(P)
                || (TRACKS && state::tracking())
                || (EXECS && (crate::log::enabled() || crate::sys::handover::on())))
            {
                // SAFETY: the caller's arguments, forwarded unchanged under the same contract.
                return unsafe { real($($arg),*) };
            }
            // A static program about to start is handed to `failinject run`'s seccomp
            // supervisor (`sys/handover.rs`): stack and raw system calls only, so a vfork
            // child may do it too.
            // SAFETY: the exec's path argument, which the caller passes as a C string.
            if EXECS && !unsafe { crate::sys::handover::before_exec(facts!(@exec_name $target)) } {
                return <$ret as crate::sys::ret::Ret>::failure(P.info().fail, libc::EPERM);
            }
            // A vfork child about to exec shares its parent's memory: entering the guard or
            // taking a buffer here would never be undone (exec does not return), leaving the
            // parent locked out of the preload. Its exit record is written from the stack and
            // the exec goes ahead untouched.
            if EXECS && fds::in_vfork_child() {
                crate::log::before_exec_from_stack(state::snapshot());
                // SAFETY: the exec's path argument, which the caller passes as a C string.
                unsafe { by_hand::exec_record_from_stack(facts!(@exec_name $target)) };
                // SAFETY: the caller's arguments, forwarded unchanged.
                return unsafe { real($($arg),*) };
            }
            // A descriptor no rule of this point can match (say, a write to a file no `path=`
            // filter names) is remembered per descriptor, and then costs a few loads.
            if !TRACKS {
                #[allow(unused_unsafe)]
                // SAFETY: reading the descriptor of a stream or directory stream argument.
                let quick_fd: Option<c_int> = unsafe { facts!(@quick_fd $target) };
                if let Some(fd) = quick_fd
                    && fds::rejected(fd, state::verdict_key(P))
                {
                    // SAFETY: the caller's arguments, forwarded unchanged.
                    return unsafe { real($($arg),*) };
                }
            }
            // SAFETY: as above.
            return unsafe { full(real, $($arg),*) };

            /// The decision and everything after it, out of line again (and reached by a
            /// tail call) so that the checks above need no stack frame.
            #[inline(never)]
            unsafe extern "C" fn full(real: F, $($arg: $ty),*) -> $ret {
            // The verdict key is read before the snapshot: a key is published after its
            // snapshot, so a verdict can never be filed under a newer snapshot's key.
            let saved_errno = crate::sys::raw::errno();
            let key = state::verdict_key(P);
            let snap = state::snapshot();
            let quick_fd: Option<c_int> = if TRACKS {
                None
            } else {
                #[allow(unused_unsafe)]
                // SAFETY: reading the descriptor of a stream or directory stream argument.
                unsafe { facts!(@quick_fd $target) }
            };
            let verdict = quick_fd.and_then(|fd| fds::version(fd).map(|v| (fd, key, v)));
            let Some(_inside) = guard::Inside::enter() else {
                // SAFETY: as above; called from inside our own code, so passed through.
                return unsafe { real($($arg),*) };
            };
            let done = with_bufs(|bufs| {
                #[allow(unused_unsafe)]
                // SAFETY: the wrapper's arguments obey the C contract, so pointers to paths,
                // streams, buffers and iovecs may be read (and buffers written) as libc would.
                unsafe {
                    let call: SysCall<'_> = facts!(@target P bufs $target);
                    let call = SysCall { size: facts!(@size $io), ..call };
                    let info = CallInfo { point: P, stream: facts!(@stream $target), size: call.size, fd: call.fd };
                    // Finding the facts may have set errno (a kind probe on a non-terminal);
                    // a call that then succeeds must leave the caller's errno as it was.
                    crate::sys::raw::set_errno(saved_errno);
                    let mut ctx = Ctx::default();
                    let decision = match snap {
                        // Data arguments libc would refuse go to libc untouched.
                        Some(s) if state::active(P) && facts!(@valid $io call) => {
                            // The calling thread's own rules first (`local.rs`).
                            let d = crate::local::decide(&call, &mut ctx)
                                .or_else(|| s.decide_sys(&call, &mut ctx));
                            // The run's shared counts, before the decision takes
                            // effect (`run.rs`).
                            crate::run::mirror(s);
                            // Why a rule never fired (`nearmiss.rs`): a call no rule decided
                            // may be a near miss; once every libc rule fired, the points
                            // watched for near misses leave the slow path.
                            if let Some(generation) = crate::nearmiss::after_decision(
                                s,
                                &call,
                                d.is_some(),
                                facts!(@shared_write $does),
                            ) && state::unwatch(generation)
                            {
                                crate::nearmiss::disarm();
                            }
                            // Under write tracking a tracked point must see every call, so no
                            // descriptor is ever skipped for it.
                            if d.is_none()
                                && !(CRASH && crate::crash::on())
                                && !crate::local::covers(P)
                                && let Some((fd, key, version)) = verdict
                                && s.rejects_target(&call)
                            {
                                fds::remember_rejected(fd, key, version);
                            }
                            d
                        }
                        _ => None,
                    };
                    // The program is about to be replaced: its exit record goes first, unless a
                    // rule stops the exec from happening.
                    if EXECS
                        && crate::log::enabled()
                        && decision.as_ref().is_none_or(|d| crate::log::proceeds(&d.effect))
                    {
                        crate::log::before_exec(snap, &mut bufs.t);
                        crate::log::program(&mut bufs.t, b"exec", None, call.path);
                    }
                    // Write tracking (`crash.rs`): the bytes a call is about to overwrite are
                    // saved before it; a sync or a creation is noted after it. A `powercut` or
                    // `lose` decision does its own tracking instead.
                    let crash = CRASH
                        && crate::crash::on()
                        && decision.as_ref().is_none_or(|d| !crate::crash::ends(&d.effect));
                    #[allow(unused_mut)]
                    let mut pre = if crash {
                        crash!(@pre $does $target call)
                    } else {
                        crate::crash::Pre::none()
                    };
                    let result: $ret = match &decision {
                        None => real($($arg),*),
                        Some(d) => {
                            // A fault that may end the process is logged before it happens.
                            let early = crate::log::enabled() && !crate::log::returns(&d.effect);
                            if early {
                                crate::log::inject(
                                    &crate::log::Injected { point: P, function: stringify!($name), call: &call, decision: d, result: None, frames: ctx.frames() },
                                    &mut bufs.t,
                                );
                            }
                            let r = apply(
                                &info,
                                d,
                                || real($($arg),*),
                                |n: u64| data!(@shorter $io n info; real($($arg),*)),
                                |mode: Corruption, bits: u64| data!(@corrupt $io mode bits; real($($arg),*)),
                                |r: $ret| data!(@moved $io r),
                            );
                            if crate::log::enabled() && !early {
                                let errno = crate::sys::raw::errno();
                                crate::log::inject(
                                    &crate::log::Injected { point: P, function: stringify!($name), call: &call, decision: d, result: Some(Ret::as_i64(r)), frames: ctx.frames() },
                                    &mut bufs.t,
                                );
                                crate::sys::raw::set_errno(errno);
                            }
                            r
                        }
                    };
                    if crash {
                        crash!(@post $does result pre call $target);
                    }
                    drop(pre);
                    // A `powercut(keep=ID)` decided for this call, once its change is tracked.
                    crate::crash::cut_pending();
                    book!(@book $does result call);
                    result
                }
            });
            match done {
                Some(r) => r,
                // SAFETY: as above; this thread's buffers were busy (a nested signal handler).
                None => unsafe { real($($arg),*) },
            }
            }
            }
        }
    };
}

/// The wrappers themselves. The table names C types bare (`c_int`, `FILE`, `stat64`), so they
/// are expanded where all of `libc` is in scope; each wrapper's own name shadows libc's.
mod generated {
    #[allow(unused_imports)]
    use super::*;
    #[allow(unused_imports)]
    use libc::*;

    failinject_engine::libc_points!(wrappers);
}
