//! The system calls the seccomp backend can trap, described once: for each, the libc point
//! it is decided as, the libc points whose functions make it (`sys:open` is the `openat`
//! call under glibc, Go and musl), and where its target and data are among its arguments.
//!
//! Rules name libc points everywhere (SPEC §9). Under this backend a rule's points are
//! widened to the calls that stand for them ([`CALLS`]), and a point whose function makes no
//! call of its own (`fwrite`, the rest of `@stdio`, `opendir`, `remove`) is refused with the
//! points to use instead ([`instead`]).
#![forbid(unsafe_code)]

/// Where a call's target is among its arguments (indexes from 0).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Target {
    /// No file (`sync`).
    None,
    /// A descriptor.
    Fd(usize),
    /// A path, relative to the current directory.
    Path(usize),
    /// A path relative to a directory descriptor: (dirfd, path).
    At(usize, usize),
    /// Two paths (`rename`): (from, to); the second is the target.
    Paths(usize, usize),
    /// Two paths relative to directory descriptors: (fromdir, from, todir, to).
    At2(usize, usize, usize, usize),
    /// A link's contents and where it goes: (contents, dirfd, path).
    SymlinkAt(usize, usize, usize),
    /// A copy between descriptors: (from, to); the written one is the target.
    Copy(usize, usize),
}

/// The data a call moves (indexes from 0).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Io {
    None,
    /// Writes `count` bytes from `buf`: (buf, count).
    Write(usize, usize),
    /// Reads up to `count` bytes into `buf`: (buf, count).
    Read(usize, usize),
    /// Writes an iovec array: (iov, iovcnt).
    WriteV(usize, usize),
    /// Reads into an iovec array: (iov, iovcnt).
    ReadV(usize, usize),
    /// Copies inside the kernel: (length).
    Copy(usize),
}

/// One trappable system call.
#[derive(Debug, Clone, Copy)]
pub struct Call {
    /// Its number on this architecture.
    pub nr: i64,
    /// Its name, as `strace` prints it.
    pub name: &'static str,
    /// The libc point it is decided as (`pwrite64` is `sys:pwrite`).
    pub point: &'static str,
    /// Other libc points whose functions make this call (rules on them trap it).
    pub also: &'static [&'static str],
    /// Where its target is.
    pub target: Target,
    /// What data it moves.
    pub io: Io,
    /// The argument holding its file offset (`pwrite64`), if any.
    pub offset: Option<usize>,
    /// The argument holding `RWF_*` flags (`pwritev2`), if any.
    pub rw_flags: Option<usize>,
}

macro_rules! calls {
    ($( $nr:ident => $point:literal $([$($also:literal),*])? , $target:expr, $io:expr $(, off $off:literal)? $(, flags $fl:literal)? ; )*) => {
        &[ $( Call {
            nr: libc::$nr,
            name: { const N: &str = stringify!($nr); const_strip(N) },
            point: $point,
            also: &[ $( $($also),* )? ],
            target: $target,
            io: $io,
            offset: calls!(@opt $($off)?),
            rw_flags: calls!(@opt $($fl)?),
        } ),* ]
    };
    (@opt) => { None };
    (@opt $v:literal) => { Some($v) };
}

/// `SYS_write` without its `SYS_` prefix, at compile time.
const fn const_strip(name: &'static str) -> &'static str {
    let (_, rest) = name.as_bytes().split_at(4);
    match std::str::from_utf8(rest) {
        Ok(s) => s,
        Err(_) => name,
    }
}

use Io::{Copy as IoCopy, Read, ReadV, Write, WriteV};
use Target::{At, At2, Fd, Path, Paths, SymlinkAt};

/// The calls every 64-bit Linux architecture has.
const COMMON: &[Call] = calls! {
    SYS_write => "write", Fd(0), Write(1, 2);
    SYS_pwrite64 => "pwrite", Fd(0), Write(1, 2), off 3;
    SYS_writev => "writev", Fd(0), WriteV(1, 2);
    SYS_pwritev => "pwritev", Fd(0), WriteV(1, 2), off 3;
    SYS_pwritev2 => "pwritev2", Fd(0), WriteV(1, 2), off 3, flags 5;
    SYS_copy_file_range => "copy_file_range", Target::Copy(0, 2), IoCopy(4);
    SYS_sendfile => "sendfile", Target::Copy(1, 0), IoCopy(3);
    SYS_splice => "splice", Target::Copy(0, 2), Io::None;
    SYS_ftruncate => "ftruncate", Fd(0), Io::None;
    SYS_truncate => "truncate", Path(0), Io::None;
    SYS_fallocate => "fallocate", Fd(0), Io::None;
    SYS_fadvise64 => "posix_fadvise", Fd(0), Io::None;
    SYS_read => "read", Fd(0), Read(1, 2);
    SYS_pread64 => "pread", Fd(0), Read(1, 2), off 3;
    SYS_readv => "readv", Fd(0), ReadV(1, 2);
    SYS_preadv => "preadv", Fd(0), ReadV(1, 2), off 3;
    SYS_preadv2 => "preadv2", Fd(0), ReadV(1, 2), off 3, flags 5;
    SYS_getdents64 => "getdents64", Fd(0), Io::None;
    SYS_readlinkat => "readlinkat" ["readlink"], At(0, 1), Io::None;
    SYS_fsync => "fsync", Fd(0), Io::None;
    SYS_fdatasync => "fdatasync", Fd(0), Io::None;
    SYS_sync_file_range => "sync_file_range", Fd(0), Io::None;
    SYS_syncfs => "syncfs", Fd(0), Io::None;
    SYS_sync => "sync", Target::None, Io::None;
    SYS_renameat => "renameat" ["rename"], At2(0, 1, 2, 3), Io::None;
    SYS_renameat2 => "renameat2" ["rename", "renameat"], At2(0, 1, 2, 3), Io::None;
    SYS_unlinkat => "unlinkat" ["unlink"], At(0, 1), Io::None;
    SYS_mkdirat => "mkdirat" ["mkdir"], At(0, 1), Io::None;
    SYS_linkat => "linkat" ["link"], At2(0, 1, 2, 3), Io::None;
    SYS_symlinkat => "symlinkat" ["symlink"], SymlinkAt(0, 1, 2), Io::None;
    SYS_fstat => "fstat", Fd(0), Io::None;
    SYS_newfstatat => "fstatat" ["stat", "lstat"], At(0, 1), Io::None;
    SYS_statx => "statx", At(0, 1), Io::None;
    SYS_fchmod => "fchmod", Fd(0), Io::None;
    SYS_fchmodat => "fchmodat" ["chmod"], At(0, 1), Io::None;
    SYS_fchown => "fchown", Fd(0), Io::None;
    SYS_fchownat => "fchownat" ["chown", "lchown"], At(0, 1), Io::None;
    SYS_utimensat => "utimensat" ["futimens", "utimes", "utime"], At(0, 1), Io::None;
    SYS_setxattr => "setxattr", Path(0), Io::None;
    SYS_lsetxattr => "lsetxattr", Path(0), Io::None;
    SYS_fsetxattr => "fsetxattr", Fd(0), Io::None;
    SYS_getxattr => "getxattr", Path(0), Io::None;
    SYS_lgetxattr => "lgetxattr", Path(0), Io::None;
    SYS_fgetxattr => "fgetxattr", Fd(0), Io::None;
    SYS_removexattr => "removexattr", Path(0), Io::None;
    SYS_lremovexattr => "lremovexattr", Path(0), Io::None;
    SYS_fremovexattr => "fremovexattr", Fd(0), Io::None;
    SYS_statfs => "statfs", Path(0), Io::None;
    SYS_fstatfs => "fstatfs", Fd(0), Io::None;
    SYS_faccessat => "faccessat" ["access"], At(0, 1), Io::None;
    SYS_faccessat2 => "faccessat" ["access"], At(0, 1), Io::None;
    SYS_fcntl => "fcntl", Fd(0), Io::None;
    SYS_flock => "flock", Fd(0), Io::None;
    SYS_close => "close", Fd(0), Io::None;
    SYS_close_range => "close_range", Target::None, Io::None;
    SYS_mmap => "mmap", Fd(4), Io::None;
    SYS_munmap => "munmap", Target::None, Io::None;
    SYS_msync => "msync", Target::None, Io::None;
    SYS_dup => "dup", Fd(0), Io::None;
    SYS_dup3 => "dup3" ["dup2"], Fd(0), Io::None;
    SYS_lseek => "lseek", Fd(0), Io::None;
    SYS_ioctl => "ioctl", Fd(0), Io::None;
    SYS_execve => "execve", Path(0), Io::None;
    SYS_execveat => "execveat" ["fexecve"], At(0, 1), Io::None;
    SYS_openat => "openat" ["open"], At(0, 1), Io::None;
    SYS_openat2 => "openat" ["open"], At(0, 1), Io::None;
};

/// The older calls x86-64 keeps beside their `*at` forms (glibc still makes some of them).
#[cfg(target_arch = "x86_64")]
const LEGACY: &[Call] = calls! {
    SYS_open => "open", Path(0), Io::None;
    SYS_creat => "creat", Path(0), Io::None;
    SYS_rename => "rename", Paths(0, 1), Io::None;
    SYS_unlink => "unlink", Path(0), Io::None;
    SYS_rmdir => "rmdir", Path(0), Io::None;
    SYS_mkdir => "mkdir", Path(0), Io::None;
    SYS_link => "link", Paths(0, 1), Io::None;
    SYS_symlink => "symlink", Paths(0, 1), Io::None;
    SYS_stat => "stat", Path(0), Io::None;
    SYS_lstat => "lstat", Path(0), Io::None;
    SYS_chmod => "chmod", Path(0), Io::None;
    SYS_chown => "chown", Path(0), Io::None;
    SYS_lchown => "lchown", Path(0), Io::None;
    SYS_utime => "utime", Path(0), Io::None;
    SYS_utimes => "utimes", Path(0), Io::None;
    SYS_access => "access", Path(0), Io::None;
    SYS_readlink => "readlink", Path(0), Io::None;
    SYS_dup2 => "dup2", Fd(0), Io::None;
};
#[cfg(not(target_arch = "x86_64"))]
const LEGACY: &[Call] = &[];

/// Every trappable call of this architecture.
pub fn calls() -> impl Iterator<Item = &'static Call> {
    COMMON.iter().chain(LEGACY)
}

/// The call with number `nr`, if it is one of ours (a table indexed by number, made once).
pub fn by_number(nr: i64) -> Option<&'static Call> {
    static INDEX: std::sync::OnceLock<Vec<Option<&'static Call>>> = std::sync::OnceLock::new();
    let index = INDEX.get_or_init(|| {
        let top = calls().map(|c| c.nr).max().unwrap_or(0);
        let mut v = vec![None; usize::try_from(top).unwrap_or(0) + 1];
        for c in calls() {
            v[c.nr as usize] = Some(c);
        }
        v
    });
    usize::try_from(nr).ok().and_then(|i| index.get(i).copied().flatten())
}

/// The calls that stand for libc point `point` under this backend.
pub fn calls_of(point: &str) -> impl Iterator<Item = &'static Call> + '_ {
    calls().filter(move |c| c.point == point || c.also.contains(&point))
}

/// For a libc point whose function makes no system call of its own, the points that stand for
/// what it does (`fwrite` → `write`); `None` for a point that has calls.
pub fn instead(point: &str) -> Option<&'static str> {
    if calls_of(point).next().is_some() {
        return None;
    }
    Some(match point {
        "fwrite" | "fputs" | "fputc" | "puts" | "putchar" | "fprintf" | "printf" | "dprintf"
        | "fflush" => "sys:write|writev",
        "fread" | "fgets" | "fgetc" | "getdelim" => "sys:read",
        "fopen" | "freopen" | "opendir" | "mkstemp" | "tmpfile" => "sys:openat",
        "readdir" => "sys:getdents64",
        "remove" => "sys:unlink|unlinkat|rmdir",
        "posix_fallocate" => "sys:fallocate",
        "lockf" => "sys:fcntl",
        "fclose" | "closedir" => "sys:close",
        "closefrom" => "sys:close_range",
        "execv" | "execvp" => "sys:execve",
        // fdopen, fdopendir: no system call at all.
        _ => "nothing: the function makes no system call",
    })
}

/// The calls that start asynchronous I/O the rules cannot see: under this backend they fail
/// with `ENOSYS` unless allowed, so that programs fall back to calls the rules see.
pub const IO_URING_SETUP: i64 = libc::SYS_io_uring_setup;
pub const IO_SETUP: i64 = libc::SYS_io_setup;

#[cfg(test)]
mod tests {
    use super::*;
    use failinject_engine::PointId;

    #[test]
    fn every_call_is_decided_as_a_real_point() {
        for c in calls() {
            assert!(PointId::from_name(c.point).is_some(), "{}: no point {}", c.name, c.point);
            for a in c.also {
                assert!(PointId::from_name(a).is_some(), "{}: no point {a}", c.name);
            }
        }
        assert_eq!(by_number(libc::SYS_pwrite64).unwrap().name, "pwrite64");
        assert_eq!(by_number(libc::SYS_write).unwrap().point, "write");
    }

    #[test]
    fn points_map_to_their_calls_or_to_what_to_use_instead() {
        let names = |p| calls_of(p).map(|c| c.name).collect::<Vec<_>>();
        assert!(names("open").contains(&"openat"));
        assert!(names("rename").contains(&"renameat2"));
        assert_eq!(names("fsync"), ["fsync"]);
        assert_eq!(instead("fsync"), None);
        assert_eq!(instead("fwrite"), Some("sys:write|writev"));
        assert_eq!(instead("fopen"), Some("sys:openat"));
        // Every libc point is one or the other.
        for p in failinject_engine::points::POINTS {
            assert!(calls_of(p.name).next().is_some() || instead(p.name).is_some(), "{}", p.name);
        }
    }
}
