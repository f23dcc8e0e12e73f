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

use crate::effect::{CallInfo, Scratch, alter, apply};
use crate::ret::Ret;
use crate::target::{c_bytes, dir_fd, fd_kind, resolve, stream_fd, with_bufs};
use crate::{book, fds, guard, real::Real, state};
use failinject_engine::{Context, Corruption, PointId, SysCall};
use libc::{c_char, c_int, iovec};

/// What a decision may ask of the calling thread: its call site (found only when a rule or
/// the log needs it), its scopes and the in-code points reached (`scope.rs`).
#[derive(Default)]
pub struct Ctx {
    frames: Option<crate::site::Frames>,
}

impl Ctx {
    /// The caller's frames, captured on first use.
    pub fn frames(&mut self) -> &crate::site::Frames {
        self.frames.get_or_insert_with(crate::site::capture)
    }
}

impl Context for Ctx {
    fn site(&mut self) -> u64 {
        self.frames().id()
    }
    fn within(&self, name_hash: u64) -> bool {
        crate::scope::within(name_hash)
    }
    fn reached(&self, name_hash: u64) -> bool {
        crate::scope::reached(name_hash)
    }
}

/// What a wrapper returns when the real function does not exist in this libc.
pub fn missing<R: Ret>(p: PointId) -> R {
    crate::raw::set_errno(libc::ENOSYS);
    R::failure(p.info().fail, libc::ENOSYS)
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
    if !crate::raw::readable(iov.cast(), cnt as usize * std::mem::size_of::<iovec>()) {
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

macro_rules! wrappers {
    // The table, as `libc_points!` hands it over: regroup per point.
    ($(
        $(#[doc = $doc:literal])*
        $point:ident {
            classes: [$($class:ident),* $(,)?],
            target: $target:ident ( $($targ:ident),* ),
            fail: $fail:ident,
            io: $io:ident ( $($ioarg:ident),* ),
            errnos: [$($errno:ident),* $(,)?],
            explore: [$($xerrno:ident),* $(,)?],
            fns: {
                $(
                    $(#[$attr:ident])*
                    fn $fname:ident $(| $falias:ident)* ( $($args:tt)* ) -> $ret:ty;
                )+
            }
        }
    )*) => {
        $(
            wrappers!(@point $point [$target ($($targ),*)] [$io ($($ioarg),*)] {
                $( [$fname $($falias)*] ($($args)*) -> $ret; )+
            });
        )*
    };

    (@point $point:ident $target:tt $io:tt { $( [$($name:ident)+] $args:tt -> $ret:ty; )+ }) => {
        $( wrappers!(@group $point $target $io $args $ret; $($name)+); )+
    };

    (@group $point:ident $target:tt $io:tt $args:tt $ret:ty; $($name:ident)+) => {
        $( wrappers!(@fn $point $target $io $args $ret; $name); )+
    };

    // True C varargs (`...`, the printf family): stable Rust cannot define them, so the
    // exported symbol is a naked jump to a C shim (`variadic.c`) that makes a va_list and
    // calls the `v…` form, whose wrapper is generated below like any other.
    (@fn $point:ident $target:tt $io:tt ($($arg:ident : $ty:ty),* , ...) $ret:ty; $name:ident) => {
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
    (@fn $point:ident $target:tt $io:tt ($($arg:ident : $ty:ty),*) $ret:ty; $name:ident) => {
        #[doc = concat!("Interposes `", stringify!($name), "` (the point `sys:", stringify!($point), "`).")]
        ///
        /// # Safety
        /// The C function's contract: the caller passes what libc would accept.
        #[cfg_attr(not(test), unsafe(no_mangle))]
        #[allow(clippy::missing_safety_doc)]
        pub unsafe extern "C" fn $name($($arg: $ty),*) -> $ret {
            const P: PointId = PointId::of(stringify!($point));
            const TRACKS: bool = book::tracks(stringify!($point));
            const EXECS: bool = book::execs(stringify!($point));
            /// Whether `powercut`/`lose` tracking watches this point (`track.rs`).
            const CRASH: bool = crate::track::tracked(stringify!($point));
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
                    || (EXECS && crate::log::enabled()))
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
                && let Some(fd) = wrappers!(@pure_fd $target)
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
                || (EXECS && crate::log::enabled()))
            {
                // SAFETY: the caller's arguments, forwarded unchanged under the same contract.
                return unsafe { real($($arg),*) };
            }
            // A vfork child about to exec shares its parent's memory: entering the guard or
            // taking a buffer here would never be undone (exec does not return), leaving the
            // parent locked out of the preload. Its exit record is written from the stack and
            // the exec goes ahead untouched.
            if EXECS && fds::in_vfork_child() {
                crate::log::before_exec_from_stack(state::snapshot());
                crate::nearmiss::exec_from_stack(wrappers!(@exec_name $target));
                // SAFETY: the caller's arguments, forwarded unchanged.
                return unsafe { real($($arg),*) };
            }
            // A descriptor no rule of this point can match (say, a write to a file no `path=`
            // filter names) is remembered per descriptor, and then costs a few loads.
            if !TRACKS {
                #[allow(unused_unsafe)]
                // SAFETY: reading the descriptor of a stream or directory stream argument.
                let quick_fd: Option<c_int> = unsafe { wrappers!(@quick_fd $target) };
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
            let saved_errno = crate::raw::errno();
            let key = state::verdict_key(P);
            let snap = state::snapshot();
            let quick_fd: Option<c_int> = if TRACKS {
                None
            } else {
                #[allow(unused_unsafe)]
                // SAFETY: reading the descriptor of a stream or directory stream argument.
                unsafe { wrappers!(@quick_fd $target) }
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
                    let call: SysCall<'_> = wrappers!(@target P bufs $target);
                    let call = SysCall { size: wrappers!(@size $io), ..call };
                    let info = CallInfo { point: P, stream: wrappers!(@stream $target), size: call.size, fd: call.fd };
                    // Finding the facts may have set errno (a kind probe on a non-terminal);
                    // a call that then succeeds must leave the caller's errno as it was.
                    crate::raw::set_errno(saved_errno);
                    let mut ctx = Ctx::default();
                    let decision = match snap {
                        // Data arguments libc would refuse go to libc untouched.
                        Some(s) if state::active(P) && wrappers!(@valid $io call) => {
                            let d = s.decide_sys(&call, &mut ctx);
                            crate::nearmiss::after_decision(
                                s,
                                &call,
                                d.is_some(),
                                wrappers!(@shared_write $point ($($arg),*)),
                            );
                            // Under write tracking a tracked point must see every call, so no
                            // descriptor is ever skipped for it.
                            if d.is_none()
                                && !(CRASH && crate::track::on())
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
                        crate::nearmiss::before_exec(&call, &mut bufs.t);
                    }
                    // Write tracking (`track.rs`): the bytes a call is about to overwrite are
                    // saved before it; a sync or a creation is noted after it. A `powercut` or
                    // `lose` decision does its own tracking instead.
                    let crash = CRASH
                        && crate::track::on()
                        && decision.as_ref().is_none_or(|d| !crate::track::ends(&d.effect));
                    #[allow(unused_mut)]
                    let mut pre = if crash {
                        wrappers!(@pre $point $target ($($arg),*))
                    } else {
                        crate::track::Pre::none()
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
                                |n: u64| wrappers!(@shorter $io n info; real($($arg),*)),
                                |mode: Corruption, bits: u64| wrappers!(@corrupt $io mode bits; real($($arg),*)),
                                |r: $ret| wrappers!(@moved $io r),
                            );
                            if crate::log::enabled() && !early {
                                let errno = crate::raw::errno();
                                crate::log::inject(
                                    &crate::log::Injected { point: P, function: stringify!($name), call: &call, decision: d, result: Some(Ret::as_i64(r)), frames: ctx.frames() },
                                    &mut bufs.t,
                                );
                                crate::raw::set_errno(errno);
                            }
                            r
                        }
                    };
                    if crash {
                        wrappers!(@post $point result pre call ($($arg),*));
                    }
                    drop(pre);
                    wrappers!(@book $point result call ($($arg),*));
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

    // ---- an mmap whose writes reach the file past every wrapper (`nearmiss.rs`) ---------
    (@shared_write mmap ($addr:ident, $len:ident, $prot:ident, $flags:ident, $fd:ident, $off:ident)) => {
        $prot & libc::PROT_WRITE != 0 && $flags & libc::MAP_SHARED != 0
    };
    (@shared_write $other:ident ($($a:ident),*)) => { false };

    // ---- the program an exec names, as given (`nearmiss.rs`) ------------------------------
    (@exec_name [path ($path:ident)]) => { $path as *const c_char };
    (@exec_name [at ($dirfd:ident, $path:ident)]) => { $path as *const c_char };
    (@exec_name $other:tt) => { std::ptr::null::<c_char>() };

    // ---- the facts of the call, by target kind -------------------------------------------
    (@target $p:ident $b:ident [none ()]) => {{ let _ = &$b; SysCall::new($p) }};
    (@target $p:ident $b:ident [stdout ()]) => {{
        let n = fds::path(1, &mut $b.a);
        SysCall { fd: Some(1), kind: fd_kind(1), path: n.map(|n| &$b.a[..n]), ..SysCall::new($p) }
    }};
    (@target $p:ident $b:ident [path ($path:ident)]) => {{
        let n = c_bytes($path as *const c_char)
            .and_then(|s| resolve(libc::AT_FDCWD, s, &mut $b.a, &mut $b.t));
        SysCall { path: n.map(|n| &$b.a[..n]), ..SysCall::new($p) }
    }};
    (@target $p:ident $b:ident [at ($dirfd:ident, $path:ident)]) => {{
        let n = c_bytes($path as *const c_char)
            .and_then(|s| resolve($dirfd as c_int, s, &mut $b.a, &mut $b.t));
        SysCall { path: n.map(|n| &$b.a[..n]), ..SysCall::new($p) }
    }};
    (@target $p:ident $b:ident [fd ($fd:ident)]) => {{
        let fd = $fd as c_int;
        wrappers!(@on_fd $p $b fd)
    }};
    (@target $p:ident $b:ident [stream ($s:ident)]) => {{
        let fd = stream_fd($s as *mut libc::FILE);
        wrappers!(@on_fd $p $b fd)
    }};
    (@target $p:ident $b:ident [dir ($d:ident)]) => {{
        let fd = dir_fd($d as *mut libc::DIR);
        wrappers!(@on_fd $p $b fd)
    }};
    (@target $p:ident $b:ident [paths ($from:ident, $to:ident)]) => {{
        let n2 = c_bytes($from as *const c_char)
            .and_then(|s| resolve(libc::AT_FDCWD, s, &mut $b.b, &mut $b.t));
        let n = c_bytes($to as *const c_char)
            .and_then(|s| resolve(libc::AT_FDCWD, s, &mut $b.a, &mut $b.t));
        SysCall { path: n.map(|n| &$b.a[..n]), path2: n2.map(|n| &$b.b[..n]), ..SysCall::new($p) }
    }};
    (@target $p:ident $b:ident [at2 ($fromdir:ident, $from:ident, $todir:ident, $to:ident)]) => {{
        let n2 = c_bytes($from as *const c_char)
            .and_then(|s| resolve($fromdir as c_int, s, &mut $b.b, &mut $b.t));
        let n = c_bytes($to as *const c_char)
            .and_then(|s| resolve($todir as c_int, s, &mut $b.a, &mut $b.t));
        SysCall { path: n.map(|n| &$b.a[..n]), path2: n2.map(|n| &$b.b[..n]), ..SysCall::new($p) }
    }};
    (@target $p:ident $b:ident [symlinkat ($link:ident, $dirfd:ident, $path:ident)]) => {{
        let n2 = c_bytes($link as *const c_char)
            .and_then(|s| resolve(libc::AT_FDCWD, s, &mut $b.b, &mut $b.t));
        let n = c_bytes($path as *const c_char)
            .and_then(|s| resolve($dirfd as c_int, s, &mut $b.a, &mut $b.t));
        SysCall { path: n.map(|n| &$b.a[..n]), path2: n2.map(|n| &$b.b[..n]), ..SysCall::new($p) }
    }};
    (@target $p:ident $b:ident [copy ($src:ident, $dst:ident)]) => {{
        let (src, dst) = ($src as c_int, $dst as c_int);
        let n = fds::path(dst, &mut $b.a);
        let n2 = fds::path(src, &mut $b.b);
        SysCall {
            fd: Some(dst),
            kind: fd_kind(dst),
            path: n.map(|n| &$b.a[..n]),
            path2: n2.map(|n| &$b.b[..n]),
            ..SysCall::new($p)
        }
    }};
    (@on_fd $p:ident $b:ident $fd:ident) => {{
        if $fd < 0 {
            SysCall::new($p)
        } else {
            let n = fds::path($fd, &mut $b.a);
            SysCall { fd: Some($fd), kind: fd_kind($fd), path: n.map(|n| &$b.a[..n]), ..SysCall::new($p) }
        }
    }};

    (@pure_fd [fd ($fd:ident)]) => { Some($fd as c_int) };
    (@pure_fd $other:tt) => { None::<c_int> };

    (@quick_fd [fd ($fd:ident)]) => { Some($fd as c_int).filter(|fd| *fd >= 0) };
    (@quick_fd [stream ($s:ident)]) => {{
        // `fileno` on a stream without a descriptor (`open_memstream`) sets errno: keep the
        // caller's.
        let e = crate::raw::errno();
        let fd = stream_fd($s as *mut libc::FILE);
        crate::raw::set_errno(e);
        Some(fd).filter(|fd| *fd >= 0)
    }};
    (@quick_fd [dir ($d:ident)]) => { Some(dir_fd($d as *mut libc::DIR)).filter(|fd| *fd >= 0) };
    (@quick_fd $other:tt) => { None };

    (@stream [stream ($s:ident)]) => { $s as *mut libc::FILE };
    (@stream $other:tt) => { std::ptr::null_mut() };

    // ---- whether libc would accept the call's data arguments -----------------------------
    // An iovec array libc would refuse has no size (`iov_total`, already computed for the
    // call's facts): such a call is not decided.
    (@valid [writev ($iov:ident, $cnt:ident)] $call:ident) => { $call.size.is_some() };
    (@valid [readv ($iov:ident, $cnt:ident)] $call:ident) => { $call.size.is_some() };
    (@valid $io:tt $call:ident) => { true };

    // ---- the byte count, by kind of data moved -------------------------------------------
    (@size [none ()]) => { None };
    (@size [write ($buf:ident, $count:ident)]) => { Some($count as u64) };
    (@size [read ($buf:ident, $count:ident)]) => { Some($count as u64) };
    (@size [writev ($iov:ident, $cnt:ident)]) => { iov_total($iov as *const iovec, $cnt as c_int) };
    (@size [readv ($iov:ident, $cnt:ident)]) => { iov_total($iov as *const iovec, $cnt as c_int) };
    (@size [fwrite ($ptr:ident, $size:ident, $n:ident)]) => { Some(($size as u64).saturating_mul($n as u64)) };
    (@size [fread ($ptr:ident, $size:ident, $n:ident)]) => { Some(($size as u64).saturating_mul($n as u64)) };
    (@size [copy ($len:ident)]) => { Some($len as u64) };

    // ---- the real call with at most `n` bytes --------------------------------------------
    (@shorter [none ()] $n:ident $info:ident; $call:expr) => {{
        let _ = (&$info, $n);
        let r = $call;
        (r, 0)
    }};
    (@shorter [write ($buf:ident, $count:ident)] $n:ident $info:ident; $call:expr) => {{
        let _ = &$info;
        let $count = ($n.min($count as u64)) as _;
        let r = $call;
        (r, Ret::as_i64(r).max(0) as u64)
    }};
    (@shorter [read ($buf:ident, $count:ident)] $n:ident $info:ident; $call:expr) => {{
        let _ = &$info;
        let $count = ($n.min($count as u64)) as _;
        let r = $call;
        (r, Ret::as_i64(r).max(0) as u64)
    }};
    (@shorter [copy ($len:ident)] $n:ident $info:ident; $call:expr) => {{
        let _ = &$info;
        let $len = ($n.min($len as u64)) as _;
        let r = $call;
        (r, Ret::as_i64(r).max(0) as u64)
    }};
    // stdio moves bytes, not items: the part that fits is written byte by byte (a partial
    // item included, as glibc's own buffer would), the count of whole items is returned, and
    // since stdio only comes up short on an error, the stream's error flag and errno are set.
    (@shorter [fwrite ($ptr:ident, $size:ident, $nmemb:ident)] $n:ident $info:ident; $call:expr) => {
        wrappers!(@stdio_short $size $nmemb $n $info libc::ENOSPC; $call)
    };
    (@shorter [fread ($ptr:ident, $size:ident, $nmemb:ident)] $n:ident $info:ident; $call:expr) => {
        wrappers!(@stdio_short $size $nmemb $n $info libc::EIO; $call)
    };
    (@stdio_short $size:ident $nmemb:ident $n:ident $info:ident $errno:expr; $call:expr) => {{
        let (item, items) = (($size as u64).max(1), $nmemb as u64);
        let want = $n.min(item.saturating_mul(items));
        let $size = 1 as _;
        let $nmemb = want as _;
        let bytes = Ret::as_i64($call).max(0) as u64;
        if bytes / item < items {
            crate::effect::set_stream_error($info.stream);
            crate::raw::set_errno($errno);
        }
        (Ret::from_i64((bytes / item) as i64), bytes)
    }};
    (@shorter [writev ($iov:ident, $cnt:ident)] $n:ident $info:ident; $call:expr) => {{
        let _ = &$info;
        let mut local = [iovec { iov_base: std::ptr::null_mut(), iov_len: 0 }; 64];
        let k = truncate_iov($iov as *const iovec, $cnt as c_int, $n, &mut local);
        let $iov = local.as_ptr() as _;
        let $cnt = k as _;
        let r = $call;
        (r, Ret::as_i64(r).max(0) as u64)
    }};
    (@shorter [readv ($iov:ident, $cnt:ident)] $n:ident $info:ident; $call:expr) => {{
        let _ = &$info;
        let mut local = [iovec { iov_base: std::ptr::null_mut(), iov_len: 0 }; 64];
        let k = truncate_iov($iov as *const iovec, $cnt as c_int, $n, &mut local);
        let $iov = local.as_ptr() as _;
        let $cnt = k as _;
        let r = $call;
        (r, Ret::as_i64(r).max(0) as u64)
    }};

    // ---- the real call with its data altered ---------------------------------------------
    (@corrupt [none ()] $m:ident $bits:ident; $call:expr) => {{ let _ = ($m, $bits); $call }};
    (@corrupt [copy ($len:ident)] $m:ident $bits:ident; $call:expr) => {{ let _ = ($m, $bits); $call }};
    (@corrupt [write ($buf:ident, $count:ident)] $m:ident $bits:ident; $call:expr) => {{
        match Scratch::copy($buf as *const u8, ($count as usize).min(isize::MAX as usize)) {
            Some(mut s) => {
                alter(s.bytes(), $m, $bits);
                let $buf = s.ptr() as _;
                $call
            }
            None => $call,
        }
    }};
    (@corrupt [fwrite ($ptr:ident, $size:ident, $nmemb:ident)] $m:ident $bits:ident; $call:expr) => {{
        match Scratch::copy($ptr as *const u8, ($size as usize).saturating_mul($nmemb as usize).min(isize::MAX as usize)) {
            Some(mut s) => {
                alter(s.bytes(), $m, $bits);
                let $ptr = s.ptr() as _;
                $call
            }
            None => $call,
        }
    }};
    (@corrupt [writev ($iov:ident, $cnt:ident)] $m:ident $bits:ident; $call:expr) => {{
        match gather($iov as *const iovec, $cnt as c_int) {
            Some(mut s) => {
                alter(s.bytes(), $m, $bits);
                let one = iovec { iov_base: s.ptr() as *mut libc::c_void, iov_len: s.bytes().len() };
                let $iov = &one as *const iovec as _;
                let $cnt = 1 as _;
                $call
            }
            None => $call,
        }
    }};
    (@corrupt [read ($buf:ident, $count:ident)] $m:ident $bits:ident; $call:expr) => {{
        let r = $call;
        let got = Ret::as_i64(r);
        if got > 0 {
            alter(std::slice::from_raw_parts_mut($buf as *mut u8, got as usize), $m, $bits);
        }
        r
    }};
    (@corrupt [fread ($ptr:ident, $size:ident, $nmemb:ident)] $m:ident $bits:ident; $call:expr) => {{
        let r = $call;
        let got = (Ret::as_i64(r).max(0) as usize).saturating_mul($size as usize);
        if got > 0 {
            alter(std::slice::from_raw_parts_mut($ptr as *mut u8, got), $m, $bits);
        }
        r
    }};
    (@corrupt [readv ($iov:ident, $cnt:ident)] $m:ident $bits:ident; $call:expr) => {{
        let r = $call;
        let got = Ret::as_i64(r);
        if got > 0 {
            alter_iov($iov as *const iovec, $cnt as c_int, got as u64, $m, $bits);
        }
        r
    }};

    // ---- how many bytes a result moved ---------------------------------------------------
    (@moved [fwrite ($ptr:ident, $size:ident, $n:ident)] $r:ident) => {
        (Ret::as_i64($r).max(0) as u64).saturating_mul($size as u64)
    };
    (@moved [fread ($ptr:ident, $size:ident, $n:ident)] $r:ident) => {
        (Ret::as_i64($r).max(0) as u64).saturating_mul($size as u64)
    };
    (@moved [none ()] $r:ident) => {{ let _ = $r; 0 }};
    (@moved $io:tt $r:ident) => { Ret::as_i64($r).max(0) as u64 };

    // ---- write tracking before the call (`track.rs`) -------------------------------------
    (@pre open $t:tt ($path:ident, $flags:ident $(, $mode:ident)?)) => {
        crate::track::before_open(libc::AT_FDCWD, $path, $flags)
    };
    (@pre openat $t:tt ($dirfd:ident, $path:ident, $flags:ident $(, $mode:ident)?)) => {
        crate::track::before_open($dirfd, $path, $flags)
    };
    (@pre creat $t:tt ($path:ident, $mode:ident)) => {
        crate::track::before_open(libc::AT_FDCWD, $path, libc::O_CREAT | libc::O_WRONLY | libc::O_TRUNC)
    };
    (@pre fopen $t:tt ($path:ident, $mode:ident)) => { crate::track::before_fopen($path, $mode) };
    (@pre freopen $t:tt ($path:ident, $mode:ident, $s:ident)) => {{
        let _ = crate::track::before_stream($s);
        crate::track::before_fopen($path, $mode)
    }};
    (@pre write $t:tt ($fd:ident, $buf:ident, $count:ident)) => {
        crate::track::before_write($fd, None, $count as u64)
    };
    (@pre pwrite $t:tt ($fd:ident, $buf:ident, $count:ident, $off:ident)) => {
        crate::track::before_write($fd, Some($off as u64), $count as u64)
    };
    (@pre writev $t:tt ($fd:ident, $iov:ident, $cnt:ident)) => {
        crate::track::before_write($fd, None, iov_total($iov, $cnt).unwrap_or(0))
    };
    (@pre pwritev $t:tt ($fd:ident, $iov:ident, $cnt:ident, $off:ident)) => {
        crate::track::before_write($fd, Some($off as u64), iov_total($iov, $cnt).unwrap_or(0))
    };
    (@pre pwritev2 $t:tt ($fd:ident, $iov:ident, $cnt:ident, $off:ident, $flags:ident)) => {
        crate::track::before_write(
            $fd,
            (($off as i64) >= 0 && $flags & libc::RWF_APPEND == 0).then_some($off as u64),
            iov_total($iov, $cnt).unwrap_or(0),
        )
    };
    // The offset pointer is read through the kernel: a bad one gets libc's EFAULT, not a crash.
    (@pre copy_file_range $t:tt ($fin:ident, $oin:ident, $fout:ident, $oout:ident, $len:ident, $flags:ident)) => {
        crate::track::before_write($fout, crate::raw::read_i64($oout.cast()).map(|o| o as u64), $len as u64)
    };
    (@pre splice $t:tt ($fin:ident, $oin:ident, $fout:ident, $oout:ident, $len:ident, $flags:ident)) => {
        crate::track::before_write($fout, crate::raw::read_i64($oout.cast()).map(|o| o as u64), $len as u64)
    };
    (@pre sendfile $t:tt ($out:ident, $in:ident, $off:ident, $count:ident)) => {
        crate::track::before_write($out, None, $count as u64)
    };
    (@pre ftruncate $t:tt ($fd:ident, $len:ident)) => {
        crate::track::before_truncate($fd, ($len as i64).max(0) as u64)
    };
    (@pre truncate $t:tt ($path:ident, $len:ident)) => {
        crate::track::before_truncate_path(libc::AT_FDCWD, $path, ($len as i64).max(0) as u64)
    };
    (@pre fallocate $t:tt ($fd:ident, $mode:ident, $off:ident, $len:ident)) => {
        crate::track::before_allocate($fd, $mode, ($off as i64).max(0) as u64, $len as u64)
    };
    (@pre posix_fallocate $t:tt ($fd:ident, $off:ident, $len:ident)) => {
        crate::track::before_allocate($fd, 0, ($off as i64).max(0) as u64, $len as u64)
    };
    (@pre dprintf $t:tt ($fd:ident, $($rest:ident),*)) => { crate::track::before_unseen_writes($fd) };
    (@pre rename $t:tt ($old:ident, $new:ident)) => { crate::dirs::before_replace(libc::AT_FDCWD, $new) };
    (@pre renameat $t:tt ($od:ident, $old:ident, $nd:ident, $new:ident)) => { crate::dirs::before_replace($nd, $new) };
    (@pre renameat2 $t:tt ($od:ident, $old:ident, $nd:ident, $new:ident, $flags:ident)) => {
        crate::dirs::before_replace($nd, $new)
    };
    (@pre unlink $t:tt ($path:ident)) => { crate::dirs::before_replace(libc::AT_FDCWD, $path) };
    (@pre remove $t:tt ($path:ident)) => { crate::dirs::before_replace(libc::AT_FDCWD, $path) };
    (@pre unlinkat $t:tt ($dirfd:ident, $path:ident, $flags:ident)) => { crate::dirs::before_replace($dirfd, $path) };
    (@pre $point:ident [stdout ()] $args:tt) => { crate::track::before_unseen_writes(1) };
    (@pre $point:ident [stream ($s:ident)] $args:tt) => { crate::track::before_stream($s as *mut libc::FILE) };
    (@pre $point:ident $t:tt $args:tt) => { crate::track::Pre::none() };

    // ---- write tracking after the call ----------------------------------------------------
    (@post open $r:ident $pre:ident $call:ident $args:tt) => { crate::track::after_open(&$pre, Ret::as_i64($r), &$call) };
    (@post openat $r:ident $pre:ident $call:ident $args:tt) => { crate::track::after_open(&$pre, Ret::as_i64($r), &$call) };
    (@post creat $r:ident $pre:ident $call:ident $args:tt) => { crate::track::after_open(&$pre, Ret::as_i64($r), &$call) };
    (@post fopen $r:ident $pre:ident $call:ident $args:tt) => {
        if !$r.is_null() {
            crate::track::after_open(&$pre, i64::from(stream_fd($r)), &$call)
        }
    };
    (@post freopen $r:ident $pre:ident $call:ident $args:tt) => {
        if !$r.is_null() {
            crate::track::after_open(&$pre, i64::from(stream_fd($r)), &$call)
        }
    };
    (@post mkstemp $r:ident $pre:ident $call:ident $args:tt) => {
        crate::track::created_named(Ret::as_i64($r), None)
    };
    (@post fsync $r:ident $pre:ident $call:ident ($fd:ident)) => {
        if Ret::as_i64($r) == 0 {
            crate::track::synced($fd)
        }
    };
    (@post fdatasync $r:ident $pre:ident $call:ident ($fd:ident)) => {
        if Ret::as_i64($r) == 0 {
            crate::track::synced($fd)
        }
    };
    (@post sync_file_range $r:ident $pre:ident $call:ident ($fd:ident, $off:ident, $n:ident, $flags:ident)) => {
        if Ret::as_i64($r) == 0 {
            crate::track::synced_range($fd, ($off as i64).max(0) as u64, ($n as i64).max(0) as u64, $flags as u32)
        }
    };
    (@post syncfs $r:ident $pre:ident $call:ident ($fd:ident)) => {
        if Ret::as_i64($r) == 0 {
            crate::track::synced_fs($fd)
        }
    };
    (@post sync $r:ident $pre:ident $call:ident ()) => {{
        let _ = $r;
        crate::track::synced_all()
    }};
    (@post rename $r:ident $pre:ident $call:ident $args:tt) => { crate::dirs::renamed(&mut $pre, Ret::as_i64($r), &$call) };
    (@post renameat $r:ident $pre:ident $call:ident $args:tt) => { crate::dirs::renamed(&mut $pre, Ret::as_i64($r), &$call) };
    (@post renameat2 $r:ident $pre:ident $call:ident $args:tt) => { crate::dirs::renamed(&mut $pre, Ret::as_i64($r), &$call) };
    (@post unlink $r:ident $pre:ident $call:ident $args:tt) => { crate::dirs::removed(&mut $pre, Ret::as_i64($r), &$call) };
    (@post unlinkat $r:ident $pre:ident $call:ident $args:tt) => { crate::dirs::removed(&mut $pre, Ret::as_i64($r), &$call) };
    (@post remove $r:ident $pre:ident $call:ident $args:tt) => { crate::dirs::removed(&mut $pre, Ret::as_i64($r), &$call) };
    (@post rmdir $r:ident $pre:ident $call:ident $args:tt) => { crate::dirs::removed(&mut $pre, Ret::as_i64($r), &$call) };
    (@post mkdir $r:ident $pre:ident $call:ident $args:tt) => { crate::dirs::made(Ret::as_i64($r), &$call) };
    (@post mkdirat $r:ident $pre:ident $call:ident $args:tt) => { crate::dirs::made(Ret::as_i64($r), &$call) };
    (@post link $r:ident $pre:ident $call:ident $args:tt) => { crate::dirs::made(Ret::as_i64($r), &$call) };
    (@post linkat $r:ident $pre:ident $call:ident $args:tt) => { crate::dirs::made(Ret::as_i64($r), &$call) };
    (@post symlink $r:ident $pre:ident $call:ident $args:tt) => { crate::dirs::made(Ret::as_i64($r), &$call) };
    (@post symlinkat $r:ident $pre:ident $call:ident $args:tt) => { crate::dirs::made(Ret::as_i64($r), &$call) };
    (@post $point:ident $r:ident $pre:ident $call:ident $args:tt) => {{
        let _ = (&$r, &$pre, &$call);
    }};

    // ---- descriptor bookkeeping, for the points that create or release descriptors -------
    (@book open $r:ident $call:ident ($($a:ident),*)) => { book::new_fd(Ret::as_i64($r), &$call) };
    (@book openat $r:ident $call:ident ($($a:ident),*)) => { book::new_fd(Ret::as_i64($r), &$call) };
    (@book creat $r:ident $call:ident ($($a:ident),*)) => { book::new_fd(Ret::as_i64($r), &$call) };
    (@book mkstemp $r:ident $call:ident ($($a:ident),*)) => { book::new_fd_unnamed(Ret::as_i64($r)) };
    (@book fopen $r:ident $call:ident ($($a:ident),*)) => { book::new_stream($r, &$call) };
    (@book freopen $r:ident $call:ident ($($a:ident),*)) => { book::new_stream($r, &$call) };
    (@book tmpfile $r:ident $call:ident ($($a:ident),*)) => {
        book::new_fd_unnamed(i64::from(stream_fd($r)))
    };
    (@book opendir $r:ident $call:ident ($($a:ident),*)) => { book::new_dir($r, &$call) };
    (@book dup $r:ident $call:ident ($old:ident)) => { book::dup($old, $r) };
    (@book dup2 $r:ident $call:ident ($old:ident, $new:ident)) => { book::dup($old, $r) };
    (@book dup3 $r:ident $call:ident ($old:ident, $new:ident, $flags:ident)) => { book::dup($old, $r) };
    (@book fcntl $r:ident $call:ident ($fd:ident, $cmd:ident, $arg:ident)) => {
        if $cmd == libc::F_DUPFD || $cmd == libc::F_DUPFD_CLOEXEC {
            book::dup($fd, $r)
        }
    };
    (@book close $r:ident $call:ident ($($a:ident),*)) => { book::forget(&$call) };
    (@book fclose $r:ident $call:ident ($($a:ident),*)) => { book::forget(&$call) };
    (@book closedir $r:ident $call:ident ($($a:ident),*)) => { book::forget(&$call) };
    (@book close_range $r:ident $call:ident ($first:ident, $last:ident, $flags:ident)) => {
        if Ret::as_i64($r) == 0 {
            book::forget_range($first, $last)
        }
    };
    (@book closefrom $r:ident $call:ident ($low:ident)) => {{
        let _ = $r;
        book::forget_range($low.max(0) as u32, u32::MAX)
    }};
    (@book $other:ident $r:ident $call:ident ($($a:ident),*)) => {};
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
