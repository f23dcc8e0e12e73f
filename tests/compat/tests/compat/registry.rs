//! `cfg_callback`, `remove`, `list`, `hits`.

use super::*;

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
