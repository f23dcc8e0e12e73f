//! End-to-end tests of failinject: real programs (coreutils, python3, sqlite3, git) run under
//! the real `libfailinject.so`, with their messages, exit statuses and files checked.
//!
//! This crate holds the shared helpers; the tests themselves live in `tests/tests/preload/`,
//! one binary with a module per topic.
//!
//! - [`preload`] builds `libfailinject.so` once per test run (`cargo test` does not build a
//!   cdylib that no test links against) and returns its path;
//! - [`TempDir`] is a fresh directory removed when dropped;
//! - [`Run`] runs a command under the preload with rules and returns what it did;
//! - [`bounded`] and [`bounded_while`] run a command that must not hang, killing its process
//!   group past a time limit;
//! - [`compile_c`] builds a C fixture with `cc`;
//! - [`Ctl`] talks to a program's control socket.
#![forbid(unsafe_code)]

use std::ffi::OsStr;
use std::io::Read;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The workspace's root directory.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ is in the workspace").into()
}

/// The path of a freshly built `libfailinject.so` (debug profile), built on first use.
///
/// Panics with cargo's output when the build fails.
pub fn preload() -> &'static Path {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let out = Command::new(cargo)
            .args(["build", "--quiet", "-p", "failinject-preload"])
            .current_dir(workspace())
            .output()
            .expect("run cargo build -p failinject-preload");
        assert!(
            out.status.success(),
            "building libfailinject.so failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| workspace().join("target"));
        let so = target.join("debug").join("libfailinject.so");
        assert!(so.exists(), "{} was not built", so.display());
        so
    })
}

/// A fresh, empty directory, removed with everything in it when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    /// Makes a new directory under the system's temporary directory.
    pub fn new(name: &str) -> TempDir {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "failinject-{name}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }

    /// A path inside the directory.
    pub fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A command to run under `libfailinject.so`.
pub struct Run {
    cmd: Command,
    stdin: Option<Vec<u8>>,
}

/// What a command did.
#[derive(Debug)]
pub struct Done {
    /// Its exit code (`None` when killed by a signal).
    pub code: Option<i32>,
    /// The signal that killed it, if one did.
    pub signal: Option<i32>,
    /// Its standard output.
    pub stdout: String,
    /// Its standard error.
    pub stderr: String,
}

impl Run {
    /// `program` with `args`, under the preload, with the rules `rules` (may be empty) and a
    /// fixed seed, in the current directory `dir`; no other setting of ours is inherited.
    pub fn new<S: AsRef<OsStr>>(
        dir: &Path,
        rules: &str,
        program: impl AsRef<OsStr>,
        args: &[S],
    ) -> Run {
        let mut cmd = Command::new(program);
        cmd.args(args)
            .current_dir(dir)
            .env("LD_PRELOAD", preload())
            .env("FAILINJECT", rules)
            .env("FAILINJECT_SEED", "1")
            .env_remove("FAILINJECT_FILE")
            .env_remove("FAILPOINTS")
            .env_remove("FAILINJECT_ON_ERROR")
            .env_remove("FAILINJECT_LOG")
            .env_remove("FAILINJECT_CTL")
            .env_remove("FAILINJECT_RUN");
        Run { cmd, stdin: None }
    }

    /// Sets an environment variable.
    pub fn env(mut self, key: &str, value: impl AsRef<OsStr>) -> Run {
        self.cmd.env(key, value);
        self
    }

    /// Feeds `input` on standard input.
    pub fn stdin(mut self, input: impl Into<Vec<u8>>) -> Run {
        self.stdin = Some(input.into());
        self
    }

    /// Runs it with no standard input, in a process group of its own that is killed (failing
    /// the test) when it runs past `limit`: see [`bounded`].
    pub fn bounded(self, limit: Duration) -> Done {
        assert!(self.stdin.is_none(), "Run::bounded gives the program no standard input");
        bounded(self.cmd, limit)
    }

    /// Runs it to the end.
    pub fn run(mut self) -> Done {
        use std::io::Write;
        self.cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        self.cmd.stdin(if self.stdin.is_some() { Stdio::piped() } else { Stdio::null() });
        let mut child = self.cmd.spawn().expect("spawn the program");
        if let Some(input) = self.stdin.take() {
            let mut pipe = child.stdin.take().expect("stdin pipe");
            std::thread::spawn(move || {
                let _ = pipe.write_all(&input);
            });
        }
        let Output { status, stdout, stderr } = child.wait_with_output().expect("wait");
        Done {
            code: status.code(),
            signal: status.signal(),
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
        }
    }
}

/// What a run bounded in time did.
#[derive(Debug)]
pub struct Bounded {
    /// The command, as `{:?}` shows it (program, arguments and the variables set), for
    /// messages.
    pub what: String,
    /// Whether its process group was killed for running past the limit.
    pub timed_out: bool,
    /// Its status and output; after a timeout, SIGKILL and what it had written by then.
    pub done: Done,
}

impl std::ops::Deref for Bounded {
    type Target = Done;
    fn deref(&self) -> &Done {
        &self.done
    }
}

/// Runs `cmd` to the end, as [`bounded_while`] does, and fails the test (with the command and
/// its stderr) when it runs past `limit`: a hang or deadlock fails instead of hanging CI.
pub fn bounded(cmd: Command, limit: Duration) -> Done {
    let run = bounded_while(cmd, limit, |_| {});
    assert!(
        !run.timed_out,
        "{} ran past {limit:?} and was killed; its stderr:\n{}",
        run.what, run.stderr
    );
    run.done
}

/// Runs `cmd` in a process group of its own, with stdin from /dev/null and its stdout and
/// stderr captured (each drained on a thread, so a program that writes much cannot block on
/// a full pipe), and kills the whole group when it runs past `limit`, then returns what it
/// did and whether it timed out (so a test can look at a hung program's last words).
///
/// `during` runs on this thread meanwhile (to talk to the program, say) and is told to stop,
/// its flag set, once the program has exited. Processes the program leaves behind that still
/// hold its output open after it exited are killed with the group 5 s later.
pub fn bounded_while(
    mut cmd: Command,
    limit: Duration,
    during: impl FnOnce(&AtomicBool),
) -> Bounded {
    let what = format!("{cmd:?}");
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).process_group(0);
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {what}: {e}"));
    let start = Instant::now();
    let pgid = child.id();
    let out = drain(child.stdout.take().expect("stdout pipe"));
    let err = drain(child.stderr.take().expect("stderr pipe"));
    let stop = AtomicBool::new(false);
    let (status, timed_out) = std::thread::scope(|s| {
        let waiter = s.spawn(|| {
            let mut timed_out = false;
            let status = loop {
                if let Some(status) = child.try_wait().expect("wait") {
                    break status;
                }
                if start.elapsed() > limit {
                    timed_out = true;
                    kill_group(pgid);
                    break child.wait().expect("wait");
                }
                std::thread::sleep(Duration::from_millis(5));
            };
            stop.store(true, Ordering::Release);
            (status, timed_out)
        });
        during(&stop);
        waiter.join().expect("the waiting thread")
    });
    // Descendants still in the group keep the group id alive, so killing it cannot reach
    // an unrelated process.
    let collect = |rx: &mpsc::Receiver<Vec<u8>>| {
        let bytes = rx.recv_timeout(Duration::from_secs(5)).unwrap_or_else(|_| {
            kill_group(pgid);
            rx.recv().unwrap_or_default()
        });
        String::from_utf8_lossy(&bytes).into_owned()
    };
    let done = Done {
        code: status.code(),
        signal: status.signal(),
        stdout: collect(&out),
        stderr: collect(&err),
    };
    Bounded { what, timed_out, done }
}

/// Sends SIGKILL to every process of the process group `pgid`.
fn kill_group(pgid: u32) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{pgid}")])
        .stderr(Stdio::null())
        .status();
}

/// Reads all of `pipe` on a thread; the bytes arrive on the returned channel.
fn drain(mut pipe: impl Read + Send + 'static) -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        let _ = tx.send(bytes);
    });
    rx
}

/// Compiles the C source `src` into `out` with `cc` (never under the preload) and returns
/// `out`; fails the test with cc's messages when it does not compile. `flags` come after the
/// source, so that libraries (`-ldl`) link in order; options such as `-O1`, `-I DIR` or
/// `-shared` apply wherever they stand.
pub fn compile_c(src: &Path, out: &Path, flags: &[&str]) -> PathBuf {
    assert!(have("cc"), "`cc` is not on PATH: .ci/run installs it (apt-get install gcc)");
    let done = Command::new("cc")
        .arg("-o")
        .arg(out)
        .arg(src)
        .args(flags)
        .env_remove("LD_PRELOAD")
        .output()
        .expect("run cc");
    assert!(
        done.status.success(),
        "cc {flags:?} {} failed:\n{}",
        src.display(),
        String::from_utf8_lossy(&done.stderr)
    );
    out.to_path_buf()
}

/// The records of an injection log (JSON Lines); panics on a line that is not JSON, naming it.
pub fn log_records(path: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

/// Whether `program` can be found on `PATH`. A test that needs a tool fails without it, with
/// the line that installs it; `.ci/run` installs every tool the suite uses.
pub fn have(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A connection to a program's control socket (`FAILINJECT_CTL`).
pub struct Ctl(std::io::BufReader<std::os::unix::net::UnixStream>);

impl Ctl {
    /// Connects once the program serves the socket, retrying for up to 10 s; replies are
    /// awaited for at most 20 s.
    pub fn connect(path: &Path) -> Ctl {
        let start = std::time::Instant::now();
        loop {
            match std::os::unix::net::UnixStream::connect(path) {
                Ok(s) => {
                    // A reply that never comes fails the test instead of hanging it.
                    let _ = s.set_read_timeout(Some(std::time::Duration::from_secs(20)));
                    return Ctl(std::io::BufReader::new(s));
                }
                Err(_) if start.elapsed() < std::time::Duration::from_secs(10) => {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                Err(e) => panic!("cannot connect to {}: {e}", path.display()),
            }
        }
    }

    /// Sends one command; returns the reply's lines (the last one starts with ok or err).
    pub fn ask(&mut self, command: &str) -> Vec<String> {
        use std::io::{BufRead, Write};
        self.0.get_mut().write_all(format!("{command}\n").as_bytes()).expect("send");
        let mut lines = Vec::new();
        loop {
            let mut line = String::new();
            assert!(self.0.read_line(&mut line).expect("read") > 0, "closed after {lines:?}");
            let line = line.trim_end().to_owned();
            let done = line.starts_with("ok") || line.starts_with("err");
            lines.push(line);
            if done {
                return lines;
            }
        }
    }

    /// Sends raw bytes (for malformed input) and reads one reply line.
    pub fn raw(&mut self, bytes: &[u8]) -> String {
        use std::io::{BufRead, Write};
        self.0.get_mut().write_all(bytes).expect("send");
        let mut line = String::new();
        let _ = self.0.read_line(&mut line);
        line
    }
}
