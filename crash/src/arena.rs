//! The undo arena: the original bytes of every range overwritten since a file's last sync.
//!
//! One block of memory, handed to the model by its owner (the preload reserves an anonymous
//! mapping off the heap), carved out by a bump pointer. A record is a header (the file's
//! older record, the file offset, the length, the change's sequence number) followed by the
//! bytes. Records are not freed one by one: the arena starts over when no record is alive
//! (every tracked file synced or rolled back).
//!
//! Records refer to each other by their offset in the arena, never by address, so the arena
//! could be a mapping that several processes share at different addresses. Outside this file
//! a record is a [`RecordId`], and its contents are only reached through the arena that
//! holds it ([`Arena::record`]), for as long as that borrow lasts.

use std::num::NonZeroU64;

/// A record, by its place in its arena.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordId(NonZeroU64);

/// A record as read from its arena.
#[derive(Clone, Copy, Debug)]
pub struct Record<'a> {
    /// Where in the file the bytes were.
    pub off: u64,
    /// The change's place in the order of all changes.
    pub seq: u64,
    /// The record linked after it: an undo record's older one, a redo record's newer one.
    pub prev: Option<RecordId>,
    /// The bytes the change overwrote (of a redo record: what the change left).
    pub bytes: &'a [u8],
    /// What kind of record it is, for its owner (0 unless [`Arena::set_tag`] said).
    pub tag: u64,
}

const HEADER: usize = 40;
/// Offset 0 means "no record", so the first record starts past it.
const FIRST: usize = 64;

/// The arena; see the module documentation.
pub struct Arena<'m> {
    mem: Option<&'m mut [u8]>,
    used: usize,
    /// Records alive (in some file's list).
    live: u64,
    /// The high-water mark of the last reset, for the owner to give back (`take_reset`).
    reset: usize,
    /// Records reserved and not yet linked or given up (`reserve`): the arena must not
    /// start over under them.
    reserved: u64,
    /// How many times the arena started over: a [`Chunk`] of an earlier time is void.
    resets: u64,
}

/// A run of the arena one process allocates its records from ([`Arena::reserve_in`]), so
/// that the records of processes sharing the arena do not share pages (each page then has
/// one writer, and its faults one process). Kept by the process, not in the arena.
#[derive(Clone, Copy, Debug, Default)]
pub struct Chunk {
    next: usize,
    end: usize,
    resets: u64,
    valid: bool,
}

impl Chunk {
    /// No run yet: the first reservation takes one.
    pub const EMPTY: Chunk = Chunk { next: 0, end: 0, resets: 0, valid: false };

    /// Where the chunk ends, from the start of the arena's memory: a new chunk has a new end
    /// (its owner may fault its pages in at once).
    pub fn end(&self) -> usize {
        self.end
    }

    /// The chunk's bytes, from the start of the arena's memory, not yet handed out.
    pub fn unused(&self) -> std::ops::Range<usize> {
        self.next..self.end
    }
}

/// The size of a [`Chunk`] (of a large enough arena).
const CHUNK: usize = 1 << 20;

fn get(mem: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&mem[at..at + 8]);
    u64::from_ne_bytes(w)
}

fn put(mem: &mut [u8], at: usize, v: u64) {
    mem[at..at + 8].copy_from_slice(&v.to_ne_bytes());
}

impl<'m> Arena<'m> {
    /// An arena with no memory yet: every allocation fails until [`Arena::give`].
    pub const fn empty() -> Arena<'m> {
        Arena { mem: None, used: FIRST, live: 0, reset: 0, reserved: 0, resets: 0 }
    }

    /// Hands the arena its memory (once; later calls keep the first).
    pub fn give(&mut self, mem: &'m mut [u8]) {
        if self.mem.is_none() {
            self.mem = Some(mem);
        }
    }

    /// Points the arena at `mem`, a mapping of the same memory at another address (the
    /// arena is shared by several processes, each of which maps it where it can): nothing it
    /// holds changes, since records refer to each other by offset.
    pub fn rehome(&mut self, mem: &'m mut [u8]) {
        self.mem = Some(mem);
    }

    /// Whether it has memory.
    pub fn ready(&self) -> bool {
        self.mem.is_some()
    }

    /// A new record of `len` bytes for file offset `off`, to be filled through
    /// [`Arena::bytes_mut`] and then [`Arena::link`]ed; `None` when the arena is full.
    pub fn alloc(&mut self, off: u64, len: usize, seq: u64) -> Option<RecordId> {
        let mem = self.mem.as_deref_mut()?;
        let at = self.used;
        let end = at.checked_add(HEADER)?.checked_add(len)?.checked_next_multiple_of(8)?;
        if end > mem.len() {
            return None;
        }
        put(mem, at, 0);
        put(mem, at + 8, off);
        put(mem, at + 16, len as u64);
        put(mem, at + 24, seq);
        put(mem, at + 32, 0);
        self.used = end;
        Some(RecordId(NonZeroU64::new(at as u64)?))
    }

    /// A record its caller fills later, without the store's lock (until
    /// [`Arena::unreserve`] the arena does not start over), from the caller's own `chunk`,
    /// which is renewed from the arena when it is used up or the arena has started over.
    pub fn reserve_in(
        &mut self,
        chunk: &mut Chunk,
        off: u64,
        len: usize,
        seq: u64,
    ) -> Option<RecordId> {
        let need = HEADER.checked_add(len)?.checked_next_multiple_of(8)?;
        let mem_len = self.mem.as_deref().map_or(0, <[u8]>::len);
        if !chunk.valid || chunk.resets != self.resets || chunk.next + need > chunk.end {
            // A chunk is a sixty-fourth of the arena at most, so that small arenas serve
            // several processes too.
            let size = need.max(CHUNK.min(mem_len / 64));
            let at = self.used;
            let end = at.checked_add(size)?;
            if end > mem_len {
                return None;
            }
            self.used = end;
            *chunk = Chunk { next: at, end, resets: self.resets, valid: true };
        }
        let mem = self.mem.as_deref_mut()?;
        let at = chunk.next;
        put(mem, at, 0);
        put(mem, at + 8, off);
        put(mem, at + 16, len as u64);
        put(mem, at + 24, seq);
        put(mem, at + 32, 0);
        chunk.next += need;
        self.reserved += 1;
        Some(RecordId(NonZeroU64::new(at as u64)?))
    }

    /// A reserved record was linked or given up.
    pub fn unreserve(&mut self) {
        self.reserved = self.reserved.saturating_sub(1);
        self.dropped(0);
    }

    /// Where record `r`'s bytes start, from the start of the arena's memory.
    pub fn bytes_at(&self, r: RecordId) -> usize {
        r.0.get() as usize + HEADER
    }

    /// Shortens record `r` to `len` bytes (its file was shorter than expected).
    pub fn shrink(&mut self, r: RecordId, len: usize) {
        if let Some(mem) = self.mem.as_deref_mut() {
            let at = r.0.get() as usize;
            let len = (len as u64).min(get(mem, at + 16));
            put(mem, at + 16, len);
        }
    }

    /// Gives back the last record allocated, which was never linked.
    pub fn unalloc(&mut self, r: RecordId) {
        self.used = r.0.get() as usize;
    }

    /// The bytes of a record, to fill in.
    pub fn bytes_mut(&mut self, r: RecordId) -> &mut [u8] {
        let at = r.0.get() as usize;
        match self.mem.as_deref_mut() {
            Some(mem) => {
                let len = get(mem, at + 16) as usize;
                &mut mem[at + HEADER..at + HEADER + len]
            }
            None => &mut [],
        }
    }

    /// A record's contents.
    pub fn record(&self, r: RecordId) -> Record<'_> {
        let at = r.0.get() as usize;
        let mem = self.mem.as_deref().unwrap_or(&[]);
        let len = get(mem, at + 16) as usize;
        Record {
            off: get(mem, at + 8),
            seq: get(mem, at + 24),
            prev: NonZeroU64::new(get(mem, at)).map(RecordId),
            bytes: &mem[at + HEADER..at + HEADER + len],
            tag: get(mem, at + 32),
        }
    }

    /// Marks what kind of record `r` is, for its owner.
    pub fn set_tag(&mut self, r: RecordId, tag: u64) {
        if let Some(mem) = self.mem.as_deref_mut() {
            put(mem, r.0.get() as usize + 32, tag);
        }
    }

    /// Makes `prev` the record older than `r`.
    pub fn set_prev(&mut self, r: RecordId, prev: Option<RecordId>) {
        if let Some(mem) = self.mem.as_deref_mut() {
            put(mem, r.0.get() as usize, prev.map_or(0, |p| p.0.get()));
        }
    }

    /// Links `r` in front of `head` (a file's newest record) and counts it alive.
    pub fn link(&mut self, r: RecordId, head: Option<RecordId>) {
        self.set_prev(r, head);
        self.live += 1;
    }

    /// `n` records left their file's list; when none is left, the arena starts over.
    pub fn dropped(&mut self, n: u64) {
        self.live = self.live.saturating_sub(n);
        if self.live == 0 && self.reserved == 0 && self.used > FIRST {
            self.reset = self.reset.max(self.used);
            self.used = FIRST;
            self.resets += 1;
        }
    }

    /// How many bytes of the arena were written before the resets since the last call: the
    /// owner may give those pages back to the system (they are reused either way).
    pub fn take_reset(&mut self) -> usize {
        std::mem::take(&mut self.reset)
    }

    /// Records alive.
    pub fn live(&self) -> u64 {
        self.live
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_chain_and_the_arena_starts_over() {
        let mut mem = vec![0u8; 4096];
        let mut a = Arena::empty();
        assert!(a.alloc(0, 4, 1).is_none(), "no memory yet");
        a.give(&mut mem);
        let r1 = a.alloc(10, 4, 1).unwrap();
        a.bytes_mut(r1).copy_from_slice(b"abcd");
        a.link(r1, None);
        let r2 = a.alloc(20, 3, 2).unwrap();
        a.bytes_mut(r2).copy_from_slice(b"xyz");
        a.link(r2, Some(r1));
        let rec = a.record(r2);
        assert_eq!((rec.off, rec.seq, rec.prev, rec.bytes), (20, 2, Some(r1), &b"xyz"[..]));
        assert_eq!(a.record(r1).prev, None);
        assert!(a.alloc(0, 5000, 3).is_none(), "larger than the arena");
        a.dropped(2);
        assert!(a.take_reset() > FIRST);
        assert_eq!(a.alloc(0, 1, 4), Some(RecordId(NonZeroU64::new(FIRST as u64).unwrap())));
    }

    #[test]
    fn a_rehomed_arena_reads_its_records_through_the_new_address() {
        let mut first = vec![0u8; 4096];
        let mut second = vec![0u8; 4096];
        let mut a = Arena::empty();
        a.give(&mut first);
        let r = a.alloc(7, 3, 1).unwrap();
        a.bytes_mut(r).copy_from_slice(b"old");
        a.link(r, None);
        // Another mapping of the same memory: here, a copy of its bytes.
        second.copy_from_slice(a.mem.as_deref().unwrap());
        a.rehome(&mut second);
        assert_eq!(a.record(r).bytes, b"old");
        assert_eq!(a.live(), 1);
    }
}
