//! The run's keeper of descriptors (`failinject run`, `$FAILINJECT_RUN/keeper`): the crash
//! model's handles on files, when several processes share one model.
//!
//! A handle in a shared model must mean the same file to every process of the run, and to
//! the one that rolls the files back after every other has been killed. So each file the
//! model starts tracking is handed to `failinject run` (`SCM_RIGHTS` over a Unix socket),
//! which keeps a descriptor of it until the run ends and answers with that descriptor's
//! number: the handle. A process reaches handle N through `/proc/KEEPER/fd/N` (opened once,
//! then cached here), or through the descriptor it handed over itself.
//!
//! Raw system calls and stack buffers only: this runs under the model's lock, inside
//! intercepted calls.

use super::kfile::{close, to_high};
use super::raw;
use libc::{c_int, c_long};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, Ordering};

/// The socket's path, NUL-terminated (set once, at start-up).
static PATH: [AtomicU32; 64] = [const { AtomicU32::new(0) }; 64];
/// The keeper's pid, for `/proc/PID/fd/N`.
static KEEPER: AtomicU32 = AtomicU32::new(0);
/// This process's connection, and the pid that made it (a forked child makes its own).
static CONN: AtomicI32 = AtomicI32::new(-1);
static CONN_PID: AtomicU32 = AtomicU32::new(0);
/// One request at a time per process.
static BUSY: AtomicBool = AtomicBool::new(false);
/// Handles this process can use: handle N's local descriptor plus one (0: none yet).
const LOCAL_MAX: usize = 16384;
static LOCAL: [AtomicI32; LOCAL_MAX] = [const { AtomicI32::new(0) }; LOCAL_MAX];

/// Sets the keeper's socket path and pid (the configuration path). False when the path is
/// too long to keep.
pub fn configure(path: &[u8], keeper_pid: u32) -> bool {
    if path.len() >= PATH.len() * 4 || path.len() >= 108 {
        return false;
    }
    let mut bytes = [0u8; 256];
    bytes[..path.len()].copy_from_slice(path);
    for (i, w) in PATH.iter().enumerate() {
        let word = [bytes[4 * i], bytes[4 * i + 1], bytes[4 * i + 2], bytes[4 * i + 3]];
        w.store(u32::from_ne_bytes(word), Ordering::Relaxed);
    }
    KEEPER.store(keeper_pid, Ordering::Release);
    true
}

/// Whether a keeper was configured.
pub fn configured() -> bool {
    KEEPER.load(Ordering::Acquire) != 0
}

/// The keeper's pid.
pub fn keeper_pid() -> u32 {
    KEEPER.load(Ordering::Acquire)
}

/// The connection of this process, made on first use.
fn conn() -> Option<c_int> {
    let me = raw::pid();
    let fd = CONN.load(Ordering::Acquire);
    if fd >= 0 && CONN_PID.load(Ordering::Acquire) == me {
        return Some(fd);
    }
    if fd >= 0 {
        // The parent's connection, inherited by fork: not ours to speak on.
        close(fd);
    }
    let mut path = [0u8; 256];
    for (i, w) in PATH.iter().enumerate() {
        path[4 * i..4 * i + 4].copy_from_slice(&w.load(Ordering::Relaxed).to_ne_bytes());
    }
    let len = path.iter().position(|b| *b == 0).unwrap_or(path.len());
    let s = to_high(connect(&path[..len])?);
    CONN.store(s, Ordering::Release);
    CONN_PID.store(me, Ordering::Release);
    Some(s)
}

/// A new close-on-exec `SOCK_SEQPACKET` connection to the Unix socket at `path`.
pub fn connect(path: &[u8]) -> Option<c_int> {
    let (s, addr) = seqpacket(path)?;
    // SAFETY: `addr` is a live sockaddr_un and its size is passed with it.
    let r = unsafe {
        libc::syscall(
            libc::SYS_connect,
            s as c_long,
            &addr as *const libc::sockaddr_un,
            std::mem::size_of::<libc::sockaddr_un>() as c_long,
        )
    };
    if r < 0 {
        close(s);
        return None;
    }
    Some(s)
}

/// In a forked child: a request another thread of the parent had under way is not the
/// child's (its connection is the parent's too, and is replaced on first use).
pub fn after_fork_in_child() {
    BUSY.store(false, Ordering::Release);
}

/// A new close-on-exec `SOCK_SEQPACKET` Unix socket, and the address of `path` for it (the
/// keeper's socket, to connect to or to listen on). `None` when `path` does not fit.
pub fn seqpacket(path: &[u8]) -> Option<(c_int, libc::sockaddr_un)> {
    let mut addr: libc::sockaddr_un = libc::sockaddr_un { sun_family: 0, sun_path: [0; 108] };
    if path.len() >= addr.sun_path.len() {
        return None;
    }
    addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
    for (d, s) in addr.sun_path.iter_mut().zip(path) {
        *d = *s as libc::c_char;
    }
    // SAFETY: socket has no pointer arguments.
    let s = unsafe {
        libc::syscall(
            libc::SYS_socket,
            libc::AF_UNIX as c_long,
            (libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC) as c_long,
            0 as c_long,
        )
    } as c_int;
    (s >= 0).then_some((s, addr))
}

/// Runs `f` with the connection, one caller of this process at a time.
fn with_conn<T>(f: impl FnOnce(c_int) -> Option<T>) -> Option<T> {
    while BUSY.compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed).is_err() {
        std::hint::spin_loop();
    }
    let r = conn().and_then(f);
    BUSY.store(false, Ordering::Release);
    r
}

/// Sends the one-byte-or-two request `what`, with `fd` attached when given.
pub fn send(s: c_int, what: &[u8], fd: Option<c_int>) -> bool {
    let mut iov = libc::iovec { iov_base: what.as_ptr() as *mut libc::c_void, iov_len: what.len() };
    // Room for one descriptor: CMSG_SPACE(sizeof(int)), aligned for a cmsghdr.
    let mut control = [0u64; 4];
    // SAFETY: an all-zero msghdr is a valid empty one.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    if let Some(fd) = fd {
        msg.msg_control = control.as_mut_ptr().cast();
        // SAFETY: CMSG_SPACE only computes a size.
        msg.msg_controllen = unsafe { libc::CMSG_SPACE(std::mem::size_of::<c_int>() as u32) } as _;
        // SAFETY: `msg` points at `control`, which has room for one header and one int
        // (32 bytes ≥ CMSG_SPACE(4) = 24), so the first header and its data are inside it.
        unsafe {
            let cmsg = libc::CMSG_FIRSTHDR(&msg);
            (*cmsg).cmsg_level = libc::SOL_SOCKET;
            (*cmsg).cmsg_type = libc::SCM_RIGHTS;
            (*cmsg).cmsg_len = libc::CMSG_LEN(std::mem::size_of::<c_int>() as u32) as _;
            std::ptr::write_unaligned(libc::CMSG_DATA(cmsg).cast::<c_int>(), fd);
        }
    }
    loop {
        // SAFETY: `msg` and everything it points to (iov, what, control) live until the call
        // returns; the kernel copies them.
        let n = unsafe {
            libc::syscall(libc::SYS_sendmsg, s as c_long, &msg as *const libc::msghdr, 0 as c_long)
        };
        if n >= 0 {
            return true;
        }
        if raw::errno() != libc::EINTR {
            return false;
        }
    }
}

/// Hands `fd` (a descriptor of ours on a tracked file) to the keeper; returns the handle, the
/// keeper's number for it. `fd` becomes this process's local descriptor for the handle, or
/// is closed when it cannot be kept.
pub fn register(fd: c_int) -> Option<c_int> {
    let handle = with_conn(|s| {
        if !send(s, b"R", Some(fd)) {
            return None;
        }
        let mut reply = [0u8; 4];
        loop {
            // SAFETY: `reply` is a live 4-byte buffer.
            let n = unsafe {
                libc::syscall(libc::SYS_recvfrom, s as c_long, reply.as_mut_ptr(), 4usize, 0, 0, 0)
            };
            if n == 4 {
                break;
            }
            if n < 0 && raw::errno() == libc::EINTR {
                continue;
            }
            return None;
        }
        let h = i32::from_ne_bytes(reply);
        (h >= 0).then_some(h)
    });
    match handle {
        Some(h) if (h as usize) < LOCAL_MAX => {
            let old = LOCAL[h as usize].swap(fd + 1, Ordering::AcqRel);
            if old > 0 && old - 1 != fd {
                close(old - 1);
            }
            Some(h)
        }
        // Past the cache (16384 files kept in one run): not usable here without opening it
        // anew at every call, so the file is reported as untrackable.
        Some(_) | None => {
            close(fd);
            None
        }
    }
}

/// This process's descriptor for handle `h`: cached, or opened through the keeper's
/// descriptor table. -1 when it cannot be reached. The caller must not close it.
pub fn local(h: c_int) -> c_int {
    if h < 0 || h as usize >= LOCAL_MAX {
        return -1;
    }
    let cached = LOCAL[h as usize].load(Ordering::Acquire);
    if cached > 0 {
        return cached - 1;
    }
    use super::kfile::{Part, proc_path};
    let mut path = [0u8; 64];
    let parts = [
        Part::Text(b"/proc/"),
        Part::Num(keeper_pid().into()),
        Part::Text(b"/fd/"),
        Part::Num(h as u64),
    ];
    let fd = super::kfile::open_at(libc::AT_FDCWD, proc_path(&mut path, &parts), libc::O_RDWR, 0);
    if fd < 0 {
        return -1;
    }
    let fd = to_high(fd);
    match LOCAL[h as usize].compare_exchange(0, fd + 1, Ordering::AcqRel, Ordering::Acquire) {
        Ok(_) => fd,
        Err(other) => {
            close(fd);
            other - 1
        }
    }
}

/// Tells the keeper the power is cut (`dirs`: directory entries too): it kills every process
/// of the run and rolls the files back. False when the keeper cannot be told.
pub fn cut(dirs: bool) -> bool {
    with_conn(|s| send(s, &[b'C', u8::from(dirs)], None).then_some(())).is_some()
}
