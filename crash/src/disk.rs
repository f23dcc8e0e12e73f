//! The seam: how the crash model reaches files.
//!
//! The model never makes a system call. Everything it needs of the file system goes through
//! a [`Disk`]: the preload implements it with raw system calls on descriptors of its own,
//! a supervisor outside the program can implement it on descriptors it took from the
//! program. Paths are absolute and NUL-terminated ([`CStr`]), as the kernel takes them.

use std::ffi::CStr;

/// A file the disk holds open for the model (the preload: a descriptor of its own).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Handle(pub i32);

/// What kind of file a [`Stat`] describes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Kind {
    /// A regular file: the only kind whose contents are tracked.
    Regular,
    /// A directory: its entries are journaled.
    Dir,
    /// Anything else.
    #[default]
    Other,
}

/// A file's identity and size.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Stat {
    /// Device.
    pub dev: u64,
    /// Inode.
    pub ino: u64,
    /// Size in bytes.
    pub size: u64,
    /// Kind.
    pub kind: Kind,
}

impl Stat {
    /// A regular file.
    pub fn regular(&self) -> bool {
        self.kind == Kind::Regular
    }

    /// A directory.
    pub fn dir(&self) -> bool {
        self.kind == Kind::Dir
    }

    /// The identity: same device, same inode.
    pub fn same_file(&self, other: &Stat) -> bool {
        self.dev == other.dev && self.ino == other.ino
    }
}

/// The file operations the crash model needs. Each returns what happened and never panics;
/// a failure makes the rollback incomplete, which the model reports, never a crash.
pub trait Disk {
    /// Reads up to `buf.len()` bytes of `h` at `off`; how many were read (short at the end).
    fn read_at(&self, h: Handle, buf: &mut [u8], off: u64) -> usize;
    /// Writes all of `data` to `h` at `off`; whether it all got there.
    fn write_at(&self, h: Handle, data: &[u8], off: u64) -> bool;
    /// Sets the size of `h`.
    fn truncate(&self, h: Handle, len: u64) -> bool;
    /// The size of `h` now.
    fn size(&self, h: Handle) -> Option<u64>;
    /// Closes `h`: the model no longer needs it.
    fn release(&self, h: Handle);
    /// The identity of the file at `path` (symbolic links not followed).
    fn stat_path(&self, path: &CStr) -> Option<Stat>;
    /// Removes the file (or, with `dir`, the empty directory) at `path`.
    fn remove(&self, path: &CStr, dir: bool) -> bool;
    /// Renames `from` to `to`, replacing `to`.
    fn rename(&self, from: &CStr, to: &CStr) -> bool;
    /// Makes a directory at `path`.
    fn make_dir(&self, path: &CStr) -> bool;
    /// Makes a file at `path` (replacing what is there) with the contents and permissions of
    /// `from`: how a removed or replaced file comes back.
    fn write_back(&self, from: Handle, path: &CStr) -> bool;

    /// Which pages of a shared writable mapping were written since it was last asked: of the
    /// bytes `map` (offset, length) of `file` (the model's handle `h` on it) that process
    /// `owner` mapped (0: a process that cannot tell, or several), those in `range` (start,
    /// end; file offsets). Calls `each(off, len)` for every written extent, in file offsets,
    /// and from then on counts them as not written. Returns false when it cannot tell (another
    /// process's mapping, a kernel without write-protect tracking, a mapping no longer where
    /// it was): then every byte of the range counts as written.
    ///
    /// The default cannot tell: a sync then reads the whole mapped range again.
    fn written(
        &self,
        file: &Stat,
        h: Handle,
        owner: u32,
        map: (u64, u64),
        range: (u64, u64),
        each: &mut dyn FnMut(u64, u64),
    ) -> bool {
        let _ = (file, h, owner, map, range, each);
        false
    }
}
