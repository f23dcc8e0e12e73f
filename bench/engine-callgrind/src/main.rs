//! `failinject-engine-callgrind CASE N`: sets up one benchmark case of
//! `engine/benches/decide.rs` and makes N decisions of it.
//!
//! Instructions per call = (Ir at N=1000000 − Ir at N=0) / 1000000, both runs under
//! `valgrind --tool=callgrind`: setup, parsing and process start-up cancel out. The
//! `baseline` case runs the same loop without deciding; subtract it to get the decision alone.

use failinject_engine::{Decision, FileKind, NoContext, PointId, Registry, Snapshot, SysCall};
use std::hint::black_box;

/// The same 60-byte path as the criterion benchmark.
const PATH: &[u8] = b"/data/pg/base/16384/xact/000000010000000000000A1.partial.bak";

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

const CODE: &str = "wal::append=off\nwal::sync=1%return\ndb::commit=panic\ncache::get=off";

const CASES: &[(&str, &str)] = &[
    // The loop and `black_box` alone, with no decision: subtract it from the others.
    ("baseline", ""),
    ("no_rule", OTHER_POINTS),
    ("no_rule_by_value", OTHER_POINTS),
    ("glob_miss_suffix", "sys:write[path=*.wal]=error(EIO)"),
    ("glob_miss_dfa", "sys:write[path=/data/*/x*.db]=error(EIO)"),
    ("regex_miss", r#"sys:write[path~"\.(wal|log)$"]=error(EIO)"#),
    ("prob_hit", "sys:write=1%error(EIO)"),
    ("prob_hit_100", "sys:write=error(EIO)"),
    ("code_point", CODE),
    ("code_point_lookup_miss", CODE),
];

fn snapshot(rules: &str) -> Snapshot {
    let mut registry = Registry::new(42);
    registry.configure(rules, "callgrind").expect("rules parse");
    registry.snapshot()
}

/// Consumes a result in place, as the criterion benchmark's `sink` does.
#[inline(always)]
fn sink<T>(d: &T) {
    black_box(d);
}

#[inline(never)]
fn sys_loop(snap: &Snapshot, call: &SysCall<'_>, n: u64) -> u64 {
    let mut hits = 0;
    for _ in 0..n {
        let d = snap.decide_sys(black_box(call), &mut NoContext);
        sink(&d);
        hits += u64::from(d.is_some());
    }
    hits
}

/// `sys_loop` with the `Option<Decision>` moved through `black_box` by value.
#[inline(never)]
fn sys_loop_by_value(snap: &Snapshot, call: &SysCall<'_>, n: u64) -> u64 {
    let mut hits = 0;
    for _ in 0..n {
        hits += u64::from(black_box(snap.decide_sys(black_box(call), &mut NoContext)).is_some());
    }
    hits
}

/// What `sys_loop` does around each decision, without deciding.
#[inline(never)]
fn baseline_loop(call: &SysCall<'_>, n: u64) -> u64 {
    let mut hits = 0;
    for _ in 0..n {
        black_box(call);
        let d = None::<Decision<'_>>;
        sink(&d);
        hits += u64::from(d.is_some());
    }
    hits
}

#[inline(never)]
fn code_loop(snap: &Snapshot, name: &str, n: u64) -> u64 {
    let mut hits = 0;
    for _ in 0..n {
        let d =
            snap.code_point(black_box(name)).and_then(|cp| snap.decide_code(cp, &mut NoContext));
        sink(&d);
        hits += u64::from(d.is_some());
    }
    hits
}

#[inline(never)]
fn lookup_loop(snap: &Snapshot, name: &str, n: u64) -> u64 {
    let mut hits = 0;
    for _ in 0..n {
        let cp = snap.code_point(black_box(name));
        sink(&cp);
        hits += u64::from(cp.is_some());
    }
    hits
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = || -> ! {
        let names: Vec<_> = CASES.iter().map(|c| c.0).collect();
        eprintln!("usage: {} CASE N\n  CASE: {}", args[0], names.join(" | "));
        std::process::exit(2)
    };
    let [_, case, n] = &args[..] else { usage() };
    let Some(&(case, rules)) = CASES.iter().find(|c| c.0 == case) else { usage() };
    let Ok(n) = n.parse::<u64>() else { usage() };
    let snap = snapshot(rules);
    let call = SysCall {
        fd: Some(5),
        path: Some(PATH),
        kind: FileKind::File,
        size: Some(4096),
        ..SysCall::new(PointId::from_name("write").expect("write is a libc point"))
    };
    let hits = match case {
        "baseline" => baseline_loop(&call, n),
        "no_rule_by_value" => sys_loop_by_value(&snap, &call, n),
        "code_point" => code_loop(&snap, "wal::append", n),
        "code_point_lookup_miss" => lookup_loop(&snap, "wal::rotate", n),
        _ => sys_loop(&snap, &call, n),
    };
    println!("{case}: {n} calls, {hits} returned Some");
}
