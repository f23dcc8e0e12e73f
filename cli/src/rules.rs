//! The rules of a command line: `-r RULE` and `-f FILE`, validated before anything runs.

use anyhow::Context as _;
use failinject_engine::{ParseError, Rule, parse_rules_all};
use std::path::PathBuf;

/// Where the rules come from (shared by `check`, `run` and `explore`).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct RuleArgs {
    /// A rule, or several separated by `;` (repeatable).
    #[arg(short = 'r', long = "rule", value_name = "RULE")]
    pub rules: Vec<String>,
    /// A file of rules, one a line; `#` starts a comment line (repeatable).
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

/// Rules that failed to parse; each has been printed with its position, the bad part
/// underlined, the reason and a suggestion. The command exits with status 2.
#[derive(Debug)]
pub struct BadRules(pub usize);

impl std::fmt::Display for BadRules {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} bad rule{}", self.0, if self.0 == 1 { "" } else { "s" })
    }
}

impl std::error::Error for BadRules {}

impl RuleArgs {
    /// Whether no rule was given at all.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty() && self.files.is_empty()
    }

    /// Every rule of every `-r` and `-f`, in order. Bad rules are all printed to stderr and
    /// end in a [`BadRules`] error.
    pub fn load(&self) -> anyhow::Result<Vec<Rule>> {
        let mut all = Vec::new();
        let mut errors: Vec<ParseError> = Vec::new();
        for (i, text) in self.rules.iter().enumerate() {
            let (r, e) = parse_rules_all(text, &format!("-r #{}", i + 1));
            all.extend(r);
            errors.extend(e);
        }
        for path in &self.files {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the rules file {}", path.display()))?;
            let (r, e) = parse_rules_all(&text, &path.display().to_string());
            all.extend(r);
            errors.extend(e);
        }
        if errors.is_empty() {
            // fail-rs accepts a percentage above 100 and means "always"; so do we, but say so.
            for rule in &all {
                for p in rule.chain.iter().filter_map(|a| a.percent).filter(|p| *p > 100.0) {
                    eprintln!(
                        "failinject: warning: `{rule}`: {p}% is above 100 and is taken as 100% \
                         (always), as fail-rs does"
                    );
                }
            }
            return Ok(all);
        }
        for e in &errors {
            eprintln!("failinject: {e}\n");
        }
        Err(BadRules(errors.len()).into())
    }
}

/// The rules as one `FAILINJECT` value: each in its canonical form, which the preload parses
/// back to the same rule.
pub fn to_env(rules: &[Rule]) -> String {
    rules.iter().map(ToString::to_string).collect::<Vec<_>>().join(";")
}
