//! `failinject ctl`: talk to a running process through its control socket.
//!
//! The protocol (docs/OBSERVE.md) is lines: a command, then reply lines ending with one that
//! starts `ok` or `err `. With a COMMAND on the command line it is sent once; without, each
//! line of standard input is a command, all on one connection.
#![forbid(unsafe_code)]

use crate::run_dir::{RunDir, default_template, expand, of_run, title};
use anyhow::{Context as _, bail};
use std::io::{BufRead as _, BufReader, Write as _};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// Arguments of `failinject ctl`.
#[derive(clap::Args)]
pub struct Args {
    /// The pid of a process started with `failinject run --ctl`, or the socket's path; with
    /// `--run`, the pid of `failinject run` itself.
    #[arg(value_name = "PID|SOCKET")]
    target: String,
    /// Send the command to every live process of the run whose `failinject run` has the pid
    /// given (each reply line starts with the process's pid and title); a rule change is kept
    /// for the processes the run starts later.
    #[arg(long)]
    run: bool,
    /// The command: `set RULE`, `remove KEY`, `clear`, `list`, `wait KEY N [TIMEOUT_MS]`,
    /// `seed`, `powercut [dirs]`. Without one, commands are read from standard input, one a
    /// line.
    #[arg(value_name = "COMMAND", trailing_var_arg = true, allow_hyphen_values = true)]
    command: Vec<String>,
}

pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let commands: Vec<String> = if args.command.is_empty() {
        std::io::stdin().lines().collect::<Result<Vec<_>, _>>()?
    } else {
        vec![args.command.join(" ")]
    };
    let commands: Vec<&str> = commands.iter().map(|c| c.trim()).filter(|c| !c.is_empty()).collect();
    if args.run {
        return run_wide(&args.target, &commands);
    }
    let path = socket_of(&args.target)?;
    let mut conn = Conn::open(&path)?;
    let mut failed = false;
    for command in commands {
        if let Err(reason) =
            conn.exchange(command, |line| crate::out::emit(&format!("{line}\n")))?
        {
            eprintln!("failinject: {command}: {}", diagnostic_lines(&reason));
            failed = true;
        }
    }
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

/// `ctl --run PID` for a run under the seccomp backend: one socket, `failinject run`'s own,
/// answers for the run; its reply lines are prefixed with its pid and title, as a process's
/// are.
fn to_supervisor(pid: u32, socket: &Path, commands: &[&str]) -> anyhow::Result<ExitCode> {
    let prefix = format!("{pid} {}:", title(pid));
    let mut conn = Conn::open(socket)?;
    let mut failed = false;
    for command in commands {
        match conn.exchange(command, |line| crate::out::emit(&format!("{prefix} {line}\n")))? {
            Ok(()) => {}
            Err(reason) => {
                crate::out::emit(&format!("{prefix} err {}\n", diagnostic_lines(&reason)));
                failed = true;
            }
        }
    }
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

/// `ctl --run PID`: every command to every live process of the run `PID` started, each reply
/// line prefixed with the process's pid and title. A command that changes rules is also kept
/// for the processes that start later (`run_dir.rs`).
fn run_wide(target: &str, commands: &[&str]) -> anyhow::Result<ExitCode> {
    let pid: u32 = target.parse().map_err(|_| {
        anyhow::anyhow!("--run takes the pid of a `failinject run`, not `{target}`")
    })?;
    let dir = match RunDir::of(pid) {
        Ok(d) => d,
        // A run under the seccomp backend: its rules live in `failinject run` itself, whose
        // own socket answers for the whole run.
        Err(e) => match default_template().map(|t| expand(&t, pid)) {
            Ok(socket) if socket.exists() => return to_supervisor(pid, &socket, commands),
            _ => return Err(e),
        },
    };
    let Some(template) = dir.ctl_template() else {
        bail!(
            "run {pid} serves no control sockets: start it with `failinject run --ctl` to \
             change its rules while it runs"
        );
    };
    let mut failed = false;
    for command in commands {
        // A bad rule is refused once, here, rather than by every process.
        let parsed = failinject_engine::control::parse_command(command);
        match &parsed {
            Err(e) => {
                eprintln!("failinject: {command}: {}", diagnostic_lines(&e.to_string()));
                failed = true;
                continue;
            }
            Ok(c) if c.changes() => dir.keep_command(command)?,
            Ok(_) => {}
        }
        // The program each live pid runs now: its last slot (an exec joins again).
        let mut pids: Vec<u32> = Vec::new();
        for m in dir.members() {
            pids.retain(|p| *p != m.pid);
            if !m.ended {
                pids.push(m.pid);
            }
        }
        pids.retain(|p| of_run(*p, pid));
        for p in pids {
            let prefix = format!("{p} {}:", title(p));
            let socket = expand(&template, p);
            // A process may end between the list and the connection: it is no longer in
            // the run.
            let Ok(mut conn) = Conn::open(&socket) else { continue };
            match conn.exchange(command, |line| crate::out::emit(&format!("{prefix} {line}\n"))) {
                Ok(Ok(())) => {}
                Ok(Err(reason)) => {
                    for (i, line) in diagnostic_lines(&reason).lines().enumerate() {
                        crate::out::emit(&format!(
                            "{prefix} {}{line}\n",
                            if i == 0 { "err " } else { "" }
                        ));
                    }
                    failed = true;
                }
                Err(e) if of_run(p, pid) => {
                    crate::out::emit(&format!("{prefix} err {e}\n"));
                    failed = true;
                }
                Err(_) => {}
            }
        }
    }
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

/// A connection to one control socket.
struct Conn {
    path: PathBuf,
    writer: UnixStream,
    reader: BufReader<UnixStream>,
}

impl Conn {
    fn open(path: &Path) -> anyhow::Result<Conn> {
        let stream = UnixStream::connect(path).map_err(|e| {
            let why = match e.kind() {
                std::io::ErrorKind::ConnectionRefused => {
                    "nobody serves it (the process that made it has ended?)".to_string()
                }
                _ => e.to_string(),
            };
            anyhow::anyhow!("cannot connect to the control socket {}: {why}", path.display())
        })?;
        let writer = stream.try_clone()?;
        Ok(Conn { path: path.to_path_buf(), writer, reader: BufReader::new(stream) })
    }

    /// Sends `command` and hands each reply line to `out`, up to and with the `ok` line;
    /// an `err` reply comes back as `Err(reason)`.
    fn exchange(
        &mut self,
        command: &str,
        mut out: impl FnMut(&str),
    ) -> anyhow::Result<Result<(), String>> {
        let path = &self.path;
        self.writer
            .write_all(format!("{command}\n").as_bytes())
            .with_context(|| format!("cannot send `{command}`"))?;
        // `wait` may legitimately block for its whole timeout; the reader waits as long as
        // the process does, but not forever on a process (or a socket not ours) that does
        // not answer.
        let patience = if command.starts_with("wait") { 3600 } else { 20 };
        self.reader.get_ref().set_read_timeout(Some(Duration::from_secs(patience)))?;
        loop {
            let mut line = String::new();
            let read = self.reader.read_line(&mut line).map_err(|e| match e.kind() {
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => anyhow::anyhow!(
                    "no reply to `{command}` from {} in {patience} s: is it a failinject \
                     control socket?",
                    path.display()
                ),
                _ => e.into(),
            })?;
            if read == 0 {
                bail!("the process closed the control socket before replying to `{command}`");
            }
            let line = line.trim_end_matches('\n');
            if let Some(reason) = line.strip_prefix("err ") {
                return Ok(Err(reason.to_string()));
            }
            if !ok_line(line) && !speaks_protocol(command, line) {
                bail!(
                    "{} is not a failinject control socket: it answered `{command}` with `{}`",
                    path.display(),
                    line.chars().take(80).collect::<String>()
                );
            }
            out(line);
            if ok_line(line) {
                return Ok(Ok(()));
            }
        }
    }
}

fn ok_line(line: &str) -> bool {
    line == "ok" || line.starts_with("ok ")
}

/// Whether a line before the `ok` is one the protocol gives for `command`: `list` prints
/// `key<TAB>actions<TAB>matches<TAB>injections` lines, `seed` a number. Anything else comes
/// from a socket that is not ours.
fn speaks_protocol(command: &str, line: &str) -> bool {
    match command.split_whitespace().next() {
        Some("list") => line.split('\t').count() == 4,
        Some("seed") => !line.is_empty() && line.bytes().all(|b| b.is_ascii_digit()),
        _ => false,
    }
}

/// An `err` reply carries a multi-line diagnostic (a bad rule, its caret line, a help line)
/// on one line, its line breaks written ` | `; each indented line starts a line again, so the
/// caret stands under the bad part.
fn diagnostic_lines(reason: &str) -> String {
    reason.replace(" |   ", "\n  ")
}

/// The words of the control protocol, which a user may type where the pid belongs.
const COMMANDS: [&str; 7] = ["set", "remove", "clear", "list", "wait", "seed", "powercut"];

/// A pid names the socket `run --ctl` made for that process; anything else is a path.
fn socket_of(target: &str) -> anyhow::Result<PathBuf> {
    if COMMANDS.contains(&target) && !Path::new(target).exists() {
        bail!(
            "`{target}` is a command, but the pid (or socket) comes first: \
             `failinject ctl PID {target} …`"
        );
    }
    const SUBCOMMANDS: [&str; 6] = ["run", "check", "points", "explore", "report", "ctl"];
    if SUBCOMMANDS.contains(&target) && !Path::new(target).exists() {
        bail!(
            "`{target}` is a failinject command, not a process: `failinject ctl` takes the pid \
             that `failinject run --ctl` printed (or a socket's path), then a command such as \
             `list`"
        );
    }
    if !target.bytes().all(|b| b.is_ascii_digit()) || target.is_empty() {
        let path = PathBuf::from(target);
        if let Ok(meta) = std::fs::metadata(&path) {
            use std::os::unix::fs::FileTypeExt as _;
            if !meta.file_type().is_socket() {
                bail!(
                    "{target} is not a socket (give the pid of a `failinject run --ctl`, or the path of its control socket)"
                );
            }
        }
        return Ok(path);
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
                "no process with that pid is running"
            }
        );
    }
    Ok(path)
}
