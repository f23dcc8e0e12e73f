//! The persistence model: which changes of a trace a power cut may have kept, and the crash
//! states that follows from it (SPEC §8.1, after ALICE, OSDI '14).
//!
//! A change is *durable* once a later sync covers it: a write or truncation by an `fsync` or
//! `fdatasync` of its file, a `syncfs` of its file system or a `sync`; a write also by a
//! `sync_file_range` or `msync` that covers it, or at once when its descriptor is `O_DSYNC`;
//! a directory entry (creation, link, rename, removal) by an `fsync` of its parent directory
//! (either one for a rename, which a journal commits whole), `syncfs` or `sync`, and with it
//! every entry made before it (a journal commits in order). An `fsync` of a new file does not make its
//! name durable: POSIX does not promise it, and ext4 keeps it only as a side effect of its
//! journal.
//!
//! At a *crash point* (after change `k`), the durable changes are kept, and of the others:
//!
//! | mode | kept |
//! |---|---|
//! | `prefix` | a prefix of them, in the order they were made |
//! | `any` | a prefix of each page's writes, pages independently (a page is written back whole,
//! as it is at that moment), each truncation independently |
//! | `torn` | as `any`, and a kept write that spans several sectors keeps any subset of them |
//!
//! Directory entries are kept as a prefix in every mode: a journaling file system commits
//! them in order (as `powercut(dirs)` does live). A file whose creation is lost loses its data
//! with it.
#![forbid(unsafe_code)]

use super::trace::{Change, Op};
use failinject_crash::Keep;
use std::collections::{BTreeMap, BTreeSet};

/// How the changes not yet durable may survive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    Prefix,
    Any,
    Torn,
}

/// One crash state: at crash point `point` (after the change of that index), which of the
/// changes not yet durable survive.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct State {
    pub point: usize,
    /// The data changes not yet durable that survive, whole or torn.
    pub kept: BTreeSet<usize>,
    /// How many of the directory entries not yet durable survive (a prefix).
    pub entries: usize,
    /// Kept writes torn: which of their sectors survive (one flag per sector, in order).
    pub torn: BTreeMap<usize, Vec<bool>>,
}

/// The changes at a crash point that may be lost: data changes and directory entries, each in
/// trace order.
#[derive(Debug, Default, PartialEq)]
pub struct Pending {
    pub data: Vec<usize>,
    pub entries: Vec<usize>,
}

/// For each change, the index of the change that made it durable (`None`: never, in the
/// trace). A change durable at once names itself. Directory entries are committed in order
/// (a journal): an entry is durable once a directory it changes is synced (a rename: either
/// of its two), and so is every entry made before it.
pub fn durable_at(changes: &[Change]) -> Vec<Option<usize>> {
    let mut out = entries_durable_at(changes);
    for (i, c) in changes.iter().enumerate() {
        if let Op::Write { dsync: true, .. } = c.op {
            out[i] = Some(i);
            continue;
        }
        if !c.op.is_data() {
            continue;
        }
        if let Some(j) = changes.iter().skip(i + 1).position(|s| covers_data(&c.op, &s.op)) {
            out[i] = Some(i + 1 + j);
        }
    }
    out
}

/// When each directory entry became durable (in order: see [`durable_at`]); `None` for the
/// other changes.
fn entries_durable_at(changes: &[Change]) -> Vec<Option<usize>> {
    let mut out = vec![None; changes.len()];
    // The entries not yet durable, oldest first.
    let mut waiting: Vec<usize> = Vec::new();
    for (j, s) in changes.iter().enumerate() {
        if s.op.is_entry() {
            waiting.push(j);
            continue;
        }
        let newest = match &s.op {
            Op::Sync | Op::SyncFs { .. } => waiting.len().checked_sub(1),
            Op::Fsync { dir: true, path: Some(p), .. } => {
                waiting.iter().rposition(|&i| parents_of(&changes[i]).contains(p))
            }
            _ => None,
        };
        if let Some(k) = newest {
            for i in waiting.drain(..=k) {
                out[i] = Some(j);
            }
        }
    }
    out
}

/// The parent directories of an entry change (relative paths; `""` is the run's directory).
fn parents_of(c: &Change) -> Vec<String> {
    let parent = |p: &str| p.rsplit_once('/').map_or(String::new(), |(d, _)| d.to_string());
    match &c.op {
        Op::Create { path, .. } | Op::Link { path, .. } | Op::Unlink { path, .. } => {
            vec![parent(path)]
        }
        Op::Rename { from, to } => {
            let (a, b) = (parent(from), parent(to));
            if a == b { vec![a] } else { vec![a, b] }
        }
        _ => Vec::new(),
    }
}

/// Whether sync `s` makes data change `c` durable.
fn covers_data(c: &Op, s: &Op) -> bool {
    let (file, range) = match c {
        Op::Write { file, off, len, .. } => (file, Some((*off, off + len))),
        Op::Truncate { file, .. } => (file, None),
        _ => return false,
    };
    match s {
        Op::Sync => true,
        Op::SyncFs { dev } => *dev == file.dev,
        Op::Fsync { file: Some(f), dir: false, .. } => f == file,
        // A range sync writes whole pages, never the size.
        Op::SyncRange { file: f, off, len } => {
            const PAGE: u64 = 4096;
            let (from, to) = (
                off / PAGE * PAGE,
                if *len == 0 { u64::MAX } else { (off + len).div_ceil(PAGE) * PAGE },
            );
            f == file && range.is_some_and(|(a, b)| a >= from && b <= to)
        }
        _ => false,
    }
}

/// The crash points: after every change, or (`syncs_only`) after every sync, and always after
/// the last change.
pub fn points(changes: &[Change], syncs_only: bool) -> Vec<usize> {
    let is_sync = |c: &Change| {
        matches!(c.op, Op::Fsync { .. } | Op::SyncRange { .. } | Op::SyncFs { .. } | Op::Sync)
    };
    let mut out: Vec<usize> =
        (0..changes.len()).filter(|&i| !syncs_only || is_sync(&changes[i])).collect();
    if let Some(last) = changes.len().checked_sub(1)
        && out.last() != Some(&last)
    {
        out.push(last);
    }
    out
}

/// The changes up to `point` not yet durable there.
pub fn pending(changes: &[Change], durable: &[Option<usize>], point: usize) -> Pending {
    let mut p = Pending::default();
    for i in 0..=point.min(changes.len().saturating_sub(1)) {
        if durable[i].is_some_and(|j| j <= point) {
            continue;
        }
        if changes[i].op.is_data() {
            p.data.push(i);
        } else if changes[i].op.is_entry() {
            p.entries.push(i);
        }
    }
    p
}

/// How many sectors of `sector` bytes a change touches (1 for anything but a write).
pub fn sectors(op: &Op, sector: u64) -> usize {
    match op {
        Op::Write { off, len, .. } if *len > 0 => {
            ((off + len - 1) / sector - off / sector + 1) as usize
        }
        _ => 1,
    }
}

/// The crash states at `point`, at most `max`: all of them when there are no more, else the
/// two extremes (everything kept, as a process crash leaves it; nothing kept) and a sample
/// drawn from `seed`. Pure: the same arguments give the same states.
pub fn states(
    changes: &[Change],
    pending: &Pending,
    point: usize,
    (mode, sector): (Mode, u64),
    max: usize,
    seed: u64,
) -> Vec<State> {
    let state = |kept: BTreeSet<usize>, entries: usize, torn: BTreeMap<usize, Vec<bool>>| State {
        point,
        kept,
        entries,
        torn,
    };
    let e = pending.entries.len();
    if mode == Mode::Prefix {
        // The changes in order, data and entries alike: a prefix of length n.
        let mut order: Vec<usize> = pending.data.iter().chain(&pending.entries).copied().collect();
        order.sort_unstable();
        let count = order.len() + 1;
        let lengths: Vec<usize> = if count <= max {
            (0..count).rev().collect()
        } else {
            let mut rng = Rng::new(seed ^ point as u64);
            let mut l = vec![order.len(), 0];
            l.extend((2..max).map(|_| rng.below(count as u64) as usize));
            l
        };
        return lengths
            .into_iter()
            .map(|n| {
                let kept =
                    order[..n].iter().copied().filter(|i| changes[*i].op.is_data()).collect();
                let entries = order[..n].iter().filter(|i| changes[**i].op.is_entry()).count();
                state(kept, entries, BTreeMap::new())
            })
            .collect();
    }
    let torn_mode = mode == Mode::Torn;
    let pages = Pages::of(changes, &pending.data, sector);
    let truncations: Vec<usize> = pending
        .data
        .iter()
        .copied()
        .filter(|i| matches!(changes[*i].op, Op::Truncate { .. }))
        .collect();
    // Every choice: a prefix of each page's writes, each truncation kept or not, a prefix of
    // the entries; a torn write also loses some sectors of the pages it survives on.
    let mut total: u128 = (e as u128) + 1;
    for list in pages.writes.values() {
        total = total.saturating_mul(list.len() as u128 + 1);
    }
    total = total.saturating_mul(1u128 << truncations.len().min(100));
    let untearable = pending.data.iter().all(|&i| sectors(&changes[i].op, sector) == 1);
    let mut out = Vec::new();
    if total <= max as u128 && (!torn_mode || untearable) {
        // Every state, counting in a mixed radix.
        for n in 0..total as u64 {
            let mut rest = n;
            let entries = e - (rest % (e as u64 + 1)) as usize;
            rest /= e as u64 + 1;
            let mut prefix = Vec::with_capacity(pages.writes.len());
            for list in pages.writes.values() {
                let k = list.len() as u64 + 1;
                prefix.push(list.len() - (rest % k) as usize);
                rest /= k;
            }
            let kept_truncations = truncations.iter().filter(|_| {
                let keep = rest & 1 == 0;
                rest >>= 1;
                keep
            });
            let (kept, torn) = pages.state(&prefix, kept_truncations.copied());
            out.push(state(kept, entries, torn));
        }
        return out;
    }
    let full: Vec<usize> = pages.writes.values().map(Vec::len).collect();
    let (kept, torn) = pages.state(&full, truncations.iter().copied());
    out.push(state(kept, e, torn));
    out.push(state(BTreeSet::new(), 0, BTreeMap::new()));
    let mut rng = Rng::new(seed ^ (point as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    while out.len() < max {
        let entries = rng.below(e as u64 + 1) as usize;
        let prefix: Vec<usize> =
            pages.writes.values().map(|l| rng.below(l.len() as u64 + 1) as usize).collect();
        let kept_truncations: Vec<usize> =
            truncations.iter().copied().filter(|_| rng.below(2) == 0).collect();
        let (kept, mut torn) = pages.state(&prefix, kept_truncations.into_iter());
        if torn_mode {
            // A write the device tears keeps a seeded subset of its sectors.
            for &i in &kept {
                let s = sectors(&changes[i].op, sector);
                if s > 1 && rng.below(2) == 0 {
                    let mask = torn.entry(i).or_insert_with(|| vec![true; s]);
                    for bit in mask.iter_mut() {
                        *bit &= rng.below(2) == 0;
                    }
                }
            }
            // A write that lost every sector is lost, not kept.
            torn.retain(|_, m| m.iter().any(|b| *b));
        }
        let kept =
            kept.into_iter().filter(|i| torn.get(i).is_none_or(|m| m.iter().any(|b| *b))).collect();
        out.push(state(kept, entries, torn));
    }
    out
}

/// The pages the pending writes fall on: the page cache writes a page back whole, as it is at
/// that moment, so of the writes to one page not yet durable a prefix survives, in the order
/// they were made, whatever survives of the other pages; a write over several pages survives
/// page by page. (A page is 4 KiB, or the sector when that is larger.)
struct Pages {
    /// Each page's writes, in order: (file, page number) to change indices.
    writes: BTreeMap<(super::trace::FileId, u64), Vec<usize>>,
    /// Each write's sectors: the page each falls on.
    sectors: BTreeMap<usize, Vec<(super::trace::FileId, u64)>>,
}

impl Pages {
    fn of(changes: &[Change], data: &[usize], sector: u64) -> Pages {
        let unit = sector.max(4096);
        let mut writes: BTreeMap<_, Vec<usize>> = BTreeMap::new();
        let mut sectors = BTreeMap::new();
        for &i in data {
            let Op::Write { file, off, .. } = changes[i].op else { continue };
            let n = self::sectors(&changes[i].op, sector);
            let pages: Vec<_> = (0..n as u64)
                .map(|k| (file, ((off / sector + k) * sector).max(off) / unit))
                .collect();
            for p in pages.iter().copied().collect::<BTreeSet<_>>() {
                writes.entry(p).or_default().push(i);
            }
            sectors.insert(i, pages);
        }
        Pages { writes, sectors }
    }

    /// The state where page `k` (in order) keeps its first `prefix[k]` writes, and the
    /// truncations `truncations` survive: the kept changes, and the writes kept on some of
    /// their pages only, with the sectors they keep.
    fn state(
        &self,
        prefix: &[usize],
        truncations: impl Iterator<Item = usize>,
    ) -> (BTreeSet<usize>, BTreeMap<usize, Vec<bool>>) {
        let kept_on: BTreeMap<_, &[usize]> =
            self.writes.iter().zip(prefix).map(|((p, l), n)| (*p, &l[..*n])).collect();
        let (mut kept, mut torn): (BTreeSet<usize>, _) = (truncations.collect(), BTreeMap::new());
        for (&i, pages) in &self.sectors {
            let mask: Vec<bool> = pages.iter().map(|p| kept_on[p].contains(&i)).collect();
            if mask.iter().all(|b| *b) {
                kept.insert(i);
            } else if mask.iter().any(|b| *b) {
                kept.insert(i);
                torn.insert(i, mask);
            }
        }
        (kept, torn)
    }
}

/// A small seeded generator (splitmix64): states are pure functions of the seed.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number below `n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

impl State {
    /// The state as the crash model names it (`failinject_crash::Keep`).
    pub fn keep(&self) -> Keep {
        let torn = self.torn.iter().map(|(i, m)| (*i as u64, m.clone())).collect();
        let kept = self.kept.iter().map(|i| *i as u64).collect();
        Keep { point: self.point as u64, kept, entries: self.entries as u64, torn }
    }

    /// Its name, as `powercut(keep=ID)` and the report give it: the crash point, the kept data
    /// changes, the kept prefix of directory entries and the torn writes' kept sectors, by
    /// their order in the trace: `P42.k3-7,9.e2.t9:0-1,3`.
    pub fn id(&self) -> String {
        self.keep().to_string()
    }

    /// The state an [`State::id`] names; `None` for text that is not one.
    pub fn parse(id: &str) -> Option<State> {
        let k = Keep::parse(id)?;
        let n = |x: u64| usize::try_from(x).ok();
        Some(State {
            point: n(k.point)?,
            kept: k.kept.iter().map(|i| n(*i)).collect::<Option<_>>()?,
            entries: n(k.entries)?,
            torn: k.torn.into_iter().map(|(i, m)| Some((n(i)?, m))).collect::<Option<_>>()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::trace::FileId;
    use super::*;

    const F: FileId = FileId { dev: 1, ino: 10 };

    fn change(op: Op) -> Change {
        Change { op, pid: 1, path: None, site: String::new(), frames: Vec::new() }
    }

    fn write(off: u64, len: u64) -> Change {
        change(Op::Write { file: F, off, len, at: 0, dsync: false, mmap: false })
    }

    fn dir_sync(path: &str) -> Change {
        change(Op::Fsync { file: None, path: Some(path.into()), dir: true })
    }

    #[test]
    fn a_sync_makes_what_came_before_durable_and_nothing_after() {
        let changes = vec![
            write(0, 10),
            change(Op::Create { file: None, path: "d/new".into(), dir: false }),
            change(Op::Fsync { file: Some(F), path: None, dir: false }),
            write(10, 10),
            change(Op::Rename { from: "d/new".into(), to: "e/x".into() }),
            dir_sync("d"),
            dir_sync("e"),
            change(Op::SyncRange { file: F, off: 8192, len: 4096 }),
            write(8200, 10),
            change(Op::SyncRange { file: F, off: 8192, len: 4096 }),
        ];
        let d = durable_at(&changes);
        assert_eq!(d[0], Some(2), "the file's fsync");
        assert_eq!(d[1], Some(5), "its parent's fsync, not the file's");
        assert_eq!(d[3], None, "a range sync elsewhere does not cover it");
        assert_eq!(d[4], Some(5), "a rename is durable with either of its directories");
        assert_eq!(d[8], Some(9), "a range sync over its page");
        let p = pending(&changes, &d, 4);
        assert_eq!(p, Pending { data: vec![3], entries: vec![1, 4] });
        assert_eq!(pending(&changes, &d, 6), Pending { data: vec![3], entries: vec![] });
        // Entries are committed in order: a sync of one's directory commits the older ones.
        let ordered = vec![
            change(Op::Create { file: None, path: "a/x".into(), dir: false }),
            change(Op::Create { file: None, path: "b/y".into(), dir: false }),
            dir_sync("b"),
        ];
        assert_eq!(durable_at(&ordered)[..2], [Some(2), Some(2)]);
    }

    #[test]
    fn small_sets_are_enumerated_whole_and_large_ones_sampled_the_same_way_each_time() {
        // Three writes to three pages: any subset survives.
        let apart: Vec<Change> = (0..3).map(|k| write(k * 4096, 512)).collect();
        let p = Pending { data: vec![0, 1, 2], entries: vec![] };
        let all = states(&apart, &p, 2, (Mode::Any, 512), 64, 1);
        assert_eq!(all.len(), 8, "2^3 subsets");
        let distinct: std::collections::HashSet<_> = all.iter().map(State::id).collect();
        assert_eq!(distinct.len(), 8);
        // Three writes to one page: the page is written back as it was at some moment, so
        // only a prefix of them survives.
        let one_page: Vec<Change> = (0..3).map(|k| write(k * 512, 512)).collect();
        let same = states(&one_page, &p, 2, (Mode::Any, 512), 64, 1);
        let kept: Vec<Vec<usize>> = same.iter().map(|s| s.kept.iter().copied().collect()).collect();
        assert_eq!(kept, [vec![0, 1, 2], vec![0, 1], vec![0], vec![]]);
        let prefix = states(&apart, &p, 2, (Mode::Prefix, 512), 64, 1);
        assert_eq!(prefix.iter().map(|s| s.kept.len()).collect::<Vec<_>>(), [3, 2, 1, 0]);
        // A write over two pages survives page by page: kept on one page only is torn there.
        let wide = vec![write(4096 - 512, 1024)];
        let by_page =
            states(&wide, &Pending { data: vec![0], entries: vec![] }, 0, (Mode::Any, 512), 64, 1);
        let masks: std::collections::BTreeSet<Vec<bool>> =
            by_page.iter().filter_map(|s| s.torn.get(&0).cloned()).collect();
        assert_eq!(masks, [vec![false, true], vec![true, false]].into_iter().collect());
        // One write of 4 sectors in torn mode: sampled, some torn at sector boundaries.
        let long = vec![write(0, 2048)];
        let torn =
            states(&long, &Pending { data: vec![0], entries: vec![] }, 0, (Mode::Torn, 512), 64, 1);
        assert_eq!(torn.len(), 64);
        assert!(
            torn.iter()
                .any(|s| s.torn.get(&0).is_some_and(|m| m.len() == 4 && m.iter().any(|b| !b)))
        );
        // Many writes: sampled, the extremes first, and pure.
        let many: Vec<Change> = (0..40).map(|k| write(k * 4096, 4096)).collect();
        let p = Pending { data: (0..40).collect(), entries: vec![] };
        let a = states(&many, &p, 39, (Mode::Torn, 512), 64, 7);
        assert_eq!(a.len(), 64);
        assert_eq!(a[0].kept.len(), 40);
        assert!(a[1].kept.is_empty());
        assert_eq!(
            a,
            states(&many, &p, 39, (Mode::Torn, 512), 64, 7),
            "the same seed, the same states"
        );
        assert_ne!(a, states(&many, &p, 39, (Mode::Torn, 512), 64, 8));
    }

    #[test]
    fn an_id_names_the_point_the_kept_changes_and_the_torn_sectors() {
        let s = State {
            point: 42,
            kept: [3, 4, 5, 9].into_iter().collect(),
            entries: 2,
            torn: [(9, vec![true, true, false, true])].into_iter().collect(),
        };
        assert_eq!(s.id(), "P42.k3-5,9.e2.t9:0-1,3");
        let none = State { point: 0, kept: BTreeSet::new(), entries: 0, torn: BTreeMap::new() };
        assert_eq!(none.id(), "P0.k-.e0");
        // A torn mask read back ends at its last kept sector: the same layout.
        let back = State::parse(&s.id()).unwrap();
        assert_eq!((back.point, &back.kept, back.entries), (42, &s.kept, 2));
        assert_eq!(back.torn[&9], [true, true, false, true]);
        assert_eq!(State::parse("P0.k-.e0"), Some(none));
        for bad in ["", "P", "Px.k-.e0", "P1.k3-x.e0", "P1.k-.e0.t2", "P1.e0.k-"] {
            assert_eq!(State::parse(bad), None, "{bad}");
        }
    }
}
