//! The process title, for `proc=GLOB` filters: `/proc/self/cmdline` with its arguments joined
//! by spaces, as `ps` shows it. Programs rewrite it after `fork` (PostgreSQL's children become
//! `postgres: checkpointer`), so it is read again when the copy kept here is older than
//! 10 ms, or after a `fork`; and only ever for a call that a rule with `proc=` could match.
//!
//! The copy is a sequence-counted array of atomics: readers never wait, one writer at a
//! time refreshes it (a reader that finds it being refreshed reads the file itself).

#![forbid(unsafe_code)]

use crate::sys::{kfile, raw};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU32, AtomicU64, AtomicUsize, Ordering};

/// The longest title kept; a longer one is cut (a glob on its end then fails).
pub const MAX: usize = 256;
/// How long a title read is trusted.
const FRESH_NS: u64 = 10_000_000;

static BYTES: [AtomicU8; MAX] = [const { AtomicU8::new(0) }; MAX];
static LEN: AtomicUsize = AtomicUsize::new(0);
static SEQ: AtomicU32 = AtomicU32::new(0);
/// When the copy was read (monotonic ns); 0 for never.
static READ_AT: AtomicU64 = AtomicU64::new(0);
static WRITING: AtomicBool = AtomicBool::new(false);

/// The title, into `out`; its length. `None` when it cannot be read.
pub fn title(out: &mut [u8; MAX]) -> Option<usize> {
    let now = raw::monotonic_ns();
    let at = READ_AT.load(Ordering::Acquire);
    if at != 0 && now.saturating_sub(at) < FRESH_NS {
        let before = SEQ.load(Ordering::Acquire);
        if before.is_multiple_of(2) {
            let n = LEN.load(Ordering::Relaxed).min(MAX);
            for (o, b) in out.iter_mut().zip(&BYTES).take(n) {
                *o = b.load(Ordering::Relaxed);
            }
            std::sync::atomic::fence(Ordering::Acquire);
            if SEQ.load(Ordering::Relaxed) == before {
                return Some(n);
            }
        }
    }
    let n = kfile::read_cmdline(out)?;
    if WRITING.compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed).is_ok() {
        SEQ.fetch_add(1, Ordering::AcqRel);
        for (b, o) in BYTES.iter().zip(out.iter()).take(n) {
            b.store(*o, Ordering::Relaxed);
        }
        LEN.store(n, Ordering::Relaxed);
        READ_AT.store(now.max(1), Ordering::Release);
        SEQ.fetch_add(1, Ordering::Release);
        WRITING.store(false, Ordering::Release);
    }
    Some(n)
}

/// In a forked child: the child renames itself soon (or is its parent's title until then);
/// the copy is read afresh, and a refresh the parent's other threads had begun is abandoned.
pub fn after_fork_in_child() {
    READ_AT.store(0, Ordering::Release);
    WRITING.store(false, Ordering::Release);
    let seq = SEQ.load(Ordering::Relaxed);
    if !seq.is_multiple_of(2) {
        SEQ.store(seq + 1, Ordering::Release);
    }
}
