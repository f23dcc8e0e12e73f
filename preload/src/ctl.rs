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
//! with mode 0600 and a peer of another uid is refused (`SO_PEERCRED`). Lines are at most
//! 64 KiB; anything malformed gets `err`, never a crash of the host. The server's threads
//! are marked as inside the preload for their whole life, so their own I/O is never injected.
//! A forked child serves its own socket when the path has `%p`, and never its parent's.

use crate::{guard, raw, state};
use failinject_engine::{parse_key, parse_rules};
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::io::AsRawFd;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The longest line accepted.
const MAX_LINE: usize = 64 * 1024;
/// How long `wait` waits without a timeout argument.
const DEFAULT_WAIT_MS: u64 = 10_000;

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
    let text = String::from_utf8_lossy(template);
    let path = PathBuf::from(text.replace("%p", &raw::pid().to_string()));
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
    std::thread::Builder::new()
        .name("failinject-ctl".into())
        .spawn(move || {
            let _inside = guard::Inside::enter();
            for conn in listener.incoming().flatten() {
                let _ =
                    std::thread::Builder::new().name("failinject-conn".into()).spawn(move || {
                        let _inside = guard::Inside::enter();
                        connection(conn);
                    });
            }
        })
        .map(|_| ())
        .map_err(|e| format!("cannot start the control thread: {e}"))
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
        Some(uid) if uid == me => {}
        other => {
            let who = other.map_or("unknown".to_string(), |u| u.to_string());
            // One write: a reader that takes one read() must get the whole line.
            let reply = format!("err permission denied: peer uid {who} is not {me}\n");
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
        let text = String::from_utf8_lossy(&line);
        let text = text.trim();
        if text.is_empty() {
            continue;
        }
        let reply = command(text);
        if out.write_all(reply.as_bytes()).is_err() {
            return;
        }
    }
}

/// Answers one command line; the reply ends with an `ok` or `err` line.
pub fn command(line: &str) -> String {
    let (verb, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
    let rest = rest.trim();
    let one_line = |s: String| s.replace('\n', " | ");
    match verb {
        "set" => match parse_rules(rest, "set") {
            Ok(rules) if !rules.is_empty() => {
                let keys: Vec<String> = rules.iter().map(|r| r.key()).collect();
                match state::change(|reg| {
                    rules.into_iter().for_each(|r| {
                        reg.set(r);
                    })
                }) {
                    Some(()) => format!("ok {}\n", keys.join(" ")),
                    None => "err the registry is not available\n".into(),
                }
            }
            Ok(_) => "err set needs a rule, as in `set sys:write=error(EIO)`\n".into(),
            Err(e) => format!("err {}\n", one_line(e.to_string())),
        },
        "remove" => match parse_key(rest) {
            Err(e) => format!("err {}\n", one_line(e.to_string())),
            Ok(key) => match state::change(|reg| reg.remove(&key)) {
                Some(Ok(true)) => format!("ok removed {key}\n"),
                Some(Ok(false)) => format!("err no rule has the key {key}\n"),
                _ => "err the registry is not available\n".into(),
            },
        },
        "clear" if rest.is_empty() => match state::change(|reg| reg.clear()) {
            Some(()) => "ok\n".into(),
            None => "err the registry is not available\n".into(),
        },
        "list" if rest.is_empty() => match state::read(|reg| reg.list()) {
            Some(list) => {
                let mut s: String = list
                    .iter()
                    .map(|r| format!("{}\t{}\t{}\t{}\n", r.key, r.actions, r.matches, r.injections))
                    .collect();
                s.push_str(&format!("ok {} rules\n", list.len()));
                s
            }
            None => "err the registry is not available\n".into(),
        },
        "seed" if rest.is_empty() => match state::read(|reg| reg.seed()) {
            Some(seed) => format!("{seed}\nok\n"),
            None => "err the registry is not available\n".into(),
        },
        "wait" => wait(rest),
        "clear" | "list" | "seed" => format!("err `{verb}` takes no argument\n"),
        _ => format!(
            "err unknown command `{}`: use set, remove, clear, list, wait or seed\n",
            verb.chars().take(40).collect::<String>()
        ),
    }
}

/// `wait KEY N [TIMEOUT_MS]`: the key may hold spaces only inside quotes, so N and the timeout
/// are the last words.
fn wait(args: &str) -> String {
    let words: Vec<&str> = args.split_whitespace().collect();
    let (key, n, timeout) = match words.as_slice() {
        [key @ .., n, t]
            if !key.is_empty() && t.parse::<u64>().is_ok() && n.parse::<u64>().is_ok() =>
        {
            (key.join(" "), n.parse::<u64>().unwrap_or(0), t.parse::<u64>().unwrap_or(0))
        }
        [key @ .., n] if !key.is_empty() && n.parse::<u64>().is_ok() => {
            (key.join(" "), n.parse::<u64>().unwrap_or(0), DEFAULT_WAIT_MS)
        }
        _ => return "err usage: wait KEY N [TIMEOUT_MS]\n".into(),
    };
    let key = match parse_key(&key) {
        Ok(k) => k,
        Err(e) => return format!("err {}\n", e.to_string().replace('\n', " | ")),
    };
    let Some(Some(rule_state)) = state::read(|reg| reg.state(&key).cloned()) else {
        return format!("err no rule has the key {key}\n");
    };
    let deadline = Instant::now() + Duration::from_millis(timeout);
    loop {
        let got = rule_state.injections();
        if got >= n {
            return format!("ok {key} injected {got}\n");
        }
        if rule_state.is_retired() {
            return format!("err {key} was replaced or removed after {got} injections\n");
        }
        if Instant::now() >= deadline {
            return format!("err timeout after {timeout} ms: {key} injected {got} of {n}\n");
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}
