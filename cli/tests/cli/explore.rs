//! `failinject explore` end to end: small programs that each hide one bug on an error path,
//! a correct one, `sqlite3` with an integrity oracle, power cuts, shards and the report.

use crate::common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The C fixtures, compiled once with debug info (so findings name file:line).
pub(crate) fn fixture(name: &str) -> PathBuf {
    static DIR: OnceLock<TempDir> = OnceLock::new();
    let dir = DIR.get_or_init(|| TempDir::new("explore-fixtures"));
    let bin = dir.join(name);
    if !bin.exists() {
        let src =
            Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/explore/{name}.c"));
        // Built under a name of this thread's, then renamed: tests running at once may
        // build the same fixture, and none may run another's half-written file.
        let tmp = dir.join(&format!("{name}.{:?}", std::thread::current().id()));
        compile_c(&src, &tmp, &["-g", "-O0", "-Wall", "-Werror"]);
        std::fs::rename(&tmp, &bin).unwrap();
    }
    bin
}

/// A Rust fixture of `cli/examples/`. `cargo test` builds the examples, but not when it runs
/// one test target alone, so it is built here if missing.
fn example(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_BIN_EXE_failinject")).parent().unwrap().join("examples");
    let bin = dir.join(name);
    if !bin.exists() {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let built = std::process::Command::new(cargo)
            .args(["build", "-q", "-p", "failinject-cli", "--example", name])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .expect("run cargo build --example");
        assert!(built.success(), "cargo build --example {name}");
    }
    assert!(bin.exists(), "{} was not built", bin.display());
    bin
}

/// `failinject explore ARGS` in a fresh directory, with a report; returns the output and
/// the parsed report.json.
pub(crate) fn explore(args: &[&str]) -> (std::process::Output, Value, TempDir) {
    let dir = TempDir::new("explore");
    let report = dir.join("report");
    let mut all = vec!["explore", "--report", report.to_str().unwrap()];
    all.extend_from_slice(args);
    let out = output(failinject(dir.path(), &all));
    let json = std::fs::read_to_string(report.join("report.json"))
        .map(|t| serde_json::from_str(&t).expect("report.json parses"))
        .unwrap_or(Value::Null);
    (out, json, dir)
}

pub(crate) fn findings(report: &Value) -> Vec<&Value> {
    report["findings"].as_array().expect("findings").iter().collect()
}

pub(crate) fn count(report: &Value, outcome: &str) -> u64 {
    report["outcomes"][outcome].as_u64().unwrap()
}

/// The function of each call site the campaign tried.
fn site_functions(report: &Value) -> Vec<&str> {
    report["sites"].as_array().unwrap().iter().map(|s| s["function"].as_str().unwrap()).collect()
}

#[test]
fn an_ignored_fsync_is_swallowed() {
    let bin = fixture("ignored_fsync");
    let oracle = "test ! -e data.txt || grep -qx 'hello, durable world' data.txt";
    let (out, report, _dir) = explore(&["--oracle", oracle, "--", bin.to_str().unwrap()]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "findings give exit 1: {stderr}");
    let found = findings(&report);
    assert_eq!(found.len(), 1, "{stderr}");
    let f = found[0];
    assert_eq!(f["outcome"], "swallowed");
    assert_eq!(f["point"], "sys:fsync");
    assert_eq!(f["function"], "fsync");
    assert_eq!(f["errno"], "EIO");
    assert_eq!(f["path"], "data.tmp");
    assert!(f["site"].as_str().unwrap().len() >= 8);
    let frames: Vec<&str> =
        f["frames"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert!(frames[0].contains("main (ignored_fsync.c:"), "symbolized: {frames:?}");
    assert!(f["repro"].as_str().unwrap().contains("failinject run --seed 1 -r 'sys:fsync[site="));
    // Everything else was handled: opens, the write, the close and the rename all checked.
    assert_eq!(count(&report, "handled"), report["runs"].as_u64().unwrap() - 1);
    assert_eq!(report["command"][0], bin.to_str().unwrap());
    // One line per site and outcome, with its count of runs.
    assert!(
        stderr.lines().any(|l| l.split_whitespace().collect::<Vec<_>>()[..].starts_with(&[
            "swallowed",
            "1",
            "fsync",
            "EIO",
            "data.tmp"
        ])),
        "{stderr}"
    );
    // The close after the sync had nothing left to lose: not run, and counted.
    assert_eq!(report["skipped"], 1, "{stderr}");
    assert!(stderr.contains("1 faults skipped: their calls had nothing to lose"), "{stderr}");
}

#[test]
fn a_crash_in_the_write_error_handler_is_found_and_reproduced() {
    let bin = fixture("crash_on_error");
    let (out, report, dir) = explore(&["--errno", "EIO", "--", bin.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let found = findings(&report);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["outcome"], "crashed");
    assert_eq!(found[0]["function"], "write");
    assert!(found[0]["status"].as_str().unwrap().contains("SIGSEGV"));
    assert!(found[0]["frames"][0].as_str().unwrap().contains("crash_on_error.c:"));

    // The reproduction line, pasted into a shell, crashes the same way.
    let repro = found[0]["repro"].as_str().unwrap();
    let path = format!(
        "{}:{}",
        installed().parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let again = std::process::Command::new("sh")
        .args(["-c", repro])
        .current_dir(dir.path())
        .env("PATH", path)
        .env("XDG_CACHE_HOME", cache())
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(128 + 11), "{}", text(&again.stderr));
}

#[test]
fn a_rust_panic_on_a_write_error_is_a_crash() {
    let bin = example("panic_on_error");
    let (out, report, _dir) =
        explore(&["--scope", "sys:@write", "--errno", "ENOSPC", "--", bin.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let found = findings(&report);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["outcome"], "crashed");
    assert_eq!(found[0]["status"], "exit 101");
    assert!(found[0]["stderr"].as_str().unwrap().contains("panicked at"));
}

#[test]
fn a_hang_after_a_failed_fsync_is_found() {
    let bin = fixture("hang_on_fsync");
    let (out, report, _dir) = explore(&["--timeout", "1", "--", bin.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let found = findings(&report);
    assert_eq!(found.len(), 1, "{}", text(&out.stderr));
    assert_eq!(
        (found[0]["outcome"].as_str(), found[0]["function"].as_str()),
        (Some("hung"), Some("fsync"))
    );
    assert_eq!(found[0]["status"], "timeout");

    // A transient fault is retried away: then the lost write is swallowed instead.
    let (_, report, _dir) =
        explore(&["--transient", "--timeout", "5", "--", bin.to_str().unwrap()]);
    let found = findings(&report);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["outcome"], "swallowed");
}

#[test]
fn a_correct_atomic_save_has_no_findings() {
    let bin = example("atomic_save");
    let (out, report, _dir) = explore(&[
        "--setup",
        "echo 'version 1' > data.txt",
        "--oracle",
        "grep -qx 'version [12]' data.txt && test ! -e data.tmp",
        "--",
        bin.to_str().unwrap(),
    ]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(findings(&report).is_empty());
    // create, write, fsync, close, rename, open ., fsync, close: every one was tried.
    let functions = site_functions(&report);
    for f in ["write", "fsync", "close", "rename"] {
        assert!(functions.contains(&f), "{f} in {functions:?}");
    }
    assert_eq!(count(&report, "handled"), report["runs"].as_u64().unwrap());
    assert!(report["runs"].as_u64().unwrap() >= 10);
    assert!(stderr.contains("no findings"), "{stderr}");
}

/// The same save in C, with the directory's descriptor closed unchecked: a close of a
/// descriptor nothing was written through cannot lose data, so it is no finding, and the
/// faults that could only fail it are not run but counted.
#[test]
fn a_read_only_close_is_no_finding_and_is_not_run() {
    let bin = fixture("atomic_save_dirfd");
    let (out, report, _dir) = explore(&[
        "--setup",
        "echo 'version 1' > data.txt",
        "--oracle",
        "grep -qx 'version [12]' data.txt",
        "--",
        bin.to_str().unwrap(),
    ]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(findings(&report).is_empty(), "{stderr}");
    // The two closes: the file's (written, synced: nothing left to lose either) and the
    // directory's; both are sites, neither is failed.
    let closes = report["sites"].as_array().unwrap().iter().filter(|s| s["function"] == "close");
    assert_eq!(closes.count(), 2, "{stderr}");
    assert!(report["results"].as_array().unwrap().iter().all(|r| r["function"] != "close"));
    assert!(report["skipped"].as_u64().unwrap() >= 2, "{stderr}");
    // The directory sync had the rename to make durable: it was failed, and handled.
    assert!(
        report["results"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["function"] == "fsync" && r["path"] == "." && r["outcome"] == "handled"),
        "{stderr}"
    );
}

/// `explore` of `git commit` in a fresh repository with one file staged, with `-j 2` and
/// `options`.
fn explore_git_commit(options: &[&str]) -> (std::process::Output, Value, TempDir) {
    assert!(have("git"), "git is needed (.ci/run installs it)");
    let mut args = options.to_vec();
    args.extend([
        "-j",
        "2",
        "--setup",
        "git init -q . && git config user.email t@example.com && git config user.name t \
         && echo hello > f && git add f",
        "--",
        "git",
        "commit",
        "-q",
        "-m",
        "message",
    ]);
    explore(&args)
}

/// `git commit` closes directory streams and files it only read without checking: none of
/// that is a finding. What is left is only where git wrote data.
#[test]
fn git_commit_has_no_false_swallowed_findings() {
    let (out, report, _dir) = explore_git_commit(&[]);
    let stderr = text(&out.stderr);
    assert!(report["runs"].as_u64().unwrap() > 50, "{stderr}");
    let sites = report["sites"].as_array().unwrap();
    assert!(sites.iter().any(|s| s["function"] == "closedir"), "git reads directories: {stderr}");
    for f in findings(&report) {
        assert_ne!(f["function"], "closedir", "{stderr}");
        if f["outcome"] == "swallowed" {
            // Swallowed only where the failed call had written data at stake.
            let site = sites.iter().find(|s| s["site"] == f["site"]).unwrap();
            let nth = f["nth"].as_u64().unwrap() as usize;
            let stakes =
                site["stakes"].as_array().map(|v| v.iter().skip(nth - 1).any(|b| b == true));
            assert_ne!(stakes, Some(false), "a swallowed finding with nothing at stake: {f}");
        }
    }
    assert!(report["skipped"].as_u64().unwrap() > 0, "{stderr}");
}

/// Inserting into a database that exists, with SQLite's own integrity check as the oracle.
const SQLITE_SETUP: &str = "sqlite3 t.db 'create table t(x); insert into t values (0)'";
const SQLITE_ORACLE: &str = "sqlite3 t.db 'pragma integrity_check' | grep -qx ok";

/// `explore` of `sqlite3 t.db SQL` at its write and sync sites, with `options`, the table of
/// [`SQLITE_SETUP`] and `oracle`.
fn explore_sqlite(options: &[&str], oracle: &str, sql: &str) -> (std::process::Output, Value) {
    assert!(have("sqlite3"), "sqlite3 is needed (.ci/run installs it)");
    let mut args = options.to_vec();
    args.extend([
        "--scope",
        "sys:@write|@sync",
        "--setup",
        SQLITE_SETUP,
        "--oracle",
        oracle,
        "--",
        "sqlite3",
        "t.db",
        sql,
    ]);
    let (out, report, _dir) = explore(&args);
    (out, report)
}

#[test]
fn sqlite_keeps_its_database_intact_under_write_and_sync_errors() {
    let (out, report) = explore_sqlite(
        &["--errno", "EIO,ENOSPC", "-j", "2"],
        SQLITE_ORACLE,
        "begin; insert into t values (1); insert into t values (2); commit;",
    );
    let stderr = text(&out.stderr);
    assert!(out.status.code() == Some(0) || out.status.code() == Some(1), "{stderr}");
    let runs = report["runs"].as_u64().unwrap();
    assert!(runs >= 10, "every write and sync site × 2 errnos: {runs}");
    assert_eq!(report["unreached"], 0);
    for bad in ["corrupted", "crashed", "hung"] {
        assert_eq!(count(&report, bad), 0, "{bad}: {stderr}");
    }
    let functions = site_functions(&report);
    assert!(functions.contains(&"pwrite64") || functions.contains(&"pwrite"), "{functions:?}");
    assert!(functions.contains(&"fdatasync") || functions.contains(&"fsync"), "{functions:?}");
}

/// SQLite inserts under the default scope (opens, closes and renames too): no false
/// `swallowed` (before, the close of the database it had only opened to sniff was one). What
/// is left is SQLite's documented choice to ignore a failed sync of the directory, which a
/// user marks benign with `--ignore` or a `.failinject-ignore` file: counted, not listed.
#[test]
fn sqlite_has_no_false_swallowed_and_its_benign_directory_sync_can_be_ignored() {
    assert!(have("sqlite3"), "sqlite3 is needed (.ci/run installs it)");
    let base = [
        "-j",
        "2",
        "--setup",
        SQLITE_SETUP,
        "--oracle",
        SQLITE_ORACLE,
        "--",
        "sqlite3",
        "t.db",
        "insert into t values (1); insert into t values (2);",
    ];
    let (out, report, _dir) = explore(&base);
    let stderr = text(&out.stderr);
    let found = findings(&report);
    assert!(!found.is_empty(), "the directory sync is found: {stderr}");
    for f in &found {
        assert_eq!(f["outcome"], "swallowed", "{stderr}");
        assert_eq!(f["path"], ".", "only the directory sync: {f}");
        // A stripped library's frame says which symbol it is near, not that it is in it.
        let top = f["frames"].as_array().unwrap().iter().filter_map(|v| v.as_str());
        assert!(top.clone().any(|t| t.contains("[near ")), "{:?}", top.collect::<Vec<_>>());
    }
    // One group per site and outcome on the terminal.
    let groups = stderr.lines().filter(|l| l.trim_start().starts_with("swallowed ")).count();
    assert_eq!(groups, 1, "{stderr}");

    let mut ignored = vec!["--ignore", "sys:fdatasync|fsync[kind=dir]"];
    ignored.extend(base);
    let (out, report, _dir) = explore(&ignored);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(findings(&report).is_empty(), "{stderr}");
    assert_eq!(report["ignored"].as_u64(), Some(found.len() as u64), "{stderr}");
    assert!(stderr.contains(&format!("ignored {}", found.len())), "{stderr}");

    // The same from a file in the current directory; a bad line names file and line.
    let dir = TempDir::new("explore-ignore");
    std::fs::write(
        dir.join(".failinject-ignore"),
        "# SQLite's own choice\nsys:fdatasync|fsync[kind=dir]\n",
    )
    .unwrap();
    let report_dir = dir.join("report");
    let mut args = vec!["explore", "--report", report_dir.to_str().unwrap()];
    args.extend(base);
    let out = output(failinject(dir.path(), &args));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    std::fs::write(dir.join(".failinject-ignore"), "\nsys:fdatasnyc\n").unwrap();
    let out = output(failinject(dir.path(), &args));
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(stderr.contains(".failinject-ignore:2: `sys:fdatasnyc`"), "{stderr}");
}

/// `--max-findings` bounds the groups listed; the report keeps every finding.
#[test]
fn max_findings_bounds_the_terminal_list() {
    let bin = fixture("ignored_fsync");
    let (out, report, _dir) = explore(&["--max-findings", "0", "--", bin.to_str().unwrap()]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(!findings(&report).is_empty());
    assert!(stderr.contains("more groups (--max-findings 0)"), "{stderr}");
    assert!(!stderr.lines().any(|l| l.trim_start().starts_with("cd ")), "{stderr}");
}

#[test]
fn power_cuts_find_a_save_without_fsync_and_spare_one_with() {
    let bin = fixture("lazy_save");
    let args = |sync: bool| {
        let mut a = vec![
            "--crash=rerun".to_string(),
            "--setup".into(),
            "echo 'version 1' > data.txt".into(),
            "--oracle".into(),
            "grep -qx 'version [12]' data.txt".into(),
            "--".into(),
            bin.display().to_string(),
        ];
        if sync {
            a.push("fsync".into());
        }
        a
    };
    let lazy = args(false);
    let (out, report, _dir) = explore(&lazy.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let corrupted: Vec<&Value> =
        findings(&report).into_iter().filter(|f| f["outcome"] == "corrupted").collect();
    assert!(!corrupted.is_empty(), "{}", text(&out.stderr));
    assert!(corrupted.iter().all(|f| f["task"] == "powercut"));

    let careful = args(true);
    let (out, report, _dir) = explore(&careful.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(report["results"].as_array().unwrap().iter().any(|r| r["task"] == "powercut"));
}

#[test]
fn sqlite_survives_power_cuts() {
    let (out, report) = explore_sqlite(
        &["--crash=rerun", "--errno", "EIO"],
        // Intact, and the row inserted before the run is still there.
        "sqlite3 t.db 'pragma integrity_check; select count(*) from t where x = 0' | tr '\\n' ' ' | grep -qx 'ok 1 '",
        "insert into t values (1); insert into t values (2);",
    );
    let stderr = text(&out.stderr);
    let cuts =
        report["results"].as_array().unwrap().iter().filter(|r| r["task"] == "powercut").count();
    assert!(cuts >= 5, "a power cut at each write and sync site: {cuts}");
    assert_eq!(count(&report, "corrupted"), 0, "{stderr}");
    assert_eq!(count(&report, "crashed"), 0, "{stderr}");
}

#[test]
fn shards_merge_into_the_whole_campaign() {
    let bin = fixture("ignored_fsync");
    let b = bin.to_str().unwrap();
    let (_, whole, _d0) = explore(&["--", b]);
    let dir = TempDir::new("explore-shards");
    let mut shard_dirs = Vec::new();
    for i in 0..3 {
        let report = dir.join(&format!("shard-{i}"));
        let shard = format!("{i}/3");
        let out = output(failinject(
            dir.path(),
            &["explore", "--shard", &shard, "--report", report.to_str().unwrap(), "--", b],
        ));
        assert!(matches!(out.status.code(), Some(0 | 1)), "{}", text(&out.stderr));
        shard_dirs.push(report);
    }
    // A set with a shard missing is refused, naming it, unless --partial.
    let partial = dir.join("partial");
    let (a, c) = (shard_dirs[0].to_str().unwrap(), shard_dirs[2].to_str().unwrap());
    let out = output(failinject(
        dir.path(),
        &["report", "merge", a, c, "--out", partial.to_str().unwrap()],
    ));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("shard 1/3 is missing"), "{}", text(&out.stderr));
    assert!(!partial.join("report.json").exists());
    let out = output(failinject(
        dir.path(),
        &["report", "merge", a, c, "--partial", "--out", partial.to_str().unwrap()],
    ));
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("warning: shard 1/3 is missing"), "{}", text(&out.stderr));
    assert!(partial.join("report.json").exists());

    let merged = dir.join("merged");
    let mut args = vec!["report", "merge"];
    args.extend(shard_dirs.iter().map(|d| d.to_str().unwrap()));
    args.extend(["--out", merged.to_str().unwrap()]);
    let out = output(failinject(dir.path(), &args));
    assert_eq!(
        out.status.code(),
        Some(1),
        "the merged campaign has the finding: {}",
        text(&out.stderr)
    );
    let merged: Value =
        serde_json::from_str(&std::fs::read_to_string(merged.join("report.json")).unwrap())
            .unwrap();
    assert_eq!(merged["runs"], whole["runs"]);
    assert_eq!(merged["outcomes"], whole["outcomes"]);
    assert_eq!(merged["shards"], serde_json::json!(["0/3", "1/3", "2/3"]));
    let rules = |r: &Value| -> Vec<String> {
        r["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["rules"][0].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(rules(&merged), rules(&whole));

    // Reports of different commands do not merge.
    let (_, _, other) = explore(&["--", fixture("crash_on_error").to_str().unwrap()]);
    let out = output(failinject(
        dir.path(),
        &[
            "report",
            "merge",
            shard_dirs[0].to_str().unwrap(),
            other.join("report").to_str().unwrap(),
            "--out",
            "x",
        ],
    ));
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("different campaigns"), "{}", text(&out.stderr));
}

#[test]
fn every_call_random_schedules_and_copies() {
    // A program that writes the same file three times from one place.
    let dir = TempDir::new("explore-every");
    let bin = fixture("three_writes");
    let s = bin.to_str().unwrap();
    let (_, sites_only, _d) = explore(&["--scope", "sys:write", "--errno", "EIO", "--", s]);
    let (_, every, _d) = explore(&["--scope", "sys:write", "--errno", "EIO", "--every", "--", s]);
    assert_eq!(sites_only["runs"], 1, "one site");
    assert_eq!(every["runs"], 3, "three calls at that site");

    let random = |seed: &str| explore(&["--random", "6", "--seed", seed, "--", s]).1;
    let (a, b) = (random("9"), random("9"));
    assert_eq!(a["runs"], 6);
    assert_eq!(a["results"], b["results"], "the same seed, the same schedules");
    assert_eq!(a["mode"], "random");

    // --copy: every run starts from a copy of a directory.
    let seed_dir = dir.join("seed");
    std::fs::create_dir(&seed_dir).unwrap();
    std::fs::write(seed_dir.join("out.txt"), "0\n").unwrap();
    let (out, report, _d) = explore(&[
        "--scope",
        "sys:write",
        "--copy",
        seed_dir.to_str().unwrap(),
        "--oracle",
        "head -n 1 out.txt | grep -qx 0",
        "--",
        s,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(report["copy"], seed_dir.to_str().unwrap());
}

/// `--depth 2` on a program that retries a failed fsync until it succeeds: failing the first
/// sync once with lost data (`lose(EIO)`) makes the retry "succeed" over the loss, which is
/// a `retried-sync` finding; and each first fault's recovery path (the close after a failed
/// write or sync, which the recording never reached) gets a second fault of its own, judged
/// on that second fault.
#[test]
fn depth_2_finds_a_sync_retried_over_lost_data_and_fails_the_recovery_paths() {
    let bin = fixture("retry_fsync");
    let b = bin.to_str().unwrap();
    let (out, report, _dir) = explore(&["--depth", "2", "-j", "2", "--", b]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(report["depth"], 2);
    let found = findings(&report);
    assert_eq!(found.len(), 1, "{stderr}");
    assert_eq!(found[0]["outcome"], "retried-sync");
    assert_eq!(found[0]["task"], "lose(EIO)");
    assert!(found[0]["rules"][0].as_str().unwrap().ends_with(",when=1]=lose(EIO)"), "{stderr}");
    assert_eq!(count(&report, "retried-sync"), 1);
    assert!(stderr.contains("retried-sync     1 fsync"), "{stderr}");

    // The recovery paths: the error-path closes (after a failed write, after the failed
    // retries of fsync) are sites the recording never reached.
    let second: Vec<&Value> = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r.get("after").is_some_and(|a| !a.is_null()))
        .collect();
    assert!(second.len() >= 4, "{stderr}");
    for r in &second {
        assert_eq!(r["rules"].as_array().unwrap().len(), 2, "{r}");
        assert_eq!(r["function"], "close", "{r}");
        assert_eq!(r["outcome"], "handled", "the program exits 1 on every such path: {r}");
        // It reproduces with both faults.
        let repro = r["repro"].as_str().unwrap();
        assert_eq!(repro.matches(" -r ").count(), 2, "{repro}");
    }
    assert!(stderr.contains("depth 2: "), "{stderr}");

    // Without --depth 2 neither the lost sync nor the recovery paths are tried.
    let (out, report, _dir) = explore(&["--", b]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(report["results"].as_array().unwrap().iter().all(|r| r["task"] != "lose(EIO)"));
}

/// `git commit` at depth 2: the recovery paths behind its first faults, with no false
/// swallowed finding there either (a second-level run is judged on its second fault).
#[test]
fn git_commit_at_depth_2_explores_its_recovery_paths() {
    let (out, report, _dir) = explore_git_commit(&["--depth", "2"]);
    let stderr = text(&out.stderr);
    let results = report["results"].as_array().unwrap();
    let second = results.iter().filter(|r| r.get("after").is_some_and(|a| !a.is_null())).count();
    assert!(second > 0, "{stderr}");
    for f in findings(&report) {
        if f.get("after").is_some_and(|a| !a.is_null()) {
            assert_ne!(f["outcome"], "swallowed", "{f}");
        }
    }
}

/// In-code points in scope: the recording run lists the points reached, each is made to
/// `return`, then to `panic`; a panic we injected is judged by the oracle alone, and the
/// early return that drops a record while reporting success is found by the oracle.
#[test]
fn in_code_points_return_then_panic() {
    let bin = example("wal_points");
    let oracle = "! grep -q COMMIT wal.log || test \"$(grep -c '^rec ' wal.log)\" = 3";
    let (out, report, _dir) =
        explore(&["--scope", "wal::*", "--oracle", oracle, "--", bin.to_str().unwrap()]);
    let stderr = text(&out.stderr);
    assert!(stderr.contains("in-code points reached: wal::append, wal::commit"), "{stderr}");
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(report["runs"], 4, "2 points x (return, panic): {stderr}");
    let found = findings(&report);
    assert_eq!(found.len(), 1, "{stderr}");
    assert_eq!(found[0]["outcome"], "corrupted");
    assert_eq!(found[0]["point"], "wal::append");
    assert_eq!(found[0]["task"], "return");
    assert!(found[0]["repro"].as_str().unwrap().contains("-r 'wal::append[when=1+]=return'"));
    // The top frame is the program's function, not the failinject crate's lookup under it.
    let row = stderr.lines().find(|l| l.trim_start().starts_with("corrupted ")).expect(&stderr);
    assert!(row.contains("wal_points::append (wal_points.rs:"), "{row}");
    // The panics ended the program; the oracle passed, so they were handled, not crashes.
    let panics: Vec<&Value> =
        report["results"].as_array().unwrap().iter().filter(|r| r["task"] == "panic").collect();
    assert_eq!(panics.len(), 2);
    for p in panics {
        assert_eq!(p["outcome"], "handled", "{p}");
        assert!(p["status"].as_str().unwrap().contains("101"), "a Rust panic: {p}");
    }
}

#[test]
fn bad_usage_exits_2_with_a_reason() {
    let bin = fixture("ignored_fsync");
    let b = bin.to_str().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (&["--scope", "sys:wrte", "--", b], "unknown libc function `wrte`"),
        (&["--scope", "wal::*", "--crash", "--", b], "explore libc points: not with `wal::*`"),
        (&["--scope", "sys:write[when=2]", "--", b], "cannot hold site= or when="),
        (&["--errno", "EIOO", "--", b], "`EIOO` is not an errno"),
        (&["--shard", "2/2", "--", b], "is not a shard"),
        (&["--timeout", "0", "--", b], "--timeout must be a positive"),
        (&["-j", "0", "--", b], "at least 1"),
        (&["--copy", "/nonexistent", "--", b], "is not a directory"),
        (&["--", "no-such-program-failinject"], "command not found"),
        (&["--", "false"], "with no fault injected, the command failed"),
        (&["--", "false"], "the command `false`: exit 1"),
        (&["--oracle", "false", "--", b], "passed but the oracle failed"),
        (&["--oracle", "false", "--", b], "the oracle `false`: failed"),
        (&["--oracle", "echo the-oracle-said-no; false", "--", b], "the-oracle-said-no"),
        // The scope is reported as written, not as the recording rule made from it.
        (
            &["--scope", "sys:fsnyc", "--", b],
            "  sys:fsnyc\n      ^^^^^\n  help: did you mean `fsync`?",
        ),
        (&["--depth", "3", "--", b], "--depth 3 is not supported yet: 2 is the deepest"),
        (&["--depth", "0", "--", b], "--depth takes 1"),
        (&["--ignore", "sys:fsnyc", "--", b], "--ignore: `sys:fsnyc` is not a rule point"),
    ];
    let dir = TempDir::new("explore-usage");
    for (args, message) in cases {
        let mut all = vec!["explore"];
        all.extend_from_slice(args);
        let out = output(failinject(dir.path(), &all));
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out.stderr));
        assert!(text(&out.stderr).contains(message), "{args:?}: {}", text(&out.stderr));
        assert!(!text(&out.stderr).contains("print(explore)"), "{}", text(&out.stderr));
    }
}

/// The HTML report, rendered by a real browser: the page loads without network, the grid
/// has a row per site, and a screenshot is taken (looked at before resolving the issue).
#[test]
#[ignore = "needs chromium: apt-get install -y chromium (.ci/run runs it with --ignored)"]
fn the_html_report_renders_in_chromium() {
    let browser = ["chromium", "chromium-browser", "google-chrome"].into_iter().find(|b| have(b));
    let Some(browser) = browser else {
        panic!("no chromium to render the report in: apt-get install -y chromium");
    };
    let bin = fixture("crash_on_error");
    let (_, report, dir) = explore(&["--", bin.to_str().unwrap()]);
    let html = dir.join("report/report.html");
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(!page.contains("http://") && !page.contains("https://"), "self-contained");
    let flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ];
    let profile = dir.join("profile");
    let url = format!("file://{}", html.display());
    let dom = std::process::Command::new(browser)
        .args(flags)
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(["--dump-dom", &url])
        .output()
        .unwrap();
    let dom = text(&dom.stdout);
    let rows = dom.matches("<tr>").count();
    let sites = report["sites"].as_array().unwrap().len();
    assert_eq!(rows, sites + 1, "a header row and one row per site: {dom}");
    assert!(dom.contains("class=\"crashed\""), "the crash is coloured as one");
    let shot = std::env::var_os("FAILINJECT_SCREENSHOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| dir.join("report.png"));
    let done = std::process::Command::new(browser)
        .args(flags)
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--screenshot={}", shot.display()))
        .args(["--window-size=1280,900", &url])
        .output()
        .unwrap();
    let png =
        std::fs::read(&shot).unwrap_or_else(|_| panic!("no screenshot: {}", text(&done.stderr)));
    assert!(png.starts_with(b"\x89PNG") && png.len() > 10_000, "a real picture");
}
