//! `failinject`: run programs under `libfailinject.so`, check rules, list the libc points.
//!
//! This milestone ships the subcommands that need only the engine: `check` validates rules and
//! explains each one in a plain sentence, and `points` lists every libc point the preload
//! intercepts. `run`, `ctl` and `explore` are the subjects of the next milestones.
#![forbid(unsafe_code)]

mod check;
mod points;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// A fault injector for Linux: prove that a program survives a full disk, a failing fsync, a
/// torn write or a power cut.
#[derive(Parser)]
#[command(name = "failinject", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Validate rules and explain each one in a plain sentence.
    #[command(after_help = "\
Examples:
  failinject check -r 'sys:write[path=*.db]=2*off->1*error(ENOSPC)'
  failinject check -r 'sys:fsync|fdatasync[path=*.wal]=25%error(EIO)' -r 'wal::append=return'
  failinject check -f rules.txt

Exit status: 0 when every rule is valid, 2 when any is not (each bad rule is printed with
the bad part underlined, the reason and a suggestion).")]
    Check(check::Args),
    /// List the libc points: spellings, classes, targets, failure values and errnos.
    #[command(after_help = "\
Examples:
  failinject points              one block per point
  failinject points --json       the same, as JSON, for scripts")]
    Points(points::Args),
}

/// Writes to standard output; a reader that went away (`failinject points | head`) is not an
/// error worth a message.
fn emit(text: &str) {
    use std::io::Write;
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check(args) => check::run(&args),
        Command::Points(args) => points::run(&args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("failinject: {e:#}");
            ExitCode::from(2)
        }
    }
}
