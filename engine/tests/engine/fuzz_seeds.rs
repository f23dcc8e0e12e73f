//! The fuzz targets' checks on the stable toolchain: every committed seed of `fuzz/seeds/`
//! (and every input of a local `fuzz/corpus/`, when a fuzzing run left one) goes through the
//! very functions the cargo-fuzz targets call (`fuzz/checks/*.rs`), so CI catches a
//! regression on the inputs fuzzing found interesting without a nightly toolchain. Inputs
//! that crashed are kept as seeds under a `crash-` name once fixed, and replay here too.

#[path = "../../../fuzz/checks/control.rs"]
mod control;
#[path = "../../../fuzz/checks/env_config.rs"]
mod env_config;
#[path = "../../../fuzz/checks/parse_rules.rs"]
mod parse_rules;

use std::path::{Path, PathBuf};

/// The files of `fuzz/seeds/TARGET` and `fuzz/corpus/TARGET` (the latter may not exist).
fn inputs(target: &str) -> (usize, Vec<PathBuf>) {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let mut seeds = 0;
    let mut files = Vec::new();
    for (dir, is_seed) in [("seeds", true), ("corpus", false)] {
        let Ok(entries) = std::fs::read_dir(fuzz.join(dir).join(target)) else { continue };
        for e in entries.flatten() {
            if e.path().is_file() {
                seeds += usize::from(is_seed);
                files.push(e.path());
            }
        }
    }
    files.sort();
    (seeds, files)
}

fn replay(target: &str, check: fn(&[u8])) {
    let (seeds, files) = inputs(target);
    assert!(seeds >= 6, "fuzz/seeds/{target} has only {seeds} seeds");
    for f in &files {
        let data = std::fs::read(f).unwrap();
        let outcome = std::panic::catch_unwind(|| check(&data));
        assert!(outcome.is_ok(), "{} fails the {target} checks", f.display());
    }
}

#[test]
fn control_seeds_pass_the_fuzz_checks() {
    replay("control", control::check);
}

#[test]
fn env_config_seeds_pass_the_fuzz_checks() {
    replay("env_config", env_config::check);
}

#[test]
fn parse_rules_seeds_pass_the_fuzz_checks() {
    replay("parse_rules", parse_rules::check);
}
