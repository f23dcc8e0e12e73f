//! A run is one machine (SPEC §3.2, §6): the processes of one `failinject run` share one
//! `full` budget, their counts survive SIGKILL, and `ctl --run` talks to all of them and to
//! those that start later.

use crate::common::*;
use std::process::Stdio;
use std::time::{Duration, Instant};

#[test]
fn a_process_killed_by_sigkill_still_has_exact_counts_and_no_socket_left() {
    let dir = TempDir::new("run-killed");
    let sockets = dir.join("sockets");
    std::fs::create_dir(&sockets).unwrap();
    let template = sockets.join("%p.sock");
    // Twenty writes to `f`, one in ten failed, then the shell kills itself: no exit record.
    let script = "for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do \
                  echo x >> f 2>/dev/null; done; kill -9 $$";
    let out = output(failinject(
        dir.path(),
        &[
            "run",
            "--seed",
            "3",
            "--ctl",
            &template.to_string_lossy(),
            "-r",
            "sys:write[path=*/f]=10%error(EIO)",
            "--",
            "sh",
            "-c",
            script,
        ],
    ));
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(137), "{err}");
    let row =
        err.lines().find(|l| l.contains("sys:write[path=*/f]")).unwrap_or_else(|| panic!("{err}"));
    let cells: Vec<&str> = row.split_whitespace().collect();
    // Exact: every write matched, none counted as a lower bound.
    assert_eq!(cells[0], "20", "{err}");
    assert!(!err.contains('≥'), "{err}");
    assert!(err.contains("1 process ended without an exit record (SIGKILL)"), "{err}");
    let injected: u64 = cells[1].parse().unwrap();
    assert!((1..20).contains(&injected), "{err}");
    // The killed shell could not remove its control socket; the run did.
    let left: Vec<_> = std::fs::read_dir(&sockets).unwrap().collect();
    assert!(left.is_empty(), "sockets left behind: {left:?}");
}

#[test]
fn full_is_one_disk_for_every_process_of_the_run() {
    let dir = TempDir::new("run-full");
    // Three programs append 3000 bytes each to the same file: the run's disk holds 4 KiB.
    let script = "head -c 3000 /dev/zero > g; head -c 3000 /dev/zero >> g; \
                  head -c 3000 /dev/zero >> g; echo status $?";
    let out = output(failinject(
        dir.path(),
        &["run", "-r", "sys:@write[path=*/g]=full(4K)", "--", "sh", "-c", script],
    ));
    let err = text(&out.stderr);
    assert_eq!(std::fs::metadata(dir.join("g")).unwrap().len(), 4096, "{err}");
    assert_eq!(err.matches("No space left on device").count(), 2, "{err}");
    assert_eq!(text(&out.stdout).trim(), "status 1", "the last head found the disk full");
}

/// A `failinject run` child, killed with what it started if the test fails before it ends.
struct Running(Option<std::process::Child>);

impl Running {
    fn id(&self) -> u32 {
        self.0.as_ref().map_or(0, std::process::Child::id)
    }

    fn finish(mut self) -> std::process::Output {
        self.0.take().unwrap().wait_with_output().unwrap()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            // The run's processes are its descendants: end the shell's group too.
            let _ =
                std::process::Command::new("pkill").args(["-P", &child.id().to_string()]).status();
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `ctl --run PID LINE` as the test's user, with its output.
fn ctl_run(dir: &std::path::Path, pid: u32, line: &[&str]) -> std::process::Output {
    let mut args = vec!["ctl", "--run"];
    let pid = pid.to_string();
    args.push(&pid);
    args.extend_from_slice(line);
    output(failinject(dir, &args))
}

#[test]
fn ctl_run_reaches_every_process_and_those_started_later() {
    let dir = TempDir::new("run-ctl");
    // The shell and a sleeper wait for `go`; then `touch x` starts, a process the rule set
    // over `ctl --run` must reach although it did not exist when the rule was sent.
    let script = "sleep 30 & S=$!; while [ ! -e go ]; do sleep 0.05; done; kill $S; \
                  touch x && echo touched";
    let run = Running(Some(
        failinject(dir.path(), &["run", "--ctl", "--", "sh", "-c", script])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    ));
    let run_pid = run.id();
    // Wait until the shell and the long sleeper both answer.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let list = ctl_run(dir.path(), run_pid, &["list"]);
        let replies = text(&list.stdout);
        if replies.lines().filter(|l| l.ends_with("ok 0 rules")).any(|l| l.contains("sleep 30"))
            && replies.lines().any(|l| l.contains(" sh -c ") && l.ends_with("ok 0 rules"))
        {
            break;
        }
        assert!(Instant::now() < deadline, "the run's processes never answered: {replies}");
        std::thread::sleep(Duration::from_millis(50));
    }

    let rule = "sys:utimensat|futimens[path=*/x]=error(EACCES)";
    let set = ctl_run(dir.path(), run_pid, &["set", rule]);
    let replies = text(&set.stdout);
    assert!(set.status.success(), "{replies}{}", text(&set.stderr));
    // Every reply names its process: pid, title, then the reply.
    for line in replies.lines() {
        let (pid, rest) = line.split_once(' ').unwrap();
        assert!(pid.parse::<u32>().is_ok(), "{line}");
        assert!(rest.ends_with(": ok sys:utimensat|futimens[path=*/x]"), "{line}");
    }
    assert!(replies.lines().any(|l| l.contains("sleep 30")), "{replies}");

    // A bad rule is refused once, before any process sees it.
    let bad = ctl_run(dir.path(), run_pid, &["set", "sys:wrte=error(EIO)"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(text(&bad.stderr).contains("unknown libc function `wrte`"), "{}", text(&bad.stderr));
    assert!(text(&bad.stdout).is_empty());

    std::fs::write(dir.join("go"), "").unwrap();
    let out = run.finish();
    let err = text(&out.stderr);
    assert!(!text(&out.stdout).contains("touched"), "touch succeeded: {err}");
    assert!(err.contains("Permission denied"), "{err}");
    let row = err
        .lines()
        .find(|l| l.contains("sys:utimensat|futimens"))
        .unwrap_or_else(|| panic!("{err}"));
    assert_eq!(row.split_whitespace().nth(1), Some("1"), "one injection, in touch: {err}");
}

#[test]
fn ctl_run_on_a_pid_that_is_not_a_run_says_so() {
    let dir = TempDir::new("run-ctl-not");
    let out = ctl_run(dir.path(), std::process::id(), &["list"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains(&format!("pid {} is not a failinject run", std::process::id())), "{err}");
    // A run without control sockets cannot take commands either.
    let run = Running(Some(failinject(dir.path(), &["run", "--", "sleep", "5"]).spawn().unwrap()));
    let deadline = Instant::now() + Duration::from_secs(20);
    let msg = loop {
        let out = ctl_run(dir.path(), run.id(), &["list"]);
        let err = text(&out.stderr);
        if err.contains("serves no control sockets") || Instant::now() > deadline {
            break err;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    drop(run);
    assert!(msg.contains("start it with `failinject run --ctl`"), "{msg}");
}

#[test]
fn processes_left_running_when_the_command_ends_are_named() {
    let dir = TempDir::new("run-lingering");
    // A daemon in a session of its own, and one that cleared its environment (and so left the
    // preload behind): `failinject run` adopts both as the child subreaper.
    let script = "setsid sleep 3 & env -i sleep 3 & sleep 0.5; exit 0";
    let out = output(failinject(
        dir.path(),
        &["run", "-r", "sys:write[path=*/none]=error(EIO)", "--", "sh", "-c", script],
    ));
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    let line = err
        .lines()
        .find(|l| l.contains("of the run still running after the command ended"))
        .unwrap_or_else(|| panic!("{err}"));
    assert!(line.contains("2 processes"), "{line}");
    assert_eq!(line.matches("(sleep 3)").count(), 2, "{line}");
    // Still running is not killed: no exit record is made up for them.
    assert!(!err.contains("ended without an exit record (SIGKILL)"), "{err}");
}

/// The longest a run of the crash fixture may take before it is killed and the test fails.
const LIMIT: Duration = Duration::from_secs(60);

/// Threads of one process on the run's shared model, through a power cut: each file holds
/// exactly what its thread synced (the preload's `crash::many_threads…` test, run-wide).
#[test]
fn threads_writing_through_a_run_wide_cut_leave_exactly_what_they_synced() {
    let rule = "sys:access[path=*checkpoint]=powercut";
    let (dir, out) = run_fixture("run-threads", rule, true, &["threads", "8"]);
    assert_eq!(out.code, Some(137), "{}", out.stderr);
    for t in 0..8 {
        for f in ['a', 'b'] {
            let data = std::fs::read_to_string(dir.join(&format!("t{t}{f}"))).unwrap();
            let want: String = (0..50)
                .map(|k| {
                    let head = format!("thread {t} file {f} record {k} ");
                    format!("{head}{}\n", ".".repeat(63 - head.len()))
                })
                .collect();
            assert!(data == want, "t{t}{f}: {} bytes, not the synced 50 records", data.len());
        }
    }
}

/// `failinject run -r RULE [-q] -- crash MODE DIR…` (the crash fixture) in a directory of its
/// own, bounded by [`LIMIT`]; the directory and what the run did.
fn run_fixture(
    name: &str,
    rule: &str,
    quiet: bool,
    mode: &[&str],
) -> (TempDir, failinject_tests::Done) {
    let dir = TempDir::new(name);
    let exe = crash_fixture(&dir).to_string_lossy().into_owned();
    let d = dir.path().to_string_lossy().into_owned();
    let mut args = vec!["run", "-r", rule];
    if quiet {
        args.push("-q");
    }
    args.extend(["--", exe.as_str(), mode[0], d.as_str()]);
    args.extend(&mode[1..]);
    let done = failinject_tests::bounded(failinject(dir.path(), &args), LIMIT);
    (dir, done)
}

/// The crash fixture of the preload's tests (`tests/fixtures/crash/crash.c`), built in `dir`.
fn crash_fixture(dir: &TempDir) -> std::path::PathBuf {
    let include = format!("-I{}", workspace().join("preload/include").display());
    compile_c(
        &workspace().join("tests/fixtures/crash/crash.c"),
        &dir.join("crash"),
        &["-O1", "-pthread", "-Wall", "-Wextra", "-Werror", &include, "-ldl"],
    )
}

/// A power cut is the whole run's: the parent cuts, and the unsynced writes of a child that
/// already exited and of one blocked in `read` are rolled back too; the blocked child is
/// killed with the rest.
#[test]
fn a_power_cut_rolls_back_every_process_of_the_run_and_kills_them_all() {
    let rule = "sys:access[path=*checkpoint]=powercut";
    let (dir, out) = run_fixture("run-cut", rule, false, &["procs"]);
    let err = out.stderr.clone();
    assert_eq!(out.code, Some(137), "{err}");
    assert!(err.starts_with("failinject: power cut by rule 1; 3 processes"), "{err}");
    for name in ["gone", "child", "parent"] {
        let got = std::fs::read_to_string(dir.join(name)).unwrap();
        assert_eq!(got, format!("synced {name}\n"), "{name} was not rolled back: {err}");
    }
    let child: u32 =
        std::fs::read_to_string(dir.join("child.pid")).unwrap().trim().parse().unwrap();
    // Gone, or a zombie that nobody reaped yet (a container's init may not).
    let stat = std::fs::read_to_string(format!("/proc/{child}/stat")).unwrap_or_default();
    let state = stat.rsplit_once(") ").map_or("", |(_, rest)| &rest[..1]);
    assert!(stat.is_empty() || state == "Z", "the child survived: {stat}");
    assert!(!err.contains("warning: power cut"), "{err}");
}

/// `lose(E)` drops every process's unsynced writes to the file: a child wrote it and exited,
/// the parent's fsync (through another name) fails and the child's write is gone.
#[test]
fn lose_drops_the_unsynced_writes_of_every_process_of_the_run() {
    let rule = "sys:fsync[path=*/alias]=lose(EIO)";
    let (_dir, out) = run_fixture("run-lose", rule, true, &["loseothers"]);
    assert_eq!(out.stdout, "fsync=-1 errno=EIO now=synced shared\n", "{}", out.stderr);
}

/// `powercut` over the control socket, to the whole run (`ctl --run PID powercut`): every
/// process killed, every unsynced write rolled back, `sync`'s work kept.
#[test]
fn a_power_cut_sent_over_ctl_run_ends_the_whole_run() {
    let dir = TempDir::new("run-ctl-cut");
    // A rule that turns write tracking on and never fires.
    let rule = "sys:access[path=/nonexistent/cut]=powercut";
    let script = "echo synced > f; sync; echo unsynced >> f; sleep 30 & touch ready; wait";
    let run = Running(Some(
        failinject(dir.path(), &["run", "--ctl", "-r", rule, "--", "sh", "-c", script])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    ));
    let deadline = Instant::now() + Duration::from_secs(20);
    while !dir.join("ready").exists() {
        assert!(Instant::now() < deadline, "the script never got ready");
        std::thread::sleep(Duration::from_millis(20));
    }
    // Words that are no cut are refused before any process sees them; a mode that keeps
    // changes is refused by processes that record none one by one (no rule asked for it).
    let bad = ctl_run(dir.path(), run.id(), &["powercut", "tron"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(text(&bad.stderr).contains("unknown word `tron`"), "{}", text(&bad.stderr));
    let torn = ctl_run(dir.path(), run.id(), &["powercut", "torn"]);
    let said = text(&torn.stdout) + &text(&torn.stderr);
    assert!(said.contains("records none one by one") && !said.contains("ok power cut"), "{said}");
    let cut = ctl_run(dir.path(), run.id(), &["powercut"]);
    assert!(text(&cut.stdout).contains(": ok power cut"), "{}", text(&cut.stderr));
    let out = run.finish();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(137), "{err}");
    assert!(err.contains("failinject: power cut over the control socket;"), "{err}");
    assert_eq!(std::fs::read_to_string(dir.join("f")).unwrap(), "synced\n", "{err}");
}

/// A cut that keeps changes keeps them across the run: one process wrote `a` and exited,
/// another wrote `b` and cut the power with `powercut(prefix)`; every state is a prefix of
/// the run's writes in the order they were made, whichever process made them, and the seeds
/// reach prefixes that end in either process.
#[test]
fn a_prefix_cut_keeps_a_prefix_of_every_process_writes_in_order() {
    assert!(failinject_tests::have("python3"), "python3 is needed: apt-get install -y python3");
    let dir = TempDir::new("run-prefix");
    let writer = |name: &str, cut: bool| {
        format!(
            "import os\nfd = os.open('{name}', os.O_RDWR)\nfor i in range(3): \
             os.pwrite(fd, b'{}' * 4, 4 * i)\n{}",
            name.to_uppercase(),
            if cut { "os.access('cut', 0)\n" } else { "" }
        )
    };
    let script =
        format!("python3 -c \"{}\" && python3 -c \"{}\"", writer("a", false), writer("b", true));
    let mut seen = std::collections::BTreeSet::new();
    for seed in 1..=12 {
        for f in ["a", "b"] {
            std::fs::write(dir.join(f), "000000000000").unwrap();
        }
        let seed_text = seed.to_string();
        let args =
            ["run", "-q", "--seed", &seed_text, "-r", "sys:access[path=cut]=powercut(prefix)"];
        let mut cmd = failinject(dir.path(), &args);
        cmd.args(["--", "sh", "-c", &script]);
        let done = failinject_tests::bounded(cmd, LIMIT);
        assert_eq!(done.code, Some(137), "{done:?}");
        let (a, b) = (
            std::fs::read_to_string(dir.join("a")).unwrap(),
            std::fs::read_to_string(dir.join("b")).unwrap(),
        );
        // k writes kept: the first min(k, 3) of a's, then of b's.
        let kept = |s: &str, c: char| s.chars().filter(|x| *x == c).count() / 4;
        let (ka, kb) = (kept(&a, 'A'), kept(&b, 'B'));
        assert_eq!(a, "A".repeat(4 * ka) + &"0".repeat(12 - 4 * ka), "seed {seed}");
        assert_eq!(b, "B".repeat(4 * kb) + &"0".repeat(12 - 4 * kb), "seed {seed}");
        assert!(kb == 0 || ka == 3, "seed {seed}: b's writes kept before all of a's: {a} {b}");
        seen.insert(ka + kb);
    }
    assert!(seen.iter().any(|k| (1..3).contains(k)) && seen.iter().any(|k| *k > 3), "{seen:?}");
}

/// A bare `LD_PRELOAD` tree is a run too: `ctl --run` with its founder's pid reaches the
/// founder and the process it started, each under its own control socket.
#[test]
fn ctl_run_reaches_a_bare_preload_tree_by_its_founders_pid() {
    let dir = TempDir::new("run-ctl-bare");
    let template = dir.join("%p.sock");
    let mut tree = std::process::Command::new("sh");
    tree.args(["-c", "sleep 30 & touch ready; wait"])
        .current_dir(dir.path())
        .env("LD_PRELOAD", failinject_tests::preload())
        .env("FAILINJECT", "sys:access[path=/nonexistent]=powercut")
        .env("FAILINJECT_CTL", &template)
        .env("XDG_RUNTIME_DIR", cache())
        .env_remove("FAILINJECT_RUN");
    let run = Running(Some(tree.spawn().unwrap()));
    let deadline = Instant::now() + Duration::from_secs(20);
    while !dir.join("ready").exists() {
        assert!(Instant::now() < deadline, "the tree never got ready");
        std::thread::sleep(Duration::from_millis(20));
    }
    let founder = run.id();
    let mut out = ctl_run(dir.path(), founder, &["list"]);
    // The sleeper may not have made its socket yet: ask again for a while.
    while !text(&out.stdout).contains("sleep") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        out = ctl_run(dir.path(), founder, &["list"]);
    }
    let said = text(&out.stdout);
    assert!(said.contains(&format!("{founder} sh")), "the founder did not answer: {said}");
    assert!(said.contains(" sleep 30: ok 1 rules"), "the child did not answer: {said}");
    drop(run);
}
