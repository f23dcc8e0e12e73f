//! Why a rule never fired (issue 18): the near misses of the rules that have not fired yet,
//! and the I/O and programs the preload cannot see, written to the log for `failinject run`'s
//! summary.
//!
//! - **Near misses** ([`after_decision`]). While some libc rule has not injected, the points
//!   that share a class with a rule's points (its siblings: `copy_file_range` beside `write`)
//!   are sent down the slow path too ([`watch`]), where a call no rule decided is shown to the
//!   engine ([`Snapshot::near_misses`]). The first near miss of each rule is kept in a fixed
//!   slot (its kind, the point, the descriptor and the path) and the exit record carries it
//!   ([`exit_fields`]). A sibling costs what a call under a rule with a non-matching `path=`
//!   costs (the descriptor's verdict is remembered after its first call), and only until every
//!   libc rule has fired: then the siblings leave the slow path ([`crate::state::unwatch`]).
//!   While a rule of the write class has not fired, `mmap` is watched too: a shared writable
//!   mapping of a file the rule accepts is a near miss of its own (writes through memory).
//!   A rule's own functions pay one relaxed load more, on the slow path only.
//! - **Unseen I/O** ([`unseen_io`]): at exit, an `io_uring` ring among the descriptors
//!   (`/proc/self/fd`, `anon_inode:[io_uring]`) or an AIO context among the mappings
//!   (`/proc/self/maps`, `[aio]`): I/O no libc wrapper sees.
//! - **Programs out of reach**: before an `exec` an `exec` record names the program, and
//!   `posix_spawn`/`posix_spawnp` (interposed here: glibc execs inside them, past our
//!   wrappers) write a `spawn` record with the child's pid. A program that then writes no
//!   `start` record was not reached (static, setuid, Go); the summary names it.
//!
//! On the path of an intercepted call nothing here allocates, locks, panics or reads the
//! environment: slots are atomics, records are formatted in the caller's buffer or on the
//! stack, and `/proc` is read with raw system calls.

use crate::{log, raw};
use failinject_engine::points::POINTS;
use failinject_engine::{NearMiss, PointId, Snapshot, SysCall};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU8, AtomicU32, AtomicU64, Ordering};

/// Whether some libc rule has not fired yet (so near misses are still looked for).
static ARMED: AtomicBool = AtomicBool::new(false);

/// Rules beyond this many (in order) get no near-miss slot.
const SLOTS: usize = 64;
/// The bytes of a near miss's path that are kept.
const PATH_KEPT: usize = 240;

/// The first near miss of one rule.
struct Slot {
    /// 0 empty, 1 being written (by the one thread that claimed it), 2 written.
    state: AtomicU8,
    /// The snapshot generation it was seen under (rule indexes are per snapshot).
    generation: AtomicU64,
    /// 1 [`NearMiss::StdStream`], 2 [`NearMiss::Sibling`], 3 [`NearMiss::SharedMapping`].
    cause: AtomicU8,
    /// The point called (its index in the table).
    point: AtomicU32,
    fd: AtomicI32,
    path_len: AtomicU32,
    path: [AtomicU8; PATH_KEPT],
    /// Near misses seen for this rule under that generation (the first call per descriptor:
    /// later calls on it are not decided again).
    calls: AtomicU64,
}

#[allow(clippy::declare_interior_mutable_const)] // a template for the array below
const EMPTY: Slot = Slot {
    state: AtomicU8::new(0),
    generation: AtomicU64::new(0),
    cause: AtomicU8::new(0),
    point: AtomicU32::new(0),
    fd: AtomicI32::new(-1),
    path_len: AtomicU32::new(0),
    path: [const { AtomicU8::new(0) }; PATH_KEPT],
    calls: AtomicU64::new(0),
};

static NEAR: [Slot; SLOTS] = [EMPTY; SLOTS];

/// At publication (`state.rs`, under the registry's lock): adds the siblings of the rules to
/// `words` (the points sent down the slow path) unless every libc rule has fired, and
/// returns the bits it added, for [`crate::state::unwatch`] to take back.
pub fn watch(snap: &Snapshot, words: &mut [u64; 4]) -> [u64; 4] {
    let mut added = [0u64; 4];
    let armed = !snap.sys_rules_fired();
    ARMED.store(armed, Ordering::Release);
    if armed {
        for p in snap.sibling_points().iter() {
            let (w, bit) = (p.0 as usize / 64, 1u64 << (p.0 % 64));
            if words[w] & bit == 0 {
                added[w] |= bit;
                words[w] |= bit;
            }
        }
    }
    added
}

/// After the decision of a call on the slow path: a call no rule decided may be a near miss
/// of a rule that has not fired; a call one did may have been the last rule's first fault.
/// `shared_write` tells an `mmap` with `MAP_SHARED` and `PROT_WRITE` (its writes reach the
/// file past every wrapper).
#[inline]
pub fn after_decision(snap: &Snapshot, call: &SysCall<'_>, decided: bool, shared_write: bool) {
    if !ARMED.load(Ordering::Relaxed) {
        return;
    }
    if decided {
        fired(snap);
    } else {
        note(snap, call, shared_write);
    }
}

#[cold]
#[inline(never)]
fn fired(snap: &Snapshot) {
    if snap.sys_rules_fired() && crate::state::unwatch(snap.generation()) {
        ARMED.store(false, Ordering::Release);
    }
}

#[cold]
#[inline(never)]
fn note(snap: &Snapshot, call: &SysCall<'_>, shared_write: bool) {
    let generation = snap.generation();
    let record = |i: usize, why: NearMiss| {
        let Some(slot) = NEAR.get(i) else { return };
        // A slot of an older snapshot is taken over (its rules are gone or renumbered).
        if slot.state.load(Ordering::Acquire) == 2
            && slot.generation.load(Ordering::Relaxed) != generation
        {
            let _ = slot.state.compare_exchange(2, 0, Ordering::AcqRel, Ordering::Relaxed);
        }
        if slot.state.compare_exchange(0, 1, Ordering::AcqRel, Ordering::Relaxed).is_ok() {
            slot.generation.store(generation, Ordering::Relaxed);
            slot.calls.store(0, Ordering::Relaxed);
            slot.cause.store(
                match why {
                    NearMiss::StdStream => 1,
                    NearMiss::Sibling => 2,
                    NearMiss::SharedMapping => 3,
                },
                Ordering::Relaxed,
            );
            slot.point.store(u32::from(call.point.0), Ordering::Relaxed);
            slot.fd.store(call.fd.unwrap_or(-1), Ordering::Relaxed);
            let path = call.path.unwrap_or(b"");
            let path = &path[..path.len().min(PATH_KEPT)];
            for (dst, &b) in slot.path.iter().zip(path) {
                dst.store(b, Ordering::Relaxed);
            }
            slot.path_len.store(path.len() as u32, Ordering::Relaxed);
            slot.state.store(2, Ordering::Release);
        }
        if slot.generation.load(Ordering::Relaxed) == generation {
            slot.calls.fetch_add(1, Ordering::Relaxed);
        }
    };
    if shared_write {
        snap.mapping_near_misses(call, record);
    } else if call.point != PointId::of("mmap") {
        snap.near_misses(call, record);
    }
}

/// The exit record's fields for rule `index` of `snap`: `near` (`stdstream` or `sibling`),
/// `near_point`, `near_fd`, `near_path`, `near_calls`, when a near miss was seen.
pub fn exit_fields(line: &mut crate::json::Line<'_>, snap: &Snapshot, index: usize) {
    let Some(slot) = NEAR.get(index) else { return };
    if slot.state.load(Ordering::Acquire) != 2
        || slot.generation.load(Ordering::Relaxed) != snap.generation()
    {
        return;
    }
    let cause: &[u8] = match slot.cause.load(Ordering::Relaxed) {
        1 => b"stdstream",
        3 => b"sharedmap",
        _ => b"sibling",
    };
    let point = POINTS.get(slot.point.load(Ordering::Relaxed) as usize).map_or("", |p| p.name);
    let mut path = [0u8; PATH_KEPT];
    let n = (slot.path_len.load(Ordering::Relaxed) as usize).min(PATH_KEPT);
    for (dst, src) in path.iter_mut().zip(&slot.path).take(n) {
        *dst = src.load(Ordering::Relaxed);
    }
    line.str("near", cause)
        .str("near_point", point.as_bytes())
        .num("near_fd", i64::from(slot.fd.load(Ordering::Relaxed)))
        .str("near_path", &path[..n])
        .num("near_calls", slot.calls.load(Ordering::Relaxed) as i64);
}

/// The exit record's `unseen` field: `io_uring` when a ring is among the descriptors, `aio`
/// when an AIO context is mapped. Raw system calls and the stack only (this may run in
/// `_exit` from a signal handler).
pub fn unseen_io(line: &mut crate::json::Line<'_>) {
    let uring = has_io_uring();
    let aio = maps_contain(b"[aio]");
    if !(uring || aio) {
        return;
    }
    let both: [&[u8]; 2] = [b"io_uring", b"aio"];
    let picked = both.into_iter().zip([uring, aio]).filter(|(_, on)| *on).map(|(n, _)| n);
    line.strs("unseen", picked);
}

/// Opens a `/proc/self` file for reading with a raw system call; -1 on failure.
fn open_proc(path: &[u8]) -> i32 {
    // SAFETY: `path` is NUL-terminated (the callers pass literals ending in \0); the kernel
    // copies it.
    unsafe {
        libc::syscall(
            libc::SYS_openat,
            libc::AT_FDCWD as libc::c_long,
            path.as_ptr(),
            (libc::O_RDONLY | libc::O_CLOEXEC) as libc::c_long,
        ) as i32
    }
}

fn close(fd: i32) {
    // SAFETY: closing a descriptor this module opened.
    unsafe { libc::syscall(libc::SYS_close, fd as libc::c_long) };
}

/// Whether a descriptor of this process is an io_uring instance.
fn has_io_uring() -> bool {
    let dir = open_proc(b"/proc/self/fd\0");
    if dir < 0 {
        return false;
    }
    let mut found = false;
    // Small: this may run in `_exit` called from a signal handler, on a small stack.
    let mut buf = [0u8; 512];
    'read: loop {
        // SAFETY: `buf` is ours and its length is passed; getdents64 writes at most that.
        let n = unsafe {
            libc::syscall(
                libc::SYS_getdents64,
                dir as libc::c_long,
                buf.as_mut_ptr(),
                buf.len() as libc::c_long,
            )
        };
        if n <= 0 {
            break;
        }
        let mut at = 0usize;
        while at + 19 < n as usize {
            // struct linux_dirent64: ino (8), off (8), reclen (2), type (1), name.
            let reclen = u16::from_ne_bytes([buf[at + 16], buf[at + 17]]) as usize;
            if reclen == 0 {
                break;
            }
            let name = &buf[at + 19..(at + reclen).min(n as usize)];
            let name = &name[..name.iter().position(|&b| b == 0).unwrap_or(name.len())];
            if !name.is_empty() && name.iter().all(u8::is_ascii_digit) && is_uring(dir, name) {
                found = true;
                break 'read;
            }
            at += reclen;
        }
    }
    close(dir);
    found
}

fn is_uring(dir: i32, name: &[u8]) -> bool {
    let mut cname = [0u8; 16];
    if name.len() >= cname.len() {
        return false;
    }
    cname[..name.len()].copy_from_slice(name);
    let mut link = [0u8; 64];
    // SAFETY: `cname` is NUL-terminated; `link` is ours and its length is passed.
    let n = unsafe {
        libc::syscall(
            libc::SYS_readlinkat,
            dir as libc::c_long,
            cname.as_ptr(),
            link.as_mut_ptr(),
            link.len() as libc::c_long,
        )
    };
    n > 0 && link[..n as usize].starts_with(b"anon_inode:[io_uring]")
}

/// Whether `/proc/self/maps` holds `needle`, read in pieces on the stack.
fn maps_contain(needle: &[u8]) -> bool {
    let fd = open_proc(b"/proc/self/maps\0");
    if fd < 0 {
        return false;
    }
    let mut buf = [0u8; 512];
    let keep = needle.len() - 1;
    let mut have = 0usize;
    let mut found = false;
    loop {
        // SAFETY: reading into the free part of our buffer, its length passed.
        let n = unsafe {
            libc::syscall(
                libc::SYS_read,
                fd as libc::c_long,
                buf[have..].as_mut_ptr(),
                (buf.len() - have) as libc::c_long,
            )
        };
        if n <= 0 {
            break;
        }
        let end = have + n as usize;
        if buf[..end].windows(needle.len()).any(|w| w == needle) {
            found = true;
            break;
        }
        // Keep the tail, in case the needle straddles two reads.
        let tail = end.saturating_sub(keep);
        buf.copy_within(tail..end, 0);
        have = end - tail;
    }
    close(fd);
    found
}

/// Before an `exec` (the wrappers', after the exit record): an `exec` record naming the
/// program, formatted in `buf`. If no `start` record of this pid follows, the program was not
/// reached.
pub fn before_exec(call: &SysCall<'_>, buf: &mut [u8]) {
    program_record(buf, b"exec", None, call.path);
}

/// [`before_exec`] in a `vfork` child, which must not touch the buffers it shares with its
/// parent: the program as the caller named it, formatted on the stack.
#[inline(never)]
pub fn exec_from_stack(path: *const libc::c_char) {
    let mut buf = [0u8; 1024];
    // SAFETY: the exec's path argument, which the caller passes to libc as a C string.
    program_record(&mut buf, b"exec", None, unsafe { c_str(path) });
}

/// The `spawn` record of a child that `posix_spawn` started running `path`.
fn spawned(child: libc::pid_t, path: *const libc::c_char) {
    let mut buf = [0u8; 1024];
    // SAFETY: posix_spawn just read `path` as a C string, so we may too.
    program_record(&mut buf, b"spawn", Some(child), unsafe { c_str(path) });
}

/// The bytes of a C string, or `None` for a null or unreadable pointer.
///
/// # Safety
/// A readable `path` is NUL-terminated (the C contract of the call it was passed to).
unsafe fn c_str<'a>(path: *const libc::c_char) -> Option<&'a [u8]> {
    if path.is_null() || !raw::readable(path.cast(), 1) {
        return None;
    }
    // SAFETY: the caller's contract: a readable path is a NUL-terminated string.
    Some(unsafe { std::ffi::CStr::from_ptr(path) }.to_bytes())
}

/// An `exec` or `spawn` record: the process, the child it started (for `spawn`), the program.
fn program_record(buf: &mut [u8], kind: &[u8], child: Option<libc::pid_t>, path: Option<&[u8]>) {
    if !log::enabled() {
        return;
    }
    let mut line = crate::json::Line::new(buf);
    line.str("type", kind).num("pid", i64::from(raw::pid()));
    if let Some(child) = child {
        line.num("child", i64::from(child));
    }
    if let Some(p) = path {
        line.str("path", p);
    }
    raw::write_all(log::descriptor(), line.finish());
}

type Spawn = unsafe extern "C" fn(
    *mut libc::pid_t,
    *const libc::c_char,
    *const libc::posix_spawn_file_actions_t,
    *const libc::posix_spawnattr_t,
    *const *mut libc::c_char,
    *const *mut libc::c_char,
) -> libc::c_int;

/// Calls the real `posix_spawn` or `posix_spawnp` and writes the `spawn` record.
///
/// # Safety
/// The C function's contract.
unsafe fn spawn(
    real: &crate::real::Real,
    pid: *mut libc::pid_t,
    path: *const libc::c_char,
    actions: *const libc::posix_spawn_file_actions_t,
    attr: *const libc::posix_spawnattr_t,
    argv: *const *mut libc::c_char,
    envp: *const *mut libc::c_char,
) -> libc::c_int {
    let Some(addr) = real.get() else { return libc::ENOSYS };
    // SAFETY: `addr` is the next definition of this symbol, whose C type is `Spawn`.
    let f: Spawn = unsafe { std::mem::transmute::<usize, Spawn>(addr) };
    let mut child: libc::pid_t = 0;
    // The caller may pass no pid pointer; the record needs the child's.
    let out = if pid.is_null() { &mut child as *mut libc::pid_t } else { pid };
    // SAFETY: the caller's arguments, forwarded unchanged but for a pid pointer of ours when
    // the caller passed none.
    let r = unsafe { f(out, path, actions, attr, argv, envp) };
    if r == 0 {
        // SAFETY: on success posix_spawn stored the child's pid at `out`.
        spawned(unsafe { *out }, path);
    }
    r
}

/// Interposes `posix_spawn` to name the program it starts (glibc execs inside it).
///
/// # Safety
/// The C function's contract.
#[cfg_attr(not(test), unsafe(no_mangle))]
pub unsafe extern "C" fn posix_spawn(
    pid: *mut libc::pid_t,
    path: *const libc::c_char,
    actions: *const libc::posix_spawn_file_actions_t,
    attr: *const libc::posix_spawnattr_t,
    argv: *const *mut libc::c_char,
    envp: *const *mut libc::c_char,
) -> libc::c_int {
    static REAL: crate::real::Real = crate::real::Real::new(c"posix_spawn");
    // SAFETY: the caller's contract.
    unsafe { spawn(&REAL, pid, path, actions, attr, argv, envp) }
}

/// Interposes `posix_spawnp` to name the program it starts.
///
/// # Safety
/// The C function's contract.
#[cfg_attr(not(test), unsafe(no_mangle))]
pub unsafe extern "C" fn posix_spawnp(
    pid: *mut libc::pid_t,
    file: *const libc::c_char,
    actions: *const libc::posix_spawn_file_actions_t,
    attr: *const libc::posix_spawnattr_t,
    argv: *const *mut libc::c_char,
    envp: *const *mut libc::c_char,
) -> libc::c_int {
    static REAL: crate::real::Real = crate::real::Real::new(c"posix_spawnp");
    // SAFETY: the caller's contract.
    unsafe { spawn(&REAL, pid, file, actions, attr, argv, envp) }
}
