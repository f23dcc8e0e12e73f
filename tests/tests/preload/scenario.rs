//! `FailScenario` under the preload: a program whose `main` sets up a scenario, as fail-rs
//! documents, still obeys the rules it was launched with (what `failinject run -r` gives it
//! through `FAILINJECT`, and `FAILPOINTS`), in-code and `sys:` alike, during the scenario and
//! after its teardown. Seen through the fixture `points_rs scenario`
//! (`tests/src/bin/points_rs.rs`).

use failinject_tests::{Run, TempDir};

const POINTS_RS: &str = env!("CARGO_BIN_EXE_points_rs");

fn scenario(dir: &TempDir, rules: &str) -> Run {
    Run::new(dir.path(), rules, POINTS_RS, &["scenario", &dir.path().to_string_lossy()])
}

#[test]
fn a_scenario_in_main_keeps_the_launch_rules_in_code_and_libc() {
    let dir = TempDir::new("scenario-launch");
    let done = scenario(&dir, "app::save=return(x); sys:write[path=*/f.dat]=error(ENOSPC)")
        .env("FAILPOINTS", "app::flaky=return")
        .run();
    assert_eq!(done.code, Some(0), "{done:?}");
    assert_eq!(
        done.stdout,
        "backend=preload first=return(x),true write=err28 during=return(scenario),false \
         after=return(x),true after2=return(x) write_after=err28\n"
    );
}

#[test]
fn without_the_preload_the_in_process_registry_keeps_the_launch_rules_too() {
    let dir = TempDir::new("scenario-local");
    let done = scenario(&dir, "app::save=return(x)")
        .env("LD_PRELOAD", "")
        .env("FAILPOINTS", "app::flaky=return")
        .run();
    assert_eq!(done.code, Some(0), "{done:?}");
    // FAILPOINTS belongs to the scenario here (fail-rs's way): gone after the teardown.
    assert_eq!(
        done.stdout,
        "backend=local first=return(x),true write=ok during=return(scenario),false \
         after=return(x),false after2=return(x) write_after=ok\n"
    );
}

/// The teardown returns to the launch rules with their counters as they were: a launch rule
/// `2*return(x)` that fired once before the scenario fires once more after it, not twice
/// (under the preload through `failinject_v1_restore_launch`; in-process the same way).
#[test]
fn the_teardown_keeps_the_launch_rules_counters() {
    for preload in [true, false] {
        let dir = TempDir::new("scenario-counters");
        let mut run = scenario(&dir, "app::save=2*return(x)");
        if !preload {
            run = run.env("LD_PRELOAD", "");
        }
        let done = run.run();
        assert_eq!(done.code, Some(0), "{done:?}");
        let backend = if preload { "preload" } else { "local" };
        assert!(
            done.stdout.starts_with(&format!("backend={backend} first=return(x),false")),
            "{done:?}"
        );
        assert!(done.stdout.contains(" after=return(x),false after2=saved "), "{done:?}");
    }
}

/// `fail_point_async!` under the preload: the preload decides the point and hands the sleep
/// back (`failinject_v1_eval_deferred`), so the first poll returns at once instead of
/// blocking the executor's thread for the sleep; without the preload, the same.
#[test]
fn an_async_point_awaits_its_sleep_under_the_preload() {
    for preload in [true, false] {
        let dir = TempDir::new("scenario-async");
        let mut run = Run::new(dir.path(), "app::slow=sleep(2000)", POINTS_RS, &["async"]);
        if !preload {
            run = run.env("LD_PRELOAD", "");
        }
        let done = run.run();
        assert_eq!(done.code, Some(0), "{done:?}");
        let field = |k: &str| -> u64 {
            let v = done.stdout.split_whitespace().find_map(|w| w.strip_prefix(k)).unwrap();
            v.trim().parse().unwrap()
        };
        let backend = if preload { "backend=preload" } else { "backend=local" };
        assert!(done.stdout.starts_with(backend), "{done:?}");
        assert!(field("first_poll_ms=") < 1000, "the first poll blocked: {done:?}");
        assert!(field("total_ms=") >= 2000, "the sleep did not happen: {done:?}");
    }
}

/// `local::cfg` takes `sys:` rules under the preload: eight threads that each fail their own
/// writes with another errno (the same rule point!) see only their own fault, a thread with
/// no local rule none, a thread started with `local::spawn` its parent's, a plain thread
/// none; a `full` budget is the local rule's own; `powercut` is refused locally. Without the
/// preload a `sys:` rule in `local::cfg` is an error that says the preload is needed.
#[test]
fn thread_scoped_libc_rules_under_the_preload() {
    let dir = TempDir::new("scenario-local-sys");
    let done = Run::new(dir.path(), "", POINTS_RS, &["local", &dir.path().to_string_lossy()]).run();
    assert_eq!(done.code, Some(0), "{done:?}");
    assert_eq!(
        done.stdout,
        "t0=err28 t1=err5 t2=err122 t3=err27 t4=err30 t5=err13 t6=err1 t7=err16 free=ok \
         spawned=err28 plain=ok budget=ok,ok,err28 refused=1\n",
        "{done:?}"
    );
    let bare = Run::new(dir.path(), "", POINTS_RS, &["local", &dir.path().to_string_lossy()])
        .env("LD_PRELOAD", "")
        .run();
    assert_ne!(bare.code, Some(0), "{bare:?}");
    assert!(bare.stderr.contains("libfailinject.so is not loaded"), "{bare:?}");
}
