//! The file table: for each regular file changed since its last sync, its synced size, a
//! handle on it, its undo records (newest first) and, when power cuts keep some changes, its
//! redo records (oldest first): what each write left, or the length a truncation set.
//!
//! Keyed by device and inode, so several descriptors, names and renames reach one entry. A
//! file the program creates starts with synced size 0: never synced, it comes back empty. A
//! file first seen later starts with its size then: what was there counts as synced.

use crate::arena::{Arena, RecordId};
use crate::disk::{Disk, Handle, Stat};
use crate::warning::{Seq, Warning};

/// How many files may be unsynced at once.
pub const FILES: usize = 1024;

/// The whole synced content (below the synced size) is in the records: a writer the model
/// cannot see (stdio inside libc) may change any byte.
pub(crate) const WHOLE: u32 = 1;
/// Undo data could not be kept (arena full, file unreadable): the rollback is incomplete.
pub(crate) const LOSSY: u32 = 2;
/// Created since tracking began.
pub(crate) const CREATED: u32 = 4;
/// A change could not be recorded as redo (arena full): a cut keeps none of this file's.
pub(crate) const NO_REDO: u32 = 8;

/// The tag of a redo record of a write (its bytes are what the write left at its offset).
const REDO_WRITE: u64 = 1;
/// The tag of a redo record of a truncation (its offset is the length set).
pub(crate) const REDO_TRUNCATE: u64 = 2;
/// The part of a redo record's tag that says its kind (the rest: [`KEPT`], [`TORN`] and the
/// kept sectors, marked for a `keep` cut).
pub(crate) const KIND: u64 = 0xff;
/// A redo record a `keep` cut makes again ([`crate::Store::mark_kept`]).
pub(crate) const KEPT: u64 = 1 << 8;
/// ... with only the sectors whose bits (from [`SECTOR_BITS`] up) are set.
pub(crate) const TORN: u64 = 1 << 9;
/// Where the kept sectors' bits of a torn record start, and how many there are.
pub(crate) const SECTOR_BITS: u32 = 16;
pub(crate) const SECTORS_MARKED: usize = 48;
/// The tag of an undo record past the synced size, in the tail a `lose(E,clean)` lost: it
/// marks pages written again after the loss (`clean.rs`) and is never written back.
pub(crate) const TAIL: u64 = 3;
/// The tag of an undo record of a mapped range's synced content (`mapped.rs`): read again at a
/// sync only where the mapping was written.
pub(crate) const MAPPED: u64 = 4;

/// One piece of a write between sector boundaries, as a cut decides whether it survives.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Piece {
    /// Its place in the write (0 first).
    pub part: u64,
    /// Where it is in the file.
    pub off: u64,
    /// Whether the write spans several sectors (only such a write can be torn).
    pub multi: bool,
}

/// A change to replay after a rollback, as [`Files::redo`] records it.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Redo {
    /// `len` bytes were written at `off`.
    Write { off: u64, len: u64 },
    /// The file was truncated (or extended) to `len`.
    Truncate { len: u64 },
}

#[derive(Clone, Copy)]
pub(crate) struct Slot {
    pub used: bool,
    pub dev: u64,
    pub ino: u64,
    /// The model's own handle on the file (meaningful while `used`).
    pub handle: i32,
    pub synced: u64,
    pub head: Option<RecordId>,
    pub count: u64,
    /// The oldest and newest redo records, and how many there are.
    pub redo_head: Option<RecordId>,
    pub redo_tail: Option<RecordId>,
    pub redo_count: u64,
    pub flags: u32,
    /// Which registration of a slot this is: a reservation made in an earlier one is stale.
    pub epoch: u64,
    /// After a `lose(E,clean)`: the newest change it lost (0: none). Undo records numbered up
    /// to it stay until a power cut, whatever is synced later (`clean.rs`).
    pub clean_seq: u64,
    /// After a `lose(E,clean)`: where the lost tail ends (bytes appended past the synced size
    /// before the failed sync); 0 once a later sync turned it into records of zeros.
    pub tail_end: u64,
    /// The file's ranges mapped shared and writable: their synced content is kept in records
    /// (`Store::mapped`).
    pub maps: [Map; MAPS],
}

/// A range of a file mapped shared and writable, and who can tell which of its pages were
/// written ([`crate::Disk::written`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Map {
    pub off: u64,
    /// 0: a free entry.
    pub len: u64,
    /// The process that mapped it, if only one did and it watches its pages; 0: nobody.
    pub owner: u32,
}

impl Map {
    pub(crate) const NONE: Map = Map { off: 0, len: 0, owner: 0 };

    /// The part of `from..to` it covers, if any.
    pub(crate) fn overlap(&self, (from, to): (u64, u64)) -> Option<(u64, u64)> {
        let (a, b) = (self.off.max(from), self.off.saturating_add(self.len).min(to));
        (self.len != 0 && a < b).then_some((a, b))
    }
}

/// How many mapped ranges of one file are kept.
pub const MAPS: usize = 4;

const EMPTY: Slot = Slot {
    used: false,
    dev: 0,
    ino: 0,
    handle: 0,
    synced: 0,
    head: None,
    count: 0,
    redo_head: None,
    redo_tail: None,
    redo_count: 0,
    flags: 0,
    epoch: 0,
    clean_seq: 0,
    tail_end: 0,
    maps: [Map::NONE; MAPS],
};

/// The table; see the module documentation.
pub struct Files {
    pub(crate) slots: [Slot; FILES],
    /// Slots at or above this index have never been used.
    high: usize,
    /// Registrations so far (each slot's `epoch`).
    epochs: u64,
}

/// A file's place in the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileId(pub(crate) usize);

impl Files {
    pub(crate) const fn new() -> Files {
        Files { slots: [EMPTY; FILES], high: 0, epochs: 0 }
    }

    /// The used slots.
    pub(crate) fn used(&self) -> impl Iterator<Item = (FileId, &Slot)> {
        self.slots[..self.high]
            .iter()
            .enumerate()
            .filter(|(_, s)| s.used)
            .map(|(i, s)| (FileId(i), s))
    }

    /// The slot of the file `st` describes, if it has one.
    pub fn find(&self, st: &Stat) -> Option<FileId> {
        self.used().find(|(_, s)| s.ino == st.ino && s.dev == st.dev).map(|(i, _)| i)
    }

    /// The slot of `st`, registering it if needed with `open()`'s handle, `synced` as its
    /// synced size and `flags`.
    pub(crate) fn slot<D: Disk>(
        &mut self,
        disk: &D,
        st: &Stat,
        open: impl FnOnce() -> Option<Handle>,
        synced: u64,
        flags: u32,
    ) -> Result<FileId, Warning> {
        if let Some(i) = self.find(st) {
            return Ok(i);
        }
        let Some(h) = open() else { return Err(Warning::Unopenable) };
        let Some(i) = self.slots.iter().position(|s| !s.used) else {
            disk.release(h);
            return Err(Warning::TooManyFiles);
        };
        self.epochs += 1;
        self.slots[i] = Slot {
            used: true,
            dev: st.dev,
            ino: st.ino,
            handle: h.0,
            synced,
            flags,
            epoch: self.epochs,
            ..EMPTY
        };
        self.high = self.high.max(i + 1);
        Ok(FileId(i))
    }

    /// Copies the file's bytes `off..off + len` into a new undo record of `i`.
    pub(crate) fn save<D: Disk>(
        &mut self,
        disk: &D,
        arena: &mut Arena<'_>,
        seq: &mut Seq,
        i: FileId,
        off: u64,
        len: u64,
    ) -> Result<(), Warning> {
        if len == 0 {
            return Ok(());
        }
        let s = &mut self.slots[i.0];
        let h = Handle(s.handle);
        let mut want = usize::try_from(len).unwrap_or(usize::MAX);
        // A file shorter than its size said (a racing truncate) gives a short read: what was
        // read is kept, in a record of that length (one more try, no loop).
        for _ in 0..2 {
            let Some(rec) = arena.alloc(off, want, seq.0 + 1) else {
                s.flags |= LOSSY;
                return Err(Warning::ArenaFull);
            };
            let got = disk.read_at(h, arena.bytes_mut(rec), off);
            if got == want {
                seq.0 += 1;
                arena.link(rec, s.head);
                s.head = Some(rec);
                s.count += 1;
                return Ok(());
            }
            arena.unalloc(rec);
            if got == 0 {
                break;
            }
            want = got;
        }
        Ok(())
    }

    /// [`Files::save`] of what a change at `off..off + len` would lose: the bytes that exist
    /// now and were synced.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn save_clipped<D: Disk>(
        &mut self,
        disk: &D,
        arena: &mut Arena<'_>,
        seq: &mut Seq,
        i: FileId,
        st: &Stat,
        off: u64,
        len: u64,
    ) -> Result<(), Warning> {
        let (synced, tail_end) = (self.slots[i.0].synced, self.slots[i.0].tail_end);
        let limit = st.size.min(synced);
        if off < limit {
            self.save(disk, arena, seq, i, off, len.min(limit - off))?;
        }
        // The tail a clean loss lost: what is written there again is marked (`clean.rs`).
        let tail = synced.max(off)..st.size.min(tail_end).min(off.saturating_add(len));
        if !tail.is_empty() {
            let before = self.slots[i.0].head;
            self.save(disk, arena, seq, i, tail.start, tail.end - tail.start)?;
            if let Some(r) = self.slots[i.0].head.filter(|r| Some(*r) != before) {
                arena.set_tag(r, TAIL);
            }
        }
        Ok(())
    }

    /// Links record `r` into `i`'s list at its place by sequence number (newest first), so
    /// that records filled out of order (a shared model) still roll back oldest last.
    pub(crate) fn insert_sorted(&mut self, arena: &mut Arena<'_>, i: FileId, r: RecordId) {
        let seq = arena.record(r).seq;
        let s = &mut self.slots[i.0];
        let (mut newer, mut cur) = (None, s.head);
        while let Some(c) = cur {
            let record = arena.record(c);
            if record.seq < seq {
                break;
            }
            newer = Some(c);
            cur = record.prev;
        }
        arena.link(r, cur);
        match newer {
            None => s.head = Some(r),
            Some(n) => arena.set_prev(n, Some(r)),
        }
        s.count += 1;
    }

    /// Forgets `i`'s records, keeping the slot, its handle and its mapped ranges: its file is
    /// synced, at size `size`.
    pub(crate) fn reset_records(&mut self, arena: &mut Arena<'_>, i: FileId, size: u64) {
        let s = &mut self.slots[i.0];
        arena.dropped(s.count + s.redo_count);
        (s.head, s.count, s.redo_head, s.redo_tail, s.redo_count) = (None, 0, None, None, 0);
        s.synced = size;
        s.flags &= !(WHOLE | LOSSY | CREATED | NO_REDO);
    }

    /// Reads again from the file the bytes in `from..to` of `i`'s undo records numbered up to
    /// `upto`: those bytes are durable now, so a rollback must leave them as they are.
    pub(crate) fn refresh<D: Disk>(
        &self,
        disk: &D,
        arena: &mut Arena<'_>,
        i: FileId,
        range: (u64, u64),
        upto: u64,
    ) {
        let mut rec = self.slots[i.0].head;
        while let Some(r) = rec {
            let x = arena.record(r);
            let (prev, number, tag) = (x.prev, x.seq, x.tag);
            rec = prev;
            if number <= upto && tag != TAIL {
                self.refresh_record(disk, arena, i, r, range);
            }
        }
    }

    /// Reads again from the file the bytes of `i`'s record `r` that lie in `from..to`.
    pub(crate) fn refresh_record<D: Disk>(
        &self,
        disk: &D,
        arena: &mut Arena<'_>,
        i: FileId,
        r: RecordId,
        (from, to): (u64, u64),
    ) {
        let x = arena.record(r);
        let (off, end) = (x.off, x.off + x.bytes.len() as u64);
        let (a, b) = (off.max(from), end.min(to));
        if a < b {
            let h = Handle(self.slots[i.0].handle);
            disk.read_at(h, &mut arena.bytes_mut(r)[(a - off) as usize..(b - off) as usize], a);
        }
    }

    /// Forgets slot `i`: its file is in its synced state (synced, or rolled back).
    pub(crate) fn drop_slot<D: Disk>(&mut self, disk: &D, arena: &mut Arena<'_>, i: FileId) {
        let s = &mut self.slots[i.0];
        disk.release(Handle(s.handle));
        arena.dropped(s.count + s.redo_count);
        *s = EMPTY;
    }

    /// Puts slot `i`'s file back into its synced state: truncated to its synced size, then
    /// the records written back newest first, so the oldest (the synced bytes) win.
    pub(crate) fn roll_back<D: Disk>(&self, disk: &D, arena: &Arena<'_>, i: FileId) -> bool {
        let s = &self.slots[i.0];
        let h = Handle(s.handle);
        let mut whole = disk.truncate(h, s.synced);
        let mut rec = s.head;
        while let Some(r) = rec {
            let record = arena.record(r);
            if record.tag != TAIL {
                whole &= disk.write_at(h, record.bytes, record.off);
            }
            rec = record.prev;
        }
        whole && s.flags & LOSSY == 0
    }

    /// Drops the records of `i` that lie wholly inside `off..end`: those overwrites are
    /// synced (`sync_file_range` with `WAIT_AFTER`); the size never is.
    pub(crate) fn synced_range(&mut self, arena: &mut Arena<'_>, i: FileId, off: u64, end: u64) {
        self.retain(arena, i, |r| r.off < off || r.off + r.bytes.len() as u64 > end);
        self.synced_redo(arena, i, off, end);
    }

    /// Keeps the undo records of `i` that `keep` says to, and drops the others.
    pub(crate) fn retain(
        &mut self,
        arena: &mut Arena<'_>,
        i: FileId,
        keep: impl Fn(&crate::arena::Record<'_>) -> bool,
    ) {
        let s = &mut self.slots[i.0];
        let (mut newer, mut rec, mut gone) = (None, s.head, 0);
        while let Some(r) = rec {
            let record = arena.record(r);
            let (kept, prev) = (keep(&record), record.prev);
            if kept {
                newer = Some(r);
            } else {
                match newer {
                    None => s.head = prev,
                    Some(n) => arena.set_prev(n, prev),
                }
                gone += 1;
            }
            rec = prev;
        }
        s.count -= gone;
        arena.dropped(gone);
    }

    /// Forgets `i`'s redo records: its changes so far are synced.
    pub(crate) fn drop_redo(&mut self, arena: &mut Arena<'_>, i: FileId) {
        let s = &mut self.slots[i.0];
        arena.dropped(s.redo_count);
        (s.redo_head, s.redo_tail, s.redo_count) = (None, None, 0);
    }

    /// Drops the redo records of writes wholly inside `off..end` (synced: a rollback no
    /// longer undoes them, so a cut must not replay them either).
    fn synced_redo(&mut self, arena: &mut Arena<'_>, i: FileId, off: u64, end: u64) {
        let s = &mut self.slots[i.0];
        let (mut older, mut rec, mut gone) = (None, s.redo_head, 0);
        while let Some(r) = rec {
            let record = arena.record(r);
            let (r_off, len, next) = (record.off, record.bytes.len() as u64, record.prev);
            if record.tag & KIND == REDO_WRITE && r_off >= off && r_off + len <= end {
                match older {
                    None => s.redo_head = next,
                    Some(o) => arena.set_prev(o, next),
                }
                if s.redo_tail == Some(r) {
                    s.redo_tail = older;
                }
                gone += 1;
            } else {
                older = Some(r);
            }
            rec = next;
        }
        s.redo_count -= gone;
        arena.dropped(gone);
    }

    /// Records what a change to `i` left, numbered next in `seq`, at the end of its redo
    /// list: for a write, the bytes now at its place, read back through the store's handle.
    /// When it cannot be kept, the file's redo records are given up (a cut then keeps none of
    /// its changes: a partial list would make states no disk makes).
    pub(crate) fn redo<D: Disk>(
        &mut self,
        disk: &D,
        arena: &mut Arena<'_>,
        seq: &mut Seq,
        i: FileId,
        change: Redo,
    ) -> Result<(), Warning> {
        let s = &mut self.slots[i.0];
        if s.flags & NO_REDO != 0 {
            return Ok(());
        }
        let (off, len, tag) = match change {
            Redo::Write { off, len } => (off, len, REDO_WRITE),
            Redo::Truncate { len } => (len, 0, REDO_TRUNCATE),
        };
        let want = usize::try_from(len).unwrap_or(usize::MAX);
        let Some(rec) = arena.alloc(off, want, seq.0 + 1) else {
            self.give_up_redo(arena, i);
            return Err(Warning::ArenaFull);
        };
        if tag == REDO_WRITE {
            let got = disk.read_at(Handle(s.handle), arena.bytes_mut(rec), off);
            if got < want {
                arena.shrink(rec, got);
            }
        }
        arena.set_tag(rec, tag);
        seq.0 += 1;
        arena.link(rec, None);
        match s.redo_tail {
            Some(t) => arena.set_prev(t, Some(rec)),
            None => s.redo_head = Some(rec),
        }
        s.redo_tail = Some(rec);
        s.redo_count += 1;
        Ok(())
    }

    /// Marks each redo record of `i` with what a `keep` cut does with it: `fate(seq)` says
    /// lost (`None`), kept whole (`Some(None)`) or torn (`Some(Some(sectors))`). False when a
    /// torn write has more sectors than a mark holds (it is then kept whole).
    pub(crate) fn mark_kept<'k>(
        &self,
        arena: &mut Arena<'_>,
        i: FileId,
        fate: &dyn Fn(u64) -> Option<Option<&'k [bool]>>,
    ) -> bool {
        let mut exact = true;
        let mut rec = self.slots[i.0].redo_head;
        while let Some(r) = rec {
            let record = arena.record(r);
            let (seq, kind) = (record.seq, record.tag & KIND);
            rec = record.prev;
            let tag = match fate(seq) {
                None => kind,
                Some(None) => kind | KEPT,
                Some(Some(sectors)) if sectors.len() > SECTORS_MARKED => {
                    exact = false;
                    kind | KEPT
                }
                Some(Some(sectors)) => {
                    let bits = sectors
                        .iter()
                        .enumerate()
                        .filter(|(_, on)| **on)
                        .fold(0u64, |m, (k, _)| m | 1 << (SECTOR_BITS as usize + k));
                    kind | KEPT | TORN | bits
                }
            };
            arena.set_tag(r, tag);
        }
        exact
    }

    /// Forgets `i`'s redo records for good (until its next sync).
    fn give_up_redo(&mut self, arena: &mut Arena<'_>, i: FileId) {
        self.slots[i.0].flags |= NO_REDO;
        self.drop_redo(arena, i);
    }

    /// The numbers of `i`'s redo records, oldest first.
    pub(crate) fn redo_seqs<'a>(
        &self,
        arena: &'a Arena<'_>,
        i: FileId,
    ) -> impl Iterator<Item = u64> + 'a {
        let head = self.slots[i.0].redo_head;
        std::iter::successors(head.map(|r| arena.record(r)), |r| r.prev.map(|n| arena.record(n)))
            .map(|r| r.seq)
    }

    /// Makes again, on `i`'s file in its synced state, the changes `keep` keeps, oldest first:
    /// `keep(seq, None)` says whether change `seq` survives, and for a surviving write that
    /// and for each of its pieces between `sector` boundaries of the file, `keep(seq,
    /// Some(piece))` whether that piece does; each time with the record's tag (marks of a
    /// `keep` cut). False when a change could not be made.
    pub(crate) fn replay<D: Disk>(
        &self,
        disk: &D,
        arena: &Arena<'_>,
        i: FileId,
        sector: u64,
        keep: impl Fn(u64, u64, Option<Piece>) -> bool,
    ) -> bool {
        let s = &self.slots[i.0];
        let h = Handle(s.handle);
        let mut whole = true;
        let mut rec = s.redo_head;
        while let Some(r) = rec {
            let record = arena.record(r);
            rec = record.prev;
            if !keep(record.seq, record.tag, None) {
                continue;
            }
            if record.tag & KIND == REDO_TRUNCATE {
                whole &= disk.truncate(h, record.off);
                continue;
            }
            // Sector by sector: the pieces of the write between sector boundaries of the file
            // (a write inside one sector is never torn).
            let mut at = record.off;
            let end = record.off + record.bytes.len() as u64;
            let multi = end > at && (end - 1) / sector > at / sector;
            let mut part = 0;
            while at < end {
                let piece_end = ((at / sector) + 1).saturating_mul(sector).min(end);
                if keep(record.seq, record.tag, Some(Piece { part, off: at, multi })) {
                    let from = (at - record.off) as usize;
                    let to = (piece_end - record.off) as usize;
                    whole &= disk.write_at(h, &record.bytes[from..to], at);
                }
                at = piece_end;
                part += 1;
            }
        }
        whole
    }
}
