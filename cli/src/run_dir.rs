//! The directory of one run, `FAILINJECT_RUN`: what the processes of a `failinject run`
//! share, and how `failinject ctl --run PID` finds them.
//!
//! It is `run-PID` in the private socket directory ([`socket_dir`]), PID being that of
//! `failinject run` (or of the first process of a bare `LD_PRELOAD` tree that founded a run),
//! laid out as `failinject_engine::run_files` says: the shared state, the crash model, the
//! keeper's socket, the control template, and `commands`, the rule changes sent with
//! `ctl --run`, which a process that starts later applies after its environment's rules.
//!
//! `failinject run` removes it when the run ends, with the control sockets of its members.
#![forbid(unsafe_code)]

use crate::library::private_dir;
use anyhow::{Context as _, bail};
use failinject_engine::run_files;
use failinject_engine::run_state::{self, Member};
use serde_json::Value;
use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// The directory of the per-run sockets: `$XDG_RUNTIME_DIR/failinject`, else
/// `$TMPDIR/failinject-UID`; private to the user (`failinject_engine::run_files`).
pub fn socket_dir() -> anyhow::Result<PathBuf> {
    let uid = nix::unistd::geteuid().as_raw();
    let xdg = std::env::var_os("XDG_RUNTIME_DIR");
    private_dir(&run_files::socket_dir(xdg.as_deref(), &std::env::temp_dir(), uid))
}

/// The socket template `run --ctl` uses when given no path: one socket per process.
pub fn default_template() -> anyhow::Result<PathBuf> {
    Ok(socket_dir()?.join("%p.sock"))
}

/// The template with `%p` replaced by `pid`.
pub use run_files::expand;

/// A run's directory.
pub struct RunDir {
    path: PathBuf,
    /// Whether this process made it (and removes it when dropped).
    owned: bool,
}

impl RunDir {
    /// Makes the directory of the run this process starts, with a fresh state and the
    /// control template `ctl` if the run has sockets.
    pub fn create(ctl: Option<&Path>) -> anyhow::Result<RunDir> {
        let pid = std::process::id();
        let path = run_files::run_dir(&socket_dir()?, pid);
        let uid = nix::unistd::geteuid().as_raw();
        run_files::lay_out(&path, pid, uid, ctl)
            .with_context(|| format!("cannot make the run directory {}", path.display()))?;
        Ok(RunDir { path, owned: true })
    }

    /// The directory of the run `failinject run` started as `pid`.
    pub fn of(pid: u32) -> anyhow::Result<RunDir> {
        let path = socket_dir()?.join(format!("run-{pid}"));
        if !path.join("state").is_file() {
            bail!(
                "pid {pid} is not a failinject run: there is no {} (give the pid of a running \
                 `failinject run`, or use `failinject ctl PID` for one process)",
                path.display()
            );
        }
        Ok(RunDir { path, owned: false })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The members of the run, in the order they joined.
    pub fn members(&self) -> Vec<Member> {
        let bytes = std::fs::read(self.path.join("state")).unwrap_or_default();
        run_state::members(&bytes).unwrap_or_default()
    }

    /// The control sockets' template, when the run has them.
    pub fn ctl_template(&self) -> Option<PathBuf> {
        run_files::ctl_template(&self.path)
    }

    /// Keeps `command` for the processes that start later.
    pub fn keep_command(&self, command: &str) -> anyhow::Result<()> {
        let path = self.path.join("commands");
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .with_context(|| format!("cannot write {}", path.display()))?;
        f.write_all(format!("{command}\n").as_bytes())?;
        Ok(())
    }

    /// The rule changes kept for later processes.
    pub fn commands(&self) -> String {
        std::fs::read_to_string(self.path.join("commands")).unwrap_or_default()
    }

    /// `exit` records, one per member whose program ended and left none (killed by SIGKILL,
    /// by a power cut), with the counts its shared slot holds, so that the summary's counts are
    /// exact. `keys` names the rules: every key the run may have used.
    pub fn missing_exits(&self, keys: &[String]) -> String {
        let by_hash: HashMap<u64, &str> =
            keys.iter().map(|k| (failinject_engine::name_hash(k.as_bytes()), k.as_str())).collect();
        let mut out = String::new();
        // A member still alive is not dead without a record: it is still running
        // (`lingering`).
        let me = std::process::id();
        for m in self.members().into_iter().filter(|m| !m.ended && !of_run(m.pid, me)) {
            let rules: Vec<Value> = m
                .counts
                .iter()
                .filter_map(|(hash, matches, injections)| {
                    let key = by_hash.get(hash)?;
                    Some(serde_json::json!({
                        "key": key, "matches": matches, "injections": injections
                    }))
                })
                .collect();
            let record = serde_json::json!({
                "type": "exit", "pid": m.pid, "reason": "killed", "rules": rules
            });
            out.push_str(&record.to_string());
            out.push('\n');
        }
        out
    }
}

impl Drop for RunDir {
    fn drop(&mut self) {
        if self.owned {
            let me = std::process::id();
            run_files::tear_down(&self.path, |pid| !of_run(pid, me));
        }
    }
}

/// The processes of the run still running after its command ended, as `PID (TITLE)`: the
/// members that have not ended, and the orphans `failinject run` adopted as the child
/// subreaper (a daemon that double-forked, one that cleared its environment and so left the
/// preload behind).
pub fn lingering(dir: &RunDir) -> Vec<String> {
    let mut pids: Vec<u32> = dir.members().iter().filter(|m| !m.ended).map(|m| m.pid).collect();
    for task in std::fs::read_dir("/proc/self/task").into_iter().flatten().flatten() {
        let children = std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
        pids.extend(children.split_whitespace().filter_map(|p| p.parse::<u32>().ok()));
    }
    pids.sort_unstable();
    pids.dedup();
    let me = std::process::id();
    pids.into_iter().filter(|p| of_run(*p, me)).map(|p| format!("{p} ({})", title(p))).collect()
}

/// Whether process `pid` still exists (a zombie does not count).
pub fn alive(pid: u32) -> bool {
    proc_stat(pid).is_some_and(|(state, _)| state != 'Z')
}

/// Whether process `pid` is alive and descends from `root` (the run's `failinject run`, the
/// child subreaper of all its processes). A member's pid, once it has ended, may be reused by
/// an unrelated process: that one is not of the run, and must never be signalled or counted.
pub fn of_run(pid: u32, root: u32) -> bool {
    if !alive(pid) {
        return false;
    }
    // The founder of a bare LD_PRELOAD run is one of its members (`failinject run` never is).
    if pid == root {
        return true;
    }
    let mut p = pid;
    for _ in 0..256 {
        match proc_stat(p) {
            Some((_, parent)) if parent == root => return true,
            Some((_, parent)) if parent > 1 => p = parent,
            _ => return false,
        }
    }
    false
}

/// The state letter and the parent's pid of process `pid`, from `/proc/PID/stat`
/// ("PID (comm) S PPID …": the fields follow the last `)`, as the name may hold anything).
pub fn proc_stat(pid: u32) -> Option<(char, u32)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(") ")?;
    let mut fields = rest.split(' ');
    let state = fields.next()?.chars().next()?;
    Some((state, fields.next()?.parse().ok()?))
}

/// The title of process `pid` (its command line, as it shows it now), or `?`.
pub fn title(pid: u32) -> String {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let words: Vec<String> = raw
        .split(|b| *b == 0)
        .filter(|w| !w.is_empty())
        .map(|w| String::from_utf8_lossy(w).trim().to_string())
        .collect();
    if words.is_empty() { "?".into() } else { words.join(" ") }
}
