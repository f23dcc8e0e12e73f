//! The recording's changes, read back: the files the preload wrote with `FAILINJECT_CHANGES`
//! (`preload/src/changes.rs`), one `changes.PID.jsonl` and one `data.PID` per process, merged
//! into one list in the order the changes were made.
#![forbid(unsafe_code)]

use anyhow::Context as _;
use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;

/// A file, as the recording run knew it: device and inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileId {
    pub dev: u64,
    pub ino: u64,
}

/// What a change did. Paths are relative to the run's directory.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// `len` bytes written at `off` (their bytes in the data file of `pid` at `at`); `dsync`:
    /// durable when the call returned; `mmap`: pages written through a shared mapping.
    Write { file: FileId, off: u64, len: u64, at: u64, dsync: bool, mmap: bool },
    /// The file's size set to `len`.
    Truncate { file: FileId, len: u64 },
    /// A file (or, with `dir`, a directory) created at `path`.
    Create { file: Option<FileId>, path: String, dir: bool },
    /// A hard link to `file` made at `path`.
    Link { file: Option<FileId>, path: String },
    /// `from` renamed to `to`.
    Rename { from: String, to: String },
    /// The entry at `path` removed (a directory with `dir`).
    Unlink { path: String, dir: bool },
    /// `fsync`/`fdatasync` of a file, or of the directory at `path` with `dir`.
    Fsync { file: Option<FileId>, path: Option<String>, dir: bool },
    /// `sync_file_range` (`len` 0: to the end) or `msync` of a file's bytes.
    SyncRange { file: FileId, off: u64, len: u64 },
    /// `syncfs` of a file system.
    SyncFs { dev: u64 },
    /// `sync()`.
    Sync,
}

impl Op {
    /// Whether it changes the bytes or size of a file (not a directory entry, not a sync).
    pub fn is_data(&self) -> bool {
        matches!(self, Op::Write { .. } | Op::Truncate { .. })
    }

    /// Whether it changes a directory entry.
    pub fn is_entry(&self) -> bool {
        matches!(self, Op::Create { .. } | Op::Link { .. } | Op::Rename { .. } | Op::Unlink { .. })
    }

    /// Its name in reports.
    pub fn name(&self) -> &'static str {
        match self {
            Op::Write { mmap: true, .. } => "store through a mapping",
            Op::Write { .. } => "write",
            Op::Truncate { .. } => "truncate",
            Op::Create { dir: true, .. } => "mkdir",
            Op::Create { .. } => "create",
            Op::Link { .. } => "link",
            Op::Rename { .. } => "rename",
            Op::Unlink { dir: true, .. } => "rmdir",
            Op::Unlink { .. } => "unlink",
            Op::Fsync { dir: true, .. } => "fsync of a directory",
            Op::Fsync { .. } => "fsync",
            Op::SyncRange { .. } => "sync of a range",
            Op::SyncFs { .. } => "syncfs",
            Op::Sync => "sync",
        }
    }
}

/// One change, in the order of the trace.
#[derive(Debug, Clone)]
pub struct Change {
    pub op: Op,
    /// The process that made it.
    pub pid: u32,
    /// The file's path when the change was made, if known (relative to the run's directory).
    pub path: Option<String>,
    /// The call site (hex id) and its frames.
    pub site: String,
    pub frames: Vec<String>,
}

/// The trace of one recording run.
pub struct Trace {
    /// Every change the program made inside the run's directory, in order.
    pub changes: Vec<Change>,
    /// How many changes were made outside it (listed, not laid out).
    pub outside: Vec<String>,
    /// Each process's data file, open once for every state laid out.
    data: HashMap<u32, std::fs::File>,
}

impl Trace {
    /// Reads the trace in `dir`, whose changes were made in the run directory `work`.
    pub fn read(dir: &Path, work: &Path) -> anyhow::Result<Trace> {
        let mut raw: Vec<(u64, u32, u64, Value)> = Vec::new();
        for entry in std::fs::read_dir(dir).with_context(|| format!("{}", dir.display()))? {
            let path = entry?.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            if !name.starts_with("changes.") {
                continue;
            }
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            for line in text.lines() {
                let Ok(v) = serde_json::from_str::<Value>(line) else { continue };
                let num = |k: &str| v.get(k).and_then(Value::as_u64).unwrap_or(0);
                raw.push((num("t"), num("pid") as u32, num("n"), v));
            }
        }
        // By the clock, then per process in its own order.
        raw.sort_by_key(|(t, pid, n, _)| (*t, *pid, *n));
        let work = work.to_string_lossy().into_owned();
        let mut frames_of: HashMap<String, Vec<String>> = HashMap::new();
        let mut changes = Vec::new();
        let mut outside = Vec::new();
        for (_, pid, _, v) in raw {
            let text = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
            let num = |k: &str| v.get(k).and_then(Value::as_u64).unwrap_or(0);
            let flag = |k: &str| v.get(k).and_then(Value::as_bool).unwrap_or(false);
            let site = text("site").unwrap_or_default();
            if let Some(f) = v.get("frames").and_then(Value::as_array) {
                let f = f.iter().filter_map(Value::as_str).map(str::to_string).collect();
                frames_of.entry(site.clone()).or_insert(f);
            }
            let file = v.get("ino").map(|_| FileId { dev: num("dev"), ino: num("ino") });
            let abs = text("path");
            let rel = |p: &Option<String>| p.as_deref().and_then(|p| relative(&work, p));
            let path = rel(&abs);
            // A named change outside the run's directory is listed, not laid out.
            if abs.is_some() && path.is_none() && text("op").as_deref() != Some("fsync") {
                outside.push(format!(
                    "{} {}",
                    text("op").unwrap_or_default(),
                    abs.unwrap_or_default()
                ));
                continue;
            }
            let op = match text("op").as_deref() {
                Some("write") => Op::Write {
                    file: file.context("a write without its file")?,
                    off: num("off"),
                    len: num("len"),
                    at: num("at"),
                    dsync: flag("dsync"),
                    mmap: text("via").as_deref() == Some("mmap"),
                },
                Some("truncate") => Op::Truncate {
                    file: file.context("a truncation without its file")?,
                    len: num("len"),
                },
                // A symbolic link's target is not recorded: listed, not laid out.
                Some("symlink") => {
                    outside.push(format!("symlink {}", abs.unwrap_or_default()));
                    continue;
                }
                Some("create") => {
                    Op::Create { file, path: path.clone().unwrap_or_default(), dir: flag("dir") }
                }
                Some("link") => Op::Link { file, path: path.clone().unwrap_or_default() },
                Some("rename") => match rel(&text("to")) {
                    Some(to) => Op::Rename { from: path.clone().unwrap_or_default(), to },
                    None => {
                        outside.push(format!("rename to {}", text("to").unwrap_or_default()));
                        continue;
                    }
                },
                Some("unlink") => {
                    Op::Unlink { path: path.clone().unwrap_or_default(), dir: flag("dir") }
                }
                Some("fsync") => Op::Fsync { file, path: path.clone(), dir: flag("dir") },
                Some("sync_range") | Some("msync") => Op::SyncRange {
                    file: file.context("a range sync without its file")?,
                    off: num("off"),
                    len: num("len"),
                },
                Some("syncfs") => Op::SyncFs { dev: num("dev") },
                Some("sync") => Op::Sync,
                other => anyhow::bail!("an unknown change in the trace: {other:?}"),
            };
            changes.push(Change { op, pid, path, site, frames: Vec::new() });
        }
        let mut data = HashMap::new();
        for c in &mut changes {
            c.frames = frames_of.get(&c.site).cloned().unwrap_or_default();
            if let Op::Write { .. } = c.op
                && let std::collections::hash_map::Entry::Vacant(e) = data.entry(c.pid)
            {
                let path = dir.join(format!("data.{}", c.pid));
                e.insert(
                    std::fs::File::open(&path).with_context(|| format!("{}", path.display()))?,
                );
            }
        }
        Ok(Trace { changes, outside, data })
    }

    /// The bytes of a write: `len` bytes at `at` of the data file of `pid`.
    pub fn data(&self, pid: u32, at: u64, len: u64) -> anyhow::Result<Vec<u8>> {
        use std::os::unix::fs::FileExt as _;
        let file = self.data.get(&pid).with_context(|| format!("no data file of process {pid}"))?;
        let mut buf = vec![0u8; usize::try_from(len)?];
        file.read_exact_at(&mut buf, at).with_context(|| format!("data.{pid} at {at}"))?;
        Ok(buf)
    }
}

/// `path` relative to `work`, if it lies inside it (`""` for `work` itself).
fn relative(work: &str, path: &str) -> Option<String> {
    let rest = path.strip_prefix(work)?;
    match rest.strip_prefix('/') {
        Some(r) => Some(r.to_string()),
        None if rest.is_empty() => Some(String::new()),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_inside_the_run_directory_are_made_relative() {
        assert_eq!(relative("/t/work", "/t/work/a/b").as_deref(), Some("a/b"));
        assert_eq!(relative("/t/work", "/t/work").as_deref(), Some(""));
        assert_eq!(relative("/t/work", "/t/workshop/a"), None);
        assert_eq!(relative("/t/work", "/etc/passwd"), None);
    }

    #[test]
    fn changes_of_several_processes_merge_by_clock_and_frames_fill_in() {
        let dir = std::env::temp_dir().join(format!("fi-trace-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("changes.7.jsonl"),
            concat!(
                r#"{"t":10,"pid":7,"n":1,"op":"create","dev":1,"ino":5,"path":"/w/f","site":"a","frames":["p+0x1"]}"#,
                "\n",
                r#"{"t":30,"pid":7,"n":2,"op":"fsync","dev":1,"ino":5,"path":"/w/f","site":"b","frames":[]}"#,
                "\n",
            ),
        )
        .unwrap();
        std::fs::write(
            dir.join("changes.8.jsonl"),
            concat!(
                r#"{"t":20,"pid":8,"n":1,"op":"write","dev":1,"ino":5,"path":"/w/f","off":0,"len":3,"at":0,"site":"a"}"#,
                "\n",
                r#"{"t":25,"pid":8,"n":2,"op":"write","dev":1,"ino":9,"path":"/etc/x","off":0,"len":3,"at":3,"site":"c"}"#,
                "\n",
            ),
        )
        .unwrap();
        std::fs::write(dir.join("data.8"), b"abcdef").unwrap();
        let t = Trace::read(&dir, Path::new("/w")).unwrap();
        let ops: Vec<&str> = t.changes.iter().map(|c| c.op.name()).collect();
        assert_eq!(ops, ["create", "write", "fsync"]);
        assert_eq!(t.changes[1].frames, ["p+0x1"], "a site's frames come with its first record");
        assert_eq!(t.outside, ["write /etc/x"]);
        assert_eq!(t.data(8, 3, 3).unwrap(), b"def");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
