//! The keeper of a run (`$FAILINJECT_RUN/keeper`): it holds a descriptor of every file the
//! run's crash model tracks, and carries out a power cut for the whole run.
//!
//! The preloads of a run share one crash model (`preload/src/sys/shared_store.rs`). Its
//! handles on files must mean the same file to every process, and must still reach the file
//! after the process that found it has died, so each process hands the keeper a descriptor of
//! each file it starts tracking (`SCM_RIGHTS`) and uses the keeper's number for it as the
//! handle. The keeper keeps one descriptor per file (by device and inode) until the run ends.
//!
//! When a process of the run cuts the power (a `powercut` rule), it tells the keeper and
//! waits to be killed. The keeper then kills every process of the run (its members and every
//! descendant of `failinject run`), waits until none is left, and rolls every file back: in
//! a process of its own under the preload, which reads the shared model with the preload's
//! own code (`FAILINJECT_RESTORE`), reaching the files through the keeper's descriptors.

use crate::run_dir::{RunDir, alive};
use anyhow::Context as _;
use nix::sys::socket::{
    AddressFamily, Backlog, ControlMessageOwned, MsgFlags, SockFlag, SockType, UnixAddr, accept4,
    bind, listen, recvmsg, send, socket,
};
use std::collections::HashMap;
use std::io::IoSliceMut;
use std::os::fd::{AsRawFd as _, FromRawFd as _, OwnedFd, RawFd};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// How a power cut of the run went.
#[derive(Clone, Debug, PartialEq)]
pub enum Cut {
    /// Every process was killed and every file rolled back.
    Done,
    /// Something could not be done, and what.
    Incomplete(String),
}

#[derive(Default)]
struct State {
    /// Descriptors kept, by (device, inode).
    files: HashMap<(u64, u64), OwnedFd>,
    /// A cut: `None` before one began, then `Some(None)` while it runs, `Some(Some(how))`.
    cut: Option<Option<Cut>>,
}

/// The keeper of one run; see the module documentation.
pub struct Keeper {
    shared: Arc<(Mutex<State>, Condvar)>,
}

/// What a cut needs to know about the run.
#[derive(Clone)]
struct Run {
    dir: PathBuf,
    lib: PathBuf,
}

impl Keeper {
    /// Serves `dir`'s keeper socket; `lib` is the preload, for the process that rolls files
    /// back.
    pub fn start(dir: &RunDir, lib: &Path) -> anyhow::Result<Keeper> {
        let path = dir.path().join("keeper");
        let sock = socket(AddressFamily::Unix, SockType::SeqPacket, SockFlag::SOCK_CLOEXEC, None)
            .context("cannot make the run's keeper socket")?;
        let addr = UnixAddr::new(&path).context("the run directory's path is too long")?;
        bind(sock.as_raw_fd(), &addr)
            .with_context(|| format!("cannot serve {}", path.display()))?;
        listen(&sock, Backlog::new(128).unwrap_or(Backlog::MAXCONN))?;
        let shared = Arc::new((Mutex::new(State::default()), Condvar::new()));
        let run = Run { dir: dir.path().to_path_buf(), lib: lib.to_path_buf() };
        let serving = Arc::clone(&shared);
        std::thread::Builder::new().name("keeper".into()).spawn(move || {
            while let Ok(conn) = accept4(sock.as_raw_fd(), SockFlag::SOCK_CLOEXEC) {
                let conn = owned(conn);
                let (shared, run) = (Arc::clone(&serving), run.clone());
                let _ = std::thread::Builder::new()
                    .name("keeper-conn".into())
                    .spawn(move || serve(conn, &shared, &run));
            }
        })?;
        Ok(Keeper { shared })
    }

    /// After the command ended: if a power cut began, waits until it is over and says how
    /// it went.
    pub fn finish(&self) -> Option<Cut> {
        let (lock, cond) = &*self.shared;
        let mut st = lock.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            match &st.cut {
                None => return None,
                Some(Some(how)) => return Some(how.clone()),
                Some(None) => st = cond.wait(st).unwrap_or_else(|e| e.into_inner()),
            }
        }
    }
}

/// Owns a descriptor the kernel has just given this process (`accept4`, `SCM_RIGHTS`).
#[allow(unsafe_code)]
pub(crate) fn owned(fd: RawFd) -> OwnedFd {
    // SAFETY: `fd` was returned to us by the kernel a moment ago (a new connection, or a
    // descriptor received with a message), is open, and nothing else in this process holds
    // or closes it: the `OwnedFd` is its only owner.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

/// One process's requests: `R` with a descriptor (reply: the handle), `C` + dirs (a cut).
fn serve(conn: OwnedFd, shared: &(Mutex<State>, Condvar), run: &Run) {
    loop {
        let mut buf = [0u8; 2];
        let mut iov = [IoSliceMut::new(&mut buf)];
        let mut space = nix::cmsg_space!([RawFd; 1]);
        let Ok(msg) =
            recvmsg::<()>(conn.as_raw_fd(), &mut iov, Some(&mut space), MsgFlags::MSG_CMSG_CLOEXEC)
        else {
            return;
        };
        let got = msg.bytes;
        let fds: Vec<RawFd> = msg
            .cmsgs()
            .into_iter()
            .flatten()
            .filter_map(|c| match c {
                ControlMessageOwned::ScmRights(fds) => Some(fds),
                _ => None,
            })
            .flatten()
            .collect();
        if got == 0 {
            return;
        }
        match buf[0] {
            b'R' => {
                let handle = fds.first().map_or(-1, |fd| keep(shared, owned(*fd)));
                // A request carries one descriptor; any other is closed.
                fds.iter().skip(1).for_each(|fd| drop(owned(*fd)));
                if send(conn.as_raw_fd(), &handle.to_ne_bytes(), MsgFlags::empty()).is_err() {
                    return;
                }
            }
            b'C' => cut(shared, run, got > 1 && buf[1] != 0),
            _ => return,
        }
    }
}

/// Keeps `fd` (or the descriptor already kept of its file); its number.
fn keep(shared: &(Mutex<State>, Condvar), fd: OwnedFd) -> i32 {
    let Ok(st) = nix::sys::stat::fstat(&fd) else { return -1 };
    let key = (st.st_dev, st.st_ino);
    let mut state = shared.0.lock().unwrap_or_else(|e| e.into_inner());
    state.files.entry(key).or_insert(fd).as_raw_fd()
}

/// A power cut of the whole run: every process killed, then every file rolled back.
fn cut(shared: &(Mutex<State>, Condvar), run: &Run, dirs: bool) {
    {
        let mut state = shared.0.lock().unwrap_or_else(|e| e.into_inner());
        if state.cut.is_some() {
            return;
        }
        state.cut = Some(None);
    }
    let how = kill_everyone().and_then(|()| restore(run, dirs));
    let (lock, cond) = shared;
    lock.lock().unwrap_or_else(|e| e.into_inner()).cut = Some(Some(match how {
        Ok(()) => Cut::Done,
        Err(why) => Cut::Incomplete(why),
    }));
    cond.notify_all();
}

/// SIGKILLs every process of the run (every descendant of `failinject run`, the subreaper of
/// them all; never a member's pid alone, which an unrelated process may have taken since)
/// until none is left alive (zombies do not count).
pub(crate) fn kill_everyone() -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut left: Vec<u32> = descendants(std::process::id());
        left.retain(|p| alive(*p));
        if left.is_empty() {
            return Ok(());
        }
        for p in &left {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(*p as i32),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        if Instant::now() > deadline {
            return Err(format!("processes still alive after SIGKILL: {left:?}"));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Every process whose parent chain leads to `root`.
fn descendants(root: u32) -> Vec<u32> {
    let mut parent: Vec<(u32, u32)> = Vec::new();
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else { continue };
        if let Some((_, ppid)) = crate::run_dir::proc_stat(pid) {
            parent.push((pid, ppid));
        }
    }
    let mut out = vec![root];
    let mut i = 0;
    while i < out.len() {
        let p = out[i];
        out.extend(parent.iter().filter(|(_, pp)| *pp == p).map(|(c, _)| *c));
        i += 1;
    }
    out.remove(0);
    out
}

/// Rolls every file of the run back, in a process of its own under the preload.
fn restore(run: &Run, dirs: bool) -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let out = std::process::Command::new(exe)
        .arg("--version")
        .env("LD_PRELOAD", &run.lib)
        .env("FAILINJECT_RUN", &run.dir)
        .env("FAILINJECT_RESTORE", if dirs { "dirs" } else { "all" })
        .env_remove("FAILINJECT")
        .env_remove("FAILINJECT_FILE")
        .env_remove("FAILPOINTS")
        .env_remove("FAILINJECT_LOG")
        .env_remove("FAILINJECT_CTL")
        .output()
        .map_err(|e| format!("cannot start the rollback: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "the rollback could not put every file back ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// The keeper holds a descriptor per tracked file: as many as the system lets it. Called once
/// the command has started, which must not inherit the raised limit (a program that closes
/// every descriptor up to its limit would take far longer).
pub fn raise_descriptor_limit() {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    if let Ok((_, hard)) = getrlimit(Resource::RLIMIT_NOFILE) {
        let _ = setrlimit(Resource::RLIMIT_NOFILE, hard, hard);
    }
}
