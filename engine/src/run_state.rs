//! The state the processes of one run share: its layout, written down once for the preload,
//! which writes it through a shared mapping, and the CLI, which reads it back.
//!
//! `failinject run` makes the file `$FAILINJECT_RUN/state`, [`SIZE`] bytes of zeros but for
//! [`MAGIC`] and its own pid ([`KEEPER`]), and every preload of the run maps it. It holds little-endian words at fixed
//! offsets, each written as one atomic store, so a reader never sees half a number:
//!
//! - [`MEMBERS`] member slots from [`MEMBERS_AT`], [`MEMBER`] bytes each, claimed in order
//!   by each process (a forked child and an exec'd program claim slots of their own): its
//!   pid (u32), its state (u32: [`RUNNING`], then [`ENDED`] once it wrote its exit record),
//!   its start time ([`START`]), and up to [`RULES`] counters of its rules, each (hash of the rule's key, matches,
//!   injections), kept as exact as the engine's own. A process killed by SIGKILL never
//!   writes an exit record; its slot still has its counts.
//! - [`BUDGETS`] budget slots from [`BUDGETS_AT`], 16 bytes each: (hash of a `full` rule's
//!   key, bytes it let through), one disk for the whole run.
//!
//! Keys are named by [`name_hash`](crate::random::name_hash) of their text.
#![forbid(unsafe_code)]

/// The first word of the file: "FIRUN" and the layout's version.
pub const MAGIC: u64 = u64::from_le_bytes(*b"FIRUN\0\0\x03");
/// Where the pid of `failinject run` is (u32): the keeper of the run's descriptors, whose
/// socket is `$FAILINJECT_RUN/keeper`.
pub const KEEPER: usize = 8;
/// How many processes a run can count (a process past them is run, uncounted).
pub const MEMBERS: usize = 1024;
/// How many rules of one process are counted.
pub const RULES: usize = 32;
/// How many `full` rules a run can share a budget for.
pub const BUDGETS: usize = 64;
/// Where the member slots start.
pub const MEMBERS_AT: usize = 64;
/// The bytes of one member slot.
pub const MEMBER: usize = 16 + RULES * 24;
/// Where the budget slots start.
pub const BUDGETS_AT: usize = MEMBERS_AT + MEMBERS * MEMBER;
/// The size of the file.
pub const SIZE: usize = BUDGETS_AT + BUDGETS * 16;
// The file stays small (under 1 MiB): every run writes it whole at its start.
const _: () = assert!(SIZE < 1 << 20);
/// Offsets inside a member slot.
pub const PID: usize = 0;
/// See [`PID`].
pub const STATE: usize = 4;
/// See [`PID`]: when the process started (u64, clock ticks after boot, field 22 of
/// `/proc/PID/stat`), so that a pid the system gave again to another process is not taken
/// for the member.
pub const START: usize = 8;
/// See [`PID`]: counter `i` is at `COUNTS + 24 * i` (key hash, matches, injections).
pub const COUNTS: usize = 16;
/// A member that runs (or was killed).
pub const RUNNING: u32 = 1;
/// A member that wrote its exit record.
pub const ENDED: u32 = 2;

/// One process of a run, as its slot says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Its pid.
    pub pid: u32,
    /// Whether it wrote its exit record (else it runs, or was killed).
    pub ended: bool,
    /// (hash of the rule's key, matches, injections) of each rule it counted.
    pub counts: Vec<(u64, u64, u64)>,
}

fn word(bytes: &[u8], at: usize) -> u64 {
    bytes.get(at..at + 8).map_or(0, |b| u64::from_le_bytes(b.try_into().unwrap_or_default()))
}

fn half(bytes: &[u8], at: usize) -> u32 {
    bytes.get(at..at + 4).map_or(0, |b| u32::from_le_bytes(b.try_into().unwrap_or_default()))
}

/// The members of a run, in the order they joined, read from the file's bytes; `None` when
/// the bytes are not a run's state.
pub fn members(bytes: &[u8]) -> Option<Vec<Member>> {
    if bytes.len() < SIZE || word(bytes, 0) != MAGIC {
        return None;
    }
    let mut out = Vec::new();
    for m in 0..MEMBERS {
        let at = MEMBERS_AT + m * MEMBER;
        let (pid, state) = (half(bytes, at + PID), half(bytes, at + STATE));
        if pid == 0 {
            break;
        }
        let counts = (0..RULES)
            .map(|i| at + COUNTS + 24 * i)
            .map(|c| (word(bytes, c), word(bytes, c + 8), word(bytes, c + 16)))
            .take_while(|(key, _, _)| *key != 0)
            .collect();
        out.push(Member { pid, ended: state == ENDED, counts });
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bytes of a fresh state file: the magic word, then zeros.
    fn fresh() -> Vec<u8> {
        let mut bytes = vec![0u8; SIZE];
        bytes[..8].copy_from_slice(&MAGIC.to_le_bytes());
        bytes
    }

    #[test]
    fn a_fresh_file_has_no_members_and_a_written_slot_reads_back() {
        let mut bytes = fresh();
        assert_eq!(members(&bytes), Some(vec![]));
        assert_eq!(members(&bytes[..100]), None);
        let at = MEMBERS_AT + MEMBER;
        bytes[MEMBERS_AT..MEMBERS_AT + 4].copy_from_slice(&7u32.to_le_bytes());
        bytes[MEMBERS_AT + STATE..MEMBERS_AT + STATE + 4].copy_from_slice(&ENDED.to_le_bytes());
        bytes[at..at + 4].copy_from_slice(&9u32.to_le_bytes());
        bytes[at + COUNTS..at + COUNTS + 8].copy_from_slice(&42u64.to_le_bytes());
        bytes[at + COUNTS + 8..at + COUNTS + 16].copy_from_slice(&3u64.to_le_bytes());
        let m = members(&bytes).unwrap();
        assert_eq!(m[0], Member { pid: 7, ended: true, counts: vec![] });
        assert_eq!(m[1], Member { pid: 9, ended: false, counts: vec![(42, 3, 0)] });
    }
}
