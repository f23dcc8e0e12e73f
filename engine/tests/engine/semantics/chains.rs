//! fail-rs's chain semantics: counts, probabilities, and what each task does.

use super::*;

#[test]
fn the_example_of_the_spec() {
    let registry = registry(42, "sys:write[path=*.db]=2*off->1*error(ENOSPC)");
    let snapshot = registry.snapshot();
    assert_eq!(effects(&snapshot, &write_call(), 5), [None, None, ENOSPC, None, None]);
}

#[test]
fn a_used_up_count_moves_to_the_next_action() {
    let registry = registry(1, "sys:write=2*off->1*error(ENOSPC)->2*return(7)->error(EIO)");
    let snapshot = registry.snapshot();
    let seven = Some(Effect::Return(7));
    assert_eq!(
        effects(&snapshot, &write_call(), 8),
        [None, None, ENOSPC, seven, seven, EIO, EIO, EIO]
    );
}

#[test]
fn a_failed_roll_moves_on_without_using_the_count() {
    let mut first_roll_failed = 0;
    for seed in 0..64 {
        let registry = registry(seed, "sys:write=50%1*error(EIO)->return(7)");
        let snapshot = registry.snapshot();
        let got = effects(&snapshot, &write_call(), 200);
        // Failed rolls fall through to `return(7)`; the one count is used by the one roll that
        // passes, whenever that is.
        assert!(got.iter().all(|e| *e == EIO || *e == Some(Effect::Return(7))), "seed {seed}");
        assert_eq!(got.iter().filter(|e| **e == EIO).count(), 1, "seed {seed}: {got:?}");
        if got[0] == Some(Effect::Return(7)) {
            first_roll_failed += 1;
        }
    }
    // About half the seeds fail the first roll and still inject the error later.
    assert!((10..54).contains(&first_roll_failed), "{first_roll_failed}");
}

#[test]
fn a_failed_roll_on_the_last_action_lets_the_next_rule_decide() {
    let registry = registry(3, "sys:write=50%error(EIO); sys:write[fd=5]=error(ENOSPC)");
    let snapshot = registry.snapshot();
    let got = effects(&snapshot, &write_call(), 400);
    let eio = got.iter().filter(|e| **e == EIO).count();
    let enospc = got.iter().filter(|e| **e == ENOSPC).count();
    assert_eq!(eio + enospc, 400, "never nothing: {got:?}");
    assert!((150..250).contains(&eio), "{eio}");
}

#[test]
fn an_off_that_is_taken_counts_toward_its_count() {
    let registry = registry(1, "sys:write=1*off->error(EIO)");
    let snapshot = registry.snapshot();
    assert_eq!(effects(&snapshot, &write_call(), 3), [None, EIO, EIO]);
    assert_eq!(counts(&registry), [counted("sys:write", 3, 2)]);
}

#[test]
fn after_the_chain_is_exhausted_nothing_happens() {
    let registry = registry(1, "sys:write=2*error(EIO)");
    let snapshot = registry.snapshot();
    assert_eq!(effects(&snapshot, &write_call(), 5), [EIO, EIO, None, None, None]);
    assert_eq!(counts(&registry), [counted("sys:write", 5, 2)]);
    // `0*` is used up from the start.
    let registry = self::registry(1, "sys:write=0*error(EIO)->return(1)");
    let snapshot = registry.snapshot();
    assert_eq!(effects(&snapshot, &write_call(), 2), [Some(Effect::Return(1)); 2]);
}

#[test]
fn zero_and_a_hundred_percent() {
    let registry = registry(9, "sys:write=0%error(EIO); sys:fsync=100%error(EIO)");
    let snapshot = registry.snapshot();
    assert!(effects(&snapshot, &write_call(), 2000).iter().all(Option::is_none));
    let fsync = file_call("fsync", b"/data/app.db");
    assert!(effects(&snapshot, &fsync, 2000).iter().all(|e| *e == EIO));
}

#[test]
fn in_code_tasks_and_their_arguments() {
    let registry = registry(
        1,
        "wal::append=1*return(abc)->1*return->1*print(hi)->1*panic(boom)->1*panic->1*sleep(3)->\
         1*delay(4)->1*pause->1*yield->1*kill(TERM)->1*kill->1*powercut->1*off->print",
    );
    let snapshot = registry.snapshot();
    let point = snapshot.code_point("wal::append").expect("a rule names it");
    let got: Vec<_> = (0..15)
        .map(|_| unseeded(snapshot.decide_code(point, &mut NoContext).map(|d| d.effect)))
        .collect();
    assert_eq!(
        got,
        [
            Some(Effect::ReturnArg(Some("abc"))),
            Some(Effect::ReturnArg(None)),
            Some(Effect::Print(Some("hi"))),
            Some(Effect::Panic(Some("boom"))),
            Some(Effect::Panic(None)),
            Some(Effect::Sleep(3)),
            Some(Effect::Delay(4)),
            Some(Effect::Pause),
            Some(Effect::Yield),
            Some(Effect::Kill(Signal(15))),
            Some(Effect::Kill(Signal::KILL)),
            Some(Effect::Powercut { cut: Cut::ALL, seed: 0 }),
            None,
            Some(Effect::Print(None)),
            Some(Effect::Print(None)),
        ]
    );
}

#[test]
fn libc_tasks_and_their_effects() {
    let registry = registry(
        1,
        "sys:write=1*return(-5)->1*return(0)->1*sleep(2)->1*kill->1*kill(USR1)->1*powercut(dirs)->\
         1*short(10)->1*short(1M)->1*corrupt(zero)->1*print(x)->error(28)",
    );
    let snapshot = registry.snapshot();
    let got = effects(&snapshot, &write_call(), 12);
    assert_eq!(
        got[..8],
        [
            Some(Effect::Return(-5)),
            Some(Effect::Return(0)),
            Some(Effect::Sleep(2)),
            Some(Effect::Kill(Signal(9))),
            Some(Effect::Kill(Signal(10))),
            Some(Effect::Powercut { cut: Cut { dirs: true, ..Cut::ALL }, seed: 0 }),
            Some(Effect::Short(10)),
            // At most 1 MiB of a 4 KiB write: all of it.
            Some(Effect::Short(4096)),
        ]
    );
    assert!(matches!(got[8], Some(Effect::Corrupt(Corruption::Zero, _))), "{got:?}");
    assert_eq!(got[9..], [Some(Effect::Print(Some("x"))), ENOSPC, ENOSPC]);

    let registry =
        self::registry(1, "sys:fsync=1*lose->1*lose(ENOSPC)->lose(EIO,clean); sys:sync=return");
    let snapshot = registry.snapshot();
    let fsync = file_call("fsync", b"/data/app.db");
    assert_eq!(
        effects(&snapshot, &fsync, 3),
        [
            Some(Effect::Lose(Errno::EIO, Loss::Revert)),
            Some(Effect::Lose(Errno::ENOSPC, Loss::Revert)),
            Some(Effect::Lose(Errno::EIO, Loss::Clean))
        ]
    );
    // A bare `return` on a function that returns nothing.
    assert_eq!(effect(&snapshot, &SysCall::new(point("sync"))), Some(Effect::Return(0)));
}

#[test]
fn a_power_cut_draws_its_seed_from_the_rule() {
    let seeds = |seed: u64| -> Vec<u64> {
        let registry = registry(seed, "sys:write=powercut(torn,sector=4096)");
        let snapshot = registry.snapshot();
        (0..3)
            .map(|_| match effect(&snapshot, &write_call()) {
                Some(Effect::Powercut { cut, seed }) => {
                    assert_eq!((cut.mode, cut.sector), (CutMode::Torn, 4096));
                    seed
                }
                other => panic!("{other:?}"),
            })
            .collect()
    };
    assert_eq!(seeds(7), seeds(7), "the same seed, the same cuts");
    assert_ne!(seeds(7), seeds(8));
    let s = seeds(7);
    assert!(s[0] != s[1] && s[1] != s[2], "each evaluation draws anew: {s:?}");
}
