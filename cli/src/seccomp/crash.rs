//! Crash tracking under the seccomp backend: the crash model (`failinject_crash::Store`)
//! behind its [`Disk`] seam, implemented on descriptors the supervisor opens itself on the
//! program's files (through `/proc/PID/fd/N`, so a write-only or `O_APPEND` descriptor of the
//! program's never limits how the model reads and restores).
//!
//! A `powercut` or `lose` rule makes the filter trap every call that changes file data or
//! makes it durable, by every process of the run, whatever the rules match: before such a
//! call goes ahead, the bytes it overwrites are saved; a sync is made on the program's behalf
//! (so that its success is known) and forgets what it made durable. A power cut kills every
//! process of the run, then rolls every file back as the cut's mode says.
//!
//! With `powercut(dirs)` the directory entries are journaled too. A rename, link, removal or
//! creation goes ahead as the program made it ("continue"), so its result is learned
//! afterwards: before the call what it replaces is held and what it expects is noted, and at
//! the thread's next trapped call (or at the cut) the entry is journaled if the file system
//! shows the call happened (the source gone and the target there, the path there or gone).
//!
//! Some uses need each change's result ([`Tracker::exact`]): a cut that keeps some changes
//! (`prefix`, `any`, `torn`) keeps what each left, to make it again; the record of changes
//! (`changes.rs`, for `explore --crash=search`) records each; a live crash state
//! (`powercut(keep=ID)`) counts each as the recording counted it. Then writes are made on the
//! program's behalf by the supervisor, and truncations are seen done as entries are.
//!
//! Not tracked here (warned about): writes through shared mappings.
#![forbid(unsafe_code)]

use super::changes::{Recorder, Subject};
use super::facts;
use super::table::{Call, Io, Target};
use failinject_crash::{Cut, Disk, Handle, Keep, Kind, Op, Stat, Store, Warning};
use std::collections::HashMap;
use std::ffi::CStr;
use std::fs::File;
use std::os::fd::AsRawFd as _;
use std::os::unix::fs::{FileExt as _, MetadataExt as _};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

/// The calls that change file data or make it durable: what tracking traps.
pub const TRACKED: &[&str] = &[
    "write",
    "pwrite",
    "writev",
    "pwritev",
    "pwritev2",
    "copy_file_range",
    "sendfile",
    "ftruncate",
    "truncate",
    "fallocate",
    "open",
    "openat",
    "creat",
    "fsync",
    "fdatasync",
    "sync_file_range",
    "syncfs",
    "sync",
    "mmap",
];

/// The calls that change directory entries: what `powercut(dirs)` traps besides.
pub const TRACKED_DIRS: &[&str] = &[
    "rename",
    "renameat",
    "renameat2",
    "link",
    "linkat",
    "symlink",
    "symlinkat",
    "unlink",
    "unlinkat",
    "rmdir",
    "mkdir",
    "mkdirat",
];

/// A change whose result is not known yet: journaled (and recorded) once the file system
/// shows it happened.
struct Pending {
    /// The process, the call that makes it, and when it was trapped (the record's time).
    pid: i32,
    point: &'static str,
    t: u64,
    what: Pended,
}

/// The file a call names: by path, or by the process's descriptor.
enum On<'a> {
    Path(&'a [u8]),
    Fd(i32),
}

/// How a call changes a file's size: to a length, or (`fallocate`) from an offset on (`None`:
/// only the size).
enum Size {
    To(u64),
    From(Option<u64>),
}

enum Pended {
    /// A directory entry's change.
    Entry { op: Op, path: Vec<u8>, to: Option<Vec<u8>>, held: Option<Handle> },
    /// A truncation to `len` bytes (kept and recorded; tracking saved the bytes it cuts
    /// already), the file held open to see its size.
    Truncated { file: File, st: Stat, path: Vec<u8>, len: u64 },
    /// An `fallocate` that changes the bytes from `from` on, or only the size (recorded
    /// only).
    Allocated { file: File, st: Stat, path: Vec<u8>, from: Option<u64> },
}

/// Bytes of undo memory (virtual: pages are touched as records are saved).
const ARENA: usize = 1 << 30;

/// The run's crash model: large (fixed tables of files and journal entries), so it lives in
/// a static, never on a stack. One run per `failinject` process.
static STORE: Mutex<Store<'static>> = Mutex::new(Store::new());

/// The run's crash model and the files it holds open.
pub struct Tracker {
    disk: Ours,
    /// Directory entries are journaled (`powercut(dirs)`).
    dirs: bool,
    /// Per thread, its directory changes waiting to be seen done.
    pending: Mutex<HashMap<i32, Vec<Pending>>>,
    /// A warning already printed (each once).
    warned: Mutex<Vec<&'static str>>,
    /// The record of changes, for explore's crash search.
    record: Option<Recorder>,
    /// What each change left is kept in the model, for cuts that keep some changes (`prefix`,
    /// `any`, `torn`); on from the first rule with such a cut.
    keeps: AtomicBool,
    /// With a `powercut(keep=ID)` rule: each change seen done, in order, counted as explore's
    /// recording counted it, with its number in the model (0: none; never less than the one
    /// before, so the table can be searched), for making the crash state live.
    counted: Option<Mutex<Vec<u64>>>,
}

/// What a tracked call is, as far as the model cares.
pub enum Change {
    /// It changes file data (what it overwrites was saved).
    Data,
    /// It writes to descriptor `fd` of a regular file at `at` (`None`: the file offset), what
    /// it overwrites saved.
    Write { fd: i32, at: Option<u64> },
    /// It makes a file, a range or a file system durable: made on the program's behalf.
    Sync,
    /// Nothing the model tracks.
    None,
}

impl Tracker {
    /// The run's tracker; with `record`, every change is recorded too (directory entries
    /// are then journaled as `dirs` does); with `keeps`, what each change left is kept for
    /// cuts that keep some; with `replay`, changes are counted for a live crash state
    /// (`keep=`), which needs both.
    pub fn new(dirs: bool, record: Option<Recorder>, keeps: bool, replay: bool) -> Tracker {
        let t = Tracker {
            disk: Ours::default(),
            dirs: dirs || record.is_some() || replay,
            pending: Mutex::new(HashMap::new()),
            warned: Mutex::new(Vec::new()),
            record,
            keeps: AtomicBool::new(keeps || replay),
            counted: replay.then(|| Mutex::new(Vec::new())),
        };
        let mut store = t.store();
        if !store.ready() {
            store.give_arena(Box::leak(vec![0u8; ARENA].into_boxed_slice()));
        }
        drop(store);
        t
    }

    fn store(&self) -> std::sync::MutexGuard<'static, Store<'static>> {
        STORE.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Says `what` once per run.
    fn warn_once(&self, what: &'static str) {
        let mut w = self.warned.lock().unwrap_or_else(|e| e.into_inner());
        if !w.contains(&what) {
            w.push(what);
            eprintln!("failinject: warning: {what}");
        }
    }

    fn warn(&self, r: Result<(), Warning>) {
        if let Err(w) = r {
            self.warn_once(w.text());
        }
    }

    /// Whether each change's result must be known: to record it, or to keep what it left
    /// for a cut that keeps changes. Writes are then made on the program's behalf
    /// ([`Tracker::wrote`]), and truncations seen done.
    pub fn exact(&self) -> bool {
        self.record.is_some() || self.keeps()
    }

    fn keeps(&self) -> bool {
        self.keeps.load(Ordering::Acquire)
    }

    /// From now on, what each change leaves is kept (a rule whose cut keeps changes came
    /// over the control socket). Changes made before are lost whole by such a cut.
    pub fn keep_changes(&self) {
        self.keeps.store(true, Ordering::Release);
    }

    /// What a change left, kept in the model (when cuts keep changes) by `redo`; the
    /// model's number for it (0: none).
    fn redo(&self, redo: impl FnOnce(&mut Store<'static>, &Ours) -> Result<(), Warning>) -> u64 {
        if !self.keeps() {
            return 0;
        }
        let mut s = self.store();
        let r = redo(&mut s, &self.disk);
        let seq = s.seq();
        drop(s);
        self.warn(r);
        seq
    }

    /// A change seen done, numbered `seq` in the model: recorded (`record`) and counted.
    fn seen(&self, seq: u64, record: impl FnOnce(&Recorder)) {
        if let Some(r) = &self.record {
            record(r);
        }
        if let Some(c) = &self.counted {
            let mut c = c.lock().unwrap_or_else(|e| e.into_inner());
            let before = c.last().copied().unwrap_or(0);
            c.push(seq.max(before));
        }
    }

    /// Notes a change of thread `tid` to see done at its next call.
    fn pend(&self, (pid, tid): (i32, i32), point: &'static str, what: Pended) {
        let t = self.record.as_ref().map_or(0, Recorder::now);
        self.pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(tid)
            .or_default()
            .push(Pending { pid, point, t, what });
    }

    /// When results must be known: a change of the size of the file at `path`, to record
    /// and keep once seen done.
    fn pend_size(&self, ids: (i32, i32), point: &'static str, on: On<'_>, size: Size) {
        if !self.exact() {
            return;
        }
        let (open, path) = match on {
            On::Path(p) => (String::from_utf8_lossy(p).into_owned(), Some(p.to_vec())),
            On::Fd(fd) => (proc_fd(ids.0, fd), facts::fd_path(ids.0, i64::from(fd))),
        };
        let (Ok(file), Some(path)) = (File::open(open), path) else { return };
        let Some(st) = file.metadata().ok().map(|m| stat(&m)).filter(Stat::regular) else {
            return;
        };
        let what = match size {
            Size::To(len) => Pended::Truncated { file, st, path, len },
            Size::From(from) => Pended::Allocated { file, st, path, from },
        };
        self.pend(ids, point, what);
    }

    /// Before `call` (by process `pid`, with `args`) goes ahead: saves what it overwrites.
    /// Returns what kind of change it is.
    pub fn before(&self, call: &'static Call, pid: i32, tid: i32, args: &[u64; 6]) -> Change {
        let fd = |i: usize| args[i] as i64 as i32;
        if self.dirs {
            self.before_entry(call, pid, tid, args);
        }
        match call.point {
            "fsync" | "fdatasync" | "sync_file_range" | "syncfs" | "sync" => Change::Sync,
            "mmap" => {
                let shared = args[3] as i32 & libc::MAP_SHARED != 0;
                let writable = args[2] as i32 & libc::PROT_WRITE != 0;
                if shared && writable && fd_stat(pid, fd(4)).is_some_and(|s| s.regular()) {
                    self.warn_once(
                        "writes through a shared writable mapping are not tracked by the seccomp \
                         backend: a power cut keeps them (use --backend preload to track them)",
                    );
                }
                Change::None
            }
            "open" | "openat" | "creat" => {
                let flags = match (call.point, call.target) {
                    ("creat", _) => libc::O_TRUNC,
                    (_, Target::At(..)) => args[2] as i32,
                    _ => args[1] as i32,
                };
                if flags & libc::O_TRUNC == 0 || call.name == "openat2" {
                    return Change::None;
                }
                let path = match call.target {
                    Target::At(d, p) => facts::read_cstr(pid, args[p])
                        .map(|p| facts::absolute(pid, Some(args[d] as i64), &p)),
                    Target::Path(p) => {
                        facts::read_cstr(pid, args[p]).map(|p| facts::absolute(pid, None, &p))
                    }
                    _ => None,
                };
                if let Some(path) = path {
                    self.before_cut_path(&path, 0);
                    self.pend_size((pid, tid), call.point, On::Path(&path), Size::To(0));
                }
                Change::Data
            }
            "truncate" => {
                let Some(path) = facts::read_cstr(pid, args[0]) else { return Change::None };
                let path = facts::absolute(pid, None, &path);
                self.before_cut_path(&path, args[1]);
                self.pend_size((pid, tid), call.point, On::Path(&path), Size::To(args[1]));
                Change::Data
            }
            "ftruncate" => {
                let change = self.before_fd(pid, fd(0), Some(args[1]), u64::MAX);
                self.pend_size((pid, tid), call.point, On::Fd(fd(0)), Size::To(args[1]));
                change
            }
            "fallocate" => {
                let mode = args[1] as i32;
                let from = (mode & !libc::FALLOC_FL_KEEP_SIZE != 0).then_some(args[2]);
                let change = match from {
                    Some(off) => self.before_fd(pid, fd(0), Some(off), u64::MAX),
                    None => self.register_fd(pid, fd(0)),
                };
                self.pend_size((pid, tid), call.point, On::Fd(fd(0)), Size::From(from));
                change
            }
            _ => {
                let target = match call.target {
                    Target::Fd(i) => i,
                    Target::Copy(_, to) => to,
                    _ => return Change::None,
                };
                let len = match call.io {
                    Io::Write(_, n) | Io::Copy(n) => args[n],
                    Io::WriteV(v, c) => facts::iovecs(pid, args[v], args[c])
                        .map_or(u64::MAX, |v| v.iter().map(|&(_, l)| l as u64).sum()),
                    _ => return Change::None,
                };
                let at = match (call.offset, call.point) {
                    (Some(i), _) if args[i] as i64 >= 0 => Some(args[i]),
                    // copy_file_range's output offset is a pointer.
                    (_, "copy_file_range") if args[3] != 0 => {
                        let mut b = [0u8; 8];
                        super::kernel::read_mem(pid, args[3], &mut b)
                            .ok()
                            .filter(|&n| n == 8)
                            .map(|_| u64::from_ne_bytes(b))
                    }
                    _ => None,
                };
                match self.before_fd(pid, fd(target), at, len) {
                    Change::Data => Change::Write { fd: fd(target), at },
                    other => other,
                }
            }
        }
    }

    /// When results must be known: a write of `call` by process `pid` to its descriptor `fd`
    /// (at `at`, `None`: at the file offset) made on its behalf moved `n` bytes.
    pub fn wrote(
        &self,
        call: &'static Call,
        pid: i32,
        fd: i32,
        at: Option<u64>,
        n: u64,
        args: &[u64; 6],
    ) {
        let Ok(file) = File::open(proc_fd(pid, fd).as_str()) else { return };
        let info = fd_info(pid, fd);
        // The offset moved past what was written (to the end first, with `O_APPEND`).
        let Some(off) = at.or_else(|| info.map(|(pos, _)| pos.saturating_sub(n))) else { return };
        let Some(st) = file.metadata().ok().map(|m| stat(&m)) else { return };
        let seq = self.redo(|s, d| s.wrote(d, &st, off, n));
        self.seen(seq, |r| {
            let rwf = call.rw_flags.map_or(0, |i| args[i] as i32);
            let dsync = info.is_some_and(|(_, f)| f & (libc::O_DSYNC | libc::O_SYNC) != 0)
                || rwf & (libc::RWF_DSYNC | libc::RWF_SYNC) != 0;
            let path = facts::fd_path(pid, i64::from(fd));
            let s = subject((pid, call.point, r.now()), Some(&st), path.as_deref());
            r.write(&s, (off, n), &file, dsync);
        });
    }

    /// Before a call that may change a directory entry: what it replaces is held, and what it
    /// expects to see done is noted for thread `tid` ([`Tracker::settle`]).
    fn before_entry(&self, call: &'static Call, pid: i32, tid: i32, args: &[u64; 6]) {
        let creates = match call.point {
            "open" | "openat" | "creat" => {
                let flags = match call.target {
                    Target::At(..) => args[2] as i32,
                    _ if call.point == "creat" => libc::O_CREAT,
                    _ => args[1] as i32,
                };
                flags & libc::O_CREAT != 0 && call.name != "openat2"
            }
            "mkdir" | "mkdirat" | "link" | "linkat" | "symlink" | "symlinkat" => true,
            _ => false,
        };
        let f = facts::read(call, pid, tid, args, false);
        let Some(path) = f.path else { return };
        let lstat = |p: &[u8]| std::fs::symlink_metadata(String::from_utf8_lossy(p).as_ref()).ok();
        let pending = if creates {
            // Only a new name is a creation (an open of an existing file changes no entry).
            if lstat(&path).is_some() {
                return;
            }
            Pended::Entry { op: Op::Created, path, to: None, held: None }
        } else {
            match call.point {
                "rename" | "renameat" | "renameat2" => {
                    // RENAME_EXCHANGE swaps two entries: not journaled.
                    if call.point == "renameat2" && args[4] & 2 != 0 {
                        return;
                    }
                    let Some(from) = f.path2 else { return };
                    let held = self.hold(&path, lstat(&path));
                    Pended::Entry { op: Op::Renamed, path: from, to: Some(path), held }
                }
                "unlink" | "unlinkat" | "rmdir" => {
                    let Some(meta) = lstat(&path) else { return };
                    let dir = meta.is_dir();
                    let held = self.hold(&path, Some(meta));
                    Pended::Entry { op: Op::Removed { dir }, path, to: None, held }
                }
                _ => return,
            }
        };
        self.pend((pid, tid), call.point, pending);
    }

    /// A handle on the regular file at `path`, which a removal or rename is about to replace.
    fn hold(&self, path: &[u8], meta: Option<std::fs::Metadata>) -> Option<Handle> {
        meta.filter(std::fs::Metadata::is_file)?;
        self.disk.open_read(&String::from_utf8_lossy(path))
    }

    /// Journals (and records) the changes of thread `tid` (all threads' for `None`) that the
    /// file system shows happened; drops the others.
    pub fn settle(&self, tid: Option<i32>) {
        if !self.dirs {
            return;
        }
        let done: Vec<Pending> = {
            let mut p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
            match tid {
                Some(t) => p.remove(&t).unwrap_or_default(),
                None => p.drain().flat_map(|(_, v)| v).collect(),
            }
        };
        for p in done {
            match p.what {
                Pended::Entry { op, path, to, held } => {
                    self.settle_entry((p.pid, p.point, p.t), op, path, to, held);
                }
                Pended::Truncated { file, st, path, len } => {
                    if file.metadata().map_or(u64::MAX, |m| m.len()) != len {
                        continue;
                    }
                    let seq = self.redo(|s, d| s.truncated(d, &st, len));
                    let s = subject((p.pid, p.point, p.t), Some(&st), Some(&path));
                    self.seen(seq, |r| r.truncate(&s, len));
                }
                // The record sees an allocation as what it left: the bytes from where it
                // changed them to the end, and the size (as the preload records it).
                Pended::Allocated { file, st, path, from } => {
                    let size = file.metadata().map_or(st.size, |m| m.len());
                    let s = subject((p.pid, p.point, p.t), Some(&st), Some(&path));
                    if let Some(off) = from.filter(|off| *off < size) {
                        self.seen(0, |r| r.write(&s, (off, size - off), &file, false));
                    }
                    if size != st.size || from.is_some() {
                        self.seen(0, |r| r.truncate(&s, size));
                    }
                }
            }
        }
    }

    /// A directory change seen done or not: journaled and recorded, or its held file let go.
    fn settle_entry(
        &self,
        (pid, point, t): (i32, &'static str, u64),
        op: Op,
        path: Vec<u8>,
        to: Option<Vec<u8>>,
        held: Option<Handle>,
    ) {
        let there = |p: &[u8]| std::fs::symlink_metadata(String::from_utf8_lossy(p).as_ref()).ok();
        let happened = match (&op, &to) {
            (Op::Created, _) => there(&path).is_some(),
            (Op::Removed { .. }, _) => there(&path).is_none(),
            (Op::Renamed, Some(to)) => there(&path).is_none() && there(to).is_some(),
            (Op::Renamed, None) => false,
        };
        if !happened {
            if let Some(h) = held {
                self.disk.release(h);
            }
            return;
        }
        let (r, seq) = {
            let mut s = self.store();
            let r = s.journal(&self.disk, op, &path, to.as_deref(), held);
            (r, s.seq())
        };
        self.warn(r);
        // The file the entry names now (a removal's is gone).
        let named = there(to.as_deref().unwrap_or(&path));
        let dir = named.as_ref().is_some_and(std::fs::Metadata::is_dir);
        let st = named.as_ref().map(stat).filter(|_| !dir);
        let s = subject((pid, point, t), st.as_ref(), Some(&path));
        self.seen(seq, |rec| match op {
            Op::Created if point.starts_with("symlink") => rec.entry(&s, "symlink", None, false),
            Op::Created if point.starts_with("link") => rec.entry(&s, "link", None, false),
            Op::Created => rec.entry(&s, "create", None, dir),
            Op::Renamed => rec.entry(&s, "rename", to.as_deref(), dir),
            Op::Removed { dir } => rec.entry(&s, "unlink", None, dir),
        });
    }

    /// Before a change of `len` bytes at `at` (`None`: the file offset, or the end for
    /// `O_APPEND`) to descriptor `fd` of process `pid`.
    fn before_fd(&self, pid: i32, fd: i32, at: Option<u64>, len: u64) -> Change {
        let Some(st) = fd_stat(pid, fd).filter(Stat::regular) else { return Change::None };
        let off = at.or_else(|| {
            let (pos, flags) = fd_info(pid, fd)?;
            Some(if flags & libc::O_APPEND != 0 { st.size } else { pos })
        });
        let open = || self.disk.open(&format!("/proc/{pid}/fd/{fd}"));
        let mut s = self.store();
        let r = match off {
            Some(off) if len == u64::MAX => s.before_cut(&self.disk, &st, open, off),
            Some(off) => s.before_write(&self.disk, &st, open, off, len),
            None => s.register(&self.disk, &st, open),
        };
        drop(s);
        self.warn(r);
        Change::Data
    }

    fn register_fd(&self, pid: i32, fd: i32) -> Change {
        let Some(st) = fd_stat(pid, fd).filter(Stat::regular) else { return Change::None };
        let open = || self.disk.open(&format!("/proc/{pid}/fd/{fd}"));
        let r = self.store().register(&self.disk, &st, open);
        self.warn(r);
        Change::Data
    }

    fn before_cut_path(&self, path: &[u8], off: u64) {
        let path = String::from_utf8_lossy(path).into_owned();
        let Some(st) = std::fs::symlink_metadata(&path).ok().map(|m| stat(&m)) else { return };
        if !st.regular() {
            return;
        }
        let r = self.store().before_cut(&self.disk, &st, || self.disk.open(&path), off);
        self.warn(r);
    }

    /// A sync of `call` succeeded for process `pid`: what it made durable is forgotten.
    pub fn synced(&self, call: &Call, pid: i32, args: &[u64; 6]) {
        let fd = args[0] as i64 as i32;
        let mut s = self.store();
        let r = match call.point {
            "sync" => s.synced_all(&self.disk),
            "syncfs" => match fd_stat(pid, fd) {
                Some(st) => s.synced_fs(&self.disk, st.dev),
                None => Ok(()),
            },
            "sync_file_range" => {
                if args[3] as u32 & libc::SYNC_FILE_RANGE_WAIT_AFTER != 0
                    && let Some(st) = fd_stat(pid, fd)
                {
                    s.synced_range(&self.disk, &st, args[1], args[2]);
                }
                Ok(())
            }
            _ => match fd_stat(pid, fd) {
                Some(st) if !st.dir() || self.dirs => s.synced(&self.disk, &st),
                _ => Ok(()),
            },
        };
        drop(s);
        self.warn(r);
        if call.point == "sync_file_range" && args[3] as u32 & libc::SYNC_FILE_RANGE_WAIT_AFTER == 0
        {
            return;
        }
        let st = (call.point != "sync").then(|| fd_stat(pid, fd)).flatten();
        let path = (call.point != "sync").then(|| facts::fd_path(pid, i64::from(fd))).flatten();
        self.seen(0, |rec| {
            let sub = subject((pid, call.point, rec.now()), st.as_ref(), path.as_deref());
            match call.point {
                "sync" | "syncfs" => rec.synced(&sub, call.point, false, None),
                "sync_file_range" => {
                    rec.synced(&sub, "sync_range", false, Some((args[1], args[2])));
                }
                _ => rec.synced(&sub, "fsync", st.is_some_and(|s| s.dir()), None),
            }
        });
    }

    /// `lose(E)` on a sync of descriptor `fd` of process `pid` (`whole_fs`: `syncfs`).
    pub fn lose(&self, pid: i32, fd: i32, whole_fs: bool, clean: bool) {
        let Some(st) = fd_stat(pid, fd) else { return };
        let mut s = self.store();
        if clean {
            s.lose_clean(&self.disk, &st, whole_fs);
        } else if !s.lose(&self.disk, &st, whole_fs) {
            drop(s);
            self.warn_once("lose: a file could not be rolled back completely");
        }
    }

    /// The power fails: every file back to its synced state but what `cut` keeps. The
    /// caller has killed every process of the run. False when a file could not be rolled
    /// back completely.
    pub fn power_cut(&self, cut: &Cut, seed: u64) -> bool {
        self.settle(None);
        let seed = match cut.keep {
            Some(keep) => self.mark_kept(keep),
            None => seed,
        };
        self.store().power_cut(&self.disk, cut, seed)
    }

    /// Before a `powercut(keep=ID)`: every record of the model marked with what the crash
    /// state does with its change, found by the change's place in the count; returns the cut's
    /// seed, the number of the last directory entry kept. Says so when the program made other
    /// changes than the recording, or a kept change has no record to make again.
    fn mark_kept(&self, keep: &Keep) -> u64 {
        let counted =
            self.counted.as_ref().map(|c| c.lock().unwrap_or_else(|e| e.into_inner()).clone());
        let seqs = counted.unwrap_or_default();
        if seqs.len() as u64 != keep.point + 1 {
            self.warn_once(
                "powercut(keep=...): the program made other changes than explore recorded before \
                 this cut; the state made differs from the one explore checked",
            );
        }
        // The change whose number in the model is `seq`, by its place in the count.
        let index_of = |seq: u64| {
            let i = seqs.partition_point(|&q| q < seq);
            (seq != 0 && seqs.get(i) == Some(&seq)).then_some(i as u64)
        };
        let (last, exact) =
            self.store().mark_kept(&|seq| index_of(seq).and_then(|i| keep.fate(i)), keep.entries);
        if !exact {
            self.warn_once(
                "powercut(keep=...): a torn write of more than 48 sectors is kept whole",
            );
        }
        let has_record = |i: u64| {
            let at = |j: u64| seqs.get(j as usize).copied().unwrap_or(0);
            at(i) > i.checked_sub(1).map_or(0, at)
        };
        if keep.kept.iter().any(|&i| i <= keep.point && !has_record(i)) {
            self.warn_once(
                "powercut(keep=...): a kept change has no record to make again (a write the \
                 model could not record): it is rolled back, and the state differs from the one \
                 explore checked",
            );
        }
        last
    }

    /// How many changes were seen done, for a live crash state (`keep=`).
    pub fn count(&self) -> u64 {
        self.counted
            .as_ref()
            .map_or(0, |c| c.lock().unwrap_or_else(|e| e.into_inner()).len() as u64)
    }
}

/// What a change record of process `pid` (its call's point, trapped at `t`) says of its
/// file.
fn subject<'a>(
    (pid, point, t): (i32, &'a str, u64),
    st: Option<&'a Stat>,
    path: Option<&'a [u8]>,
) -> Subject<'a> {
    Subject { pid, t, point, st, path }
}

/// `/proc/PID/fd/FD`: descriptor `fd` of process `pid`, as the supervisor opens it.
fn proc_fd(pid: i32, fd: i32) -> String {
    format!("/proc/{pid}/fd/{fd}")
}

/// The identity and size of what descriptor `fd` of process `pid` refers to.
fn fd_stat(pid: i32, fd: i32) -> Option<Stat> {
    (fd >= 0).then(|| std::fs::metadata(format!("/proc/{pid}/fd/{fd}")).ok().map(|m| stat(&m)))?
}

/// The file offset and status flags of descriptor `fd` of process `pid`.
fn fd_info(pid: i32, fd: i32) -> Option<(u64, i32)> {
    let info = std::fs::read_to_string(format!("/proc/{pid}/fdinfo/{fd}")).ok()?;
    let field = |name: &str| info.lines().find_map(|l| l.strip_prefix(name)).map(str::trim);
    let pos = field("pos:")?.parse().ok()?;
    let flags = i32::from_str_radix(field("flags:")?, 8).ok()?;
    Some((pos, flags))
}

fn stat(m: &std::fs::Metadata) -> Stat {
    let kind = if m.is_file() {
        Kind::Regular
    } else if m.is_dir() {
        Kind::Dir
    } else {
        Kind::Other
    };
    Stat { dev: m.dev(), ino: m.ino(), size: m.size(), kind }
}

/// The model's files, on descriptors of the supervisor's own (a handle is the descriptor's
/// number, kept open here until the model releases it).
#[derive(Default)]
struct Ours {
    files: Mutex<HashMap<i32, File>>,
}

impl Ours {
    /// A read-write handle on a file whose data the model saves and restores.
    fn open(&self, path: &str) -> Option<Handle> {
        self.keep(std::fs::OpenOptions::new().read(true).write(true).open(path).ok()?)
    }

    /// A read-only handle: a file a removal or rename replaces, kept to be written back.
    fn open_read(&self, path: &str) -> Option<Handle> {
        self.keep(File::open(path).ok()?)
    }

    fn keep(&self, f: File) -> Option<Handle> {
        let h = f.as_raw_fd();
        self.files.lock().unwrap_or_else(|e| e.into_inner()).insert(h, f);
        Some(Handle(h))
    }

    fn with<T>(&self, h: Handle, f: impl FnOnce(&File) -> Option<T>) -> Option<T> {
        f(self.files.lock().unwrap_or_else(|e| e.into_inner()).get(&h.0)?)
    }
}

fn path_of(p: &CStr) -> &std::path::Path {
    use std::os::unix::ffi::OsStrExt as _;
    std::path::Path::new(std::ffi::OsStr::from_bytes(p.to_bytes()))
}

impl Disk for Ours {
    fn read_at(&self, h: Handle, buf: &mut [u8], off: u64) -> usize {
        self.with(h, |f| {
            let mut got = 0;
            while got < buf.len() {
                match f.read_at(&mut buf[got..], off + got as u64) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => got += n,
                }
            }
            Some(got)
        })
        .unwrap_or(0)
    }
    fn write_at(&self, h: Handle, data: &[u8], off: u64) -> bool {
        self.with(h, |f| f.write_all_at(data, off).ok()).is_some()
    }
    fn truncate(&self, h: Handle, len: u64) -> bool {
        self.with(h, |f| f.set_len(len).ok()).is_some()
    }
    fn size(&self, h: Handle) -> Option<u64> {
        self.with(h, |f| f.metadata().ok().map(|m| m.len()))
    }
    fn release(&self, h: Handle) {
        self.files.lock().unwrap_or_else(|e| e.into_inner()).remove(&h.0);
    }
    fn stat_path(&self, path: &CStr) -> Option<Stat> {
        std::fs::symlink_metadata(path_of(path)).ok().map(|m| stat(&m))
    }
    fn remove(&self, path: &CStr, dir: bool) -> bool {
        if dir { std::fs::remove_dir(path_of(path)) } else { std::fs::remove_file(path_of(path)) }
            .is_ok()
    }
    fn rename(&self, from: &CStr, to: &CStr) -> bool {
        std::fs::rename(path_of(from), path_of(to)).is_ok()
    }
    fn make_dir(&self, path: &CStr) -> bool {
        std::fs::create_dir(path_of(path)).is_ok()
    }
    fn write_back(&self, from: Handle, path: &CStr) -> bool {
        self.with(from, |f| {
            let mut src = f.try_clone().ok()?;
            use std::io::Seek as _;
            src.seek(std::io::SeekFrom::Start(0)).ok()?;
            let mut dst = File::create(path_of(path)).ok()?;
            std::io::copy(&mut src, &mut dst).ok()?;
            dst.set_permissions(f.metadata().ok()?.permissions()).ok()
        })
        .is_some()
    }
}
