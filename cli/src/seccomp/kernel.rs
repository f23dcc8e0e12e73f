//! The kernel interfaces the seccomp backend stands on, each wrapped once with its contract:
//! installing a filter with a listener (in the child, between `fork` and `exec`), receiving
//! and answering notifications, checking that a notification is still alive, taking a
//! descriptor from the program (`pidfd_getfd`) and reading or writing its memory
//! (`process_vm_readv`/`process_vm_writev`).
//!
//! Everything here is a thin, checked call; what to do with it is the supervisor's.
#![allow(unsafe_code)]

use std::io;
use std::os::fd::{AsRawFd as _, FromRawFd as _, OwnedFd, RawFd};

/// `AUDIT_ARCH_*` of the architecture we are built for: a filter lets calls of any other
/// architecture's numbering through untouched (a 32-bit `int 0x80` never names our numbers).
#[cfg(target_arch = "x86_64")]
pub const AUDIT_ARCH: u32 = 0xc000_003e;
#[cfg(target_arch = "aarch64")]
pub const AUDIT_ARCH: u32 = 0xc000_00b7;

/// Installs `filter` in the calling process with a new listener, and returns the listener.
/// `killable` adds `SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV`.
///
/// Async-signal-safe: it is called in the forked child before `exec`, where it allocates
/// nothing and takes no lock.
pub fn install(filter: &[libc::sock_filter], killable: bool) -> io::Result<RawFd> {
    // SAFETY: PR_SET_NO_NEW_PRIVS takes an integer argument and changes only this process's
    // flags (needed to install a filter without CAP_SYS_ADMIN).
    if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let prog = libc::sock_fprog {
        len: u16::try_from(filter.len()).map_err(|_| io::Error::from_raw_os_error(libc::E2BIG))?,
        filter: filter.as_ptr().cast_mut(),
    };
    let mut flags = libc::SECCOMP_FILTER_FLAG_NEW_LISTENER;
    if killable {
        flags |= libc::SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
    }
    // SAFETY: `prog` points at `filter`, which outlives the call; the kernel copies the
    // program and returns a new descriptor (or -1 with errno).
    let fd = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            flags,
            &prog as *const libc::sock_fprog,
        )
    };
    if fd < 0 { Err(io::Error::last_os_error()) } else { Ok(fd as RawFd) }
}

/// A message of one byte (`iov`) with the control buffer `space`, `control` bytes of it used:
/// what [`send_fd`] and [`recv_fd`] pass a descriptor in.
fn message(iov: &mut libc::iovec, space: &mut [u64; 4], control: usize) -> libc::msghdr {
    // SAFETY: msghdr is plain data; all-zero is a valid (empty) value.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = iov;
    msg.msg_iovlen = 1;
    msg.msg_control = space.as_mut_ptr().cast();
    msg.msg_controllen = control as _;
    msg
}

/// Sends descriptor `fd` over the Unix socket `sock` (`SCM_RIGHTS`). Async-signal-safe.
pub fn send_fd(sock: RawFd, fd: RawFd) -> io::Result<()> {
    let mut byte = [0u8; 1];
    let mut iov = libc::iovec { iov_base: byte.as_mut_ptr().cast(), iov_len: 1 };
    // Room for one cmsghdr with one int, aligned as a cmsghdr.
    let mut space = [0u64; 4];
    // SAFETY: CMSG_SPACE only computes a size.
    let control = unsafe { libc::CMSG_SPACE(std::mem::size_of::<RawFd>() as u32) } as usize;
    let msg = message(&mut iov, &mut space, control);
    // SAFETY: the control buffer is 32 bytes, more than CMSG_SPACE(4) on every target, and
    // aligned for cmsghdr (u64); CMSG_FIRSTHDR returns a pointer into it.
    unsafe {
        let c = libc::CMSG_FIRSTHDR(&msg);
        (*c).cmsg_level = libc::SOL_SOCKET;
        (*c).cmsg_type = libc::SCM_RIGHTS;
        (*c).cmsg_len = libc::CMSG_LEN(std::mem::size_of::<RawFd>() as u32) as _;
        std::ptr::write_unaligned(libc::CMSG_DATA(c).cast::<RawFd>(), fd);
    }
    // SAFETY: `msg` describes live buffers of this frame.
    let n = unsafe { libc::sendmsg(sock, &msg, libc::MSG_NOSIGNAL) };
    if n < 0 { Err(io::Error::last_os_error()) } else { Ok(()) }
}

/// Receives one descriptor sent with [`send_fd`]; `None` at end of file (the child failed
/// before sending).
pub fn recv_fd(sock: RawFd) -> io::Result<Option<OwnedFd>> {
    let mut byte = [0u8; 1];
    let mut iov = libc::iovec { iov_base: byte.as_mut_ptr().cast(), iov_len: 1 };
    let mut space = [0u64; 4];
    let mut msg = message(&mut iov, &mut space, std::mem::size_of::<[u64; 4]>());
    // SAFETY: `msg` describes live buffers of this frame; MSG_CMSG_CLOEXEC keeps the
    // listener out of the programs we start.
    let n = unsafe { libc::recvmsg(sock, &mut msg, libc::MSG_CMSG_CLOEXEC) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the kernel filled `msg_control` and `msg_controllen`; CMSG_FIRSTHDR checks
    // the length before returning a header.
    unsafe {
        let c = libc::CMSG_FIRSTHDR(&msg);
        if c.is_null() || (*c).cmsg_type != libc::SCM_RIGHTS {
            return Ok(None);
        }
        let fd = std::ptr::read_unaligned(libc::CMSG_DATA(c).cast::<RawFd>());
        Ok(Some(OwnedFd::from_raw_fd(fd)))
    }
}

/// Asks the kernel to hand the CPU straight from a trapped task to the receiving thread and
/// back (`SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP`, Linux 6.6), instead of waking each on
/// whichever CPU is free: a round trip then costs two context switches rather than two
/// cross-CPU wake-ups. Older kernels refuse it, and the listener works as before.
pub fn sync_wake_up(listener: &OwnedFd) -> bool {
    const SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP: u64 = 1;
    // SAFETY: the ioctl takes the flags by value.
    unsafe {
        libc::ioctl(
            listener.as_raw_fd(),
            libc::SECCOMP_IOCTL_NOTIF_SET_FLAGS,
            SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP,
        ) == 0
    }
}

/// One notification: a call a task of the program is waiting in.
pub type Notif = libc::seccomp_notif;

/// Waits for the next notification. `Err` with `ENOENT` when the task died between the
/// notification and our read of it: not an error of the listener.
pub fn recv(listener: &OwnedFd) -> io::Result<Notif> {
    // SAFETY: the kernel requires a zeroed structure; seccomp_notif is plain data.
    let mut n: Notif = unsafe { std::mem::zeroed() };
    // SAFETY: the ioctl writes one seccomp_notif into `n`, which is ours and large enough
    // (the libc struct is the kernel's, and has not grown since 5.0).
    let r = unsafe { libc::ioctl(listener.as_raw_fd(), libc::SECCOMP_IOCTL_NOTIF_RECV, &mut n) };
    if r < 0 { Err(io::Error::last_os_error()) } else { Ok(n) }
}

/// How a trapped call is answered.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Answer {
    /// The kernel makes the call as the program asked.
    Continue,
    /// The call returns this value (a count, a descriptor, 0) without being made.
    Value(i64),
    /// The call fails with this errno without being made.
    Error(i32),
}

/// Answers notification `id`. An answer to a task that died meanwhile fails with `ENOENT`,
/// which is no error of ours and is ignored.
pub fn send(listener: &OwnedFd, id: u64, answer: Answer) {
    let (val, error, flags) = match answer {
        Answer::Continue => (0, 0, libc::SECCOMP_USER_NOTIF_FLAG_CONTINUE as u32),
        Answer::Value(v) => (v, 0, 0),
        Answer::Error(e) => (0, -e, 0),
    };
    let mut resp = libc::seccomp_notif_resp { id, val, error, flags };
    // SAFETY: the ioctl reads one seccomp_notif_resp from `resp`, which lives for the call.
    unsafe { libc::ioctl(listener.as_raw_fd(), libc::SECCOMP_IOCTL_NOTIF_SEND, &mut resp) };
}

/// Whether notification `id` is still pending: its task has not died or been interrupted.
/// Checked after every read of the program's memory or descriptors, so that what was read
/// belongs to the task that asked (its pid not yet reused).
pub fn still_valid(listener: &OwnedFd, id: u64) -> bool {
    let mut id = id;
    // SAFETY: the ioctl reads one u64 from `id`, which lives for the call.
    unsafe { libc::ioctl(listener.as_raw_fd(), libc::SECCOMP_IOCTL_NOTIF_ID_VALID, &mut id) == 0 }
}

/// A descriptor referring to process `pid` (a thread-group leader): `pidfd_open`.
pub fn pidfd_open(pid: i32) -> io::Result<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the descriptor is new and ours alone.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// Whether the process `pidfd` refers to has ended (its pidfd polls readable).
pub fn ended(pidfd: &OwnedFd) -> bool {
    let mut p = libc::pollfd { fd: pidfd.as_raw_fd(), events: libc::POLLIN, revents: 0 };
    // SAFETY: one pollfd of ours, no wait.
    unsafe { libc::poll(&mut p, 1, 0) != 0 }
}

/// A copy of descriptor `fd` of the process `pidfd` refers to: the same open file
/// description, so a write through it moves the program's file offset as its own would.
pub fn pidfd_getfd(pidfd: &OwnedFd, fd: i32) -> io::Result<OwnedFd> {
    // SAFETY: pidfd_getfd takes a pidfd, a descriptor number and flags (0), and returns a new
    // close-on-exec descriptor or -1.
    let got = unsafe { libc::syscall(libc::SYS_pidfd_getfd, pidfd.as_raw_fd(), fd, 0) };
    if got < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the descriptor is new and ours alone.
    Ok(unsafe { OwnedFd::from_raw_fd(got as RawFd) })
}

/// Reads `out.len()` bytes of task `tid`'s memory at `addr` (fewer at an unmapped page).
pub fn read_mem(tid: i32, addr: u64, out: &mut [u8]) -> io::Result<usize> {
    if out.is_empty() {
        return Ok(0);
    }
    let local = libc::iovec { iov_base: out.as_mut_ptr().cast(), iov_len: out.len() };
    let remote = libc::iovec { iov_base: addr as *mut libc::c_void, iov_len: out.len() };
    // SAFETY: `local` describes `out`, ours and writable; the kernel reads the remote range
    // itself and reports EFAULT or a short count for what is not mapped.
    let n = unsafe { libc::process_vm_readv(tid, &local, 1, &remote, 1, 0) };
    if n < 0 { Err(io::Error::last_os_error()) } else { Ok(n as usize) }
}

/// Writes `data` into task `tid`'s memory, scattered over `remote` (address, length) pieces
/// in order; returns the bytes written.
pub fn write_mem(tid: i32, data: &[u8], remote: &[(u64, usize)]) -> io::Result<usize> {
    if data.is_empty() || remote.is_empty() {
        return Ok(0);
    }
    let local = libc::iovec { iov_base: data.as_ptr() as *mut libc::c_void, iov_len: data.len() };
    let remote: Vec<libc::iovec> = remote
        .iter()
        .map(|&(a, l)| libc::iovec { iov_base: a as *mut libc::c_void, iov_len: l })
        .collect();
    // SAFETY: `local` describes `data`, which the kernel only reads; the remote iovecs are
    // plain values the kernel checks against the task's mappings.
    let n =
        unsafe { libc::process_vm_writev(tid, &local, 1, remote.as_ptr(), remote.len() as u64, 0) };
    if n < 0 { Err(io::Error::last_os_error()) } else { Ok(n as usize) }
}

fn count(r: isize) -> io::Result<usize> {
    if r < 0 { Err(io::Error::last_os_error()) } else { Ok(r as usize) }
}

fn opt_ptr(off: Option<&mut i64>) -> *mut i64 {
    off.map_or(std::ptr::null_mut(), |o| o as *mut i64)
}

/// A page-aligned buffer, as `O_DIRECT` needs the memory of a call made on the program's
/// behalf to be (the program's own was; a copy in a `Vec` would fail with `EINVAL`).
pub struct Aligned {
    pages: Vec<Page>,
    len: usize,
}

#[derive(Clone, Copy)]
#[repr(C, align(4096))]
struct Page([u8; 4096]);

impl Aligned {
    /// `len` zero bytes.
    pub fn zeroed(len: usize) -> Aligned {
        Aligned { pages: vec![Page([0; 4096]); len.div_ceil(4096)], len }
    }

    /// Keeps the first `len` bytes.
    pub fn truncate(&mut self, len: usize) {
        self.len = self.len.min(len);
    }
}

impl std::ops::Deref for Aligned {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        // SAFETY: the pages are `len.div_ceil(4096)` arrays of bytes, laid out one after
        // another (`repr(C)`, a size that is a multiple of the alignment: no padding), all
        // initialized, so their first `len` bytes are one valid `[u8]`, borrowed with `self`.
        unsafe { std::slice::from_raw_parts(self.pages.as_ptr().cast(), self.len) }
    }
}

impl std::ops::DerefMut for Aligned {
    fn deref_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `deref`, and borrowed mutably with `self`, so unaliased.
        unsafe { std::slice::from_raw_parts_mut(self.pages.as_mut_ptr().cast(), self.len) }
    }
}

/// `pwritev2` of one buffer through our descriptor `fd`: at `off`, or at the file offset for
/// -1 (which also serves `write` and `writev`), with `RWF_*` flags.
pub fn pwritev2(fd: &OwnedFd, data: &[u8], off: i64, flags: i32) -> io::Result<usize> {
    let iov = libc::iovec { iov_base: data.as_ptr() as *mut libc::c_void, iov_len: data.len() };
    // SAFETY: the iovec describes `data`, which the kernel only reads during the call.
    count(unsafe { libc::pwritev2(fd.as_raw_fd(), &iov, 1, off, flags) })
}

/// `preadv2` into one buffer through our descriptor `fd`, as [`pwritev2`].
pub fn preadv2(fd: &OwnedFd, data: &mut [u8], off: i64, flags: i32) -> io::Result<usize> {
    let iov = libc::iovec { iov_base: data.as_mut_ptr().cast(), iov_len: data.len() };
    // SAFETY: the iovec describes `data`, ours and writable for the call.
    count(unsafe { libc::preadv2(fd.as_raw_fd(), &iov, 1, off, flags) })
}

/// `copy_file_range` between our descriptors, the offsets (when given) ours to update.
pub fn copy_file_range(
    from: &OwnedFd,
    off_from: Option<&mut i64>,
    to: &OwnedFd,
    off_to: Option<&mut i64>,
    len: usize,
    flags: u32,
) -> io::Result<usize> {
    let (a, b) = (opt_ptr(off_from), opt_ptr(off_to));
    // SAFETY: the offset pointers are null or point at live i64s of the caller's.
    count(unsafe { libc::copy_file_range(from.as_raw_fd(), a, to.as_raw_fd(), b, len, flags) })
}

/// `sendfile` between our descriptors, the input offset (when given) ours to update.
pub fn sendfile(
    to: &OwnedFd,
    from: &OwnedFd,
    off: Option<&mut i64>,
    len: usize,
) -> io::Result<usize> {
    let off = opt_ptr(off);
    // SAFETY: the offset pointer is null or points at a live i64 of the caller's.
    count(unsafe { libc::sendfile64(to.as_raw_fd(), from.as_raw_fd(), off, len) })
}

/// The sync call `point` on our descriptor `fd` (none for `sync`), with the call's further
/// arguments (`sync_file_range`'s offset, length and flags).
pub fn sync(point: &str, fd: Option<&OwnedFd>, args: [u64; 3]) -> io::Result<()> {
    let raw = fd.map_or(-1, |f| f.as_raw_fd());
    // SAFETY: each call takes a descriptor of ours (or none) and integers.
    let r = unsafe {
        match point {
            "fsync" => libc::fsync(raw),
            "fdatasync" => libc::fdatasync(raw),
            "syncfs" => libc::syncfs(raw),
            "sync_file_range" => {
                libc::sync_file_range(raw, args[0] as i64, args[1] as i64, args[2] as u32)
            }
            _ => {
                libc::sync();
                0
            }
        }
    };
    if r < 0 { Err(io::Error::last_os_error()) } else { Ok(()) }
}

/// Sends signal `sig` to thread `tid` of process `tgid`.
pub fn tgkill(tgid: i32, tid: i32, sig: i32) {
    // SAFETY: tgkill takes three integers; a gone thread is ESRCH, which we ignore.
    unsafe { libc::syscall(libc::SYS_tgkill, tgid, tid, sig) };
}

/// What this machine lets the backend do, found by trying it in a throwaway child.
#[derive(Debug, Clone, Copy)]
pub struct Abilities {
    /// `SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV` is known (Linux 5.19): calls may be made on
    /// the program's behalf.
    pub killable: bool,
}

/// Why the backend cannot run here: the call that was denied, and its error.
#[derive(Debug)]
pub struct Denied {
    pub call: &'static str,
    pub error: io::Error,
}

impl std::fmt::Display for Denied {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} is denied here: {}", self.call, self.error)
    }
}

/// Tries what the backend needs in a child made for it: a filter with a listener (with and
/// without the killable flag), and taking one of the child's descriptors with
/// `pidfd_getfd`, which Yama's `ptrace_scope` 2 or 3 and container profiles deny.
pub fn probe(filter: &[libc::sock_filter]) -> Result<Abilities, Denied> {
    let mut pipe = [0 as RawFd; 2];
    // SAFETY: `pipe` has room for the two descriptors pipe2 writes.
    if unsafe { libc::pipe2(pipe.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(Denied { call: "pipe2", error: io::Error::last_os_error() });
    }
    // SAFETY: the child only makes raw system calls (prctl, seccomp, write, pause, _exit),
    // all async-signal-safe, so forking a threaded process is sound.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(Denied { call: "fork", error: io::Error::last_os_error() });
    }
    if pid == 0 {
        // The child: report [0, 0] (killable), [1, 0] (not killable) or [2, errno].
        let report = match install(filter, true) {
            Ok(_) => [0i32, 0],
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => match install(filter, false) {
                Ok(_) => [1, 0],
                Err(e) => [2, e.raw_os_error().unwrap_or(0)],
            },
            Err(e) => [2, e.raw_os_error().unwrap_or(0)],
        };
        // SAFETY: writing 8 bytes of our stack to our pipe, then waiting to be killed.
        unsafe {
            libc::write(pipe[1], report.as_ptr().cast(), 8);
            loop {
                libc::pause();
            }
        }
    }
    // SAFETY: the parent closes its copy of the write end, which it owns.
    unsafe { libc::close(pipe[1]) };
    let mut report = [0i32; 2];
    // SAFETY: reading at most 8 bytes into `report`.
    let got = unsafe { libc::read(pipe[0], report.as_mut_ptr().cast(), 8) };
    let result = if got != 8 {
        Err(Denied { call: "fork", error: io::Error::from_raw_os_error(libc::ECHILD) })
    } else if report[0] == 2 {
        Err(Denied { call: "seccomp", error: io::Error::from_raw_os_error(report[1]) })
    } else {
        // The child's copy of the pipe's read end is a descriptor it surely has.
        pidfd_open(pid)
            .map_err(|error| Denied { call: "pidfd_open", error })
            .and_then(|p| {
                pidfd_getfd(&p, pipe[0]).map_err(|error| Denied { call: "pidfd_getfd", error })
            })
            .map(|_| Abilities { killable: report[0] == 0 })
    };
    // SAFETY: killing and reaping the child we forked; closing our own read end.
    unsafe {
        libc::kill(pid, libc::SIGKILL);
        libc::waitpid(pid, std::ptr::null_mut(), 0);
        libc::close(pipe[0]);
    }
    result
}
