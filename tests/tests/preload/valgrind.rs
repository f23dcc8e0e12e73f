//! The preload under valgrind (memcheck), at a size CI can afford: threads writing under
//! injected write, short and fsync faults with the log on, and fork+exec children each with
//! a control socket. Every process must report no memory error and no definite leak.
//!
//! The longer runs (100,000 slow-path calls and more) and their results are in
//! docs/HAZARDS.md, "valgrind". It is `#[ignore]`d, so a plain `cargo test` says so instead
//! of passing without checking anything; `.ci/run` installs valgrind and runs it with
//! `--ignored` (and it fails, with the install line, where valgrind is missing).

use failinject_tests::{TempDir, bounded, compile_c, have, preload, workspace};
use std::process::Command;
use std::time::Duration;

#[test]
#[ignore = "needs valgrind: apt-get install -y valgrind (.ci/run runs it with --ignored)"]
fn writers_under_faults_have_no_memory_errors() {
    assert!(have("valgrind"), "valgrind is not installed: apt-get install -y valgrind");
    let dir = TempDir::new("valgrind");
    let src = workspace().join("tests/fixtures/stress/writers.c");
    let exe = compile_c(&src, &dir.join("writers"), &["-O1", "-g", "-pthread"]);
    let d = dir.path().to_str().unwrap();
    let runs: [(&str, Vec<&str>); 2] = [
        (
            "sys:write[path=*/t-*.dat]=5%error(EIO);sys:fsync=10%error(EIO);\
             sys:write[path=*/t-*.dat,size>8]=2%short(5)",
            vec![d, "2", "300"],
        ),
        (
            "sys:write[path=*/c*-*.dat]=5%error(EIO);sys:fsync=10%error(EIO)",
            vec!["spawn", d, "2", "1", "200"],
        ),
    ];
    for (i, (rules, args)) in runs.iter().enumerate() {
        let log = dir.join(&format!("log-{i}"));
        let mut cmd = Command::new("valgrind");
        cmd.args([
            "--error-exitcode=99",
            "--trace-children=yes",
            "--leak-check=full",
            "--errors-for-leak-kinds=definite",
        ])
        .arg(&exe)
        .args(args)
        .env("LD_PRELOAD", preload())
        .env("FAILINJECT", rules)
        .env("FAILINJECT_SEED", "4")
        .env("FAILINJECT_LOG", &log)
        .env("FAILINJECT_CTL", dir.join(&format!("ctl-{i}.%p")));
        let done = bounded(cmd, Duration::from_secs(300));
        assert_eq!(done.code, Some(0), "valgrind found errors with {rules}:\n{}", done.stderr);
        let summaries: Vec<&str> =
            done.stderr.lines().filter(|l| l.contains("ERROR SUMMARY:")).collect();
        assert!(!summaries.is_empty(), "valgrind ran: {}", done.stderr);
        assert!(summaries.iter().all(|l| l.contains("ERROR SUMMARY: 0 errors")), "{}", done.stderr);
        let injected = std::fs::read_to_string(&log).unwrap_or_default();
        assert!(injected.contains("\"type\":\"inject\""), "faults were injected under valgrind");
    }
}
