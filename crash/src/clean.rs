//! `lose(E,clean)`: a sync fails as ext4 and XFS fail one (CuttleFS, ATC '20). The kernel
//! marks the dirty pages clean without writing them: the new bytes stay readable, a retried
//! sync succeeds with nothing to write, and the next power cut loses them. (`lose(E)`, which
//! is `lose(E,revert)`, is Btrfs's: the file returns to its synced state at once.)
//!
//! In the file table a clean loss leaves the file as it is and marks its slot: its undo
//! records so far (numbered up to `clean_seq`) describe what the disk still holds, and stay
//! until a power cut, whatever is synced later; the bytes appended since the last sync (up to
//! `tail_end`) never reached the disk either. A later successful sync makes durable only the
//! pages written after the loss, whole (a page holds the lost bytes around a new write too):
//!
//! - the lost records' bytes in those pages are refreshed from the file (durable now);
//! - the lost tail becomes records of zeros (a block never written reads as zeros after a
//!   crash), but for those pages;
//! - the records made after the loss are dropped, and the synced size is the file's size.

use crate::arena::{Arena, RecordId};
use crate::disk::Disk;
use crate::files::{FileId, Files, NO_REDO};
use crate::warning::{Seq, Warning};

/// A page: the unit the kernel writes back.
const PAGE: u64 = 4096;

impl Files {
    /// A sync of `i` failed the clean way: the changes not synced are lost for good, though
    /// the file keeps them for now. `size` is the file's size now.
    pub(crate) fn lose_clean(&mut self, arena: &mut Arena<'_>, seq: &Seq, i: FileId, size: u64) {
        let s = &mut self.slots[i.0];
        s.clean_seq = seq.0;
        s.tail_end = s.tail_end.max(size.max(s.synced));
        // What a cut keeps of these changes would have to come from the lost pages.
        s.flags |= NO_REDO;
        self.drop_redo(arena, i);
    }

    /// The slot of the file `st` describes, unless a clean loss is pending on it (then only a
    /// whole-file sync is modelled, `clean.rs`).
    pub(crate) fn find_unlost(&self, st: &crate::Stat) -> Option<FileId> {
        self.find(st).filter(|i| !self.lost_clean(*i))
    }

    /// Whether `i` lost changes the clean way.
    pub(crate) fn lost_clean(&self, i: FileId) -> bool {
        self.slots[i.0].clean_seq != 0
    }

    /// A sync of `i` (of size `size` now) succeeded after a clean loss; see the module
    /// documentation.
    pub(crate) fn synced_after_clean<D: Disk>(
        &mut self,
        disk: &D,
        arena: &mut Arena<'_>,
        seq: &mut Seq,
        i: FileId,
        size: u64,
    ) -> Result<(), Warning> {
        let s = self.slots[i.0];
        // 1. The lost records' bytes in pages written since the loss are durable now.
        let mut newer = s.head;
        while let Some(n) = newer {
            let (n_off, n_end, n_prev, n_number, _) = facts(arena, n);
            if n_number <= s.clean_seq {
                break;
            }
            newer = n_prev;
            self.refresh(disk, arena, i, (page_down(n_off), page_up(n_end)), s.clean_seq);
        }
        // 2. The lost tail, but for the pages written since the loss: zeros.
        let mut zeros: [(u64, u64); 64] = [(0, 0); 64];
        let mut n = 0;
        let mut page = s.synced;
        let tail_end = s.tail_end.min(size);
        while page < tail_end && n < zeros.len() {
            let end = (page_down(page) + PAGE).min(tail_end);
            let mut written = false;
            let mut newer = s.head;
            while let Some(x) = newer {
                let (n_off, n_end, n_prev, n_number, _) = facts(arena, x);
                if n_number <= s.clean_seq {
                    break;
                }
                written |= page_down(n_off) < end && page < page_up(n_end);
                newer = n_prev;
            }
            if !written {
                match zeros[..n].last_mut() {
                    Some(last) if last.1 == page => last.1 = end,
                    _ => {
                        zeros[n] = (page, end);
                        n += 1;
                    }
                }
            }
            page = end;
        }
        // 3. The records made since the loss are durable: dropped (they lead the list).
        let mut head = s.head;
        let mut gone = 0;
        while let Some(r) = head {
            let (_, _, prev, number, _) = facts(arena, r);
            if number <= s.clean_seq {
                break;
            }
            head = prev;
            gone += 1;
        }
        let slot = &mut self.slots[i.0];
        slot.head = head;
        slot.count -= gone;
        arena.dropped(gone);
        slot.synced = size;
        slot.tail_end = 0;
        let mut result = Ok(());
        for &(a, b) in &zeros[..n] {
            result = result.and(self.zero_record(arena, seq, i, a, b - a));
        }
        self.slots[i.0].clean_seq = seq.0;
        result
    }

    /// A record of `len` zeros at `off` of `i`, linked newest.
    pub(crate) fn zero_record(
        &mut self,
        arena: &mut Arena<'_>,
        seq: &mut Seq,
        i: FileId,
        off: u64,
        len: u64,
    ) -> Result<(), Warning> {
        let s = &mut self.slots[i.0];
        let want = usize::try_from(len).unwrap_or(usize::MAX);
        let Some(rec) = arena.alloc(off, want, seq.0 + 1) else {
            s.flags |= crate::files::LOSSY;
            return Err(Warning::ArenaFull);
        };
        arena.bytes_mut(rec).fill(0);
        seq.0 += 1;
        arena.link(rec, s.head);
        s.head = Some(rec);
        s.count += 1;
        Ok(())
    }
}

/// A record's offset, end, next (older) record, number and tag.
fn facts(arena: &Arena<'_>, r: RecordId) -> (u64, u64, Option<RecordId>, u64, u64) {
    let rec = arena.record(r);
    (rec.off, rec.off + rec.bytes.len() as u64, rec.prev, rec.seq, rec.tag)
}

fn page_down(off: u64) -> u64 {
    off / PAGE * PAGE
}

fn page_up(off: u64) -> u64 {
    off.div_ceil(PAGE).saturating_mul(PAGE)
}
