//! `failinject`: run programs under `libfailinject.so`, check rules, list the libc points,
//! steer a running program.
//!
//! Each subcommand lives in its own module: `run` (with `child` for the process, `summary`
//! for the log read back, `reach` for programs no preload reaches, `library` for finding the
//! preload, `gofail` for the fail points of Go programs), `check`, `points`, `ctl`, `explore`
//! (with `report merge`), and `docs` for completions and the man page.
#![deny(unsafe_code)]

mod check;
mod child;
mod ctl;
mod dir_tree;
mod docs;
mod explore;
mod gofail;
mod keeper;
mod library;
mod out;
mod points;
mod reach;
mod rules;
mod run;
mod run_dir;
mod scratch;
mod seccomp;
mod shell;
mod summary;
mod why;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// A fault injector for Linux: prove that a program survives a full disk, a failing fsync, a
/// torn write or a power cut.
#[derive(Parser)]
#[command(name = "failinject", version, propagate_version = true)]
#[command(after_help = "\
Examples:
  failinject run -r 'sys:@write[path=*/out.img]=full(1M)' -- cp big.img out.img
  failinject check -r 'sys:fsync[path=*.wal]=error(EIO)'
  failinject points
  failinject ctl 4242 list        (4242: the pid `failinject run --ctl` printed)

The rule language: docs/RULES.md. Environment variables: FAILINJECT_LIB names the preload
library to use.")]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a command with faults injected into its libc calls and in-code points.
    #[command(after_help = "\
Examples:
  # cp runs into a full disk after 1 MiB (coreutils 9 copies with copy_file_range, which
  # the class @write covers and sys:write does not)
  failinject run -r 'sys:@write[path=*/copy.iso]=full(1M)' -- cp disk.iso copy.iso
  # dd of=FILE writes through its fd 1, which a rule reaches only with a path, fd or kind
  failinject run -r 'sys:write[kind=file]=error(EIO)' -- dd if=/dev/zero of=disk.img count=4
  # the second sync of the database (sqlite3 syncs with fdatasync) fails with EIO; keep the log
  failinject run --log run.jsonl -r 'sys:fsync|fdatasync[path=*/t.db,when=2]=error(EIO)' \\
      -- sqlite3 t.db 'create table t(x); insert into t values (1)'
  # ./server stands for your own program:
  # 1% of writes fail, reproducibly
  failinject run --seed 42 -r 'sys:write[path=/data/*]=1%error' -- ./server
  # steer it while it runs
  failinject run --ctl -- ./server        then: failinject ctl PID set sys:fsync=error(EIO)

Exit status: the command's own; 128+N when a signal N ended it; 127 when it was not found;
126 when it could not be executed; 2 when a rule is bad (nothing is run then). Signals sent
to failinject are passed on to the command. Unless -q, a summary on stderr says how the
command ended, how often each rule matched and injected, and why a rule never fired.")]
    Run(run::Args),
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
    /// Talk to a running process through its control socket.
    #[command(after_help = "\
Examples:
  failinject ctl 4242 list                                  rules, matches, injections
  failinject ctl 4242 set 'sys:fsync[path=*.wal]=error(EIO)'
  failinject ctl 4242 wait 'sys:fsync[path=*.wal]' 1 5000   until it injected once
  failinject ctl 4242 clear
  failinject ctl /tmp/app.sock seed
  printf 'set sys:write=1%%error\\nlist\\n' | failinject ctl 4242

PID (4242 here) is a process started with `failinject run --ctl`; any other socket is named
by its path.
Exit status: 0 when every reply was ok, 1 when one was err, 2 when the socket is unreachable.")]
    Ctl(ctl::Args),
    /// Fail each disk I/O call site of a program in turn; report what it did about it.
    #[command(after_help = "\
Examples:
  # every write, sync, open, rename and close site of a save (./save stands for your
  # program), with an oracle
  failinject explore --oracle 'cmp saved.txt expected.txt' -- ./save saved.txt
  # sqlite3: EIO and ENOSPC at each write and sync site, 2 at a time, with a report
  failinject explore --scope 'sys:@write|@sync' --errno EIO,ENOSPC -j 2 \\
      --setup 'sqlite3 t.db \"create table t(x)\"' --oracle 'sqlite3 t.db \"pragma integrity_check\" | grep -qx ok' \\
      --report out -- sqlite3 t.db 'insert into t values (1)'
  # ./app and ./check.sh stand for your program and its checker: power cuts too, and
  # one share of a campaign split over 8 machines
  failinject explore --crash --oracle ./check.sh --shard 3/8 --report shard-3 -- ./app
  failinject report merge shard-* --out report

Each run starts in a fresh directory (a copy of --copy, then --setup), which is the current
directory of the command and of --oracle. Outcomes: handled, swallowed (exit 0 after a lost
write, sync, close or rename), crashed, hung (past --timeout), corrupted (the oracle failed).
Every finding comes with the `failinject run` line that reproduces it.

Exit status: 0 when every run was handled, 1 when there are findings, 2 on bad usage or when
the command fails without any fault.")]
    Explore(Box<explore::Args>),
    /// Combine the reports of the shards of one exploration.
    #[command(subcommand)]
    Report(ReportCommand),
    /// Print shell completions (bash, zsh, fish, elvish, powershell).
    #[command(after_help = "\
Examples:
  mkdir -p ~/.local/share/bash-completion/completions
  failinject completions bash > ~/.local/share/bash-completion/completions/failinject
  mkdir -p ~/.zfunc && failinject completions zsh > ~/.zfunc/_failinject")]
    Completions(docs::CompletionArgs),
    /// Print the man page (roff).
    #[command(after_help = "\
Examples:
  failinject man | man -l -
  failinject man --dir /usr/local/share/man/man1")]
    Man(docs::ManArgs),
}

#[derive(Subcommand)]
enum ReportCommand {
    /// Merge shard reports into one report.json and report.html.
    #[command(after_help = "\
Examples:
  failinject report merge shard-0 shard-1 shard-2 --out report

Exit status: 0 when the merged campaign has no findings, 1 when it has, 2 on bad input.")]
    Merge(explore::merge::MergeArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Run(args) => run::run(args),
        Command::Check(args) => check::run(args),
        Command::Points(args) => points::run(args),
        Command::Ctl(args) => ctl::run(args),
        Command::Explore(args) => explore::run(args),
        Command::Report(ReportCommand::Merge(args)) => explore::merge::merge_command(args),
        Command::Completions(args) => docs::completions(args),
        Command::Man(args) => docs::man(args),
    };
    match result {
        Ok(code) => code,
        Err(e) if e.is::<rules::BadRules>() => {
            eprintln!("failinject: {e}");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("failinject: {e:#}");
            ExitCode::from(2)
        }
    }
}
