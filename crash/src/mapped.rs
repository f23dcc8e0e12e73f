//! Writes through shared mappings: stores that reach a file past every wrapper (LMDB with
//! `MDB_WRITEMAP`, fio's `mmap` engine).
//!
//! When a range of a file is mapped shared and writable, the store keeps the range's synced
//! content in undo records tagged [`MAPPED`], read from the file when it is mapped (and, for
//! the part past the synced size, when a sync makes that part durable). A power cut writes
//! them back, so every store since the last sync is undone.
//!
//! At a sync those records must be read again wherever the file changed, and only there: a
//! 16 MiB LMDB map synced at each commit of a page or two would otherwise be read whole at
//! every commit. What changed comes from two places:
//!
//! - the pages written through the mapping, which only the kernel knows: [`Disk::written`]
//!   (the preload asks the write-protect bits the kernel keeps for the mapping);
//! - the bytes changed through descriptors (a `pwrite` under the mapping), which the file's
//!   other undo records cover.
//!
//! Where the disk cannot tell (the range was mapped by more than one process, or the kernel
//! keeps no such bits), the whole range is read again. A file with more than
//! [`MAPPED_RECORDS`] mapped records, records that cover everything ([`WHOLE`]), an
//! incomplete record ([`LOSSY`]) or a size below its synced size is saved again from scratch
//! at an `fsync`, which leaves one record per mapped range.

use crate::disk::{Disk, Handle, Stat};
use crate::files::{CREATED, FileId, LOSSY, MAPPED, Map, NO_REDO, TAIL, WHOLE};
use crate::{Arena, RecordId, Store, Warning};

/// How many mapped records of one file a sync reads again page by page; with more, the file's
/// mapped ranges are saved again from scratch at its next `fsync`.
const MAPPED_RECORDS: usize = 16;

impl Store<'_> {
    /// `len` bytes of the file `st` at `off` were mapped shared and writable by process
    /// `owner` (0: a process that cannot tell which pages it writes, see [`Disk::written`]):
    /// stores through the mapping reach the file unseen, so the range's synced content is
    /// saved now, for a power cut to put back, and kept up to date at each sync.
    pub fn mapped<D: Disk>(
        &mut self,
        disk: &D,
        st: &Stat,
        open: impl FnOnce() -> Option<Handle>,
        (off, len): (u64, u64),
        owner: u32,
    ) -> Result<(), Warning> {
        let i = self.files.slot(disk, st, open, st.size, 0)?;
        let maps = &mut self.files.slots[i.0].maps;
        match maps.iter_mut().find(|m| m.len != 0 && (m.off, m.len) == (off, len)) {
            // Mapped again, by another process or by the same one: no one mapping sees every
            // store to the range any more.
            Some(m) => m.owner = 0,
            None => {
                let Some(free) = maps.iter_mut().find(|m| m.len == 0) else {
                    self.files.slots[i.0].flags |= LOSSY;
                    return Err(Warning::TooManyMappings);
                };
                *free = Map { off, len, owner };
            }
        }
        self.save_mapped(disk, i, st, off, len)
    }

    /// `msync(MS_SYNC)` made `len` bytes of the file `st` at `off` durable (with the size that
    /// reaches them, as `fdatasync` does): whatever the records hold of the bytes that changed
    /// is read again from the file, so a rollback leaves them as they are now. The records
    /// stay: they are the mapping's synced content for the stores that come next.
    pub fn synced_bytes<D: Disk>(
        &mut self,
        disk: &D,
        st: &Stat,
        off: u64,
        len: u64,
    ) -> Result<(), Warning> {
        let Some(i) = self.files.find_unlost(st) else {
            return Ok(());
        };
        let s = &self.files.slots[i.0];
        let size = disk.size(Handle(s.handle)).unwrap_or(s.synced);
        let end = off.saturating_add(len).min(size);
        if !self.durable(disk, i, (off, end), true) {
            self.files.refresh(disk, &mut self.arena, i, (off, end), u64::MAX);
        }
        self.grow_synced(disk, i, off, end)
    }

    /// File `i`, which has mapped ranges, is synced at size `size`: the mapped records are
    /// brought up to date and the others dropped, or, where that cannot be done page by page,
    /// every record is dropped and the mapped ranges saved again.
    pub(crate) fn synced_mapped_file<D: Disk>(
        &mut self,
        disk: &D,
        i: FileId,
        size: u64,
    ) -> Result<(), Warning> {
        let s = &self.files.slots[i.0];
        let (old, maps) = (s.synced, s.maps);
        let by_pages = s.flags & (WHOLE | LOSSY) == 0 && size >= old;
        if by_pages && self.durable(disk, i, (0, old), false) {
            self.files.retain(&mut self.arena, i, |r| r.tag == MAPPED);
            self.files.drop_redo(&mut self.arena, i);
            self.files.slots[i.0].flags &= !(CREATED | NO_REDO);
            return self.grow_synced(disk, i, old, size);
        }
        self.files.reset_records(&mut self.arena, i, size);
        let st = Stat { size, ..Stat::default() };
        let mut result = Ok(());
        for m in maps.into_iter().filter(|m| m.len != 0) {
            result = result.and(self.save_mapped(disk, i, &st, m.off, m.len));
        }
        result
    }

    /// The synced size of `i` reaches `end`, durable bytes from `off` on: the bytes between the
    /// old synced size and `off` read as zeros after a power cut, and the mapped ranges now
    /// below the synced size have their synced content saved.
    pub(crate) fn grow_synced<D: Disk>(
        &mut self,
        disk: &D,
        i: FileId,
        off: u64,
        end: u64,
    ) -> Result<(), Warning> {
        let old = self.files.slots[i.0].synced;
        if end <= old {
            return Ok(());
        }
        self.files.slots[i.0].synced = end;
        let mut result = Ok(());
        if off > old {
            result = self.files.zero_record(&mut self.arena, &mut self.seq, i, old, off - old);
        }
        let st = Stat { size: end, ..Stat::default() };
        for m in self.files.slots[i.0].maps {
            if let Some((a, b)) = m.overlap((old, end)) {
                result = result.and(self.save_mapped(disk, i, &st, a, b - a));
            }
        }
        result
    }

    /// Saves the synced content of `i`'s bytes `off..off + len` (clipped to what was synced),
    /// in records tagged [`MAPPED`].
    fn save_mapped<D: Disk>(
        &mut self,
        disk: &D,
        i: FileId,
        st: &Stat,
        off: u64,
        len: u64,
    ) -> Result<(), Warning> {
        let before = self.files.slots[i.0].head;
        let (files, arena, seq) = (&mut self.files, &mut self.arena, &mut self.seq);
        let result = files.save_clipped(disk, arena, seq, i, st, off, len);
        // The records it made lead the list; a clean loss's tail keeps its own tag.
        let mut rec = self.files.slots[i.0].head;
        while let Some(r) = rec.filter(|r| Some(*r) != before) {
            let record = self.arena.record(r);
            rec = record.prev;
            if record.tag == 0 {
                self.arena.set_tag(r, MAPPED);
            }
        }
        result
    }

    /// The bytes `from..to` of `i` are durable now: what its mapped records hold of them is
    /// read again from the file where the file changed, so a rollback leaves them as they
    /// are: over the pages written through a mapping ([`Disk::written`]; the whole mapped
    /// range where it cannot tell) and over the file's other records, which are read again
    /// too when `others` (false: the caller drops them). False, having done nothing, when the
    /// file has more than [`MAPPED_RECORDS`] mapped records.
    fn durable<D: Disk>(
        &mut self,
        disk: &D,
        i: FileId,
        (from, to): (u64, u64),
        others: bool,
    ) -> bool {
        let mut mapped: [Option<RecordId>; MAPPED_RECORDS] = [None; MAPPED_RECORDS];
        let mut n = 0;
        let mut rec = self.files.slots[i.0].head;
        while let Some(r) = rec {
            let record = self.arena.record(r);
            rec = record.prev;
            if record.tag == MAPPED {
                let Some(slot) = mapped.get_mut(n) else { return false };
                *slot = Some(r);
                n += 1;
            }
        }
        let (files, arena) = (&self.files, &mut self.arena);
        let refresh_mapped = |arena: &mut Arena<'_>, range: (u64, u64)| {
            for r in mapped[..n].iter().flatten() {
                files.refresh_record(disk, arena, i, *r, range);
            }
        };
        // 1. Bytes changed through descriptors, under the records of other changes.
        let mut rec = files.slots[i.0].head;
        while let Some(r) = rec {
            let record = arena.record(r);
            let (off, end) = (record.off, record.off + record.bytes.len() as u64);
            let tag = record.tag;
            rec = record.prev;
            let (a, b) = (off.max(from), end.min(to));
            if tag != MAPPED && tag != TAIL && a < b {
                if others {
                    files.refresh_record(disk, arena, i, r, (a, b));
                }
                refresh_mapped(arena, (a, b));
            }
        }
        // 2. Pages written through the mappings.
        let s = &files.slots[i.0];
        let (st, h) = (Stat { dev: s.dev, ino: s.ino, ..Stat::default() }, Handle(s.handle));
        for m in s.maps {
            let Some(range) = m.overlap((from, to)) else { continue };
            let mut each = |off: u64, len: u64| refresh_mapped(arena, (off, off + len));
            let told = disk.written(&st, h, m.owner, (m.off, m.len), range, &mut each);
            if !told {
                refresh_mapped(arena, range);
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use crate::files;

    #[test]
    fn a_map_overlaps_only_where_it_lies() {
        let m = files::Map { off: 100, len: 50, owner: 7 };
        assert_eq!(m.overlap((0, 120)), Some((100, 120)));
        assert_eq!(m.overlap((140, 1000)), Some((140, 150)));
        assert_eq!(m.overlap((150, 1000)), None, "its end is not in it");
        assert_eq!(files::Map::NONE.overlap((0, u64::MAX)), None, "a free entry covers nothing");
    }
}
