//! The `failinject` command end to end, one binary with a module per command or topic
//! (ripgrep's layout): real programs under the real `libfailinject.so`. Nothing here needs a
//! process of its own: every test runs the command as a child, in a directory of its own.
//!
//! Run one topic with a filter: `cargo test -p failinject-cli --test cli why::`. The report's
//! browser test is ignored without chromium; `.ci/run` runs it with
//! `cargo test -p failinject-cli --test cli -- --ignored explore::`.

mod check;
mod common;
mod crash_search;
mod ctl;
mod examples;
mod explore;
mod gallery;
mod gofail;
mod install;
mod postgres;
mod redis;
mod run;
mod run_wide;
mod seccomp;
mod why;
