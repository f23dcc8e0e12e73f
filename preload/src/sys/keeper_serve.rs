//! The keeper of a bare `LD_PRELOAD` run (`bare.rs`): a process of our own, forked from the
//! run's first process before its `main`, that serves `$FAILINJECT_RUN/keeper` as
//! `failinject run` does under a run it started (`keeper.rs` is the client side).
//!
//! It is forked twice, so that the program never has it as a child (no SIGCHLD, nothing for
//! its `wait` to find), in a session of its own (a terminal's Ctrl-C does not reach it), with
//! every signal blocked before it runs a line of its own, its working directory `/`, and no
//! descriptor of the program's open (a pipe it kept would keep the program's reader waiting
//! for an end of file).

use super::kfile::close;
use libc::{c_int, c_long};
use std::ffi::CString;
use std::path::Path;

/// A listening `SOCK_SEQPACKET` socket at `path` (mode 0600 through the private directory it
/// is in), close-on-exec.
pub fn listen(path: &Path) -> Result<c_int, String> {
    let Some((s, addr)) = super::keeper::seqpacket(path.as_os_str().as_encoded_bytes()) else {
        return Err(format!(
            "cannot make a socket at {} (too long a path, or errno {})",
            path.display(),
            super::raw::errno()
        ));
    };
    // SAFETY: `addr` is a live sockaddr_un and its size is passed with it; listen takes none.
    let ok = unsafe {
        libc::syscall(
            libc::SYS_bind,
            s as c_long,
            &addr as *const libc::sockaddr_un,
            std::mem::size_of::<libc::sockaddr_un>() as c_long,
        ) == 0
            && libc::syscall(libc::SYS_listen, s as c_long, 64 as c_long) == 0
    };
    if !ok {
        let e = super::raw::errno();
        close(s);
        return Err(format!("cannot listen on {}: errno {e}", path.display()));
    }
    Ok(s)
}

/// Forks the keeper, which writes its pid at byte 8 of the file `state` (the run's keeper
/// word) and then runs `serve` with `listener`, the only descriptor it keeps. Returns the
/// keeper's pid once that word holds it. Called in our constructor, before `main`, when the
/// program has no other thread yet.
pub fn spawn(state: &Path, listener: c_int, serve: fn(c_int) -> !) -> Result<u32, String> {
    let state = CString::new(state.as_os_str().as_encoded_bytes())
        .map_err(|_| "the run's path holds a NUL byte".to_string())?;
    // SAFETY: fork in our constructor, before `main`; the child below only makes system
    // calls and then runs our own code in a process of its own.
    let first = unsafe { libc::fork() };
    if first < 0 {
        return Err(format!("cannot fork the run's keeper: errno {}", super::raw::errno()));
    }
    if first == 0 {
        // The middle process: a session of its own, the keeper's parent for an instant.
        // SAFETY: setsid and fork take no pointers; this process only exits after them.
        let keeper = unsafe {
            libc::setsid();
            libc::fork()
        };
        if keeper == 0 {
            become_keeper(&state, listener, serve);
        }
        if keeper > 0 {
            write_keeper_pid(&state, keeper as u32);
        }
        super::raw::exit_group(if keeper > 0 { 0 } else { 1 });
    }
    let mut status = 0;
    // SAFETY: waits for our own child, which exits at once; `status` is a live int.
    unsafe { libc::waitpid(first, &mut status, 0) };
    let mut word = [0u8; 4];
    let fd = super::kfile::open_at(libc::AT_FDCWD, &state, libc::O_RDONLY, 0);
    let got = if fd >= 0 { super::kfile::pread_full(fd, &mut word, 8) } else { 0 };
    close(fd);
    let keeper = u32::from_le_bytes(word);
    if got != 4 || keeper == super::raw::pid() || status != 0 {
        return Err("the run's keeper did not start".into());
    }
    Ok(keeper)
}

/// Writes `pid` as the run's keeper into the file `state`.
fn write_keeper_pid(state: &std::ffi::CStr, pid: u32) {
    let fd = super::kfile::open_at(libc::AT_FDCWD, state, libc::O_WRONLY, 0);
    if fd >= 0 {
        super::kfile::pwrite_all(fd, &pid.to_le_bytes(), 8);
        close(fd);
    }
}

/// The keeper's first steps: every signal blocked, `/` as its directory, the program's
/// descriptors closed, its pid written; then `serve`.
fn become_keeper(state: &std::ffi::CStr, listener: c_int, serve: fn(c_int) -> !) -> ! {
    // SAFETY: a full set, filled by sigfillset, applied to this (only) thread.
    unsafe {
        let mut all: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_SETMASK, &all, std::ptr::null_mut());
    }
    // SAFETY: chdir reads a NUL-terminated literal; close_range takes no pointers. Every
    // descriptor but the listener goes (the program's pipes, files, terminal).
    unsafe {
        libc::chdir(c"/".as_ptr());
        if listener > 0 {
            libc::syscall(
                libc::SYS_close_range,
                0 as c_long,
                (listener - 1) as c_long,
                0 as c_long,
            );
        }
        libc::syscall(
            libc::SYS_close_range,
            (listener + 1) as c_long,
            c_long::from(u32::MAX >> 1),
            0 as c_long,
        );
    }
    write_keeper_pid(state, super::raw::pid());
    serve(listener)
}

/// What a client asked of the keeper.
pub enum Request {
    /// Nothing within the wait (or a handle was kept, which needs nothing more).
    Nothing,
    /// The power is cut (`dirs`: directory entries too).
    Cut { dirs: bool },
}

/// The keeper's connections: the listener, and each process's connection.
pub struct Server {
    listener: c_int,
    conns: Vec<c_int>,
}

impl Server {
    /// Serves `listener`.
    pub fn new(listener: c_int) -> Server {
        Server { listener, conns: Vec::new() }
    }

    /// Waits up to `ms` for requests and answers them: a descriptor handed over is kept, and
    /// its number sent back as its handle. Returns the first cut asked for.
    pub fn next(&mut self, ms: i32) -> Request {
        let mut fds: Vec<libc::pollfd> = std::iter::once(self.listener)
            .chain(self.conns.iter().copied())
            .map(|fd| libc::pollfd { fd, events: libc::POLLIN, revents: 0 })
            .collect();
        // SAFETY: `fds` is a live array of `fds.len()` pollfd entries.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms) };
        if n <= 0 {
            return Request::Nothing;
        }
        if fds[0].revents & libc::POLLIN != 0 {
            // SAFETY: accept4 with null address pointers takes none of the peer's address.
            let c = unsafe {
                libc::accept4(
                    self.listener,
                    std::ptr::null_mut(),
                    std::ptr::null_mut(),
                    libc::SOCK_CLOEXEC,
                )
            };
            if c >= 0 {
                self.conns.push(c);
            }
        }
        let mut closed = Vec::new();
        for p in &fds[1..] {
            if p.revents == 0 {
                continue;
            }
            match receive(p.fd) {
                Some((b'R', _, Some(fd))) => {
                    let reply = fd.to_ne_bytes();
                    // SAFETY: `reply` is a live 4-byte buffer.
                    unsafe { libc::send(p.fd, reply.as_ptr().cast(), 4, libc::MSG_NOSIGNAL) };
                }
                Some((b'C', dirs, _)) => return Request::Cut { dirs: dirs != 0 },
                // A descriptor sent with anything but a registration is not kept.
                Some((_, _, Some(fd))) => close(fd),
                Some(_) => {}
                None => closed.push(p.fd),
            }
        }
        self.conns.retain(|c| !closed.contains(c));
        for c in closed {
            close(c);
        }
        Request::Nothing
    }
}

/// One request from `conn`: its first byte, its second (0 if none), and the descriptor
/// attached; `None` at the end of the connection.
fn receive(conn: c_int) -> Option<(u8, u8, Option<c_int>)> {
    let mut data = [0u8; 2];
    let mut iov = libc::iovec { iov_base: data.as_mut_ptr().cast(), iov_len: data.len() };
    let mut control = [0u64; 4];
    // SAFETY: an all-zero msghdr is a valid empty one.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of_val(&control) as _;
    // SAFETY: `msg` points at live buffers of the sizes it gives; MSG_CMSG_CLOEXEC makes a
    // received descriptor close-on-exec.
    let n = unsafe { libc::recvmsg(conn, &mut msg, libc::MSG_CMSG_CLOEXEC) };
    if n <= 0 {
        return None;
    }
    // SAFETY: the kernel filled the control buffer and set msg_controllen; CMSG_FIRSTHDR
    // returns null or a header inside it, whose data holds one int for SCM_RIGHTS.
    let fd = unsafe {
        let cmsg = libc::CMSG_FIRSTHDR(&msg);
        (!cmsg.is_null()
            && (*cmsg).cmsg_level == libc::SOL_SOCKET
            && (*cmsg).cmsg_type == libc::SCM_RIGHTS)
            .then(|| std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast::<c_int>()))
    };
    Some((data[0], if n > 1 { data[1] } else { 0 }, fd))
}

/// Sends SIGKILL to `pid`.
pub fn kill(pid: u32) {
    signal(pid, libc::SIGKILL);
}

/// Sends SIGSTOP to `pid`.
pub fn stop(pid: u32) {
    signal(pid, libc::SIGSTOP);
}

fn signal(pid: u32, sig: c_int) {
    // SAFETY: kill takes no pointers.
    unsafe { libc::syscall(libc::SYS_kill, pid as c_long, sig as c_long) };
}
