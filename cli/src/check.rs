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
    if rules.is_empty() {
        anyhow::bail!(
            "there is no rule to check: the -r and -f given hold only blanks and comments \
             (a rule is POINT=ACTION, as in `sys:write=error(ENOSPC)`)"
        );
    }
    let mut out = String::new();
    for rule in &rules {
        out.push_str(&format!("{rule}\n  {}\n", rule.explain()));
        if let failinject_engine::Points::Code(name) = &rule.points
            && let Some(hint) = failinject_engine::libc_spelling_hint(name)
        {
            out.push_str(&format!("  note: {hint}\n"));
        }
    }
    crate::out::emit(&out);
    Ok(ExitCode::SUCCESS)
}
