//! Micro-benchmarks of the decision path: one [`Snapshot::decide_sys`] (or
//! [`Snapshot::code_point`] / [`Snapshot::decide_code`]) call per iteration.
//!
//! Run with `cargo bench -p failinject-engine --bench decide`; results and targets are in
//! `docs/PERFORMANCE.md`. `bench/engine-callgrind/` runs the same cases under callgrind to
//! count instructions per call.

use criterion::{Criterion, criterion_group, criterion_main};
use failinject_engine::{Decision, FileKind, NoContext, PointId, Registry, Snapshot, SysCall};
use std::hint::black_box;
use std::time::Duration;

/// A 60-byte absolute path that no pattern below matches. It starts with `/data/` and has a
/// `/x` component, so the anchored glob DFA cannot give up early and walks every byte.
const PATH: &[u8] = b"/data/pg/base/16384/xact/000000010000000000000A1.partial.bak";
const _: () = assert!(PATH.len() == 60);

fn snapshot(rules: &str) -> Snapshot {
    let mut registry = Registry::new(42);
    registry.configure(rules, "bench").expect("benchmark rules parse");
    registry.snapshot()
}

fn point(name: &str) -> PointId {
    PointId::from_name(name).expect("libc point exists")
}

/// A 4 KiB `write` on fd 5 to [`PATH`], a regular file.
fn write_call() -> SysCall<'static> {
    SysCall {
        fd: Some(5),
        path: Some(PATH),
        kind: FileKind::File,
        size: Some(4096),
        ..SysCall::new(point("write"))
    }
}

/// Ten rules, none on `write`.
const OTHER_POINTS: &str = "\
sys:fsync=error(EIO)
sys:fsync[path=*.wal]=lose(EIO)
sys:fdatasync=error(EIO)
sys:sync=sleep(1)
sys:rename[path=/data/*]=error(EXDEV)
sys:close=error(EBADF)
sys:fclose=error(EIO)
sys:open[path=*.lock]=error(EEXIST)
sys:fwrite=error(ENOSPC)
sys:fprintf=error(ENOSPC)";

/// Consumes a decision in place, as a caller does. Returning the `Option<Decision>` (a
/// 72-byte value) from the benchmark closure instead makes criterion copy it through
/// `black_box` on every iteration, which costs more than a decision with no rule does (see
/// `no_rule_by_value`).
#[inline(always)]
fn sink<T>(d: T) {
    black_box(&d);
}

fn bench_sys(c: &mut Criterion, name: &str, rules: &str) {
    let snap = snapshot(rules);
    let call = write_call();
    c.bench_function(name, |b| b.iter(|| sink(snap.decide_sys(black_box(&call), &mut NoContext))));
}

fn decide(c: &mut Criterion) {
    // Ten rules, none on `write`.
    let snap = snapshot(OTHER_POINTS);
    assert_eq!(snap.rule_states().count(), 10);
    assert!(!snap.has_rules_for(point("write")));
    bench_sys(c, "no_rule", OTHER_POINTS);
    // Non-matching path filters, 60-byte path. Check the premise: each rule really misses.
    for rules in [
        "sys:write[path=*.wal]=error(EIO)",
        "sys:write[path=/data/*/x*.db]=error(EIO)",
        r#"sys:write[path~"\.(wal|log)$"]=error(EIO)"#,
    ] {
        assert!(snapshot(rules).decide_sys(&write_call(), &mut NoContext).is_none(), "{rules}");
    }
    bench_sys(c, "glob_miss_suffix", "sys:write[path=*.wal]=error(EIO)");
    bench_sys(c, "glob_miss_dfa", "sys:write[path=/data/*/x*.db]=error(EIO)");
    bench_sys(c, "regex_miss", r#"sys:write[path~"\.(wal|log)$"]=error(EIO)"#);

    // A rule that matches: a 1% roll (usually fails, nothing injected), and a certain error.
    bench_sys(c, "prob_hit", "sys:write=1%error(EIO)");
    bench_sys(c, "prob_hit_100", "sys:write=error(EIO)");

    // In-code points: name lookup and decision for a point with `off`, lookup of a name with
    // no rule.
    let snap = snapshot("wal::append=off\nwal::sync=1%return\ndb::commit=panic\ncache::get=off");
    assert!(snap.code_point("wal::append").is_some());
    assert!(snap.code_point("wal::rotate").is_none());
    c.bench_function("code_point", |b| {
        b.iter(|| {
            let cp = snap.code_point(black_box("wal::append"));
            sink(cp.map(|cp| snap.decide_code(cp, &mut NoContext)))
        })
    });
    c.bench_function("code_point_lookup_miss", |b| {
        b.iter(|| sink(snap.code_point(black_box("wal::rotate"))))
    });

    // How the result is consumed matters at this scale (see `sink`): `no_rule` with the
    // `Option<Decision>` returned by value, and the harness alone (`black_box` the call, sink a
    // `None`).
    let snap = snapshot(OTHER_POINTS);
    let call = write_call();
    c.bench_function("no_rule_by_value", |b| {
        b.iter(|| snap.decide_sys(black_box(&call), &mut NoContext))
    });
    c.bench_function("harness_baseline", |b| {
        b.iter(|| {
            black_box(&call);
            sink(None::<Decision<'_>>)
        })
    });
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! {
    name = benches;
    config = config();
    targets = decide
}
criterion_main!(benches);
