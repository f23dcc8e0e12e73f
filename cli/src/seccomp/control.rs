//! The run's control socket under the seccomp backend (SPEC §6, §9): the rules live in the
//! `failinject` process, so the socket is its own. `failinject ctl PID` with the pid of
//! `failinject run`, or `ctl --run PID`, reach it; each command acts on the whole run.
//!
//! The socket is made with mode 0600 and refuses peers of another uid than ours and root's,
//! as the preload's does.
#![forbid(unsafe_code)]

use super::Supervisor;
use anyhow::Context as _;
use std::io::{BufRead as _, BufReader, Write as _};
use std::os::unix::fs::PermissionsExt as _;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::sync::Arc;

/// Serves the control socket at `path` for `sup`, on threads of its own.
pub fn serve(path: &Path, sup: &Arc<Supervisor>) -> anyhow::Result<()> {
    let _ = std::fs::remove_file(path);
    let listener = UnixListener::bind(path)
        .with_context(|| format!("cannot serve the control socket {}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    let sup = Arc::clone(sup);
    std::thread::Builder::new().name("seccomp-ctl".into()).spawn(move || {
        for conn in listener.incoming().flatten() {
            if !trusted(&conn) {
                continue;
            }
            let sup = Arc::clone(&sup);
            let _ = std::thread::Builder::new()
                .name("seccomp-ctl-conn".into())
                .spawn(move || answer(conn, &sup));
        }
    })?;
    Ok(())
}

/// A peer of our uid, or root.
fn trusted(conn: &UnixStream) -> bool {
    use nix::sys::socket::{getsockopt, sockopt::PeerCredentials};
    let me = nix::unistd::getuid().as_raw();
    getsockopt(conn, PeerCredentials).is_ok_and(|c| c.uid() == me || c.uid() == 0)
}

fn answer(conn: UnixStream, sup: &Supervisor) {
    let Ok(mut out) = conn.try_clone() else { return };
    let reader = BufReader::new(conn);
    for line in reader.split(b'\n').map_while(Result::ok) {
        if line.len() > failinject_engine::control::MAX_LINE {
            let _ = out.write_all(b"err the line is too long\n");
            continue;
        }
        let line = String::from_utf8_lossy(&line);
        if line.trim().is_empty() {
            continue;
        }
        let mut ok = true;
        sup.control(&line, &mut |r| ok &= out.write_all(r.as_bytes()).is_ok());
        if !ok {
            return;
        }
    }
}
