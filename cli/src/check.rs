//! `failinject check`: validate rules, explain each one.

use crate::rules::RuleArgs;
use std::process::ExitCode;

/// Where the rules come from.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    rules: RuleArgs,
}

pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    if args.rules.is_empty() {
        anyhow::bail!("no rules to check: give -r RULE or -f FILE");
    }
    let rules = args.rules.load()?;
    let mut out = String::new();
    for rule in &rules {
        out.push_str(&format!("{rule}\n  {}\n", rule.explain()));
    }
    crate::emit(&out);
    Ok(ExitCode::SUCCESS)
}
