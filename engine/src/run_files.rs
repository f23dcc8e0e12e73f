//! The files of a run's directory, `FAILINJECT_RUN`: where it lives, how it is laid out and
//! taken down. One code path for the two founders of a run: `failinject run`, and the first
//! process of a bare `LD_PRELOAD` tree whose rules need one (the preload's `bare.rs`).
//!
//! It is `run-PID` in the private socket directory ([`socket_dir`]), PID being the founder's,
//! and holds:
//!
//! - `state`: the shared state every preload of the run maps ([`crate::run_state`]);
//! - `crash`: the run's crash model, a link to a file in `/dev/shm` where there is one (its
//!   undo arena takes a copy of every synced range the run overwrites: memory, not a file
//!   the kernel would write back to disk), laid out by the first process that tracks writes;
//! - `keeper`: the socket of the keeper of the run's descriptors;
//! - `ctl`: the control sockets' template, when the run has them;
//! - `commands`: the rule changes sent with `ctl --run`, for processes that start later.
#![forbid(unsafe_code)]

use crate::run_state::{MAGIC, SIZE};
use std::ffi::OsStr;
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, MetadataExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};

/// The directory of the per-run sockets and run directories of user `uid`:
/// `$XDG_RUNTIME_DIR/failinject` (`xdg`), else `TMP/failinject-UID`. Not made here
/// ([`private_dir`] makes it).
pub fn socket_dir(xdg: Option<&OsStr>, tmp: &Path, uid: u32) -> PathBuf {
    match xdg.filter(|v| !v.is_empty()) {
        Some(run) => Path::new(run).join("failinject"),
        None => tmp.join(format!("failinject-{uid}")),
    }
}

/// Makes `dir` (mode 0700) if needed and checks that it is a directory of `uid` that no one
/// else may write; the reason when it is not.
pub fn private_dir(dir: &Path, uid: u32) -> Result<(), String> {
    if let Err(e) = std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir) {
        return Err(format!("cannot create {}: {e}", dir.display()));
    }
    let meta = std::fs::symlink_metadata(dir)
        .map_err(|e| format!("cannot inspect {}: {e}", dir.display()))?;
    if !meta.is_dir() || meta.uid() != uid || meta.mode() & 0o022 != 0 {
        return Err(format!(
            "{} is not a private directory of uid {uid} (owner {}, mode {:o})",
            dir.display(),
            meta.uid(),
            meta.mode() & 0o7777
        ));
    }
    Ok(())
}

/// The directory of the run founded by `pid` in `sockets` (a [`socket_dir`]).
pub fn run_dir(sockets: &Path, pid: u32) -> PathBuf {
    sockets.join(format!("run-{pid}"))
}

/// Lays out a fresh run directory at `path` for the run founded by `pid`, as user `uid`:
/// the state (with `pid` as its keeper until the keeper says otherwise), the crash model's
/// empty file, and the control template `ctl` if the run has sockets. A directory left there
/// by an earlier process with this pid is stale, and removed first.
pub fn lay_out(path: &Path, pid: u32, uid: u32, ctl: Option<&Path>) -> std::io::Result<()> {
    let _ = std::fs::remove_dir_all(path);
    std::fs::create_dir(path)?;
    // Sparse: the magic word and the keeper, then zeros the file system need not store.
    let mut header = MAGIC.to_le_bytes().to_vec();
    header.extend_from_slice(&pid.to_le_bytes());
    let mut state = std::fs::File::create(path.join("state"))?;
    state.write_all(&header)?;
    state.set_len(SIZE as u64)?;
    if let Some(t) = ctl {
        std::fs::write(path.join("ctl"), t.as_os_str().as_encoded_bytes())?;
    }
    let crash = path.join("crash");
    match memory_file(pid, uid) {
        Some(mem) => std::os::unix::fs::symlink(&mem, &crash)?,
        None => drop(std::fs::File::create(&crash)?),
    }
    Ok(())
}

/// A new empty file of `uid`'s in `/dev/shm` (tmpfs) for the run founded by `pid`, if the
/// system has one.
fn memory_file(pid: u32, uid: u32) -> Option<PathBuf> {
    let shm = Path::new("/dev/shm");
    if !shm.is_dir() {
        return None;
    }
    let path = shm.join(format!("failinject-{uid}-run-{pid}.crash"));
    let _ = std::fs::remove_file(&path);
    std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&path).ok()?;
    Some(path)
}

/// The control sockets' template of the run at `path`, when it has them.
pub fn ctl_template(path: &Path) -> Option<PathBuf> {
    std::fs::read(path.join("ctl"))
        .ok()
        .map(|b| PathBuf::from(String::from_utf8_lossy(&b).into_owned()))
}

/// The control socket of process `pid` under `template` (`%p` is the pid).
pub fn expand(template: &Path, pid: u32) -> PathBuf {
    PathBuf::from(template.to_string_lossy().replace("%p", &pid.to_string()))
}

/// Takes down the run directory at `path`: the crash model's memory file, the control
/// sockets of the members `gone` says are gone (a process killed by SIGKILL could not
/// remove its own), and the directory.
pub fn tear_down(path: &Path, gone: impl Fn(u32) -> bool) {
    if let Ok(target) = std::fs::read_link(path.join("crash")) {
        let _ = std::fs::remove_file(target);
    }
    if let Some(t) = ctl_template(path) {
        let bytes = std::fs::read(path.join("state")).unwrap_or_default();
        for m in crate::run_state::members(&bytes).unwrap_or_default() {
            if gone(m.pid) {
                let _ = std::fs::remove_file(expand(&t, m.pid));
            }
        }
    }
    let _ = std::fs::remove_dir_all(path);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_laid_out_run_is_found_and_taken_down_whole() {
        let base = std::env::temp_dir().join(format!("fi-run-files-{}", std::process::id()));
        let uid = std::fs::metadata(std::env::temp_dir()).map(|m| m.uid()).unwrap_or(0);
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir_all(&base).unwrap();
        let dir = run_dir(&base, 4_000_000);
        lay_out(&dir, 4_000_000, uid, Some(Path::new("/x/%p.sock"))).unwrap();
        let state = std::fs::read(dir.join("state")).unwrap();
        assert_eq!(state.len(), SIZE);
        assert_eq!(&state[8..12], &4_000_000u32.to_le_bytes());
        assert_eq!(ctl_template(&dir), Some(PathBuf::from("/x/%p.sock")));
        let crash = std::fs::read_link(dir.join("crash")).ok();
        tear_down(&dir, |_| true);
        assert!(!dir.exists());
        assert!(crash.is_none_or(|c| !c.exists()), "the memory file is removed");
        let _ = std::fs::remove_dir_all(&base);
    }

    #[test]
    fn the_socket_directory_prefers_the_runtime_directory() {
        let tmp = Path::new("/tmp");
        assert_eq!(socket_dir(None, tmp, 7), PathBuf::from("/tmp/failinject-7"));
        assert_eq!(socket_dir(Some(OsStr::new("")), tmp, 7), PathBuf::from("/tmp/failinject-7"));
        assert_eq!(
            socket_dir(Some(OsStr::new("/run/u")), tmp, 7),
            PathBuf::from("/run/u/failinject")
        );
    }
}
