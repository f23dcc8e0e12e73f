//! Static programs started below a dynamic command, handed over by the preload at `exec`
//! (`preload/src/sys/handover.rs`): `failinject run` under the preload backend offers a
//! supervisor on `$FAILINJECT_RUN/seccomp`, tells the preload what to trap
//! (`FAILINJECT_SECCOMP`), and serves each listener it is handed, deciding the static
//! program's calls with the same rules. So `sh -c ./static-tool` is reached too, while the
//! shell itself stays the preload's.
//!
//! The rules this backend cannot carry out are left out for those programs only (the
//! preload carries them out everywhere else), and so are power cuts: the run's crash model
//! is the preload's.
#![forbid(unsafe_code)]

use super::{Supervisor, kernel, plan};
use anyhow::Context as _;
use failinject_engine::Rule;
use std::os::fd::{AsRawFd as _, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A supervisor on offer to the preloads of a run.
pub struct Handover {
    pub supervisor: Arc<Supervisor>,
    /// `FAILINJECT_SECCOMP` for the command: killable waits, and the calls to trap.
    pub env: String,
    /// The rules left out for handed-over programs, and why.
    pub left_out: Vec<String>,
}

/// Offers a supervisor in the run directory `dir`, if this machine allows the backend.
pub fn offer(
    dir: &Path,
    rules: &[Rule],
    opts: plan::Options,
    seed: u64,
    log: PathBuf,
) -> anyhow::Result<Option<Handover>> {
    let Ok(abilities) = super::probe() else { return Ok(None) };
    let opts = plan::Options { killable: abilities.killable, ..opts };
    let (plan, left_out) = plan::lenient(rules, opts);
    let supervisor = Supervisor::new(&plan, seed, log);
    let path = dir.join("seccomp");
    let sock = socket(&path)?;
    let sup = Arc::clone(&supervisor);
    std::thread::Builder::new().name("seccomp-handover".into()).spawn(move || {
        use nix::sys::socket::{SockFlag, accept4};
        while let Ok(conn) = accept4(sock.as_raw_fd(), SockFlag::SOCK_CLOEXEC) {
            let conn = crate::keeper::owned(conn);
            if let Ok(Some(listener)) = kernel::recv_fd(conn.as_raw_fd()) {
                sup.serve(listener, true);
                let _ = nix::unistd::write(&conn, b"k");
            }
        }
    })?;
    let numbers: Vec<String> = plan.trapped.iter().map(i64::to_string).collect();
    let env = format!("{}:{}", u8::from(abilities.killable), numbers.join(","));
    Ok(Some(Handover { supervisor, env, left_out }))
}

fn socket(path: &Path) -> anyhow::Result<OwnedFd> {
    use nix::sys::socket::{AddressFamily, Backlog, SockFlag, SockType, UnixAddr, bind, listen};
    let sock = nix::sys::socket::socket(
        AddressFamily::Unix,
        SockType::SeqPacket,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .context("cannot make the run's seccomp socket")?;
    let addr = UnixAddr::new(path).context("the run directory's path is too long")?;
    bind(sock.as_raw_fd(), &addr).with_context(|| format!("cannot serve {}", path.display()))?;
    listen(&sock, Backlog::new(64).unwrap_or(Backlog::MAXCONN))?;
    Ok(sock)
}
