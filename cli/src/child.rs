//! Running the command of `failinject run`: signals forwarded, status passed on.
//!
//! `failinject` stands between the user and the program, so it must be invisible: a signal
//! sent to it (`kill -TERM`, a supervisor stopping the job) reaches the program, and its exit
//! status is the program's. The signals below are blocked in every thread of ours before the
//! child is spawned (and unblocked in the child before it execs) and a thread takes them with
//! `sigwaitinfo`. A signal the kernel sent to the whole foreground process group (Ctrl-C at a
//! terminal, a hang-up) has reached the child already and is not sent twice.

use anyhow::Context as _;
use nix::sys::signal::{SigSet, Signal};
use nix::unistd::Pid;
use std::process::{Command, ExitStatus};

/// The signals passed on to the child.
const FORWARDED: [Signal; 8] = [
    Signal::SIGHUP,
    Signal::SIGINT,
    Signal::SIGQUIT,
    Signal::SIGTERM,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
    Signal::SIGALRM,
    Signal::SIGWINCH,
];

/// How the command ended, as the exit status `failinject run` passes on.
pub enum Ended {
    /// It ran and exited or was killed.
    Ran(ExitStatus),
    /// It could not be started: 127 when not found, 126 when not executable.
    NotStarted { code: u8, reason: String },
}

impl Ended {
    /// The status to exit with: the child's code, 128+N for signal N, 127 or 126.
    pub fn code(&self) -> u8 {
        use std::os::unix::process::ExitStatusExt as _;
        match self {
            Ended::Ran(s) => match (s.code(), s.signal()) {
                (Some(c), _) => c as u8,
                (None, Some(sig)) => (128 + sig) as u8,
                (None, None) => 1,
            },
            Ended::NotStarted { code, .. } => *code,
        }
    }
}

/// How a command that ran ended, for the summary.
pub fn ending(status: &ExitStatus) -> crate::summary::Ending {
    use std::os::unix::process::ExitStatusExt as _;
    match (status.code(), status.signal()) {
        (None, Some(sig)) => crate::summary::Ending::Signaled(sig),
        (code, _) => crate::summary::Ending::Exited(code.unwrap_or(1)),
    }
}

/// Ends this process as `status` says the command ended, when a signal ended it: the same
/// signal, its default action restored and unblocked. Returns when the command exited (or
/// the signal does not end a process).
pub fn end_like(status: &ExitStatus) {
    use nix::sys::signal::{SigHandler, SigSet, signal};
    use std::os::unix::process::ExitStatusExt as _;
    let Some(sig) = status.signal().and_then(|s| Signal::try_from(s).ok()) else { return };
    // SAFETY: restoring the default action installs no handler of ours.
    #[allow(unsafe_code)]
    let _ = unsafe { signal(sig, SigHandler::SigDfl) };
    let mut set = SigSet::empty();
    set.add(sig);
    let _ = set.thread_unblock();
    let _ = nix::sys::signal::raise(sig);
    let _ = nix::sys::signal::kill(nix::unistd::Pid::this(), sig);
}

/// Blocks the forwarded signals in this thread (and so in threads it starts later). Call
/// before spawning any thread.
pub fn block_forwarded() -> anyhow::Result<()> {
    forwarded().thread_block().context("cannot block signals")
}

fn forwarded() -> SigSet {
    let mut set = SigSet::empty();
    FORWARDED.iter().for_each(|&s| set.add(s));
    set
}

/// Spawns `cmd`, calls `started` with its pid, forwards signals to it until it ends.
pub fn run(mut cmd: Command, started: impl FnOnce(u32)) -> anyhow::Result<Ended> {
    unblock_in_child(&mut cmd);
    let program = cmd.get_program().to_string_lossy().into_owned();
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => return Ok(not_started(&program, &e)),
    };
    let pid = Pid::from_raw(child.id() as i32);
    std::thread::Builder::new()
        .name("forward-signals".into())
        .spawn(move || forward(pid))
        .context("cannot start the signal-forwarding thread")?;
    started(child.id());
    let status = child.wait().context("cannot wait for the command")?;
    Ok(Ended::Ran(status))
}

fn not_started(program: &str, e: &std::io::Error) -> Ended {
    match e.kind() {
        std::io::ErrorKind::NotFound => {
            Ended::NotStarted { code: 127, reason: format!("{program}: command not found") }
        }
        _ => Ended::NotStarted { code: 126, reason: format!("cannot execute {program}: {e}") },
    }
}

/// The child must not inherit our blocked mask: a program that cannot receive SIGTERM is not
/// the program the user runs.
#[allow(unsafe_code)]
fn unblock_in_child(cmd: &mut Command) {
    use std::os::unix::process::CommandExt as _;
    let set = forwarded();
    // SAFETY: the closure runs in the forked child before exec; it only calls
    // pthread_sigmask (through nix), which is async-signal-safe, and allocates nothing.
    unsafe {
        cmd.pre_exec(move || set.thread_unblock().map_err(std::io::Error::from));
    }
}

/// Takes the blocked signals one by one and sends each to `child`.
fn forward(child: Pid) {
    let set = forwarded();
    loop {
        let Some((signal, from_kernel)) = wait_signal(&set) else { continue };
        if from_kernel {
            // Sent to the process group, which the child is in.
            continue;
        }
        // The child may be gone already; there is nothing to do then.
        let _ = nix::sys::signal::kill(child, signal);
    }
}

/// `sigwaitinfo`: the next signal of `set` and whether the kernel itself sent it (a terminal's
/// Ctrl-C, a hang-up), as opposed to a process (`kill`, `sigqueue`).
#[allow(unsafe_code)]
fn wait_signal(set: &SigSet) -> Option<(Signal, bool)> {
    // SAFETY: siginfo_t is a plain C struct for which all-zero bytes are a valid value.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is a valid, initialised sigset_t and `info` a live siginfo_t we own;
    // sigwaitinfo only writes into `info`.
    let n = unsafe { libc::sigwaitinfo(set.as_ref(), &mut info) };
    if n < 0 {
        return None;
    }
    Some((Signal::try_from(n).ok()?, info.si_code == libc::SI_KERNEL))
}
