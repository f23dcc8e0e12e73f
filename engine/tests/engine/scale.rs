//! 10,000 rules load and evaluate in bounded time: a guard against hangs and quadratic
//! behaviour, with bounds far above what the engine needs (a debug build on a loaded CI
//! machine must pass). Real timings are in `docs/PERFORMANCE.md` ("10,000 rules").

use failinject_engine::{FileKind, NoContext, PointId, Registry, SysCall, parse_rules};
use std::time::{Duration, Instant};

const N: usize = 10_000;

/// 10,000 distinct rules of the shapes people write: suffix and prefix globs, globs that
/// need a DFA, regexes, `when=` and `size` filters, in-code points; the last one matches
/// `/data/hit.db`.
fn rules() -> String {
    let mut text = String::new();
    for i in 0..N - 1 {
        let rule = match i % 5 {
            0 => format!("sys:write[path=*.log{i}]=error(EIO)"),
            1 => format!("sys:write|pwrite[path=/srv/{i}/*]=1%short"),
            2 => format!("sys:fsync[path=*/a{i}?b*.wal]=error(EIO)"),
            3 => format!("sys:write[path~^/x/{i}/.*\\.tmp$,size>100]=error(ENOSPC)"),
            _ => format!("app::point{i}[when=3+2]=return(x)"),
        };
        text.push_str(&rule);
        text.push('\n');
    }
    text.push_str("sys:write[path=/data/hit.db]=error(EIO)\n");
    text
}

#[test]
fn ten_thousand_rules_load_and_evaluate_in_bounded_time() {
    let text = rules();
    let start = Instant::now();
    let parsed = parse_rules(&text, "scale").expect("the rules parse");
    assert_eq!(parsed.len(), N);
    let mut registry = Registry::new(1);
    for rule in parsed {
        registry.set(rule);
    }
    let snapshot = registry.snapshot();
    let load = start.elapsed();

    let write = PointId::from_name("write").unwrap();
    let miss = SysCall {
        fd: Some(5),
        path: Some(b"/data/miss.db"),
        kind: FileKind::File,
        size: Some(4096),
        ..SysCall::new(write)
    };
    let hit = SysCall { path: Some(b"/data/hit.db"), ..miss };
    let start = Instant::now();
    for _ in 0..1_000 {
        assert!(snapshot.decide_sys(&miss, &mut NoContext).is_none());
        assert!(snapshot.decide_sys(&hit, &mut NoContext).is_some());
    }
    let eval = start.elapsed();
    // Replacing one rule and removing one keep the other 9,999.
    let start = Instant::now();
    registry.configure("sys:write[path=*.log0]=error(EACCES)", "scale").unwrap();
    assert!(registry.remove("app::point4[when=3+2]").unwrap());
    assert_eq!(registry.rules().len(), N - 1);
    let change = start.elapsed();
    eprintln!("{N} rules: load {load:?}; 2,000 decisions {eval:?}; replace + remove {change:?}");
    assert!(load < Duration::from_secs(20), "loading took {load:?}");
    assert!(eval < Duration::from_secs(20), "2,000 decisions took {eval:?}");
    assert!(change < Duration::from_secs(5), "a change took {change:?}");
}
