//! Heavy load and live reconfiguration (issue 9, `docs/HAZARDS.md`, "Stress"): a C program
//! with 8 threads appending unique records under probabilistic write and fsync faults, while
//! this test rewrites its rules through the control socket hundreds of times a second; then
//! `fork`+`exec` children of it sharing one log file.
//!
//! What must hold: the program finishes (each run is killed after [`LIMIT`], failing the
//! test), every record it meant to write is in its file exactly once and in order, no call
//! fails with an errno no rule injects, and the log's `inject` records are exactly the
//! failures the program saw (it counts them and prints the count). With children, every
//! line of the shared log is one whole JSON object.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use failinject_tests::{TempDir, bounded, bounded_while, compile_c, preload, workspace};
use serde_json::Value;

/// The longest a run may take before it is killed and the test fails.
const LIMIT: Duration = Duration::from_secs(120);

/// Compiles `tests/fixtures/stress/NAME.c` into `dir`.
fn compile(dir: &TempDir, name: &str) -> PathBuf {
    let src = workspace().join("tests/fixtures/stress").join(format!("{name}.c"));
    compile_c(&src, &dir.join(name), &["-O1", "-pthread", "-Wall", "-Wextra", "-Werror"])
}

/// The counters a process printed: `pid=P write_failures=N …`, one map per process line.
fn counts(stdout: &str) -> Vec<std::collections::HashMap<String, u64>> {
    stdout
        .lines()
        .filter(|l| l.starts_with("pid="))
        .map(|l| {
            l.split_whitespace()
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (k.to_string(), v.parse().expect("a number")))
                .collect()
        })
        .collect()
}

/// Checks `DIR/NAME-iii.dat` for each thread: exactly the records `NAME-iii-rrrrrrrr`, each
/// once, in order.
fn check_files(dir: &Path, name: &str, threads: usize, records: usize) {
    for t in 0..threads {
        let path = dir.join(format!("{name}-{t:03}.dat"));
        let text = std::fs::read_to_string(&path).expect("the thread's file");
        let mut expected = String::with_capacity(records * 16);
        for r in 0..records {
            expected.push_str(&format!("{name}-{t:03}-{r:08}\n"));
        }
        if text != expected {
            let got: Vec<&str> = text.lines().collect();
            let first_bad = got
                .iter()
                .zip(expected.lines())
                .position(|(a, b)| a != &b)
                .unwrap_or(got.len().min(records));
            panic!(
                "{}: {} lines, expected {records}; first difference at line {first_bad}: {:?}",
                path.display(),
                got.len(),
                got.get(first_bad)
            );
        }
    }
}

/// Every line of the log parsed as JSON (panics on a line that is not one whole object).
fn log_records(path: &Path) -> Vec<Value> {
    let bytes = std::fs::read(path).expect("the log");
    assert!(bytes.ends_with(b"\n"), "the log does not end with a whole line");
    bytes
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .enumerate()
        .map(|(i, l)| {
            let v: Value = serde_json::from_slice(l).unwrap_or_else(|e| {
                panic!("log line {} is not JSON ({e}): {}", i + 1, String::from_utf8_lossy(l))
            });
            assert!(v.is_object() && v["type"].is_string(), "line {}: {v}", i + 1);
            v
        })
        .collect()
}

/// The number of `inject` records of process `pid`, by point.
fn injections(records: &[Value], pid: u64) -> (u64, u64) {
    let mut writes = 0;
    let mut syncs = 0;
    for r in records.iter().filter(|r| r["type"] == "inject" && r["pid"] == pid) {
        match r["point"].as_str() {
            Some("sys:write") => writes += 1,
            Some("sys:fsync") => syncs += 1,
            other => panic!("an injection at {other:?}: {r}"),
        }
    }
    (writes, syncs)
}

/// The rules the control thread cycles through: write errors and short writes of several
/// probabilities, fsync errors, removals, and a `list` now and then. `size>8` keeps `short`
/// off the tails of records it already shortened (a short of a call to its whole length
/// injects nothing).
fn churn_commands(glob: &str) -> Vec<String> {
    let w = format!("sys:write[path={glob}]");
    let s = format!("sys:write[path={glob},size>8]");
    let f = format!("sys:fsync[path={glob}]");
    vec![
        format!("set {w}=2%error(EIO)"),
        format!("set {f}=10%error(EIO)"),
        format!("set {s}=1%short(5)"),
        format!("set {w}=1%error(ENOSPC)"),
        "list".into(),
        format!("remove {s}"),
        format!("set {f}=5%error(EIO)"),
        format!("set {w}=3%error(EIO)"),
        format!("remove {f}"),
        format!("set {s}=2%short(3)"),
        format!("set {f}=20%error(EIO)"),
        format!("remove {w}"),
        format!("set {w}=1%error(EIO)"),
    ]
}

/// One command on a control connection: the reply's lines, or `None` when the connection
/// broke (the program exited).
fn ask(conn: &mut BufReader<UnixStream>, command: &str) -> Option<Vec<String>> {
    conn.get_mut().write_all(format!("{command}\n").as_bytes()).ok()?;
    let mut lines = Vec::new();
    loop {
        let mut line = String::new();
        if conn.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end().to_owned();
        let done = line.starts_with("ok") || line.starts_with("err");
        lines.push(line);
        if done {
            return Some(lines);
        }
    }
}

/// Sends [`churn_commands`] round and round on one connection, as fast as the program
/// answers, until `stop`, checking each reply; returns how many commands were answered.
fn churn(sock: &Path, glob: &str, stop: &AtomicBool) -> u64 {
    let start = Instant::now();
    let stream = loop {
        match UnixStream::connect(sock) {
            Ok(s) => break s,
            Err(_)
                if start.elapsed() < Duration::from_secs(10) && !stop.load(Ordering::Acquire) =>
            {
                std::thread::sleep(Duration::from_millis(5))
            }
            Err(e) => panic!("cannot connect to {}: {e}", sock.display()),
        }
    };
    stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut conn = BufReader::new(stream);
    let commands = churn_commands(glob);
    let mut sent = 0u64;
    for cmd in commands.iter().cycle() {
        if stop.load(Ordering::Acquire) {
            break;
        }
        let Some(reply) = ask(&mut conn, cmd) else {
            // The program may exit between the check and the command.
            std::thread::sleep(Duration::from_millis(100));
            assert!(stop.load(Ordering::Acquire), "the control socket broke on `{cmd}`");
            break;
        };
        let last = reply.last().expect("a reply");
        assert!(last.starts_with("ok"), "`{cmd}` got {reply:?}");
        sent += 1;
    }
    sent
}

const THREADS: usize = 8;
const RECORDS: usize = 50_000;

#[test]
fn eight_threads_under_faults_and_live_rule_changes_lose_no_record() {
    let dir = TempDir::new("stress-threads");
    let exe = compile(&dir, "writers");
    let sock = dir.join("ctl.sock");
    let log = dir.join("log.jsonl");
    let glob = "*/t-*.dat";
    let mut cmd = Command::new(&exe);
    cmd.args([dir.path().to_str().unwrap(), &THREADS.to_string(), &RECORDS.to_string()])
        .env("LD_PRELOAD", preload())
        .env("FAILINJECT", format!("sys:write[path={glob}]=2%error(EIO)"))
        .env("FAILINJECT_SEED", "9")
        .env("FAILINJECT_CTL", &sock)
        .env("FAILINJECT_LOG", &log)
        .env_remove("FAILINJECT_FILE")
        .env_remove("FAILPOINTS");
    // The control thread rewrites the rules until the program has exited.
    let mut sent = 0;
    let start = Instant::now();
    let done = bounded_while(cmd, LIMIT, |stop| sent = churn(&sock, glob, stop));
    let elapsed = start.elapsed();
    assert!(!done.timed_out, "the fixture ran past {LIMIT:?} and was killed: {}", done.stderr);
    assert_eq!(done.code, Some(0), "stdout: {}\nstderr: {}", done.stdout, done.stderr);
    let c = &counts(&done.stdout)[0];
    eprintln!(
        "stress: {} s, {sent} control commands ({:.0}/s), {c:?}",
        elapsed.as_secs_f64(),
        sent as f64 / elapsed.as_secs_f64()
    );
    check_files(dir.path(), "t", THREADS, RECORDS);
    // Enough commands and faults that the run proves something.
    assert!(sent >= 200, "only {sent} control commands were answered");
    assert!(c["write_failures"] > 100 && c["fsync_failures"] > 10, "{c:?}");
    let records = log_records(&log);
    let (writes, syncs) = injections(&records, c["pid"]);
    assert_eq!(writes, c["write_failures"] + c["short_writes"], "write injections");
    assert_eq!(syncs, c["fsync_failures"], "fsync injections");
}

#[test]
fn fork_exec_children_share_one_log_of_whole_lines() {
    const CHILDREN: usize = 6;
    const RECORDS: usize = 5_000;
    let dir = TempDir::new("stress-spawn");
    let exe = compile(&dir, "writers");
    let log = dir.join("shared.jsonl");
    let glob = "*/c*-*.dat";
    let rules = format!(
        "sys:write[path={glob}]=3%error(EIO);sys:write[path={glob},size>8]=2%short(4);\
         sys:fsync[path={glob}]=10%error(EIO)"
    );
    let mut cmd = Command::new(&exe);
    cmd.args([
        "spawn",
        dir.path().to_str().unwrap(),
        &CHILDREN.to_string(),
        "4",
        &RECORDS.to_string(),
    ])
    .env("LD_PRELOAD", preload())
    .env("FAILINJECT", rules)
    .env("FAILINJECT_SEED", "11")
    .env("FAILINJECT_LOG", &log)
    .env_remove("FAILINJECT_CTL")
    .env_remove("FAILINJECT_FILE")
    .env_remove("FAILPOINTS");
    let done = bounded(cmd, LIMIT);
    assert_eq!(done.code, Some(0), "stdout: {}\nstderr: {}", done.stdout, done.stderr);
    assert!(done.stdout.contains(&format!("children_ok={CHILDREN}")), "{}", done.stdout);
    let children = counts(&done.stdout);
    assert_eq!(children.len(), CHILDREN, "{}", done.stdout);
    for k in 0..CHILDREN {
        check_files(dir.path(), &format!("c{k}"), 4, RECORDS);
    }
    let records = log_records(&log);
    let starts = records.iter().filter(|r| r["type"] == "start").count();
    // The spawner, each forked child (before its exec) and each exec'd program.
    assert!(starts > CHILDREN, "{starts} start records");
    let mut total = 0;
    for c in &children {
        let (writes, syncs) = injections(&records, c["pid"]);
        assert_eq!(writes, c["write_failures"] + c["short_writes"], "pid {}", c["pid"]);
        assert_eq!(syncs, c["fsync_failures"], "pid {}", c["pid"]);
        assert!(c["write_failures"] > 0 && c["short_writes"] > 0 && c["fsync_failures"] > 0);
        total += writes + syncs;
    }
    let all = records.iter().filter(|r| r["type"] == "inject").count() as u64;
    assert_eq!(all, total, "injections by processes that did not report");
}
