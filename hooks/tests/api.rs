//! fail-rs's public surface, hidden items included, as failinject gives it; and what
//! failinject refuses instead of ignoring.
//!
//! Each test uses point names of its own and holds no scenario, so they run in parallel.

use failinject::{CfgError, FailGuard, fail_point};

fn returns(name: &'static str) -> Option<String> {
    failinject::eval(name, |arg| arg.unwrap_or_else(|| "bare".to_owned()))
}

#[test]
fn cfg_errors_are_strings_as_in_fail_rs_and_try_cfg_is_typed() {
    let err: String = failinject::cfg("api::bad", "retrun(1)").unwrap_err();
    assert!(err.contains("unknown task `retrun`"), "{err}");
    assert!(matches!(failinject::try_cfg("api::bad", "retrun(1)"), Err(CfgError::Parse(_))));
    let err: String = FailGuard::new("api::bad", "sleep").unwrap_err();
    assert!(!err.is_empty());
    assert!(failinject::list().iter().all(|(n, _)| n != "api::bad"));
}

#[test]
fn eval_is_what_wrapper_macros_call() {
    assert_eq!(returns("api::eval"), None);
    failinject::cfg("api::eval", "1*return(seven)->return").unwrap();
    assert_eq!(returns("api::eval"), Some("seven".to_owned()));
    assert_eq!(returns("api::eval"), Some("bare".to_owned()));
    failinject::remove("api::eval");
    assert_eq!(returns("api::eval"), None);
}

#[test]
fn percentages_above_100_mean_always() {
    let point = || -> u32 {
        fail_point!("api::percent", |_| 1);
        0
    };
    failinject::cfg("api::percent", "125%2*return").unwrap();
    assert_eq!((point(), point(), point()), (1, 1, 0));
    let _guard = FailGuard::new("api::percent", "150%return").unwrap();
    assert_eq!((point(), point()), (1, 1));
}

#[test]
fn list_gives_the_actions_exactly_as_given() {
    failinject::cfg("api::list", "1*return(x) -> 50%off").unwrap();
    let listed = failinject::list();
    assert!(listed.contains(&("api::list".into(), "1*return(x) -> 50%off".into())), "{listed:?}");
    failinject::cfg("api::list", "return").unwrap();
    assert!(failinject::list().contains(&("api::list".into(), "return".into())));
    failinject::remove("api::list");
    assert!(failinject::list().iter().all(|(n, _)| n != "api::list"));
}

#[test]
fn sys_rules_without_the_preload_are_refused_with_the_reason() {
    let err = failinject::cfg("sys:fsync", "error(EIO)").unwrap_err();
    assert!(err.contains("libfailinject.so is not loaded"), "{err}");
    assert!(matches!(
        failinject::try_cfg("sys:write[path=*.wal]", "error(ENOSPC)"),
        Err(CfgError::NeedsPreload(_))
    ));
    assert!(FailGuard::new("sys:fsync", "error(EIO)").is_err());
    assert!(failinject::list().iter().all(|(n, _)| !n.starts_with("sys:")));
}

/// Without the preload a `sys:` rule in `local::cfg` says the preload is needed (under it,
/// `tests/tests/preload/scenario.rs` shows the rule firing for its thread only).
#[test]
fn local_cfg_of_a_sys_rule_needs_the_preload() {
    let err = failinject::local::cfg("sys:write", "error(EIO)").unwrap_err();
    assert!(matches!(err, CfgError::NeedsPreload(_)), "{err:?}");
    assert!(err.to_string().contains("libfailinject.so is not loaded"), "{err}");
}
