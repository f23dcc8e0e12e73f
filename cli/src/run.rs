//! `failinject run`: run a command under `libfailinject.so` with the given rules.
#![forbid(unsafe_code)]

use crate::child::{self, Ended};
use crate::keeper::{Cut, Keeper};
use crate::rules::{RuleArgs, to_env};
use crate::run_dir::RunDir;
use crate::scratch::Scratch;
use crate::seccomp::{self, Backend};
use crate::summary::Summary;
use crate::{library, reach};
use anyhow::Context as _;
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

/// Arguments of `failinject run`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    rules: RuleArgs,
    /// Seed of every random choice (probabilities, errnos, short counts, corruption); drawn
    /// and printed when not given, so any run can be repeated.
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
    /// Keep the injection log (JSON Lines) at PATH; `%p` becomes each process's pid.
    #[arg(long, value_name = "PATH")]
    log: Option<PathBuf>,
    /// Serve a control socket in each process (`%p` becomes the pid). Without PATH, a
    /// private per-run path is chosen and printed; `failinject ctl PID` finds it.
    #[arg(long, value_name = "PATH")]
    #[allow(clippy::option_option)] // absent / present without a path / with a path
    ctl: Option<Option<PathBuf>>,
    /// Compare what the current directory holds when the run ends with the crash state
    /// `explore --crash` checked (the hash its finding gives), and say whether they are the
    /// same: a replay with `powercut(keep=ID)` is exact only if the program makes the same
    /// changes again.
    #[arg(long, value_name = "HASH")]
    expect_state: Option<String>,
    /// How faults reach the program: `preload` (libfailinject.so, in the process), `seccomp`
    /// (a seccomp filter: static binaries, Go programs, raw system calls), or `auto`: the
    /// preload for dynamically linked programs, seccomp for static and Go ones.
    #[arg(long, value_enum, default_value_t, value_name = "BACKEND")]
    backend: Backend,
    /// Under the seccomp backend with --ctl: the classes (or points) whose system calls the
    /// filter traps from the start, so that rules set over the control socket can act on
    /// them; a filter cannot change once installed.
    #[arg(long, value_name = "CLASSES", default_value = "@write|@sync|@meta")]
    trap: String,
    /// Under the seccomp backend, let `io_uring_setup` through (by default it fails with
    /// ENOSYS, so that programs fall back to calls the rules see).
    #[arg(long)]
    allow_io_uring: bool,
    /// Under the seccomp backend, let `io_setup` (Linux AIO) through (by default it fails
    /// with ENOSYS, as `io_uring_setup` does).
    #[arg(long)]
    allow_aio: bool,
    /// No summary at the end.
    #[arg(short, long)]
    quiet: bool,
    /// End as the command ended: killed by the same signal rather than exiting 128+N (what
    /// `explore` needs to tell a crash under the seccomp backend).
    #[arg(long, hide = true)]
    same_ending: bool,
    /// The command and its arguments.
    #[arg(required = true, last = true, value_name = "CMD")]
    command: Vec<OsString>,
}

pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    // The signals passed on to the command are blocked before any thread of ours starts (the
    // supervisor's, the keeper's, the control socket's), so that none of them takes one.
    child::block_forwarded()?;
    let rules = args.rules.load()?;
    let program = PathBuf::from(&args.command[0]);
    let resolved = reach::resolve(&program);
    // A Go program's in-code rules go to its gofail runtime, in gofail's form (`gofail.rs`);
    // one gofail cannot carry ends the run here, before anything starts (status 2).
    let gofail_env = std::env::var_os(crate::gofail::VAR);
    let gofail = crate::gofail::Plan::new(&rules, &program, gofail_env.as_deref())?;
    let Some(backend) = choose_backend(args, resolved.as_deref(), &rules, &gofail)? else {
        return Ok(ExitCode::from(2));
    };
    let lib = match backend {
        Chosen::Preload => Some(library::find()?),
        Chosen::Seccomp(..) => None,
    };
    let seed = args.seed.unwrap_or_else(random_seed);
    // The summary needs a log: a temporary one when the user keeps none. With `%p` in the
    // user's path there are several files; the summary reads each.
    let scratch = Scratch::new("run")?;
    let log = match &args.log {
        Some(path) => absolute(path)?,
        None => scratch.path().join("log.jsonl"),
    };
    let ctl_template = match &args.ctl {
        None => None,
        Some(None) => Some(crate::run_dir::default_template()?),
        Some(Some(p)) => Some(absolute(p)?),
    };

    if args.log.is_some() && !log.as_os_str().as_encoded_bytes().windows(2).any(|w| w == b"%p") {
        // One file for the whole run, as `strace -o` does: last run's lines must not count.
        std::fs::write(&log, "")
            .with_context(|| format!("cannot write the log {}", log.display()))?;
    }
    // File times are kept with a coarse clock: a margin keeps this run's files in.
    let started = std::time::SystemTime::now() - std::time::Duration::from_secs(1);

    // What the run's processes share: counts, budgets, rule changes (`run_dir.rs`). Without
    // it the run still runs, each process counting and spending for itself.
    // Under seccomp the supervisor keeps every count itself.
    let run_dir = match backend {
        Chosen::Preload => RunDir::create(ctl_template.as_deref())
            .map_err(|e| eprintln!("failinject: warning: {e:#}; processes count for themselves"))
            .ok(),
        Chosen::Seccomp(..) => None,
    };

    let mut cmd = Command::new(&args.command[0]);
    cmd.args(&args.command[1..]);
    cmd.env_remove("FAILINJECT_FILE");
    gofail.apply(&mut cmd, args.quiet);
    // Under seccomp the supervisor decides; the program gets no rules of its own.
    let (supervisor, mut child_end) = match &backend {
        Chosen::Seccomp(plan, abilities) => {
            for v in ["FAILINJECT", "FAILINJECT_SEED", "FAILINJECT_LOG", "FAILINJECT_RUN"] {
                cmd.env_remove(v);
            }
            let sup = seccomp::Supervisor::new(plan, seed, log.clone());
            let end = seccomp::prepare(&mut cmd, plan, *abilities, &sup)?;
            if let Some(t) = &ctl_template {
                let me = std::process::id();
                let path = crate::run_dir::expand(t, me);
                seccomp::control::serve(&path, &sup)?;
                eprintln!(
                    "failinject: control socket of the run (pid {me}, the seccomp backend): {} \
                     (try `failinject ctl {me} list`)",
                    path.display()
                );
            }
            (Some(sup), Some(end))
        }
        Chosen::Preload => (None, None),
    };
    // With `auto`, static programs started below a dynamic command are handed to a
    // supervisor at their exec (`seccomp/handover.rs`), when this machine allows it.
    let handover = match (&run_dir, &lib) {
        (Some(d), Some(_)) if args.backend == Backend::Auto => {
            let opts = seccomp::plan::Options {
                allow_io_uring: args.allow_io_uring,
                allow_aio: args.allow_aio,
                ..seccomp::plan::Options::default()
            };
            seccomp::handover::offer(d.path(), &rules, opts, seed, log.clone())
                .map_err(|e| {
                    eprintln!("failinject: warning: {e:#}; static programs below go unreached")
                })
                .ok()
                .flatten()
        }
        _ => None,
    };
    match &handover {
        Some(h) => cmd.env("FAILINJECT_SECCOMP", &h.env),
        None => cmd.env_remove("FAILINJECT_SECCOMP"),
    };
    if let Some(lib) = &lib {
        cmd.env("LD_PRELOAD", preload_list(lib, std::env::var_os("LD_PRELOAD").as_deref())?);
        cmd.env("FAILINJECT", to_env(&rules));
        cmd.env("FAILINJECT_SEED", seed.to_string());
        cmd.env("FAILINJECT_LOG", &log);
        match &run_dir {
            Some(d) => cmd.env("FAILINJECT_RUN", d.path()),
            None => cmd.env_remove("FAILINJECT_RUN"),
        };
        match &ctl_template {
            Some(t) => cmd.env("FAILINJECT_CTL", t),
            None => cmd.env_remove("FAILINJECT_CTL"),
        };
    }

    // Orphans of the run (a daemon's double fork) are re-parented to us, not to init, so that
    // the summary can name what was left running.
    let _ = nix::sys::prctl::set_child_subreaper(true);
    // A power cut of the whole run: carried out by the keeper (`keeper.rs`), whose threads
    // start after the forwarded signals are blocked, so that they never take one.
    let keeper = match (&run_dir, &lib) {
        (Some(d), Some(lib)) => Keeper::start(d, lib)
            .map_err(|e| eprintln!("failinject: warning: {e:#}; a power cut stays in its process"))
            .ok(),
        _ => None,
    };
    let mut top_pid = None;
    let ended = child::run(cmd, |pid| {
        top_pid = Some(i64::from(pid));
        // The child has its listener (or failed): our copy of its socket end goes.
        drop(child_end.take());
        if keeper.is_some() {
            crate::keeper::raise_descriptor_limit();
        }
        if let Some(t) = ctl_template.as_ref().filter(|_| lib.is_some()) {
            let path = crate::run_dir::expand(t, pid);
            eprintln!(
                "failinject: control socket of pid {pid}: {} (try `failinject ctl {pid} list`)",
                path.display()
            );
        }
    })?;
    if let Ended::NotStarted { reason, .. } = &ended {
        eprintln!("failinject: {reason}");
    }
    // A power cut ends the run: every process is killed, then every file is rolled back.
    let cut = keeper.as_ref().and_then(Keeper::finish);
    if let Some(Cut::Incomplete(why)) = &cut {
        eprintln!("failinject: warning: power cut: {why}");
    }
    reap_adopted();
    if let Some(h) = &handover {
        h.supervisor.finish();
    }
    if let Some(sup) = &supervisor {
        if let Some(t) = &ctl_template {
            let _ = std::fs::remove_file(crate::run_dir::expand(t, std::process::id()));
        }
        sup.finish();
        if let Some(Err(why)) = sup.power_cut() {
            eprintln!("failinject: warning: power cut: {why}");
        }
    }
    if let Some(want) = &args.expect_state {
        let here = std::env::current_dir()?;
        let made = crate::dir_tree::hash(&here)
            .with_context(|| format!("cannot read {} to compare it", here.display()))?;
        let made = format!("{made:016x}");
        if made == *want {
            eprintln!(
                "failinject: the state left here is the crash state explore checked ({want})"
            );
        } else {
            eprintln!(
                "failinject: the state left here ({made}) is not the crash state explore checked \
                 ({want}): the program did not make the same changes as in the recording"
            );
        }
    }
    if !args.quiet && matches!(ended, Ended::Ran(_)) {
        let mut given: Vec<(String, String)> =
            rules.iter().map(|r| (r.key(), r.to_string())).collect();
        // Rules set over the seccomp backend's control socket, with their text.
        for (key, text) in supervisor.iter().flat_map(|s| s.rules_now()) {
            if !given.iter().any(|(k, _)| *k == key) {
                given.push((key, text));
            }
        }
        let mut text = read_logs(&log, started)?;
        // Processes that left no exit record (SIGKILL): their counts from the shared state.
        if let Some(d) = &run_dir {
            text.push_str(&d.missing_exits(&keys_of_run(&given, &text, &d.commands())));
        }
        let mut summary = Summary::read(&text, &given);
        if let Some(d) = &run_dir {
            summary.lingering = crate::run_dir::lingering(d);
        }
        summary.clues.program = Some(program.clone());
        summary.clues.seccomp = supervisor.is_some();
        summary.clues.turned_away =
            supervisor.as_ref().map(|s| s.stats.turned_away()).unwrap_or_default();
        summary.power_cut =
            cut.is_some() || supervisor.as_ref().is_some_and(|s| s.power_cut().is_some());
        summary.hits_unknown = gofail.hits_unknown(); // gofail.rs: no counter to read
        let ending = match &ended {
            Ended::Ran(status) => summary.ending(child::ending(status), top_pid),
            Ended::NotStarted { .. } => None,
        };
        eprint!("{}", summary.render(seed, ending.as_deref()));
        if let Some(sup) = &supervisor {
            eprint!("{}", sup.stats.render());
        }
        if let Some(h) = handover.as_ref().filter(|h| h.supervisor.handed_any()) {
            eprint!("{}", h.supervisor.stats.render());
            for why in &h.left_out {
                eprintln!(
                    "failinject: in the static programs handed to the seccomp backend, this rule \
                     is not carried out: {why}"
                );
            }
        }
    }
    if args.same_ending
        && let Ended::Ran(status) = &ended
    {
        child::end_like(status);
    }
    Ok(ExitCode::from(ended.code()))
}

/// The backend a run uses, with what it needs.
enum Chosen {
    Preload,
    Seccomp(seccomp::plan::Plan, seccomp::Abilities),
}

/// Picks the backend (`auto`: by the program), checks that this machine allows it and that
/// it can carry out the rules. `None` when the run must not start (exit status 2): the
/// reason has been printed.
fn choose_backend(
    args: &Args,
    program: Option<&Path>,
    rules: &[failinject_engine::Rule],
    gofail: &crate::gofail::Plan,
) -> anyhow::Result<Option<Chosen>> {
    let why_seccomp = program.and_then(seccomp::wants_seccomp);
    let want = match args.backend {
        Backend::Auto if why_seccomp.is_some() => Backend::Seccomp,
        Backend::Auto => Backend::Preload,
        b => b,
    };
    if want == Backend::Preload {
        if let Some(path) = program {
            preload_reach_warnings(path);
        }
        return Ok(Some(Chosen::Preload));
    }
    let abilities = match seccomp::probe() {
        Ok(a) => a,
        Err(denied) if args.backend == Backend::Seccomp => {
            eprintln!("failinject: --backend seccomp cannot run here: {denied}");
            return Ok(None);
        }
        Err(denied) => {
            eprintln!("failinject: warning: {denied}; using the preload backend instead");
            if let Some(path) = program {
                preload_reach_warnings(path);
            }
            return Ok(Some(Chosen::Preload));
        }
    };
    // With a control socket, the calls later rules may need are trapped from the start.
    let trap = match &args.ctl {
        None => None,
        Some(_) => match failinject_engine::parse_rule(&format!("sys:{}=off", args.trap)) {
            Ok(r) => match r.points {
                failinject_engine::Points::Sys(s) => Some(s.set),
                failinject_engine::Points::Code(_) => None,
            },
            Err(e) => {
                eprintln!("failinject: --trap {}: {e}", args.trap);
                return Ok(None);
            }
        },
    };
    let opts = seccomp::plan::Options {
        allow_io_uring: args.allow_io_uring,
        allow_aio: args.allow_aio,
        killable: abilities.killable,
        code_elsewhere: gofail.value.is_some(),
        trap,
        // explore's crash search records every change (`seccomp/changes.rs`).
        record_changes: std::env::var_os("FAILINJECT_CHANGES").map(PathBuf::from),
    };
    match seccomp::plan::plan(rules, opts) {
        Ok(plan) => {
            if !args.quiet
                && let Some(why) = why_seccomp.filter(|_| args.backend == Backend::Auto)
            {
                eprintln!("failinject: backend seccomp: {why}");
            }
            Ok(Some(Chosen::Seccomp(plan, abilities)))
        }
        Err(refused) => {
            for r in refused {
                eprintln!("failinject: the seccomp backend cannot carry out {r}");
            }
            Ok(None)
        }
    }
}

/// `run`'s warnings for a program the preload cannot reach (or reaches only in part).
fn preload_reach_warnings(path: &Path) {
    if let Some(why) = reach::unreachable_reason(path) {
        eprintln!(
            "failinject: warning: {} cannot be reached: {why}; no fault will be injected into \
             it (try --backend seccomp)",
            path.display()
        );
    } else if reach::is_go(path) {
        eprintln!(
            "failinject: warning: {} is a Go program: its runtime makes system calls itself, \
             so only the calls of its C code can be failed (try --backend seccomp)",
            path.display()
        );
    }
}

/// Reaps the orphans of the run that were adopted (as the child subreaper) and have ended,
/// so that none is left a zombie.
fn reap_adopted() {
    use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
    while let Ok(status) = waitpid(None, Some(WaitPidFlag::WNOHANG)) {
        if status == WaitStatus::StillAlive {
            break;
        }
    }
}

/// Every rule key the run may have used: the command line's, those of the rules sent with
/// `ctl --run`, and those its log names.
fn keys_of_run(given: &[(String, String)], log: &str, commands: &str) -> Vec<String> {
    let mut keys: Vec<String> = given.iter().map(|(k, _)| k.clone()).collect();
    for line in commands.lines() {
        if let Ok(failinject_engine::control::Command::Set(rules)) =
            failinject_engine::control::parse_command(line)
        {
            keys.extend(rules.iter().map(|r| r.key()));
        }
    }
    for line in log.lines() {
        let Ok(serde_json::Value::Object(r)) = serde_json::from_str(line) else { continue };
        keys.extend(["rule", "key"].iter().filter_map(|f| r.get(*f)?.as_str().map(String::from)));
        let rules = r.get("rules").and_then(serde_json::Value::as_array);
        keys.extend(
            rules.into_iter().flatten().filter_map(|x| Some(x.get("key")?.as_str()?.into())),
        );
    }
    keys.sort();
    keys.dedup();
    keys
}

/// `LD_PRELOAD` with our library first; the loader splits the list at spaces and colons, so
/// a path holding either cannot be passed.
pub(crate) fn preload_list(lib: &Path, existing: Option<&OsStr>) -> anyhow::Result<OsString> {
    let bytes = lib.as_os_str().as_encoded_bytes();
    if bytes.iter().any(|b| matches!(b, b' ' | b':' | b'\t')) {
        anyhow::bail!(
            "the library path {} holds a space or colon, which LD_PRELOAD cannot carry; \
             set FAILINJECT_LIB to a copy at a plainer path",
            lib.display()
        );
    }
    let mut list = lib.as_os_str().to_owned();
    if let Some(rest) = existing.filter(|r| !r.is_empty()) {
        list.push(":");
        list.push(rest);
    }
    Ok(list)
}

fn absolute(p: &Path) -> anyhow::Result<PathBuf> {
    std::path::absolute(p).with_context(|| format!("cannot make {} absolute", p.display()))
}

/// Every log the run wrote: the one file, or with `%p` every file the template can name that
/// was written since the run started.
fn read_logs(template: &Path, since: std::time::SystemTime) -> anyhow::Result<String> {
    let name = template.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let Some((before, after)) = name.split_once("%p") else {
        return Ok(std::fs::read_to_string(template).unwrap_or_default());
    };
    let dir = template.parent().unwrap_or(Path::new("."));
    let mut text = String::new();
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))?;
    for entry in entries.flatten() {
        let n = entry.file_name().to_string_lossy().into_owned();
        let pid = n.strip_prefix(before).and_then(|r| r.strip_suffix(after));
        let fresh = entry.metadata().and_then(|m| m.modified()).is_ok_and(|t| t >= since);
        if fresh && pid.is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())) {
            text.push_str(&std::fs::read_to_string(entry.path()).unwrap_or_default());
        }
    }
    Ok(text)
}

pub(crate) fn random_seed() -> u64 {
    use std::hash::{BuildHasher as _, RandomState};
    // RandomState is seeded from the OS's random source; one hash of the time spreads it.
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    RandomState::new().hash_one(t.as_nanos()) >> 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_library_goes_first_in_ld_preload() {
        let lib = Path::new("/x/libfailinject.so");
        assert_eq!(preload_list(lib, None).unwrap(), "/x/libfailinject.so");
        assert_eq!(preload_list(lib, Some(OsStr::new(""))).unwrap(), "/x/libfailinject.so");
        assert_eq!(
            preload_list(lib, Some(OsStr::new("/y/libz.so"))).unwrap(),
            "/x/libfailinject.so:/y/libz.so"
        );
        assert!(preload_list(Path::new("/my libs/libfailinject.so"), None).is_err());
    }
}
