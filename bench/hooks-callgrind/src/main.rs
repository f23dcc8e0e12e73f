//! `failinject-hooks-callgrind CASE N`: sets up one case of `hooks/benches/fail_point.rs` and
//! hits its fail point N times.
//!
//! Instructions per hit = (Ir at N=1000000 − Ir at N=0) / 1000000, both runs under
//! `valgrind --tool=callgrind`: setup, configuration and process start-up cancel out. Every
//! case hits its point once before the loop, in both runs, so a site's first-hit slow path is
//! not in the difference. The `baseline` case runs the same loop with no point; subtract it to
//! get the point alone.
//!
//! Run without `LD_PRELOAD=libfailinject.so` (checked): `failinject`'s in-process registry is
//! what is measured.

use std::hint::black_box;

#[path = "../../../hooks/benches/common/points.rs"]
mod points;
use points::*;

const CASES: &[&str] = &[
    "baseline",
    "failinject_unconfigured",
    "failrs_unconfigured",
    "failinject_unconfigured_10_others",
    "failrs_unconfigured_10_others",
    "failinject_off",
    "failrs_off",
    "failinject_unconfigured_local_elsewhere",
    "failinject_configured",
    "failrs_configured",
];

/// Hits the point `n` times, consuming each result in place (as the criterion benchmark's
/// `sink`), after one hit outside the loop. Returns how many hits returned early.
#[inline(always)]
fn run(n: u64, point: impl Fn() -> Result<(), String>) -> u64 {
    let mut early = u64::from(point().is_err());
    for _ in 0..n {
        let r = point();
        black_box(&r);
        early += u64::from(r.is_err());
    }
    early
}

// One non-inlined loop per case, so each is one function in callgrind's output.
#[inline(never)]
fn baseline_loop(n: u64) -> u64 {
    run(n, no_point)
}
#[inline(never)]
fn fi_unconfigured_loop(n: u64) -> u64 {
    run(n, fi_unconfigured)
}
#[inline(never)]
fn fr_unconfigured_loop(n: u64) -> u64 {
    run(n, fr_unconfigured)
}
#[inline(never)]
fn fi_off_loop(n: u64) -> u64 {
    run(n, fi_off)
}
#[inline(never)]
fn fr_off_loop(n: u64) -> u64 {
    run(n, fr_off)
}
#[inline(never)]
fn fi_configured_loop(n: u64) -> u64 {
    run(n, fi_configured)
}
#[inline(never)]
fn fr_configured_loop(n: u64) -> u64 {
    run(n, fr_configured)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = || -> ! {
        eprintln!("usage: {} CASE N\n  CASE: {}", args[0], CASES.join(" | "));
        std::process::exit(2)
    };
    let [_, case, n] = &args[..] else { usage() };
    if !CASES.contains(&case.as_str()) {
        usage()
    }
    let Ok(n) = n.parse::<u64>() else { usage() };

    assert!(
        matches!(failinject::backend::backend(), failinject::backend::Backend::Local(_)),
        "run without LD_PRELOAD=libfailinject.so"
    );
    assert!(failinject::list().is_empty() && fail::list().is_empty(), "unset FAILINJECT");
    if case.contains("10_others") || case.ends_with("_off") {
        for (name, actions) in OTHERS {
            failinject::cfg(name, actions).expect("failinject parses the rule");
            fail::cfg(name, actions).expect("fail-rs parses the rule");
        }
    }
    if case.ends_with("_configured") {
        // A rule that is evaluated on every hit (its roll never passes): the point's slow path.
        failinject::cfg("bench::configured", "0%return").expect("failinject parses the rule");
        fail::cfg("bench::configured", "0%return").expect("fail-rs parses the rule");
    }
    // Another thread holds a local configuration for the whole run.
    let (hold, release) = std::sync::mpsc::channel::<()>();
    let holder = case.ends_with("local_elsewhere").then(|| {
        let (ready, is_ready) = std::sync::mpsc::channel();
        let t = std::thread::spawn(move || {
            failinject::local::cfg("bench::unconfigured", "return(local)").unwrap();
            ready.send(()).unwrap();
            let _ = release.recv();
        });
        is_ready.recv().unwrap();
        t
    });
    if case.ends_with("_off") {
        failinject::cfg("bench::off", "off").expect("failinject parses the rule");
        fail::cfg("bench::off", "off").expect("fail-rs parses the rule");
    }

    let early = match case.as_str() {
        "baseline" => baseline_loop(n),
        "failinject_unconfigured"
        | "failinject_unconfigured_10_others"
        | "failinject_unconfigured_local_elsewhere" => fi_unconfigured_loop(n),
        "failrs_unconfigured" | "failrs_unconfigured_10_others" => fr_unconfigured_loop(n),
        "failinject_off" => fi_off_loop(n),
        "failrs_off" => fr_off_loop(n),
        "failinject_configured" => fi_configured_loop(n),
        "failrs_configured" => fr_configured_loop(n),
        _ => unreachable!(),
    };
    drop(hold);
    if let Some(t) = holder {
        t.join().unwrap();
    }
    assert_eq!(early, 0, "no point returns early");
    if case == "failinject_configured" {
        assert_eq!(failinject::hits("bench::configured"), n + 1, "the rule matched every hit");
    }
    println!(
        "{case}: {n} hits, configured: failinject {}, fail-rs {}",
        failinject::list().len(),
        fail::list().len()
    );
}
