//! The directory journal of `powercut(dirs)`: creations, renames and removals, each undone
//! by a power cut unless a directory it changed, or one a later entry changed, was synced
//! after it (a journaling file system commits entries in order, a rename whole).
//!
//! Each entry keeps the absolute path(s) it changed (at most [`PATH`] bytes each, NUL
//! included; longer ones are not journaled), the parent directories (device and inode) whose
//! sync makes it durable, and for a removed or replaced regular file a handle
//! on it, so that its contents can be written back under its old name.

use crate::disk::{Disk, Handle, Stat};
use crate::warning::{Seq, Warning};
use std::ffi::CStr;

/// How many directory changes may be unsynced at once.
pub const ENTRIES: usize = 1024;
/// The longest path journaled, with its NUL.
pub const PATH: usize = 512;

/// What a journal entry did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// `a` was created (a file, a directory, a link): undone by removing it.
    Created,
    /// `a` was renamed to `b`, replacing the held file if any: undone by renaming back and
    /// writing the replaced file back.
    Renamed,
    /// `a` was removed: undone by writing the held file back, or making the directory again.
    Removed {
        /// It was a directory.
        dir: bool,
    },
}

#[derive(Clone, Copy)]
pub(crate) struct Entry {
    pub op: Op,
    pub live: bool,
    pub seq: u64,
    pub a: [u8; PATH],
    pub b: [u8; PATH],
    pub held: Option<Handle>,
    /// The parent directories still to be synced; `None` once synced.
    pub parents: [Option<(u64, u64)>; 2],
}

const EMPTY: Entry = Entry {
    op: Op::Created,
    live: false,
    seq: 0,
    a: [0; PATH],
    b: [0; PATH],
    held: None,
    parents: [None; 2],
};

/// The journal; see the module documentation.
pub struct Journal {
    n: usize,
    pub(crate) e: [Entry; ENTRIES],
}

/// Copies `path` into `out` with a NUL; false when it does not fit.
fn put(out: &mut [u8; PATH], path: &[u8]) -> bool {
    if path.len() >= PATH || path.is_empty() || path.contains(&0) {
        return false;
    }
    out[..path.len()].copy_from_slice(path);
    out[path.len()] = 0;
    true
}

/// The device and inode of the directory that holds `path` (absolute, NUL-terminated),
/// found by cutting the path at its last `/` for a moment.
fn parent<D: Disk>(disk: &D, path: &mut [u8; PATH]) -> Option<(u64, u64)> {
    let len = path.iter().position(|b| *b == 0)?;
    let slash = path[..len].iter().rposition(|b| *b == b'/')?.max(1);
    let keep = path[slash];
    path[slash] = 0;
    let st = CStr::from_bytes_until_nul(&path[..]).ok().and_then(|p| disk.stat_path(p));
    path[slash] = keep;
    st.map(|s| (s.dev, s.ino))
}

/// A journaled path as the kernel takes it.
pub(crate) fn c_path(p: &[u8; PATH]) -> &CStr {
    CStr::from_bytes_until_nul(p).unwrap_or(c"")
}

impl Journal {
    pub(crate) const fn new() -> Journal {
        Journal { n: 0, e: [EMPTY; ENTRIES] }
    }

    /// The live entries, oldest first.
    pub(crate) fn live(&self) -> impl DoubleEndedIterator<Item = &Entry> {
        self.e[..self.n].iter().filter(|e| e.live)
    }

    /// Appends an entry: `a` (and `b`) are absolute paths; `held` is released if the entry
    /// cannot be kept.
    pub(crate) fn add<D: Disk>(
        &mut self,
        disk: &D,
        seq: &mut Seq,
        op: Op,
        a: &[u8],
        b: Option<&[u8]>,
        held: Option<Handle>,
    ) -> Result<(), Warning> {
        let release = |w| {
            if let Some(h) = held {
                disk.release(h);
            }
            Err(w)
        };
        if self.n == ENTRIES {
            return release(Warning::TooManyEntries);
        }
        let e = &mut self.e[self.n];
        *e = Entry { op, live: true, held, ..EMPTY };
        if !put(&mut e.a, a) || b.is_some_and(|b| !put(&mut e.b, b)) {
            e.live = false;
            e.held = None;
            return release(Warning::PathTooLong);
        }
        e.parents[0] = parent(disk, &mut e.a);
        if b.is_some() {
            let p = parent(disk, &mut e.b);
            if p != e.parents[0] {
                e.parents[1] = p;
            }
        }
        seq.0 += 1;
        e.seq = seq.0;
        self.n += 1;
        Ok(())
    }

    /// Frees the entries made durable by the sync of the directories `synced` accepts. A
    /// journaling file system commits directory entries in order, each change whole: an entry
    /// is durable once a directory it changes is synced (for a rename, either one: the
    /// journal commits the rename as one), and with it every entry made before it.
    pub(crate) fn prune<D: Disk>(&mut self, disk: &D, synced: impl Fn((u64, u64)) -> bool) {
        let newest = self.e[..self.n]
            .iter()
            .rposition(|e| e.live && e.parents.iter().flatten().any(|p| synced(*p)));
        let Some(newest) = newest else { return };
        for e in self.e[..=newest].iter_mut().filter(|e| e.live) {
            e.live = false;
            e.parents = [None; 2];
            if let Some(h) = e.held.take() {
                disk.release(h);
            }
        }
        while self.n > 0 && !self.e[self.n - 1].live {
            self.n -= 1;
        }
    }

    /// A directory was synced.
    pub(crate) fn synced_dir<D: Disk>(&mut self, disk: &D, st: &Stat) {
        self.prune(disk, |p| p == (st.dev, st.ino));
    }

    /// Undoes the live entries numbered past `after` (every one for 0), newest first (the
    /// power cut).
    pub(crate) fn undo<D: Disk>(&self, disk: &D, after: u64) {
        for e in self.live().rev().filter(|e| e.seq > after) {
            let (a, b) = (c_path(&e.a), c_path(&e.b));
            match e.op {
                Op::Created => {
                    if !disk.remove(a, false) {
                        disk.remove(a, true);
                    }
                }
                Op::Renamed => {
                    disk.rename(b, a);
                    if let Some(h) = e.held {
                        disk.write_back(h, b);
                    }
                }
                Op::Removed { dir } => match e.held {
                    Some(h) => {
                        disk.write_back(h, a);
                    }
                    None if dir => {
                        disk.make_dir(a);
                    }
                    None => {}
                },
            }
        }
    }
}
