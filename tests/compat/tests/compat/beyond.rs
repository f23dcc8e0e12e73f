//! Beyond fail-rs: `fail::local` and `fail::hits`.

use super::*;

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
