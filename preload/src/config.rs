//! Loading the configuration from the environment, once, before `main`.
//!
//! `FAILINJECT` (rules), `FAILINJECT_FILE` (a file of rules, added after), `FAILPOINTS`
//! (fail-rs's variable, read last), `FAILINJECT_SEED` and `FAILINJECT_ON_ERROR`. A bad
//! configuration prints one clear message per bad rule and exits with status 125 before
//! `main`, or with `FAILINJECT_ON_ERROR=warn` prints and runs with no rules at all.
//!
//! This runs in our one constructor. It may allocate and read the environment: no wrapped
//! call is being served, and the guard is held so our own file reads pass straight through.

use crate::{ctl, log, raw, site, state};
use failinject_engine::{Filter, ParseError, Registry, Rule, Task, parse_rules_all};
use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;

/// What went wrong with the configuration, one message per problem.
struct Problems(Vec<String>);

/// Reads the environment, builds the registry, and publishes it.
pub fn load() {
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
    if log::enabled()
        || registry.rules().any(|r| r.filters.iter().any(|f| matches!(f, Filter::Site(_))))
    {
        site::warm_up();
    }
    state::install(registry);
    if let Some(template) = std::env::var_os("FAILINJECT_CTL")
        && let Err(m) = ctl::start(template.as_bytes())
    {
        raw::diag(&[m.as_bytes()]);
    }
}

fn var(name: &str) -> Option<String> {
    std::env::var_os(name).map(|v: OsString| String::from_utf8_lossy(v.as_bytes()).into_owned())
}

/// The registry the environment describes (empty when it names no rule).
fn build() -> Result<Registry, Problems> {
    let mut problems = Vec::new();
    let mut rules: Vec<Rule> = Vec::new();
    let mut add = |text: &str, source: &str, problems: &mut Vec<String>| {
        let (good, bad) = parse_rules_all(text, source);
        problems.extend(bad.iter().map(ParseError::to_string));
        rules.extend(good);
    };
    if let Some(text) = var("FAILINJECT") {
        add(&text, "FAILINJECT", &mut problems);
    }
    if let Some(file) = var("FAILINJECT_FILE") {
        match std::fs::read(&file) {
            Ok(bytes) => add(&String::from_utf8_lossy(&bytes), &file, &mut problems),
            Err(e) => problems.push(format!("cannot read FAILINJECT_FILE {file}: {e}")),
        }
    }
    if let Some(text) = var("FAILPOINTS") {
        add(&text, "FAILPOINTS", &mut problems);
    }
    let seed = match var("FAILINJECT_SEED") {
        Some(s) => match s.trim().parse::<u64>() {
            Ok(n) => n,
            Err(_) => {
                problems.push(format!("FAILINJECT_SEED must be a decimal number, not `{s}`"));
                0
            }
        },
        None => random_seed(),
    };
    for rule in &rules {
        if let Some(task) = rule
            .chain
            .iter()
            .map(|a| &a.task)
            .find(|t| matches!(t, Task::Powercut { .. } | Task::Lose(_)))
        {
            problems.push(format!(
                "{rule}: `{}` is not supported by this build of libfailinject.so yet",
                task.name()
            ));
        }
    }
    if !problems.is_empty() {
        return Err(Problems(problems));
    }
    let mut registry = Registry::new(seed);
    registry.set_exe(&exe_path());
    for rule in rules {
        registry.set(rule);
    }
    Ok(registry)
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
