//! Laying a crash state out on disk: a copy of the run's directory as `--setup` left it, then
//! the changes the state keeps, in the order they were made.
//!
//! Files are followed by identity, as the recording run knew them (device and inode): a write
//! goes to wherever its file is in the state, under whatever name it has there, and a file
//! whose name was lost (its creation not durable) loses its writes with it.
#![forbid(unsafe_code)]

use super::model::{Pending, State};
use super::trace::{FileId, Op, Trace};
use crate::dir_tree::walk;
use anyhow::{Context as _, bail};
use std::collections::{HashMap, HashSet};
use std::os::unix::fs::{FileExt as _, MetadataExt as _};
use std::path::Path;
use std::process::Command;

/// The run's directory as `--setup` left it: a copy to start each state from, and the identity
/// the recording run's files had, by path.
pub struct Base {
    pub dir: std::path::PathBuf,
    pub files: HashMap<FileId, String>,
}

impl Base {
    /// Copies `work` (the recording run's directory, before the command runs) into `dir` and
    /// notes its files' identities.
    pub fn take(work: &Path, dir: &Path) -> anyhow::Result<Base> {
        copy_tree(work, dir)?;
        let mut files = HashMap::new();
        walk(work, "", &mut |rel, meta| {
            if meta.is_file() {
                files.insert(FileId { dev: meta.dev(), ino: meta.ino() }, rel.to_string());
            }
        })?;
        Ok(Base { dir: dir.to_path_buf(), files })
    }
}

/// `cp -a --reflink=auto FROM/. TO` (a reflink where the file system has them).
fn copy_tree(from: &Path, to: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(to)?;
    let status = Command::new("cp")
        .args(["-a", "--reflink=auto"])
        .arg(from.join("."))
        .arg(to)
        .status()
        .context("cannot run cp")?;
    if !status.success() {
        bail!("cannot copy {} ({status})", from.display());
    }
    Ok(())
}

/// Lays state `s` out in `dir` (which must not exist yet): `durable` says when each change
/// became durable ([`super::model::durable_at`]), `pending` what was not durable at the
/// state's point ([`super::model::pending`]).
pub fn lay_out(
    trace: &Trace,
    base: &Base,
    (durable, pending): (&[Option<usize>], &Pending),
    s: &State,
    dir: &Path,
    sector: u64,
) -> anyhow::Result<()> {
    copy_tree(&base.dir, dir)?;
    let mut at: HashMap<FileId, String> = base.files.clone();
    // The directory entries not durable past the kept prefix are lost.
    let lost_entries: HashSet<usize> = pending.entries.iter().skip(s.entries).copied().collect();
    let full = |rel: &str| dir.join(rel);
    for (i, c) in trace.changes[..=s.point].iter().enumerate() {
        let durable_here = durable[i].is_some_and(|j| j <= s.point);
        if c.op.is_data() && !durable_here && !s.kept.contains(&i) {
            continue;
        }
        if c.op.is_entry() && lost_entries.contains(&i) {
            continue;
        }
        match &c.op {
            Op::Write { file, off, len, at: data_at, .. } => {
                let Some(rel) = at.get(file) else { continue };
                let bytes = trace.data(c.pid, *data_at, *len)?;
                // A file whose name this state lost along the way (its directory's entry not
                // kept) loses its writes.
                let Ok(f) = std::fs::OpenOptions::new().write(true).open(full(rel)) else {
                    continue;
                };
                match s.torn.get(&i) {
                    None => f.write_all_at(&bytes, *off)?,
                    Some(mask) => {
                        // Sector by sector, each piece between sector boundaries of the file.
                        let (mut pos, end, mut part) = (*off, off + len, 0);
                        while pos < end {
                            let piece_end = ((pos / sector) + 1).saturating_mul(sector).min(end);
                            if mask.get(part).copied().unwrap_or(false) {
                                let (a, b) = ((pos - off) as usize, (piece_end - off) as usize);
                                f.write_all_at(&bytes[a..b], pos)?;
                            }
                            pos = piece_end;
                            part += 1;
                        }
                    }
                }
            }
            Op::Truncate { file, len } => {
                if let Some(rel) = at.get(file)
                    && let Ok(f) = std::fs::OpenOptions::new().write(true).open(full(rel))
                {
                    f.set_len(*len)?;
                }
            }
            Op::Create { file, path, dir: is_dir } => {
                if *is_dir {
                    let _ = std::fs::create_dir(full(path));
                } else if std::fs::File::create(full(path)).is_ok()
                    && let Some(f) = file
                {
                    // (No file when its directory's creation was lost.)
                    at.insert(*f, path.clone());
                }
            }
            Op::Link { file, path } => {
                if let Some(rel) = file.and_then(|f| at.get(&f)) {
                    let _ = std::fs::hard_link(full(rel), full(path));
                }
            }
            Op::Rename { from, to } => {
                if std::fs::rename(full(from), full(to)).is_ok() {
                    // Whatever `to` named is gone; whatever was at or under `from` moved.
                    at.retain(|_, p| p != to);
                    for p in at.values_mut() {
                        if p == from {
                            *p = to.clone();
                        } else if let Some(rest) = p.strip_prefix(&format!("{from}/")) {
                            *p = format!("{to}/{rest}");
                        }
                    }
                }
            }
            Op::Unlink { path, dir: is_dir } => {
                let gone = if *is_dir {
                    std::fs::remove_dir(full(path))
                } else {
                    std::fs::remove_file(full(path))
                };
                if gone.is_ok() {
                    at.retain(|_, p| p != path);
                }
            }
            Op::Fsync { .. } | Op::SyncRange { .. } | Op::SyncFs { .. } | Op::Sync => {}
        }
    }
    Ok(())
}
