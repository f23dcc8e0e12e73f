//! Threads of ours: the only way the library starts a thread.
//!
//! A thread the library starts in someone else's program must never run that program's
//! signal handlers. A process-directed signal (`kill(pid, …)`, SIGCHLD, a terminal's SIGINT)
//! is delivered to any thread that does not block it, and a program that blocks a signal
//! in its one thread to run its handler later, at a moment of its choosing (PostgreSQL's
//! postmaster does exactly that with SIGCHLD), would otherwise have the handler run at once,
//! on our thread, concurrently with its own code.
//!
//! A new thread inherits the signal mask of the thread that creates it, so every signal is
//! blocked in the creating thread around the creation and restored after: the new thread has
//! every signal blocked before it runs a single instruction of ours. Blocking inside the new
//! thread would leave a window between its start and that first line.

use std::io;

/// Starts a thread named `name` running `f`, with every signal blocked in it for its whole
/// life. The calling thread's mask is unchanged when this returns.
pub fn spawn(name: &str, f: impl FnOnce() + Send + 'static) -> io::Result<()> {
    let old = block_all();
    let started = std::thread::Builder::new().name(name.into()).spawn(f);
    restore(&old);
    started.map(drop)
}

/// Blocks every signal in the calling thread; returns the mask it had.
fn block_all() -> libc::sigset_t {
    // SAFETY: `sigset_t` is plain data; `sigfillset` and `pthread_sigmask` only write the
    // sets they are given. SIGKILL and SIGSTOP cannot be blocked, which the kernel ignores.
    unsafe {
        let mut all: libc::sigset_t = std::mem::zeroed();
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_SETMASK, &all, &mut old);
        old
    }
}

/// Puts back the mask [`block_all`] returned.
fn restore(old: &libc::sigset_t) {
    // SAFETY: `old` is a mask `pthread_sigmask` filled in; the previous mask is not wanted.
    unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, old, std::ptr::null_mut()) };
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The blocked set of the calling thread.
    fn mask() -> libc::sigset_t {
        // SAFETY: as in `block_all`; a null new set only reads the current mask.
        unsafe {
            let mut cur: libc::sigset_t = std::mem::zeroed();
            libc::pthread_sigmask(libc::SIG_SETMASK, std::ptr::null(), &mut cur);
            cur
        }
    }

    fn blocked(set: &libc::sigset_t, sig: libc::c_int) -> bool {
        // SAFETY: `set` is a filled-in mask.
        unsafe { libc::sigismember(set, sig) == 1 }
    }

    #[test]
    fn our_threads_block_every_signal_and_the_caller_keeps_its_mask() {
        let before = mask();
        assert!(!blocked(&before, libc::SIGUSR1), "the test thread starts with SIGUSR1 open");
        let (tx, rx) = std::sync::mpsc::channel();
        spawn("failinject-test", move || {
            let m = mask();
            let all = [libc::SIGUSR1, libc::SIGCHLD, libc::SIGINT, libc::SIGTERM, libc::SIGALRM]
                .iter()
                .all(|s| blocked(&m, *s));
            tx.send(all).unwrap();
        })
        .unwrap();
        assert!(rx.recv().unwrap(), "a thread of ours had a signal open");
        assert!(!blocked(&mask(), libc::SIGUSR1), "the caller's mask was not restored");
    }
}
