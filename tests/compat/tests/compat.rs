//! The `failinject` crate used exactly as fail-rs 0.5 is used: through the name `fail`, with
//! only `fail::…` paths, every API form and every action.
//!
//! fail-rs has one global registry, and `FailScenario::setup` clears all of it (failinject's
//! goes back to the launch configuration, which is empty here). So every test
//! that configures points with the global `fail::cfg` holds a `FailScenario` for its whole run
//! (scenarios run one at a time) and uses point names of its own. Tests of the thread-local
//! configuration (`fail::local`) need neither.
//!
//! `FAILPOINTS` is read by `FailScenario::setup`; the tests that set it run a test of this
//! binary in a child process with the variable in its environment, as a user's
//! `FAILPOINTS=… cargo test` would, rather than changing the environment of this process.

use std::any::Any;
use std::panic::{self, AssertUnwindSafe};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Once, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use fail::{FailGuard, FailScenario, fail_point};

/// How long a test waits for something that should happen (generous, so a loaded machine
/// does not fail it; the test still cannot hang).
const WAIT: Duration = Duration::from_secs(10);
/// How long a thread that should be blocked is watched before concluding it is.
const STILL_BLOCKED: Duration = Duration::from_millis(300);

fn panic_message(payload: Box<dyn Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else {
        "<a panic payload that is not a string>".to_owned()
    }
}

/// Runs `f`, which must panic, and returns the panic message.
fn panics_with<T>(f: impl FnOnce() -> T) -> String {
    match panic::catch_unwind(AssertUnwindSafe(f)) {
        Ok(_) => panic!("expected a panic"),
        Err(payload) => panic_message(payload),
    }
}

/// Whether `list()` has the entry `(name, actions)`.
fn listed(name: &str, actions: &str) -> bool {
    fail::list().contains(&(name.to_owned(), actions.to_owned()))
}

/// Whether `list()` has any entry for `name`.
fn listed_at_all(name: &str) -> bool {
    fail::list().iter().any(|(n, _)| n == name)
}

// ---------------------------------------------------------------------------------------------
// `fail_point!` in its three forms
// ---------------------------------------------------------------------------------------------

#[test]
fn unconfigured_points_do_nothing() {
    let _scenario = FailScenario::setup();
    assert_eq!(failinject_compat::count(5), 5);
    assert!(failinject_compat::apply(true));
    assert_eq!(failinject_compat::read_setting("k").unwrap(), "value of k");
    failinject_compat::sync();
}

#[test]
fn has_failpoints_is_true_with_the_failpoints_feature() {
    assert!(fail::has_failpoints());
    // A `const fn`, as in fail-rs.
    const { assert!(fail::has_failpoints()) };
}

fn form_without_closure() -> u8 {
    fail_point!("compat::form::plain");
    1
}

#[test]
fn form_without_closure_acts_in_place() {
    let _scenario = FailScenario::setup();
    assert_eq!(form_without_closure(), 1);
    fail::cfg("compat::form::plain", "sleep(1)").unwrap();
    assert_eq!(form_without_closure(), 1);
    fail::cfg("compat::form::plain", "panic(in place)").unwrap();
    assert_eq!(panics_with(form_without_closure), "in place");
}

#[test]
fn form_without_closure_panics_on_return() {
    let _scenario = FailScenario::setup();
    fail::cfg("compat::form::plain_return", "return(5)").unwrap();
    let msg = panics_with(|| {
        fail_point!("compat::form::plain_return");
    });
    assert_eq!(msg, r#"Return is not supported for the fail point "compat::form::plain_return""#);
}

fn form_with_closure() -> i64 {
    fail_point!("compat::form::closure", |s: Option<String>| s.map_or(-1, |v| v.parse().unwrap()));
    0
}

#[test]
fn form_with_closure_gets_the_return_value() {
    let _scenario = FailScenario::setup();
    assert_eq!(form_with_closure(), 0);
    fail::cfg("compat::form::closure", "return(1000)").unwrap();
    assert_eq!(form_with_closure(), 1000);
    fail::cfg("compat::form::closure", "return").unwrap();
    assert_eq!(form_with_closure(), -1, "a bare `return` hands the closure `None`");
    fail::cfg("compat::form::closure", "off").unwrap();
    assert_eq!(form_with_closure(), 0);
}

#[test]
fn form_with_closure_sees_the_exact_argument() {
    let _scenario = FailScenario::setup();
    let seen = || -> Option<Option<String>> {
        fail_point!("compat::form::arg", Some);
        None
    };
    fail::cfg("compat::form::arg", "return(V)").unwrap();
    assert_eq!(seen(), Some(Some("V".to_owned())));
    fail::cfg("compat::form::arg", "return").unwrap();
    assert_eq!(seen(), Some(None));
}

#[test]
fn form_with_closure_in_library_code() {
    let _scenario = FailScenario::setup();
    fail::cfg("compat::lib::read_setting", "return(disk gone)").unwrap();
    let err = failinject_compat::read_setting("k").unwrap_err();
    assert_eq!(err.to_string(), "disk gone");
    fail::cfg("compat::lib::read_setting", "return").unwrap();
    assert_eq!(failinject_compat::read_setting("k").unwrap_err().to_string(), "injected");
    fail::cfg("compat::lib::count", "return(7)").unwrap();
    assert_eq!(failinject_compat::count(5), 7);
}

/// The closure may be any function of `Option<String>`, not only a closure literal.
fn to_error(arg: Option<String>) -> Result<u32, String> {
    Err(arg.unwrap_or_default())
}

#[test]
fn form_with_a_function_instead_of_a_closure() {
    let _scenario = FailScenario::setup();
    let parse = || -> Result<u32, String> {
        fail_point!("compat::form::function", to_error);
        Ok(1)
    };
    assert_eq!(parse(), Ok(1));
    fail::cfg("compat::form::function", "return(bad header)").unwrap();
    assert_eq!(parse(), Err("bad header".to_owned()));
}

fn conditional(enabled: bool) -> u8 {
    fail_point!("compat::form::cond", enabled, |_| 2);
    0
}

#[test]
fn conditional_form_acts_only_when_the_condition_holds() {
    let _scenario = FailScenario::setup();
    assert_eq!(conditional(false), 0);
    assert_eq!(conditional(true), 0);
    fail::cfg("compat::form::cond", "1*return").unwrap();
    assert_eq!(conditional(false), 0);
    assert_eq!(conditional(false), 0);
    assert_eq!(fail::hits("compat::form::cond"), 0, "a false condition does not reach the point");
    // The false conditions did not use up the count.
    assert_eq!(conditional(true), 2);
    assert_eq!(conditional(true), 0);
    assert!(failinject_compat::apply(false));
    fail::cfg("compat::lib::apply", "return").unwrap();
    assert!(failinject_compat::apply(false));
    assert!(!failinject_compat::apply(true));
}

#[test]
fn the_same_name_at_several_places_shares_one_configuration() {
    let _scenario = FailScenario::setup();
    let first = || -> u8 {
        fail_point!("compat::form::shared", |_| 1);
        0
    };
    let second = || -> u8 {
        fail_point!("compat::form::shared", |_| 2);
        0
    };
    fail::cfg("compat::form::shared", "2*return").unwrap();
    assert_eq!((first(), second(), first(), second()), (1, 2, 0, 0));
}

#[test]
fn a_global_configuration_is_seen_by_every_thread() {
    let _scenario = FailScenario::setup();
    fail::cfg("compat::lib::count", "return(9)").unwrap();
    let other = thread::spawn(|| failinject_compat::count(1)).join().unwrap();
    assert_eq!(other, 9);
}

#[test]
fn names_as_fail_rs_users_write_them() {
    let _scenario = FailScenario::setup();
    macro_rules! point_named {
        ($name:literal) => {
            (|| -> &'static str {
                fail_point!($name, |_| $name);
                "untouched"
            })()
        };
    }
    for name in ["read-dir", "wal::append", "raft.apply/step_2", "UPPER_case-123", "with space"] {
        fail::cfg(name, "return").unwrap();
    }
    assert_eq!(point_named!("read-dir"), "read-dir");
    assert_eq!(point_named!("wal::append"), "wal::append");
    assert_eq!(point_named!("raft.apply/step_2"), "raft.apply/step_2");
    assert_eq!(point_named!("UPPER_case-123"), "UPPER_case-123");
    assert_eq!(point_named!("with space"), "with space");
    assert!(listed("with space", "return"), "{:?}", fail::list());
}

/// A module with no `use` at all: the macro must name everything it needs itself.
mod no_imports {
    pub fn plain() -> u8 {
        fail::fail_point!("compat::hygiene::plain");
        1
    }

    pub fn closure() -> u8 {
        fail::fail_point!("compat::hygiene::closure", |s| s.map_or(2, |v| v.parse().unwrap()));
        0
    }

    pub fn conditional(on: bool) -> u8 {
        fail::fail_point!("compat::hygiene::cond", on, |_| 3);
        0
    }

    /// The caller's locals keep their names and values around the macro.
    pub fn locals_survive() -> u32 {
        let outcome = 10;
        let ret = 20;
        let res = 30;
        let site = 40;
        fail::fail_point!("compat::hygiene::locals", |_| 1);
        outcome + ret + res + site
    }
}

#[test]
fn the_macro_works_in_a_module_without_imports() {
    let _scenario = FailScenario::setup();
    assert_eq!(no_imports::plain(), 1);
    assert_eq!(no_imports::closure(), 0);
    assert_eq!(no_imports::conditional(true), 0);
    assert_eq!(no_imports::locals_survive(), 100);
    fail::cfg("compat::hygiene::plain", "panic(no imports)").unwrap();
    fail::cfg("compat::hygiene::closure", "return(8)").unwrap();
    fail::cfg("compat::hygiene::cond", "return").unwrap();
    fail::cfg("compat::hygiene::locals", "1*off->return").unwrap();
    assert_eq!(panics_with(no_imports::plain), "no imports");
    assert_eq!(no_imports::closure(), 8);
    assert_eq!(no_imports::conditional(false), 0);
    assert_eq!(no_imports::conditional(true), 3);
    assert_eq!(no_imports::locals_survive(), 100);
    assert_eq!(no_imports::locals_survive(), 1);
}

// ---------------------------------------------------------------------------------------------
// `cfg` and the tasks
// ---------------------------------------------------------------------------------------------

fn task_point() -> u8 {
    fail_point!("compat::task", |_| 1);
    0
}

#[test]
fn off_does_nothing() {
    let _scenario = FailScenario::setup();
    fail::cfg("compat::task", "off").unwrap();
    assert_eq!(task_point(), 0);
    assert!(listed("compat::task", "off"));
}

#[test]
fn sleep_delays_and_goes_on() {
    let _scenario = FailScenario::setup();
    fail::cfg("compat::lib::count", "sleep(150)").unwrap();
    let start = Instant::now();
    assert_eq!(failinject_compat::count(4), 4, "sleep does not return early");
    assert!(start.elapsed() >= Duration::from_millis(150), "{:?}", start.elapsed());
    fail::cfg("compat::lib::sync", "sleep(100)").unwrap();
    let start = Instant::now();
    failinject_compat::sync();
    assert!(start.elapsed() >= Duration::from_millis(100), "{:?}", start.elapsed());
}

#[test]
fn delay_busy_waits_and_goes_on() {
    let _scenario = FailScenario::setup();
    fail::cfg("compat::task_delay", "delay(120)").unwrap();
    let delayed = || -> u8 {
        fail_point!("compat::task_delay", |_| 1);
        0
    };
    let start = Instant::now();
    assert_eq!(delayed(), 0);
    assert!(start.elapsed() >= Duration::from_millis(120), "{:?}", start.elapsed());
}

#[test]
fn panic_with_and_without_a_message() {
    let _scenario = FailScenario::setup();
    fail::cfg("compat::lib::sync", "panic(disk on fire)").unwrap();
    assert_eq!(panics_with(failinject_compat::sync), "disk on fire");
    fail::cfg("compat::lib::sync", "panic").unwrap();
    assert_eq!(panics_with(failinject_compat::sync), "failpoint compat::lib::sync panic");
    // The panic is the caller's: a closure form panics too, without returning.
    fail::cfg("compat::task_panic", "panic(from closure form)").unwrap();
    let msg = panics_with(|| -> u8 {
        fail_point!("compat::task_panic", |_| 1);
        0
    });
    assert_eq!(msg, "from closure form");
}

/// Records every log message with its level and target.
struct Recorder(Mutex<Vec<(log::Level, String, String)>>);

impl log::Log for Recorder {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &log::Record<'_>) {
        let mut records = self.0.lock().unwrap_or_else(|e| e.into_inner());
        records.push((record.level(), record.target().to_owned(), record.args().to_string()));
    }
    fn flush(&self) {}
}

static RECORDER: Recorder = Recorder(Mutex::new(Vec::new()));

/// The process's logger (installed once; only the `print` tests log).
fn recorder() -> &'static Recorder {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        log::set_logger(&RECORDER).expect("no other logger in this test binary");
        log::set_max_level(log::LevelFilter::Trace);
    });
    &RECORDER
}

fn logged(level: log::Level, msg: &str) -> bool {
    let records = recorder().0.lock().unwrap_or_else(|e| e.into_inner());
    records.iter().any(|(l, _, m)| *l == level && m == msg)
}

/// The target a message was logged with.
fn logged_target(msg: &str) -> Option<String> {
    let records = recorder().0.lock().unwrap_or_else(|e| e.into_inner());
    records.iter().find(|(_, _, m)| m == msg).map(|(_, t, _)| t.clone())
}

#[test]
fn print_logs_at_info_level_and_goes_on() {
    let _scenario = FailScenario::setup();
    recorder();
    let printed = || -> u8 {
        fail_point!("compat::task_print", |_| 1);
        0
    };
    fail::cfg("compat::task_print", "print(still alive at step 3)").unwrap();
    assert_eq!(printed(), 0, "print does not return early");
    assert!(logged(log::Level::Info, "still alive at step 3"), "{:?}", recorder().0.lock());
    fail::cfg("compat::task_print", "print").unwrap();
    assert_eq!(printed(), 0);
    assert!(
        logged(log::Level::Info, "failpoint compat::task_print executed."),
        "{:?}",
        recorder().0.lock()
    );
}

#[test]
fn print_logs_with_the_fail_target() {
    let _scenario = FailScenario::setup();
    recorder();
    fail::cfg("compat::task_print_target", "print(which target)").unwrap();
    let printed = || {
        fail_point!("compat::task_print_target");
    };
    printed();
    assert_eq!(logged_target("which target").as_deref(), Some("fail"));
}

fn pause_point() {
    fail_point!("compat::task_pause");
}

/// Runs `pause_point` in a new thread; returns (the thread is about to hit it, it got past).
fn hit_pause_in_thread() -> (mpsc::Receiver<()>, mpsc::Receiver<()>) {
    let (about_to_hit, started) = mpsc::channel();
    let (got_past, done) = mpsc::channel();
    thread::spawn(move || {
        about_to_hit.send(()).unwrap();
        pause_point();
        let _ = got_past.send(());
    });
    started.recv_timeout(WAIT).expect("the thread starts");
    (started, done)
}

fn assert_still_paused(done: &mpsc::Receiver<()>) {
    assert!(done.recv_timeout(STILL_BLOCKED).is_err(), "the thread did not stay paused");
}

#[test]
fn pause_blocks_until_set_off() {
    let _scenario = FailScenario::setup();
    fail::cfg("compat::task_pause", "pause").unwrap();
    let (_started, done) = hit_pause_in_thread();
    assert_still_paused(&done);
    fail::cfg("compat::task_pause", "off").unwrap();
    done.recv_timeout(WAIT).expect("`cfg(name, \"off\")` wakes the paused thread");
    pause_point();
}

#[test]
fn pause_blocks_until_removed() {
    let _scenario = FailScenario::setup();
    fail::cfg("compat::task_pause", "pause").unwrap();
    let (_started, done) = hit_pause_in_thread();
    assert_still_paused(&done);
    fail::remove("compat::task_pause");
    done.recv_timeout(WAIT).expect("`remove(name)` wakes the paused thread");
}

#[test]
fn pause_is_woken_by_any_new_configuration() {
    let _scenario = FailScenario::setup();
    fail::cfg("compat::task_pause", "pause").unwrap();
    let (_started, done) = hit_pause_in_thread();
    assert_still_paused(&done);
    // As in fail-rs: setting the actions again (even to `pause`) releases the paused thread;
    // its next hit pauses again.
    fail::cfg("compat::task_pause", "pause").unwrap();
    done.recv_timeout(WAIT).expect("a new `cfg` wakes the paused thread");
    let (_started, done) = hit_pause_in_thread();
    assert_still_paused(&done);
    fail::remove("compat::task_pause");
    done.recv_timeout(WAIT).expect("`remove(name)` wakes the paused thread");
}

#[test]
fn pause_is_woken_by_scenario_teardown() {
    let scenario = FailScenario::setup();
    fail::cfg("compat::task_pause", "pause").unwrap();
    let (_started, done) = hit_pause_in_thread();
    assert_still_paused(&done);
    scenario.teardown();
    done.recv_timeout(WAIT).expect("teardown wakes the paused thread");
}

#[test]
fn yield_goes_on() {
    let _scenario = FailScenario::setup();
    fail::cfg("compat::task", "yield").unwrap();
    for _ in 0..100 {
        assert_eq!(task_point(), 0);
    }
}

// ---------------------------------------------------------------------------------------------
// Probabilities, counts, chains
// ---------------------------------------------------------------------------------------------

#[test]
fn probability_takes_the_action_about_that_often() {
    let _scenario = FailScenario::setup();
    fail::cfg("compat::prob", "50%return").unwrap();
    let point = || -> bool {
        fail_point!("compat::prob", |_| true);
        false
    };
    let returned = (0..2000).filter(|_| point()).count();
    // Binomial(2000, 0.5): the standard deviation is about 22, so ±200 is 9 of them.
    assert!((800..=1200).contains(&returned), "{returned} of 2000");
}

#[test]
fn probabilities_of_none_and_all() {
    let _scenario = FailScenario::setup();
    let point = || -> bool {
        fail_point!("compat::prob_edges", |_| true);
        false
    };
    fail::cfg("compat::prob_edges", "0%return").unwrap();
    assert_eq!((0..500).filter(|_| point()).count(), 0);
    fail::cfg("compat::prob_edges", "100%return").unwrap();
    assert_eq!((0..500).filter(|_| point()).count(), 500);
}

fn counted() -> u8 {
    fail_point!("compat::count", |s| s.map_or(1, |v| v.parse().unwrap()));
    0
}

#[test]
fn count_limits_an_action() {
    let _scenario = FailScenario::setup();
    fail::cfg("compat::count", "2*return->off").unwrap();
    let got: Vec<u8> = (0..5).map(|_| counted()).collect();
    assert_eq!(got, [1, 1, 0, 0, 0]);
    // Configuring again starts the count afresh.
    fail::cfg("compat::count", "2*return->off").unwrap();
    let got: Vec<u8> = (0..4).map(|_| counted()).collect();
    assert_eq!(got, [1, 1, 0, 0]);
    // With no action left the point does nothing.
    fail::cfg("compat::count", "1*return(5)").unwrap();
    let got: Vec<u8> = (0..3).map(|_| counted()).collect();
    assert_eq!(got, [5, 0, 0]);
}

#[test]
fn chain_takes_the_first_action_left() {
    let _scenario = FailScenario::setup();
    fail::cfg("compat::count", "1*return(3)->2*return(4)->return(5)").unwrap();
    let got: Vec<u8> = (0..5).map(|_| counted()).collect();
    assert_eq!(got, [3, 4, 4, 5, 5]);
    // A used-up `off` lets the next action through.
    fail::cfg("compat::count", "2*off->return(9)").unwrap();
    let got: Vec<u8> = (0..4).map(|_| counted()).collect();
    assert_eq!(got, [0, 0, 9, 9]);
}

#[test]
fn probabilities_and_counts_together() {
    let _scenario = FailScenario::setup();
    let point = || -> i32 {
        fail_point!("compat::freq_count", |s| s.map_or(5, |v| v.parse().unwrap()));
        0
    };
    fail::cfg("compat::freq_count", "50%20*return(3)->50%20*return(-1)->20*return").unwrap();
    // Every action is used up long before 4,000 hits: 20×3 − 20×1 + 20×5.
    let sum: i32 = (0..4000).map(|_| point()).sum();
    assert_eq!(sum, 140);
}

#[test]
fn spaces_around_actions_are_ignored() {
    let _scenario = FailScenario::setup();
    fail::cfg("compat::count", " 1*return(3) -> return(4) ").unwrap();
    assert_eq!((counted(), counted()), (3, 4));
}

#[test]
fn return_arguments_are_passed_verbatim() {
    let _scenario = FailScenario::setup();
    let seen = || -> String {
        fail_point!("compat::args", |s: Option<String>| s.unwrap_or_else(|| "<none>".into()));
        "<not returned>".into()
    };
    for arg in ["disk full, retry later", "2%5", "a*b", "k=v", "a;b", "-1", "üñï"] {
        fail::cfg("compat::args", &format!("return({arg})")).unwrap();
        assert_eq!(seen(), arg);
    }
}

#[test]
fn empty_return_argument() {
    let _scenario = FailScenario::setup();
    let seen = || -> Option<String> {
        fail_point!("compat::args_empty", |s| s);
        Some("<not returned>".into())
    };
    fail::cfg("compat::args_empty", "return()").unwrap();
    assert_eq!(seen(), Some(String::new()), "fail-rs hands `return()` over as Some(\"\")");
}

// ---------------------------------------------------------------------------------------------
// cfg_callback, remove, list, hits
// ---------------------------------------------------------------------------------------------

#[test]
fn cfg_callback_runs_on_every_hit_and_nothing_else() {
    let _scenario = FailScenario::setup();
    let first = || -> u8 {
        fail_point!("compat::cb", |_| 1);
        0
    };
    let second = || {
        fail_point!("compat::cb");
    };
    let counter = Arc::new(AtomicUsize::new(0));
    let c = Arc::clone(&counter);
    fail::cfg_callback("compat::cb", move || {
        c.fetch_add(1, Ordering::SeqCst);
    })
    .unwrap();
    assert_eq!(first(), 0, "the callback is all the point does");
    second();
    assert_eq!(first(), 0);
    assert_eq!(counter.load(Ordering::SeqCst), 3);
    // From another thread too.
    thread::spawn(second).join().unwrap();
    assert_eq!(counter.load(Ordering::SeqCst), 4);
    // A later `cfg` replaces the callback.
    fail::cfg("compat::cb", "return").unwrap();
    assert_eq!(first(), 1);
    assert_eq!(counter.load(Ordering::SeqCst), 4);
    // And a callback replaces actions.
    let c = Arc::clone(&counter);
    fail::cfg_callback("compat::cb", move || {
        c.fetch_add(10, Ordering::SeqCst);
    })
    .unwrap();
    assert_eq!(first(), 0);
    assert_eq!(counter.load(Ordering::SeqCst), 14);
    fail::remove("compat::cb");
    assert_eq!(first(), 0);
    assert_eq!(counter.load(Ordering::SeqCst), 14);
}

#[test]
fn a_callback_may_configure_points() {
    let _scenario = FailScenario::setup();
    fail::cfg_callback("compat::cb_cfg", || {
        fail::cfg("compat::cb_cfg_target", "return(6)").unwrap();
    })
    .unwrap();
    let point = || {
        fail_point!("compat::cb_cfg");
    };
    point();
    assert!(listed("compat::cb_cfg_target", "return(6)"));
}

#[test]
fn cfg_callback_is_listed_as_callback() {
    let _scenario = FailScenario::setup();
    fail::cfg_callback("compat::cb_list", || {}).unwrap();
    assert!(listed("compat::cb_list", "callback"), "{:?}", fail::list());
}

#[test]
fn remove_unconfigures_a_point() {
    let _scenario = FailScenario::setup();
    fail::cfg("compat::remove", "return").unwrap();
    let point = || -> u8 {
        fail_point!("compat::remove", |_| 1);
        0
    };
    assert_eq!(point(), 1);
    fail::remove("compat::remove");
    assert_eq!(point(), 0);
    assert!(!listed_at_all("compat::remove"));
    // Removing a point that is not configured is fine; `remove` takes a `String` too.
    fail::remove("compat::remove");
    fail::remove(String::from("compat::never_configured"));
}

#[test]
fn list_shows_names_and_actions_as_given() {
    let _scenario = FailScenario::setup();
    assert!(!listed_at_all("compat::list"));
    fail::cfg("compat::list", "off").unwrap();
    assert!(listed("compat::list", "off"));
    fail::cfg("compat::list", "return").unwrap();
    assert!(listed("compat::list", "return"));
    assert!(!listed("compat::list", "off"), "one entry per point");
    fail::cfg("compat::list", "50%2*return(x)->sleep(10)->off").unwrap();
    assert!(listed("compat::list", "50%2*return(x)->sleep(10)->off"), "{:?}", fail::list());
    fail::cfg(String::from("compat::list2"), "panic(boom)").unwrap();
    assert!(listed("compat::list2", "panic(boom)"), "{:?}", fail::list());
    fail::remove("compat::list");
    assert!(!listed_at_all("compat::list"));
    assert!(listed_at_all("compat::list2"));
}

#[test]
fn hits_counts_the_times_a_configured_point_was_reached() {
    let _scenario = FailScenario::setup();
    assert_eq!(fail::hits("compat::hits"), 0);
    let point = || -> u8 {
        fail_point!("compat::hits", |_| 1);
        0
    };
    point();
    assert_eq!(fail::hits("compat::hits"), 0, "not configured: nothing counted");
    fail::cfg("compat::hits", "return").unwrap();
    for _ in 0..3 {
        point();
    }
    assert_eq!(fail::hits("compat::hits"), 3);
    assert_eq!(fail::hits("compat::never_configured"), 0);
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/// The way fail-rs's `Result<(), String>` is used: `?` in a function returning `String` errors.
fn configure(name: &str, actions: &str) -> Result<(), String> {
    fail::cfg(name, actions)?;
    Ok(())
}

#[test]
fn malformed_actions_are_errors() {
    let _scenario = FailScenario::setup();
    for bad in [
        "unknown",
        "Return",
        "return(msg",
        "ab%return",
        "ab*return",
        "sleep",
        "delay",
        "sleep(soon)",
        "return->bogus",
    ] {
        let text: String = fail::cfg("compat::malformed", bad).expect_err(bad);
        assert!(!text.is_empty(), "{bad}: an empty message");
        assert!(configure("compat::malformed", bad).is_err(), "{bad}");
        assert!(FailGuard::new("compat::malformed", bad).is_err(), "{bad}");
    }
    assert!(!listed_at_all("compat::malformed"), "a refused configuration is not set");
    assert_eq!(configure("compat::malformed", "return"), Ok(()));
}

#[test]
fn a_malformed_cfg_keeps_the_previous_configuration() {
    let _scenario = FailScenario::setup();
    fail::cfg("compat::lib::count", "return(3)").unwrap();
    assert!(fail::cfg("compat::lib::count", "retrun(4)").is_err());
    assert_eq!(failinject_compat::count(10), 3);
    assert!(listed("compat::lib::count", "return(3)"));
}

#[test]
fn errors_are_strings_like_fail_rs() {
    let _scenario = FailScenario::setup();
    // The very types of fail-rs's signatures.
    let as_string: Result<(), String> = fail::cfg("compat::err", "nope");
    assert!(as_string.is_err());
    let guard: Result<FailGuard, String> = FailGuard::new("compat::err", "nope");
    assert!(guard.is_err());
    fn with_guard() -> Result<(), String> {
        let _guard = FailGuard::new("compat::err", "nope")?;
        Ok(())
    }
    assert!(with_guard().is_err());
    assert!(fail::cfg_callback("compat::err", || {}).is_ok());
}

// ---------------------------------------------------------------------------------------------
// FailGuard
// ---------------------------------------------------------------------------------------------

#[test]
fn fail_guard_configures_for_its_lifetime() {
    let _scenario = FailScenario::setup();
    {
        let _guard = FailGuard::new("compat::lib::count", "return(11)").unwrap();
        assert_eq!(failinject_compat::count(1), 11);
        assert!(listed("compat::lib::count", "return(11)"));
    }
    assert_eq!(failinject_compat::count(1), 1);
    assert!(!listed_at_all("compat::lib::count"));
    // The name may be a `String`; the guard is `Debug`.
    let guard = FailGuard::new(String::from("compat::lib::count"), "return(12)").unwrap();
    assert!(!format!("{guard:?}").is_empty());
    assert_eq!(failinject_compat::count(1), 12);
    drop(guard);
    assert_eq!(failinject_compat::count(1), 1);
}

#[test]
fn fail_guard_with_callback_runs_it_for_its_lifetime() {
    let _scenario = FailScenario::setup();
    let counter = Arc::new(AtomicUsize::new(0));
    let c = Arc::clone(&counter);
    let guard = FailGuard::with_callback("compat::lib::count", move || {
        c.fetch_add(1, Ordering::SeqCst);
    })
    .unwrap();
    assert_eq!(failinject_compat::count(2), 2);
    assert_eq!(failinject_compat::count(2), 2);
    assert_eq!(counter.load(Ordering::SeqCst), 2);
    drop(guard);
    assert_eq!(failinject_compat::count(2), 2);
    assert_eq!(counter.load(Ordering::SeqCst), 2);
    assert!(!listed_at_all("compat::lib::count"));
}

// ---------------------------------------------------------------------------------------------
// FailScenario
// ---------------------------------------------------------------------------------------------

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

/// Runs the (ignored) test `name` of this binary alone, in a child process with `FAILPOINTS`
/// set to `failpoints`, and checks that it passed.
fn run_child_test(name: &str, failpoints: &str) {
    run_child_test_with(name, failpoints, None);
}

/// [`run_child_test`], the child launched with `FAILINJECT` set to `failinject` too.
fn run_child_test_with(name: &str, failpoints: &str, failinject: Option<&str>) {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args([name, "--exact", "--ignored", "--test-threads=1", "--nocapture"])
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

// ---------------------------------------------------------------------------------------------
// Beyond fail-rs: `fail::local` and `fail::hits`
// ---------------------------------------------------------------------------------------------

fn local_point() -> String {
    fail_point!("compat::local", |s: Option<String>| s.unwrap_or_default());
    "untouched".into()
}

#[test]
fn local_cfg_is_seen_only_by_the_calling_thread() {
    fail::local::cfg("compat::local", "return(mine)").unwrap();
    assert_eq!(local_point(), "mine");
    assert_eq!(thread::spawn(local_point).join().unwrap(), "untouched");
    assert!(!listed_at_all("compat::local"), "a local rule is not in the global list");
    fail::local::remove("compat::local");
    assert_eq!(local_point(), "untouched");
    fail::local::cfg("compat::local", "1*return(again)").unwrap();
    assert_eq!((local_point(), local_point()), ("again".into(), "untouched".into()));
    fail::local::clear();
    assert_eq!(local_point(), "untouched");
    assert!(fail::local::cfg("compat::local", "bogus").is_err());
}

#[test]
fn local_cfg_comes_before_the_global_one() {
    let _scenario = FailScenario::setup();
    fail::cfg("compat::local_over", "return(global)").unwrap();
    let point = || -> String {
        fail_point!("compat::local_over", |s: Option<String>| s.unwrap_or_default());
        "untouched".into()
    };
    fail::local::cfg("compat::local_over", "return(local)").unwrap();
    assert_eq!(point(), "local");
    assert_eq!(thread::spawn(point).join().unwrap(), "global");
    fail::local::clear();
    assert_eq!(point(), "global");
}

#[test]
fn local_configurations_of_many_threads_stay_apart() {
    let threads: Vec<_> = (0..8)
        .map(|t| {
            thread::spawn(move || {
                for round in 0..300 {
                    fail::local::cfg("compat::local", &format!("return(t{t})")).unwrap();
                    assert_eq!(local_point(), format!("t{t}"), "thread {t}, round {round}");
                    fail::local::clear();
                    assert_eq!(local_point(), "untouched", "thread {t}, round {round}");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

#[test]
fn local_sleep_waits() {
    let point = || -> u8 {
        fail_point!("compat::local_wait", |_| 1);
        0
    };
    fail::local::cfg("compat::local_wait", "sleep(100)").unwrap();
    let start = Instant::now();
    assert_eq!(point(), 0);
    assert!(start.elapsed() >= Duration::from_millis(100), "sleep: {:?}", start.elapsed());
    fail::local::clear();
}

#[test]
fn local_delay_waits() {
    let point = || -> u8 {
        fail_point!("compat::local_delay", |_| 1);
        0
    };
    fail::local::cfg("compat::local_delay", "delay(100)").unwrap();
    let start = Instant::now();
    assert_eq!(point(), 0);
    let waited = start.elapsed();
    fail::local::clear();
    assert!(waited >= Duration::from_millis(100), "delay: {waited:?}");
}

// ---------------------------------------------------------------------------------------------
// Code fail-rs 0.5 accepts that failinject once did not: non-literal names, Debug, a local String
// ---------------------------------------------------------------------------------------------

mod known_compile_gaps {
    use fail::{FailScenario, fail_point};

    /// fail-rs takes any `&str` expression as the name; so does failinject (a literal gets a
    /// cached `static` site, anything else is looked up on every hit).
    const NAME: &str = "compat::gap::const_name";

    fn const_name() -> u8 {
        fail_point!(NAME, |_| 1);
        0
    }

    fn runtime_name(name: &str) -> u8 {
        fail_point!(name, |_| 1);
        0
    }

    /// fail-rs's `FailScenario` is `Debug` (fail-rs denies missing Debug implementations).
    #[derive(Debug)]
    struct Fixture {
        _scenario: FailScenario<'static>,
    }

    /// A module with its own `String`: fail-rs's no-closure form names no type, failinject's
    /// writes `Option<String>`, which resolves at the call site.
    mod own_string_type {
        #[allow(dead_code)]
        type String = Box<str>;

        pub fn plain() -> u8 {
            fail::fail_point!("compat::gap::own_string");
            0
        }
    }

    #[test]
    fn a_module_with_its_own_string_type() {
        assert_eq!(own_string_type::plain(), 0);
    }

    #[test]
    fn names_that_are_not_literals() {
        let _fixture = Fixture { _scenario: FailScenario::setup() };
        fail::cfg(NAME, "return").unwrap();
        fail::cfg("compat::gap::runtime", "return").unwrap();
        assert_eq!(const_name(), 1);
        assert_eq!(runtime_name("compat::gap::runtime"), 1);
        assert_eq!(runtime_name("compat::gap::other"), 0);
    }
}
