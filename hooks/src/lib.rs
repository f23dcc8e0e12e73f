//! The `failinject` crate: in-code fail points for Rust programs.
//!
//! It will be a drop-in replacement for the `fail` crate (fail-rs 0.5): the same
//! `fail_point!` forms, `cfg`, `FailScenario`, and one registry shared with
//! `libfailinject.so`, so in-code points and libc rules are driven by one configuration.
//!
//! Status: the API arrives in a later milestone; today the crate only re-exports the rule
//! language of [`failinject_engine`] so that programs can validate rules.
#![forbid(unsafe_code)]

pub use failinject_engine as engine;
