//! Seeded randomness (§3.4) and counters shared between threads.

use super::*;

/// The errnos of `sys:write=25%error` over `n` calls (None when nothing was injected).
fn sequence(seed: u64, rules: &str, n: usize) -> Vec<Option<Errno>> {
    let registry = registry(seed, rules);
    let snapshot = registry.snapshot();
    (0..n)
        .map(|_| match effect(&snapshot, &write_call()) {
            Some(Effect::Error(e)) => Some(e),
            None => None,
            other => panic!("{other:?}"),
        })
        .collect()
}

#[test]
fn the_same_seed_gives_the_same_faults() {
    let rule = "sys:write=25%error";
    let a = sequence(1234, rule, 10_000);
    assert_eq!(a, sequence(1234, rule, 10_000));
    assert_ne!(a, sequence(1235, rule, 10_000));
    let injected = a.iter().filter(|e| e.is_some()).count();
    assert!((2_200..2_800).contains(&injected), "{injected}");
    let errnos: BTreeSet<_> = a.iter().flatten().collect();
    assert!(errnos.len() > 1, "bare error draws several errnos: {errnos:?}");
    // Only the seed, the rule and its evaluation count matter: rules elsewhere in the list
    // do not change its draws.
    let with_others = "sys:fsync=error(EIO); wal::append=50%return; sys:write=25%error";
    assert_eq!(a, sequence(1234, with_others, 10_000));
}

#[test]
fn corruption_bits_are_seeded() {
    let bits = |seed| {
        let registry = registry(seed, "sys:write=corrupt(random)");
        let snapshot = registry.snapshot();
        (0..50)
            .map(|_| match effect(&snapshot, &write_call()) {
                Some(Effect::Corrupt(Corruption::Random, bits)) => bits,
                other => panic!("{other:?}"),
            })
            .collect::<Vec<u64>>()
    };
    assert_eq!(bits(1), bits(1));
    assert_ne!(bits(1), bits(2));
    assert!(bits(1).iter().collect::<BTreeSet<_>>().len() > 40);
}

#[test]
fn a_ten_percent_rule_fires_one_time_in_ten() {
    let registry = registry(99, "sys:write=10%error(EIO)");
    let snapshot = registry.snapshot();
    let call = write_call();
    let hits = (0..100_000).filter(|_| effect(&snapshot, &call).is_some()).count();
    assert!((9_400..10_600).contains(&hits), "{hits} of 100000");
    assert_eq!(counts(&registry), [counted("sys:write", 100_000, hits as u64)]);
}

#[test]
fn counters_are_exact_across_threads() {
    let cases: &[(&str, usize)] = &[
        ("sys:write[when=5000..5099]=error(EIO)", 100),
        ("sys:write[when=20000]=error(EIO)", 1),
        ("sys:write[when=3+1000]=error(EIO)", 40),
        ("sys:write=250*error(EIO)", 250),
        ("sys:write=3*off->100*error(EIO)", 100),
        // 24 writes of 4 KiB fit in 100000 bytes; the crossing one and every later one inject.
        ("sys:write=full(100000)", 40_000 - 24),
    ];
    for &(rule, want) in cases {
        let registry = registry(7, rule);
        let snapshot = registry.snapshot();
        let injected: usize = std::thread::scope(|s| {
            let threads: Vec<_> = (0..4)
                .map(|_| {
                    s.spawn(|| {
                        let call = write_call();
                        (0..10_000)
                            .filter(|_| match effect(&snapshot, &call) {
                                Some(Effect::Full(n)) => n < 4096,
                                Some(_) => true,
                                None => false,
                            })
                            .count()
                    })
                })
                .collect();
            threads.into_iter().map(|t| t.join().unwrap()).sum()
        });
        assert_eq!(injected, want, "{rule}");
        assert_eq!(registry.list()[0].injections, want as u64, "{rule}");
    }
}

#[test]
fn full_is_exact_across_threads() {
    let registry = registry(7, "sys:write=full(1M)");
    let snapshot = registry.snapshot();
    let allowed: u64 = std::thread::scope(|s| {
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let snapshot = &snapshot;
                s.spawn(move || {
                    let call = SysCall { size: Some(1000 + t), ..write_call() };
                    (0..1000)
                        .map(|_| match effect(snapshot, &call) {
                            Some(Effect::Full(n)) => n,
                            other => panic!("{other:?}"),
                        })
                        .sum::<u64>()
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).sum()
    });
    assert_eq!(allowed, 1 << 20);
}
