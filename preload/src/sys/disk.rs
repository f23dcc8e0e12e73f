//! The crash model's `Disk` (`failinject_crash::Disk`): its files reached with the system
//! calls of `kfile.rs`, on descriptors of ours, or, when the run shares one model, through
//! the keeper's descriptors (`keeper.rs`).

use super::kfile::{
    close, ftruncate, mkdir, pread_full, pwrite_all, rename, stat_at, to_high, unlink_at,
    write_back,
};
use failinject_crash::{Disk, Handle, Stat};
use libc::c_int;
use std::ffi::CStr;
use std::sync::atomic::Ordering;

/// The crash model's files, reached with the system calls above on descriptors of ours. A
/// handle is one of our descriptors, or, when the run shares one model (`shared_store.rs`),
/// the keeper's number for the file (`keeper.rs`), which the keeper holds until the run ends.
pub struct Kernel;

/// Whether handles are the keeper's numbers (the shared model is on in this process).
static KEPT: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

impl Kernel {
    /// From now on, handles are the keeper's numbers.
    pub fn keep_handles() {
        KEPT.store(true, Ordering::Release);
    }

    /// Whether handles are the keeper's numbers.
    pub fn kept() -> bool {
        KEPT.load(Ordering::Acquire)
    }

    /// A handle for `fd`, a fresh descriptor of ours on a tracked file (moved out of the
    /// program's range): `fd` itself, or the keeper's number once it holds it.
    pub fn handle(fd: c_int) -> Option<Handle> {
        let fd = to_high(fd);
        if Kernel::kept() { super::keeper::register(fd).map(Handle) } else { Some(Handle(fd)) }
    }

    /// This process's descriptor for `h`.
    pub fn fd(h: Handle) -> c_int {
        if Kernel::kept() { super::keeper::local(h.0) } else { h.0 }
    }
}

impl Disk for Kernel {
    fn read_at(&self, h: Handle, buf: &mut [u8], off: u64) -> usize {
        pread_full(Kernel::fd(h), buf, off)
    }
    fn write_at(&self, h: Handle, data: &[u8], off: u64) -> bool {
        pwrite_all(Kernel::fd(h), data, off)
    }
    fn truncate(&self, h: Handle, len: u64) -> bool {
        ftruncate(Kernel::fd(h), len)
    }
    fn size(&self, h: Handle) -> Option<u64> {
        super::kfile::fstat(Kernel::fd(h)).map(|st| st.size)
    }
    fn release(&self, h: Handle) {
        // A kept handle stays with the keeper (and its local descriptor cached) for the run.
        if !Kernel::kept() {
            close(h.0)
        }
    }
    fn stat_path(&self, path: &CStr) -> Option<Stat> {
        stat_at(libc::AT_FDCWD, path, false)
    }
    fn remove(&self, path: &CStr, dir: bool) -> bool {
        unlink_at(path, if dir { libc::AT_REMOVEDIR } else { 0 })
    }
    fn rename(&self, from: &CStr, to: &CStr) -> bool {
        rename(from, to)
    }
    fn make_dir(&self, path: &CStr) -> bool {
        mkdir(path)
    }
    fn write_back(&self, from: Handle, path: &CStr) -> bool {
        write_back(Kernel::fd(from), path)
    }
    fn written(
        &self,
        file: &Stat,
        _h: Handle,
        owner: u32,
        map: (u64, u64),
        range: (u64, u64),
        each: &mut dyn FnMut(u64, u64),
    ) -> bool {
        owner != 0 && super::write_watch::written(file, owner, map, range, each)
    }
}
