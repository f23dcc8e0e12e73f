//! What a power cut leaves of the unsynced changes: its [`Mode`], and the seeded choices that
//! pick one crash state among those the mode allows.
//!
//! A real disk does not drop every unsynced change. Some pages reach it and others do not,
//! in another order than they were written, and a write that spans several sectors may reach
//! it in part. So besides `all` (every unsynced change lost: the mildest outcome for a
//! program's integrity, since it restores a state that was consistent once), a cut may keep
//! a seeded `prefix` of the changes in the order they were made, `any` subset of them, or
//! tear the surviving writes at sector boundaries (`torn`).
//!
//! Every choice is a pure function of the seed and of the change's number in the store's
//! sequence ([`crate::Change::seq`]): the same seed and the same order of changes give the same
//! state, byte for byte.

/// Which unsynced changes survive a power cut.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Mode {
    /// None: every file returns to its synced state.
    #[default]
    All,
    /// A seeded prefix of the changes, in the order they were made, across files (an
    /// in-order device).
    Prefix,
    /// Each page independently, seeded: the page cache writes a page back whole, as it is at
    /// that moment, and pages in any order, so of one page's writes those made up to a
    /// seeded moment survive; a write over several pages survives page by page.
    Any,
    /// As `Any`, and a surviving write that spans several sectors keeps a seeded subset of
    /// them, each wholly old or wholly new.
    Torn,
    /// Exactly the changes a crash state of `explore --crash` names (`powercut(keep=ID)`,
    /// [`crate::keep::Keep`]): marked on the records by [`crate::Store::mark_kept`] before the cut.
    Keep,
}

impl Mode {
    /// Its name in a rule (`powercut(any)`).
    pub fn name(self) -> &'static str {
        match self {
            Mode::All => "all",
            Mode::Prefix => "prefix",
            Mode::Any => "any",
            Mode::Torn => "torn",
            Mode::Keep => "keep",
        }
    }

    /// Every mode a word names, in the order the documentation lists them.
    pub const ALL_MODES: [Mode; 4] = [Mode::All, Mode::Prefix, Mode::Any, Mode::Torn];
    /// Every mode, `keep` included (its number in a run's shared state is its place here).
    pub const EVERY: [Mode; 5] = [Mode::All, Mode::Prefix, Mode::Any, Mode::Torn, Mode::Keep];

    /// Whether the mode keeps some unsynced changes, which the store must then record as
    /// they are made (what each write left, not only what it overwrote).
    pub fn keeps_changes(self) -> bool {
        self != Mode::All
    }
}

/// A power cut: its mode, whether unsynced directory entries are undone too, and the sector
/// size a `torn` cut tears at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cut {
    /// Which unsynced changes survive.
    pub mode: Mode,
    /// Unsynced directory entries (creations, renames, removals) are undone too.
    pub dirs: bool,
    /// The unit a `torn` write survives in: a power of two, at least [`Cut::MIN_SECTOR`].
    pub sector: u32,
    /// With [`Mode::Keep`], the crash state to make (the rule's; never freed).
    pub keep: Option<&'static crate::keep::Keep>,
}

impl Cut {
    /// The sector size unless one is given.
    pub const SECTOR: u32 = 512;
    /// The smallest sector size.
    pub const MIN_SECTOR: u32 = 512;
    /// `powercut`: every unsynced change lost, directory entries left as they are.
    pub const ALL: Cut = Cut { mode: Mode::All, dirs: false, sector: Cut::SECTOR, keep: None };
}

impl Default for Cut {
    fn default() -> Self {
        Cut::ALL
    }
}

/// The SplitMix64 finaliser: a bijection on u64 that scatters every input bit.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A seeded draw for `what` (a change's number, or a salt) and `part` (a sector's index).
pub(crate) fn draw(seed: u64, what: u64, part: u64) -> u64 {
    mix(mix(seed ^ mix(what)) ^ part)
}

/// A seeded coin for `what` and `part`.
pub(crate) fn coin(seed: u64, what: u64, part: u64) -> bool {
    draw(seed, what, part) & 1 == 1
}

/// Salts of the draws that are not about one change.
pub(crate) const PREFIX_SALT: u64 = u64::MAX;
/// See [`PREFIX_SALT`]: where the directory entries stop in an `any` or `torn` cut.
pub(crate) const ENTRIES_SALT: u64 = u64::MAX - 1;
/// The salt of a page's moment of writeback (mixed with the file's identity).
pub(crate) const PAGE_SALT: u64 = 0x5041_4745;

/// The number of the last change a prefix of `k` changes keeps, given the numbers of all
/// changes (each at most `max`): the smallest `s` with at least `k` changes numbered `s` or
/// less (0, keeping none, when `k` is 0). Found by bisection, so the changes need no sorting
/// (and no memory): `count(s)` counts those numbered `s` or less.
pub(crate) fn prefix_end(k: u64, max: u64, count: impl Fn(u64) -> u64) -> u64 {
    if k == 0 {
        return 0;
    }
    let (mut lo, mut hi) = (1, max);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if count(mid) >= k { hi = mid } else { lo = mid + 1 }
    }
    lo
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefix_ends_at_the_kth_change_in_order() {
        let seqs = [3u64, 9, 4, 12, 7];
        let count = |s: u64| seqs.iter().filter(|&&q| q <= s).count() as u64;
        assert_eq!(prefix_end(0, 12, count), 0);
        assert_eq!(prefix_end(1, 12, count), 3);
        assert_eq!(prefix_end(3, 12, count), 7);
        assert_eq!(prefix_end(5, 12, count), 12);
    }

    #[test]
    fn draws_are_pure_and_differ_by_seed() {
        assert_eq!(draw(1, 2, 3), draw(1, 2, 3));
        let heads = (0..1000).filter(|&i| coin(7, i, 0)).count();
        assert!((400..600).contains(&heads), "a fair coin: {heads} heads of 1000");
        assert!((0..64).any(|i| coin(1, i, 0) != coin(2, i, 0)));
    }
}
