//! The control socket (`FAILINJECT_CTL`): change rules while the program runs.
//!
//! A line protocol on a Unix socket, served by one thread that exists only when the variable
//! is set (and one short-lived thread per connection):
//!
//! ```text
//! set RULE                 add a rule, or replace the one with its key
//! remove KEY               remove the rule with this key
//! clear                    remove every rule
//! list                     one line per rule: key, actions, matches, injections (tab-separated)
//! wait KEY N [TIMEOUT_MS]  return once the rule has injected N times (default: 10 s)
//! seed                     the seed of this process
//! ```
//!
//! Every reply ends with a line starting `ok` or `err ` and the reason. The socket is made
//! with mode 0600 and a peer of another uid than the program's and root's is refused
//! (`SO_PEERCRED`). Lines are at most
//! 64 KiB; anything malformed gets `err`, never a crash of the host. The server's threads
//! are marked as inside the preload for their whole life, so their own I/O is never injected.
//! A forked child serves its own socket when the path has `%p`, and never its parent's.

use crate::state;
use crate::sys::{guard, raw, thread};
use failinject_engine::Command;
use failinject_engine::control::{self, MAX_LINE};
use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::ffi::OsStringExt;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::io::AsRawFd;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The path as given, `%p` not yet replaced.
static TEMPLATE: OnceLock<Vec<u8>> = OnceLock::new();
/// The socket this process serves and the pid that serves it: removed at exit by that
/// process only (a forked child inherits this, and must not remove its parent's socket).
static SERVED: Mutex<Option<(u32, PathBuf)>> = Mutex::new(None);

/// Starts serving `template` (`%p` becomes the pid). Returns an error message when the socket
/// cannot be made.
pub fn start(template: &[u8]) -> Result<(), String> {
    let _ = TEMPLATE.set(template.to_vec());
    serve()
}

fn serve() -> Result<(), String> {
    let Some(template) = TEMPLATE.get() else { return Ok(()) };
    // Bytes, not text: a path that is not UTF-8 is served under its own name.
    let path = PathBuf::from(OsString::from_vec(with_pid(template, raw::pid())));
    // A socket left by an earlier run with the same path is replaced; anything else is not.
    if let Ok(meta) = std::fs::symlink_metadata(&path) {
        if !meta.file_type().is_socket() {
            return Err(format!("FAILINJECT_CTL={} exists and is not a socket", path.display()));
        }
        let _ = std::fs::remove_file(&path);
    }
    let listener = UnixListener::bind(&path)
        .map_err(|e| format!("cannot serve FAILINJECT_CTL={}: {e}", path.display()))?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| format!("cannot restrict FAILINJECT_CTL={}: {e}", path.display()))?;
    if let Ok(mut served) = SERVED.try_lock() {
        *served = Some((raw::pid(), path));
    }
    // Threads of ours block every signal (`thread.rs`); a connection's thread inherits the
    // server thread's mask, and is started through the same function all the same.
    thread::spawn("failinject-ctl", move || {
        let _inside = guard::Inside::enter();
        for conn in listener.incoming().flatten() {
            let _ = thread::spawn("failinject-conn", move || {
                let _inside = guard::Inside::enter();
                connection(conn);
            });
        }
    })
    .map_err(|e| format!("cannot start the control thread: {e}"))
}

/// `template` with every `%p` replaced by `pid`.
fn with_pid(template: &[u8], pid: u32) -> Vec<u8> {
    let pid = pid.to_string();
    let mut out = Vec::with_capacity(template.len() + 8);
    let mut rest = template;
    while !rest.is_empty() {
        if rest.starts_with(b"%p") {
            out.extend_from_slice(pid.as_bytes());
            rest = &rest[2..];
        } else {
            out.push(rest[0]);
            rest = &rest[1..];
        }
    }
    out
}

/// In a forked child: the parent's server thread did not survive the fork; the child
/// serves its own socket when the path has `%p`.
pub fn after_fork_in_child() {
    if TEMPLATE.get().is_some_and(|t| t.windows(2).any(|w| w == b"%p"))
        && let Err(m) = serve()
    {
        raw::diag(&[m.as_bytes()]);
    }
}

/// Removes this process's socket (at exit).
pub fn stop() {
    if let Ok(served) = SERVED.try_lock()
        && let Some((pid, path)) = served.as_ref()
        && *pid == raw::pid()
    {
        let _ = std::fs::remove_file(path);
    }
}

/// The uid of the peer, from `SO_PEERCRED`.
fn peer_uid(conn: &UnixStream) -> Option<u32> {
    let mut cred = libc::ucred { pid: 0, uid: 0, gid: 0 };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: `cred` and `len` are live and sized for SO_PEERCRED's answer.
    let r = unsafe {
        libc::getsockopt(
            conn.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            &mut cred as *mut libc::ucred as *mut libc::c_void,
            &mut len,
        )
    };
    (r == 0).then_some(cred.uid)
}

/// Closes a connection after a final reply. Whatever the peer sent and we did not read is
/// drained first: closing a Unix socket with unread data resets it, and the peer would then
/// lose our reply.
fn hang_up(conn: UnixStream) {
    let _ = conn.shutdown(std::net::Shutdown::Write);
    let _ = conn.set_read_timeout(Some(Duration::from_millis(200)));
    let mut sink = [0u8; 4096];
    let mut conn = conn;
    // Wait up to a second for the peer to finish sending (a slow peer may not have written
    // its line yet) or to close.
    let deadline = Instant::now() + Duration::from_secs(1);
    while Instant::now() < deadline {
        match conn.read(&mut sink) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => break,
        }
    }
}

fn connection(conn: UnixStream) {
    // SAFETY: getuid has no preconditions.
    let me = unsafe { libc::getuid() };
    let Ok(mut out) = conn.try_clone() else { return };
    match peer_uid(&conn) {
        // The program's own uid, and root (which may steer any process, as with ptrace).
        Some(uid) if uid == me || uid == 0 => {}
        other => {
            let who = other.map_or("unknown".to_string(), |u| u.to_string());
            // One write: a reader that takes one read() must get the whole line.
            let reply = format!("err permission denied: peer uid {who} is neither {me} nor root\n");
            let _ = out.write_all(reply.as_bytes());
            hang_up(conn);
            return;
        }
    }
    let mut reader = BufReader::new(conn);
    loop {
        let mut line = Vec::new();
        match (&mut reader).take(MAX_LINE as u64 + 1).read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        if line.len() > MAX_LINE {
            let _ = out.write_all(format!("err line longer than {MAX_LINE} bytes\n").as_bytes());
            hang_up(reader.into_inner());
            return;
        }
        let reply = match control::parse_line(&line) {
            None => continue,
            // The power fails now: the reply goes first, since nothing comes after.
            Some(Ok(Command::Powercut { cut }))
                if cut.mode.keeps_changes() && crate::crash::on() && !crate::crash::keeps() =>
            {
                format!(
                    "err `powercut {}` keeps some changes, and this process records none one by \
                     one: start it with a rule whose powercut keeps changes (prefix, any or torn)\n",
                    cut.mode.name()
                )
            }
            Some(Ok(Command::Powercut { cut })) if crate::crash::on() => {
                let _ = out.write_all(b"ok power cut\n");
                let _ = out.flush();
                let seed = crate::state::read(|r| r.seed()).unwrap_or(0);
                crate::crash::cut_now(cut, seed)
            }
            Some(Ok(Command::Powercut { .. })) => "err no write is tracked in this process: \
                 set a powercut or lose rule first (tracking starts with one)\n"
                .to_string(),
            Some(parsed) => answer(parsed),
        };
        if out.write_all(reply.as_bytes()).is_err() {
            return;
        }
    }
}

/// The reply to one parsed line; it ends with an `ok` or `err` line. The parsing and the
/// replies are the engine's (`failinject_engine::control`, which the `control` fuzz target
/// exercises); only the registry's lock and the waiting are done here.
fn answer(parsed: Result<Command, control::ControlError>) -> String {
    const UNAVAILABLE: &str = "err the registry is not available\n";
    match parsed {
        Err(reason) => control::error_reply(&reason.to_string()),
        Ok(Command::Wait { key, n, timeout_ms }) => wait(&key, n, timeout_ms),
        Ok(cmd) if cmd.changes() => {
            state::change(|reg| control::apply(cmd, reg)).unwrap_or_else(|| UNAVAILABLE.into())
        }
        Ok(cmd) => {
            state::read(|reg| control::read(&cmd, reg)).unwrap_or_else(|| UNAVAILABLE.into())
        }
    }
}

/// `wait KEY N TIMEOUT_MS`: polls the rule's counters every 2 ms.
fn wait(key: &str, n: u64, timeout_ms: u64) -> String {
    let rule_state = match state::read(|reg| control::wait_target(key, reg)) {
        Some(Ok(s)) => s,
        Some(Err(reply)) => return reply,
        None => return "err the registry is not available\n".into(),
    };
    let deadline = Instant::now() + Duration::from_millis(timeout_ms);
    loop {
        let timed_out = Instant::now() >= deadline;
        if let Some(reply) = control::wait_check(key, n, timeout_ms, &rule_state, timed_out) {
            return reply;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}
