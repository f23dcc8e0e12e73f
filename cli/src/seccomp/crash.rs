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
//! Not tracked here (refused by the plan or warned about): writes through shared mappings, and
//! explore's crash states (`keep=`).
#![forbid(unsafe_code)]

use super::facts;
use super::table::{Call, Io, Target};
use failinject_crash::{Cut, Disk, Handle, Kind, Op, Stat, Store, Warning};
use std::collections::HashMap;
use std::ffi::CStr;
use std::fs::File;
use std::os::fd::AsRawFd as _;
use std::os::unix::fs::{FileExt as _, MetadataExt as _};
use std::sync::Mutex;

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

/// A directory change whose result is not known yet: journaled once the file system shows
/// it happened.
struct Pending {
    op: Op,
    path: Vec<u8>,
    to: Option<Vec<u8>>,
    held: Option<Handle>,
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
}

/// What a tracked call is, as far as the model cares.
pub enum Change {
    /// It changes file data (what it overwrites was saved).
    Data,
    /// It makes a file, a range or a file system durable: made on the program's behalf.
    Sync,
    /// Nothing the model tracks.
    None,
}

impl Tracker {
    pub fn new(dirs: bool) -> Tracker {
        let t = Tracker {
            disk: Ours::default(),
            dirs,
            pending: Mutex::new(HashMap::new()),
            warned: Mutex::new(Vec::new()),
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

    /// Before `call` (by process `pid`, with `args`) goes ahead: saves what it overwrites.
    /// Returns what kind of change it is.
    pub fn before(&self, call: &Call, pid: i32, tid: i32, args: &[u64; 6]) -> Change {
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
                }
                Change::Data
            }
            "truncate" => {
                let Some(path) = facts::read_cstr(pid, args[0]) else { return Change::None };
                self.before_cut_path(&facts::absolute(pid, None, &path), args[1]);
                Change::Data
            }
            "ftruncate" => self.before_fd(pid, fd(0), Some(args[1]), u64::MAX),
            "fallocate" => {
                let mode = args[1] as i32;
                let from = (mode & !libc::FALLOC_FL_KEEP_SIZE != 0).then_some(args[2]);
                match from {
                    Some(off) => self.before_fd(pid, fd(0), Some(off), u64::MAX),
                    None => self.register_fd(pid, fd(0)),
                }
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
                self.before_fd(pid, fd(target), at, len)
            }
        }
    }

    /// Before a call that may change a directory entry: what it replaces is held, and what it
    /// expects to see done is noted for thread `tid` ([`Tracker::settle`]).
    fn before_entry(&self, call: &Call, pid: i32, tid: i32, args: &[u64; 6]) {
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
            Pending { op: Op::Created, path, to: None, held: None }
        } else {
            match call.point {
                "rename" | "renameat" | "renameat2" => {
                    // RENAME_EXCHANGE swaps two entries: not journaled.
                    if call.point == "renameat2" && args[4] & 2 != 0 {
                        return;
                    }
                    let Some(from) = f.path2 else { return };
                    let held = self.hold(&path, lstat(&path));
                    Pending { op: Op::Renamed, path: from, to: Some(path), held }
                }
                "unlink" | "unlinkat" | "rmdir" => {
                    let Some(meta) = lstat(&path) else { return };
                    let dir = meta.is_dir();
                    let held = self.hold(&path, Some(meta));
                    Pending { op: Op::Removed { dir }, path, to: None, held }
                }
                _ => return,
            }
        };
        self.pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(tid)
            .or_default()
            .push(pending);
    }

    /// A handle on the regular file at `path`, which a removal or rename is about to replace.
    fn hold(&self, path: &[u8], meta: Option<std::fs::Metadata>) -> Option<Handle> {
        meta.filter(std::fs::Metadata::is_file)?;
        self.disk.open_read(&String::from_utf8_lossy(path))
    }

    /// Journals the directory changes of thread `tid` (all threads' for `None`) that the file
    /// system shows happened; drops the others.
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
        let there =
            |p: &[u8]| std::fs::symlink_metadata(String::from_utf8_lossy(p).as_ref()).is_ok();
        for e in done {
            let happened = match (&e.op, &e.to) {
                (Op::Created, _) => there(&e.path),
                (Op::Removed { .. }, _) => !there(&e.path),
                (Op::Renamed, Some(to)) => !there(&e.path) && there(to),
                (Op::Renamed, None) => false,
            };
            if !happened {
                if let Some(h) = e.held {
                    self.disk.release(h);
                }
                continue;
            }
            let r = self.store().journal(&self.disk, e.op, &e.path, e.to.as_deref(), e.held);
            self.warn(r);
        }
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
        self.store().power_cut(&self.disk, cut, seed)
    }
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
