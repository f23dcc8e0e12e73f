//! The engine's integration tests, one binary with a module per topic (ripgrep's layout), so
//! a newcomer finds them in one place and the workspace links one test program, not seven.
//! Nothing here needs a process of its own: every test builds its own `Registry`, and none
//! reads or sets the environment.
//!
//! Run one topic with a filter: `cargo test -p failinject-engine --test engine parse::`.

mod bad_rules;
mod error_kinds;
mod fuzz_seeds;
mod libc_table;
mod parse;
mod properties;
mod scale;
mod semantics;
