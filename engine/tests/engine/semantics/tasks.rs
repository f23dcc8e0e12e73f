//! The libc tasks' effects: full to the byte, bare error and short.

use super::*;

#[test]
fn full_is_exact_to_the_byte() {
    let registry = registry(1, "sys:write=full(10000)");
    let snapshot = registry.snapshot();
    assert_eq!(
        effects(&snapshot, &write_call(), 5),
        [
            Some(Effect::Full(4096)),
            Some(Effect::Full(4096)),
            // The write that crosses the limit gets the remainder.
            Some(Effect::Full(1808)),
            // Later writes get nothing: the caller fails them with ENOSPC.
            Some(Effect::Full(0)),
            Some(Effect::Full(0)),
        ]
    );
    // Writes that fit are not injections; the crossing one and the refused ones are.
    assert_eq!(counts(&registry), [counted("sys:write", 5, 3)]);

    let registry = self::registry(1, "sys:write=full(1K)");
    let snapshot = registry.snapshot();
    let small = |size| SysCall { size: Some(size), ..write_call() };
    let got: Vec<_> = [300, 300, 300, 300, 1].map(|s| effect(&snapshot, &small(s))).into();
    let want = [300, 300, 300, 124, 0].map(|n| Some(Effect::Full(n)));
    assert_eq!(got, want);
}

#[test]
fn full_takes_back_bytes_that_were_not_written() {
    let registry = registry(1, "sys:write=full(10000)");
    let snapshot = registry.snapshot();
    let first = snapshot.decide_sys(&write_call(), &mut NoContext).unwrap();
    assert_eq!(first.effect, Effect::Full(4096));
    // The real write was short: 3096 bytes.
    first.refund(1000);
    assert_eq!(effect(&snapshot, &write_call()), Some(Effect::Full(4096)));
    let crossing = snapshot.decide_sys(&write_call(), &mut NoContext).unwrap();
    assert_eq!(crossing.effect, Effect::Full(10000 - 3096 - 4096));
    // The crossing write wrote 800 of its 2808 bytes.
    crossing.refund(2008);
    assert_eq!(effect(&snapshot, &write_call()), Some(Effect::Full(2008)));
    assert_eq!(effect(&snapshot, &write_call()), Some(Effect::Full(0)));

    // A refund from a decision that is not `full` changes nothing.
    let registry = self::registry(1, "sys:write=1*error(EIO)->full(100)");
    let snapshot = registry.snapshot();
    let error = snapshot.decide_sys(&write_call(), &mut NoContext).unwrap();
    error.refund(50);
    assert_eq!(
        effects(&snapshot, &write_call(), 2),
        [Some(Effect::Full(100)), Some(Effect::Full(0))]
    );
}

#[test]
fn a_bare_error_draws_from_the_functions_errnos() {
    for (name, call) in [
        ("write", write_call()),
        ("fsync", file_call("fsync", b"/d/x")),
        (
            "rename",
            SysCall { path: Some(b"/d/x"), path2: Some(b"/d/y"), ..SysCall::new(point("rename")) },
        ),
        ("open", SysCall { path: Some(b"/d/x"), ..SysCall::new(point("open")) }),
        ("fclose", file_call("fclose", b"/d/x")),
        ("posix_fallocate", file_call("posix_fallocate", b"/d/x")),
    ] {
        let registry = registry(11, &format!("sys:{name}=error"));
        let snapshot = registry.snapshot();
        let allowed: BTreeSet<Errno> = point(name).info().errnos.iter().copied().collect();
        let mut drawn = BTreeSet::new();
        for _ in 0..2000 {
            match effect(&snapshot, &call) {
                Some(Effect::Error(e)) => drawn.insert(e),
                other => panic!("{name}: {other:?}"),
            };
        }
        assert!(drawn.is_subset(&allowed), "{name}: drew {drawn:?} outside {allowed:?}");
        assert_eq!(drawn, allowed, "{name}: every realistic errno comes up in 2000 draws");
    }
}

#[test]
fn a_bare_short_moves_between_one_byte_and_one_less_than_asked() {
    let registry = registry(5, "sys:write=short; sys:read=short(10)");
    let snapshot = registry.snapshot();
    let sized = |size| SysCall { size: Some(size), ..write_call() };
    let mut seen = BTreeSet::new();
    for _ in 0..2000 {
        match effect(&snapshot, &sized(100)) {
            Some(Effect::Short(n)) => {
                assert!((1..=99).contains(&n), "{n}");
                seen.insert(n);
            }
            other => panic!("{other:?}"),
        }
    }
    assert!(seen.len() > 80, "the counts spread over 1..99: {seen:?}");
    assert!(seen.contains(&1) && seen.contains(&99));
    // Two bytes can only become one; one byte cannot be shortened.
    assert_eq!(effect(&snapshot, &sized(2)), Some(Effect::Short(1)));
    assert_eq!(effect(&snapshot, &sized(1)), Some(Effect::Short(1)));
    // short(N) caps at N.
    let read = |size| SysCall { size: Some(size), ..file_call("read", b"/d/x") };
    assert_eq!(effect(&snapshot, &read(4096)), Some(Effect::Short(10)));
    assert_eq!(effect(&snapshot, &read(5)), Some(Effect::Short(5)));
}
