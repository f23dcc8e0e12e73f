//! Fail points for Rust programs: a drop-in replacement for the `fail` crate (fail-rs 0.5),
//! on the same registry as the libc rules of `libfailinject.so`.
//!
//! # Usage
//!
//! Put fail points where your program could fail:
//!
//! ```
//! use failinject::fail_point;
//!
//! fn append(record: &[u8]) -> std::io::Result<()> {
//!     fail_point!("wal::append", |arg: Option<String>| {
//!         Err(std::io::Error::other(arg.unwrap_or_else(|| "injected".into())))
//!     });
//!     // … write the record …
//!     Ok(())
//! }
//! # assert!(append(b"x").is_ok());
//! ```
//!
//! and configure them, from a test or from the environment:
//!
//! ```
//! # use failinject::fail_point;
//! # fn append() -> Result<(), String> {
//! #     fail_point!("wal::append2", |arg: Option<String>| Err(arg.unwrap_or_default()));
//! #     Ok(())
//! # }
//! failinject::cfg("wal::append2", "1*return(disk full)").unwrap();
//! assert_eq!(append(), Err("disk full".to_string()));
//! assert_eq!(append(), Ok(()));   // the count is used up
//! failinject::remove("wal::append2");
//! ```
//!
//! The action grammar is fail-rs's: `[P%][N*]task[(arg)]`, chained with `->`, with the tasks
//! `off`, `return(V)`, `sleep(ms)`, `delay(ms)`, `panic(msg)`, `print(msg)`, `pause`, `yield`
//! (and `kill`, and `powercut`: under `libfailinject.so` the files written since their last
//! sync are rolled back before the SIGKILL; without it nothing was tracked, so the process
//! is only killed, with a line on stderr saying so; see `docs/CRASH.md`). See
//! `docs/RULES.md` for the whole rule language.
//!
//! # Switching from fail-rs
//!
//! Change one line of `Cargo.toml`:
//!
//! ```toml
//! fail = { package = "failinject", version = "0.1" }
//! ```
//!
//! `fail_point!` in its three forms, `cfg`, `cfg_callback`, `remove`, `list`,
//! `has_failpoints`, `FailScenario` and `FailGuard` behave as in fail-rs, and the
//! `failpoints` feature (on by default here) compiles the points in; without it the macros
//! expand to nothing.
//!
//! # One registry with the preload
//!
//! Run the program under `libfailinject.so` and every point, `cfg` and `list` goes to the
//! preload's registry: one configuration (`FAILINJECT`), one seed, one log and one control
//! socket for in-code points and libc calls. `cfg` then also takes `sys:` rules, and a libc
//! rule can wait for an in-code point (`after=NAME`) or apply only inside a scope
//! ([`fail_scope!`], `within=NAME`):
//!
//! ```sh
//! FAILINJECT='sys:fsync[path=*.wal,within=commit]=error(EIO); wal::append=1%return' \
//!     LD_PRELOAD=libfailinject.so cargo test
//! ```
//!
//! Without the preload, an in-process registry on the same engine serves in-code points,
//! configured by `cfg`, `FailScenario` (`FAILPOINTS`) and `FAILINJECT`.
//!
//! # Beyond fail-rs
//!
//! - [`local::cfg`]: a configuration seen only by the calling thread, so fail point tests can
//!   run in parallel.
//! - [`hits`]: how many times a point's rules matched.
//! - [`cfg`] returns a typed [`CfgError`] (which converts to fail-rs's `String`).
//!
//! # Cost
//!
//! An unconfigured `fail_point!` is one load of the configuration generation, one load of the
//! site's cached answer and a compare: about a nanosecond, whatever else is configured, with
//! no lock, no map lookup, no allocation and no shared write.

pub mod backend;
mod callbacks;
pub mod local;
mod scope;
pub mod site;

pub use backend::{CfgError, Outcome};
pub use scope::ScopeGuard;
pub use site::Site;

use std::sync::{Mutex, MutexGuard};

/// Defines a fail point. See the crate docs.
///
/// - `fail_point!(name)`: the tasks that act in place (`sleep`, `pause`, `panic`, `print`, …);
///   a `return` panics, as in fail-rs, since there is no value to return.
/// - `fail_point!(name, |arg: Option<String>| expr)`: on `return(V)` the enclosing function
///   returns `expr`, the closure getting `Some(V)` (or `None` for a bare `return`).
/// - `fail_point!(name, cond, |arg| expr)`: the same, only when `cond` holds.
///
/// A literal name gets a `static` site with the one-load fast path; any other `&str`
/// expression (a `const`, a runtime string) is looked up on every hit.
#[macro_export]
#[cfg(feature = "failpoints")]
macro_rules! fail_point {
    ($name:literal) => {{
        static SITE: $crate::Site = $crate::Site::new($name, $crate::__cstr!($name));
        if let ::std::option::Option::Some(outcome) = SITE.eval() {
            $crate::__act($name, outcome, |_: ::std::option::Option<::std::string::String>| {
                ::std::panic!("Return is not supported for the fail point \"{}\"", $name)
            });
        }
    }};
    ($name:literal, $e:expr) => {{
        static SITE: $crate::Site = $crate::Site::new($name, $crate::__cstr!($name));
        if let ::std::option::Option::Some(outcome) = SITE.eval() {
            if let ::std::option::Option::Some(ret) = $crate::__act($name, outcome, $e) {
                return ret;
            }
        }
    }};
    ($name:expr) => {{
        let name: &str = $name;
        if let ::std::option::Option::Some(outcome) = $crate::site::eval_dynamic(name) {
            $crate::__act(name, outcome, |_: ::std::option::Option<::std::string::String>| {
                ::std::panic!("Return is not supported for the fail point \"{}\"", name)
            });
        }
    }};
    ($name:expr, $e:expr) => {{
        let name: &str = $name;
        if let ::std::option::Option::Some(outcome) = $crate::site::eval_dynamic(name) {
            if let ::std::option::Option::Some(ret) = $crate::__act(name, outcome, $e) {
                return ret;
            }
        }
    }};
    ($name:expr, $cond:expr, $e:expr) => {{
        if $cond {
            $crate::fail_point!($name, $e);
        }
    }};
}

/// Defines a fail point (compiled out: the `failpoints` feature is off).
#[macro_export]
#[cfg(not(feature = "failpoints"))]
macro_rules! fail_point {
    ($name:expr, $e:expr) => {{}};
    ($name:expr) => {{}};
    ($name:expr, $cond:expr, $e:expr) => {{}};
}

/// `name` as a `&'static CStr` (a fail point name holds no NUL).
#[doc(hidden)]
#[macro_export]
macro_rules! __cstr {
    ($name:expr) => {
        match ::std::ffi::CStr::from_bytes_with_nul(concat!($name, "\0").as_bytes()) {
            Ok(c) => c,
            Err(_) => panic!("a fail point name cannot hold a NUL byte"),
        }
    };
}

/// Carries out an outcome in the caller's context: panics and prints here, returns through
/// the closure.
#[doc(hidden)]
pub fn __act<R>(name: &str, outcome: Outcome, ret: impl FnOnce(Option<String>) -> R) -> Option<R> {
    match outcome {
        Outcome::Nothing => None,
        Outcome::Return(arg) => Some(ret(arg.map(str::to_owned))),
        Outcome::Panic(Some(msg)) => panic!("{}", msg),
        Outcome::Panic(None) => panic!("failpoint {name} panic"),
        Outcome::Print(msg) => {
            // fail-rs logs under its crate's name; users filter with `RUST_LOG=fail=info`.
            match msg {
                Some(m) => log::info!(target: "fail", "{m}"),
                None => log::info!(target: "fail", "failpoint {name} executed."),
            }
            None
        }
    }
}

/// Enters a scope: while the returned guard lives, rules with `within=NAME` apply to the
/// calling thread (libc rules under the preload, and in-code rules).
///
/// ```
/// let _commit = failinject::fail_scope!("commit");
/// // fsync calls here match `sys:fsync[within=commit]=…`
/// ```
#[macro_export]
macro_rules! fail_scope {
    ($name:expr) => {
        $crate::ScopeGuard::new($name)
    };
}

/// Configures the point `name` with `actions` (`"50%return(x)->off"`), replacing its rule.
/// Under the preload, `name` may also be a libc point with filters (`sys:fsync[path=*.wal]`).
pub fn cfg<S: Into<String>>(name: S, actions: &str) -> Result<(), CfgError> {
    let name = name.into();
    callbacks::remove(&name);
    backend::backend().cfg(&format!("{name}={actions}"))
}

/// Runs `f` every time the point `name` is hit (fail-rs's `cfg_callback`).
pub fn cfg_callback<S, F>(name: S, f: F) -> Result<(), CfgError>
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
        return Err(e);
    }
    Ok(())
}

/// Removes the configuration of the point `name`.
pub fn remove<S: AsRef<str>>(name: S) {
    callbacks::remove(name.as_ref());
    backend::backend().remove(name.as_ref());
}

/// Every configured point with its actions (in-code points only, as fail-rs lists them).
pub fn list() -> Vec<(String, String)> {
    backend::backend()
        .list()
        .into_iter()
        .filter(|(k, ..)| !k.starts_with("sys:"))
        .map(|(k, a, ..)| {
            // A point with a callback shows as fail-rs shows it.
            let a = if callbacks::has(&k) { "callback".to_owned() } else { a };
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

fn clear_all() {
    let b = backend::backend();
    for (key, ..) in b.list() {
        if !key.starts_with("sys:") {
            b.remove(&key);
        }
    }
    callbacks::clear();
}

static SCENARIO: Mutex<()> = Mutex::new(());

/// A test scenario (fail-rs's `FailScenario`): holds a global lock so scenarios run one at a
/// time, starts from no in-code configuration plus `FAILPOINTS` (`name=actions;…`), and
/// clears the configuration when torn down or dropped.
#[derive(Debug)]
pub struct FailScenario<'a> {
    _guard: MutexGuard<'a, ()>,
}

impl<'a> FailScenario<'a> {
    /// Sets the scenario up. Panics when `FAILPOINTS` is malformed, as fail-rs does.
    pub fn setup() -> Self {
        let guard = SCENARIO.lock().unwrap_or_else(|e| e.into_inner());
        clear_all();
        if let Ok(text) = std::env::var("FAILPOINTS") {
            for item in text.split(';').filter(|s| !s.trim().is_empty()) {
                let Some((name, actions)) = item.trim().split_once('=') else {
                    panic!("unable to setup failpoints: `{item}` is not NAME=ACTIONS");
                };
                if let Err(e) = cfg(name.trim(), actions.trim()) {
                    panic!("unable to setup failpoints: {e}");
                }
            }
        }
        FailScenario { _guard: guard }
    }

    /// Tears the scenario down (clears the configuration).
    pub fn teardown(self) {
        drop(self)
    }
}

impl Drop for FailScenario<'_> {
    fn drop(&mut self) {
        clear_all();
    }
}

/// Configures a point for as long as the guard lives (fail-rs's `FailGuard`).
#[derive(Debug)]
pub struct FailGuard(String);

impl FailGuard {
    /// Configures `name` with `actions`; removed when the guard drops.
    pub fn new<S: Into<String>>(name: S, actions: &str) -> Result<FailGuard, CfgError> {
        let name = name.into();
        cfg(name.clone(), actions)?;
        Ok(FailGuard(name))
    }

    /// Runs `f` when `name` is hit, for as long as the guard lives.
    pub fn with_callback<S, F>(name: S, f: F) -> Result<FailGuard, CfgError>
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
