//! failinject's crash model: what a power cut may take away, and putting it back.
//!
//! A [`Store`] remembers every change made to files and directories since they were last
//! synced, well enough to undo it: for data, the bytes a write, truncation or hole punch is
//! about to overwrite (kept in an [`Arena`]), and each file's synced size; for directories
//! (`powercut(dirs)`), a [`journal`] of creations, renames and removals, each waiting for a
//! directory it changed to be synced (and committed in order, as a journal commits them). A successful sync forgets what it made durable. A
//! power cut puts every file back into its synced state and undoes the journal.
//!
//! ```text
//!  program ── write(fd, …) ──▶ preload ──▶ Store::before_write ──▶ Disk::read_at (old bytes)
//!          ── fsync(fd) ─────▶ preload ──▶ Store::synced        (records dropped)
//!          ── powercut ──────▶ preload ──▶ Store::power_cut     ──▶ Disk::truncate, write_at
//! ```
//!
//! The model makes no system call, allocates nothing and never blocks: the files come
//! through the [`Disk`] trait, the arena's memory from its owner, and the caller holds
//! whatever lock keeps one thread at a time in the store. Every change it records gets a
//! number from one sequence ([`Change::seq`]), so the pending changes can be listed in the
//! order they were made ([`Store::changes`]). Nothing in the store is a pointer: links are
//! offsets into the arena and indexes into fixed tables, so a store could live in memory
//! that several processes share.
//!
//! The store is large (a thousand files, a thousand journal entries of two paths each): it
//! is meant to live in a `static` (all of it in `.bss`), never on a stack.

#![forbid(unsafe_code)]

pub mod arena;
mod clean;
pub mod cut;
pub mod disk;
mod files;
pub mod journal;
pub mod keep;
mod mapped;
mod warning;

pub use arena::{Arena, Chunk, Record, RecordId};
pub use cut::{Cut, Mode};
pub use disk::{Disk, Handle, Kind, Stat};
pub use files::{FILES, FileId};
pub use journal::{ENTRIES, Op, PATH};
pub use keep::Keep;
use warning::Seq;
pub use warning::Warning;

use files::{CREATED, Files, Redo, WHOLE};
use journal::Journal;

/// Room reserved for a write's undo bytes ([`Store::reserve_write`]), to be read into and
/// committed.
#[derive(Debug)]
pub struct Reserved {
    file: FileId,
    epoch: u64,
    rec: RecordId,
    /// Where the bytes go, from the start of the arena's memory.
    pub at: usize,
    /// How many bytes to read.
    pub len: usize,
    /// From where in the file.
    pub off: u64,
    /// The store's handle on the file.
    pub handle: Handle,
}

/// One pending change, as [`Store::changes`] lists it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change<'a> {
    /// Bytes of a file at `off` were about to be overwritten; `old` is what was there.
    Overwrite {
        /// Its place in the order of changes.
        seq: u64,
        /// The file.
        file: FileId,
        /// Where.
        off: u64,
        /// The bytes before the change.
        old: &'a [u8],
    },
    /// A directory entry changed.
    Entry {
        /// Its place in the order of changes.
        seq: u64,
        /// What happened.
        op: Op,
        /// The path it changed (the old name of a rename).
        path: &'a [u8],
        /// The new name of a rename.
        to: Option<&'a [u8]>,
    },
}

impl Change<'_> {
    /// The change's place in the order of all changes.
    pub fn seq(&self) -> u64 {
        match self {
            Change::Overwrite { seq, .. } | Change::Entry { seq, .. } => *seq,
        }
    }
}

/// The crash model's state; see the crate documentation.
pub struct Store<'m> {
    files: Files,
    journal: Journal,
    arena: Arena<'m>,
    seq: Seq,
}

impl Default for Store<'_> {
    fn default() -> Self {
        Store::new()
    }
}

impl<'m> Store<'m> {
    /// An empty store, with no arena memory yet.
    pub const fn new() -> Store<'m> {
        Store { files: Files::new(), journal: Journal::new(), arena: Arena::empty(), seq: Seq(0) }
    }

    /// Hands the store the memory of its undo arena (once).
    pub fn give_arena(&mut self, mem: &'m mut [u8]) {
        self.arena.give(mem);
    }

    /// Points the arena at `mem`, another mapping of the memory the store was given (a store
    /// in memory several processes share, each mapping it at its own address): each process
    /// re-homes the store to its mapping whenever it takes the store's lock.
    pub fn rehome(&mut self, mem: &'m mut [u8]) {
        self.arena.rehome(mem);
    }

    /// Whether the arena has memory.
    pub fn ready(&self) -> bool {
        self.arena.ready()
    }

    /// The number of the newest change recorded.
    pub fn seq(&self) -> u64 {
        self.seq.0
    }

    /// The arena's memory written before it started over, for its owner to give back.
    pub fn take_reset(&mut self) -> usize {
        self.arena.take_reset()
    }

    /// The synced size of the file `st` describes, when the store tracks it and nothing but
    /// a write below that size needs recording (no clean loss is pending on it): a write at or
    /// past it saves nothing.
    pub fn synced_of(&self, st: &Stat) -> Option<u64> {
        self.files.find_unlost(st).map(|i| self.files.slots[i.0].synced)
    }

    /// The store's handle on the file `st` describes, while it tracks the file.
    pub fn handle_of(&self, st: &Stat) -> Option<Handle> {
        self.files.find(st).map(|i| Handle(self.files.slots[i.0].handle))
    }

    /// Whether the file `st` describes has unsynced changes recorded.
    pub fn tracks(&self, st: &Stat) -> bool {
        self.files.find(st).is_some()
    }

    // ---- changes to file data ----------------------------------------------------------

    /// Before a write of `len` bytes at `off` to the regular file `st` (its facts read just
    /// now, under the caller's lock): the synced bytes it overwrites are saved. `open`
    /// gives the store a handle on the file, if it has none yet.
    pub fn before_write<D: Disk>(
        &mut self,
        disk: &D,
        st: &Stat,
        open: impl FnOnce() -> Option<Handle>,
        off: u64,
        len: u64,
    ) -> Result<(), Warning> {
        let i = self.files.slot(disk, st, open, st.size, 0)?;
        self.files.save_clipped(disk, &mut self.arena, &mut self.seq, i, st, off, len)
    }

    /// [`Store::before_write`] in three steps, for a store several processes share under one
    /// lock: the file's slot and room for the bytes to save are reserved here, under the
    /// lock; the caller reads the old bytes into that room without the lock (through its
    /// own mapping of the arena, at [`Reserved::at`], or [`Store::fill`]); [`Store::commit`]
    /// links the record, under the lock again, before the write is made. `None`: nothing
    /// below the synced size is overwritten.
    ///
    /// The room comes from `chunk`, the caller's own run of the arena (see [`Chunk`]).
    pub fn reserve_write<D: Disk>(
        &mut self,
        disk: &D,
        st: &Stat,
        open: impl FnOnce() -> Option<Handle>,
        chunk: &mut Chunk,
        off: u64,
        len: u64,
    ) -> Result<Option<Reserved>, Warning> {
        let i = self.files.slot(disk, st, open, st.size, 0)?;
        // After a clean loss the lost tail is marked too: saved here, under the lock.
        if self.files.lost_clean(i) {
            let (files, arena, seq) = (&mut self.files, &mut self.arena, &mut self.seq);
            return files.save_clipped(disk, arena, seq, i, st, off, len).map(|()| None);
        }
        let s = &self.files.slots[i.0];
        let limit = st.size.min(s.synced);
        if off >= limit || len == 0 {
            return Ok(None);
        }
        let want = usize::try_from(len.min(limit - off)).unwrap_or(usize::MAX);
        let (epoch, handle) = (s.epoch, Handle(s.handle));
        let Some(rec) = self.arena.reserve_in(chunk, off, want, self.seq.0 + 1) else {
            self.files.slots[i.0].flags |= files::LOSSY;
            return Err(Warning::ArenaFull);
        };
        self.seq.0 += 1;
        Ok(Some(Reserved {
            file: i,
            epoch,
            rec,
            at: self.arena.bytes_at(rec),
            len: want,
            off,
            handle,
        }))
    }

    /// Reads a reservation's bytes from its file through `disk` (what a caller without its
    /// own mapping of the arena does); how many it read.
    pub fn fill<D: Disk>(&mut self, disk: &D, r: &Reserved) -> usize {
        disk.read_at(r.handle, self.arena.bytes_mut(r.rec), r.off)
    }

    /// Links a reserved record whose first `got` bytes were read. False when the file's slot
    /// changed since the reservation (synced, rolled back): nothing is linked, and the caller
    /// saves again with [`Store::before_write`] (its write has not been made yet).
    pub fn commit(&mut self, r: Reserved, got: usize) -> bool {
        let s = &self.files.slots[r.file.0];
        let current = s.used && s.epoch == r.epoch;
        if current && got > 0 {
            if got < r.len {
                self.arena.shrink(r.rec, got);
            }
            self.files.insert_sorted(&mut self.arena, r.file, r.rec);
        }
        self.arena.unreserve();
        current
    }

    /// Before the file `st` loses everything from `off` on (a truncation to `off`, a hole
    /// punched or a range collapsed there).
    pub fn before_cut<D: Disk>(
        &mut self,
        disk: &D,
        st: &Stat,
        open: impl FnOnce() -> Option<Handle>,
        off: u64,
    ) -> Result<(), Warning> {
        self.before_write(disk, st, open, off, u64::MAX)
    }

    /// Registers the file `st` without saving anything (a plain allocation changes only
    /// its size, which the synced size already covers).
    pub fn register<D: Disk>(
        &mut self,
        disk: &D,
        st: &Stat,
        open: impl FnOnce() -> Option<Handle>,
    ) -> Result<(), Warning> {
        self.files.slot(disk, st, open, st.size, 0).map(drop)
    }

    /// Before writes to `st` that the caller cannot see (stdio flushing inside libc): the
    /// whole synced content is saved, once per sync. Appending writes change nothing below
    /// the synced size, so `append` saves nothing.
    pub fn before_unseen<D: Disk>(
        &mut self,
        disk: &D,
        st: &Stat,
        open: impl FnOnce() -> Option<Handle>,
        append: bool,
    ) -> Result<(), Warning> {
        let i = self.files.slot(disk, st, open, st.size, 0)?;
        let flags = &mut self.files.slots[i.0].flags;
        if append || *flags & WHOLE != 0 {
            return Ok(());
        }
        *flags |= WHOLE;
        self.files.save_clipped(disk, &mut self.arena, &mut self.seq, i, st, 0, u64::MAX)
    }

    /// The file `st` was just created: never synced, a power cut leaves it empty.
    pub fn created<D: Disk>(
        &mut self,
        disk: &D,
        st: &Stat,
        open: impl FnOnce() -> Option<Handle>,
    ) -> Result<(), Warning> {
        if let Some(i) = self.files.find(st) {
            // Only possible for a file created, opened again and written in between.
            self.files.slots[i.0].flags |= CREATED;
            return Ok(());
        }
        self.files.slot(disk, st, open, 0, CREATED).map(drop)
    }

    // ---- syncs ---------------------------------------------------------------------------

    /// `fsync`/`fdatasync` of `st` succeeded: its synced state is what it holds now (for a
    /// directory: the journal entries that waited for it are durable).
    pub fn synced<D: Disk>(&mut self, disk: &D, st: &Stat) -> Result<(), Warning> {
        if st.dir() {
            self.journal.synced_dir(disk, st);
        } else if let Some(i) = self.files.find(st) {
            return self.synced_file(disk, i, Some(st.size));
        }
        Ok(())
    }

    /// File `i` is synced: forgotten, or after a clean loss, only what this sync made
    /// durable is; a file mapped shared and writable keeps its mapped ranges' synced content
    /// (`mapped.rs`; `size`: its size now, if known).
    fn synced_file<D: Disk>(
        &mut self,
        disk: &D,
        i: FileId,
        size: Option<u64>,
    ) -> Result<(), Warning> {
        let h = Handle(self.files.slots[i.0].handle);
        let size = size.or_else(|| disk.size(h)).unwrap_or(self.files.slots[i.0].synced);
        if self.files.lost_clean(i) {
            return self.files.synced_after_clean(disk, &mut self.arena, &mut self.seq, i, size);
        }
        if self.files.slots[i.0].maps.iter().all(|m| m.len == 0) {
            self.files.drop_slot(disk, &mut self.arena, i);
            return Ok(());
        }
        self.synced_mapped_file(disk, i, size)
    }

    /// A write of `len` bytes at `off` to the file `st` through a descriptor opened `O_DSYNC`
    /// or `O_SYNC` returned: those bytes, and the size that reaches them, are durable. Bytes
    /// appended before and not synced, up to `off`, never reached the disk: after a power cut
    /// they read as zeros.
    pub fn synced_write<D: Disk>(
        &mut self,
        disk: &D,
        st: &Stat,
        off: u64,
        len: u64,
    ) -> Result<(), Warning> {
        let Some(i) = self.files.find_unlost(st) else {
            return Ok(());
        };
        let end = off.saturating_add(len);
        self.files.refresh(disk, &mut self.arena, i, (off, end), u64::MAX);
        self.files.synced_range(&mut self.arena, i, off, end);
        self.grow_synced(disk, i, off, end)
    }

    /// `sync_file_range(off, n)` with `WAIT_AFTER` succeeded on `st`: the pages of the range
    /// are written (`n` 0: to the end), whole. Records wholly inside are dropped, and the part
    /// of a record that straddles the range's edge is read again from the file (durable now),
    /// so a rollback leaves it as it is. The size is never synced this way.
    pub fn synced_range<D: Disk>(&mut self, disk: &D, st: &Stat, off: u64, n: u64) {
        const PAGE: u64 = 4096;
        let from = off / PAGE * PAGE;
        let end = if n == 0 {
            u64::MAX
        } else {
            off.saturating_add(n).div_ceil(PAGE).saturating_mul(PAGE)
        };
        // After a clean loss only a whole-file sync is modelled: the range stays unsynced.
        if let Some(i) = self.files.find_unlost(st) {
            self.files.refresh(disk, &mut self.arena, i, (from, end), u64::MAX);
            self.files.synced_range(&mut self.arena, i, from, end);
        }
    }

    /// `syncfs` succeeded on device `dev`: every file and directory on it is synced.
    pub fn synced_fs<D: Disk>(&mut self, disk: &D, dev: u64) -> Result<(), Warning> {
        self.journal.prune(disk, |p| p.0 == dev);
        self.synced_where(disk, |s| s.dev == dev)
    }

    /// `sync()` ran: everything is synced.
    pub fn synced_all<D: Disk>(&mut self, disk: &D) -> Result<(), Warning> {
        self.journal.prune(disk, |_| true);
        self.synced_where(disk, |_| true)
    }

    fn synced_where<D: Disk>(
        &mut self,
        disk: &D,
        which: impl Fn(&Stat) -> bool,
    ) -> Result<(), Warning> {
        let mut result = Ok(());
        for i in 0..FILES {
            let s = &self.files.slots[i];
            let st = Stat { dev: s.dev, ino: s.ino, ..Stat::default() };
            if s.used && which(&st) {
                result = result.and(self.synced_file(disk, FileId(i), None));
            }
        }
        result
    }

    // ---- losing data ---------------------------------------------------------------------

    /// A sync of `st` failed and the kernel dropped its dirty pages (`lose(E)`): the file
    /// (with `whole_fs`, every file on its device) returns to its synced state, which then
    /// counts as synced. Returns false when a rollback was incomplete.
    pub fn lose<D: Disk>(&mut self, disk: &D, st: &Stat, whole_fs: bool) -> bool {
        let mut whole = true;
        for i in 0..FILES {
            let s = &self.files.slots[i];
            let same = s.used && s.dev == st.dev && (whole_fs || s.ino == st.ino);
            if same {
                whole &= self.files.roll_back(disk, &self.arena, FileId(i));
                self.files.drop_slot(disk, &mut self.arena, FileId(i));
            }
        }
        whole
    }

    /// A sync of `st` failed the way ext4 and XFS fail one (`lose(E,clean)`): the kernel marked
    /// the dirty pages clean without writing them. The file (with `whole_fs`, every file on its
    /// device) keeps its new bytes, a retried sync succeeds, and the next power cut loses what
    /// was not synced before this failure (see `clean.rs`).
    pub fn lose_clean<D: Disk>(&mut self, disk: &D, st: &Stat, whole_fs: bool) {
        for i in 0..FILES {
            let s = &self.files.slots[i];
            if s.used && s.dev == st.dev && (whole_fs || s.ino == st.ino) {
                let size =
                    if s.ino == st.ino { Some(st.size) } else { disk.size(Handle(s.handle)) };
                let size = size.unwrap_or(s.synced);
                self.files.lose_clean(&mut self.arena, &self.seq, FileId(i), size);
            }
        }
    }

    /// The power goes out: every file goes back to its synced state, then the changes the
    /// cut keeps are made again (`cut.mode`, with choices drawn from `seed`; see [`cut`]),
    /// and with `cut.dirs` the directory changes not yet durable and not kept are undone,
    /// newest first. Returns false when a rollback was incomplete. The store keeps its
    /// records: the caller ends the process.
    ///
    /// Changes that were not recorded one by one (the arena was full, stdio wrote unseen)
    /// are lost whole. Directory entries survive as a prefix in every mode, in the order they
    /// were made, as a journaling file system commits them.
    pub fn power_cut<D: Disk>(&self, disk: &D, cut: &Cut, seed: u64) -> bool {
        let mut whole = true;
        for (i, _) in self.files.used() {
            whole &= self.files.roll_back(disk, &self.arena, i);
        }
        let entries = |upto: u64| self.journal.live().filter(|e| e.seq <= upto).count() as u64;
        let data = |upto: u64| {
            self.files
                .used()
                .map(|(i, _)| self.files.redo_seqs(&self.arena, i).filter(|&q| q <= upto).count())
                .sum::<usize>() as u64
        };
        let max = self.seq.0;
        // The last change kept, for the prefix modes; the last directory entry kept.
        let (data_end, entries_end) = match cut.mode {
            Mode::All => (0, 0),
            // The records are marked (`mark_kept`); the seed is the last entry kept.
            Mode::Keep => (max, seed),
            Mode::Prefix => {
                let n = data(max) + if cut.dirs { entries(max) } else { 0 };
                let k = cut::draw(seed, cut::PREFIX_SALT, 0) % (n + 1);
                let end = if cut.dirs {
                    cut::prefix_end(k, max, |s| data(s) + entries(s))
                } else {
                    cut::prefix_end(k, max, data)
                };
                (end, end)
            }
            Mode::Any | Mode::Torn => {
                let k = cut::draw(seed, cut::ENTRIES_SALT, 0) % (entries(max) + 1);
                (max, cut::prefix_end(k, max, entries))
            }
        };
        if cut.mode != Mode::All {
            let sector = u64::from(cut.sector.max(Cut::MIN_SECTOR));
            // The page cache writes a page back whole, as it is at that moment: of one page's
            // writes, those made up to a seeded moment survive (a prefix), page by page.
            let page = sector.max(4096);
            for (i, s) in self.files.used() {
                let file = cut::draw(s.dev, s.ino, 0);
                let until =
                    |off: u64| cut::draw(seed, cut::PAGE_SALT ^ file, off / page) % (max + 1);
                let keep = |seq: u64, tag: u64, piece: Option<files::Piece>| match (cut.mode, piece)
                {
                    (Mode::Prefix, None) => seq <= data_end,
                    (Mode::Any | Mode::Torn, None) => {
                        tag & files::KIND != files::REDO_TRUNCATE || cut::coin(seed, seq, 0)
                    }
                    (Mode::Any, Some(p)) => seq <= until(p.off),
                    (Mode::Torn, Some(p)) => {
                        seq <= until(p.off) && (!p.multi || cut::coin(seed, seq, p.part + 1))
                    }
                    (Mode::Keep, None) => tag & files::KEPT != 0,
                    (Mode::Keep, Some(p)) => {
                        tag & files::TORN == 0
                            || (p.part < files::SECTORS_MARKED as u64
                                && tag >> (files::SECTOR_BITS as u64 + p.part) & 1 != 0)
                    }
                    _ => true,
                };
                if s.flags & files::NO_REDO == 0 {
                    whole &= self.files.replay(disk, &self.arena, i, sector, keep);
                }
            }
        }
        if cut.dirs {
            self.journal.undo(disk, entries_end);
        }
        whole
    }

    /// Before a `keep` cut ([`Mode::Keep`]): marks every redo record with what the cut does
    /// with it, `fate(seq)` saying lost, kept whole or torn (see [`crate::Keep::fate`]), and
    /// returns the number of the last directory entry kept when `entries` of those not yet
    /// durable survive (the cut's seed). The bool is false when a torn write has more sectors
    /// than a mark holds (kept whole instead).
    pub fn mark_kept<'k>(
        &mut self,
        fate: &dyn Fn(u64) -> Option<Option<&'k [bool]>>,
        entries: u64,
    ) -> (u64, bool) {
        let mut exact = true;
        for i in 0..FILES {
            if self.files.slots[i].used {
                exact &= self.files.mark_kept(&mut self.arena, FileId(i), fate);
            }
        }
        // The entries are numbered in the order they were made; the first `entries` live ones
        // survive.
        let last = match entries.checked_sub(1) {
            None => 0,
            Some(n) => usize::try_from(n)
                .ok()
                .and_then(|n| self.journal.live().nth(n))
                .map_or(u64::MAX, |e| e.seq),
        };
        (last, exact)
    }

    // ---- changes kept by a power cut -----------------------------------------------------

    /// A write of `len` bytes at `off` to the file `st` was made: when power cuts may keep
    /// changes ([`Mode::keeps_changes`]), the bytes it left are recorded (read back through
    /// the store's handle), to be made again by a cut that keeps it. Nothing for a file
    /// the store does not track.
    pub fn wrote<D: Disk>(
        &mut self,
        disk: &D,
        st: &Stat,
        off: u64,
        len: u64,
    ) -> Result<(), Warning> {
        match self.files.find(st) {
            Some(i) if len > 0 => {
                self.files.redo(disk, &mut self.arena, &mut self.seq, i, Redo::Write { off, len })
            }
            _ => Ok(()),
        }
    }

    /// The file `st` was truncated (or extended) to `len`: recorded as [`Store::wrote`] does.
    pub fn truncated<D: Disk>(&mut self, disk: &D, st: &Stat, len: u64) -> Result<(), Warning> {
        match self.files.find(st) {
            Some(i) => {
                self.files.redo(disk, &mut self.arena, &mut self.seq, i, Redo::Truncate { len })
            }
            None => Ok(()),
        }
    }

    // ---- directory entries ---------------------------------------------------------------

    /// Journals a directory change (`powercut(dirs)`): `path` was created or removed, or
    /// renamed to `to`; `held` is a handle on the file a removal or rename replaced, which
    /// the journal keeps (or releases, when it cannot keep the entry).
    pub fn journal<D: Disk>(
        &mut self,
        disk: &D,
        op: Op,
        path: &[u8],
        to: Option<&[u8]>,
        held: Option<Handle>,
    ) -> Result<(), Warning> {
        self.journal.add(disk, &mut self.seq, op, path, to, held)
    }

    // ---- the trace -------------------------------------------------------------------------

    /// Every pending change (not yet synced), file by file and then the journal; each
    /// carries its [`Change::seq`], so sorting by it gives the order they were made.
    pub fn changes(&self) -> impl Iterator<Item = Change<'_>> {
        let arena = &self.arena;
        let data = self.files.used().flat_map(move |(file, s)| {
            std::iter::successors(s.head.map(|r| arena.record(r)), move |r| {
                r.prev.map(|p| arena.record(p))
            })
            .map(move |r| Change::Overwrite {
                seq: r.seq,
                file,
                off: r.off,
                old: r.bytes,
            })
        });
        let entries = self.journal.live().map(|e| Change::Entry {
            seq: e.seq,
            op: e.op,
            path: journal::c_path(&e.a).to_bytes(),
            to: (e.op == Op::Renamed).then(|| journal::c_path(&e.b).to_bytes()),
        });
        data.chain(entries)
    }
}

#[cfg(test)]
mod tests;
