//! One registry with the preload: the `failinject` crate's in-code points and the preload's
//! libc points share one configuration, one seed, one log and one control socket, seen end
//! to end through the fixture `points_rs` (`tests/src/bin/points_rs.rs`) under the real
//! `libfailinject.so`; and without the preload the same binary serves its points itself.

use failinject_tests::{Ctl, Done, Run, TempDir, log_records};
use serde_json::Value;
use std::process::Command;
use std::sync::mpsc;
use std::time::Duration;

const POINTS_RS: &str = env!("CARGO_BIN_EXE_points_rs");

/// Runs `points_rs MODE DIR` under the preload with `rules`.
fn fixture(dir: &TempDir, rules: &str, mode: &str) -> Run {
    Run::new(dir.path(), rules, POINTS_RS, &[mode, &dir.path().to_string_lossy()])
}

/// Its standard output, once it has exited 0.
fn ok(done: Done) -> String {
    assert_eq!(done.code, Some(0), "{done:?}");
    done.stdout
}

#[test]
fn within_fails_only_the_fsync_inside_the_rust_scope() {
    let dir = TempDir::new("one-within");
    let out = ok(fixture(&dir, "sys:fsync[path=*/f.dat,within=commit]=error(EIO)", "scope").run());
    assert_eq!(out, "inside=err5 outside=ok\n");
    // The same program with no rule: both succeed (the scope alone changes nothing).
    assert_eq!(ok(fixture(&dir, "", "scope").run()), "inside=ok outside=ok\n");
}

#[test]
fn after_fails_only_the_write_after_the_rust_point() {
    let dir = TempDir::new("one-after");
    let out =
        ok(fixture(&dir, "sys:write[path=*/f.dat,after=app::armed]=error(EIO)", "after").run());
    assert_eq!(out, "before=ok after=err5\n");
    // A point that is never reached never arms the rule.
    let out =
        ok(fixture(&dir, "sys:write[path=*/f.dat,after=app::never]=error(EIO)", "after").run());
    assert_eq!(out, "before=ok after=ok\n");
}

#[test]
fn one_config_drives_an_in_code_return_and_a_libc_error_and_logs_both() {
    let dir = TempDir::new("one-mixed");
    let log = dir.join("run.jsonl");
    let done =
        fixture(&dir, "app::save=return(quota); sys:write[path=*/f.dat]=error(ENOSPC)", "mixed")
            .env("FAILINJECT_LOG", &log)
            .run();
    assert_eq!(ok(done), "backend=preload save=return(quota) write=err28\n");
    let recs = log_records(&log);
    let injects: Vec<&Value> = recs.iter().filter(|r| r["type"] == "inject").collect();
    let code = injects.iter().find(|r| r["point"] == "app::save");
    let code = code.unwrap_or_else(|| panic!("no inject record for app::save: {recs:?}"));
    assert_eq!(code["action"], "return(quota)", "{code}");
    let libc = injects.iter().find(|r| r["point"] == "sys:write");
    let libc = libc.unwrap_or_else(|| panic!("no inject record for sys:write: {recs:?}"));
    assert_eq!(libc["errno"], "ENOSPC", "{libc}");
    assert!(libc["path"].as_str().is_some_and(|p| p.ends_with("/f.dat")), "{libc}");
    assert_eq!(injects.len(), 2, "one fault each: {injects:?}");
    // One log, one process: both records come from the same pid, with one start record.
    assert_eq!(code["pid"], libc["pid"]);
    assert_eq!(recs.iter().filter(|r| r["type"] == "start").count(), 1, "{recs:?}");
    // The exit record counts one injection for each of the two rules.
    let exit = recs.iter().find(|r| r["type"] == "exit");
    let exit = exit.unwrap_or_else(|| panic!("no exit record: {recs:?}"));
    let counts: Vec<(&str, i64)> = exit["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["key"].as_str().unwrap(), r["injections"].as_i64().unwrap()))
        .collect();
    assert_eq!(counts, [("app::save", 1), ("sys:write[path=*/f.dat]", 1)], "{exit}");
}

#[test]
fn cfg_inside_the_program_sets_a_libc_rule_and_list_shows_the_environments_rules() {
    let dir = TempDir::new("one-cfg");
    let out = ok(fixture(&dir, "app::listed=return(7)", "cfg").run());
    assert_eq!(out, "list=[app::listed=return(7)] before=ok cfg=ok after=err28\n");
}

/// Runs `points_rs ARGS` directly, without the preload, with `rules` and `seed`, in `dir`;
/// its standard output once it has exited 0.
fn bare(dir: &TempDir, rules: &str, seed: &str, args: &[&str]) -> String {
    let out = Command::new(POINTS_RS)
        .args(args)
        .current_dir(dir.path())
        .env_remove("LD_PRELOAD")
        .env("FAILINJECT", rules)
        .env("FAILINJECT_SEED", seed)
        .env_remove("FAILINJECT_FILE")
        .env_remove("FAILINJECT_LOG")
        .env_remove("FAILINJECT_CTL")
        .env_remove("FAILPOINTS")
        .output()
        .expect("run points_rs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{:?}\n{stdout}\n{stderr}", out.status);
    stdout
}

#[test]
fn without_the_preload_the_same_binary_uses_its_own_registry() {
    let dir = TempDir::new("one-bare");
    let path = dir.path().to_string_lossy().into_owned();
    let rules = "app::save=return(x); sys:write[path=*/f.dat]=error(ENOSPC)";
    let out = bare(&dir, rules, "1", &["mixed", &path]);
    assert_eq!(out, "backend=local save=return(x) write=ok\n");
    assert_eq!(std::fs::read_to_string(dir.join("f.dat")).unwrap(), "payload\n");
    // A `sys:` rule given to `cfg` in the program is refused, saying why; one with `within=`
    // in the launch rules never fires either.
    let out = bare(&dir, "app::listed=return(7)", "1", &["cfg", &path]);
    assert!(
        out.starts_with("list=[app::listed=return(7)] before=ok cfg=err:`sys:write[path=*/f.dat]")
            && out.contains("libfailinject.so is not loaded")
            && out.ends_with(" after=ok\n"),
        "{out}"
    );
    let out =
        bare(&dir, "sys:fsync[path=*/f.dat,within=commit]=error(EIO)", "1", &["scope", &path]);
    assert_eq!(out, "inside=ok outside=ok\n");
}

#[test]
fn in_code_rules_behave_the_same_with_and_without_the_preload() {
    let dir = TempDir::new("one-same");
    let cases: [(&str, &[&str], &str); 3] = [
        // `cfg` from the program reaches a point that has already been hit (and cached "no
        // rule names me"), and `remove` releases it again.
        ("", &["recfg"], "first=saved second=return(late) third=saved\n"),
        // `within=` on an in-code rule.
        ("app::save[within=commit]=return(in)", &["scoped"], "inside=return(in) outside=saved\n"),
        // `when=` on an in-code rule: the third and fourth hits of ten.
        ("app::flaky[when=3..4]=return", &["flaky", "10"], "returned=2 "),
    ];
    for (rules, args, want) in cases {
        let under = ok(Run::new(dir.path(), rules, POINTS_RS, args).run());
        let without = bare(&dir, rules, "1", args);
        assert!(under.starts_with(want), "under the preload, {rules} {args:?}: {under}");
        assert!(without.starts_with(want), "without the preload, {rules} {args:?}: {without}");
    }
}

#[test]
fn a_pause_in_rust_code_is_released_through_the_control_socket() {
    let dir = TempDir::new("one-pause");
    let sock = dir.join("ctl.sock");
    let (tx, rx) = mpsc::channel();
    let run = fixture(&dir, "app::pause=pause", "pause").env("FAILINJECT_CTL", &sock);
    // The fixture's own watchdog ends it after 30 s, so this thread always finishes.
    std::thread::spawn(move || tx.send(run.run()));
    let mut conn = Ctl::connect(&sock);
    // Wait until the thread is paused at the point (a pause counts as an injection).
    let reply = conn.ask("wait app::pause 1 10000");
    assert!(reply.last().unwrap().starts_with("ok"), "{reply:?}");
    // Still paused a moment later: nothing else lets it go.
    std::thread::sleep(Duration::from_millis(200));
    assert!(rx.try_recv().is_err(), "the program finished before the rule was changed");
    let reply = conn.ask("set app::pause=off");
    assert!(reply.last().unwrap().starts_with("ok"), "{reply:?}");
    let done = rx.recv_timeout(Duration::from_secs(20)).expect("the program ends once released");
    let out = ok(done);
    let paused: u64 = out
        .strip_prefix("released paused_ms=")
        .and_then(|s| s.strip_suffix(" write=ok\n"))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("unexpected output: {out:?}"));
    assert!(paused >= 200, "the thread was paused until released: {out}");
    assert_eq!(std::fs::read_to_string(dir.join("f.dat")).unwrap(), "released\n");
}

/// `points_rs flaky 1000` under the preload with `app::flaky=50%return` and `seed`: how many
/// hits returned, and how many the program's `failinject::hits` counted.
fn flaky(dir: &TempDir, seed: &str) -> (u64, u64) {
    let done = Run::new(dir.path(), "app::flaky=50%return", POINTS_RS, &["flaky", "1000"])
        .env("FAILINJECT_SEED", seed)
        .run();
    let out = ok(done);
    let parse = |key: &str| -> u64 {
        out.split_whitespace()
            .find_map(|w| w.strip_prefix(key))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {key} in {out:?}"))
    };
    (parse("returned="), parse("hits="))
}

#[test]
fn a_fixed_seed_gives_the_same_faults_and_hits_counts_every_one() {
    let dir = TempDir::new("one-seed");
    let (first, hits) = flaky(&dir, "12345");
    assert_eq!(hits, 1000, "every hit matched the rule");
    assert!((350..=650).contains(&first), "about half of 1000 returned: {first}");
    let (second, hits) = flaky(&dir, "12345");
    assert_eq!((second, hits), (first, 1000), "the same seed, the same faults");
    let others: Vec<u64> = ["1", "2", "3"].iter().map(|s| flaky(&dir, s).0).collect();
    assert!(others.iter().any(|n| *n != first), "the seed matters: {first} vs {others:?}");
}

#[test]
fn the_in_process_registry_draws_the_same_faults_from_the_same_seed() {
    let dir = TempDir::new("one-seed-bare");
    for seed in ["1", "12345"] {
        let (under, _) = flaky(&dir, seed);
        let without = bare(&dir, "app::flaky=50%return", seed, &["flaky", "1000"]);
        assert_eq!(without, format!("returned={under} hits=1000\n"), "seed {seed}");
    }
}

#[test]
fn hits_counts_the_matches_of_a_point_whose_rule_has_filters() {
    let dir = TempDir::new("one-hits");
    let rules = "app::flaky[when=3..4]=return";
    let out = ok(Run::new(dir.path(), rules, POINTS_RS, &["flaky", "10"]).run());
    assert_eq!(out, "returned=2 hits=2\n", "under the preload");
    let out = bare(&dir, rules, "1", &["flaky", "10"]);
    assert_eq!(out, "returned=2 hits=2\n", "without the preload");
}

/// The rules of the scope tests below: one libc rule and one in-code rule, both `within=commit`.
const WITHIN_COMMIT: &str =
    "sys:fsync[path=*/f.dat,within=commit]=error(EIO); app::save[within=commit]=return(in)";

#[test]
fn scope_guards_dropped_out_of_order_leave_their_own_scope() {
    let dir = TempDir::new("one-scope-order");
    // `commit` is entered, then `other`; the `commit` guard is dropped first, so the fsync and
    // the point that follow are inside `other` only. Without the preload (in-code rule only)
    // that is what happens.
    let path = dir.path().to_string_lossy().into_owned();
    let without = bare(&dir, WITHIN_COMMIT, "1", &["scope_order", &path]);
    assert_eq!(without, "other_only=ok,saved none=ok,saved\n");
    let under = ok(fixture(&dir, WITHIN_COMMIT, "scope_order").run());
    assert_eq!(under, "other_only=ok,saved none=ok,saved\n", "under the preload");
}
