//! PostgreSQL under `failinject run --ctl`, steered with `ctl --run` (issue 19): a server is
//! a postmaster and a process per duty (checkpointer, WAL writer, one backend per session),
//! all one run. The fsync PANIC, "fsyncgate" and the full WAL disk are the gallery's
//! (`examples/gallery/postgres.sh`, run by `gallery.rs`): one code path for readers and CI.
//!
//! The server runs as an unprivileged user the test creates when it runs as root (PostgreSQL
//! refuses root), with `failinject` itself, its library cache and its control sockets owned
//! by that user: what a user who is not root gets. It listens on a Unix socket in the test's
//! directory only (no TCP), with `trust` authentication.

use crate::common::*;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The user the server runs as when the test runs as root.
const USER: &str = "failinject-pg";

/// The directory of PostgreSQL's programs (Debian keeps them out of `PATH`).
fn pg_bin() -> PathBuf {
    let found = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin"))
        .find(|b| b.join("postgres").is_file() && b.join("initdb").is_file());
    found.expect("PostgreSQL is needed: apt-get install postgresql (.ci/run installs it)")
}

/// Whether the test runs as root (then the server runs as [`USER`]).
fn root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// `program args…` as the server's user (`common::as_user`).
fn as_user(program: &Path, args: &[&str]) -> Command {
    crate::common::as_user(USER, program, args)
}

/// A running server under `failinject run --ctl`, stopped and waited for when dropped.
struct Server {
    dir: TempDir,
    run: Option<Child>,
    /// The pid of `failinject run`: what `ctl --run` takes.
    run_pid: u32,
}

impl Server {
    /// `initdb`, then `postgres` under `failinject run --ctl`; returns once it accepts
    /// connections.
    fn start(name: &str) -> Server {
        Server::start_with(name, &[])
    }

    /// [`Server::start`] with more `postgres` arguments (`-c name=value`).
    fn start_with(name: &str, settings: &[&str]) -> Server {
        let bin = pg_bin();
        let dir = TempDir::new(name);
        for sub in ["", "home"] {
            let d = dir.join(sub);
            std::fs::create_dir_all(&d).unwrap();
            if root() {
                let chown = Command::new("chown").args([USER, &d.to_string_lossy()]).status();
                assert!(chown.is_ok_and(|s| s.success()), "chown {}", d.display());
            }
        }
        let data = dir.join("data");
        let init = as_user(
            &bin.join("initdb"),
            &["-D", &data.to_string_lossy(), "--auth=trust", "-U", "postgres", "--no-sync"],
        )
        .output()
        .unwrap();
        assert!(init.status.success(), "initdb: {}", text(&init.stderr));
        let log = std::fs::File::create(dir.join("server.log")).unwrap();
        if root() {
            let _ = Command::new("chown")
                .args([USER, &dir.join("server.log").to_string_lossy()])
                .status();
        }
        let postgres = bin.join("postgres");
        let home = dir.join("home");
        let run = as_user(
            installed(),
            &[
                "run",
                "--ctl",
                "--",
                &postgres.to_string_lossy(),
                "-D",
                &data.to_string_lossy(),
                "-k",
                &dir.path().to_string_lossy(),
                "-c",
                "listen_addresses=",
                "-c",
                "logging_collector=off",
                // Dynamic shared memory in the data directory, not in /dev/shm, where a
                // killed server would leave its segments behind.
                "-c",
                "dynamic_shared_memory_type=mmap",
            ]
            .into_iter()
            .chain(settings.iter().copied())
            .collect::<Vec<_>>(),
        )
        .envs(user_env(&home))
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
        let run_pid = run.id();
        let server = Server { dir, run: Some(run), run_pid };
        server.until("the server never accepted connections", 30, |s| s.sql("select 1").is_ok());
        server
    }

    /// The server's log so far (PostgreSQL's and failinject's lines).
    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
    }

    /// Runs `sql` with `psql`; its output, or its error.
    fn sql(&self, sql: &str) -> Result<String, String> {
        let out = Command::new(pg_bin().join("psql"))
            .args(["-h", &self.dir.path().to_string_lossy(), "-U", "postgres", "-XAtq"])
            .args(["-v", "ON_ERROR_STOP=1", "-c", sql])
            .env("PGCONNECT_TIMEOUT", "5")
            .output()
            .unwrap();
        if out.status.success() {
            Ok(text(&out.stdout).trim().to_string())
        } else {
            Err(text(&out.stderr))
        }
    }

    /// `failinject ctl --run PID COMMAND…` as the server's user.
    fn ctl(&self, command: &[&str]) -> std::process::Output {
        let pid = self.run_pid.to_string();
        let mut args = vec!["ctl", "--run", pid.as_str()];
        args.extend_from_slice(command);
        as_user(installed(), &args).envs(user_env(&self.dir.join("home"))).output().unwrap()
    }

    /// Waits up to `secs` seconds for `done`, failing with `what` and the server's log.
    fn until(&self, what: &str, secs: u64, mut done: impl FnMut(&Server) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while !done(self) {
            assert!(Instant::now() < deadline, "{what}; server log:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The pids of the server's processes now, with their titles.
    fn processes(&self) -> Vec<(u32, String)> {
        let Some(postmaster) = self.postmaster() else { return vec![] };
        let mut out = vec![(postmaster, "postmaster".to_string())];
        let children =
            std::fs::read_to_string(format!("/proc/{postmaster}/task/{postmaster}/children"))
                .unwrap_or_default();
        for pid in children.split_whitespace().filter_map(|p| p.parse().ok()) {
            let title = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            out.push((pid, String::from_utf8_lossy(&title).trim_end_matches(['\0', ' ']).into()));
        }
        out
    }

    /// The postmaster: the child of `failinject run`.
    fn postmaster(&self) -> Option<u32> {
        let run = self.run_pid;
        std::fs::read_to_string(format!("/proc/{run}/task/{run}/children"))
            .ok()?
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    }

    /// Stops the server (fast shutdown) and returns `failinject run`'s summary.
    fn stop(mut self) -> String {
        if let Some(pm) = self.postmaster() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pm as i32),
                nix::sys::signal::Signal::SIGINT,
            );
        }
        let mut run = self.run.take().unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while run.try_wait().unwrap().is_none() {
            assert!(Instant::now() < deadline, "the server did not stop: {}", self.log());
            std::thread::sleep(Duration::from_millis(20));
        }
        self.log()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut run) = self.run.take() {
            if let Some(pm) = self.postmaster() {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pm as i32),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
            let _ = run.kill();
            let _ = run.wait();
        }
    }
}

/// The environment of the server's user: `failinject`'s cache and sockets in a directory of
/// its own.
fn user_env(home: &Path) -> Vec<(&'static str, PathBuf)> {
    vec![("HOME", home.into()), ("XDG_CACHE_HOME", home.into()), ("XDG_RUNTIME_DIR", home.into())]
}

/// The checkpointer is killed (SIGKILL, a `kill` rule set over `ctl --run` on its title) eight
/// times with six sessions open: each time the postmaster, which stays the same process, ends
/// the others, runs one startup process to recover, and serves again; the sessions' committed
/// work survives every crash, and the killed processes' counts reach the summary.
#[test]
fn eight_crash_restarts_of_the_checkpointer_leave_one_postmaster_and_every_commit() {
    let server = Server::start("pg-restarts");
    server.sql("create table t(i int)").unwrap();
    let postmaster = server.postmaster().expect("the postmaster");
    let rule = r#"sys:@sync|@write[proc="postgres: checkpointer*"]=kill"#;
    for round in 1..=8 {
        // Six sessions, each with a committed row, one of them left open across the crash.
        let mut sessions: Vec<Child> = (0..6)
            .map(|k| {
                Command::new(pg_bin().join("psql"))
                    .args(["-h", &server.dir.path().to_string_lossy(), "-U", "postgres", "-XAtq"])
                    .stdin(Stdio::piped())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .map(|mut c| {
                        use std::io::Write as _;
                        let stdin = c.stdin.as_mut().unwrap();
                        let _ = writeln!(stdin, "insert into t values ({});", round * 10 + k);
                        c
                    })
                    .unwrap()
            })
            .collect();
        server.until("the sessions did not commit", 30, |s| {
            s.sql("select count(*) from t").is_ok_and(|n| n == (round * 6).to_string())
        });
        let crashes = |s: &Server| s.log().matches("checkpointer process (PID").count();
        let before = crashes(&server);
        let set = server.ctl(&["set", rule]);
        assert!(set.status.success(), "{}", text(&set.stderr));
        let _ = server.sql("checkpoint");
        server.until("the checkpointer was not killed", 30, |s| crashes(s) > before);
        let clear = server.ctl(&["clear"]);
        assert!(clear.status.success(), "{}", text(&clear.stderr));
        server.until("no recovery", 60, |s| s.sql("select 1").is_ok());
        for s in &mut sessions {
            let _ = s.kill();
            let _ = s.wait();
        }
        let log = server.log();
        assert!(log.contains("was terminated by signal 9: Killed"), "{log}");
        assert_eq!(server.postmaster(), Some(postmaster), "round {round}: the postmaster changed");
        let procs = server.processes();
        let startups = procs.iter().filter(|(_, t)| t.starts_with("postgres: startup")).count();
        assert!(startups <= 1, "round {round}: {procs:?}");
        let checkpointers =
            procs.iter().filter(|(_, t)| t.starts_with("postgres: checkpointer")).count();
        assert_eq!(checkpointers, 1, "round {round}: {procs:?}");
    }
    assert_eq!(server.sql("select count(*) from t").unwrap(), "48");
    // One startup process (recovery) per crash. The new checkpointer may be killed once more
    // before `clear` reaches the postmaster (its end-of-recovery checkpoint writes too): such
    // a crash is recovered from the same way.
    let log = server.log();
    let crashes = log.matches("checkpointer process (PID").count();
    assert!(crashes >= 8, "{log}");
    assert_eq!(log.matches("database system was interrupted").count(), crashes, "{log}");
    let summary = server.stop();
    assert!(summary.contains("their counts come from the run's shared state"), "{summary}");
}
