//! `failinject run` end to end: real programs, the real library, exit statuses, signals, the
//! summary checked against the log, and every bad-input path.

use crate::common::*;
use std::time::{Duration, Instant};

/// The README's first command: `dd` runs into a full disk after 1 MiB.
#[test]
fn dd_hits_a_full_disk_and_the_summary_matches_the_log() {
    let dir = TempDir::new("run-dd");
    let log = dir.join("run.jsonl");
    let out = output(failinject(
        dir.path(),
        &[
            "run",
            "--log",
            log.to_str().unwrap(),
            "-r",
            "sys:write[path=*/disk.img]=full(1M)",
            "-r",
            "sys:fsync=error(EIO)",
            "--",
            "dd",
            "if=/dev/zero",
            "of=disk.img",
            "bs=64K",
            "count=32",
        ],
    ));
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "dd fails as it does on a full disk: {stderr}");
    assert!(stderr.contains("No space left on device"), "{stderr}");
    assert_eq!(std::fs::metadata(dir.join("disk.img")).unwrap().len(), 1 << 20);

    // The summary's counts are the log's.
    let records = records(&log);
    let injected = records.iter().filter(|r| r["type"] == "inject").count();
    let exit = records.iter().find(|r| r["type"] == "exit").expect("dd exits with exit()");
    let matched = exit["rules"][0]["matches"].as_u64().unwrap();
    assert_eq!(exit["rules"][0]["key"], "sys:write[path=*/disk.img]");
    assert_eq!(injected, 1, "one ENOSPC: dd stops at the first error");
    assert_eq!(matched, 17, "16 writes of 64 KiB went through, the 17th failed");
    let row = stderr
        .lines()
        .find(|l| l.ends_with("sys:write[path=*/disk.img]=full(1M)"))
        .unwrap_or_else(|| panic!("no summary row: {stderr}"));
    let numbers: Vec<&str> = row.split_whitespace().take(2).collect();
    assert_eq!(numbers, [matched.to_string(), injected.to_string()], "{row}");
    assert!(stderr.contains("1 process, seed "), "{stderr}");
    assert!(
        stderr.contains("warning: rule `sys:fsync=error(EIO)` never injected"),
        "dd never syncs: {stderr}"
    );
    assert!(!stderr.contains("rule `sys:write[path=*/disk.img]=full(1M)` never"), "{stderr}");
}

#[test]
fn exit_status_is_the_commands() {
    let dir = TempDir::new("run-status");
    let status = |args: &[&str]| output(failinject(dir.path(), args)).status.code();
    assert_eq!(status(&["run", "-q", "--", "sh", "-c", "exit 7"]), Some(7));
    assert_eq!(status(&["run", "-q", "--", "true"]), Some(0));
    assert_eq!(status(&["run", "-q", "--", "sh", "-c", "kill -USR1 $$"]), Some(128 + 10));
    assert_eq!(status(&["run", "-q", "--", "sh", "-c", "kill -KILL $$"]), Some(128 + 9));
    // A `kill` task ends the program with its signal.
    assert_eq!(
        status(&[
            "run",
            "-q",
            "-r",
            "sys:write[path=*/f]=kill(SEGV)",
            "--",
            "sh",
            "-c",
            "echo x > f"
        ]),
        Some(128 + 11)
    );
}

#[test]
fn a_command_that_cannot_run_gives_127_or_126() {
    let dir = TempDir::new("run-missing");
    let out = output(failinject(dir.path(), &["run", "--", "no-such-command-failinject"]));
    assert_eq!(out.status.code(), Some(127));
    assert!(text(&out.stderr).contains("no-such-command-failinject: command not found"));

    std::fs::write(dir.join("data.txt"), "not a program\n").unwrap();
    let out = output(failinject(dir.path(), &["run", "--", "./data.txt"]));
    assert_eq!(out.status.code(), Some(126));
    assert!(text(&out.stderr).contains("cannot execute ./data.txt"), "{}", text(&out.stderr));
}

#[test]
fn a_bad_rule_stops_everything_before_the_command_runs() {
    let dir = TempDir::new("run-bad");
    let out = output(failinject(
        dir.path(),
        &["run", "-r", "sys:fsync[path=*.wal]=error(EIO)", "-r", "sys:wrte=error(EIO)", "--"]
            .into_iter()
            .chain(["touch", "ran"])
            .collect::<Vec<_>>(),
    ));
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("rule 1 of -r #2, column 5: unknown libc function `wrte`"), "{stderr}");
    assert!(stderr.contains("  sys:wrte=error(EIO)\n      ^^^^\n  help: did you mean `write`?"));
    assert!(!dir.join("ran").exists(), "nothing runs when a rule is bad");

    let rules = dir.join("rules.txt");
    std::fs::write(&rules, "sys:write=full(1X)\n").unwrap();
    let out = output(failinject(
        dir.path(),
        &["run", "-f", rules.to_str().unwrap(), "--", "touch", "ran"],
    ));
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("rules.txt, column 16"), "{}", text(&out.stderr));
    assert!(!dir.join("ran").exists());

    let out = output(failinject(dir.path(), &["run", "-f", "missing.txt", "--", "touch", "ran"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("cannot read the rules file missing.txt"));

    let out = output(failinject(dir.path(), &["run", "-r", "sys:write=off"]));
    assert_eq!(out.status.code(), Some(2), "a command is required");
    let out = output(failinject(dir.path(), &["run", "--seed", "nine", "--", "true"]));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
}

#[test]
fn rules_files_seed_and_quiet() {
    let dir = TempDir::new("run-file");
    let rules = dir.join("rules.txt");
    std::fs::write(&rules, "# flaky disk\nsys:write[path=*/out]=50%error(EIO)\n").unwrap();
    let script = "for i in 1 2 3 4 5 6 7 8 9 10 11 12; do echo $i >> out 2>/dev/null; done; \
                  echo $FAILINJECT_SEED; wc -l < out";
    let run = |seed: &str| {
        output(failinject(
            dir.path(),
            &["run", "--seed", seed, "-f", rules.to_str().unwrap(), "--", "sh", "-c", script],
        ))
    };
    let first = run("42");
    let _ = std::fs::remove_file(dir.join("out"));
    let second = run("42");
    let (a, b) = (text(&first.stdout), text(&second.stdout));
    assert!(a.starts_with("42\n"), "the seed reaches the program: {a}");
    assert_eq!(a, b, "the same seed gives the same faults");
    let written: u32 = a.lines().nth(1).unwrap().trim().parse().unwrap();
    assert!(written > 0 && written < 12, "about half the writes failed: {written}");
    assert!(text(&first.stderr).contains("seed 42 (repeat with --seed 42)"));

    let quiet = output(failinject(dir.path(), &["run", "-q", "-r", "sys:fsync=off", "--", "true"]));
    assert!(quiet.stderr.is_empty(), "-q prints no summary: {}", text(&quiet.stderr));
}

#[test]
fn the_preload_goes_first_and_other_preloads_stay() {
    let dir = TempDir::new("run-env");
    let out = output(
        failinject(dir.path(), &["run", "-q", "--", "sh", "-c", "echo \"$LD_PRELOAD\""])
            .env("LD_PRELOAD", "/lib/x86_64-linux-gnu/libm.so.6"),
    );
    let value = text(&out.stdout);
    let (ours, rest) = value.trim().split_once(':').expect("two entries");
    assert!(ours.ends_with(".so") && ours.contains("libfailinject"), "{value}");
    assert!(ours.starts_with(cache().to_str().unwrap()), "the built-in copy is used: {ours}");
    assert_eq!(rest, "/lib/x86_64-linux-gnu/libm.so.6");
}

/// Every process of the run counts: a shell and the programs it starts, each with a log of
/// its own through `%p`.
#[test]
fn the_summary_adds_up_every_process() {
    let dir = TempDir::new("run-procs");
    let template = dir.join("log.%p.jsonl");
    let out = output(failinject(
        dir.path(),
        &[
            "run",
            "--log",
            template.to_str().unwrap(),
            "-r",
            "sys:openat|open[path=*/nope-*]=error(EACCES)",
            "--",
            "sh",
            "-c",
            "cat nope-1 2>/dev/null; cat nope-2 2>/dev/null; cat nope-3 2>/dev/null; exit 0",
        ],
    ));
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let logs: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("log."))
        .collect();
    assert_eq!(logs.len(), 4, "the shell and three cats each keep a log");
    let injected: usize = logs
        .iter()
        .map(|e| records(&e.path()).iter().filter(|r| r["type"] == "inject").count())
        .sum();
    assert_eq!(injected, 3);
    assert!(stderr.contains("4 processes"), "{stderr}");
    let row = stderr.lines().find(|l| l.contains("nope-*")).expect("summary row");
    assert_eq!(row.split_whitespace().nth(1), Some("3"), "{row}");
}

#[test]
fn signals_sent_to_failinject_reach_the_command() {
    let dir = TempDir::new("run-signal");
    let child = failinject(
        dir.path(),
        &[
            "run",
            "-q",
            "--",
            "sh",
            "-c",
            "trap 'echo got-term; exit 3' TERM; touch ready; \
          while :; do sleep 0.05; done",
        ],
    )
    .stdout(std::process::Stdio::piped())
    .spawn()
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !dir.join("ready").exists() {
        assert!(Instant::now() < deadline, "the command never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    let kill = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(3), "the shell's TERM trap ran and its status came back");
    assert_eq!(text(&out.stdout).trim(), "got-term");
}

#[test]
fn programs_no_preload_reaches_are_named() {
    let dir = TempDir::new("run-reach");
    // setuid to another user: the loader drops LD_PRELOAD for it.
    let setuid = dir.join("true-setuid");
    std::fs::copy("/bin/true", &setuid).unwrap();
    let chown = std::process::Command::new("chown").args(["nobody"]).arg(&setuid).status();
    if chown.is_ok_and(|s| s.success()) {
        std::process::Command::new("chmod").arg("u+s").arg(&setuid).status().unwrap();
        let out = output(failinject(dir.path(), &["run", "-q", "--", "./true-setuid"]));
        assert!(text(&out.stderr).contains("it is setuid"), "{}", text(&out.stderr));
    } else {
        eprintln!("skipping the setuid case: chown is not permitted here");
    }

    // A static program, compiled here (`cc -static` needs libc.a, which libc6-dev ships).
    let src = dir.join("hello.c");
    std::fs::write(&src, "int main(void) { return 0; }\n").unwrap();
    compile_c(&src, &dir.join("hello-static"), &["-static"]);
    let args = ["run", "-q", "--backend", "preload", "--", "./hello-static"];
    let out = output(failinject(dir.path(), &args));
    assert_eq!(out.status.code(), Some(0));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("it is statically linked"), "{stderr}");
    assert!(stderr.contains("try --backend seccomp"), "{stderr}");
    // `auto` takes the seccomp backend for it instead, and says so.
    let out = output(failinject(dir.path(), &["run", "--", "./hello-static"]));
    assert_eq!(out.status.code(), Some(0));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("backend seccomp: ./hello-static is statically linked"), "{stderr}");

    let out = output(failinject(dir.path(), &["run", "-q", "--", "true"]));
    assert!(out.stderr.is_empty(), "a plain dynamic program gets no warning");
}

/// The summary's first line says how the command ended, in the words of SPEC §5.
#[test]
fn the_first_line_says_how_the_command_ended() {
    let dir = TempDir::new("run-ending");
    let first = |args: &[&str]| {
        let out = output(failinject(dir.path(), args));
        let stderr = text(&out.stderr);
        let line = stderr.lines().find(|l| l.contains(" seed ")).unwrap_or("").to_string();
        (out.status.code(), line, stderr)
    };
    let (code, line, all) = first(&["run", "--", "sh", "-c", "kill -SEGV $$"]);
    assert_eq!(code, Some(128 + 11));
    assert!(line.starts_with("failinject: ended by signal 11 (SIGSEGV); "), "{all}");

    let (code, line, all) = first(&[
        "run",
        "-r",
        "sys:fsync=error(EIO)",
        "-r",
        "sys:write[path=*/f]=kill",
        "--",
        "sh",
        "-c",
        "echo x > f",
    ]);
    assert_eq!(code, Some(128 + 9));
    assert!(line.starts_with("failinject: killed by rule 2 (kill); "), "{all}");

    let (code, line, all) =
        first(&["run", "-r", "sys:write[path=*/f]=powercut", "--", "sh", "-c", "echo x > f"]);
    assert_eq!(code, Some(128 + 9));
    assert!(line.starts_with("failinject: power cut by rule 1; "), "{all}");

    let (code, line, all) = first(&["run", "--", "sh", "-c", "exit 3"]);
    assert_eq!(code, Some(3));
    assert!(line.starts_with("failinject: exited with status 3; "), "{all}");
    let (_, line, all) = first(&["run", "--", "true"]);
    assert!(line.starts_with("failinject: 1 process, seed"), "{all}");
}

/// A process killed after an injection leaves no exit record, but the run's shared state has
/// its counts: exact, never a lower bound (`≥`), and the process is named.
#[test]
fn a_killed_process_has_exact_counts() {
    let dir = TempDir::new("run-bound");
    let out = output(failinject(
        dir.path(),
        &["run", "-r", "sys:write[path=*/f]=kill", "--", "sh", "-c", "echo x > f"],
    ));
    let stderr = text(&out.stderr);
    let row = stderr.lines().find(|l| l.ends_with("sys:write[path=*/f]=kill")).expect(&stderr);
    let numbers: Vec<&str> = row.split_whitespace().take(2).collect();
    assert_eq!(numbers, ["1", "1"], "{stderr}");
    assert!(stderr.contains("(sh -c echo x > f)"), "the process is named: {stderr}");
    assert!(stderr.contains("their counts come from the run's shared state"), "{stderr}");
}

/// A process that a catchable signal ends writes its exit record too (issue 18): the library
/// handles the signals left at their default, writes the record and ends the process by the
/// same signal. The program still sees the default disposition, and its own handler wins.
#[test]
fn exit_records_after_a_catchable_signal() {
    let dir = TempDir::new("run-signal");
    let out = output(failinject(
        dir.path(),
        &["run", "-r", "sys:write[path=*/f]=off", "--", "sh", "-c", "echo x > f; kill -TERM $$"],
    ));
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(128 + 15), "{stderr}");
    assert!(stderr.contains("ended by signal 15 (SIGTERM)"), "{stderr}");
    let row = stderr.lines().find(|l| l.ends_with("sys:write[path=*/f]=off")).expect(&stderr);
    let numbers: Vec<&str> = row.split_whitespace().take(2).collect();
    assert_eq!(numbers, ["1", "0"], "exact, not a lower bound: {stderr}");
    assert!(!stderr.contains("left no exit record"), "{stderr}");

    // python3 asks for SIGTERM's disposition: the default, as without the library.
    assert!(have("python3"), "python3 is needed (.ci/run installs it)");
    let out = output(failinject(
        dir.path(),
        &[
            "run",
            "-q",
            "--",
            "python3",
            "-c",
            "import signal; print(signal.getsignal(15) == signal.SIG_DFL)",
        ],
    ));
    assert_eq!(text(&out.stdout).trim(), "True", "{}", text(&out.stderr));
    // A handler the program installs replaces ours.
    let out = output(failinject(
        dir.path(),
        &[
            "run",
            "-q",
            "--",
            "python3",
            "-c",
            "import os, signal; signal.signal(10, lambda *a: print('mine')); os.kill(os.getpid(), 10)",
        ],
    ));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), "mine");
}

/// Processes that end with `_exit` or `abort` write their exit record, so their matches are
/// exact (issue 18).
#[test]
fn exit_records_after_underscore_exit_and_abort() {
    let dir = TempDir::new("run-ends");
    for (end, status) in [("os._exit(3)", 3), ("os.abort()", 128 + 6)] {
        let program = format!(
            "import os\nfd = os.open('f', os.O_WRONLY | os.O_CREAT, 0o644)\n\
             for _ in range(3):\n    try:\n        os.write(fd, b'x')\n    except OSError:\n        pass\n{end}\n"
        );
        let log = dir.join("ends.jsonl");
        let out = output(failinject(
            dir.path(),
            &[
                "run",
                "--log",
                log.to_str().unwrap(),
                "-r",
                "sys:write[path=*/f]=1*error(EIO)",
                "--",
                "python3",
                "-c",
                &program,
            ],
        ));
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(status), "{stderr}");
        let row = stderr.lines().find(|l| l.ends_with("=1*error(EIO)")).expect(&stderr);
        let numbers: Vec<&str> = row.split_whitespace().take(2).collect();
        assert_eq!(numbers, ["3", "1"], "exact, no ≥: {stderr}");
        let exit = records(&log).into_iter().rev().find(|r| r["type"] == "exit").expect(&stderr);
        let reason = if status == 3 { "_exit" } else { "abort" };
        assert_eq!(exit["reason"], reason);
    }
}
