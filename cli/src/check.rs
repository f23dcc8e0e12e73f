//! `failinject check`: validate rules, explain each one.

use crate::rules::RuleArgs;
use std::process::ExitCode;

/// Where the rules come from.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    rules: RuleArgs,
    /// Also say how this backend carries out each rule: under `seccomp`, the system calls it
    /// traps, or why it refuses the rule (then the status is 2, as for a bad rule).
    #[arg(long, value_enum, default_value_t, value_name = "BACKEND")]
    backend: crate::seccomp::Backend,
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
    let mut refused = 0;
    for rule in &rules {
        out.push_str(&format!("{rule}\n  {}\n", rule.explain()));
        if args.backend == crate::seccomp::Backend::Seccomp {
            match crate::seccomp::plan::accepts(rule) {
                Ok(calls) => out.push_str(&format!(
                    "  seccomp: traps {}\n",
                    if calls.is_empty() {
                        "nothing (carried out elsewhere)".into()
                    } else {
                        calls.join(", ")
                    }
                )),
                Err(why) => {
                    refused += 1;
                    out.push_str(&format!("  seccomp: refused: {why}\n"));
                }
            }
        }
        if let failinject_engine::Points::Code(name) = &rule.points
            && let Some(hint) = failinject_engine::libc_spelling_hint(name)
        {
            out.push_str(&format!("  note: {hint}\n"));
        }
    }
    crate::out::emit(&out);
    Ok(if refused > 0 { ExitCode::from(2) } else { ExitCode::SUCCESS })
}
