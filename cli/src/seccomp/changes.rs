//! The record of changes for `explore --crash=search` under the seccomp backend: the same
//! two files per process the preload writes (`preload/src/changes.rs` says the format), so
//! that explore reads one trace whichever backend made it.
//!
//! `FAILINJECT_CHANGES=DIR` in the environment of `failinject run --backend seccomp` turns it
//! on. The run then tracks every change as `powercut(dirs)` does (`crash.rs`), and learns each
//! change's result before it records it:
//! - a write to a regular file is made on the program's behalf (`perform.rs`), so its count
//!   is known, and its offset (the file offset after it, less the count, when the call names
//!   none); its bytes are copied from the file right after it, as the preload copies them;
//! - a sync is made on the program's behalf already (its success is what tracking needs);
//! - a creation, rename, link, removal or truncation goes ahead as the program made it, and
//!   is recorded once the file system shows it happened (at the thread's next trapped call,
//!   or at the end), stamped with the time it was trapped.
//!
//! There are no call sites out here: a change's site is its call and its file, named as the
//! log names them.
#![forbid(unsafe_code)]

use failinject_crash::Stat;
use serde_json::{Map, Value, json};
use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::Write as _;
use std::os::unix::fs::FileExt as _;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Instant;

/// One process's two files.
struct Files {
    changes: File,
    data: File,
    /// Bytes in the data file.
    data_at: u64,
    /// Records written.
    count: u64,
}

/// The run's record of changes.
pub struct Recorder {
    dir: PathBuf,
    files: Mutex<HashMap<i32, Files>>,
    /// Sites whose (empty) frames were written.
    seen: Mutex<HashSet<String>>,
    /// Processes whose files could not be opened (said once each).
    failed: Mutex<HashSet<i32>>,
    /// The clock the records are ordered by: every record of the run is written here.
    start: Instant,
}

/// What a change record says about its file.
pub struct Subject<'a> {
    pub pid: i32,
    /// When the call was trapped: its order among the run's changes.
    pub t: u64,
    /// The call's point (`write`), which with the path names the site.
    pub point: &'a str,
    pub st: Option<&'a Stat>,
    pub path: Option<&'a [u8]>,
}

impl Recorder {
    /// A recorder writing into `dir` (`FAILINJECT_CHANGES`).
    pub fn new(dir: PathBuf) -> Recorder {
        Recorder {
            dir,
            files: Mutex::new(HashMap::new()),
            seen: Mutex::new(HashSet::new()),
            failed: Mutex::new(HashSet::new()),
            start: Instant::now(),
        }
    }

    /// Now, on the records' clock.
    pub fn now(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    /// Records a write of `len` bytes at `off` of `file` (read back from it for the data
    /// file); `dsync` when it was durable as it returned.
    pub fn write(&self, s: &Subject<'_>, (off, len): (u64, u64), file: &File, dsync: bool) {
        let mut data = vec![0u8; usize::try_from(len).unwrap_or(0)];
        let mut got = 0;
        while got < data.len() {
            match file.read_at(&mut data[got..], off + got as u64) {
                Ok(0) | Err(_) => break,
                Ok(n) => got += n,
            }
        }
        data.truncate(got);
        self.emit(s, "write", Some(&data), |r| {
            r.insert("off".into(), off.into());
            r.insert("len".into(), (got as u64).into());
            if dsync {
                r.insert("dsync".into(), true.into());
            }
        });
    }

    /// Records a truncation to `len` bytes.
    pub fn truncate(&self, s: &Subject<'_>, len: u64) {
        self.emit(s, "truncate", None, |r| {
            r.insert("len".into(), len.into());
        });
    }

    /// Records a directory entry's change: `create`, `link`, `symlink`, `rename` (to `to`) or
    /// `unlink`; `dir` for a directory's.
    pub fn entry(&self, s: &Subject<'_>, op: &str, to: Option<&[u8]>, dir: bool) {
        self.emit(s, op, None, |r| {
            if let Some(to) = to {
                r.insert("to".into(), String::from_utf8_lossy(to).into());
            }
            if dir {
                r.insert("dir".into(), true.into());
            }
        });
    }

    /// Records a sync that succeeded: `fsync` (of a file or `dir`ectory), `sync_range`,
    /// `syncfs`, `sync`.
    pub fn synced(&self, s: &Subject<'_>, op: &str, dir: bool, range: Option<(u64, u64)>) {
        self.emit(s, op, None, |r| {
            if dir {
                r.insert("dir".into(), true.into());
            }
            if let Some((off, len)) = range {
                r.insert("off".into(), off.into());
                r.insert("len".into(), len.into());
            }
        });
    }

    /// Writes one record (and a write's bytes) into the files of process `s.pid`. Files that
    /// cannot be opened are said once per process, and its records are lost: the crash
    /// search then runs on a trace that lacks them.
    fn emit(
        &self,
        s: &Subject<'_>,
        op: &str,
        data: Option<&[u8]>,
        more: impl FnOnce(&mut Map<String, Value>),
    ) {
        let site = super::site_of(&format!("sys:{}", s.point), s.path.unwrap_or_default());
        let mut files = self.files.lock().unwrap_or_else(|e| e.into_inner());
        let f = match files.entry(s.pid) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => match self.open(s.pid) {
                Ok(f) => e.insert(f),
                Err(err) => {
                    if !self.failed.lock().unwrap_or_else(|e| e.into_inner()).insert(s.pid) {
                        return;
                    }
                    eprintln!(
                        "failinject: FAILINJECT_CHANGES: cannot write the changes of process \
                         {} in {}: {err}",
                        s.pid,
                        self.dir.display()
                    );
                    return;
                }
            },
        };
        f.count += 1;
        let mut r = json!({"t": s.t, "pid": s.pid, "n": f.count, "op": op});
        let o = r.as_object_mut().expect("an object");
        if let Some(st) = s.st {
            o.insert("dev".into(), st.dev.into());
            o.insert("ino".into(), st.ino.into());
        }
        if let Some(p) = s.path {
            o.insert("path".into(), String::from_utf8_lossy(p).into());
        }
        more(o);
        if let Some(data) = data {
            o.insert("at".into(), f.data_at.into());
            if f.data.write_all(data).is_ok() {
                f.data_at += data.len() as u64;
            }
        }
        o.insert("site".into(), site.clone().into());
        if self.seen.lock().unwrap_or_else(|e| e.into_inner()).insert(site) {
            o.insert("frames".into(), Value::Array(Vec::new()));
        }
        let mut line = r.to_string();
        line.push('\n');
        let _ = f.changes.write_all(line.as_bytes());
    }

    fn open(&self, pid: i32) -> std::io::Result<Files> {
        let open = |name: String| {
            std::fs::OpenOptions::new().create(true).append(true).open(self.dir.join(name))
        };
        let data = open(format!("data.{pid}"))?;
        let data_at = data.metadata()?.len();
        Ok(Files { changes: open(format!("changes.{pid}.jsonl"))?, data, data_at, count: 0 })
    }
}
