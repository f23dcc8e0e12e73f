//! [`ReachedSet`]: which in-code points a process has reached, for `after=` filters.
//!
//! A fixed table of atomic slots, filled by compare-and-swap: marking a point reached and
//! asking whether it was never lock nor allocate, so both may happen inside a hook.

use std::sync::atomic::{AtomicU64, Ordering};

/// A lock-free set of name hashes ([`name_hash`](crate::random::name_hash)) with a fixed capacity.
#[derive(Debug)]
pub struct ReachedSet {
    slots: Box<[AtomicU64]>,
}

impl ReachedSet {
    /// A set that holds up to `capacity` names (rounded up to a power of two).
    pub fn new(capacity: usize) -> ReachedSet {
        let n = capacity.max(8).next_power_of_two() * 2;
        ReachedSet { slots: (0..n).map(|_| AtomicU64::new(0)).collect() }
    }

    fn key(hash: u64) -> u64 {
        // 0 marks an empty slot.
        hash.max(1)
    }

    /// Marks the point reached. Returns false when it was new and the set is full (it then
    /// stays unreached: `after=` on it never fires, which is the safe side).
    pub fn insert(&self, hash: u64) -> bool {
        let key = Self::key(hash);
        let mask = self.slots.len() - 1;
        let mut i = key as usize & mask;
        for _ in 0..self.slots.len() {
            match self.slots[i].compare_exchange(0, key, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return true,
                Err(existing) if existing == key => return true,
                Err(_) => i = (i + 1) & mask,
            }
        }
        false
    }

    /// Whether the point was reached.
    pub fn contains(&self, hash: u64) -> bool {
        let key = Self::key(hash);
        let mask = self.slots.len() - 1;
        let mut i = key as usize & mask;
        for _ in 0..self.slots.len() {
            match self.slots[i].load(Ordering::Acquire) {
                0 => return false,
                k if k == key => return true,
                _ => i = (i + 1) & mask,
            }
        }
        false
    }

    /// Forgets every point (a forked child starts afresh).
    pub fn clear(&self) {
        for s in self.slots.iter() {
            s.store(0, Ordering::Release);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::name_hash;

    #[test]
    fn insert_and_find() {
        let set = ReachedSet::new(4);
        assert!(!set.contains(name_hash(b"a")));
        assert!(set.insert(name_hash(b"a")));
        assert!(set.insert(name_hash(b"a")));
        assert!(set.contains(name_hash(b"a")));
        assert!(!set.contains(name_hash(b"b")));
        // 4 rounds up to 8 names, with room for twice as many slots.
        let inserted = (1..100u64).take_while(|i| set.insert(i * 7919)).count();
        assert_eq!(inserted, 15, "the 16 slots fill up, then new names are refused");
        assert!(set.contains(name_hash(b"a")) && set.contains(15 * 7919));
        set.clear();
        assert!(!set.contains(name_hash(b"a")));
    }

    #[test]
    fn threads_share_it() {
        let set = std::sync::Arc::new(ReachedSet::new(1024));
        let handles: Vec<_> = (0..4u64)
            .map(|t| {
                let set = set.clone();
                std::thread::spawn(move || (0..200).for_each(|i| assert!(set.insert(t * 1000 + i))))
            })
            .collect();
        handles.into_iter().for_each(|h| h.join().unwrap());
        assert!((0..4u64).all(|t| (0..200).all(|i| set.contains(t * 1000 + i))));
    }
}
