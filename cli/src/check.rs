//! `failinject check`: validate rules, explain each one.

use anyhow::Context as _;
use failinject_engine::{ParseError, Rule, parse_rules_all};
use std::path::PathBuf;
use std::process::ExitCode;

/// Where the rules come from.
#[derive(clap::Args)]
pub struct Args {
    /// A rule, or several separated by `;` (repeatable).
    #[arg(short = 'r', long = "rule", value_name = "RULE")]
    rules: Vec<String>,
    /// A file of rules, one a line; `#` starts a comment line (repeatable).
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    files: Vec<PathBuf>,
}

/// The rules of every `-r` and `-f`, in order, with every error found.
pub fn collect(
    rules: &[String],
    files: &[PathBuf],
) -> anyhow::Result<(Vec<Rule>, Vec<ParseError>)> {
    let mut all = Vec::new();
    let mut errors = Vec::new();
    for (i, text) in rules.iter().enumerate() {
        let (r, e) = parse_rules_all(text, &format!("-r #{}", i + 1));
        all.extend(r);
        errors.extend(e);
    }
    for path in files {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the rules file {}", path.display()))?;
        let (r, e) = parse_rules_all(&text, &path.display().to_string());
        all.extend(r);
        errors.extend(e);
    }
    Ok((all, errors))
}

pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    if args.rules.is_empty() && args.files.is_empty() {
        anyhow::bail!("no rules to check: give -r RULE or -f FILE");
    }
    let (rules, errors) = collect(&args.rules, &args.files)?;
    if !errors.is_empty() {
        for e in &errors {
            eprintln!("failinject: {e}\n");
        }
        let n = errors.len();
        eprintln!("failinject: {n} bad rule{}", if n == 1 { "" } else { "s" });
        return Ok(ExitCode::from(2));
    }
    let mut out = String::new();
    for rule in &rules {
        out.push_str(&format!("{rule}\n  {}\n", rule.explain()));
    }
    crate::emit(&out);
    Ok(ExitCode::SUCCESS)
}
