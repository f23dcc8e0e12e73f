//! `failinject completions SHELL` and `failinject man`: generated from the same clap
//! definitions as `--help`, so they never drift from what the binary accepts.
#![forbid(unsafe_code)]

use clap::CommandFactory as _;
use std::process::ExitCode;

/// Arguments of `failinject completions`.
#[derive(clap::Args)]
pub struct CompletionArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    shell: clap_complete::Shell,
}

pub fn completions(args: &CompletionArgs) -> anyhow::Result<ExitCode> {
    let mut cmd = crate::Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "failinject", &mut out);
    crate::out::emit(&String::from_utf8_lossy(&out));
    Ok(ExitCode::SUCCESS)
}

/// Arguments of `failinject man`.
#[derive(clap::Args)]
pub struct ManArgs {
    /// Write one page per subcommand (`failinject.1`, `failinject-run.1`, …) into DIR
    /// instead of printing the main page.
    #[arg(long, value_name = "DIR")]
    dir: Option<std::path::PathBuf>,
}

pub fn man(args: &ManArgs) -> anyhow::Result<ExitCode> {
    let cmd = crate::Cli::command();
    match &args.dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)?;
            clap_mangen::generate_to(cmd, dir)?;
        }
        None => {
            let mut out = Vec::new();
            clap_mangen::Man::new(cmd).render(&mut out)?;
            crate::out::emit(&String::from_utf8_lossy(&out));
        }
    }
    Ok(ExitCode::SUCCESS)
}
