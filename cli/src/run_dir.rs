//! The directory of one run, `FAILINJECT_RUN`: what the processes of a `failinject run`
//! share, and how `failinject ctl --run PID` finds them.
//!
//! It is `run-PID` in the private socket directory ([`socket_dir`]), PID being that of
//! `failinject run`, and holds:
//!
//! - `state`: the shared state every preload of the run maps (`failinject_engine::run_state`):
//!   who is a member, each member's counts, the `full` budgets;
//! - `ctl`: the control sockets' template, when the run has them (`--ctl`);
//! - `commands`: the rule changes sent with `ctl --run`, one a line, which a process that
//!   starts later applies after its environment's rules.
//!
//! `failinject run` removes it when the run ends, with the control sockets of its members.
#![forbid(unsafe_code)]

use crate::library::private_dir;
use anyhow::{Context as _, bail};
use failinject_engine::run_state::{self, Member};
use serde_json::Value;
use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// The directory of the per-run sockets: `$XDG_RUNTIME_DIR/failinject`, else
/// `$TMPDIR/failinject-UID`; private to the user.
pub fn socket_dir() -> anyhow::Result<PathBuf> {
    match std::env::var_os("XDG_RUNTIME_DIR").filter(|v| !v.is_empty()) {
        Some(run) => private_dir(&PathBuf::from(run).join("failinject")),
        None => private_dir(
            &std::env::temp_dir().join(format!("failinject-{}", nix::unistd::geteuid())),
        ),
    }
}

/// The socket template `run --ctl` uses when given no path: one socket per process.
pub fn default_template() -> anyhow::Result<PathBuf> {
    Ok(socket_dir()?.join("%p.sock"))
}

/// The template with `%p` replaced by `pid`.
pub fn expand(template: &Path, pid: u32) -> PathBuf {
    PathBuf::from(template.to_string_lossy().replace("%p", &pid.to_string()))
}

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
        let path = socket_dir()?.join(format!("run-{}", std::process::id()));
        // A directory left by an earlier process with this pid is stale.
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir(&path)
            .with_context(|| format!("cannot make the run directory {}", path.display()))?;
        let dir = RunDir { path, owned: true };
        // Sparse: the magic word, then zeros the file system need not store.
        let state = dir.path.join("state");
        let mut header = run_state::MAGIC.to_le_bytes().to_vec();
        header.extend_from_slice(&std::process::id().to_le_bytes());
        std::fs::File::create(&state)
            .and_then(|mut f| f.write_all(&header).map(|()| f))
            .and_then(|f| f.set_len(run_state::SIZE as u64))
            .with_context(|| format!("cannot write {}", state.display()))?;
        if let Some(t) = ctl {
            std::fs::write(dir.path.join("ctl"), t.as_os_str().as_encoded_bytes())?;
        }
        // The run's crash model, laid out by the first process that tracks writes. Its undo
        // arena takes a copy of every synced range the run overwrites: in memory (tmpfs)
        // where there is one, not in a file the kernel would write back to disk.
        let crash = dir.path.join("crash");
        match memory_file() {
            Some(mem) => std::os::unix::fs::symlink(&mem, &crash)?,
            None => drop(std::fs::File::create(&crash)?),
        }
        Ok(dir)
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
        std::fs::read(self.path.join("ctl"))
            .ok()
            .map(|b| PathBuf::from(String::from_utf8_lossy(&b).into_owned()))
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

/// A new empty file of ours in `/dev/shm` (tmpfs), if the system has one.
fn memory_file() -> Option<PathBuf> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let shm = Path::new("/dev/shm");
    if !shm.is_dir() {
        return None;
    }
    let path =
        shm.join(format!("failinject-{}-run-{}.crash", nix::unistd::geteuid(), std::process::id()));
    let _ = std::fs::remove_file(&path);
    std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&path).ok()?;
    Some(path)
}

impl Drop for RunDir {
    fn drop(&mut self) {
        if !self.owned {
            return;
        }
        // The crash model's file, when it lives in memory rather than in the directory.
        if let Ok(target) = std::fs::read_link(self.path.join("crash")) {
            let _ = std::fs::remove_file(target);
        }
        // The control sockets of the members: a process killed by SIGKILL could not remove
        // its own.
        if let Some(t) = self.ctl_template() {
            for m in self.members() {
                let sock = expand(&t, m.pid);
                if !of_run(m.pid, std::process::id()) {
                    let _ = std::fs::remove_file(sock);
                }
            }
        }
        let _ = std::fs::remove_dir_all(&self.path);
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
