//! `cfg` and the tasks.

use super::*;

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
