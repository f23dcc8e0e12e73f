//! Compatibility tests for the `failinject` crate as a drop-in replacement for fail-rs.
//!
//! This crate depends on `failinject` under the name `fail`, the way a project that switches
//! from fail-rs 0.5 writes it in its `Cargo.toml`:
//!
//! ```toml
//! fail = { package = "failinject", path = "../../hooks", features = ["failpoints"] }
//! ```
//!
//! and its code uses only `fail::…` paths. The functions below are the kind of code such a
//! project has: fail points in library functions, in each of the macro's three forms. The
//! tests in `tests/compat/` configure them (and points of their own) with every fail-rs
//! API and action, and check that each behaves as it does with fail-rs.
//!

#![forbid(unsafe_code)]

use fail::fail_point;
use std::io;

/// Reads a setting. The fail point `compat::lib::read_setting` can make it fail with an
/// I/O error whose message is the configured value (`return(disk gone)`), or `"injected"`
/// for a bare `return`.
pub fn read_setting(key: &str) -> io::Result<String> {
    fail_point!("compat::lib::read_setting", |arg: Option<String>| {
        Err(io::Error::other(arg.unwrap_or_else(|| "injected".to_owned())))
    });
    Ok(format!("value of {key}"))
}

/// Counts to `n`; the fail point `compat::lib::count` can end it early with the configured
/// number (`return(7)`), or 0 for a bare `return`. The closure's argument type is inferred,
/// as fail-rs users usually write it.
pub fn count(n: u32) -> u32 {
    fail_point!("compat::lib::count", |arg| arg.map_or(0, |s| s.parse().expect("a number")));
    n
}

/// Applies a batch; `checked` says whether the fail point `compat::lib::apply` is
/// evaluated at all (the conditional form). An injected failure returns `false`.
pub fn apply(checked: bool) -> bool {
    fail_point!("compat::lib::apply", checked, |_| false);
    true
}

/// Syncs: the fail point `compat::lib::sync` has no closure, so it can sleep, pause, panic
/// or print, but not return.
pub fn sync() {
    fail_point!("compat::lib::sync");
}

/// A wrapper macro over fail-rs's hidden `fail::eval`, as real projects write them (to add a
/// log line, or to turn the argument into their own error type): the closure gets the
/// `return` argument, and the macro decides what to do with it.
macro_rules! fail_with_error {
    ($name:expr) => {
        if let Some(message) = fail::eval($name, |arg| arg.unwrap_or_else(|| "injected".to_owned()))
        {
            return Err(io::Error::other(message));
        }
    };
}

/// Opens a session; the fail point `compat::lib::open_session`, through the wrapper macro
/// above, can fail it with the configured message.
pub fn open_session(user: &str) -> io::Result<String> {
    fail_with_error!("compat::lib::open_session");
    Ok(format!("session of {user}"))
}
