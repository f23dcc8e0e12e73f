//! `failinject explore --crash` (search, SPEC §8.1): the crash states a power cut can leave,
//! built from one recording of every change and judged by the oracle, against real programs.

use crate::common::*;
use crate::explore::{count, explore, findings, fixture};
use serde_json::Value;

/// The crash search of a program that saves `data.txt` over `version 1`: the oracle wants
/// either version whole.
pub(crate) const SAVE_SEARCH: [&str; 7] = [
    "--crash",
    "--scope",
    "sys:fsync",
    "--setup",
    "echo 'version 1' > data.txt",
    "--oracle",
    "grep -qx 'version [12]' data.txt",
];

/// `lazy_save` writes `data.tmp` and renames it over `data.txt`; with `fsync` it syncs the
/// file before the rename and the directory after.
fn lazy_save(sync: bool) -> (std::process::Output, Value, TempDir) {
    let bin = fixture("lazy_save");
    let mut args = SAVE_SEARCH.to_vec();
    args.extend(["--", bin.to_str().unwrap()]);
    if sync {
        args.push("fsync");
    }
    let (out, report, dir) = explore(&args);
    (out, report, dir)
}

fn crash_findings(report: &Value) -> Vec<&Value> {
    findings(report).into_iter().filter(|f| !f["crash"].is_null()).collect()
}

#[test]
fn a_rename_without_fsync_is_found_from_one_recording_and_a_synced_save_is_not() {
    let (out, report, _dir) = lazy_save(false);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(report["crash_states"].as_u64().unwrap() >= 2, "{report}");
    // The trace is in the report's directory.
    let trace = std::fs::read_dir(_dir.join("report/trace")).unwrap().count();
    assert!(trace >= 2, "changes.PID.jsonl and data.PID: {trace} files");
    let found = crash_findings(&report);
    assert!(!found.is_empty(), "{stderr}");
    // The state: the rename and the file's creation kept, its write lost.
    let f = &found[0]["crash"];
    let ops = |k: &str| -> Vec<String> {
        f[k].as_array().unwrap().iter().map(|c| format!("{} {}", c["op"], c["path"])).collect()
    };
    assert!(ops("lost").contains(&r#""write" "data.tmp""#.to_string()), "{f}");
    assert!(ops("kept").iter().any(|c| c.starts_with(r#""rename""#)), "{f}");
    assert_eq!(f["minimal_proven"], true, "{f}");
    assert_eq!(f["minimal"].as_array().unwrap().len(), 1, "losing the write alone breaks it: {f}");
    assert!(stderr.contains("still broken with only #1 write data.tmp"), "{stderr}");
    assert!(f["point"]["site"].as_str().is_some_and(|s| !s.is_empty()), "{f}");

    // Its repro line makes the state live with `powercut(keep=ID)`, and says the state it
    // left is the one explore checked; the oracle rejects it again.
    let id = f["id"].as_str().unwrap();
    let repro = found[0]["repro"].as_str().unwrap();
    assert!(repro.contains(&format!("=powercut(keep={id})")), "{repro}");
    let live = repro.split("   #").next().unwrap().replacen(
        "failinject run ",
        &format!("{} run ", env!("CARGO_BIN_EXE_failinject")),
        1,
    );
    let replay = output(shell(TempDir::new("crash-live").path(), &live));
    let said = text(&replay.stderr);
    assert_eq!(replay.status.code(), Some(1), "the oracle fails: {said}");
    assert!(said.contains("is the crash state explore checked"), "{said}");
    assert!(said.contains("power cut by rule 1"), "{said}");
    // Made where the program does something else first, the state differs, and it says so.
    let other = live.replacen("&& sh -c", "&& echo extra > extra.txt && sh -c", 1);
    let said = text(&output(shell(TempDir::new("crash-live2").path(), &other)).stderr);
    assert!(said.contains("is not the crash state explore checked"), "{said}");

    // Its recheck line checks that one state again through explore, and finds it again.
    let recheck = f["recheck"].as_str().unwrap();
    assert!(recheck.contains(&format!("--crash-state {id} ")), "{recheck}");
    let line = recheck.replacen(
        "failinject explore ",
        &format!("{} explore --report again ", env!("CARGO_BIN_EXE_failinject")),
        1,
    );
    let dir = TempDir::new("crash-repro");
    let again = output(shell(dir.path(), &line));
    assert_eq!(again.status.code(), Some(1), "{}", text(&again.stderr));
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("again/report.json")).unwrap())
            .unwrap();
    assert_eq!(json["crash_states"], 1);
    assert_eq!(crash_findings(&json)[0]["crash"]["id"], id);

    // The HTML report shows the state's timeline, the lost write struck through.
    let html = std::fs::read_to_string(_dir.join("report/report.html")).unwrap();
    assert!(html.contains(&format!("Crash state <code>{id}</code>")), "{html:.400}");
    assert!(
        html.contains("<tr class=\"lost\"><td>#1*</td><td>lost</td><td>write</td><td>data.tmp"),
        "{html}"
    );

    let (out, report, _dir) = lazy_save(true);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(crash_findings(&report).is_empty());
    assert!(report["crash_states"].as_u64().unwrap() >= 2, "{report}");
}

/// A table of 1,500 indexed rows, as the crash-search issue sets it.
const TABLE: &str = "sqlite3 db \"CREATE TABLE t(id INTEGER PRIMARY KEY, v INTEGER, w TEXT); \
    CREATE INDEX tv ON t(v); CREATE INDEX tw ON t(w); WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL \
    SELECT x+1 FROM c WHERE x<1500) INSERT INTO t SELECT x, x, hex(randomblob(20)) FROM c;\"";
const INTACT: &str = "test \"$(sqlite3 db 'PRAGMA integrity_check')\" = ok";
const UPDATE: &str = "UPDATE t SET v = v + 7, w = hex(randomblob(20));";

fn sqlite_search(setup: &str, pragmas: &str, more: &[&str]) -> (std::process::Output, Value) {
    assert!(have("sqlite3"), "sqlite3 is needed: apt-get install -y sqlite3 (.ci/run installs it)");
    let sql = format!("{pragmas} {UPDATE}");
    let mut args = vec!["--crash", "--scope", "sys:fsync", "-j", "2", "--setup", setup];
    args.extend_from_slice(more);
    args.extend(["--oracle", INTACT, "--", "sqlite3", "db", &sql]);
    let (out, report, _dir) = explore(&args);
    (out, report)
}

#[test]
fn sqlite_updating_in_place_without_a_journal_leaves_corrupted_states() {
    let (out, report) = sqlite_search(
        TABLE,
        "PRAGMA journal_mode=off; PRAGMA synchronous=off;",
        &["--max-runs", "200"],
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(count(&report, "corrupted") > 0, "{stderr}");
    assert!(stderr.contains("crash search: "), "{stderr}");
}

#[test]
fn sqlite_in_wal_mode_with_full_sync_has_no_corrupted_state() {
    let setup = format!("{TABLE} && sqlite3 db 'PRAGMA journal_mode=wal'");
    let (out, report) = sqlite_search(&setup, "PRAGMA synchronous=full;", &["--max-runs", "400"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(report["crash_states"].as_u64().unwrap() >= 200, "{report:.200}");
    assert_eq!(count(&report, "corrupted"), 0, "{stderr}");
}

#[test]
fn bad_crash_search_options_exit_2_with_a_reason() {
    let bin = fixture("lazy_save");
    let b = bin.to_str().unwrap();
    let o = "true";
    let cases: &[(&[&str], &str)] = &[
        (&["--crash", "--crash-states", "0", "--oracle", o, "--", b], "--crash-states 0"),
        (
            &["--crash", "--sector", "0", "--oracle", o, "--", b],
            "--sector 0 must be a power of two",
        ),
        (&["--crash", "--sector", "1000", "--oracle", o, "--", b], "power of two of at least 512"),
        (&["--crash", "--", b], "judges each crash state with --oracle"),
        (&["--crash-state", "P1.k-.e0", "--oracle", o, "--", b], "belongs to --crash=search"),
        (&["--crash=sideways", "--oracle", o, "--", b], "invalid value 'sideways'"),
        (&["--crash", "--crash-state", "garbage", "--oracle", o, "--", b], "names no state"),
    ];
    for (args, want) in cases {
        let (out, _, _dir) = explore(args);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(want), "{args:?}: want {want:?} in {stderr}");
    }
}

/// Shards split the crash points; merged, they reject the same states (by what the states
/// hold) as the whole campaign, and count every state they checked. `--random N` checks N.
#[test]
fn crash_states_shard_merge_and_sample_like_fault_runs() {
    assert!(have("sqlite3"), "sqlite3 is needed: apt-get install -y sqlite3 (.ci/run installs it)");
    let small = "sqlite3 db \"CREATE TABLE t(id INTEGER PRIMARY KEY, v); WITH RECURSIVE c(x) AS \
        (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x<300) INSERT INTO t SELECT x, x FROM c; \
        CREATE INDEX tv ON t(v);\"";
    let sql = format!("PRAGMA journal_mode=off; PRAGMA synchronous=off; {UPDATE}");
    let sql = sql.replace(", w = hex(randomblob(20))", "");
    let campaign = |more: &[&str], report: &std::path::Path| {
        let mut args = vec!["explore", "--crash", "--crash-states", "8", "--scope", "sys:fsync"];
        args.extend_from_slice(more);
        args.extend(["--report", report.to_str().unwrap(), "--setup", small, "--oracle", INTACT]);
        args.extend(["--", "sqlite3", "db", &sql]);
        args.into_iter().map(String::from).collect::<Vec<_>>()
    };
    let dir = TempDir::new("crash-shards");
    let run = |more: &[&str], name: &str| -> Value {
        let report = dir.join(name);
        let args = campaign(more, &report);
        let out =
            output(failinject(dir.path(), &args.iter().map(String::as_str).collect::<Vec<_>>()));
        assert!(matches!(out.status.code(), Some(0 | 1)), "{}", text(&out.stderr));
        serde_json::from_str(&std::fs::read_to_string(report.join("report.json")).unwrap()).unwrap()
    };
    let hashes = |r: &Value| -> std::collections::BTreeSet<String> {
        crash_findings(r)
            .iter()
            .map(|f| f["crash"]["state"].as_str().unwrap().to_string())
            .collect()
    };
    let whole = run(&[], "whole");
    assert!(!hashes(&whole).is_empty(), "no state rejected: {whole:.300}");
    let (a, b) = (run(&["--shard", "0/2"], "s0"), run(&["--shard", "1/2"], "s1"));
    let merged = dir.join("merged");
    let out = output(failinject(
        dir.path(),
        &[
            "report",
            "merge",
            &dir.join("s0").display().to_string(),
            &dir.join("s1").display().to_string(),
            "--out",
            merged.to_str().unwrap(),
        ],
    ));
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", text(&out.stderr));
    let m: Value =
        serde_json::from_str(&std::fs::read_to_string(merged.join("report.json")).unwrap())
            .unwrap();
    assert_eq!(hashes(&m), hashes(&whole));
    assert_eq!(m["crash_points"], whole["crash_points"]);
    let states = |r: &Value| r["crash_states"].as_u64().unwrap();
    assert_eq!(states(&m), states(&a) + states(&b));
    assert!(states(&m) >= states(&whole), "each shard checks its own states");
    assert_eq!(crash_findings(&m).len(), crash_findings(&a).len() + crash_findings(&b).len());

    let sampled = run(&["--random", "5", "--seed", "3"], "random");
    assert!(states(&sampled) <= 5 && states(&sampled) >= 1, "{sampled:.300}");
}
