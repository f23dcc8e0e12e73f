//! The `failinject` crate used exactly as fail-rs 0.5 is used: through the name `fail`, with
//! only `fail::…` paths, every API form and every action.
//!
//! fail-rs has one global registry, and `FailScenario::setup` clears all of it (failinject's
//! goes back to the launch configuration, which is empty here). So every test
//! that configures points with the global `fail::cfg` holds a `FailScenario` for its whole run
//! (scenarios run one at a time) and uses point names of its own. Tests of the thread-local
//! configuration (`fail::local`) need neither.
//!
//! `FAILPOINTS` is read by `FailScenario::setup`; the tests that set it run a test of this
//! binary in a child process with the variable in its environment, as a user's
//! `FAILPOINTS=… cargo test` would, rather than changing the environment of this process.

use std::any::Any;
use std::panic::{self, AssertUnwindSafe};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Once, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use fail::{FailGuard, FailScenario, fail_point};

/// How long a test waits for something that should happen (generous, so a loaded machine
/// does not fail it; the test still cannot hang).
const WAIT: Duration = Duration::from_secs(10);
/// How long a thread that should be blocked is watched before concluding it is.
const STILL_BLOCKED: Duration = Duration::from_millis(300);

fn panic_message(payload: Box<dyn Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else {
        "<a panic payload that is not a string>".to_owned()
    }
}

/// Runs `f`, which must panic, and returns the panic message.
fn panics_with<T>(f: impl FnOnce() -> T) -> String {
    match panic::catch_unwind(AssertUnwindSafe(f)) {
        Ok(_) => panic!("expected a panic"),
        Err(payload) => panic_message(payload),
    }
}

/// Whether `list()` has the entry `(name, actions)`.
fn listed(name: &str, actions: &str) -> bool {
    fail::list().contains(&(name.to_owned(), actions.to_owned()))
}

/// Whether `list()` has any entry for `name`.
fn listed_at_all(name: &str) -> bool {
    fail::list().iter().any(|(n, _)| n == name)
}

mod accepted;
mod beyond;
mod chains;
mod errors;
mod forms;
mod guard;
mod registry;
mod scenario;
mod tasks;
