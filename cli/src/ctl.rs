//! `failinject ctl`: talk to a running process through its control socket.
//!
//! The protocol (docs/OBSERVE.md) is lines: a command, then reply lines ending with one that
//! starts `ok` or `err `. With a COMMAND on the command line it is sent once; without, each
//! line of standard input is a command, all on one connection.
#![forbid(unsafe_code)]

use crate::library::private_dir;
use anyhow::{Context as _, bail};
use std::io::{BufRead as _, BufReader, Write as _};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// Arguments of `failinject ctl`.
#[derive(clap::Args)]
pub struct Args {
    /// The pid of a process started with `failinject run --ctl`, or the socket's path.
    #[arg(value_name = "PID|SOCKET")]
    target: String,
    /// The command: `set RULE`, `remove KEY`, `clear`, `list`, `wait KEY N [TIMEOUT_MS]`,
    /// `seed`. Without one, commands are read from standard input, one a line.
    #[arg(value_name = "COMMAND", trailing_var_arg = true, allow_hyphen_values = true)]
    command: Vec<String>,
}

/// The directory of the per-run sockets: `$XDG_RUNTIME_DIR/failinject`, else
/// `$TMPDIR/failinject-UID`; private to the user.
pub fn socket_dir() -> anyhow::Result<PathBuf> {
    match std::env::var_os("XDG_RUNTIME_DIR").filter(|v| !v.is_empty()) {
        Some(run) => private_dir(&PathBuf::from(run).join("failinject")),
        None => private_dir(
            &std::env::temp_dir().join(format!("failinject-{}", nix::unistd::geteuid())),
        ),
    }
}

/// The socket template `run --ctl` uses when given no path: one socket per process.
pub fn default_template() -> anyhow::Result<PathBuf> {
    Ok(socket_dir()?.join("%p.sock"))
}

/// The template with `%p` replaced by `pid`.
pub fn expand(template: &Path, pid: u32) -> PathBuf {
    PathBuf::from(template.to_string_lossy().replace("%p", &pid.to_string()))
}

pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let path = socket_of(&args.target)?;
    let stream = UnixStream::connect(&path)
        .with_context(|| format!("cannot connect to the control socket {}", path.display()))?;
    // `wait` may legitimately block for its whole timeout; the reader waits as long as the
    // process does, but not forever on a process that stopped answering.
    stream.set_read_timeout(Some(Duration::from_secs(3600)))?;
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    let commands: Vec<String> = if args.command.is_empty() {
        std::io::stdin().lines().collect::<Result<Vec<_>, _>>()?
    } else {
        vec![args.command.join(" ")]
    };
    let mut failed = false;
    for command in commands.iter().map(|c| c.trim()).filter(|c| !c.is_empty()) {
        writer
            .write_all(format!("{command}\n").as_bytes())
            .with_context(|| format!("cannot send `{command}`"))?;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line)? == 0 {
                bail!("the process closed the control socket before replying to `{command}`");
            }
            let line = line.trim_end_matches('\n');
            if let Some(reason) = line.strip_prefix("err ") {
                eprintln!("failinject: {command}: {reason}");
                failed = true;
                break;
            }
            println!("{line}");
            if line == "ok" || line.starts_with("ok ") {
                break;
            }
        }
    }
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

/// A pid names the socket `run --ctl` made for that process; anything else is a path.
fn socket_of(target: &str) -> anyhow::Result<PathBuf> {
    if !target.bytes().all(|b| b.is_ascii_digit()) || target.is_empty() {
        return Ok(PathBuf::from(target));
    }
    let path = expand(&default_template()?, target.parse().context("pid out of range")?);
    if !path.exists() {
        let alive = Path::new("/proc").join(target).exists();
        bail!(
            "no control socket for pid {target} at {}: {}",
            path.display(),
            if alive {
                "was it started with `failinject run --ctl`? (with `--ctl PATH`, give PATH)"
            } else {
                "no such process"
            }
        );
    }
    Ok(path)
}
