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
         after=return(x),true write_after=err28\n"
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
         after=return(x),false write_after=ok\n"
    );
}
