//! Memory and descriptors (issue 9, `docs/HAZARDS.md`, "Stress"): two million intercepted
//! calls with injection active leave the program's RSS and descriptor count flat, and the
//! preload's own descriptors (the log, the control socket and its connections) never reach an
//! exec'd program: they are all close-on-exec.
//!
//! The fixture `tests/fixtures/stress/churn.c` samples its own `/proc/self/status` (VmRSS)
//! and `/proc/self/fd` as it goes, and lists its descriptors after an exec without the
//! preload.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use failinject_tests::{Ctl, TempDir, bounded, bounded_while, compile_c, preload, workspace};

/// Compiles `tests/fixtures/stress/NAME.c` into `dir`.
fn compile(dir: &TempDir, name: &str) -> PathBuf {
    let src = workspace().join("tests/fixtures/stress").join(format!("{name}.c"));
    compile_c(&src, &dir.join(name), &["-O1", "-Wall", "-Wextra", "-Werror"])
}

const CALLS: u64 = 2_000_000;

#[test]
fn two_million_intercepted_calls_leave_rss_and_descriptors_flat() {
    let dir = TempDir::new("res-churn");
    let exe = compile(&dir, "churn");
    // Every call takes the slow path (`@all[kind=any]=off`), 1 % of the pwrites and 10 % of the
    // side file's writes fail and are logged, and the control socket is served.
    let rules = "sys:pwrite[path=*/churn.dat]=1%error(EIO);\
                 sys:write[path=*/side.dat]=10%error(ENOSPC);sys:@all[kind=any]=off";
    let mut cmd = Command::new(&exe);
    cmd.args([dir.path().to_str().unwrap(), &CALLS.to_string()])
        .env("LD_PRELOAD", preload())
        .env("FAILINJECT", rules)
        .env("FAILINJECT_SEED", "5")
        .env("FAILINJECT_LOG", dir.join("log.jsonl"))
        .env("FAILINJECT_CTL", dir.join("ctl.sock"))
        .env_remove("FAILINJECT_FILE")
        .env_remove("FAILPOINTS");
    let done = bounded(cmd, Duration::from_secs(180));
    let (out, err) = (&done.stdout, &done.stderr);
    assert_eq!(done.code, Some(0), "{out}\n{err}");
    let samples: Vec<(u64, u64, u64, u64)> = out
        .lines()
        .filter_map(|l| l.strip_prefix("sample "))
        .map(|l| {
            let v: Vec<u64> = l
                .split_whitespace()
                .map(|kv| kv.split_once('=').unwrap().1.parse().unwrap())
                .collect();
            (v[0], v[1], v[2], v[3])
        })
        .collect();
    eprintln!("samples (calls, rss_kb, fds, failures): {samples:?}");
    assert_eq!(samples.len(), 20, "{out}");
    assert_eq!(samples.last().unwrap().0, CALLS);
    let failures = samples.last().unwrap().3;
    assert!(failures > CALLS / 200, "injection was not active: {failures} failures");
    // Descriptors: the same count at every sample.
    let fds = samples[0].2;
    assert!(samples.iter().all(|s| s.2 == fds), "descriptor count moved: {samples:?}");
    // Memory: after a warm-up of 200,000 calls, RSS grows by less than 512 KiB over the
    // remaining 1.8 million calls (a leak of one byte per call would be 1.7 MiB).
    let base = samples[1].1;
    let peak = samples.iter().skip(1).map(|s| s.1).max().unwrap();
    assert!(peak - base < 512, "RSS grew from {base} KiB to {peak} KiB: {samples:?}");
}

#[test]
fn the_preloads_descriptors_do_not_leak_into_exec_children() {
    let dir = TempDir::new("res-cloexec");
    let exe = compile(&dir, "churn");
    let sock = dir.join("ctl.sock");
    let rules_file = dir.join("rules.txt");
    std::fs::write(&rules_file, "sys:write[path=*/never]=error(EIO)\n").unwrap();
    let mut cmd = Command::new(&exe);
    cmd.args(["exec-list", dir.path().to_str().unwrap()])
        .env("LD_PRELOAD", preload())
        .env(
            "FAILINJECT",
            "sys:open|openat[path=*/probe,site=1]=off;sys:open|openat[path=*/probe]=error(EACCES)",
        )
        .env("FAILINJECT_FILE", &rules_file)
        .env("FAILINJECT_SEED", "5")
        .env("FAILINJECT_LOG", dir.join("log.jsonl"))
        .env("FAILINJECT_CTL", &sock)
        .env_remove("FAILPOINTS");
    // A live connection while the program execs: its accepted socket must not survive either.
    let mut ctl = None;
    let run = bounded_while(cmd, Duration::from_secs(30), |_| {
        let mut c = Ctl::connect(&sock);
        assert!(c.ask("list").last().unwrap().starts_with("ok 3 rules"));
        std::fs::write(dir.join("go"), "").unwrap();
        ctl = Some(c);
    });
    drop(ctl);
    assert!(!run.timed_out, "{} ran past 30 s: {}", run.what, run.stderr);
    let (out, err) = (&run.stdout, &run.stderr);
    assert_eq!(run.code, Some(0), "{out}\n{err}");
    // The open was injected (so the log wrote a record) before the exec.
    assert!(out.contains(&format!("probe={}", libc_eacces())), "{out}\n{err}");
    let log = std::fs::read_to_string(dir.join("log.jsonl")).unwrap();
    assert!(log.contains("\"type\":\"inject\""), "{log}");
    // What the same program lists when it runs with no preload at all: descriptors this
    // test's own process passes down (a build tool's jobserver pipe, say) are in both.
    let mut baseline = Command::new(&exe);
    baseline.arg("list").env_remove("LD_PRELOAD");
    let base = bounded(baseline, Duration::from_secs(30)).stdout;
    let listed = |s: &str| -> Vec<String> {
        s.lines()
            .filter(|l| l.starts_with("fd=") || l.starts_with("listed="))
            .map(|l| {
                if l.contains("pipe:[") {
                    l.split(" -> ").next().unwrap().to_string()
                } else {
                    l.to_string()
                }
            })
            .collect()
    };
    assert_eq!(listed(out), listed(&base), "descriptors that reached the exec'd program");
}

/// EACCES on Linux.
fn libc_eacces() -> i32 {
    13
}
