//! The injection log (`FAILINJECT_LOG`): JSON Lines, one `write(2)` per line.
//!
//! Each process writes a `start` record when it starts (and a forked child when it begins),
//! one record per injected fault, and an `exit` record with each rule's counts when it calls
//! `exit()` (`"reason":"exit"`, with its status) or just before it `exec`s another program
//! (`"reason":"exec"`). A process that `_exit`s or is killed leaves no `exit` record: readers
//! must cope, and take counts from the records they have.
//! `%p` in the path becomes the pid, so each process may have its own file; without it, the
//! processes of a run share one file opened with `O_APPEND`, where each whole line lands in
//! one `write`.
//!
//! Fault records are formatted into the caller's buffer (`target.rs`'s pool) on the hook
//! path: no allocation. The start record is built once, at start-up, where allocating is
//! fine.

#![forbid(unsafe_code)]

pub(crate) mod json;

use crate::sys::kfile;
use crate::sys::raw;
use crate::sys::site::{self, Frames};
use failinject_engine::{Decision, Effect, PointId, Snapshot, SysCall};
use json::Line;
use std::fmt::Write as _;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};

static FD: AtomicI32 = AtomicI32::new(-1);
static SEQ: AtomicU64 = AtomicU64::new(0);
/// The path as given, `%p` not yet replaced.
static TEMPLATE: OnceLock<Vec<u8>> = OnceLock::new();
/// What the start record says besides the pid: exe, argv, seed, rules (built at start-up).
static START: OnceLock<StartInfo> = OnceLock::new();

struct StartInfo {
    exe: Vec<u8>,
    argv: Vec<Vec<u8>>,
    seed: u64,
    rules: Vec<String>,
}

/// The log's descriptor, or -1.
pub fn descriptor() -> i32 {
    FD.load(Ordering::Relaxed)
}

/// Whether a log is being written.
#[inline]
pub fn enabled() -> bool {
    FD.load(Ordering::Relaxed) >= 0
}

/// Opens the log at `template` and writes the start record. Called once, from the
/// constructor. Returns an error message when the file cannot be opened.
pub fn start(template: &[u8], exe: &[u8], seed: u64, rules: Vec<String>) -> Result<(), String> {
    let argv = std::fs::read("/proc/self/cmdline")
        .map(|b| b.split(|c| *c == 0).filter(|a| !a.is_empty()).map(<[u8]>::to_vec).collect())
        .unwrap_or_default();
    let _ = TEMPLATE.set(template.to_vec());
    let _ = START.set(StartInfo { exe: exe.to_vec(), argv, seed, rules });
    open()?;
    write_start();
    Ok(())
}

/// Opens the file for this process (`%p` replaced by its pid).
fn open() -> Result<(), String> {
    let Some(template) = TEMPLATE.get() else { return Ok(()) };
    let mut path = [0u8; 4096];
    let n = expand(template, raw::pid(), &mut path).ok_or("FAILINJECT_LOG is too long")?;
    path[n] = 0;
    let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_APPEND;
    let shown = std::ffi::CStr::from_bytes_until_nul(&path[..]).unwrap_or(c"");
    let fd = kfile::open_at(libc::AT_FDCWD, shown, flags, 0o644);
    if fd < 0 {
        let shown = String::from_utf8_lossy(&path[..n]).into_owned();
        return Err(format!(
            "cannot open the log FAILINJECT_LOG={shown}: {}",
            std::io::Error::from_raw_os_error(raw::errno())
        ));
    }
    FD.store(kfile::to_high(fd), Ordering::Release);
    Ok(())
}

/// The program closed descriptor `fd` (through our wrappers). If it was the log's, logging
/// stops: the number may be reused for one of the program's files, which must never receive
/// our records.
pub fn descriptor_closed(fd: i32) {
    if FD.load(Ordering::Relaxed) == fd {
        FD.store(-1, Ordering::Release);
    }
}

/// `template` with each `%p` replaced by `pid` (and `%%` by `%`), into `out`.
fn expand(template: &[u8], pid: u32, out: &mut [u8]) -> Option<usize> {
    let mut digits = [0u8; 20];
    let pid = raw::decimal(u64::from(pid), &mut digits);
    let mut n = 0;
    let mut i = 0;
    while i < template.len() {
        let piece: &[u8] = match (template[i], template.get(i + 1)) {
            (b'%', Some(b'p')) => {
                i += 1;
                pid
            }
            (b'%', Some(b'%')) => {
                i += 1;
                b"%"
            }
            _ => &template[i..i + 1],
        };
        out.get_mut(n..n + piece.len())?.copy_from_slice(piece);
        n += piece.len();
        i += 1;
    }
    (n < out.len()).then_some(n)
}

fn emit(line: &[u8]) {
    let fd = FD.load(Ordering::Acquire);
    if fd >= 0 {
        raw::write_all(fd, line);
    }
}

fn time(line: &mut Line<'_>) {
    let (sec, nsec) = raw::realtime();
    let mut buf = [0u8; 32];
    let mut w = Fixed::new(&mut buf);
    let _ = write!(w, "{sec}.{:06}", nsec / 1000);
    let n = w.len;
    line.raw("time", &buf[..n]);
}

fn write_start() {
    let Some(info) = START.get() else { return };
    let mut buf = vec![0u8; 64 * 1024];
    let mut line = Line::new(&mut buf);
    line.str("type", b"start");
    time(&mut line);
    line.num("pid", i64::from(raw::pid()))
        .str("exe", &info.exe)
        .strs("argv", info.argv.iter().map(Vec::as_slice))
        .raw("seed", info.seed.to_string().as_bytes())
        .strs("rules", info.rules.iter().map(String::as_bytes));
    emit(line.finish());
}

/// In a forked child: a per-pid log gets its own file; either way the child is a new
/// process and says so with a start record.
pub fn after_fork_in_child() {
    if !enabled() {
        return;
    }
    if TEMPLATE.get().is_some_and(|t| t.windows(2).any(|w| w == b"%p")) {
        // Our own log descriptor; the parent keeps its own copy.
        kfile::close(FD.swap(-1, Ordering::AcqRel));
        if open().is_err() {
            return;
        }
    }
    SEQ.store(0, Ordering::Relaxed);
    write_start();
}

/// What the wrapper knows of an injected call, for its log record.
pub struct Injected<'a> {
    /// The point.
    pub point: PointId,
    /// The exported name that was called (`pwrite64`).
    pub function: &'a str,
    /// The call's facts.
    pub call: &'a SysCall<'a>,
    /// The decision taken.
    pub decision: &'a Decision<'a>,
    /// What the wrapper returned, as a number (`None` when logged before the call).
    pub result: Option<i64>,
    /// The caller's frames.
    pub frames: &'a Frames,
}

/// Whether the call goes ahead after the effect (the real function is called).
pub fn proceeds(e: &Effect<'_>) -> bool {
    matches!(
        e,
        Effect::Sleep(_)
            | Effect::Delay(_)
            | Effect::Print(_)
            | Effect::Yield
            | Effect::Pause
            | Effect::Short(_)
            | Effect::Corrupt(..)
    )
}

/// Whether the effect returns to the wrapper (so the fault is logged with its result);
/// `kill`, `panic`, `powercut` and `pause` are logged before they happen.
pub fn returns(e: &Effect<'_>) -> bool {
    !matches!(e, Effect::Kill(_) | Effect::Panic(_) | Effect::Powercut { .. } | Effect::Pause)
}

/// Writes one fault record of a libc point, formatted in `buf`.
pub fn inject(rec: &Injected<'_>, buf: &mut [u8]) {
    let mut point = [0u8; 64];
    let point = join(&mut point, &[b"sys:", rec.point.info().name.as_bytes()]);
    fault(
        buf,
        point,
        rec.function.as_bytes(),
        Some(rec.call),
        rec.decision,
        rec.result,
        rec.frames,
    );
}

/// Whether the log records the first time each in-code point is reached
/// (`FAILINJECT_TRACE_CODE=1`, set by `explore` for a recording run of in-code points).
static TRACE_CODE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Turns the tracing of in-code points on (the constructor).
pub fn trace_code_points() {
    TRACE_CODE.store(true, Ordering::Relaxed);
}

/// Whether in-code points are traced (and a log is written).
pub fn tracing_code_points() -> bool {
    TRACE_CODE.load(Ordering::Relaxed) && enabled()
}

/// `{"type":"reach",…}`: the in-code point `name` was reached for the first time in this
/// process, from the call site `frames`; formatted in `buf`.
pub fn code_point_reached(name: &str, frames_of: &Frames, buf: &mut [u8]) {
    let mut line = Line::new(buf);
    line.str("type", b"reach");
    time(&mut line);
    line.num("pid", i64::from(raw::pid())).str("point", name.as_bytes());
    site_and_frames(&mut line, frames_of);
    emit(line.finish());
}

/// Writes one fault record of an in-code point, formatted in `buf`.
pub fn inject_code(name: &str, d: &Decision<'_>, frames: &Frames, buf: &mut [u8]) {
    fault(buf, name.as_bytes(), name.as_bytes(), None, d, None, frames);
}

fn fault(
    buf: &mut [u8],
    point: &[u8],
    function: &[u8],
    call: Option<&SysCall<'_>>,
    d: &Decision<'_>,
    result: Option<i64>,
    frames_of: &Frames,
) {
    if !d.injected {
        // A `full` or `short` that let the whole call through: a match, not a fault.
        return;
    }
    let mut line = Line::new(buf);
    line.str("type", b"inject").num("seq", SEQ.fetch_add(1, Ordering::Relaxed) as i64 + 1);
    time(&mut line);
    line.num("pid", i64::from(raw::pid())).num("tid", raw::tid());
    line.str("point", point).str("function", function);
    if let Some(call) = call {
        if let Some(fd) = call.fd {
            line.num("fd", i64::from(fd));
        }
        if let Some(p) = call.path {
            line.str("path", p);
        }
        if let Some(p) = call.path2 {
            line.str("path2", p);
        }
        if call.kind != failinject_engine::FileKind::Unknown {
            line.str("kind", call.kind.name().as_bytes());
        }
    }
    site_and_frames(&mut line, frames_of);
    line.str("rule", d.key.as_bytes())
        .num("rule_index", d.rule_index as i64)
        .num("hit", d.hit as i64);
    let mut action = [0u8; 64];
    let action = effect_text(&d.effect, &mut action);
    line.str("action", action);
    match d.effect {
        Effect::Error(e) | Effect::Lose(e, _) => {
            let mut name = [0u8; 24];
            let mut w = Fixed::new(&mut name);
            let _ = write!(w, "{e}");
            let n = w.len;
            line.str("errno", &name[..n]);
        }
        Effect::Full(0) => {
            line.str("errno", b"ENOSPC");
        }
        _ => {
            if let Some(r) = result {
                line.num("result", r);
            }
        }
    }
    emit(line.finish());
}

/// `"site":"…","frames":[…]`: the call site's id (hex) and its frames.
pub(crate) fn site_and_frames(line: &mut Line<'_>, frames_of: &Frames) {
    site_only(line, frames_of);
    frames(line, frames_of);
}

/// `"site":"hex"`.
pub(crate) fn site_only(line: &mut Line<'_>, frames_of: &Frames) {
    let mut hex = [0u8; 20];
    let mut w = Fixed::new(&mut hex);
    let _ = write!(w, "{:x}", frames_of.id());
    let n = w.len;
    line.str("site", &hex[..n]);
}

/// `"frames":["libc.so.6+0x2a1c0 write", …]`.
fn frames(line: &mut Line<'_>, frames: &Frames) {
    let mut texts = [[0u8; 160]; site::MAX_FRAMES];
    let mut lens = [0usize; site::MAX_FRAMES];
    let mut count = 0;
    for (f, (t, len)) in frames.iter().zip(texts.iter_mut().zip(lens.iter_mut())) {
        let mut w = Fixed::new(t);
        w.bytes(failinject_engine::file_name(f.module));
        let _ = write!(w, "+{:#x}", f.offset);
        if let Some(s) = f.symbol {
            w.bytes(b" ");
            w.bytes(s);
        }
        *len = w.len;
        count += 1;
    }
    line.strs("frames", texts.iter().zip(lens).take(count).map(|(t, n)| &t[..n]));
}

/// The action as written in a rule (`Effect`'s `Display`, shared with the seccomp backend).
fn effect_text<'b>(e: &Effect<'_>, buf: &'b mut [u8]) -> &'b [u8] {
    let mut w = Fixed::new(buf);
    let _ = write!(w, "{e}");
    let n = w.len;
    &buf[..n]
}

/// The exit record: the status and each rule's counts. Runs from `exit()` (an `on_exit`
/// handler), where allocating is fine.
pub fn exit(status: i32, snapshot: Option<&Snapshot>) {
    if enabled() {
        let mut buf = vec![0u8; 256 * 1024];
        exit_record(&mut buf, Some(status), b"exit", snapshot);
    }
}

/// The exit record of a process about to `exec` (its image ends there, `exit()` never runs).
/// Formatted in the caller's buffer: this may be a `vfork` child, which must not allocate.
pub fn before_exec(snapshot: Option<&Snapshot>, buf: &mut [u8]) {
    if enabled() {
        exit_record(buf, None, b"exec", snapshot);
    }
}

/// [`before_exec`] with a buffer on the stack, for a `vfork` child that must not touch the
/// buffers it shares with its parent. Out of line, so only this path pays for the frame.
#[inline(never)]
pub fn before_exec_from_stack(snapshot: Option<&Snapshot>) {
    let mut buf = [0u8; 4096];
    before_exec(snapshot, &mut buf);
}

/// The pid of the process that wrote its exit record (0: none yet). A forked child has
/// another pid, so it may write its own; an exec starts the library afresh.
static EXIT_WRITTEN: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// Claims this process's exit record: true the first time in a process, false after. A
/// process writes one exit record however it ends (`exit()`, then `_exit` from an `atexit`
/// handler, is counted once).
pub fn claim_exit_record() -> bool {
    let me = raw::pid();
    EXIT_WRITTEN.swap(me, Ordering::AcqRel) != me
}

/// The exit record of a process that ends without `exit()` (`_exit`, `_Exit`, `abort`:
/// `wrappers/by_hand.rs`), unless one was written; formatted on the stack.
#[inline(never)]
pub fn ended(status: Option<i32>, reason: &[u8], snapshot: Option<&Snapshot>) {
    if enabled() && claim_exit_record() {
        let mut buf = [0u8; 4096];
        exit_record(&mut buf, status, reason, snapshot);
    }
}

/// After a change of the rules: a `retired` record for each rule of `before` (the snapshot
/// published before the change) that the change removed or replaced, with its key, its rule
/// text (so the summary can show its actions) and its counts in this process. Runs where the
/// registry is changed (control socket thread, `failinject_v1_cfg`), outside any intercepted
/// call, where allocating is fine.
pub fn retired(before: Option<&Snapshot>) {
    let Some(before) = before else { return };
    if !enabled() {
        return;
    }
    for (key, rule, st) in before.rule_entries() {
        if !st.is_retired() {
            continue;
        }
        let text = rule.to_string();
        let mut buf = vec![0u8; 2 * (key.len() + text.len()) + 256];
        let mut line = Line::new(&mut buf);
        line.str("type", b"retired")
            .num("pid", i64::from(raw::pid()))
            .str("key", key.as_bytes())
            .str("rule", text.as_bytes())
            .num("matches", st.matches() as i64)
            .num("injections", st.injections() as i64);
        emit(line.finish());
    }
}

/// An `exec` record (before an exec, after the exit record: the program as named) or a
/// `spawn` record (after `posix_spawn`, with the child's pid), formatted in `buf`. If no
/// `start` record of that process follows, the program was not reached (static, setuid, Go).
pub fn program(buf: &mut [u8], kind: &[u8], child: Option<i32>, path: Option<&[u8]>) {
    if !enabled() {
        return;
    }
    let mut line = Line::new(buf);
    line.str("type", kind).num("pid", i64::from(raw::pid()));
    if let Some(child) = child {
        line.num("child", i64::from(child));
    }
    if let Some(p) = path {
        line.str("path", p);
    }
    emit(line.finish());
}

/// The `exit` record with `reason`, formatted in `buf`.
fn exit_record(buf: &mut [u8], status: Option<i32>, reason: &[u8], snapshot: Option<&Snapshot>) {
    let mut line = Line::new(buf);
    line.str("type", b"exit");
    time(&mut line);
    line.num("pid", i64::from(raw::pid())).str("reason", reason);
    if let Some(status) = status {
        line.num("status", i64::from(status));
    }
    line.array("rules");
    if let Some(s) = snapshot {
        for (i, (key, state)) in s.rule_states().enumerate() {
            if !line.object() {
                break;
            }
            line.str("key", key.as_bytes())
                .num("matches", state.matches() as i64)
                .num("injections", state.injections() as i64);
            // Why a rule that never fired did not (`nearmiss.rs`): `near` (`stdstream`,
            // `sibling` or `sharedmap`), `near_point`, `near_fd`, `near_path`, `near_calls`.
            if let Some(n) = crate::nearmiss::first(s, i) {
                line.str("near", n.cause)
                    .str("near_point", n.point.as_bytes())
                    .num("near_fd", i64::from(n.fd))
                    .str("near_path", n.path())
                    .num("near_calls", n.calls as i64);
            }
            line.close();
        }
    }
    line.close();
    // I/O no libc wrapper sees: an io_uring ring among the descriptors, an AIO context mapped.
    use crate::nearmiss::{Unseen, seen};
    let uring = seen(Unseen::IoUring) || kfile::has_io_uring();
    let aio = seen(Unseen::Aio) || kfile::maps_contain(b"[aio]");
    if uring || aio {
        let both: [&[u8]; 2] = [b"io_uring", b"aio"];
        line.strs(
            "unseen",
            both.into_iter().zip([uring, aio]).filter(|(_, on)| *on).map(|(n, _)| n),
        );
    }
    emit(line.finish());
    // The log now has this program's counts; the run's shared slot is no longer needed.
    crate::run::ended();
}

fn join<'b>(buf: &'b mut [u8], parts: &[&[u8]]) -> &'b [u8] {
    let mut n = 0;
    for p in parts {
        let take = p.len().min(buf.len() - n);
        buf[n..n + take].copy_from_slice(&p[..take]);
        n += take;
    }
    &buf[..n]
}

/// `fmt::Write` into a fixed buffer; what does not fit is dropped.
struct Fixed<'b> {
    buf: &'b mut [u8],
    len: usize,
}

impl<'b> Fixed<'b> {
    fn new(buf: &'b mut [u8]) -> Fixed<'b> {
        Fixed { buf, len: 0 }
    }

    /// Appends raw bytes (the JSON writer escapes them later).
    fn bytes(&mut self, b: &[u8]) {
        let take = b.len().min(self.buf.len() - self.len);
        self.buf[self.len..self.len + take].copy_from_slice(&b[..take]);
        self.len += take;
    }
}

impl std::fmt::Write for Fixed<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.bytes(s.as_bytes());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pid_substitution() {
        let mut out = [0u8; 64];
        let n = expand(b"/tmp/log.%p.jsonl", 4242, &mut out).unwrap();
        assert_eq!(&out[..n], b"/tmp/log.4242.jsonl");
        let n = expand(b"100%%-%p", 7, &mut out).unwrap();
        assert_eq!(&out[..n], b"100%-7");
        assert!(expand(&[b'a'; 64], 1, &mut out).is_none());
    }

    #[test]
    fn effects_print_as_rules_write_them() {
        let mut b = [0u8; 64];
        assert_eq!(
            effect_text(&Effect::Error(failinject_engine::Errno::ENOSPC), &mut b),
            b"error(ENOSPC)"
        );
        assert_eq!(effect_text(&Effect::Short(100), &mut b), b"short(100)");
        assert_eq!(
            effect_text(&Effect::Kill(failinject_engine::Signal(15)), &mut b),
            b"kill(TERM)"
        );
    }
}
