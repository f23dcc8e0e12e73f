//! A `pause` re-armed by `cfg` pauses again (fail-rs's `test_pause`, at scale).
//!
//! `cfg` used to retire the old rule, which wakes the paused thread, before the snapshot with
//! the new rule was visible: the woken thread hit the point again, met the old rule with its
//! pause already over, and ran through. The more rules, the longer a snapshot takes to
//! compile and the wider that window, hence the 300 other rules here.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

const REARMS: u64 = 1000;
const WAIT: Duration = Duration::from_secs(20);

fn paused() {
    failinject::fail_point!("rearm::paused");
}

/// Waits until `done` holds, or fails the test saying what was awaited.
fn wait_until(what: &str, done: impl Fn() -> bool) {
    let end = Instant::now() + WAIT;
    while !done() {
        assert!(Instant::now() < end, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_micros(200));
    }
}

#[test]
fn a_pause_rearmed_a_thousand_times_among_300_rules_pauses_every_time() {
    let _scenario = failinject::FailScenario::setup();
    for i in 0..300 {
        failinject::cfg(format!("rearm::other{i}"), "1%return(x)->off").unwrap();
    }
    failinject::cfg("rearm::paused", "pause").unwrap();
    let passes = Arc::new(AtomicU64::new(0));
    let worker = {
        let passes = Arc::clone(&passes);
        std::thread::spawn(move || {
            for _ in 0..=REARMS {
                paused();
                passes.fetch_add(1, Ordering::SeqCst);
            }
        })
    };
    for i in 0..REARMS {
        // The thread is in the current rule's pause once that rule has matched once.
        wait_until(&format!("re-arm {i}: the thread pauses"), || {
            failinject::hits("rearm::paused") == 1
        });
        assert_eq!(passes.load(Ordering::SeqCst), i, "the thread ran through a pause");
        failinject::cfg("rearm::paused", "pause").unwrap();
    }
    wait_until("the last pause", || failinject::hits("rearm::paused") == 1);
    assert_eq!(passes.load(Ordering::SeqCst), REARMS, "the thread ran through a pause");
    failinject::remove("rearm::paused");
    worker.join().unwrap();
    assert_eq!(passes.load(Ordering::SeqCst), REARMS + 1);
}
