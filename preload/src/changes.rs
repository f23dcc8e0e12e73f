//! The record of changes for `failinject explore --crash` (SPEC §8.1): every change the
//! process makes to files and directories, in order, with the bytes it wrote and its call
//! site, so that explore can build the crash states a power cut could leave without running
//! the program again.
//!
//! `FAILINJECT_CHANGES=DIR` turns it on (with write tracking, whose hooks see every change).
//! Each process writes two files into DIR, named by its pid:
//!
//! - `changes.PID.jsonl`, one JSON object per change: `t` (the monotonic clock, which orders
//!   the changes of several processes), `pid`, `n` (this process's count), `op`, the file
//!   (`dev`, `ino`, `path`) and what the op says (`off`, `len`, `to`, `dir`, …), `site` and,
//!   the first time a site is seen, its `frames`;
//! - `data.PID`, the bytes of each write, copied from the file right after the write (later
//!   writes overwrite the file): a write's record says where they are (`at`).
//!
//! The ops: `write` (`via` `mmap` for pages written through a shared mapping, recorded at the
//! sync that found them, or at exit for those never synced; `dsync` for a write durable when
//! it returned), `truncate`, `create`
//! (`dir` for mkdir), `link`, `symlink`, `rename` (`path` to `to`), `unlink` (`dir` for rmdir),
//! `fsync` (of a file or `dir`ectory; `fdatasync` too), `sync_range`, `syncfs`, `sync`.
//!
//! Records are written with raw system calls under one spin lock, from the hooks of write
//! tracking (`crash.rs`); nothing here allocates after [`start`].

use crate::log::json::Line;
use crate::sys::kfile::{self, to_high};
use crate::sys::raw;
use crate::sys::site;
use crate::sys::spin::SpinLock;
use failinject_crash::Stat;
use libc::{c_int, c_long};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Whether changes are recorded.
static ON: AtomicBool = AtomicBool::new(false);
/// Whether a crash state is to be made live (`powercut(keep=ID)`): changes are counted as the
/// recording counts them, without files.
static ARMED: AtomicBool = AtomicBool::new(false);
/// This process's changes so far.
static COUNT: AtomicU64 = AtomicU64::new(0);
/// For a live replay, each change's number in the crash model, up to the crash point: a
/// change that has none repeats the one before, so the table never decreases.
static SEQS: OnceLock<&'static [AtomicU64]> = OnceLock::new();
/// The directory the files go into (set once, before `main`).
static DIR: OnceLock<Vec<u8>> = OnceLock::new();
/// This process's files.
static WRITER: SpinLock<Writer> = SpinLock::new(Writer::CLOSED);

/// How many sites' frames a process remembers having written (more: written again).
const SEEN: usize = 512;

struct Writer {
    changes: c_int,
    data: c_int,
    /// Bytes in the data file.
    data_at: u64,
    /// Records written by this process.
    count: u64,
    /// Sites whose frames were written (0: empty).
    seen: [u64; SEEN],
}

impl Writer {
    const CLOSED: Writer = Writer { changes: -1, data: -1, data_at: 0, count: 0, seen: [0; SEEN] };

    /// Whether `site` was seen before; notes it.
    fn seen(&mut self, site: u64) -> bool {
        let site = site.max(1);
        let mut i = site as usize % SEEN;
        for _ in 0..SEEN {
            match self.seen[i] {
                0 => {
                    self.seen[i] = site;
                    return false;
                }
                s if s == site => return true,
                _ => i = (i + 1) % SEEN,
            }
        }
        false
    }
}

/// Whether changes are recorded.
#[inline]
pub fn on() -> bool {
    ON.load(Ordering::Relaxed)
}

/// Whether changes are counted: recorded, or counted for a live replay.
#[inline]
pub fn counting() -> bool {
    ON.load(Ordering::Relaxed) || ARMED.load(Ordering::Relaxed)
}

/// Counts changes from now on for a live replay of a crash state whose crash point is change
/// `point` (from the configuration path, which may allocate: the table is made here, once).
pub fn arm(point: u64) {
    let len = usize::try_from(point).unwrap_or(usize::MAX).saturating_add(1).min(1 << 24);
    let _ = SEQS
        .set(Box::leak((0..len).map(|_| AtomicU64::new(0)).collect::<Vec<_>>().into_boxed_slice()));
    ARMED.store(true, Ordering::Release);
}

/// Counts one change whose number in the crash model is `seq` (0: none); its index.
fn counted(seq: u64) -> u64 {
    let i = COUNT.fetch_add(1, Ordering::AcqRel);
    if let Some(table) = SEQS.get()
        && let Some(slot) = table.get(i as usize)
    {
        let before = i
            .checked_sub(1)
            .and_then(|j| table.get(j as usize))
            .map_or(0, |t| t.load(Ordering::Acquire));
        slot.store(seq.max(before), Ordering::Release);
    }
    i
}

/// Whether a live replay of a crash state counts changes.
#[inline]
pub fn armed() -> bool {
    ARMED.load(Ordering::Relaxed)
}

/// How many changes this process made.
pub fn count() -> u64 {
    COUNT.load(Ordering::Acquire)
}

/// Whether change `i` has a number of its own in the crash model (a record to make again): a
/// store through a mapping, or a sync, has none.
pub fn has_record(i: u64) -> bool {
    let Some(table) = SEQS.get() else { return false };
    let at = |j: u64| table.get(j as usize).map_or(0, |t| t.load(Ordering::Acquire));
    let before = i.checked_sub(1).map_or(0, at);
    at(i) > before
}

/// The index of the change whose number in the crash model is `seq`, among those counted.
pub fn index_of(seq: u64) -> Option<u64> {
    let table = SEQS.get()?;
    let n = (count() as usize).min(table.len());
    let seqs = &table[..n];
    let i = seqs.partition_point(|t| t.load(Ordering::Acquire) < seq);
    (seqs.get(i)?.load(Ordering::Acquire) == seq && seq != 0).then_some(i as u64)
}

/// Starts recording into `dir` (from the constructor, before `main`). An error names the file
/// that could not be opened.
pub fn start(dir: &[u8]) -> Result<(), String> {
    let _ = DIR.set(dir.to_vec());
    let mut w = WRITER.lock();
    let opened = open_files(&mut w);
    drop(w);
    opened.map_err(|e| format!("FAILINJECT_CHANGES: {e} in {}", String::from_utf8_lossy(dir)))?;
    site::warm_up();
    ON.store(true, Ordering::Release);
    Ok(())
}

/// In a forked child: its own files, opened at its first change (the parent's stay the
/// parent's).
pub fn after_fork_in_child() {
    // The child's changes are its own, counted from 0 (as its records are).
    COUNT.store(0, Ordering::Release);
    WRITER.reset_after_fork();
    let mut w = WRITER.lock();
    // Not closed: they are the parent's too, and close-on-exec.
    *w = Writer::CLOSED;
}

/// This process's files, opened at a forked child's first change: a child that changes
/// nothing (a shell that only forks) leaves none. (The first process opens them at start,
/// to say at once when the directory cannot take them.)
fn writer() -> Option<crate::sys::spin::Held<'static, Writer>> {
    let mut w = WRITER.lock();
    if w.changes < 0 && open_files(&mut w).is_err() {
        return None;
    }
    Some(w)
}

/// Opens this process's two files (appending: an exec'd program keeps its pid and its files;
/// files left empty by [`start`] are removed by the reader). Allocates nothing (it runs in a
/// forked child).
fn open_files(w: &mut Writer) -> Result<(), &'static str> {
    let Some(dir) = DIR.get() else { return Err("no directory") };
    *w = Writer::CLOSED;
    let mut digits = [0u8; 20];
    let pid = raw::decimal(u64::from(raw::pid()), &mut digits);
    let mut name = [0u8; 4096];
    let open = |name: &mut [u8; 4096], parts: &[&[u8]], append: bool| {
        let mut n = 0;
        for p in parts {
            let end = n + p.len();
            if end >= name.len() {
                return Err("the directory's name is too long");
            }
            name[n..end].copy_from_slice(p);
            n = end;
        }
        name[n] = 0;
        let path = std::ffi::CStr::from_bytes_until_nul(&name[..=n])
            .map_err(|_| "the directory's name holds a NUL")?;
        let flags = libc::O_WRONLY | libc::O_CREAT | if append { libc::O_APPEND } else { 0 };
        let fd = kfile::open_at(libc::AT_FDCWD, path, flags, 0o644);
        if fd < 0 {
            return Err("cannot open the files");
        }
        Ok(to_high(fd))
    };
    w.changes = open(&mut name, &[dir, b"/changes.", pid, b".jsonl"], true)?;
    // Not O_APPEND: copy_file_range writes at an offset we keep.
    w.data = open(&mut name, &[dir, b"/data.", pid], false)?;
    w.data_at = kfile::fstat(w.data).map_or(0, |st| st.size);
    Ok(())
}

/// A change about to be written: the line, begun with what every record holds.
fn record(
    w: &mut Writer,
    line: &mut Line<'_>,
    op: &[u8],
    file: Option<&Stat>,
    path: Option<&[u8]>,
    frames: &site::Frames,
) {
    w.count += 1;
    line.num("t", raw::monotonic_ns() as i64)
        .num("pid", i64::from(raw::pid()))
        .num("n", w.count as i64)
        .str("op", op);
    if let Some(st) = file {
        line.num("dev", st.dev as i64).num("ino", st.ino as i64);
    }
    if let Some(p) = path {
        line.str("path", p);
    }
    if w.seen(frames.id()) {
        crate::log::site_only(line, frames);
    } else {
        crate::log::site_and_frames(line, frames);
    }
}

/// Counts a change whose number in the crash model is `seq`; whether it is to be recorded.
fn counts(seq: u64) -> bool {
    if !counting() {
        return false;
    }
    counted(seq);
    on()
}

/// Writes the record of a change: what every record holds, then `more`.
fn emit(
    w: &mut Writer,
    (op, file, path): (&[u8], Option<&Stat>, Option<&[u8]>),
    frames: &site::Frames,
    more: impl FnOnce(&mut Line<'_>),
) {
    let mut buf = [0u8; 4096];
    let mut line = Line::new(&mut buf);
    record(w, &mut line, op, file, path, frames);
    more(&mut line);
    raw::write_all(w.changes, line.finish());
}

/// The path of the program's descriptor `fd`, into `buf`.
fn fd_path(fd: c_int, buf: &mut [u8]) -> Option<&[u8]> {
    crate::fd::table::path(fd, buf).map(|n| &buf[..n])
}

/// `len` bytes written at `off` of the file `st` (the program's descriptor `fd`, -1 if none),
/// read back through `from`, a descriptor of ours that reads the file. `dsync`: durable when
/// the write returned; `mmap`: pages written through a shared mapping, found at a sync;
/// `seq`: its number in the crash model (0: none).
pub fn write(
    st: &Stat,
    fd: c_int,
    from: c_int,
    (off, len): (u64, u64),
    (dsync, mmap): (bool, bool),
    seq: u64,
) {
    if len == 0 || !counts(seq) {
        return;
    }
    let frames = site::capture();
    let mut path = [0u8; 1024];
    let path = fd_path(fd, &mut path);
    let Some(mut w) = writer() else { return };
    let at = w.data_at;
    let copied = copy(from, off, w.data, at, len);
    w.data_at += copied;
    emit(&mut w, (b"write", Some(st), path), &frames, |line| {
        line.num("off", off as i64).num("len", copied as i64).num("at", at as i64);
        if dsync {
            line.raw("dsync", b"true");
        }
        if mmap {
            line.str("via", b"mmap");
        }
    });
}

/// The file `st` (the program's `fd`, -1 if none, or its `path`) was truncated or extended
/// to `len` (`seq`: its number in the crash model, 0: none).
pub fn truncate(st: &Stat, fd: c_int, path: Option<&[u8]>, len: u64, seq: u64) {
    if !counts(seq) {
        return;
    }
    let frames = site::capture();
    let mut buf = [0u8; 1024];
    let path = path.or_else(|| fd_path(fd, &mut buf));
    let Some(mut w) = writer() else { return };
    emit(&mut w, (b"truncate", Some(st), path), &frames, |line| {
        line.num("len", len as i64);
    });
}

/// A directory entry changed: `op` is `create`, `link`, `symlink`, `rename` (from `path` to
/// `to`) or `unlink`; `file` the file it names (after a creation or rename), `dir` whether it
/// is a directory; `seq` its number in the crash model's journal (0: none).
pub fn entry(
    op: &[u8],
    (path, to): (&[u8], Option<&[u8]>),
    file: Option<&Stat>,
    dir: bool,
    seq: u64,
) {
    if !counts(seq) {
        return;
    }
    let frames = site::capture();
    let Some(mut w) = writer() else { return };
    emit(&mut w, (op, file, Some(path)), &frames, |line| {
        if let Some(to) = to {
            line.str("to", to);
        }
        if dir {
            line.raw("dir", b"true");
        }
    });
}

/// A sync succeeded: `fsync` of the file or directory `st` (the program's `fd`), `sync_range`
/// of its bytes `range` (length 0: to the end), `syncfs` of its file system, or `sync`
/// (`st` `None`).
pub fn synced(op: &[u8], st: Option<&Stat>, fd: c_int, range: Option<(u64, u64)>) {
    if !counts(0) {
        return;
    }
    let frames = site::capture();
    let mut buf = [0u8; 1024];
    let path = if fd >= 0 { fd_path(fd, &mut buf) } else { None };
    let Some(mut w) = writer() else { return };
    emit(&mut w, (op, st, path), &frames, |line| {
        if st.is_some_and(Stat::dir) {
            line.raw("dir", b"true");
        }
        if let Some((off, len)) = range {
            line.num("off", off as i64).num("len", len as i64);
        }
    });
}

/// Copies `len` bytes of `from` at `off` into `to` at `at`, in the kernel where it can;
/// how many it copied.
fn copy(from: c_int, off: u64, to: c_int, at: u64, len: u64) -> u64 {
    let (mut off_in, mut off_out) = (off as i64, at as i64);
    let mut done = 0;
    while done < len {
        // SAFETY: both offsets are live locals the kernel updates; descriptors of ours.
        let n = unsafe {
            libc::syscall(
                libc::SYS_copy_file_range,
                from as c_long,
                &mut off_in as *mut i64,
                to as c_long,
                &mut off_out as *mut i64,
                (len - done) as c_long,
                0 as c_long,
            )
        };
        if n <= 0 {
            break;
        }
        done += n as u64;
    }
    // Where the kernel cannot (another file system on an old kernel): through a buffer.
    let mut chunk = [0u8; 1024];
    while done < len {
        let want = ((len - done) as usize).min(chunk.len());
        let got = kfile::pread_full(from, &mut chunk[..want], off + done);
        if got == 0 || !kfile::pwrite_all(to, &chunk[..got], at + done) {
            break;
        }
        done += got as u64;
    }
    done
}
