//! `libfailinject.so` end to end, one binary with a module per topic (ripgrep's layout): real
//! programs (coreutils, python3, sqlite3, git, C fixtures) under the real library. Nothing
//! here needs a process of its own: every test runs its programs as children, with the
//! environment it gives them.
//!
//! Run one topic with a filter: `cargo test -p failinject-tests --test preload hazards::`.
//! The valgrind run is ignored without valgrind; `.ci/run` runs it with
//! `cargo test -p failinject-tests --test preload -- --ignored valgrind::`.

mod bare_run;
mod changes;
mod control;
mod crash;
mod crash_modes;
mod exports;
mod hazards;
mod hostile;
mod interpose;
mod observe;
mod one_registry;
mod proc_title;
mod programs;
mod programs_apps;
mod programs_fixtures;
mod resources;
mod scenario;
mod smoke;
mod stress;
mod valgrind;
