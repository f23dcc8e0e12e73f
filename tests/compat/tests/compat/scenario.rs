//! `FailScenario`, and `FAILPOINTS` read by its setup.

use super::*;

#[test]
fn scenario_teardown_clears_the_configuration() {
    let scenario = FailScenario::setup();
    fail::cfg("compat::scenario::a", "return").unwrap();
    fail::cfg_callback("compat::scenario::b", || panic!("a callback outlived its scenario"))
        .unwrap();
    assert!(listed("compat::scenario::a", "return"));
    scenario.teardown();
    assert!(!listed_at_all("compat::scenario::a"));
    assert!(!listed_at_all("compat::scenario::b"));
    let point = || -> u8 {
        fail_point!("compat::scenario::a", |_| 1);
        fail_point!("compat::scenario::b");
        0
    };
    assert_eq!(point(), 0);
}

#[test]
fn scenario_drop_clears_the_configuration() {
    {
        let _scenario = FailScenario::setup();
        fail::cfg("compat::scenario::dropped", "return").unwrap();
        assert!(listed_at_all("compat::scenario::dropped"));
    }
    assert!(!listed_at_all("compat::scenario::dropped"));
}

#[test]
fn scenario_setup_starts_from_a_clean_configuration() {
    // Left over from a test that did not tear down (or configured outside a scenario).
    fail::cfg("compat::scenario::leftover", "return").unwrap();
    let _scenario = FailScenario::setup();
    assert!(!listed_at_all("compat::scenario::leftover"));
}

#[test]
fn scenarios_run_one_at_a_time() {
    let scenario = FailScenario::setup();
    let (entered, rx) = mpsc::channel();
    let other = thread::spawn(move || {
        let _scenario = FailScenario::setup();
        entered.send(()).unwrap();
    });
    assert!(rx.recv_timeout(STILL_BLOCKED).is_err(), "a second scenario started inside the first");
    drop(scenario);
    rx.recv_timeout(WAIT).expect("the second scenario starts once the first ends");
    other.join().unwrap();
}

/// Set in the environment of a child process that runs one test of this binary.
const CHILD: &str = "FAILINJECT_COMPAT_CHILD";

/// Runs the (ignored) test `name` of this module alone, in a child process with `FAILPOINTS`
/// set to `failpoints`, and checks that it passed.
fn run_child_test(name: &str, failpoints: &str) {
    run_child_test_with(name, failpoints, None);
}

/// [`run_child_test`], the child launched with `FAILINJECT` set to `failinject` too.
fn run_child_test_with(name: &str, failpoints: &str, failinject: Option<&str>) {
    // libtest names a test by its path without the crate: `scenario::child_…`.
    let module = module_path!().split_once("::").map_or("", |(_, m)| m);
    let path = format!("{module}::{name}");
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args([path.as_str(), "--exact", "--ignored", "--test-threads=1", "--nocapture"])
        .env("FAILPOINTS", failpoints)
        .env(CHILD, "1")
        .env_remove("FAILINJECT")
        .env_remove("FAILINJECT_FILE");
    if let Some(rules) = failinject {
        command.env("FAILINJECT", rules);
    }
    let out = command.output().expect("run the test binary");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "child test {name} with FAILPOINTS={failpoints:?} failed:\n{stdout}\n{stderr}"
    );
}

#[test]
fn scenario_setup_reads_failpoints() {
    run_child_test(
        "child_scenario_reads_failpoints",
        " compat::env::a=return(from env);compat::env::b=1*return(once)->off;;\
         compat::env::c=return(k=v); compat::lib::count=return(42);",
    );
}

#[test]
#[ignore = "runs in a child process, started by scenario_setup_reads_failpoints"]
fn child_scenario_reads_failpoints() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    let point_a = || -> String {
        fail_point!("compat::env::a", |s: Option<String>| s.unwrap_or_default());
        "untouched".into()
    };
    let point_b = || -> String {
        fail_point!("compat::env::b", |s: Option<String>| s.unwrap_or_default());
        "untouched".into()
    };
    let point_c = || -> String {
        fail_point!("compat::env::c", |s: Option<String>| s.unwrap_or_default());
        "untouched".into()
    };
    let scenario = FailScenario::setup();
    assert!(listed("compat::env::a", "return(from env)"), "{:?}", fail::list());
    assert!(listed("compat::env::b", "1*return(once)->off"), "{:?}", fail::list());
    assert_eq!(point_a(), "from env");
    assert_eq!((point_b(), point_b()), ("once".into(), "untouched".into()));
    assert_eq!(point_c(), "k=v");
    assert_eq!(failinject_compat::count(1), 42);
    // `cfg` overrides what `FAILPOINTS` set.
    fail::cfg("compat::env::a", "return(from cfg)").unwrap();
    assert_eq!(point_a(), "from cfg");
    scenario.teardown();
    assert_eq!(point_a(), "untouched");
    assert_eq!(failinject_compat::count(1), 1);
    assert!(!listed_at_all("compat::env::a"));
}

#[test]
fn scenario_setup_panics_on_malformed_failpoints() {
    run_child_test("child_scenario_rejects_failpoints", "compat::env::bad=bogus");
    run_child_test("child_scenario_rejects_failpoints", "compat::env::no_equals_sign");
    run_child_test("child_scenario_rejects_failpoints", "sys:fsync=error(EIO)");
}

#[test]
#[ignore = "runs in a child process, started by scenario_setup_panics_on_malformed_failpoints"]
fn child_scenario_rejects_failpoints() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    let failpoints = std::env::var("FAILPOINTS").unwrap();
    let message = panics_with(FailScenario::setup);
    // fail-rs's wording: the item without `=`, or the point that cannot be configured.
    match failpoints.split_once('=') {
        None => assert_eq!(message, format!("invalid failpoint: {failpoints:?}")),
        Some((name, _)) => {
            let start = format!("unable to configure failpoint \"{name}\": ");
            assert!(message.starts_with(&start), "{message}");
            if name.starts_with("sys:") {
                assert!(message.contains("libfailinject.so is not loaded"), "{message}");
            }
        }
    }
}

#[test]
fn scenarios_start_from_and_return_to_the_launch_configuration() {
    run_child_test_with(
        "child_scenario_keeps_the_launch_configuration",
        "compat::launch::fp=return(from FAILPOINTS)",
        Some("compat::launch::rule=3*return(launch); compat::launch::other=return(other)"),
    );
}

#[test]
#[ignore = "runs in a child process, started by \
            scenarios_start_from_and_return_to_the_launch_configuration"]
fn child_scenario_keeps_the_launch_configuration() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    let rule = || -> String {
        fail_point!("compat::launch::rule", |s: Option<String>| s.unwrap_or_default());
        "untouched".into()
    };
    let other = || -> String {
        fail_point!("compat::launch::other", |s: Option<String>| s.unwrap_or_default());
        "untouched".into()
    };
    let fp = || -> String {
        fail_point!("compat::launch::fp", |s: Option<String>| s.unwrap_or_default());
        "untouched".into()
    };
    // Launched with FAILINJECT: in force before any scenario.
    assert_eq!(rule(), "launch");
    assert_eq!(fp(), "untouched", "FAILPOINTS is read by setup, as in fail-rs");
    let scenario = FailScenario::setup();
    // The launch rules are still there, counting on; FAILPOINTS is added.
    assert_eq!(rule(), "launch");
    assert_eq!(fp(), "from FAILPOINTS");
    // The scenario replaces one launch rule, removes the other and adds its own.
    fail::cfg("compat::launch::rule", "return(scenario)").unwrap();
    fail::remove("compat::launch::other");
    fail::cfg("compat::launch::mine", "return").unwrap();
    assert_eq!((rule(), other()), ("scenario".into(), "untouched".into()));
    scenario.teardown();
    // Back to the launch rules, with their counters as they were: one `return` is left.
    assert_eq!(other(), "other");
    assert_eq!((rule(), rule()), ("launch".into(), "untouched".into()));
    assert_eq!(fp(), "untouched");
    assert!(!listed_at_all("compat::launch::mine"));
    assert_eq!(fail::hits("compat::launch::rule"), 4);
    // A second scenario starts from the same place.
    let _again = FailScenario::setup();
    assert_eq!((other(), fp()), ("other".into(), "from FAILPOINTS".into()));
}

#[test]
fn a_wrapper_macro_over_eval_compiles_and_fails_the_call() {
    let _scenario = FailScenario::setup();
    assert_eq!(failinject_compat::open_session("ann").unwrap(), "session of ann");
    fail::cfg("compat::lib::open_session", "1*return(locked)->return").unwrap();
    assert_eq!(failinject_compat::open_session("ann").unwrap_err().to_string(), "locked");
    assert_eq!(failinject_compat::open_session("ann").unwrap_err().to_string(), "injected");
}
