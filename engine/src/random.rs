//! Counter-based randomness: every random choice is a pure function of the seed, the rule and
//! how many times the rule was evaluated (§3.4 of the spec).
//!
//! There is no generator state to share or lock: a decision hashes its inputs with the
//! SplitMix64 finaliser, so two threads deciding at once never contend, and the same seed
//! with the same sequence of calls gives the same faults.

/// Which choice a random number is for, so that one evaluation's choices are independent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Purpose {
    /// The probability roll of the chain's action at this index.
    Roll(usize),
    /// The errno drawn by a bare `error`.
    Errno,
    /// The byte count drawn by a bare `short`.
    Short,
    /// The bits `corrupt` uses.
    Corrupt,
    /// The seed of a power cut's choices (which changes it keeps).
    Powercut,
}

impl Purpose {
    fn salt(self) -> u64 {
        match self {
            Purpose::Roll(i) => i as u64,
            Purpose::Errno => 1 << 32,
            Purpose::Short => 2 << 32,
            Purpose::Corrupt => 3 << 32,
            Purpose::Powercut => 4 << 32,
        }
    }
}

/// The SplitMix64 finaliser: a bijection on u64 that scatters every input bit.
#[inline]
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The random number for `purpose` at the `n`-th evaluation of the rule `rule_id`.
#[inline]
pub(crate) fn draw(seed: u64, rule_id: u64, n: u64, purpose: Purpose) -> u64 {
    mix(mix(mix(seed ^ rule_id).wrapping_add(n)) ^ purpose.salt())
}

/// The threshold below which a draw passes a `P%` roll; `None` for 100% (always passes).
pub(crate) fn threshold(percent: f64) -> Option<u64> {
    if percent >= 100.0 {
        None
    } else {
        Some((percent / 100.0 * 18_446_744_073_709_551_616.0) as u64)
    }
}

/// FNV-1a: a stable 64-bit hash of a name, used to identify rules and in-code points
/// without allocating.
pub const fn name_hash(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        h ^= bytes[i] as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
        i += 1;
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rolls_hit_their_rate() {
        let t = threshold(25.0).unwrap();
        let hits = (0..100_000).filter(|&n| draw(7, 42, n, Purpose::Roll(0)) < t).count();
        assert!((24_000..26_000).contains(&hits), "{hits}");
        assert_eq!(threshold(100.0), None);
        assert_eq!(threshold(0.0), Some(0));
    }

    #[test]
    fn draws_depend_on_every_input() {
        let base = draw(1, 2, 3, Purpose::Errno);
        assert_eq!(base, draw(1, 2, 3, Purpose::Errno));
        assert_ne!(base, draw(9, 2, 3, Purpose::Errno));
        assert_ne!(base, draw(1, 9, 3, Purpose::Errno));
        assert_ne!(base, draw(1, 2, 9, Purpose::Errno));
        assert_ne!(base, draw(1, 2, 3, Purpose::Short));
    }
}
