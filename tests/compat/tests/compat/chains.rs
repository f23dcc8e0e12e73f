//! Probabilities, counts, chains.

use super::*;

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
