//! `fail_point!` in its three forms.

use super::*;

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
