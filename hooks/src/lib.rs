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
//! Change one line of `Cargo.toml`, and keep (or add) the feature that compiles the points
//! in:
//!
//! ```toml
//! [dependencies]
//! fail = { package = "failinject", version = "0.1" }
//!
//! [features]
//! failpoints = ["fail/failpoints"]
//! ```
//!
//! `fail_point!` in its three forms, `cfg`, `cfg_callback`, `remove`, `list`,
//! `has_failpoints`, `FailScenario`, `FailGuard`, and the hidden `eval` that wrapper macros
//! call behave as in fail-rs, errors included (`cfg` returns a `String`). The `failpoints`
//! feature is off by default, as in fail-rs: a build that did not ask for fail points has
//! none, the macros expand to nothing. Run the tests with `cargo test --features failpoints`.
//!
//! # Scenarios and the launch configuration
//!
//! fail-rs's `FailScenario::setup()` starts from nothing. Here it starts from the rules the
//! process was launched with (`FAILINJECT`, `FAILINJECT_FILE`, and under the preload
//! `FAILPOINTS` and `failinject run -r`), adds `FAILPOINTS`, and its teardown returns to those
//! launch rules, their counters as they were. So a program whose `main` sets up a scenario
//! still obeys `failinject run -r 'wal::append=return(full)' -- ./program`:
//!
//! ```
//! # failinject::fail_point!("never");
//! let scenario = failinject::FailScenario::setup();
//! // … the launch rules, plus FAILPOINTS, plus what the scenario configures …
//! scenario.teardown();
//! ```
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
//! configured by `cfg`, `FailScenario` (`FAILPOINTS`) and `FAILINJECT`. A `sys:` rule given to
//! `cfg` or `FAILPOINTS` there is an error that says the preload is needed
//! ([`CfgError::NeedsPreload`]), never a rule that silently does nothing.
//!
//! # Tests in parallel
//!
//! fail-rs has one registry for the whole process, so two tests that configure the same point
//! must not run at the same time, and `FailScenario` makes them take turns. The
//! [`local`] configuration belongs to the calling thread instead: give each test its own
//! faults, and let `cargo test` run them side by side.
//!
//! ```
//! fn save() -> Result<(), String> {
//!     failinject::fail_point!("store::save", |msg: Option<String>| Err(msg.unwrap_or_default()));
//!     Ok(())
//! }
//!
//! // In one test:
//! failinject::local::cfg("store::save", "return(disk full)").unwrap();
//! assert_eq!(save(), Err("disk full".to_string()));
//!
//! // Meanwhile, in another test, on another thread:
//! let other_test = std::thread::spawn(|| {
//!     failinject::local::cfg("store::save", "return(permission denied)").unwrap();
//!     save()
//! });
//! assert_eq!(other_test.join().unwrap(), Err("permission denied".to_string()));
//! assert_eq!(save(), Err("disk full".to_string()));   // still ours
//! # failinject::local::clear();
//! ```
//!
//! A test that hands work to other threads hands its configuration along:
//! [`local::spawn`] starts a thread with it, [`local::wrap`] makes a closure that runs with it
//! on any thread (a thread pool, tokio's `spawn_blocking`), and [`local::bind`] makes a future
//! that runs with it on whichever executor thread polls it, so a tokio task that moves between
//! worker threads keeps its faults.
//!
//! Under `libfailinject.so`, local rules may be libc rules too: each test fails its own
//! writes, and the tests still run in parallel (tasks that act on the whole process,
//! `powercut`, `kill`, `panic` and `lose`, are refused locally):
//!
//! ```no_run
//! // Under the preload (`failinject run -- cargo test`): this thread's writes fail, no other's.
//! failinject::local::cfg("sys:write[kind=file]", "error(ENOSPC)").unwrap();
//! ```
//!
//! What the configuration cannot follow is work a runtime does on its own threads without
//! your closure: `tokio::fs` runs its file calls on the blocking pool. For those, give each
//! test its own files and a process-wide rule narrowed to them:
//!
//! ```no_run
//! // Test 1 writes under /tmp/test-1, test 2 under /tmp/test-2:
//! failinject::cfg("sys:write[path=/tmp/test-1/*]", "error(ENOSPC)").unwrap();
//! ```
//!
//! # Async
//!
//! In `async` code, use [`fail_point_async!`]: it takes the same three forms as
//! [`fail_point!`], but `sleep`, `delay`, `pause` and `yield` are awaited, so the executor's
//! thread goes on running other tasks (a blocking `sleep` would stall a whole current-thread
//! runtime).
//!
//! ```
//! async fn fetch(key: &str) -> Result<String, String> {
//!     failinject::fail_point_async!("cache::fetch", |msg: Option<String>| {
//!         Err(msg.unwrap_or_default())
//!     });
//!     Ok(format!("value of {key}"))
//! }
//! ```
//!
//! The waits need no particular runtime: a timer thread of this crate wakes the task (that
//! thread blocks every signal, so none meant for the program lands on it). With the `tokio`
//! feature, a point awaited inside a tokio runtime sleeps on tokio's timer instead, so a test
//! that calls `tokio::time::pause()` moves fail point sleeps along with its clock. Under the
//! preload the same holds: it decides the point and hands the wait back
//! (`failinject_v1_eval_deferred`), so the point awaits it here.
//!
//! # Beyond fail-rs
//!
//! - [`hits`]: how many times a point's rules matched.
//! - [`try_cfg`]: [`cfg()`] with a typed [`CfgError`].
//! - [`fail_scope!`]: rules that apply only inside a scope (`within=NAME`).
//! - Percentages above 100 mean "always", as in fail-rs; `list()` shows the actions as given.
//!
//! # Cost
//!
//! An unconfigured `fail_point!` is one load of the configuration generation, one load of the
//! site's cached answer, one load of the thread's local-configuration salt and a compare:
//! about a nanosecond, whatever else is configured and whether or not other threads hold
//! local configurations, with no lock, no map lookup, no allocation and no shared write.
//! See `docs/PERFORMANCE.md`.

pub mod backend;
mod callbacks;
mod config;
pub mod local;
mod scope;
pub mod site;
mod wait;

pub use backend::{CfgError, Outcome};
pub use config::{
    FailGuard, FailScenario, cfg, cfg_callback, has_failpoints, hits, list, remove, try_cfg,
};
pub use scope::ScopeGuard;
pub use site::Site;
pub use wait::Wait;
#[doc(hidden)]
pub use wait::timer_thread_sigblk;

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
    ($($args:tt)*) => { $crate::__fail_point!([] $($args)*) };
}

/// [`fail_point!`] inside `async` code: the same forms, but `sleep`, `delay`, `pause` and
/// `yield` await instead of blocking the executor's thread. See the crate docs ("Async").
#[macro_export]
#[cfg(feature = "failpoints")]
macro_rules! fail_point_async {
    ($($args:tt)*) => { $crate::__fail_point!([async] $($args)*) };
}

/// The body of both macros; `[async]` awaits waits, `[]` blocks on them.
#[doc(hidden)]
#[macro_export]
macro_rules! __fail_point {
    ([$($mode:tt)?] $name:literal) => {{
        static SITE: $crate::Site = $crate::Site::new($name, $crate::__cstr!($name));
        if let ::std::option::Option::Some(outcome) = SITE.eval() {
            $crate::__act($name, $crate::__settle!([$($mode)?] outcome), |_: ::std::option::Option<::std::string::String>| {
                ::std::panic!("Return is not supported for the fail point \"{}\"", $name)
            });
        }
    }};
    ([$($mode:tt)?] $name:literal, $e:expr) => {{
        static SITE: $crate::Site = $crate::Site::new($name, $crate::__cstr!($name));
        if let ::std::option::Option::Some(outcome) = SITE.eval() {
            if let ::std::option::Option::Some(ret) = $crate::__act($name, $crate::__settle!([$($mode)?] outcome), $e) {
                return ret;
            }
        }
    }};
    ([$($mode:tt)?] $name:expr) => {{
        let name: &str = $name;
        if let ::std::option::Option::Some(outcome) = $crate::site::eval_dynamic(name) {
            $crate::__act(name, $crate::__settle!([$($mode)?] outcome), |_: ::std::option::Option<::std::string::String>| {
                ::std::panic!("Return is not supported for the fail point \"{}\"", name)
            });
        }
    }};
    ([$($mode:tt)?] $name:expr, $e:expr) => {{
        let name: &str = $name;
        if let ::std::option::Option::Some(outcome) = $crate::site::eval_dynamic(name) {
            if let ::std::option::Option::Some(ret) = $crate::__act(name, $crate::__settle!([$($mode)?] outcome), $e) {
                return ret;
            }
        }
    }};
    ([$($mode:tt)?] $name:expr, $cond:expr, $e:expr) => {{
        if $cond {
            $crate::__fail_point!([$($mode)?] $name, $e);
        }
    }};
}

/// An outcome with its wait awaited (`[async]`) or left for `__act` to block on (`[]`).
#[doc(hidden)]
#[macro_export]
macro_rules! __settle {
    ([] $outcome:expr) => {
        $outcome
    };
    ([async] $outcome:expr) => {
        $crate::__wait($outcome).await
    };
}

/// Defines a fail point (compiled out: the `failpoints` feature is off).
#[macro_export]
#[cfg(not(feature = "failpoints"))]
macro_rules! fail_point {
    ($name:expr, $e:expr) => {{}};
    ($name:expr) => {{}};
    ($name:expr, $cond:expr, $e:expr) => {{}};
}

/// Defines an async fail point (compiled out: the `failpoints` feature is off; the same forms
/// as [`fail_point!`] are accepted).
#[macro_export]
#[cfg(not(feature = "failpoints"))]
macro_rules! fail_point_async {
    ($($args:tt)*) => {
        $crate::fail_point!($($args)*)
    };
}

/// Awaits an outcome's wait; what is left for the caller to do.
#[doc(hidden)]
pub async fn __wait(outcome: Outcome) -> Outcome {
    match outcome {
        Outcome::Wait(w) => {
            w.wait().await;
            Outcome::Nothing
        }
        other => other,
    }
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
        Outcome::Wait(w) => {
            w.block();
            None
        }
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

/// Evaluates the point `name` and, on `return`, hands its argument to `f` (fail-rs's
/// hidden `eval`, which wrapper macros call). Waits (`sleep`, `pause`, …) block here.
///
/// ```
/// macro_rules! my_point {
///     ($name:expr) => {
///         failinject::eval($name, |arg| arg.unwrap_or_default()).unwrap_or_default()
///     };
/// }
/// failinject::cfg("wrapped", "return(7)").unwrap();
/// assert_eq!(my_point!("wrapped"), "7");
/// # failinject::remove("wrapped");
/// ```
#[doc(hidden)]
pub fn eval<R, F: FnOnce(Option<String>) -> R>(name: &str, f: F) -> Option<R> {
    __act(name, site::eval_dynamic(name)?, f)
}
