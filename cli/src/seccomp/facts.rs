//! The facts of a trapped call that rules match on, read from outside the program: its
//! process (a notification names a thread), its target's path and kind (from `/proc`), the
//! paths it names (from its memory), and its byte count.
#![forbid(unsafe_code)]

use super::kernel;
use super::table::{Call, Io, Target};
use failinject_engine::{FileKind, absolute_into};
use std::os::unix::fs::FileTypeExt as _;

/// The thread group (process) of thread `tid`, from `/proc/TID/status` (one read into a
/// buffer of ours: the file says its size is 0, and a growing buffer costs eight reads).
pub fn tgid_of(tid: i32) -> Option<i32> {
    use std::io::Read as _;
    let mut f = std::fs::File::open(format!("/proc/{tid}/status")).ok()?;
    let mut buf = [0u8; 4096];
    let n = f.read(&mut buf).ok()?;
    let text = std::str::from_utf8(&buf[..n]).ok()?;
    let line = text.lines().find_map(|l| l.strip_prefix("Tgid:"))?;
    line.trim().parse().ok()
}

/// Whether thread `tid` is, now, a thread of process `tgid`: what a remembered mapping is
/// checked with, one `statx` instead of reading the status again.
pub fn is_thread_of(tid: i32, tgid: i32) -> bool {
    std::fs::symlink_metadata(format!("/proc/{tgid}/task/{tid}")).is_ok()
}

/// The kind of a descriptor's file as its `/proc/PID/fd/N` link names it, when the name
/// tells: sockets, pipes, terminals, anonymous inodes. `None` for a path, whose kind (file,
/// directory, device) needs a `stat`.
pub fn kind_from_link(link: &[u8]) -> Option<FileKind> {
    Some(if link.starts_with(b"socket:") {
        FileKind::Socket
    } else if link.starts_with(b"pipe:") {
        FileKind::Pipe
    } else if link.starts_with(b"anon_inode:") {
        FileKind::Other
    } else if link.starts_with(b"/dev/pts/") || link.starts_with(b"/dev/tty") {
        FileKind::Tty
    } else {
        return None;
    })
}

/// The path descriptor `fd` of process `tgid` was opened with, as `/proc` shows it.
pub fn fd_path(tgid: i32, fd: i64) -> Option<Vec<u8>> {
    use std::os::unix::ffi::OsStringExt as _;
    if fd < 0 {
        return None;
    }
    std::fs::read_link(format!("/proc/{tgid}/fd/{fd}")).ok().map(|p| p.into_os_string().into_vec())
}

/// The kind of the file behind descriptor `fd` of process `tgid`.
pub fn fd_kind(tgid: i32, fd: i64, path: Option<&[u8]>) -> FileKind {
    let Ok(meta) = std::fs::metadata(format!("/proc/{tgid}/fd/{fd}")) else {
        return FileKind::Unknown;
    };
    let t = meta.file_type();
    if t.is_file() || t.is_block_device() {
        FileKind::File
    } else if t.is_dir() {
        FileKind::Dir
    } else if t.is_socket() {
        FileKind::Socket
    } else if t.is_fifo() {
        FileKind::Pipe
    } else if t.is_char_device()
        && path.is_some_and(|p| p.starts_with(b"/dev/pts/") || p.starts_with(b"/dev/tty"))
    {
        FileKind::Tty
    } else {
        FileKind::Other
    }
}

/// A NUL-terminated string of task `tid`'s memory at `addr` (at most `PATH_MAX` bytes).
pub fn read_cstr(tid: i32, addr: u64) -> Option<Vec<u8>> {
    if addr == 0 {
        return None;
    }
    let mut out = Vec::new();
    let mut at = addr;
    while out.len() < libc::PATH_MAX as usize {
        // Up to the end of the page: a string may end just before an unmapped one.
        let room = 4096 - (at % 4096) as usize;
        let mut chunk = vec![0u8; room];
        let n = kernel::read_mem(tid, at, &mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        if let Some(end) = chunk[..n].iter().position(|&b| b == 0) {
            out.extend_from_slice(&chunk[..end]);
            return Some(out);
        }
        out.extend_from_slice(&chunk[..n]);
        at += n as u64;
    }
    None
}

/// `path` made absolute against `dirfd`'s path in process `tgid` (its current directory
/// for `AT_FDCWD`), `.` and `..` resolved lexically, as the preload does.
pub fn absolute(tgid: i32, dirfd: Option<i64>, path: &[u8]) -> Vec<u8> {
    use std::os::unix::ffi::OsStringExt as _;
    let base = if path.first() == Some(&b'/') {
        b"/".to_vec()
    } else {
        match dirfd {
            Some(fd) if fd as i32 != libc::AT_FDCWD => fd_path(tgid, fd).unwrap_or_default(),
            _ => std::fs::read_link(format!("/proc/{tgid}/cwd"))
                .map(|p| p.into_os_string().into_vec())
                .unwrap_or_default(),
        }
    };
    let mut out = vec![0u8; base.len() + path.len() + 2];
    match absolute_into(&base, path, &mut out) {
        Some(n) => {
            out.truncate(n);
            out
        }
        None => path.to_vec(),
    }
}

/// What rules see of one trapped call.
#[derive(Debug, Default)]
pub struct Facts {
    pub fd: Option<i32>,
    pub path: Option<Vec<u8>>,
    pub path2: Option<Vec<u8>>,
    pub kind: Option<FileKind>,
    pub size: Option<u64>,
}

/// Reads the facts of `call`, made by thread `tid` of process `tgid` with `args`. With
/// `exact_kind` false (no rule tells files from directories), a descriptor's file whose link
/// is a path is not `stat`ed: its kind stays unknown, which every rule without a `kind=`
/// filter takes as a file or directory.
pub fn read(call: &Call, tgid: i32, tid: i32, args: &[u64; 6], exact_kind: bool) -> Facts {
    let mut f = Facts::default();
    let fd_facts = |f: &mut Facts, fd: u64| {
        let fd = fd as i64 as i32;
        f.fd = Some(fd);
        f.path = fd_path(tgid, i64::from(fd));
        let named = f.path.as_deref().and_then(kind_from_link);
        f.kind = match named {
            Some(k) => Some(k),
            None if exact_kind || f.path.is_none() => {
                Some(fd_kind(tgid, i64::from(fd), f.path.as_deref()))
            }
            None => None,
        };
    };
    let at = |dirfd: Option<u64>, p: u64| {
        read_cstr(tid, p).map(|p| absolute(tgid, dirfd.map(|d| d as i64), &p))
    };
    match call.target {
        Target::None => {}
        Target::Fd(i) => fd_facts(&mut f, args[i]),
        Target::Path(i) => f.path = at(None, args[i]),
        Target::At(d, p) => f.path = at(Some(args[d]), args[p]),
        Target::Paths(a, b) => {
            f.path2 = at(None, args[a]);
            f.path = at(None, args[b]);
        }
        Target::At2(da, a, db, b) => {
            f.path2 = at(Some(args[da]), args[a]);
            f.path = at(Some(args[db]), args[b]);
        }
        Target::SymlinkAt(_, d, p) => f.path = at(Some(args[d]), args[p]),
        Target::Copy(from, to) => {
            fd_facts(&mut f, args[to]);
            f.path2 = fd_path(tgid, args[from] as i64);
        }
    }
    f.size = match call.io {
        Io::None => None,
        Io::Write(_, n) | Io::Read(_, n) | Io::Copy(n) => Some(args[n]),
        Io::WriteV(iov, cnt) | Io::ReadV(iov, cnt) => {
            iovecs(tid, args[iov], args[cnt]).map(|v| v.iter().map(|&(_, l)| l as u64).sum())
        }
    };
    f
}

/// The iovec array of `cnt` entries at `addr` in task `tid`'s memory, as (base, length).
pub fn iovecs(tid: i32, addr: u64, cnt: u64) -> Option<Vec<(u64, usize)>> {
    let cnt = usize::try_from(cnt).ok().filter(|&c| c <= 1024)?;
    let mut raw = vec![0u8; cnt * 16];
    if kernel::read_mem(tid, addr, &mut raw).ok()? != raw.len() {
        return None;
    }
    Some(
        raw.chunks_exact(16)
            .map(|c| {
                let base = u64::from_ne_bytes(c[..8].try_into().expect("8 bytes"));
                let len = u64::from_ne_bytes(c[8..].try_into().expect("8 bytes"));
                (base, len as usize)
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_our_own_process_as_it_would_a_program() {
        let me = std::process::id() as i32;
        assert_eq!(tgid_of(me), Some(me));
        let s = b"/some/path\0";
        assert_eq!(read_cstr(me, s.as_ptr() as u64).as_deref(), Some(&b"/some/path"[..]));
        let f = std::fs::File::open("/proc/self/status").unwrap();
        use std::os::fd::AsRawFd as _;
        let fd = i64::from(f.as_raw_fd());
        assert_eq!(fd_kind(me, fd, None), FileKind::File);
        assert!(fd_path(me, fd).unwrap().ends_with(b"/status"));
        let cwd = std::env::current_dir().unwrap();
        let abs = absolute(me, None, b"a/../b");
        assert_eq!(abs, cwd.join("b").as_os_str().as_encoded_bytes());
    }
}
