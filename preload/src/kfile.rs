//! Raw system calls on files for crash simulation (`track.rs`, `dirs.rs`): never through a
//! wrapped libc function, never allocating. Every argument of the variadic `syscall()` is
//! widened to 64 bits (`as c_long`): a narrower one may travel with garbage in its upper half.

use libc::{c_char, c_int, c_long};

/// What the tracker needs to know of a file.
#[derive(Clone, Copy)]
pub struct Stat {
    pub dev: u64,
    pub ino: u64,
    pub size: u64,
    pub mode: u32,
}

impl Stat {
    /// A regular file: the only kind whose contents are tracked.
    pub fn regular(&self) -> bool {
        self.mode & libc::S_IFMT == libc::S_IFREG
    }

    /// A directory.
    pub fn dir(&self) -> bool {
        self.mode & libc::S_IFMT == libc::S_IFDIR
    }

    fn from(st: &libc::stat) -> Stat {
        Stat { dev: st.st_dev, ino: st.st_ino, size: st.st_size as u64, mode: st.st_mode }
    }
}

/// `fstat(fd)`.
pub fn fstat(fd: c_int) -> Option<Stat> {
    // SAFETY: an all-zero `stat` is a valid value for the kernel to overwrite.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `st` is a live, writable stat buffer the kernel does not keep.
    let r = unsafe { libc::syscall(libc::SYS_fstat, fd as c_long, &mut st as *mut libc::stat) };
    (r == 0).then(|| Stat::from(&st))
}

/// `fstatat(dirfd, path, flags)`; `path` is the caller's NUL-terminated C string.
///
/// # Safety
/// `path` is null or NUL-terminated.
pub unsafe fn stat_at(dirfd: c_int, path: *const c_char, nofollow: bool) -> Option<Stat> {
    if path.is_null() {
        return None;
    }
    // SAFETY: as in `fstat`.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    let flags = if nofollow { libc::AT_SYMLINK_NOFOLLOW } else { 0 };
    // SAFETY: a NUL-terminated path (caller's contract) and a live stat buffer.
    let r = unsafe {
        libc::syscall(
            libc::SYS_newfstatat,
            dirfd as c_long,
            path,
            &mut st as *mut libc::stat,
            flags as c_long,
        )
    };
    (r == 0).then(|| Stat::from(&st))
}

/// The file offset of `fd`.
pub fn offset(fd: c_int) -> Option<u64> {
    // SAFETY: lseek has no memory arguments.
    let r = unsafe {
        libc::syscall(libc::SYS_lseek, fd as c_long, 0 as c_long, libc::SEEK_CUR as c_long)
    };
    (r >= 0).then_some(r as u64)
}

/// The status flags of `fd` (`O_APPEND`, the access mode), or 0.
pub fn status_flags(fd: c_int) -> c_int {
    // SAFETY: F_GETFL has no memory arguments.
    let r = unsafe { libc::syscall(libc::SYS_fcntl, fd as c_long, libc::F_GETFL as c_long) };
    if r < 0 { 0 } else { r as c_int }
}

/// Moves `len` bytes with `op(done)` (which moves what it can from byte `done` on), retrying
/// short transfers and EINTR; returns how many bytes were moved before an error or the end.
fn all_of(len: usize, mut op: impl FnMut(usize) -> i64) -> usize {
    let mut done = 0;
    while done < len {
        let n = op(done);
        if n > 0 {
            done += n as usize;
        } else if n < 0 && crate::raw::errno() == libc::EINTR {
            continue;
        } else {
            break;
        }
    }
    done
}

/// Reads up to `buf.len()` bytes at `off`, retrying short reads; returns how many were read.
pub fn pread_full(fd: c_int, buf: &mut [u8], off: u64) -> usize {
    let len = buf.len();
    all_of(len, |done| {
        let rest = &mut buf[done..];
        // SAFETY: `rest` is a live writable slice; the kernel writes at most its length.
        unsafe {
            libc::syscall(
                libc::SYS_pread64,
                fd as c_long,
                rest.as_mut_ptr(),
                rest.len() as c_long,
                (off + done as u64) as c_long,
            )
        }
    })
}

/// Writes all of `data` at `off`; whether it all got there.
pub fn pwrite_all(fd: c_int, data: &[u8], off: u64) -> bool {
    let written = all_of(data.len(), |done| {
        let rest = &data[done..];
        // SAFETY: `rest` is a live slice the kernel only reads.
        unsafe {
            libc::syscall(
                libc::SYS_pwrite64,
                fd as c_long,
                rest.as_ptr(),
                rest.len() as c_long,
                (off + done as u64) as c_long,
            )
        }
    });
    written == data.len()
}

/// `ftruncate(fd, len)`; whether it succeeded.
pub fn ftruncate(fd: c_int, len: u64) -> bool {
    // SAFETY: no memory arguments.
    unsafe { libc::syscall(libc::SYS_ftruncate, fd as c_long, len as c_long) == 0 }
}

/// `openat(dirfd, path, flags, mode)` with `O_CLOEXEC`; the descriptor or -1.
///
/// # Safety
/// `path` is NUL-terminated.
pub unsafe fn open_at(dirfd: c_int, path: *const c_char, flags: c_int, mode: u32) -> c_int {
    // SAFETY: a NUL-terminated path (caller's contract).
    let r = unsafe {
        libc::syscall(
            libc::SYS_openat,
            dirfd as c_long,
            path,
            (flags | libc::O_CLOEXEC) as c_long,
            mode as c_long,
        )
    };
    if r < 0 { -1 } else { r as c_int }
}

/// A new open file description of what `fd` refers to, through `/proc/self/fd/N` (so it
/// has none of `fd`'s `O_APPEND`/`O_DIRECT`, and can read a file `fd` only writes).
pub fn reopen(fd: c_int, flags: c_int) -> c_int {
    let mut link = [0u8; 32];
    let prefix = b"/proc/self/fd/";
    link[..prefix.len()].copy_from_slice(prefix);
    let mut digits = [0u8; 20];
    let d = crate::raw::decimal(fd as u64, &mut digits);
    link[prefix.len()..prefix.len() + d.len()].copy_from_slice(d);
    // SAFETY: `link` is NUL-terminated (zero-filled past the digits).
    unsafe { open_at(libc::AT_FDCWD, link.as_ptr() as *const c_char, flags, 0) }
}

/// Moves our descriptor `fd` to a high number, out of the way of a program that counts on
/// its low ones (the lowest free one from 1000, else lower); returns the number it now has.
pub fn to_high(fd: c_int) -> c_int {
    for base in [1000, 500, 100] {
        // SAFETY: F_DUPFD_CLOEXEC on a descriptor we own.
        let moved = unsafe {
            libc::syscall(
                libc::SYS_fcntl,
                fd as c_long,
                libc::F_DUPFD_CLOEXEC as c_long,
                base as c_long,
            )
        };
        if moved >= 0 {
            close(fd);
            return moved as c_int;
        }
    }
    fd
}

/// `close(fd)`.
pub fn close(fd: c_int) {
    if fd >= 0 {
        // SAFETY: closing a descriptor we own.
        unsafe { libc::syscall(libc::SYS_close, fd as c_long) };
    }
}

/// `unlinkat(AT_FDCWD, path, flags)`; 0 or -1.
///
/// # Safety
/// `path` is NUL-terminated.
pub unsafe fn unlink_at(path: *const c_char, flags: c_int) -> c_long {
    // SAFETY: a NUL-terminated path (caller's contract).
    unsafe { libc::syscall(libc::SYS_unlinkat, libc::AT_FDCWD as c_long, path, flags as c_long) }
}

/// `rename(from, to)`.
///
/// # Safety
/// Both paths are NUL-terminated.
pub unsafe fn rename(from: *const c_char, to: *const c_char) {
    // SAFETY: NUL-terminated paths (caller's contract).
    unsafe {
        libc::syscall(
            libc::SYS_renameat,
            libc::AT_FDCWD as c_long,
            from,
            libc::AT_FDCWD as c_long,
            to,
        )
    };
}

/// `mkdir(path, 0777)` (less the umask).
///
/// # Safety
/// `path` is NUL-terminated.
pub unsafe fn mkdir(path: *const c_char) {
    // SAFETY: a NUL-terminated path (caller's contract).
    unsafe { libc::syscall(libc::SYS_mkdirat, libc::AT_FDCWD as c_long, path, 0o777 as c_long) };
}

/// Makes a file at `path` (replacing what is there) with the contents and permissions of the
/// file open as `from`: how a removed or replaced file comes back.
///
/// # Safety
/// `path` is NUL-terminated.
pub unsafe fn write_back(from: c_int, path: *const c_char) {
    let Some(st) = fstat(from) else { return };
    // SAFETY: the caller's contract.
    unsafe { unlink_at(path, 0) };
    // SAFETY: the caller's contract.
    let to = unsafe {
        open_at(
            libc::AT_FDCWD,
            path,
            libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL,
            st.mode & 0o7777,
        )
    };
    if to < 0 {
        return;
    }
    let mut off: i64 = 0;
    while (off as u64) < st.size {
        // SAFETY: `off` is a live i64 the kernel updates; the descriptors are ours.
        let n = unsafe {
            libc::syscall(
                libc::SYS_sendfile,
                to as c_long,
                from as c_long,
                &mut off as *mut i64,
                (st.size - off as u64).min(1 << 30) as c_long,
            )
        };
        if n <= 0 {
            break;
        }
    }
    close(to);
}

/// Ends the process at once with SIGKILL, as a power cut ends every process.
pub fn kill_self() -> ! {
    loop {
        // SAFETY: sending SIGKILL to ourselves; it cannot be caught, blocked or ignored.
        unsafe {
            libc::syscall(libc::SYS_kill, crate::raw::pid() as c_long, libc::SIGKILL as c_long)
        };
    }
}
