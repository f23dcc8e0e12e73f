//! Errors.

use super::*;

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
