//! One run of the command: a fresh directory (a copy of `--copy`, then `--setup`), the
//! command under the preload with the run's rules, a timeout (SIGTERM, then SIGKILL to its
//! whole process group), then `--oracle`.
#![forbid(unsafe_code)]

use super::classify::Ending;
use crate::scratch::Scratch;
use anyhow::{Context as _, bail};
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use std::ffi::OsString;
use std::os::unix::process::{CommandExt as _, ExitStatusExt as _};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// What every run shares.
#[derive(Debug, Clone)]
pub struct Setup {
    /// The command; its program made absolute when given as a path.
    pub command: Vec<OsString>,
    /// `--setup`, run with `sh -c` in the fresh directory first.
    pub setup: Option<String>,
    /// `--copy`: the directory each run starts as a copy of.
    pub copy: Option<PathBuf>,
    /// `--oracle`, run with `sh -c` in the directory afterwards.
    pub oracle: Option<String>,
    /// `--timeout`, for the command and for the oracle.
    pub timeout: Duration,
    /// The preload library; `None` under the seccomp backend (each run is then
    /// `failinject run --backend seccomp`, our own binary as the supervisor).
    pub lib: Option<PathBuf>,
    /// The seed every run uses.
    pub seed: u64,
}

/// What a run did.
#[derive(Debug)]
pub struct Output {
    /// How the command ended.
    pub ending: Ending,
    /// The end of its standard error.
    pub stderr: String,
    /// `Some(passed)` when an oracle ran, and what it printed.
    pub oracle: Option<(bool, String)>,
    /// The injection log.
    pub log: String,
}

/// How much of a program's standard error a report keeps.
const TAIL: usize = 2000;

/// Runs the command once with `rules` (`;`-separated, possibly empty).
pub fn execute(setup: &Setup, rules: &str) -> anyhow::Result<Output> {
    execute_with(setup, rules, &[])
}

/// [`execute`] with more environment for the preload (`FAILINJECT_TRACE_CODE`).
pub fn execute_with(setup: &Setup, rules: &str, env: &[(&str, &str)]) -> anyhow::Result<Output> {
    execute_seeing(setup, rules, env, &mut |_| Ok(()))
}

/// [`execute_with`], calling `before` with the run's directory once `--setup` made it and
/// before the command starts (the crash search copies it there).
pub fn execute_seeing(
    setup: &Setup,
    rules: &str,
    env: &[(&str, &str)],
    before: &mut dyn FnMut(&std::path::Path) -> anyhow::Result<()>,
) -> anyhow::Result<Output> {
    let scratch = Scratch::new("explore")?;
    let work = scratch.path().join("work");
    std::fs::create_dir(&work)?;
    if let Some(copy) = &setup.copy {
        let status = Command::new("cp")
            .arg("-a")
            .arg(copy.join("."))
            .arg(&work)
            .status()
            .context("cannot run cp for --copy")?;
        if !status.success() {
            bail!("cannot copy {} for a run ({status})", copy.display());
        }
    }
    if let Some(cmd) = &setup.setup {
        let (status, out) = shell(cmd, &work, setup.timeout, &scratch.path().join("setup.out"))?;
        if !matches!(status, Ending::Exited(0)) {
            bail!("--setup `{cmd}` failed ({}): {}", describe(&status), out.trim());
        }
    }

    before(&work)?;
    let log = scratch.path().join("log.jsonl");
    let stderr_path = scratch.path().join("stderr");
    let mut cmd = match &setup.lib {
        Some(lib) => {
            let mut cmd = Command::new(&setup.command[0]);
            cmd.args(&setup.command[1..])
                .env(
                    "LD_PRELOAD",
                    crate::run::preload_list(lib, std::env::var_os("LD_PRELOAD").as_deref())?,
                )
                .env("FAILINJECT", rules)
                .env("FAILINJECT_SEED", setup.seed.to_string())
                .env("FAILINJECT_LOG", &log);
            cmd
        }
        None => {
            let mut cmd = Command::new(std::env::current_exe()?);
            cmd.args(["run", "-q", "--same-ending", "--backend", "seccomp", "--seed"])
                .arg(setup.seed.to_string())
                .arg("--log")
                .arg(&log);
            if !rules.is_empty() {
                cmd.arg("-r").arg(rules);
            }
            cmd.arg("--").args(&setup.command).env_remove("FAILINJECT");
            cmd
        }
    };
    cmd.current_dir(&work)
        .envs(env.iter().copied())
        .env_remove("FAILINJECT_FILE")
        .env_remove("FAILINJECT_CTL")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&stderr_path)?)
        .process_group(0);
    let child = cmd
        .spawn()
        .with_context(|| format!("cannot start {}", setup.command[0].to_string_lossy()))?;
    let ending = wait(child, setup.timeout)?;

    let oracle = match (&setup.oracle, &ending) {
        (Some(cmd), e) if *e != Ending::TimedOut => {
            let (status, out) =
                shell(cmd, &work, setup.timeout, &scratch.path().join("oracle.out"))?;
            Some((status == Ending::Exited(0), out))
        }
        _ => None,
    };
    let mut log = std::fs::read_to_string(&log).unwrap_or_default();
    if setup.lib.is_none() {
        log = sites_by_run_path(&log);
    }
    Ok(Output {
        ending,
        stderr: tail(&std::fs::read(&stderr_path).unwrap_or_default()),
        oracle,
        log,
    })
}

/// A path inside a run's own directory, named from it: a file of the command's fresh
/// directory relative to it (`data.db`, `.` for the directory itself), another file of the
/// run's (its captured `stderr`) as `../stderr`. Other paths are returned as they are.
pub fn relative_to_run(path: &str) -> std::borrow::Cow<'_, str> {
    let Some(i) = path.find("/failinject-explore-") else { return path.into() };
    let Some(j) = path[i + 1..].find('/') else { return path.into() };
    let rest = &path[i + 1 + j + 1..];
    match rest.strip_prefix("work") {
        Some("" | "/") => ".".into(),
        Some(r) if r.starts_with('/') => r[1..].into(),
        _ => format!("../{rest}").into(),
    }
}

/// The `path=` glob that matches, in any run, the file [`relative_to_run`] named.
pub fn glob_in_any_run(relative: &str) -> String {
    match relative.strip_prefix("../") {
        Some(rest) => format!("*/failinject-explore-*/{rest}"),
        None if relative == "." => "*/failinject-explore-*/work".to_string(),
        None if relative.starts_with('/') => relative.to_string(),
        None => format!("*/{relative}"),
    }
}

/// Under the seccomp backend a call site is the call and the file it acts on (no return
/// addresses out there), and the supervisor names it by the file's absolute path. Each run
/// has a directory of its own, so the log's sites are named again here by the path from the
/// run's directory: the same file is the same site in every run.
fn sites_by_run_path(log: &str) -> String {
    let mut out = String::with_capacity(log.len());
    for line in log.lines() {
        let rekeyed = serde_json::from_str::<serde_json::Value>(line).ok().and_then(|mut r| {
            let point = r.get("point")?.as_str()?;
            let path = r.get("path").and_then(serde_json::Value::as_str).unwrap_or_default();
            r.get("site")?;
            r["site"] = crate::seccomp::site_of(point, relative_to_run(path).as_bytes()).into();
            Some(r.to_string())
        });
        out.push_str(rekeyed.as_deref().unwrap_or(line));
        out.push('\n');
    }
    out
}

/// `--oracle` in `dir` (a crash state laid out there): whether it passed, and what it printed.
pub fn oracle_in(setup: &Setup, dir: &std::path::Path) -> anyhow::Result<(bool, String)> {
    let Some(cmd) = &setup.oracle else { bail!("no --oracle to judge a crash state") };
    let out = dir.with_extension("oracle.out");
    let (status, text) = shell(cmd, dir, setup.timeout, &out)?;
    let _ = std::fs::remove_file(&out);
    Ok((status == Ending::Exited(0), text))
}

/// `sh -c cmd` in `dir`, without the preload, its output kept in `out`.
fn shell(
    cmd: &str,
    dir: &std::path::Path,
    timeout: Duration,
    out: &std::path::Path,
) -> anyhow::Result<(Ending, String)> {
    let file = std::fs::File::create(out)?;
    let child = Command::new("sh")
        .args(["-c", cmd])
        .current_dir(dir)
        .env_remove("LD_PRELOAD")
        .stdin(Stdio::null())
        .stdout(file.try_clone()?)
        .stderr(file)
        .process_group(0)
        .spawn()
        .context("cannot run sh")?;
    let ending = wait(child, timeout)?;
    Ok((ending, tail(&std::fs::read(out).unwrap_or_default())))
}

/// Waits for `child` up to `timeout`; past it, SIGTERM to its process group, then SIGKILL
/// after two seconds. Whatever the group left running is killed once the child is done.
fn wait(mut child: Child, timeout: Duration) -> anyhow::Result<Ending> {
    let group = Pid::from_raw(child.id() as i32);
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_micros(200);
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break Some(status);
        }
        if Instant::now() >= deadline {
            break None;
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(20));
    };
    let ending = match status {
        Some(s) => ending_of(s),
        None => {
            let _ = killpg(group, Signal::SIGTERM);
            let grace = Instant::now() + Duration::from_secs(2);
            while child.try_wait()?.is_none() && Instant::now() < grace {
                std::thread::sleep(Duration::from_millis(10));
            }
            let _ = killpg(group, Signal::SIGKILL);
            child.wait()?;
            Ending::TimedOut
        }
    };
    let _ = killpg(group, Signal::SIGKILL);
    Ok(ending)
}

fn ending_of(s: ExitStatus) -> Ending {
    match (s.code(), s.signal()) {
        (Some(c), _) => Ending::Exited(c),
        (None, Some(sig)) => Ending::Signaled(sig),
        (None, None) => Ending::Exited(-1),
    }
}

/// `exit 1`, `signal 11 (SIGSEGV)`, `timeout`.
pub fn describe(e: &Ending) -> String {
    match e {
        Ending::Exited(c) => format!("exit {c}"),
        Ending::Signaled(s) => match Signal::try_from(*s) {
            Ok(sig) => format!("signal {s} ({})", sig.as_str()),
            Err(_) => format!("signal {s}"),
        },
        Ending::TimedOut => "timeout".into(),
    }
}

fn tail(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let start = text.len().saturating_sub(TAIL);
    let start = (start..text.len()).find(|&i| text.is_char_boundary(i)).unwrap_or(text.len());
    text[start..].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_of_a_run_are_named_from_its_directory_and_matched_in_any_run() {
        let run = "/tmp/failinject-explore-7-3";
        for (path, named, glob) in [
            ("/tmp/failinject-explore-7-3/work/data.db", "data.db", "*/data.db"),
            ("/tmp/failinject-explore-7-3/work", ".", "*/failinject-explore-*/work"),
            ("/tmp/failinject-explore-7-3/stderr", "../stderr", "*/failinject-explore-*/stderr"),
            ("/etc/hosts", "/etc/hosts", "/etc/hosts"),
        ] {
            assert_eq!(relative_to_run(path), named, "{run}");
            assert_eq!(glob_in_any_run(named), glob);
        }
        // The same file in two runs is one site; another file is another.
        let rec = |dir: &str, file: &str| {
            format!(
                r#"{{"type":"inject","point":"sys:write","path":"{dir}/work/{file}","site":"x"}}"#
            )
        };
        let sites: Vec<String> =
            [rec(run, "a"), rec("/tmp/failinject-explore-7-4", "a"), rec(run, "b")]
                .iter()
                .map(|l| {
                    let v: serde_json::Value =
                        serde_json::from_str(sites_by_run_path(l).trim()).unwrap();
                    v["site"].as_str().unwrap().to_string()
                })
                .collect();
        assert_eq!(sites[0], sites[1]);
        assert_ne!(sites[0], sites[2]);
    }
}
