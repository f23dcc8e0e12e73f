//! Loading the configuration from the environment, once, before `main`.
//!
//! `FAILINJECT` (rules), `FAILINJECT_FILE` (a file of rules, added after), `FAILPOINTS`
//! (fail-rs's variable, read last), `FAILINJECT_SEED` and `FAILINJECT_ON_ERROR`; under
//! `failinject run`, `FAILINJECT_RUN` (the run's directory: its shared state, `run.rs`, and
//! the rule changes sent to the whole run, applied last). A bad
//! configuration prints one clear message per bad rule and exits with status 125 before
//! `main`, or with `FAILINJECT_ON_ERROR=warn` prints and runs with no rules at all.
//!
//! This runs in our one constructor. It may allocate and read the environment: no wrapped
//! call is being served, and the guard is held so our own file reads pass straight through.

use crate::sys::{raw, site};
use crate::{ctl, log, state};
use failinject_engine::{EnvSources, FileSource, Filter, Registry, control, env_config};
use std::os::unix::ffi::OsStrExt;

/// What went wrong with the configuration, one message per problem.
struct Problems(Vec<String>);

/// Reads the environment, builds the registry, and publishes it.
pub fn load() {
    // `failinject run` rolling the run's files back after a power cut, in a process of its
    // own: that, and nothing else.
    if let Some(mode) = std::env::var_os("FAILINJECT_RESTORE") {
        let dir = std::env::var_os("FAILINJECT_RUN").unwrap_or_default();
        let ok =
            crate::run::open(dir.as_bytes()).is_ok() && crate::crash::restore_run(mode == "dirs");
        raw::exit_group(if ok { 0 } else { 1 });
    }
    let on_error_warn = std::env::var_os("FAILINJECT_ON_ERROR").is_some_and(|v| v == "warn");
    let registry = match build() {
        Ok(registry) => registry,
        Err(Problems(messages)) => {
            for m in &messages {
                raw::diag(&[m.as_bytes()]);
            }
            if !on_error_warn {
                raw::diag(&[b"stopping before main (exit status 125); \
                    set FAILINJECT_ON_ERROR=warn to run with no rules instead"]);
                // SAFETY: _exit ends the process at once without running other libraries'
                // destructors, which is what we want before `main` has even started.
                unsafe { libc::_exit(125) };
            }
            raw::diag(&[b"running with no rules (FAILINJECT_ON_ERROR=warn)"]);
            let mut empty = Registry::new(random_seed());
            empty.set_exe(&exe_path());
            empty
        }
    };
    if let Some(template) = std::env::var_os("FAILINJECT_LOG") {
        let rules = registry.rules().map(ToString::to_string).collect();
        if let Err(m) = log::start(template.as_bytes(), registry.exe(), registry.seed(), rules) {
            raw::diag(&[m.as_bytes()]);
        }
    }
    // explore's crash search records every change (`changes.rs`); write tracking, turned on
    // when the registry is published, sees them.
    if let Some(dir) = std::env::var_os("FAILINJECT_CHANGES").filter(|d| !d.is_empty())
        && let Err(m) = crate::changes::start(dir.as_bytes())
    {
        raw::diag(&[m.as_bytes()]);
    }
    if std::env::var_os("FAILINJECT_TRACE_CODE").is_some_and(|v| v == "1") {
        log::trace_code_points();
    }
    if log::enabled()
        || registry.rules().any(|r| r.filters.iter().any(|f| matches!(f, Filter::Site(_))))
    {
        site::warm_up();
    }
    // A run is one machine (`run.rs`): join it before any decision is made. The first
    // process of a bare LD_PRELOAD tree whose rules need a run founds it (`bare.rs`);
    // `FAILINJECT_RUN=none` asks for none.
    let dir = match std::env::var_os("FAILINJECT_RUN").filter(|d| !d.is_empty()) {
        Some(d) if d == "none" => None,
        Some(d) => Some(d),
        None if crate::bare::wanted(&registry) => match crate::bare::found() {
            Ok(d) => Some(d.into_os_string()),
            Err(m) => {
                raw::diag(&[m.as_bytes(), b": each process of this tree is a machine of its own"]);
                None
            }
        },
        None => None,
    };
    if let Some(dir) = dir {
        if let Err(m) = crate::run::attach(dir.as_bytes()) {
            raw::diag(&[m.as_bytes()]);
        } else if let Some(spec) = std::env::var_os("FAILINJECT_SECCOMP") {
            // `failinject run` supervises static programs started below (`sys/handover.rs`).
            crate::sys::handover::configure(spec.as_bytes(), dir.as_bytes());
        }
    }
    state::install(registry);
    if let Some(template) = std::env::var_os("FAILINJECT_CTL")
        && let Err(m) = ctl::start(template.as_bytes())
    {
        raw::diag(&[m.as_bytes()]);
    }
}

/// The registry the environment describes (empty when it names no rule). The variables are
/// read here, as bytes, and the file `FAILINJECT_FILE` names is read with its name as given
/// (not necessarily UTF-8); everything else is the engine's `env_config`, which the
/// `env_config` fuzz target exercises.
fn build() -> Result<Registry, Problems> {
    let failinject = std::env::var_os("FAILINJECT");
    let failpoints = std::env::var_os("FAILPOINTS");
    let seed = std::env::var_os("FAILINJECT_SEED");
    let file_name = std::env::var_os("FAILINJECT_FILE");
    let file =
        file_name.as_ref().map(|name| (name, std::fs::read(name).map_err(|e| e.to_string())));
    let sources = EnvSources {
        failinject: failinject.as_deref().map(OsStrExt::as_bytes),
        file: file.as_ref().map(|(name, contents)| FileSource {
            name: name.as_bytes(),
            contents: contents.as_deref().map_err(String::as_str),
        }),
        failpoints: failpoints.as_deref().map(OsStrExt::as_bytes),
        seed: seed.as_deref().map(OsStrExt::as_bytes),
    };
    let mut registry = match env_config(&sources) {
        Ok(config) => config.into_registry(random_seed(), &exe_path()),
        Err(problems) => {
            return Err(Problems(problems.iter().map(ToString::to_string).collect()));
        }
    };
    run_commands(&mut registry);
    Ok(registry)
}

/// The rule changes sent to the whole run with `failinject ctl --run` before this program
/// started (`$FAILINJECT_RUN/commands`, one command a line, in order): a process that starts
/// later has the rules the run has now. `failinject ctl --run` checked each one already.
fn run_commands(registry: &mut Registry) {
    let Some(dir) = std::env::var_os("FAILINJECT_RUN").filter(|d| !d.is_empty() && d != "none")
    else {
        return;
    };
    let Ok(text) = std::fs::read(std::path::Path::new(&dir).join("commands")) else { return };
    for line in text.split(|b| *b == b'\n') {
        if let Some(Ok(command)) = control::parse_line(line)
            && command.changes()
        {
            let _ = control::apply(command, registry);
        }
    }
}

/// The running program's executable path, for `exe=` filters.
fn exe_path() -> Vec<u8> {
    std::fs::read_link("/proc/self/exe")
        .map(|p| p.as_os_str().as_bytes().to_vec())
        .unwrap_or_default()
}

/// A seed from the kernel's random source, when the user gave none.
fn random_seed() -> u64 {
    let mut b = [0u8; 8];
    // SAFETY: `b` is a live 8-byte buffer; getrandom fills at most that many bytes.
    let n =
        unsafe { libc::syscall(libc::SYS_getrandom, b.as_mut_ptr(), b.len(), 0 as libc::c_long) };
    if n == 8 { u64::from_ne_bytes(b) } else { 0x5eed_f00d }
}
