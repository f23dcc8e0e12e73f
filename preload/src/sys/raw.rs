//! Talking to the kernel and to errno without going through any function we wrap.
//!
//! Diagnostics are written with the raw `write` system call: the preload's copy of std has
//! its own stdout buffer that is never flushed, and the libc `write` is one of our wrappers.

use std::ffi::c_int;

/// Writes all of `bytes` to `fd` with raw system calls, retrying on EINTR and short writes.
pub fn write_all(fd: c_int, mut bytes: &[u8]) {
    while !bytes.is_empty() {
        // SAFETY: the pointer and length describe a live byte slice; SYS_write does not keep
        // them after it returns.
        let n = unsafe {
            libc::syscall(libc::SYS_write, fd as libc::c_long, bytes.as_ptr(), bytes.len())
        };
        if n > 0 {
            bytes = &bytes[n as usize..];
        } else if n < 0 && errno() == libc::EINTR {
            continue;
        } else {
            return;
        }
    }
}

/// Prints `failinject: <parts…>` and a newline on stderr, in one write when it fits.
pub fn diag(parts: &[&[u8]]) {
    let mut buf = [0u8; 1024];
    let mut n = 0;
    for part in [&b"failinject: "[..]].iter().chain(parts).chain([&&b"\n"[..]]) {
        if n + part.len() > buf.len() {
            write_all(2, &buf[..n]);
            write_all(2, part);
            n = 0;
        } else {
            buf[n..n + part.len()].copy_from_slice(part);
            n += part.len();
        }
    }
    write_all(2, &buf[..n]);
}

/// The calling process's id, from the kernel (glibc no longer caches it, and a `vfork` child
/// must not see its parent's).
pub fn pid() -> u32 {
    // SAFETY: getpid has no arguments and cannot fail.
    unsafe { libc::syscall(libc::SYS_getpid) as u32 }
}

/// The process's effective uid, from the kernel.
pub fn euid() -> u32 {
    // SAFETY: geteuid has no arguments and cannot fail.
    unsafe { libc::syscall(libc::SYS_geteuid) as u32 }
}

/// The calling thread's id, from the kernel.
pub fn tid() -> i64 {
    // SAFETY: gettid has no arguments and cannot fail.
    unsafe { libc::syscall(libc::SYS_gettid) }
}

/// The wall clock: seconds and nanoseconds since the epoch.
pub fn realtime() -> (i64, i64) {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a live timespec; CLOCK_REALTIME always exists.
    unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut ts) };
    (ts.tv_sec, ts.tv_nsec)
}

/// Ends the process as glibc's `_exit` does: `exit_group`, then `exit` should that return.
pub fn exit_group(status: c_int) -> ! {
    // SAFETY: exit_group takes a status and does not return; nothing is passed by pointer.
    unsafe { libc::syscall(libc::SYS_exit_group, status as libc::c_long) };
    loop {
        // SAFETY: as above, for the calling thread only.
        unsafe { libc::syscall(libc::SYS_exit, status as libc::c_long) };
    }
}

/// The calling thread's errno.
pub fn errno() -> c_int {
    // SAFETY: __errno_location returns a valid pointer to the calling thread's errno.
    unsafe { *libc::__errno_location() }
}

/// Sets the calling thread's errno.
pub fn set_errno(e: c_int) {
    // SAFETY: as in `errno`; the thread owns its errno.
    unsafe { *libc::__errno_location() = e }
}

/// Formats `n` in decimal into `buf`, returning the digits.
pub fn decimal(mut n: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buf[i..];
        }
    }
}

/// Sleeps `ms` milliseconds with the raw system call (restarting after signals).
pub fn sleep_ms(ms: u64) {
    let mut ts =
        libc::timespec { tv_sec: (ms / 1000) as _, tv_nsec: ((ms % 1000) * 1_000_000) as _ };
    loop {
        let mut rem = libc::timespec { tv_sec: 0, tv_nsec: 0 };
        // SAFETY: both pointers are to live timespecs on this stack frame.
        let r = unsafe { libc::syscall(libc::SYS_nanosleep, &ts as *const _, &mut rem as *mut _) };
        if r == 0 || errno() != libc::EINTR {
            return;
        }
        ts = rem;
    }
}

/// The monotonic clock, in nanoseconds.
pub fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a live timespec; CLOCK_MONOTONIC always exists on Linux.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Busy-waits `ms` milliseconds (the `delay` task), reading the monotonic clock.
pub fn spin_ms(ms: u64) {
    let end = monotonic_ns() + ms * 1_000_000;
    while monotonic_ns() < end {
        std::hint::spin_loop();
    }
}

/// Whether all `len` bytes at `ptr` can be read, asked of the kernel (`process_vm_readv` on
/// ourselves, in chunks through a small stack buffer), so that the preload never faults on a
/// pointer the program passed that libc itself would answer with EFAULT. errno is left as
/// it was.
pub fn readable(ptr: *const u8, len: usize) -> bool {
    let saved = errno();
    let mut chunk = [0u8; 256];
    let mut done = 0;
    let ok = loop {
        if done >= len {
            break true;
        }
        let n = chunk.len().min(len - done);
        let local = libc::iovec { iov_base: chunk.as_mut_ptr().cast(), iov_len: n };
        let remote =
            libc::iovec { iov_base: ptr.wrapping_add(done) as *mut libc::c_void, iov_len: n };
        // SAFETY: `local` describes our own stack buffer of `n` bytes; the kernel reads the
        // remote range itself and reports EFAULT for memory we may not read.
        let got = unsafe {
            libc::syscall(
                libc::SYS_process_vm_readv,
                pid() as libc::c_long,
                &local as *const libc::iovec,
                1 as libc::c_ulong,
                &remote as *const libc::iovec,
                1 as libc::c_ulong,
                0 as libc::c_ulong,
            )
        };
        if got != n as i64 {
            break false;
        }
        done += n;
    };
    set_errno(saved);
    ok
}

/// The 64-bit integer at `ptr` (an `off64_t *` the program passed), if it can be read.
pub fn read_i64(ptr: *const i64) -> Option<i64> {
    if ptr.is_null() || !readable(ptr.cast(), 8) {
        return None;
    }
    // SAFETY: the kernel just read these 8 bytes for us; unaligned in case the program's
    // pointer is.
    Some(unsafe { ptr.read_unaligned() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals() {
        let mut b = [0; 20];
        assert_eq!(decimal(0, &mut b), b"0");
        assert_eq!(decimal(125, &mut b), b"125");
        assert_eq!(decimal(u64::MAX, &mut b), b"18446744073709551615");
    }
}
