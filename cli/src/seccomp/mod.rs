//! The seccomp backend (SPEC §9): faults for programs the preload cannot reach.
//!
//! `LD_PRELOAD` only reaches programs that call libc through the dynamic loader. A static
//! binary, every Go program, a `syscall(2)` or a raw Rust backend talk to the kernel
//! directly. For them `failinject` starts the command under a **seccomp filter with user
//! notification**: the kernel stops each trapped system call and hands it to `failinject`,
//! which decides it with the same engine and answers:
//!
//! - an error or a value: the call is not made (`error(EIO)`, `return(0)`);
//! - continue: the kernel makes the call as asked (no rule applied, `sleep`, `print`);
//! - a call made on the program's behalf (`short`, `corrupt`, `full`): `perform.rs`.
//!
//! No root is needed: `no_new_privs` is set for the command, which also means setuid
//! programs below it do not gain privileges. The filter is fixed once installed, so it
//! traps exactly the calls the rules can act on (`plan.rs`); every other call runs at full
//! speed.
//!
//! The modules: `table` (the calls, described once), `plan` (rules fitted to the backend),
//! `filter` (the BPF program), `kernel` (the system interfaces, the only unsafe code),
//! `facts` (what rules match on, read from `/proc` and the program's memory), `perform`
//! (calls made on the program's behalf), `supervise` (the notification loop).

mod changes;
pub mod control;
mod crash;
mod facts;
mod filter;
pub mod handover;
mod kernel;
mod perform;
pub mod plan;
mod supervise;
pub mod table;

pub use kernel::{Abilities, Denied};

/// A call site under this backend, which sees no return addresses: the call's point (as the
/// log names it, `sys:write`) and the file it acts on, hashed as `site=` ids are shown. The
/// log's records, the record of changes and explore's runs all name sites with it.
pub fn site_of(point: &str, path: &[u8]) -> String {
    let mut name = Vec::with_capacity(point.len() + 1 + path.len());
    name.extend_from_slice(point.as_bytes());
    name.push(0);
    name.extend_from_slice(path);
    format!("{:x}", failinject_engine::name_hash(&name))
}
pub use supervise::Supervisor;

use std::os::fd::{AsRawFd as _, OwnedFd};
use std::process::Command;
use std::sync::Arc;

/// Which way faults reach the program.
#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Backend {
    /// The preload for dynamically linked programs, seccomp for static and Go programs.
    #[default]
    Auto,
    /// `libfailinject.so`, in the process (every libc spelling, call sites, stdio).
    Preload,
    /// A seccomp filter with user notification (system calls, any program).
    Seccomp,
}

/// Whether this machine lets the backend run, and what it can do here.
pub fn probe() -> Result<Abilities, Denied> {
    kernel::probe(&filter::program(&[]))
}

/// Sets `cmd` up to start under a filter trapping `plan`'s calls, served by `supervisor`
/// from the moment the child sends its listener.
#[allow(unsafe_code)]
pub fn prepare(
    cmd: &mut Command,
    plan: &plan::Plan,
    abilities: Abilities,
    supervisor: &Arc<Supervisor>,
) -> anyhow::Result<ChildEnd> {
    use anyhow::Context as _;
    use nix::sys::socket::{AddressFamily, SockFlag, SockType, socketpair};
    use std::os::unix::process::CommandExt as _;
    let (ours, theirs) =
        socketpair(AddressFamily::Unix, SockType::Stream, None, SockFlag::SOCK_CLOEXEC)
            .context("cannot make a socket pair for the seccomp listener")?;
    let program = filter::program(&plan.trapped);
    let killable = abilities.killable;
    let sock = theirs.as_raw_fd();
    // SAFETY: the closure runs in the forked child before exec. It calls only prctl,
    // seccomp, sendmsg and close (async-signal-safe system calls) on memory captured before
    // the fork (`program`, read only); it allocates nothing and takes no lock.
    unsafe {
        cmd.pre_exec(move || {
            let fd = kernel::install(&program, killable)?;
            kernel::send_fd(sock, fd)?;
            libc::close(fd);
            Ok(())
        });
    }
    let sup = Arc::clone(supervisor);
    std::thread::Builder::new()
        .name("seccomp-listen".into())
        .spawn(move || {
            if let Ok(Some(listener)) = kernel::recv_fd(ours.as_raw_fd()) {
                sup.serve(listener, false);
            }
        })
        .context("cannot start the supervisor")?;
    Ok(ChildEnd(theirs))
}

/// The child's end of the socket its listener comes through: drop it once the child is
/// started, so that a child that failed before sending is seen as gone.
pub struct ChildEnd(#[allow(dead_code)] OwnedFd);

/// Why `auto` picks this backend for the program at `path`: it is statically linked (no
/// preload reaches it) or a Go program (its runtime bypasses libc, cgo or not).
pub fn wants_seccomp(path: &std::path::Path) -> Option<String> {
    let shown = path.display();
    if crate::reach::is_go(path) {
        return Some(format!("{shown} is a Go program, whose runtime calls the kernel directly"));
    }
    crate::reach::is_static(path).then(|| format!("{shown} is statically linked"))
}
