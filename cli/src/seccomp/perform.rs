//! Calls made on the program's behalf: a shortened, corrupted or budgeted (`full`) read,
//! write or copy. The supervisor reads the program's buffer (`process_vm_readv`), makes the
//! call through a copy of the program's descriptor (`pidfd_getfd`: the same open file, so
//! the file offset moves as the program's own call would move it), puts read data back
//! (`process_vm_writev`), and answers with the count.
//!
//! Sound only because the filter waits killably (`SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV`):
//! once the notification is received, no signal but a fatal one can interrupt the task, so
//! the kernel never restarts a call we already made. After every read of the program's
//! memory or descriptors the notification is checked to be alive (`still_valid`).
#![forbid(unsafe_code)]

use super::facts;
use super::kernel::{self, Answer, Notif};
use super::table::{Call, Io};
use failinject_engine::Corruption;
use std::io;
use std::os::fd::OwnedFd;
use std::path::Path;

/// The trapped call a performance is for.
pub struct Task<'a> {
    pub listener: &'a OwnedFd,
    pub notif: &'a Notif,
    pub call: &'static Call,
    pub tgid: i32,
    /// The test-only hold before the check of the notification (`hold_after_read`).
    pub hold: Option<&'a Path>,
}

impl Task<'_> {
    fn tid(&self) -> i32 {
        self.notif.pid as i32
    }

    fn arg(&self, i: usize) -> u64 {
        self.notif.data.args[i]
    }

    /// Whether the notification is still alive, checked after every read of the program's
    /// memory or descriptors and before the call is made.
    fn alive(&self) -> bool {
        if let Some(path) = self.hold {
            hold_after_read(path, self.tgid);
        }
        kernel::still_valid(self.listener, self.notif.id)
    }

    /// A copy of the program's descriptor in argument `i`.
    fn take(&self, i: usize) -> io::Result<OwnedFd> {
        let pidfd = kernel::pidfd_open(self.tgid)?;
        kernel::pidfd_getfd(&pidfd, self.arg(i) as i64 as i32)
    }

    /// The offset and `RWF_*` flags of the call: -1 (the file offset) for calls without one.
    fn offset_and_flags(&self) -> (i64, i32) {
        let off = self.call.offset.map_or(-1, |i| self.arg(i) as i64);
        let flags = self.call.rw_flags.map_or(0, |i| self.arg(i) as i32);
        (off, flags)
    }

    /// Where the call's data is in the program: (address, length) pieces.
    fn pieces(&self) -> Option<Vec<(u64, usize)>> {
        match self.call.io {
            Io::Write(b, n) | Io::Read(b, n) => Some(vec![(self.arg(b), self.arg(n) as usize)]),
            Io::WriteV(v, c) | Io::ReadV(v, c) => {
                facts::iovecs(self.tid(), self.arg(v), self.arg(c))
            }
            Io::None | Io::Copy(_) => None,
        }
    }
}

/// What became of a performance: the answer, and the bytes it moved (`None` when the task
/// died and nothing may be answered).
pub struct Done {
    pub answer: Answer,
    pub moved: u64,
}

fn error(e: &io::Error) -> Done {
    Done { answer: Answer::Error(e.raw_os_error().unwrap_or(libc::EIO)), moved: 0 }
}

/// Makes the call with at most `max` bytes, the data altered by `corrupt` if given.
/// `None` when the task died meanwhile.
pub fn perform(t: &Task<'_>, max: u64, corrupt: Option<(Corruption, u64)>) -> Option<Done> {
    match t.call.io {
        Io::Write(..) | Io::WriteV(..) => write(t, max, corrupt),
        Io::Read(..) | Io::ReadV(..) => read(t, max, corrupt),
        Io::Copy(_) => copy(t, max),
        Io::None => Some(Done { answer: Answer::Continue, moved: 0 }),
    }
}

fn write(t: &Task<'_>, max: u64, corrupt: Option<(Corruption, u64)>) -> Option<Done> {
    let Some(pieces) = t.pieces() else { return Some(error(&efault())) };
    let mut data = kernel::Aligned::zeroed(length(&pieces, max));
    let mut filled = 0;
    for (addr, len) in pieces {
        let want = (data.len() - filled).min(len);
        if want == 0 {
            break;
        }
        let got = match kernel::read_mem(t.tid(), addr, &mut data[filled..filled + want]) {
            Ok(n) => n,
            Err(e) => return Some(error(&e)),
        };
        filled += got;
        if got < want {
            break;
        }
    }
    data.truncate(filled);
    if let Some((mode, bits)) = corrupt {
        mode.alter(&mut data, bits);
    }
    let fd = match t.take(0) {
        Ok(fd) => fd,
        Err(e) => return Some(error(&e)),
    };
    if !t.alive() {
        return None;
    }
    let (off, flags) = t.offset_and_flags();
    let r = kernel::pwritev2(&fd, &data, off, flags);
    Some(match r {
        Ok(n) => Done { answer: Answer::Value(n as i64), moved: n as u64 },
        Err(e) => error(&e),
    })
}

fn read(t: &Task<'_>, max: u64, corrupt: Option<(Corruption, u64)>) -> Option<Done> {
    let Some(pieces) = t.pieces() else { return Some(error(&efault())) };
    let fd = match t.take(0) {
        Ok(fd) => fd,
        Err(e) => return Some(error(&e)),
    };
    if !t.alive() {
        return None;
    }
    let mut data = kernel::Aligned::zeroed(length(&pieces, max));
    let (off, flags) = t.offset_and_flags();
    let n = match kernel::preadv2(&fd, &mut data, off, flags) {
        Ok(n) => n,
        Err(e) => return Some(error(&e)),
    };
    data.truncate(n);
    if let Some((mode, bits)) = corrupt {
        mode.alter(&mut data, bits);
    }
    if let Err(e) = kernel::write_mem(t.tid(), &data, &pieces) {
        return Some(error(&e));
    }
    Some(Done { answer: Answer::Value(n as i64), moved: n as u64 })
}

/// `copy_file_range` and `sendfile` with at most `max` bytes, their offset pointers read
/// from the program and written back.
fn copy(t: &Task<'_>, max: u64) -> Option<Done> {
    let sendfile = t.call.name == "sendfile";
    // (in, in offset pointer, out, out offset pointer, length, flags)
    let (fin, pin, fout, pout, len, flags) = if sendfile {
        (1, Some(2), 0, None, 3, None)
    } else {
        (0, Some(1), 2, Some(3), 4, Some(5))
    };
    let read_off = |p: Option<usize>| -> io::Result<Option<i64>> {
        let Some(addr) = p.map(|i| t.arg(i)).filter(|&a| a != 0) else { return Ok(None) };
        let mut b = [0u8; 8];
        if kernel::read_mem(t.tid(), addr, &mut b)? != 8 {
            return Err(efault());
        }
        Ok(Some(i64::from_ne_bytes(b)))
    };
    let taken =
        (|| Ok::<_, io::Error>((t.take(fin)?, t.take(fout)?, read_off(pin)?, read_off(pout)?)))();
    let (a, b, mut off_in, mut off_out) = match taken {
        Ok(x) => x,
        Err(e) => return Some(error(&e)),
    };
    if !t.alive() {
        return None;
    }
    let len = t.arg(len).min(max) as usize;
    let flags = flags.map_or(0, |i| t.arg(i) as u32);
    let r = if sendfile {
        kernel::sendfile(&b, &a, off_in.as_mut(), len)
    } else {
        kernel::copy_file_range(&a, off_in.as_mut(), &b, off_out.as_mut(), len, flags)
    };
    let n = match r {
        Ok(n) => n,
        Err(e) => return Some(error(&e)),
    };
    for (p, v) in [(pin, off_in), (pout, off_out)] {
        if let (Some(addr), Some(v)) = (p.map(|i| t.arg(i)).filter(|&a| a != 0), v) {
            let _ = kernel::write_mem(t.tid(), &v.to_ne_bytes(), &[(addr, 8)]);
        }
    }
    Some(Done { answer: Answer::Value(n as i64), moved: n as u64 })
}

/// For the test of the `alive()` check only (`FAILINJECT_TEST_HOLD_AFTER_READ`, read once by
/// the supervisor): the task's reads are done; writes `tgid` to `path`, then waits until the
/// test removes `path` (at most 10 s), so that the test can kill the task in this window.
fn hold_after_read(path: &Path, tgid: i32) {
    if std::fs::write(path, tgid.to_string()).is_err() {
        return;
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while path.exists() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}

/// The bytes a call over `pieces` moves, at most `max`, and at most what Linux moves in one
/// call (`MAX_RW_COUNT`): the program's own count never sizes more memory than that.
fn length(pieces: &[(u64, usize)], max: u64) -> usize {
    const MAX_RW_COUNT: u64 = 0x7fff_f000;
    let total: u64 = pieces.iter().map(|&(_, l)| l as u64).sum();
    total.min(max).min(MAX_RW_COUNT) as usize
}

fn efault() -> io::Error {
    io::Error::from_raw_os_error(libc::EFAULT)
}

/// A sync (`fsync`, `fdatasync`, `sync_file_range`, `syncfs`, `sync`) made on the program's
/// behalf through a copy of its descriptor, so that the supervisor knows whether it succeeded.
pub fn sync(t: &Task<'_>) -> Option<Done> {
    let fd = if t.call.point == "sync" {
        None
    } else {
        match t.take(0) {
            Ok(fd) => Some(fd),
            Err(e) => return Some(error(&e)),
        }
    };
    if !t.alive() {
        return None;
    }
    let args = [t.arg(1), t.arg(2), t.arg(3)];
    Some(match kernel::sync(t.call.point, fd.as_ref(), args) {
        Ok(()) => Done { answer: Answer::Value(0), moved: 0 },
        Err(e) => error(&e),
    })
}
