//! Arbitrary bytes → the values of `FAILINJECT`, `FAILINJECT_FILE`'s file, `FAILPOINTS` and
//! `FAILINJECT_SEED` → the engine's `env_config`, exactly as `libfailinject.so`'s constructor
//! calls it (`preload/src/config.rs` only reads the variables and the file).
//!
//! The input's first byte says which variables are set (one bit each, and whether reading the
//! file failed); the rest is split at NUL bytes into the values, in order. What must hold for
//! every input (anything else is a bug):
//! - nothing panics, and every problem prints as a non-empty message;
//! - the sources are independent and in order: the rules of a good configuration are the
//!   rules of each source parsed alone, concatenated, and a bad configuration has exactly the
//!   problems of the sources taken alone (each bad rule, the unreadable file, the bad seed);
//! - a good configuration's registry compiles into a snapshot; its seed is the given one, or
//!   the caller's when none was given.
//!
//! This file is shared: the fuzz target `fuzz_targets/env_config.rs` calls [`check`], and
//! `engine/tests/engine/fuzz_seeds.rs` replays the committed seeds (and any local corpus) through it
//! on the stable toolchain, in CI.
use failinject_engine::env_config::{EnvSources, FileSource, env_config};

/// Runs the checks on one input; panics on a bug.
pub fn check(data: &[u8]) {
    let Some((&flags, rest)) = data.split_first() else { return };
    let mut values = rest.split(|&b| b == 0);
    let mut next = |set: bool| set.then(|| values.next().unwrap_or(b""));
    let failinject = next(flags & 1 != 0);
    let file_name = next(flags & 2 != 0);
    let file_bytes = next(flags & 2 != 0);
    let failpoints = next(flags & 4 != 0);
    let seed = next(flags & 8 != 0);
    let file = file_name.zip(file_bytes).map(|(name, bytes)| FileSource {
        name,
        contents: if flags & 16 != 0 {
            Err("No such file or directory (os error 2)")
        } else {
            Ok(bytes)
        },
    });
    let all = EnvSources { failinject, file, failpoints, seed };

    let alone = [
        EnvSources { failinject, ..EnvSources::default() },
        EnvSources { file, ..EnvSources::default() },
        EnvSources { failpoints, ..EnvSources::default() },
        EnvSources { seed, ..EnvSources::default() },
    ];
    let parts: Vec<_> = alone.iter().map(env_config).collect();

    match env_config(&all) {
        Ok(config) => {
            let mut expected = Vec::new();
            for part in &parts {
                let part = part.as_ref().expect("a good whole has good parts");
                expected.extend(part.rules.iter().map(ToString::to_string));
            }
            let got: Vec<String> = config.rules.iter().map(ToString::to_string).collect();
            assert_eq!(got, expected);
            let given = parts[3].as_ref().ok().and_then(|c| c.seed);
            assert_eq!(config.seed, given);
            let registry = config.into_registry(99, b"/usr/bin/fuzzed");
            assert_eq!(registry.seed(), given.unwrap_or(99));
            let _ = registry.snapshot();
        }
        Err(problems) => {
            assert!(!problems.is_empty());
            let mut expected = Vec::new();
            for part in &parts {
                if let Err(p) = part {
                    expected.extend(p.iter().map(ToString::to_string));
                }
            }
            let got: Vec<String> = problems.iter().map(ToString::to_string).collect();
            assert!(got.iter().all(|m| !m.is_empty()));
            assert_eq!(got, expected);
        }
    }
}
