//! The configuration the environment describes (SPEC §4), as a pure function of the variables'
//! values.
//!
//! `libfailinject.so` reads `FAILINJECT`, the file `FAILINJECT_FILE` names, `FAILPOINTS` and
//! `FAILINJECT_SEED` in its constructor and hands their raw bytes to [`env_config`], so what
//! the fuzz target `env_config` exercises is what runs before `main`. Values need not be UTF-8:
//! bytes that are not are replaced (a rule can still name a path with such bytes through a
//! glob's `?` or `*`).
//!
//! ```
//! use failinject_engine::env_config::{EnvSources, FileSource, env_config};
//!
//! let sources = EnvSources {
//!     failinject: Some(b"sys:fsync=error(EIO)"),
//!     file: Some(FileSource { name: b"rules.txt", contents: Ok(b"# a comment\nsys:write=1%short") }),
//!     failpoints: Some(b"wal::append=return"),
//!     seed: Some(b"42"),
//! };
//! let config = env_config(&sources).unwrap();
//! assert_eq!(config.seed, Some(42));
//! let rules: Vec<String> = config.rules.iter().map(ToString::to_string).collect();
//! assert_eq!(rules, ["sys:fsync=error(EIO)", "sys:write=1%short", "wal::append=return"]);
//!
//! let bad = EnvSources { failinject: Some(b"sys:fsnyc=error(EIO)"), seed: Some(b"x"), ..EnvSources::default() };
//! let problems = env_config(&bad).unwrap_err();
//! assert_eq!(problems.len(), 2);
//! assert_eq!(problems[1].to_string(), "FAILINJECT_SEED must be a decimal number, not `x`");
//! ```

use crate::error::ParseError;
use crate::parse::parse_rules_all;
use crate::registry::Registry;
use crate::rule::Rule;
use std::fmt;

/// The file `FAILINJECT_FILE` names: its name as given and what reading it gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileSource<'a> {
    /// The value of `FAILINJECT_FILE`.
    pub name: &'a [u8],
    /// The file's bytes, or why it could not be read.
    pub contents: Result<&'a [u8], &'a str>,
}

/// The raw values of the variables; `None` for a variable that is not set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EnvSources<'a> {
    /// `FAILINJECT`.
    pub failinject: Option<&'a [u8]>,
    /// `FAILINJECT_FILE` and the file it names.
    pub file: Option<FileSource<'a>>,
    /// `FAILPOINTS`.
    pub failpoints: Option<&'a [u8]>,
    /// `FAILINJECT_SEED`.
    pub seed: Option<&'a [u8]>,
}

/// A good configuration: the rules in the order they apply, and the seed if one was given.
#[derive(Debug, Clone)]
pub struct EnvConfig {
    /// `FAILINJECT`'s rules, then the file's, then `FAILPOINTS`'.
    pub rules: Vec<Rule>,
    /// `FAILINJECT_SEED`; `None` when unset (the caller draws one).
    pub seed: Option<u64>,
}

impl EnvConfig {
    /// The registry of these rules, with `exe` for `exe=` filters; `random_seed` is used when
    /// no seed was given. A later rule with an earlier one's key replaces it in place.
    pub fn into_registry(self, random_seed: u64, exe: &[u8]) -> Registry {
        let mut registry = Registry::new(self.seed.unwrap_or(random_seed));
        registry.set_exe(exe);
        for rule in self.rules {
            registry.set(rule);
        }
        registry
    }
}

/// One thing wrong with the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvProblem {
    /// A rule that does not parse (its source is `FAILINJECT`, the file's name or
    /// `FAILPOINTS`).
    Rule(ParseError),
    /// `FAILINJECT_FILE` could not be read.
    File {
        /// The file's name, as given (bytes that are not UTF-8 replaced).
        name: String,
        /// Why.
        reason: String,
    },
    /// `FAILINJECT_SEED` is not a decimal u64; holds the value (bytes that are not UTF-8
    /// replaced).
    Seed(String),
}

impl fmt::Display for EnvProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EnvProblem::Rule(e) => e.fmt(f),
            EnvProblem::File { name, reason } => {
                write!(f, "cannot read FAILINJECT_FILE {name}: {reason}")
            }
            EnvProblem::Seed(s) => write!(f, "FAILINJECT_SEED must be a decimal number, not `{s}`"),
        }
    }
}

/// The configuration the variables describe, or every problem with it (each bad rule of
/// every source, an unreadable file, a bad seed), in the order of the sources.
pub fn env_config(sources: &EnvSources<'_>) -> Result<EnvConfig, Vec<EnvProblem>> {
    let mut problems = Vec::new();
    let mut rules = Vec::new();
    let mut add = |text: &[u8], source: &str, problems: &mut Vec<EnvProblem>| {
        let (good, bad) = parse_rules_all(&String::from_utf8_lossy(text), source);
        problems.extend(bad.into_iter().map(EnvProblem::Rule));
        rules.extend(good);
    };
    if let Some(text) = sources.failinject {
        add(text, "FAILINJECT", &mut problems);
    }
    if let Some(file) = &sources.file {
        let name = String::from_utf8_lossy(file.name);
        match file.contents {
            Ok(bytes) => add(bytes, &name, &mut problems),
            Err(reason) => {
                problems.push(EnvProblem::File { name: name.into_owned(), reason: reason.into() })
            }
        }
    }
    if let Some(text) = sources.failpoints {
        add(text, "FAILPOINTS", &mut problems);
    }
    let seed = sources.seed.map(|raw| {
        let text = String::from_utf8_lossy(raw);
        text.trim().parse::<u64>().map_err(|_| text.into_owned())
    });
    let seed = match seed {
        None => None,
        Some(Ok(n)) => Some(n),
        Some(Err(text)) => {
            problems.push(EnvProblem::Seed(text));
            None
        }
    };
    if problems.is_empty() { Ok(EnvConfig { rules, seed }) } else { Err(problems) }
}
