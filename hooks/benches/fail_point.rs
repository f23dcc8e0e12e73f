//! `failinject::fail_point!` against fail-rs 0.5's `fail::fail_point!`: the cost of one hit of
//! a point that has no rule and of a point configured `off`, from one thread and from 1, 2 and 4
//! threads hitting the same point.
//!
//! Run with `cargo bench -p failinject --bench fail_point`; results and targets are in
//! `docs/PERFORMANCE.md`. `bench/hooks-callgrind/` runs the single-thread cases under callgrind
//! to count instructions per hit.
//!
//! Both registries are global, so the benchmarks run in a fixed order and change the
//! configuration between groups:
//!
//! 1. `unconfigured`: nothing configured in either crate;
//! 2. `unconfigured_10_others`: the same point, with [`OTHERS`] configured in both;
//! 3. `configured_off`: `bench::off=off` added in both (the ten others stay);
//! 4. `threads_unconfigured` and `threads_off`: the points of 2 and 3, hit by 1, 2 and 8
//!    threads at once, in that configuration. Time is wall time / total hits;
//! 5. `threads_configured`: the point `bench::configured=0%return`, whose rule is evaluated on
//!    every hit (its roll never passes), hit by 1, 2 and 8 threads;
//! 6. `unconfigured_local_elsewhere`: the point of 1 while another thread holds a local
//!    configuration (failinject only: fail-rs has none).
//!
//! Without `LD_PRELOAD=libfailinject.so`, `failinject` uses its in-process registry: the
//! configuration measured here (checked at start-up).

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use std::sync::Barrier;
use std::time::{Duration, Instant};

mod common {
    pub mod points;
}
use common::points::*;

/// The point that no rule names.
const UNCONFIGURED: &str = "bench::unconfigured";
/// The point configured `off`.
const OFF: &str = "bench::off";
/// The point whose rule is evaluated on every hit.
const CONFIGURED: &str = "bench::configured";

/// Consumes a result in place (a `Result<(), String>` is 24 bytes: moving it out of the
/// closure by value would be part of the measurement).
#[inline(always)]
fn sink<T>(r: T) {
    black_box(&r);
}

/// One group: `failinject`'s point, fail-rs's, and the loop without a point. The points are
/// passed as function items (`fi_off`, not a pointer), so each closure inlines its point.
fn single<A, B>(c: &mut Criterion, group: &str, fi: A, fr: B)
where
    A: Fn() -> Result<(), String>,
    B: Fn() -> Result<(), String>,
{
    let mut g = c.benchmark_group(group);
    g.bench_function("failinject", |b| b.iter(|| sink(fi())));
    g.bench_function("fail-rs", |b| b.iter(|| sink(fr())));
    g.bench_function("empty_loop", |b| b.iter(|| sink(no_point())));
    g.finish();
}

/// `threads` threads, started together, each hit the point `iters` times; the time returned is
/// the wall time of the whole run divided by `threads`, so criterion reports wall time / total
/// hits.
fn run_threads<F>(threads: usize, iters: u64, hit: &F) -> Duration
where
    F: Fn() -> Result<(), String> + Sync,
{
    let barrier = Barrier::new(threads + 1);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    barrier.wait();
                    for _ in 0..iters {
                        sink(hit());
                    }
                })
            })
            .collect();
        barrier.wait();
        let start = Instant::now();
        handles.into_iter().for_each(|h| h.join().expect("benchmark thread"));
        start.elapsed() / threads as u32
    })
}

fn threads<A, B>(c: &mut Criterion, group: &str, fi: A, fr: B)
where
    A: Fn() -> Result<(), String> + Sync,
    B: Fn() -> Result<(), String> + Sync,
{
    let mut g = c.benchmark_group(group);
    for t in [1usize, 2, 8] {
        g.bench_with_input(BenchmarkId::new("failinject", t), &t, |b, &t| {
            b.iter_custom(|iters| run_threads(t, iters, &fi))
        });
        g.bench_with_input(BenchmarkId::new("fail-rs", t), &t, |b, &t| {
            b.iter_custom(|iters| run_threads(t, iters, &fr))
        });
    }
    g.finish();
}

fn fail_point(c: &mut Criterion) {
    // The premises: the in-process registry, and nothing configured in either crate.
    assert!(
        matches!(failinject::backend::backend(), failinject::backend::Backend::Local(_)),
        "run without LD_PRELOAD=libfailinject.so: the in-process registry is what is measured"
    );
    assert!(failinject::list().is_empty(), "FAILINJECT configures points: unset it");
    assert!(fail::list().is_empty());
    assert_eq!((fi_unconfigured(), fr_unconfigured()), (Ok(()), Ok(())));

    // 1. No rule anywhere.
    single(c, "unconfigured", fi_unconfigured, fr_unconfigured);

    // 2. Ten other points configured.
    for (name, actions) in OTHERS {
        failinject::cfg(name, actions).expect("failinject parses the rule");
        fail::cfg(name, actions).expect("fail-rs parses the rule");
    }
    assert_eq!((failinject::list().len(), fail::list().len()), (10, 10));
    assert!(!failinject::list().iter().chain(&fail::list()).any(|(n, _)| n == UNCONFIGURED));
    assert_eq!((fi_unconfigured(), fr_unconfigured()), (Ok(()), Ok(())));
    single(c, "unconfigured_10_others", fi_unconfigured, fr_unconfigured);

    // 3. The point under test configured `off` (the ten others stay). Check that the points
    //    really evaluate their rule: `return` makes them return, `off` does not.
    for actions in ["return(on)", "off"] {
        failinject::cfg(OFF, actions).expect("failinject parses the rule");
        fail::cfg(OFF, actions).expect("fail-rs parses the rule");
        let expect = if actions == "off" { Ok(()) } else { Err("on".to_string()) };
        assert_eq!((fi_off(), fr_off()), (expect.clone(), expect));
    }
    // A point whose rules are only `off` can never act, so failinject keeps it on the fast
    // path like an unconfigured one: its rule's counters do not advance.
    let hits_before = failinject::hits(OFF);
    fi_off().unwrap();
    assert_eq!(failinject::hits(OFF), hits_before, "an off-only rule is not evaluated");
    single(c, "configured_off", fi_off, fr_off);

    // 4. Threads, in the configuration of 3.
    threads(c, "threads_unconfigured", fi_unconfigured, fr_unconfigured);
    threads(c, "threads_off", fi_off, fr_off);

    // 5. A point whose rule is evaluated on every hit.
    failinject::cfg(CONFIGURED, "0%return").expect("failinject parses the rule");
    fail::cfg(CONFIGURED, "0%return").expect("fail-rs parses the rule");
    let hits_before = failinject::hits(CONFIGURED);
    assert_eq!((fi_configured(), fr_configured()), (Ok(()), Ok(())));
    assert_eq!(failinject::hits(CONFIGURED), hits_before + 1, "the rule is evaluated");
    threads(c, "threads_configured", fi_configured, fr_configured);

    // 6. Another thread holds a local configuration (of the very point measured).
    let (hold, release) = std::sync::mpsc::channel::<()>();
    let (ready, is_ready) = std::sync::mpsc::channel();
    let holder = std::thread::spawn(move || {
        failinject::local::cfg(UNCONFIGURED, "return(local)").expect("a local rule");
        assert_eq!(fi_unconfigured(), Err("local".to_string()));
        ready.send(()).expect("the bench waits");
        let _ = release.recv();
    });
    is_ready.recv().expect("the holder thread configures");
    assert_eq!(fi_unconfigured(), Ok(()));
    single(c, "unconfigured_local_elsewhere", fi_unconfigured, fr_unconfigured);
    drop(hold);
    holder.join().expect("the holder thread");
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! {
    name = benches;
    config = config();
    targets = fail_point
}
criterion_main!(benches);
