//! A bare `LD_PRELOAD` tree is one run too: without `failinject run`, the first process whose
//! rules need a run (write tracking for `powercut`/`lose`, or a `full` budget) founds one,
//! and every process below it, forked or exec'd, joins it through `FAILINJECT_RUN`, which it
//! inherits (SPEC §3.2: the process tree that inherited the environment is the run).
//!
//! The founder lays out the run's directory as `failinject run` does
//! (`failinject_engine::run_files`: `run-PID` in the private socket directory, so that
//! `failinject ctl --run PID` reaches the tree by the founder's pid) and forks the run's
//! keeper (`sys/keeper_serve.rs`), which holds the crash model's handles on files. A power cut
//! in any process is the whole run's: the keeper kills every member with SIGKILL, waits until
//! all are gone, rolls every file back from the shared model, takes the directory down and
//! exits. Without a cut, it does the same once the last member is gone, rolling nothing back.
//!
//! `FAILINJECT_RUN=none` keeps the old behaviour: every process tracks and spends for itself.
#![forbid(unsafe_code)]

use crate::sys::keeper_serve::{self, Request};
use crate::sys::{env, kfile, raw};
use failinject_engine::{Registry, Task, run_files};
use std::os::unix::ffi::OsStrExt as _;
use std::path::PathBuf;
use std::sync::OnceLock;

/// The run's directory and founder, for the keeper (a copy of the founder, made just after
/// they are set).
static DIR: OnceLock<(PathBuf, u32)> = OnceLock::new();

/// Whether `registry`'s rules need a run: write tracking (one crash model for the whole
/// tree) or a `full` budget (one disk).
pub fn wanted(registry: &Registry) -> bool {
    registry.needs_tracking()
        || registry.rules().any(|r| r.chain.iter().any(|a| matches!(a.task, Task::Full(_))))
}

/// Founds the run of this process's tree: its directory, its keeper, and `FAILINJECT_RUN`
/// naming it. The directory, or why there is none. Our constructor, before `main`.
pub fn found() -> Result<PathBuf, String> {
    let uid = raw::euid();
    let xdg = std::env::var_os("XDG_RUNTIME_DIR");
    let sockets = run_files::socket_dir(xdg.as_deref(), &std::env::temp_dir(), uid);
    run_files::private_dir(&sockets, uid)?;
    let pid = raw::pid();
    let dir = run_files::run_dir(&sockets, pid);
    let ctl = std::env::var_os("FAILINJECT_CTL").map(PathBuf::from);
    run_files::lay_out(&dir, pid, uid, ctl.as_deref())
        .map_err(|e| format!("cannot make the run directory {}: {e}", dir.display()))?;
    let started = keeper_serve::listen(&dir.join("keeper")).and_then(|listener| {
        let _ = DIR.set((dir.clone(), pid));
        let keeper = keeper_serve::spawn(&dir.join("state"), listener, serve);
        kfile::close(listener);
        keeper
    });
    if let Err(m) = started {
        run_files::tear_down(&dir, |_| true);
        return Err(m);
    }
    env::set_run(&dir);
    Ok(dir)
}

/// The keeper's life, in a process of its own (`keeper_serve::spawn`).
fn serve(listener: libc::c_int) -> ! {
    let (dir, founder) = DIR.get().cloned().unwrap_or_default();
    // It joins nothing: it maps the run's state, to watch its members, and finds the crash
    // model, to restore it.
    let _ = crate::run::open(dir.as_os_str().as_bytes());
    let mut server = keeper_serve::Server::new(listener);
    // Ten seconds for the founder to join (it does so just after the fork).
    let mut ticks = 0u32;
    loop {
        match server.next(100) {
            Request::Cut { dirs } => {
                // The founder's parent (a shell, a test) sees the run end when the founder
                // does: it is stopped first, and killed only once the files are restored.
                let founder = crate::run::members().find(|m| m.0 == founder).filter(|m| alive(*m));
                if let Some((pid, _)) = founder {
                    keeper_serve::stop(pid);
                }
                end_members(founder.map(|m| m.0));
                crate::crash::restore_run(dirs);
                if let Some((pid, _)) = founder {
                    keeper_serve::kill(pid);
                }
                break;
            }
            Request::Nothing => {
                ticks = ticks.saturating_add(1);
                let joined = crate::run::members().next().is_some();
                if !crate::run::members().any(alive) && (joined || ticks > 100) {
                    break;
                }
            }
        }
    }
    run_files::tear_down(&dir, |pid| !kfile::process_alive(pid));
    raw::exit_group(0)
}

/// Whether the member (pid, start time) still runs: its pid is alive and was given to it,
/// not to a later process (a start time of 0: it is joining right now).
fn alive((pid, start): (u32, u64)) -> bool {
    kfile::process_alive(pid) && (start == 0 || kfile::start_time(pid) == Some(start))
}

/// Kills every member but `founder` with SIGKILL and waits until all are gone and the founder
/// (sent SIGSTOP) is stopped or gone: none of them changes a file any more (10 s at most).
fn end_members(founder: Option<u32>) {
    let others =
        || crate::run::members().filter(move |m| Some(m.0) != founder).filter(|m| alive(*m));
    for _ in 0..1000 {
        // A member that joined meanwhile (started before the cut) goes too.
        for m in others() {
            keeper_serve::kill(m.0);
        }
        let founder_still = founder.is_some_and(|f| kfile::process_alive(f) && !kfile::stopped(f));
        if others().next().is_none() && !founder_still {
            return;
        }
        raw::sleep_ms(10);
    }
}
