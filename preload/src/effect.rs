//! Carrying out a decision inside a wrapper: failing the call, shortening or corrupting its
//! data, delaying it, killing the process, cutting the power (`crash.rs`).
//!
//! The wrapper hands over closures that make the real call as asked (unchanged, with fewer
//! bytes, with altered data), so this one function serves every libc point; the table says
//! which closures make sense for which function.

use crate::sys::raw;
use crate::sys::ret::Ret;
use failinject_engine::points::Fail;
use failinject_engine::{Corruption, Decision, Effect, PointId};
use libc::{FILE, c_int};

/// glibc's `_IO_ERR_SEEN`: the bit of `FILE::_flags` that `ferror()` reports.
const IO_ERR_SEEN: c_int = 0x20;

/// What the wrapper knows about the call besides its decision.
pub struct CallInfo {
    /// The function called.
    pub point: PointId,
    /// Its stream, for the error flag (null when it has none).
    pub stream: *mut FILE,
    /// Its byte count, if it moves data.
    pub size: Option<u64>,
    /// Its descriptor, if it has one (the file `lose` rolls back).
    pub fd: Option<c_int>,
}

/// Applies `d` to the call and returns what the wrapper returns.
///
/// `real` makes the call unchanged, `shorter(n)` with at most `n` bytes (returning the result
/// and the bytes it really moved), `corrupt(mode, bits)` with its data altered, and
/// `moved(result)` tells how many bytes an unchanged call's result moved.
pub fn apply<R: Ret>(
    info: &CallInfo,
    d: &Decision<'_>,
    real: impl FnOnce() -> R,
    shorter: impl FnOnce(u64) -> (R, u64),
    corrupt: impl FnOnce(Corruption, u64) -> R,
    moved: impl Fn(R) -> u64,
) -> R {
    let p = info.point.info();
    match d.effect {
        Effect::Return(v) => R::from_i64(v),
        Effect::Error(e) => fail(info, e.0, real),
        Effect::Short(n) => shorter(n).0,
        Effect::Corrupt(mode, bits) => corrupt(mode, bits),
        Effect::Full(allowed) => {
            let size = info.size.unwrap_or(0);
            if allowed == 0 && size > 0 {
                fail(info, libc::ENOSPC, real)
            } else if allowed >= size {
                let r = real();
                d.refund(size - moved(r).min(size));
                r
            } else {
                let (r, moved) = shorter(allowed);
                d.refund(allowed - moved.min(allowed));
                r
            }
        }
        Effect::Sleep(ms) => {
            raw::sleep_ms(ms);
            real()
        }
        Effect::Delay(ms) => {
            raw::spin_ms(ms);
            real()
        }
        Effect::Yield => {
            // SAFETY: sched_yield has no preconditions.
            unsafe { libc::sched_yield() };
            real()
        }
        Effect::Print(msg) => {
            let msg = msg.unwrap_or("");
            raw::diag(&[b"sys:", p.name.as_bytes(), b": ", msg.as_bytes()]);
            real()
        }
        Effect::Pause => {
            while !d.state.is_retired() {
                raw::sleep_ms(1);
            }
            real()
        }
        Effect::Panic(msg) => {
            let msg = msg.unwrap_or("");
            raw::diag(&[b"panic at sys:", p.name.as_bytes(), b": ", msg.as_bytes()]);
            // SAFETY: abort has no preconditions and does not return.
            unsafe { libc::abort() }
        }
        Effect::Kill(sig) => {
            // SAFETY: raising a signal in the calling thread; if it is caught or ignored the
            // call goes ahead, as it would after a real signal.
            unsafe { libc::raise(sig.0) };
            real()
        }
        // A crash state of explore's: the call is made and tracked first, the power fails
        // at the end of the wrapper (`crash::cut_pending`).
        Effect::Powercut { cut, seed } if cut.keep.is_some() => {
            crate::crash::pend(cut, seed);
            real()
        }
        // Every tracked file back to its synced state, then SIGKILL (`crash.rs`).
        Effect::Powercut { cut, seed } => crate::crash::powercut(cut, seed),
        // The sync fails and its file (for `syncs(fs)`, its file system) loses the writes not
        // yet synced; the sync is not made, so a retry syncs the rolled-back state.
        Effect::Lose(e, how) => {
            if let Some(fd) = info.fd {
                crate::crash::lose(fd, p.syncs_many(), how);
            }
            fail(info, e.0, real)
        }
        Effect::ReturnArg(_) => real(),
    }
}

/// Fails the call with errno `e` as the function would: the failure value, errno, and the
/// stream's error flag. A call that closes its target (`close`, `fclose`, `closedir`: the
/// role `closes` in its bare form) still releases it, as the kernel does on an error.
fn fail<R: Ret>(info: &CallInfo, e: c_int, real: impl FnOnce() -> R) -> R {
    let p = info.point.info();
    let releases = p.closes_its_target();
    if releases {
        let _ = real();
    } else {
        set_stream_error(info.stream);
    }
    if p.fail != Fail::ErrnoRet {
        raw::set_errno(e);
    }
    R::failure(p.fail, e)
}

/// Sets a stream's error indicator, as glibc does when a write or read fails, so that
/// `ferror()` reports it. Does nothing for a null stream.
pub fn set_stream_error(stream: *mut FILE) {
    if !stream.is_null() {
        // SAFETY: the stream is live (the caller passed it to the wrapped function); glibc's
        // FILE begins with `int _flags`, where `_IO_ERR_SEEN` is what `ferror()` reads.
        unsafe { *(stream as *mut c_int) |= IO_ERR_SEEN };
    }
}

/// Alters `data` in place the way `corrupt(mode)` says, from the random `bits`
/// ([`Corruption::alter`], shared with the seccomp backend).
pub fn alter(data: &mut [u8], mode: Corruption, bits: u64) {
    mode.alter(data, bits);
}

/// A private copy of data to be written corrupted: anonymous memory from `mmap`, so the
/// caller's buffer is never modified and the hook never touches the heap.
pub struct Scratch {
    ptr: *mut u8,
    len: usize,
}

impl Scratch {
    /// A copy of `len` bytes at `src`, or `None` when memory cannot be had or `src` is not
    /// readable (the caller then makes the real call, and libc answers EFAULT as it would).
    pub fn copy(src: *const u8, len: usize) -> Option<Scratch> {
        let one = libc::iovec { iov_base: src as *mut libc::c_void, iov_len: len };
        Scratch::gather(&one, 1, len)
    }

    /// The `total` bytes described by `cnt` iovecs, gathered into one copy. The copy is made
    /// by the kernel (`process_vm_readv` on ourselves), so a bad pointer is an error, never
    /// a crash.
    pub fn gather(iov: *const libc::iovec, cnt: usize, total: usize) -> Option<Scratch> {
        let s = Scratch::zeroed(total)?;
        if total == 0 {
            return Some(s);
        }
        let local = libc::iovec { iov_base: s.ptr as *mut libc::c_void, iov_len: total };
        // SAFETY: `local` describes our own fresh mapping of `total` bytes; the kernel reads
        // the remote iovecs and their buffers itself and reports EFAULT for bad ones.
        let n = unsafe {
            libc::syscall(
                libc::SYS_process_vm_readv,
                crate::sys::raw::pid() as libc::c_long,
                &local as *const libc::iovec,
                1 as libc::c_ulong,
                iov,
                cnt as libc::c_ulong,
                0 as libc::c_ulong,
            )
        };
        (n == total as i64).then_some(s)
    }

    /// `len` zero bytes of fresh anonymous memory, or `None` when memory cannot be had.
    pub fn zeroed(len: usize) -> Option<Scratch> {
        let size = len.max(1);
        // Every argument of the variadic `syscall` is widened to 64 bits: a plain `int` in the
        // 6th position travels on the stack with its upper half undefined.
        // SAFETY: an anonymous private mapping has no preconditions.
        let p = unsafe {
            libc::syscall(
                libc::SYS_mmap,
                std::ptr::null_mut::<u8>(),
                size,
                (libc::PROT_READ | libc::PROT_WRITE) as libc::c_long,
                (libc::MAP_PRIVATE | libc::MAP_ANONYMOUS) as libc::c_long,
                -1 as libc::c_long,
                0 as libc::c_long,
            )
        };
        if p < 0 {
            return None;
        }
        Some(Scratch { ptr: p as *mut u8, len })
    }

    /// The copy.
    pub fn bytes(&mut self) -> &mut [u8] {
        // SAFETY: `ptr` is our mapping of at least `len` bytes, alive until drop.
        unsafe { std::slice::from_raw_parts_mut(self.ptr, self.len) }
    }

    /// Its address, to hand to the real call.
    pub fn ptr(&self) -> *mut u8 {
        self.ptr
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        // SAFETY: unmapping the mapping we made, exactly once.
        unsafe { libc::syscall(libc::SYS_munmap, self.ptr, self.len.max(1)) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corruption_modes() {
        let mut d = [0xffu8; 16];
        alter(&mut d, Corruption::Flip, 3 | (5 << 56));
        assert_eq!(d.iter().filter(|b| **b != 0xff).count(), 1);
        assert_eq!(d[3], 0xff ^ (1 << 5));
        alter(&mut d, Corruption::Zero, 0);
        assert!(d.iter().all(|b| *b == 0));
        alter(&mut d, Corruption::Random, 42);
        assert!(d.iter().any(|b| *b != 0));
    }

    #[test]
    fn scratch_is_a_copy() {
        let src = *b"hello";
        let mut s = Scratch::copy(src.as_ptr(), 5).unwrap();
        s.bytes()[0] = b'j';
        assert_eq!(s.bytes(), b"jello");
        assert_eq!(&src, b"hello");
        assert!(Scratch::copy(std::ptr::null(), 4).is_none(), "a bad pointer is refused");
        assert!(Scratch::copy(16 as *const u8, 4).is_none());
    }
}
