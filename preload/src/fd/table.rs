//! What each file descriptor refers to: the path it was opened with and its kind.
//!
//! Paths are recorded once, when a descriptor is created (open, openat, creat, dup*, fcntl
//! F_DUPFD*, fdopen, mkstemp, …), so a write never has to ask the kernel. A descriptor that
//! was inherited or opened before the preload was loaded falls back to `/proc/self/fd` the
//! first time a rule needs its path. The kind (file, directory, socket, …) is found with one
//! `fstat` the first time a rule needs it, and cached until the descriptor is closed.
//!
//! The table is a static array of slots (in `.bss`: pages never touched cost nothing), each
//! guarded by a sequence counter so readers in other threads never see a half-written path
//! and nothing ever blocks or allocates.

use crate::sys::{kfile, raw};
use failinject_engine::FileKind;
use std::sync::atomic::{AtomicU8, AtomicU32, AtomicU64, Ordering};

/// Descriptors tracked in the table; higher ones use `/proc/self/fd` every time.
pub const MAX_FDS: usize = 4096;
/// The longest path kept in a slot; longer ones are looked up in `/proc/self/fd` when needed.
const SLOT_BYTES: usize = 504;
const WORDS: usize = SLOT_BYTES / 8;

/// `len` of a slot whose path is not known.
const UNKNOWN: u32 = u32::MAX;

struct Slot {
    seq: AtomicU32,
    len: AtomicU32,
    kind: AtomicU8,
    /// The file's identity and the descriptor's status flags (see [`facts`]), valid while
    /// `facts_seq` equals `seq` plus one (0: not known).
    dev: AtomicU64,
    ino: AtomicU64,
    flags: AtomicU32,
    facts_seq: AtomicU32,
    /// Verdicts "no rule of this point can match this descriptor" (see [`rejected`]).
    rejects: [AtomicU64; 2],
    words: [AtomicU64; WORDS],
}

impl Slot {
    const fn new() -> Slot {
        Slot {
            seq: AtomicU32::new(0),
            len: AtomicU32::new(UNKNOWN),
            kind: AtomicU8::new(0),
            dev: AtomicU64::new(0),
            ino: AtomicU64::new(0),
            flags: AtomicU32::new(0),
            facts_seq: AtomicU32::new(0),
            rejects: [const { AtomicU64::new(0) }; 2],
            words: [const { AtomicU64::new(0) }; WORDS],
        }
    }
}

static TABLE: [Slot; MAX_FDS] = [const { Slot::new() }; MAX_FDS];

fn slot(fd: i32) -> Option<&'static Slot> {
    usize::try_from(fd).ok().and_then(|i| TABLE.get(i))
}

/// The process the table belongs to. A `vfork` child shares the parent's memory, and so
/// this table: it must not change it (its `dup2` before `exec` would rewrite the parent's
/// descriptors), so writes from any other process are dropped.
static OWNER: AtomicU32 = AtomicU32::new(0);

/// Makes the calling process the table's owner: at start-up and in a forked child.
pub fn own() {
    OWNER.store(raw::pid(), Ordering::Relaxed);
}

/// In a forked child: a slot that another thread of the parent was writing when `fork`
/// happened will never be finished, so it is reset to "unknown" (else the child would spin
/// on it forever), and the child becomes the owner.
pub fn after_fork_in_child() {
    own();
    for s in TABLE.iter() {
        let seq = s.seq.load(Ordering::Relaxed);
        if !seq.is_multiple_of(2) {
            s.len.store(UNKNOWN, Ordering::Relaxed);
            s.kind.store(0, Ordering::Relaxed);
            s.facts_seq.store(0, Ordering::Relaxed);
            for r in &s.rejects {
                r.store(0, Ordering::Relaxed);
            }
            s.seq.store(seq + 1, Ordering::Release);
        }
    }
}

/// Whether the caller is a `vfork` child: a process that shares its parent's memory (and so
/// the parent's thread-local guard, buffer pool and tables) until it execs or exits.
pub fn in_vfork_child() -> bool {
    !owned()
}

/// Whether the calling process may change the table.
fn owned() -> bool {
    let owner = OWNER.load(Ordering::Relaxed);
    owner == 0 || owner == raw::pid()
}

/// Runs `write` on the slot as its only writer, bumping the sequence around it. Does nothing
/// in a process that does not own the table (a `vfork` child).
fn write_slot(s: &Slot, write: impl FnOnce(&Slot)) {
    if !owned() {
        return;
    }
    // Take the slot: move the sequence from even to odd. A second writer (two threads racing
    // on one descriptor number, which the program cannot rely on either) spins briefly.
    let mut seq = s.seq.load(Ordering::Relaxed);
    loop {
        if seq.is_multiple_of(2) {
            match s.seq.compare_exchange_weak(seq, seq + 1, Ordering::Acquire, Ordering::Relaxed) {
                Ok(_) => break,
                Err(now) => seq = now,
            }
        } else {
            std::hint::spin_loop();
            seq = s.seq.load(Ordering::Relaxed);
        }
    }
    // Whatever the writer changes, earlier verdicts and facts about the descriptor no longer
    // hold.
    for r in &s.rejects {
        r.store(0, Ordering::Relaxed);
    }
    s.facts_seq.store(0, Ordering::Release);
    write(s);
    s.seq.store(seq + 2, Ordering::Release);
}

/// Records that `fd` now refers to `path` (absolute, normalised), kind not yet known.
pub fn record(fd: i32, path: &[u8]) {
    let Some(s) = slot(fd) else { return };
    write_slot(s, |s| {
        s.kind.store(0, Ordering::Relaxed);
        if path.len() > SLOT_BYTES {
            s.len.store(UNKNOWN, Ordering::Relaxed);
            return;
        }
        for (i, chunk) in path.chunks(8).enumerate() {
            let mut w = [0u8; 8];
            w[..chunk.len()].copy_from_slice(chunk);
            s.words[i].store(u64::from_ne_bytes(w), Ordering::Relaxed);
        }
        s.len.store(path.len() as u32, Ordering::Relaxed);
    });
}

/// Records that `fd` was closed: nothing is known about the number any more.
pub fn forget(fd: i32) {
    if let Some(s) = slot(fd) {
        write_slot(s, |s| {
            s.len.store(UNKNOWN, Ordering::Relaxed);
            s.kind.store(0, Ordering::Relaxed);
        });
    }
}

/// Records that `to` is now a duplicate of `from`.
pub fn duplicate(from: i32, to: i32) {
    let mut buf = [0u8; SLOT_BYTES];
    match read_slot(from, &mut buf) {
        Some((n, kind)) => {
            record(to, &buf[..n]);
            if let Some(s) = slot(to)
                && owned()
            {
                s.kind.store(kind, Ordering::Relaxed);
            }
        }
        None => forget(to),
    }
}

/// Whether it is known that no rule can match calls on `fd` for this verdict key (the
/// snapshot said so earlier and nothing about the descriptor changed since): the wrapper then
/// makes the real call without working out the call's facts.
#[inline]
pub fn rejected(fd: i32, key: u64) -> bool {
    slot(fd).is_some_and(|s| s.rejects.iter().any(|r| r.load(Ordering::Relaxed) == key))
}

/// The descriptor's change counter, read before working out a verdict.
pub fn version(fd: i32) -> Option<u32> {
    slot(fd).map(|s| s.seq.load(Ordering::Acquire)).filter(|v| v.is_multiple_of(2))
}

/// Remembers that no rule can match calls on `fd` for `key`, unless the descriptor changed
/// since `version` was read (then the verdict may be about another file).
pub fn remember_rejected(fd: i32, key: u64, version: u32) {
    let Some(s) = slot(fd).filter(|_| owned()) else { return };
    let r = &s.rejects[(key as usize >> 16) & 1];
    r.store(key, Ordering::Relaxed);
    if s.seq.load(Ordering::Acquire) != version {
        r.store(0, Ordering::Relaxed);
    }
}

/// The recorded path and raw kind of `fd`, copied out consistently.
fn read_slot(fd: i32, out: &mut [u8]) -> Option<(usize, u8)> {
    let s = slot(fd)?;
    loop {
        let before = s.seq.load(Ordering::Acquire);
        if !before.is_multiple_of(2) {
            std::hint::spin_loop();
            continue;
        }
        let len = s.len.load(Ordering::Relaxed);
        let kind = s.kind.load(Ordering::Relaxed);
        if len != UNKNOWN && (len as usize) <= out.len() {
            for i in 0..(len as usize).div_ceil(8) {
                let w = s.words[i].load(Ordering::Relaxed).to_ne_bytes();
                let end = (len as usize - i * 8).min(8);
                out[i * 8..i * 8 + end].copy_from_slice(&w[..end]);
            }
        }
        std::sync::atomic::fence(Ordering::Acquire);
        if s.seq.load(Ordering::Relaxed) == before {
            return (len != UNKNOWN && (len as usize) <= out.len()).then_some((len as usize, kind));
        }
    }
}

/// The path `fd` refers to, written into `out`: from the table, else from `/proc/self/fd`
/// (and then remembered). `None` when it cannot be known.
pub fn path(fd: i32, out: &mut [u8]) -> Option<usize> {
    if let Some((n, _)) = read_slot(fd, out) {
        return Some(n);
    }
    let n = kfile::fd_link(fd, out)?;
    if out[..n].first() == Some(&b'/') {
        record(fd, &out[..n]);
    }
    Some(n)
}

/// What the crash model needs of a descriptor of a regular file on every write: the file's
/// device and inode, and the descriptor's status flags (`O_APPEND`, `O_DSYNC`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Facts {
    pub dev: u64,
    pub ino: u64,
    pub flags: i32,
}

/// The [`Facts`] of `fd` when it is a regular file: cached after one `fstat` and one
/// `fcntl(F_GETFL)`, until the descriptor changes (closed, reused, duplicated onto, or its
/// flags set: [`flags_changed`]). `None` for anything but a regular file, or when the kernel
/// cannot say.
pub fn facts(fd: i32) -> Option<Facts> {
    let s = slot(fd);
    if let Some(s) = s {
        let seq = s.seq.load(Ordering::Acquire);
        if seq.is_multiple_of(2) && s.facts_seq.load(Ordering::Acquire) == seq.wrapping_add(1) {
            let facts = Facts {
                dev: s.dev.load(Ordering::Relaxed),
                ino: s.ino.load(Ordering::Relaxed),
                flags: s.flags.load(Ordering::Relaxed) as i32,
            };
            std::sync::atomic::fence(Ordering::Acquire);
            if s.seq.load(Ordering::Relaxed) == seq
                && s.facts_seq.load(Ordering::Relaxed) == seq + 1
            {
                return Some(facts);
            }
        }
    }
    let seq = s.map(|s| s.seq.load(Ordering::Acquire));
    let st = kfile::fstat(fd).filter(failinject_crash::Stat::regular)?;
    let facts = Facts { dev: st.dev, ino: st.ino, flags: kfile::status_flags(fd) };
    // Kept unless the descriptor changed meanwhile (another thread closed or reused it).
    if let (Some(s), Some(seq)) = (s, seq)
        && seq.is_multiple_of(2)
        && owned()
    {
        s.facts_seq.store(0, Ordering::Release);
        s.dev.store(facts.dev, Ordering::Relaxed);
        s.ino.store(facts.ino, Ordering::Relaxed);
        s.flags.store(facts.flags as u32, Ordering::Relaxed);
        if s.seq.load(Ordering::Acquire) == seq {
            s.facts_seq.store(seq.wrapping_add(1), Ordering::Release);
        }
    }
    Some(facts)
}

/// `fcntl(fd, F_SETFL, …)` returned: the cached flags of `fd` no longer hold.
pub fn flags_changed(fd: i32) {
    if let Some(s) = slot(fd) {
        s.facts_seq.store(0, Ordering::Release);
    }
}

/// The kind of file `fd` refers to, cached after one `fstat`.
pub fn kind(fd: i32) -> FileKind {
    let cached = slot(fd).map_or(0, |s| s.kind.load(Ordering::Relaxed));
    if cached != 0 {
        return decode(cached);
    }
    let kind = kfile::file_kind(fd);
    if let Some(s) = slot(fd)
        && owned()
    {
        s.kind.store(encode(kind), Ordering::Relaxed);
    }
    kind
}

fn encode(k: FileKind) -> u8 {
    match k {
        FileKind::File => 1,
        FileKind::Dir => 2,
        FileKind::Socket => 3,
        FileKind::Pipe => 4,
        FileKind::Tty => 5,
        FileKind::Other => 6,
        FileKind::Unknown => 7,
    }
}

fn decode(b: u8) -> FileKind {
    match b {
        1 => FileKind::File,
        2 => FileKind::Dir,
        3 => FileKind::Socket,
        4 => FileKind::Pipe,
        5 => FileKind::Tty,
        6 => FileKind::Other,
        _ => FileKind::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_duplicate_forget() {
        let mut buf = [0u8; 600];
        record(4000, b"/data/x.db");
        assert_eq!(read_slot(4000, &mut buf).map(|(n, _)| &buf[..n]), Some(&b"/data/x.db"[..]));
        duplicate(4000, 4001);
        assert_eq!(read_slot(4001, &mut buf).map(|(n, _)| &buf[..n]), Some(&b"/data/x.db"[..]));
        forget(4000);
        assert!(read_slot(4000, &mut buf).is_none());
        let v = version(4001).unwrap();
        let key = |generation: u64, point: u64| (generation << 16) | (point + 1);
        remember_rejected(4001, key(3, 7), v);
        assert!(rejected(4001, key(3, 7)));
        assert!(!rejected(4001, key(4, 7)), "another snapshot");
        assert!(!rejected(4001, key(3, 8)), "another point");
        record(4001, b"/data/y.db");
        assert!(!rejected(4001, key(3, 7)), "the descriptor changed");
        remember_rejected(4001, key(3, 7), v);
        assert!(!rejected(4001, key(3, 7)), "a stale version is not remembered");
        let long = [b'a'; SLOT_BYTES + 1];
        record(4002, &long);
        assert!(read_slot(4002, &mut buf).is_none(), "too long for a slot: looked up later");
    }

    #[test]
    fn kinds_of_real_descriptors() {
        let f = std::fs::File::open("/proc/self/status").unwrap();
        use std::os::fd::AsRawFd;
        assert_eq!(kfile::file_kind(f.as_raw_fd()), FileKind::File);
        let d = std::fs::File::open("/").unwrap();
        assert_eq!(kfile::file_kind(d.as_raw_fd()), FileKind::Dir);
        let (r, _w) = std::io::pipe().unwrap();
        assert_eq!(kfile::file_kind(r.as_raw_fd()), FileKind::Pipe);
        let mut buf = [0u8; 256];
        let n = kfile::fd_link(d.as_raw_fd(), &mut buf).unwrap();
        assert_eq!(&buf[..n], b"/");
    }
}
