//! Raw system calls on files: for the crash model (`disk.rs` builds its `Disk` on them), the
//! descriptor table and the log. Never through a wrapped libc function, never allocating; paths come in
//! as `&CStr`, so callers need no unsafe code. Every argument of the variadic `syscall()` is
//! widened to 64 bits (`as c_long`): a narrower one may travel with garbage in its upper half.

use failinject_crash::{Kind, Stat};
use failinject_engine::FileKind;
use libc::{c_int, c_long};
use std::ffi::CStr;
use std::sync::atomic::{AtomicPtr, Ordering};

fn stat_of(st: &libc::stat) -> Stat {
    let kind = match st.st_mode & libc::S_IFMT {
        libc::S_IFREG => Kind::Regular,
        libc::S_IFDIR => Kind::Dir,
        _ => Kind::Other,
    };
    Stat { dev: st.st_dev, ino: st.st_ino, size: st.st_size as u64, kind }
}

/// The kernel's `stat` of `fd`.
fn fstat_raw(fd: c_int) -> Option<libc::stat> {
    // SAFETY: an all-zero `stat` is a valid value for the kernel to overwrite.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `st` is a live, writable stat buffer the kernel does not keep.
    let r = unsafe { libc::syscall(libc::SYS_fstat, fd as c_long, &mut st as *mut libc::stat) };
    (r == 0).then_some(st)
}

/// `fstat(fd)`.
pub fn fstat(fd: c_int) -> Option<Stat> {
    fstat_raw(fd).map(|st| stat_of(&st))
}

/// `fstatat(dirfd, path, flags)`.
pub fn stat_at(dirfd: c_int, path: &CStr, nofollow: bool) -> Option<Stat> {
    // SAFETY: as in `fstat_raw`.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    let flags = if nofollow { libc::AT_SYMLINK_NOFOLLOW } else { 0 };
    // SAFETY: a NUL-terminated path and a live stat buffer.
    let r = unsafe {
        libc::syscall(
            libc::SYS_newfstatat,
            dirfd as c_long,
            path.as_ptr(),
            &mut st as *mut libc::stat,
            flags as c_long,
        )
    };
    (r == 0).then(|| stat_of(&st))
}

/// The kind of file `fd` refers to, as rules name kinds (one `fstat`, and for a character
/// device a terminal probe).
pub fn file_kind(fd: c_int) -> FileKind {
    let Some(st) = fstat_raw(fd) else { return FileKind::Unknown };
    match st.st_mode & libc::S_IFMT {
        libc::S_IFREG | libc::S_IFBLK => FileKind::File,
        libc::S_IFDIR => FileKind::Dir,
        libc::S_IFSOCK => FileKind::Socket,
        libc::S_IFIFO => FileKind::Pipe,
        libc::S_IFCHR => {
            // SAFETY: termios is plain data; TCGETS only fills it in.
            let mut t: libc::termios = unsafe { std::mem::zeroed() };
            // SAFETY: `t` is a live termios; a non-terminal answers ENOTTY.
            let tty =
                unsafe { libc::syscall(libc::SYS_ioctl, fd as c_long, libc::TCGETS, &mut t) } == 0;
            if tty { FileKind::Tty } else { FileKind::Other }
        }
        _ => FileKind::Other,
    }
}

/// A `/proc` path made of `parts`, each a byte string or a number (`/proc/` `PID` `/fd/` `N`),
/// NUL-terminated, in `buf`; `/proc` itself when it does not fit.
pub fn proc_path<'b>(buf: &'b mut [u8; 64], parts: &[Part<'_>]) -> &'b CStr {
    buf.fill(0);
    let mut n = 0;
    for part in parts {
        let mut digits = [0u8; 20];
        let bytes = match part {
            Part::Text(t) => t,
            Part::Num(v) => crate::sys::raw::decimal(*v, &mut digits),
        };
        if n + bytes.len() >= buf.len() {
            return c"/proc";
        }
        buf[n..n + bytes.len()].copy_from_slice(bytes);
        n += bytes.len();
    }
    CStr::from_bytes_until_nul(&buf[..]).unwrap_or(c"/proc")
}

/// A piece of a [`proc_path`].
pub enum Part<'a> {
    /// Bytes as they are.
    Text(&'a [u8]),
    /// A number in decimal.
    Num(u64),
}

/// `/proc/self/fd/N`, NUL-terminated, in `buf`.
fn fd_link_path(fd: c_int, buf: &mut [u8; 64]) -> &CStr {
    proc_path(buf, &[Part::Text(b"/proc/self/fd/"), Part::Num(fd.max(0) as u64)])
}

/// Whether process `pid` exists and is not a zombie (a zombie has ended; only its parent's
/// wait is missing).
pub fn process_alive(pid: u32) -> bool {
    // SAFETY: kill with signal 0 only checks.
    if unsafe { libc::syscall(libc::SYS_kill, pid as c_long, 0 as c_long) } != 0
        && crate::sys::raw::errno() == libc::ESRCH
    {
        return false;
    }
    // Alive unless `/proc` says it is a zombie (a `/proc` we cannot read says nothing).
    process_state(pid).is_none_or(|(state, _)| state != b'Z')
}

/// Whether process `pid` is stopped (by a signal, or a tracer).
pub fn stopped(pid: u32) -> bool {
    process_state(pid).is_some_and(|(state, _)| state == b'T' || state == b't')
}

/// When process `pid` started (clock ticks after boot, field 22 of `/proc/PID/stat`); `None`
/// when it is gone (or the file cannot be read).
pub fn start_time(pid: u32) -> Option<u64> {
    process_state(pid).map(|(_, start)| start)
}

/// The state letter and start time of process `pid`, from `/proc/PID/stat` ("PID (comm) S
/// ppid …": the fields after the last ')', the state first and the start time twentieth).
fn process_state(pid: u32) -> Option<(u8, u64)> {
    let mut path = [0u8; 64];
    let p =
        proc_path(&mut path, &[Part::Text(b"/proc/"), Part::Num(pid.into()), Part::Text(b"/stat")]);
    let fd = open_at(libc::AT_FDCWD, p, libc::O_RDONLY, 0);
    if fd < 0 {
        return None;
    }
    let mut buf = [0u8; 1024];
    let got = pread_full(fd, &mut buf, 0);
    close(fd);
    let i = buf[..got].iter().rposition(|b| *b == b')')?;
    let mut fields = buf[i + 1..got].split(|b| *b == b' ').filter(|f| !f.is_empty());
    let state = *fields.next()?.first()?;
    let start = fields.nth(18)?.iter().try_fold(0u64, |n, d| {
        d.is_ascii_digit().then(|| n.wrapping_mul(10).wrapping_add(u64::from(d - b'0')))
    })?;
    Some((state, start))
}

/// The path `fd` refers to, as `/proc/self/fd/N` reads, into `out`.
pub fn fd_link(fd: c_int, out: &mut [u8]) -> Option<usize> {
    if fd < 0 {
        return None;
    }
    let mut buf = [0u8; 64];
    let link = fd_link_path(fd, &mut buf);
    // SAFETY: `link` is NUL-terminated and `out` is a live buffer of the given length.
    let n = unsafe {
        libc::syscall(libc::SYS_readlink, link.as_ptr(), out.as_mut_ptr(), out.len() as c_long)
    };
    (n > 0 && (n as usize) < out.len()).then_some(n as usize)
}

/// The current directory, written into `out`.
pub fn cwd(out: &mut [u8]) -> Option<usize> {
    // SAFETY: `out` is a live buffer of the given length; the kernel writes at most that.
    let n = unsafe { libc::syscall(libc::SYS_getcwd, out.as_mut_ptr(), out.len() as c_long) };
    // The raw call returns the length including the terminating NUL.
    (n > 1).then(|| n as usize - 1)
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
        } else if n < 0 && crate::sys::raw::errno() == libc::EINTR {
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
pub fn open_at(dirfd: c_int, path: &CStr, flags: c_int, mode: u32) -> c_int {
    // SAFETY: a NUL-terminated path; the kernel copies it.
    let r = unsafe {
        libc::syscall(
            libc::SYS_openat,
            dirfd as c_long,
            path.as_ptr(),
            (flags | libc::O_CLOEXEC) as c_long,
            mode as c_long,
        )
    };
    if r < 0 { -1 } else { r as c_int }
}

/// A new open file description of what `fd` refers to, through `/proc/self/fd/N` (so it
/// has none of `fd`'s `O_APPEND`/`O_DIRECT`, and can read a file `fd` only writes).
pub fn reopen(fd: c_int, flags: c_int) -> c_int {
    let mut buf = [0u8; 64];
    open_at(libc::AT_FDCWD, fd_link_path(fd, &mut buf), flags, 0)
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

/// `unlinkat(AT_FDCWD, path, flags)`; whether it succeeded.
pub fn unlink_at(path: &CStr, flags: c_int) -> bool {
    // SAFETY: a NUL-terminated path.
    unsafe {
        libc::syscall(libc::SYS_unlinkat, libc::AT_FDCWD as c_long, path.as_ptr(), flags as c_long)
            == 0
    }
}

/// `rename(from, to)`; whether it succeeded.
pub fn rename(from: &CStr, to: &CStr) -> bool {
    // SAFETY: NUL-terminated paths.
    unsafe {
        libc::syscall(
            libc::SYS_renameat,
            libc::AT_FDCWD as c_long,
            from.as_ptr(),
            libc::AT_FDCWD as c_long,
            to.as_ptr(),
        ) == 0
    }
}

/// `mkdir(path, 0777)` (less the umask); whether it succeeded.
pub fn mkdir(path: &CStr) -> bool {
    // SAFETY: a NUL-terminated path.
    unsafe {
        libc::syscall(libc::SYS_mkdirat, libc::AT_FDCWD as c_long, path.as_ptr(), 0o777 as c_long)
            == 0
    }
}

/// Makes a file at `path` (replacing what is there) with the contents and permissions of the
/// file open as `from`: how a removed or replaced file comes back.
pub fn write_back(from: c_int, path: &CStr) -> bool {
    let Some(st) = fstat_raw(from) else { return false };
    unlink_at(path, 0);
    let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL;
    let to = open_at(libc::AT_FDCWD, path, flags, st.st_mode & 0o7777);
    if to < 0 {
        return false;
    }
    let size = st.st_size as u64;
    let mut off: i64 = 0;
    while (off as u64) < size {
        // SAFETY: `off` is a live i64 the kernel updates; the descriptors are ours.
        let n = unsafe {
            libc::syscall(
                libc::SYS_sendfile,
                to as c_long,
                from as c_long,
                &mut off as *mut i64,
                (size - off as u64).min(1 << 30) as c_long,
            )
        };
        if n <= 0 {
            break;
        }
    }
    close(to);
    off as u64 >= size
}

/// Ends the process at once with SIGKILL, as a power cut ends every process.
pub fn kill_self() -> ! {
    loop {
        // SAFETY: sending SIGKILL to ourselves; it cannot be caught, blocked or ignored.
        unsafe {
            libc::syscall(libc::SYS_kill, crate::sys::raw::pid() as c_long, libc::SIGKILL as c_long)
        };
    }
}

/// Where the undo arena's memory starts, once reserved.
static ARENA: AtomicPtr<u8> = AtomicPtr::new(std::ptr::null_mut());

/// Reserves the crash model's undo arena, once per process: an anonymous private mapping
/// off the heap, 64 GiB of address space or less if the system refuses (`MAP_NORESERVE`:
/// pages cost memory only once written). `None` when none could be had, or it was already
/// handed out.
pub fn reserve_arena() -> Option<&'static mut [u8]> {
    if !ARENA.load(Ordering::Acquire).is_null() {
        return None;
    }
    for shift in [36u32, 33, 30, 27] {
        let size = 1usize << shift;
        // SAFETY: an anonymous private mapping has no preconditions; every argument is
        // widened to 64 bits.
        let p = unsafe {
            libc::syscall(
                libc::SYS_mmap,
                std::ptr::null_mut::<u8>(),
                size as c_long,
                (libc::PROT_READ | libc::PROT_WRITE) as c_long,
                (libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE) as c_long,
                -1 as c_long,
                0 as c_long,
            )
        };
        if p > 0 {
            let base = p as *mut u8;
            if ARENA
                .compare_exchange(std::ptr::null_mut(), base, Ordering::AcqRel, Ordering::Acquire)
                .is_err()
            {
                // SAFETY: unmapping the mapping just made, which nothing refers to.
                unsafe { libc::syscall(libc::SYS_munmap, base, size as c_long) };
                return None;
            }
            // SAFETY: a fresh mapping of `size` readable and writable bytes that is never
            // unmapped; this is the only reference to it ever made (the compare-and-swap
            // above lets one caller through, once per process).
            return Some(unsafe { std::slice::from_raw_parts_mut(base, size) });
        }
    }
    None
}

/// Gives back to the system the first `used` bytes of the arena, which the crash model has
/// started over from (they read as zero afterwards).
pub fn discard_arena(used: usize) {
    let base = ARENA.load(Ordering::Acquire);
    if !base.is_null() && used > 0 {
        // SAFETY: discarding pages of our own private anonymous mapping; the model no longer
        // holds anything there (it reset its bump pointer before saying so).
        unsafe {
            libc::syscall(libc::SYS_madvise, base, used as c_long, libc::MADV_DONTNEED as c_long)
        };
    }
}

/// Opens a `/proc/self` file for reading; -1 on failure.
pub fn open_proc(path: &CStr) -> c_int {
    open_at(libc::AT_FDCWD, path, libc::O_RDONLY, 0)
}

/// Whether a descriptor of this process is an io_uring instance (`anon_inode:[io_uring]` in
/// `/proc/self/fd`): I/O submitted through it passes every libc wrapper. Raw system calls and
/// a small stack buffer only (this may run in `_exit` called from a signal handler).
pub fn has_io_uring() -> bool {
    let dir = open_proc(c"/proc/self/fd");
    if dir < 0 {
        return false;
    }
    let mut found = false;
    let mut buf = [0u8; 512];
    'read: loop {
        // SAFETY: `buf` is ours and its length is passed; getdents64 writes at most that.
        let n = unsafe {
            libc::syscall(
                libc::SYS_getdents64,
                dir as c_long,
                buf.as_mut_ptr(),
                buf.len() as c_long,
            )
        };
        if n <= 0 {
            break;
        }
        let mut at = 0usize;
        while at + 19 < n as usize {
            // struct linux_dirent64: ino (8), off (8), reclen (2), type (1), name.
            let reclen = u16::from_ne_bytes([buf[at + 16], buf[at + 17]]) as usize;
            if reclen == 0 {
                break;
            }
            let name = &buf[at + 19..(at + reclen).min(n as usize)];
            let name = &name[..name.iter().position(|&b| b == 0).unwrap_or(name.len())];
            if !name.is_empty() && name.iter().all(u8::is_ascii_digit) && is_uring(dir, name) {
                found = true;
                break 'read;
            }
            at += reclen;
        }
    }
    close(dir);
    found
}

fn is_uring(dir: c_int, name: &[u8]) -> bool {
    let mut cname = [0u8; 16];
    if name.len() >= cname.len() {
        return false;
    }
    cname[..name.len()].copy_from_slice(name);
    let mut link = [0u8; 64];
    // SAFETY: `cname` is NUL-terminated; `link` is ours and its length is passed.
    let n = unsafe {
        libc::syscall(
            libc::SYS_readlinkat,
            dir as c_long,
            cname.as_ptr(),
            link.as_mut_ptr(),
            link.len() as c_long,
        )
    };
    n > 0 && link[..n as usize].starts_with(b"anon_inode:[io_uring]")
}

/// Whether `/proc/self/maps` holds `needle` (`[aio]`: an AIO context), read in pieces on the
/// stack.
pub fn maps_contain(needle: &[u8]) -> bool {
    let fd = open_proc(c"/proc/self/maps");
    if fd < 0 || needle.is_empty() {
        close(fd);
        return false;
    }
    let mut buf = [0u8; 512];
    let keep = needle.len() - 1;
    let mut have = 0usize;
    let mut found = false;
    loop {
        let free = &mut buf[have..];
        // SAFETY: reading into the free part of our buffer, its length passed.
        let n = unsafe {
            libc::syscall(libc::SYS_read, fd as c_long, free.as_mut_ptr(), free.len() as c_long)
        };
        if n <= 0 {
            break;
        }
        let end = have + n as usize;
        if buf[..end].windows(needle.len()).any(|w| w == needle) {
            found = true;
            break;
        }
        // Keep the tail, in case the needle straddles two reads.
        let tail = end.saturating_sub(keep);
        buf.copy_within(tail..end, 0);
        have = end - tail;
    }
    close(fd);
    found
}

/// The process's title (`/proc/self/cmdline`, its NUL-separated arguments joined by spaces,
/// cut to `out`'s length), into `out`; its length.
pub fn read_cmdline(out: &mut [u8]) -> Option<usize> {
    let fd = open_proc(c"/proc/self/cmdline");
    if fd < 0 {
        return None;
    }
    let mut n = 0;
    while n < out.len() {
        let rest = &mut out[n..];
        // SAFETY: reading into the free part of `out`, its length passed.
        let got = unsafe {
            libc::syscall(libc::SYS_read, fd as c_long, rest.as_mut_ptr(), rest.len() as c_long)
        };
        if got <= 0 {
            break;
        }
        n += got as usize;
    }
    close(fd);
    // The arguments end with NULs: joined by spaces, the last one dropped.
    while n > 0 && out[n - 1] == 0 {
        n -= 1;
    }
    for b in &mut out[..n] {
        if *b == 0 {
            *b = b' ';
        }
    }
    Some(n)
}
