//! `FailGuard`.

use super::*;

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
