//! Configuring points for the whole process: `cfg`, `remove`, `list`, `FailScenario`,
//! `FailGuard`, with fail-rs's signatures.

use crate::backend::{self, CfgError};
use crate::callbacks;
use failinject_engine::parse_rules;
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

/// The actions of each rule as `cfg` was given them, with the canonical form the registry
/// lists, so that `list()` shows what was given (fail-rs's `list` does) as long as the rule
/// is still the one given.
static GIVEN: Mutex<Option<HashMap<String, (String, String)>>> = Mutex::new(None);

fn given() -> MutexGuard<'static, Option<HashMap<String, (String, String)>>> {
    GIVEN.lock().unwrap_or_else(|e| e.into_inner())
}

/// Configures the point `name` with `actions` (`"50%return(x)->off"`), replacing its rule,
/// as fail-rs's `cfg` does: the error is a message. [`try_cfg`] returns a typed one.
pub fn cfg<S: Into<String>>(name: S, actions: &str) -> Result<(), String> {
    try_cfg(name, actions).map_err(String::from)
}

/// [`cfg()`] with a typed error. Under the preload, `name` may also be a libc point with
/// filters (`sys:fsync[path=*.wal]`); without it a `sys:` rule is
/// [`CfgError::NeedsPreload`].
pub fn try_cfg<S: Into<String>>(name: S, actions: &str) -> Result<(), CfgError> {
    let name = name.into();
    let text = format!("{name}={actions}");
    callbacks::remove(&name);
    backend::backend().cfg(&text)?;
    if let Ok(rules) = parse_rules(&text, "cfg")
        && let [rule] = &rules[..]
    {
        given()
            .get_or_insert_with(HashMap::new)
            .insert(rule.key(), (actions.to_owned(), rule.chain_text()));
    }
    Ok(())
}

/// Runs `f` every time the point `name` is hit (fail-rs's `cfg_callback`).
pub fn cfg_callback<S, F>(name: S, f: F) -> Result<(), String>
where
    S: Into<String>,
    F: Fn() + Send + Sync + 'static,
{
    let name = name.into();
    // The callback first: the configuration change below sends every site back to its slow
    // path, which must find it.
    callbacks::set(&name, std::sync::Arc::new(f));
    if let Err(e) = backend::backend().cfg(&format!("{name}=off")) {
        callbacks::remove(&name);
        return Err(e.into());
    }
    Ok(())
}

/// Removes the configuration of the point `name`.
pub fn remove<S: AsRef<str>>(name: S) {
    callbacks::remove(name.as_ref());
    backend::backend().remove(name.as_ref());
}

/// Every configured in-code point with its actions, as they were given to [`cfg()`] (a point
/// with a callback shows `callback`, as in fail-rs). `sys:` rules are not listed.
pub fn list() -> Vec<(String, String)> {
    let given = given();
    backend::backend()
        .list()
        .into_iter()
        .filter(|(k, ..)| !k.starts_with("sys:"))
        .map(|(k, a, ..)| {
            let a = if callbacks::has(&k) {
                "callback".to_owned()
            } else {
                match given.as_ref().and_then(|g| g.get(&k)) {
                    Some((as_given, canonical)) if *canonical == a => as_given.clone(),
                    _ => a,
                }
            };
            (k, a)
        })
        .collect()
}

/// How many times the rules of the point `name` matched (0 when it has none), its rules with
/// filters (`name[when=3..4]`) included. A point whose rules are only `off` with no filter
/// can never act and is never evaluated, so it counts 0.
pub fn hits<S: AsRef<str>>(name: S) -> u64 {
    let name = name.as_ref();
    backend::backend()
        .list()
        .into_iter()
        .filter(|(k, ..)| {
            k == name || k.strip_prefix(name).is_some_and(|rest| rest.starts_with('['))
        })
        .map(|(_, _, matches, _)| matches)
        .sum()
}

/// Whether fail points are compiled in (the `failpoints` feature).
pub const fn has_failpoints() -> bool {
    cfg!(feature = "failpoints")
}

/// Back to the launch configuration, without callbacks.
fn reset() {
    callbacks::clear();
    backend::backend().reset_to_launch();
}

static SCENARIO: Mutex<()> = Mutex::new(());

/// A test scenario (fail-rs's `FailScenario`): scenarios run one at a time (each holds a
/// global lock), each starts from the configuration the process was launched with and adds
/// `FAILPOINTS` to it, and each returns to the launch configuration when torn down.
///
/// The launch configuration is what `FAILINJECT`, `FAILINJECT_FILE` and, under the preload,
/// `FAILPOINTS` and `failinject run -r` gave the process. A program whose `main` sets up a
/// scenario therefore still obeys the rules it was run with; the rules a scenario sets go
/// away with it, and the launch rules keep their counters across it.
#[derive(Debug)]
pub struct FailScenario<'a> {
    _guard: MutexGuard<'a, ()>,
}

impl<'a> FailScenario<'a> {
    /// Sets the scenario up. Panics when `FAILPOINTS` is malformed, as fail-rs does, with
    /// fail-rs's messages.
    pub fn setup() -> Self {
        let guard = SCENARIO.lock().unwrap_or_else(|e| e.into_inner());
        reset();
        let text = match std::env::var("FAILPOINTS") {
            Ok(text) => text,
            Err(std::env::VarError::NotPresent) => return FailScenario { _guard: guard },
            Err(e) => panic!("invalid failpoints: {e:?}"),
        };
        let in_force: Vec<(String, String)> =
            backend::backend().list().into_iter().map(|(k, a, ..)| (k, a)).collect();
        for item in text.trim().split(';').map(str::trim).filter(|s| !s.is_empty()) {
            let Some((name, actions)) = item.split_once('=') else {
                panic!("invalid failpoint: {item:?}");
            };
            // A rule already in force as written (under the preload, `FAILPOINTS` is part of
            // the launch configuration) keeps its counters.
            if let Ok(rules) = parse_rules(item, "FAILPOINTS")
                && let [rule] = &rules[..]
                && in_force.iter().any(|(k, a)| *k == rule.key() && *a == rule.chain_text())
            {
                continue;
            }
            if let Err(e) = try_cfg(name, actions) {
                panic!("unable to configure failpoint \"{name}\": {e}");
            }
        }
        FailScenario { _guard: guard }
    }

    /// Tears the scenario down: back to the launch configuration.
    pub fn teardown(self) {
        drop(self)
    }
}

impl Drop for FailScenario<'_> {
    fn drop(&mut self) {
        reset();
    }
}

/// Configures a point for as long as the guard lives (fail-rs's `FailGuard`).
#[derive(Debug)]
pub struct FailGuard(String);

impl FailGuard {
    /// Configures `name` with `actions`; removed when the guard drops.
    pub fn new<S: Into<String>>(name: S, actions: &str) -> Result<FailGuard, String> {
        let name = name.into();
        cfg(name.clone(), actions)?;
        Ok(FailGuard(name))
    }

    /// Runs `f` when `name` is hit, for as long as the guard lives.
    pub fn with_callback<S, F>(name: S, f: F) -> Result<FailGuard, String>
    where
        S: Into<String>,
        F: Fn() + Send + Sync + 'static,
    {
        let name = name.into();
        cfg_callback(name.clone(), f)?;
        Ok(FailGuard(name))
    }
}

impl Drop for FailGuard {
    fn drop(&mut self) {
        remove(&self.0);
    }
}
