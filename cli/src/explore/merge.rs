//! `failinject report merge DIR... --out DIR`: one report from the shards of a campaign.
#![forbid(unsafe_code)]

use super::report::Report;
use anyhow::bail;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `failinject report merge`.
#[derive(clap::Args)]
pub struct MergeArgs {
    /// The report directories of the shards.
    #[arg(required = true, value_name = "DIR")]
    dirs: Vec<PathBuf>,
    /// Where to write the combined report.json and report.html.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Merge even when shards of the campaign are missing (the report says which).
    #[arg(long)]
    partial: bool,
}

/// `failinject report merge DIR... --out DIR`; exits like `explore` would have.
pub fn merge_command(args: &MergeArgs) -> anyhow::Result<ExitCode> {
    let reports = args.dirs.iter().map(|d| Report::read(d)).collect::<anyhow::Result<Vec<_>>>()?;
    let merged = super::report::merge(reports)?;
    let missing = super::report::missing_shards(&merged.shards)?;
    if !missing.is_empty() {
        let names: Vec<String> = missing.iter().map(|m| format!("shard {m}")).collect();
        let what = format!(
            "{} {} missing",
            names.join(", "),
            if missing.len() == 1 { "is" } else { "are" }
        );
        if !args.partial {
            bail!(
                "{what}: its runs are in no report given (merge with --partial to accept a partial campaign)"
            );
        }
        eprintln!("failinject: warning: {what}; the merged report covers part of the campaign");
    }
    super::html::write(&merged, &args.out)?;
    eprint!("{}", super::summary_text(&merged, None));
    Ok(merged.exit_code())
}
