//! Handing a static program to the seccomp supervisor at `exec` (SPEC §9).
//!
//! `LD_PRELOAD` reaches no statically linked program, so a static program started by a
//! dynamic one (a shell script running a `cc -static` tool, a harness running a Go binary)
//! would escape every rule. When `failinject run` offers a supervisor
//! (`FAILINJECT_SECCOMP`: whether waits may be killable, and the system calls to trap), the
//! exec wrappers call [`before_exec`]: if the program about to start is a static ELF
//! executable, the process installs the seccomp filter with a listener, hands the listener to
//! `failinject run` over `$FAILINJECT_RUN/seccomp`, waits for its answer, then execs. The
//! filter stays through the `exec`, and `failinject run` decides the program's calls.
//!
//! Everything here runs in the exec path, possibly in a `vfork` child that shares its
//! parent's memory: raw system calls, buffers on the stack, no allocation, no lock. A
//! program that is not static (dynamic, a script), an unreadable file, or a name without a
//! `/` (an `execvp` that searches `PATH`, which shells do themselves) is left alone.

use super::keeper;
use super::kfile::close;
use super::raw;
use failinject_engine::seccomp_filter::{self, Insn, MAX_TRAPPED};
use libc::{c_char, c_int, c_long};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};

/// The calls the filter traps, as `failinject run` chose them.
static TRAPPED: [AtomicU32; MAX_TRAPPED] = [const { AtomicU32::new(0) }; MAX_TRAPPED];
static COUNT: AtomicUsize = AtomicUsize::new(0);
/// Whether the filter waits killably (Linux 5.19).
static KILLABLE: AtomicBool = AtomicBool::new(false);
/// The path of the supervisor's socket, NUL-padded, in words.
static PATH: [AtomicU32; 27] = [const { AtomicU32::new(0) }; 27];
static ON: AtomicBool = AtomicBool::new(false);

#[cfg(target_arch = "x86_64")]
const AUDIT_ARCH: u32 = 0xc000_003e;
#[cfg(target_arch = "aarch64")]
const AUDIT_ARCH: u32 = 0xc000_00b7;

/// Turns the hand-over on, from `FAILINJECT_SECCOMP` (`K:NR,NR,…`, K 1 for killable waits)
/// and the run's directory. At start-up, before any wrapper runs.
pub fn configure(spec: &[u8], run_dir: &[u8]) {
    let Some((k, list)) = spec.split_first().filter(|(_, rest)| rest.first() == Some(&b':')) else {
        return;
    };
    let mut n = 0;
    for num in list[1..].split(|&b| b == b',').filter(|x| !x.is_empty()) {
        let Some(v) = std::str::from_utf8(num).ok().and_then(|t| t.parse::<u32>().ok()) else {
            return;
        };
        if n == MAX_TRAPPED {
            return;
        }
        TRAPPED[n].store(v, Ordering::Relaxed);
        n += 1;
    }
    let mut path = [0u8; 108];
    let socket = b"/seccomp";
    if run_dir.len() + socket.len() >= path.len() {
        return;
    }
    path[..run_dir.len()].copy_from_slice(run_dir);
    path[run_dir.len()..run_dir.len() + socket.len()].copy_from_slice(socket);
    for (i, w) in PATH.iter().enumerate() {
        let mut b = [0u8; 4];
        b.copy_from_slice(&path[4 * i..4 * i + 4]);
        w.store(u32::from_ne_bytes(b), Ordering::Relaxed);
    }
    COUNT.store(n, Ordering::Relaxed);
    KILLABLE.store(*k == b'1', Ordering::Relaxed);
    ON.store(true, Ordering::Release);
}

/// Whether `failinject run` offers a supervisor.
#[inline]
pub fn on() -> bool {
    ON.load(Ordering::Relaxed)
}

/// Before an exec of `path`: hands a static program to the supervisor. False when the
/// program was put under the filter but the supervisor did not take it: the exec must not go
/// ahead (every trapped call would fail), and errno says why.
///
/// # Safety
/// `path` is null or a NUL-terminated string.
pub unsafe fn before_exec(path: *const c_char) -> bool {
    if path.is_null() || !on() {
        return true;
    }
    // SAFETY: the caller's contract.
    let name = unsafe { std::ffi::CStr::from_ptr(path) };
    if !name.to_bytes().contains(&b'/') || !is_static(name) {
        return true;
    }
    let mut socket = [0u8; 108];
    for (i, w) in PATH.iter().enumerate() {
        socket[4 * i..4 * i + 4].copy_from_slice(&w.load(Ordering::Relaxed).to_ne_bytes());
    }
    let len = socket.iter().position(|b| *b == 0).unwrap_or(socket.len());
    // Connected first: a supervisor that is gone leaves the program as it was.
    let Some(s) = keeper::connect(&socket[..len]) else { return true };
    let listener = install();
    if listener < 0 {
        // Not under a filter: the program runs unreached, as it would have.
        close(s);
        return true;
    }
    let mut ack = [0u8; 1];
    let sent = keeper::send(s, b"h", Some(listener));
    // SAFETY: reading one byte into `ack`, ours.
    let got =
        sent && unsafe { libc::syscall(libc::SYS_read, s as c_long, ack.as_mut_ptr(), 1) } == 1;
    close(listener);
    close(s);
    if got {
        return true;
    }
    raw::diag(&[
        b"cannot hand ",
        name.to_bytes(),
        b" to the seccomp supervisor; it is not started",
    ]);
    raw::set_errno(libc::EPERM);
    false
}

/// Installs the filter with a listener in this process: the listener, or -1.
fn install() -> c_int {
    let mut numbers = [0u32; MAX_TRAPPED];
    let n = COUNT.load(Ordering::Relaxed);
    for (d, s) in numbers.iter_mut().zip(&TRAPPED).take(n) {
        *d = s.load(Ordering::Relaxed);
    }
    let mut prog = [Insn::default(); seccomp_filter::len(MAX_TRAPPED)];
    let Some(len) = seccomp_filter::build(&numbers[..n], AUDIT_ARCH, &mut prog) else {
        return -1;
    };
    // `Insn` is laid out as `struct sock_filter`: u16, u8, u8, u32.
    let filter = libc::sock_fprog { len: len as u16, filter: prog.as_mut_ptr().cast() };
    // SAFETY: PR_SET_NO_NEW_PRIVS takes integers and changes only this process's flags.
    if unsafe { libc::syscall(libc::SYS_prctl, libc::PR_SET_NO_NEW_PRIVS as c_long, 1, 0, 0, 0) }
        != 0
    {
        return -1;
    }
    let mut flags = libc::SECCOMP_FILTER_FLAG_NEW_LISTENER;
    if KILLABLE.load(Ordering::Relaxed) {
        flags |= libc::SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
    }
    // SAFETY: `filter` points at `prog`, on our stack for the call; the kernel copies it.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER as c_long,
            flags as c_long,
            &filter as *const libc::sock_fprog,
        )
    };
    fd as c_int
}

/// Whether the file at `path` is a 64-bit ELF executable with no program interpreter.
fn is_static(path: &std::ffi::CStr) -> bool {
    // SAFETY: `path` is a C string; open returns a descriptor or -1.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_openat,
            libc::AT_FDCWD as c_long,
            path.as_ptr(),
            (libc::O_RDONLY | libc::O_CLOEXEC) as c_long,
        )
    } as c_int;
    if fd < 0 {
        return false;
    }
    let answer = elf_without_interp(fd);
    close(fd);
    answer
}

fn elf_without_interp(fd: c_int) -> bool {
    let mut h = [0u8; 64];
    if super::kfile::pread_full(fd, &mut h, 0) != 64
        || &h[..4] != b"\x7fELF"
        || h[4] != 2
        || h[5] != 1
    {
        return false;
    }
    let u16_at = |b: &[u8], o: usize| u16::from_le_bytes([b[o], b[o + 1]]);
    let mut w = [0u8; 8];
    w.copy_from_slice(&h[0x20..0x28]);
    let phoff = u64::from_le_bytes(w);
    let (size, count) = (u64::from(u16_at(&h, 0x36)), u16_at(&h, 0x38));
    // ET_EXEC or ET_DYN (a static PIE) only.
    if !matches!(u16_at(&h, 0x10), 2 | 3) || size < 4 {
        return false;
    }
    const PT_INTERP: u32 = 3;
    for i in 0..u64::from(count.min(128)) {
        let mut kind = [0u8; 4];
        if super::kfile::pread_full(fd, &mut kind, phoff + i * size) != 4 {
            return false;
        }
        if u32::from_le_bytes(kind) == PT_INTERP {
            return false;
        }
    }
    true
}
