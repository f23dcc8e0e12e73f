//! Decision semantics through `Registry` and `Snapshot`: fail-rs's chains, the rule walk of
//! §3.3, every filter of §3.1, the libc tasks' effects, seeded randomness (§3.4) and counters
//! shared between threads.

use failinject_engine::{
    Context, Corruption, Effect, Errno, FileKind, NoContext, PointId, Registry, SetOutcome, Signal,
    Snapshot, SysCall, name_hash, parse_rule,
};
use std::collections::BTreeSet;

/// A registry with `rules` set, or a panic that shows the parse error.
fn registry(seed: u64, rules: &str) -> Registry {
    let mut registry = Registry::new(seed);
    if let Err(e) = registry.configure(rules, "test") {
        panic!("{rules:?} should parse:\n{e}");
    }
    registry
}

fn point(name: &str) -> PointId {
    PointId::from_name(name).unwrap_or_else(|| panic!("no libc point `{name}`"))
}

/// A 4 KiB call on fd 5, a regular file at `path`.
fn file_call<'a>(name: &str, path: &'a [u8]) -> SysCall<'a> {
    SysCall {
        fd: Some(5),
        path: Some(path),
        kind: FileKind::File,
        size: Some(4096),
        ..SysCall::new(point(name))
    }
}

fn write_call() -> SysCall<'static> {
    file_call("write", b"/data/app.db")
}

fn effect<'s>(snapshot: &'s Snapshot, call: &SysCall<'_>) -> Option<Effect<'s>> {
    snapshot.decide_sys(call, &mut NoContext).map(|d| d.effect)
}

fn effects<'s>(snapshot: &'s Snapshot, call: &SysCall<'_>, n: usize) -> Vec<Option<Effect<'s>>> {
    (0..n).map(|_| effect(snapshot, call)).collect()
}

/// Whether `rules` decide something for `call` (one evaluation on a fresh registry).
fn fires(rules: &str, call: &SysCall<'_>) -> bool {
    let registry = registry(1, rules);
    let snapshot = registry.snapshot();
    snapshot.decide_sys(call, &mut NoContext).is_some()
}

/// (key, matches, injections) of every rule, in order.
fn counts(registry: &Registry) -> Vec<(String, u64, u64)> {
    registry.list().into_iter().map(|s| (s.key, s.matches, s.injections)).collect()
}

fn counted(key: &str, matches: u64, injections: u64) -> (String, u64, u64) {
    (key.to_owned(), matches, injections)
}

const EIO: Option<Effect<'static>> = Some(Effect::Error(Errno::EIO));
const ENOSPC: Option<Effect<'static>> = Some(Effect::Error(Errno::ENOSPC));

// ------------------------------------------------------------------ fail-rs chain semantics

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
    let got: Vec<_> =
        (0..15).map(|_| snapshot.decide_code(point, &mut NoContext).map(|d| d.effect)).collect();
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
            Some(Effect::Powercut { dirs: false }),
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
            Some(Effect::Powercut { dirs: true }),
            Some(Effect::Short(10)),
            // At most 1 MiB of a 4 KiB write: all of it.
            Some(Effect::Short(4096)),
        ]
    );
    assert!(matches!(got[8], Some(Effect::Corrupt(Corruption::Zero, _))), "{got:?}");
    assert_eq!(got[9..], [Some(Effect::Print(Some("x"))), ENOSPC, ENOSPC]);

    let registry = self::registry(1, "sys:fsync=1*lose->lose(ENOSPC); sys:sync=return");
    let snapshot = registry.snapshot();
    let fsync = file_call("fsync", b"/data/app.db");
    assert_eq!(
        effects(&snapshot, &fsync, 2),
        [Some(Effect::Lose(Errno::EIO)), Some(Effect::Lose(Errno::ENOSPC))]
    );
    // A bare `return` on a function that returns nothing.
    assert_eq!(effect(&snapshot, &SysCall::new(point("sync"))), Some(Effect::Return(0)));
}

// ------------------------------------------------------------------------ the rule walk

#[test]
fn an_off_lets_the_next_rule_be_evaluated_and_count() {
    let registry = registry(1, "sys:write[size>0]=off; sys:write=1*off->error(ENOSPC)");
    let snapshot = registry.snapshot();
    assert_eq!(effect(&snapshot, &write_call()), None);
    let decision = snapshot.decide_sys(&write_call(), &mut NoContext).unwrap();
    assert_eq!((decision.rule_index, decision.key), (1, "sys:write"));
    assert_eq!(decision.effect, Effect::Error(Errno::ENOSPC));
    assert_eq!(decision.rule.to_string(), "sys:write=1*off->error(ENOSPC)");
    assert_eq!(decision.hit, 2);
    assert_eq!(counts(&registry), [counted("sys:write[size>0]", 2, 0), counted("sys:write", 2, 1)]);
}

#[test]
fn the_first_rule_that_injects_stops_the_walk() {
    let registry =
        registry(1, "sys:write=error(EIO); sys:write[size>0]=error(ENOSPC); sys:fsync=off");
    let snapshot = registry.snapshot();
    assert_eq!(effects(&snapshot, &write_call(), 3), [EIO, EIO, EIO]);
    assert_eq!(
        counts(&registry),
        [
            counted("sys:write", 3, 3),
            counted("sys:write[size>0]", 0, 0),
            counted("sys:fsync", 0, 0)
        ]
    );
}

#[test]
fn an_exhausted_rule_lets_the_next_rule_decide() {
    let registry = registry(1, "sys:write=1*error(EIO); sys:write[fd=5]=error(ENOSPC)");
    let snapshot = registry.snapshot();
    assert_eq!(effects(&snapshot, &write_call(), 3), [EIO, ENOSPC, ENOSPC]);
    assert_eq!(counts(&registry), [counted("sys:write", 3, 1), counted("sys:write[fd=5]", 2, 2)]);
}

#[test]
fn a_rule_whose_filters_do_not_match_is_not_evaluated() {
    let registry = registry(1, "sys:write[path=*.db]=1*error(EIO); sys:fsync=error(EIO)");
    let snapshot = registry.snapshot();
    let txt = file_call("write", b"/data/notes.txt");
    assert_eq!(effects(&snapshot, &txt, 3), [None, None, None]);
    assert_eq!(effects(&snapshot, &write_call(), 2), [EIO, None]);
    assert_eq!(
        counts(&registry),
        [counted("sys:write[path=*.db]", 2, 1), counted("sys:fsync", 0, 0)]
    );
    // Rules on other points stay out of the way.
    assert!(!snapshot.has_rules_for(point("read")));
    assert_eq!(effect(&snapshot, &file_call("read", b"/data/app.db")), None);
}

#[test]
fn replacing_a_rule_keeps_its_place_and_resets_only_its_counters() {
    let mut registry = registry(
        1,
        "sys:write[size>0]=2*off->error(EIO); sys:write=3*off->error(ENOSPC); sys:fsync=off",
    );
    let snapshot = registry.snapshot();
    assert_eq!(effects(&snapshot, &write_call(), 2), [None, None]);
    let old = registry.state("sys:write[size>0]").unwrap().clone();
    let other = registry.state("sys:write").unwrap().clone();

    // The same key, written another way.
    let rule = parse_rule("sys:__write[ size>0 ]=2*off->error(EBADF)").unwrap();
    assert_eq!(registry.set(rule), SetOutcome::Replaced);
    // Retired once a snapshot without it exists, not before.
    assert!(!old.is_retired());
    let _ = registry.snapshot();
    assert!(old.is_retired());
    assert!(!other.is_retired());
    let keys: Vec<String> = registry.list().into_iter().map(|s| s.key).collect();
    assert_eq!(keys, ["sys:write[size>0]", "sys:write", "sys:fsync"]);
    assert_eq!(
        counts(&registry),
        [
            counted("sys:write[size>0]", 0, 0),
            counted("sys:write", 2, 0),
            counted("sys:fsync", 0, 0),
        ]
    );

    let snapshot = registry.snapshot();
    // The new first rule lets two writes through; the second rule, still counting, uses its
    // third `off` and then fails the next write.
    assert_eq!(effects(&snapshot, &write_call(), 2), [None, ENOSPC]);
    // Then the new first rule, still first, fails with its own errno.
    let decision = snapshot.decide_sys(&write_call(), &mut NoContext).unwrap();
    assert_eq!((decision.rule_index, decision.effect), (0, Effect::Error(Errno::EBADF)));
    assert_eq!(
        counts(&registry),
        [
            counted("sys:write[size>0]", 3, 1),
            counted("sys:write", 4, 1),
            counted("sys:fsync", 0, 0),
        ]
    );
    // A new key goes to the end.
    assert_eq!(registry.set(parse_rule("sys:write[fd=5]=off").unwrap()), SetOutcome::Added);
    assert_eq!(registry.list().last().unwrap().key, "sys:write[fd=5]");
}

#[test]
fn remove_and_clear_retire_rules() {
    let mut registry =
        registry(1, "sys:write[when=3,path=*.db]=error(EIO); wal::p=pause; sys:fsync=error(EIO)");
    let write = registry.state("sys:write[path=*.db,when=3]").unwrap().clone();
    assert!(!write.is_retired());
    // Any equivalent spelling of the key removes it.
    assert_eq!(registry.remove("sys:__write[ when=3 , path=*.db ]"), Ok(true));
    assert!(!write.is_retired());
    registry.publish(drop);
    assert!(write.is_retired());
    assert_eq!(registry.remove("sys:write[path=*.db,when=3]"), Ok(false));
    assert_eq!(registry.remove("sys:fsync[fd=3]"), Ok(false));
    let err = registry.remove("sys:wrte").unwrap_err();
    assert_eq!(err.help.as_deref(), Some("did you mean `write`?"));
    let keys: Vec<String> = registry.list().into_iter().map(|s| s.key).collect();
    assert_eq!(keys, ["wal::p", "sys:fsync"]);

    // A `pause` waits for its rule's state to retire.
    let snapshot = registry.snapshot();
    let pause = snapshot.decide_code(snapshot.code_point("wal::p").unwrap(), &mut NoContext);
    let pause = pause.unwrap();
    assert_eq!(pause.effect, Effect::Pause);
    assert!(!pause.state.is_retired());
    let fsync = registry.state("sys:fsync").unwrap().clone();
    registry.clear();
    assert!(!pause.state.is_retired());
    registry.publish(drop);
    assert!(pause.state.is_retired());
    assert!(fsync.is_retired());
    assert!(registry.is_empty());
    assert!(registry.list().is_empty());
    let snapshot = registry.snapshot();
    assert_eq!(effect(&snapshot, &file_call("fsync", b"/x")), None);
    assert_eq!(snapshot.code_point("wal::p"), None);
}

#[test]
fn a_key_given_twice_in_one_configuration_is_set_once() {
    // The second rule replaces the first in place (fail-rs's `cfg`), spelling aside.
    let registry = registry(1, "sys:write=error(EIO); sys:fsync=off; sys:__write=error(ENOSPC)");
    let snapshot = registry.snapshot();
    assert_eq!(effect(&snapshot, &write_call()), ENOSPC);
    let rules: Vec<String> = registry.rules().map(ToString::to_string).collect();
    assert_eq!(rules, ["sys:write=error(ENOSPC)", "sys:fsync=off"]);
}

#[test]
fn size_filters_in_another_order_replace_the_rule() {
    let mut registry = registry(1, "sys:write[size<100,size>=10]=error(EIO)");
    let rule = parse_rule("sys:write[size>=10,size<100]=error(ENOSPC)").unwrap();
    assert_eq!(registry.set(rule), SetOutcome::Replaced);
    assert_eq!(registry.rules().len(), 1);
    assert_eq!(registry.remove("sys:write[size<100,size>=10]"), Ok(true));
}

#[test]
fn a_bad_configuration_changes_nothing() {
    let mut registry = registry(1, "sys:write=error(EIO)");
    let generation = registry.generation();
    assert!(registry.configure("sys:fsync=off; sys:write=bad", "test").is_err());
    assert_eq!(counts(&registry), [counted("sys:write", 0, 0)]);
    assert_eq!(registry.generation(), generation);
    assert_eq!(registry.configure("a=off\nb=off", "test"), Ok(2));
    assert_eq!(registry.rules().len(), 3);
    assert_ne!(registry.generation(), generation);
}

// -------------------------------------------------------------------------------- when

#[test]
fn every_form_of_when() {
    let cases: &[(&str, &[usize])] = &[
        ("3", &[3]),
        ("3+", &[3, 4, 5, 6, 7, 8, 9, 10]),
        ("3+2", &[3, 5, 7, 9]),
        ("1+3", &[1, 4, 7, 10]),
        ("3..5", &[3, 4, 5]),
        ("4..4", &[4]),
        ("11", &[]),
    ];
    for &(when, want) in cases {
        let registry = registry(1, &format!("sys:write[when={when}]=error(EIO)"));
        let snapshot = registry.snapshot();
        let hits: Vec<usize> =
            (1..=10).filter(|_| effect(&snapshot, &write_call()).is_some()).collect();
        assert_eq!(hits, want, "when={when}");
        let matches = registry.list()[0].matches;
        assert_eq!(matches, want.len() as u64, "when={when}: only selected calls are matches");
    }
}

#[test]
fn when_counts_only_calls_that_pass_the_other_filters() {
    let registry = registry(1, "sys:write[path=*.db,when=2]=error(EIO)");
    let snapshot = registry.snapshot();
    let paths: [&[u8]; 6] = [b"/a.txt", b"/b.db", b"/c.txt", b"/d.db", b"/e.db", b"/f.txt"];
    let got: Vec<bool> =
        paths.iter().map(|p| effect(&snapshot, &file_call("write", p)).is_some()).collect();
    assert_eq!(got, [false, false, false, true, false, false]);
}

#[test]
fn when_does_not_count_calls_an_earlier_rule_took() {
    let registry = registry(1, "sys:write[size>100]=error(EIO); sys:write[when=2]=error(ENOSPC)");
    let snapshot = registry.snapshot();
    let sized = |size| SysCall { size: Some(size), ..write_call() };
    assert_eq!(effect(&snapshot, &sized(200)), EIO);
    assert_eq!(effect(&snapshot, &sized(10)), None);
    assert_eq!(effect(&snapshot, &sized(200)), EIO);
    assert_eq!(effect(&snapshot, &sized(10)), ENOSPC);
}

#[test]
fn when_on_in_code_points() {
    let registry = registry(1, "wal::append[when=2..3]=return(x)");
    let snapshot = registry.snapshot();
    let point = snapshot.code_point("wal::append").unwrap();
    let got: Vec<bool> =
        (0..5).map(|_| snapshot.decide_code(point, &mut NoContext).is_some()).collect();
    assert_eq!(got, [false, true, true, false, false]);
}

#[test]
fn decisions_number_their_hits_from_one() {
    let registry = registry(1, "sys:write[when=2+]=error(EIO)");
    let snapshot = registry.snapshot();
    assert!(snapshot.decide_sys(&write_call(), &mut NoContext).is_none());
    let hits: Vec<u64> =
        (0..3).map(|_| snapshot.decide_sys(&write_call(), &mut NoContext).unwrap().hit).collect();
    assert_eq!(hits, [1, 2, 3]);
}

// ------------------------------------------------------------------------ kinds and fds

const KINDS: [FileKind; 7] = [
    FileKind::File,
    FileKind::Dir,
    FileKind::Unknown,
    FileKind::Socket,
    FileKind::Pipe,
    FileKind::Tty,
    FileKind::Other,
];

#[test]
fn kind_filters_and_their_default() {
    // Matches for File, Dir, Unknown, Socket, Pipe, Tty, Other.
    let cases: &[(&str, [bool; 7])] = &[
        ("sys:write=error(EIO)", [true, true, true, false, false, false, false]),
        ("sys:write[size>0]=error(EIO)", [true, true, true, false, false, false, false]),
        ("sys:write[kind=file]=error(EIO)", [true, false, true, false, false, false, false]),
        ("sys:write[kind=dir]=error(EIO)", [false, true, true, false, false, false, false]),
        ("sys:write[kind=socket]=error(EIO)", [false, false, false, true, false, false, false]),
        (
            "sys:write[kind=\"pipe,tty\"]=error(EIO)",
            [false, false, false, false, true, true, false],
        ),
        ("sys:write[kind=other]=error(EIO)", [false, false, false, false, false, false, true]),
        (
            "sys:write[kind=\"file,socket\"]=error(EIO)",
            [true, false, true, true, false, false, false],
        ),
        ("sys:write[kind=any]=error(EIO)", [true; 7]),
    ];
    for (rule, want) in cases {
        let got = KINDS.map(|kind| fires(rule, &SysCall { kind, ..write_call() }));
        assert_eq!(got, *want, "{rule} for {KINDS:?}");
    }
}

#[test]
fn fds_0_1_and_2_need_a_rule_that_names_the_target() {
    let on = |fd, kind| SysCall { fd: Some(fd), kind, ..write_call() };
    // A plain rule, or one with filters that do not name the target, never touches them.
    for rule in [
        "sys:write=error(EIO)",
        "sys:write[when=1+]=error(EIO)",
        "sys:write[size>0]=error(EIO)",
        "sys:write[exe=*]=error(EIO)",
        "sys:@all=error(EIO)",
    ] {
        let mut registry = registry(1, rule);
        registry.set_exe(b"/bin/prog");
        let snapshot = registry.snapshot();
        for fd in 0..3 {
            assert_eq!(effect(&snapshot, &on(fd, FileKind::File)), None, "{rule} on fd {fd}");
        }
        assert_eq!(effect(&snapshot, &on(3, FileKind::File)), EIO, "{rule} on fd 3");
        // No fd at all (a path call) is not a standard stream.
        let open = SysCall { fd: None, ..file_call("write", b"/x") };
        assert_eq!(effect(&snapshot, &open), EIO, "{rule} with no fd");
    }
    // path, fd and kind filters reach them.
    assert!(fires("sys:write[fd=1]=error(EIO)", &on(1, FileKind::File)));
    assert!(!fires("sys:write[fd=1]=error(EIO)", &on(2, FileKind::File)));
    assert!(fires("sys:write[path=*]=error(EIO)", &on(2, FileKind::File)));
    assert!(fires(
        "sys:write[path~log]=error(EIO)",
        &SysCall { path: Some(b"/var/log/x"), ..on(2, FileKind::File) }
    ));
    assert!(fires("sys:write[kind=tty]=error(EIO)", &on(1, FileKind::Tty)));
    assert!(fires("sys:write[kind=any]=error(EIO)", &on(0, FileKind::Pipe)));
    assert!(fires("sys:write[kind=file]=error(EIO)", &on(1, FileKind::File)));
    // A rule that names its target by fd or path matches it whatever its kind: `fd=1` reaches
    // a terminal or a pipe on fd 1. `kind=` still narrows it.
    assert!(fires("sys:write[fd=1]=error(EIO)", &on(1, FileKind::Tty)));
    assert!(fires("sys:write[fd=1]=error(EIO)", &on(1, FileKind::Pipe)));
    assert!(!fires("sys:write[fd=1,kind=file]=error(EIO)", &on(1, FileKind::Tty)));
    assert!(fires("sys:write[fd=1,kind=any]=error(EIO)", &on(1, FileKind::Tty)));
    // A path filter needs a path.
    assert!(!fires(
        "sys:write[path=*]=error(EIO)",
        &SysCall { path: None, ..on(2, FileKind::File) }
    ));
}

// ------------------------------------------------------------------------------- paths

#[test]
fn path_globs_and_regexes() {
    let cases: &[(&str, &str, bool)] = &[
        // Without `/`, a glob matches the file name.
        ("path=*.db", "/a/b/x.db", true),
        ("path=*.db", "/a/x.db/y", false),
        ("path=*.db", "/a/b/x.db.old", false),
        ("path=db", "/x/db", true),
        ("path=db", "/x/db2", false),
        ("path=db", "/db/x", false),
        ("path=x*", "/x/y", false),
        ("path=tmp_obj_*", "/r/.git/objects/ab/tmp_obj_XyZ", true),
        ("path=a?c", "/d/abc", true),
        ("path=a?c", "/d/ac", false),
        ("path=\"[a-c]x\"", "/d/bx", true),
        ("path=\"[a-c]x\"", "/d/dx", false),
        ("path=\"[!a-c]x\"", "/d/dx", true),
        // With `/`, the whole absolute path; `*` crosses `/`.
        ("path=/data/*", "/data/a/b/c", true),
        ("path=/data/*", "/database", false),
        ("path=*/db.sqlite", "/home/u/db.sqlite", true),
        ("path=*/db.sqlite", "/home/u/xdb.sqlite", false),
        ("path=/d/*/x*.db", "/d/1/2/xyz.db", true),
        ("path=/d/*/x*.db", "/d/1/2/yz.db", false),
        // Regexes are unanchored and see the whole path.
        ("path~wal", "/a/wal/b", true),
        ("path~wal", "/a/log/b", false),
        ("path~^/tmp/", "/tmp/x", true),
        ("path~^/tmp/", "/var/tmp/x", false),
        ("path~\"\\.(wal|log)$\"", "/db/0001.wal", true),
        ("path~\"\\.(wal|log)$\"", "/db/x.log.1", false),
    ];
    for &(filter, path, want) in cases {
        let rule = format!("sys:write[{filter}]=error(EIO)");
        assert_eq!(fires(&rule, &file_call("write", path.as_bytes())), want, "{filter} on {path}");
    }
    // Paths are bytes, not necessarily UTF-8.
    assert!(fires("sys:write[path=*.db]=error(EIO)", &file_call("write", b"/\xfe\xff.db")));
    assert!(fires("sys:write[path~\"\\xff\"]=error(EIO)", &file_call("write", b"/a\xffb")));
}

#[test]
fn two_file_calls_match_when_either_path_does() {
    let rename = |from: Option<&'static [u8]>, to: Option<&'static [u8]>| SysCall {
        path: to,
        path2: from,
        kind: FileKind::File,
        ..SysCall::new(point("rename"))
    };
    let rule = "sys:rename[path=*.tmp]=error(EIO)";
    assert!(fires(rule, &rename(Some(b"/d/a.tmp"), Some(b"/d/a"))));
    assert!(fires(rule, &rename(Some(b"/d/a"), Some(b"/d/a.tmp"))));
    assert!(fires(rule, &rename(Some(b"/d/a.tmp"), None)));
    assert!(!fires(rule, &rename(Some(b"/d/a"), Some(b"/d/b"))));
    assert!(!fires(rule, &rename(None, None)));
    // Each path filter may be satisfied by either file.
    let both = "sys:rename[path=*.tmp,path~^/d/]=error(EIO)";
    assert!(fires(both, &rename(Some(b"/e/a.tmp"), Some(b"/d/a"))));
    assert!(!fires(both, &rename(Some(b"/e/a.tmp"), Some(b"/e/a"))));
    // The same for a copy.
    let copy = SysCall {
        fd: Some(7),
        path: Some(b"/dst/out"),
        path2: Some(b"/src/in.db"),
        size: Some(100),
        ..write_call()
    };
    let copy = SysCall { point: point("copy_file_range"), ..copy };
    assert!(fires("sys:copy_file_range[path=*.db]=error(EIO)", &copy));
    assert!(fires("sys:copy_file_range[path=/dst/*]=short(10)", &copy));
}

// -------------------------------------------------------------------------------- sizes

#[test]
fn size_comparisons() {
    let cases: &[(&str, u64, bool)] = &[
        ("size>100", 100, false),
        ("size>100", 101, true),
        ("size>=100", 99, false),
        ("size>=100", 100, true),
        ("size<100", 99, true),
        ("size<100", 100, false),
        ("size<=100", 100, true),
        ("size<=100", 101, false),
        ("size=100", 100, true),
        ("size=100", 101, false),
        ("size=0", 0, true),
        ("size>=1K", 1024, true),
        ("size>=1K", 1023, false),
        ("size>=10,size<100", 9, false),
        ("size>=10,size<100", 10, true),
        ("size>=10,size<100", 99, true),
        ("size>=10,size<100", 100, false),
    ];
    for &(filter, size, want) in cases {
        let rule = format!("sys:write[{filter}]=error(EIO)");
        let call = SysCall { size: Some(size), ..write_call() };
        assert_eq!(fires(&rule, &call), want, "{filter} with {size} bytes");
    }
    // A call with no byte count never passes a size filter.
    assert!(!fires("sys:write[size>=0]=error(EIO)", &SysCall { size: None, ..write_call() }));
}

// ------------------------------------------------------------ after, within, site, exe

/// A context with a fixed call site, scopes and reached points, that counts site lookups.
#[derive(Default)]
struct Ctx {
    site: u64,
    scopes: Vec<u64>,
    reached: Vec<u64>,
    site_lookups: usize,
}

impl Ctx {
    fn within(names: &[&str]) -> Ctx {
        Ctx { scopes: names.iter().map(|n| name_hash(n.as_bytes())).collect(), ..Ctx::default() }
    }
    fn reached(names: &[&str]) -> Ctx {
        Ctx { reached: names.iter().map(|n| name_hash(n.as_bytes())).collect(), ..Ctx::default() }
    }
    fn at_site(site: u64) -> Ctx {
        Ctx { site, ..Ctx::default() }
    }
}

impl Context for Ctx {
    fn site(&mut self) -> u64 {
        self.site_lookups += 1;
        self.site
    }
    fn within(&self, name_hash: u64) -> bool {
        self.scopes.contains(&name_hash)
    }
    fn reached(&self, name_hash: u64) -> bool {
        self.reached.contains(&name_hash)
    }
}

fn fires_in(rules: &str, call: &SysCall<'_>, ctx: &mut Ctx) -> bool {
    let registry = registry(1, rules);
    let snapshot = registry.snapshot();
    snapshot.decide_sys(call, ctx).is_some()
}

#[test]
fn after_within_and_site() {
    let call = write_call();
    let after = "sys:write[after=db::open]=error(EIO)";
    assert!(!fires_in(after, &call, &mut Ctx::default()));
    assert!(!fires_in(after, &call, &mut Ctx::reached(&["db::close"])));
    assert!(fires_in(after, &call, &mut Ctx::reached(&["db::close", "db::open"])));
    // `within` looks at scopes, `after` at reached points: they are not interchangeable.
    assert!(!fires_in(after, &call, &mut Ctx::within(&["db::open"])));

    let within = "sys:write[within=wal::commit]=error(EIO)";
    assert!(!fires_in(within, &call, &mut Ctx::default()));
    assert!(fires_in(within, &call, &mut Ctx::within(&["wal::commit"])));
    assert!(!fires_in(within, &call, &mut Ctx::reached(&["wal::commit"])));

    let site = "sys:write[site=0x1F]=error(EIO)";
    assert!(fires_in(site, &call, &mut Ctx::at_site(0x1f)));
    assert!(!fires_in(site, &call, &mut Ctx::at_site(0x20)));
    assert!(!fires_in(site, &call, &mut Ctx::default()));

    // In-code points take after and within, both required.
    let registry = registry(1, "wal::append[after=db::open,within=tx]=return");
    let snapshot = registry.snapshot();
    let point = snapshot.code_point("wal::append").unwrap();
    let mut both = Ctx { scopes: vec![name_hash(b"tx")], ..Ctx::reached(&["db::open"]) };
    assert!(snapshot.decide_code(point, &mut Ctx::reached(&["db::open"])).is_none());
    assert!(snapshot.decide_code(point, &mut Ctx::within(&["tx"])).is_none());
    assert!(snapshot.decide_code(point, &mut both).is_some());
}

#[test]
fn the_call_site_is_asked_for_only_when_needed() {
    // No site filter: never asked.
    let mut ctx = Ctx::at_site(0x1f);
    assert!(fires_in("sys:write=error(EIO)", &write_call(), &mut ctx));
    assert_eq!(ctx.site_lookups, 0);
    // A site filter behind a path filter that fails: not asked either.
    let mut ctx = Ctx::at_site(0x1f);
    let rule = "sys:write[path=*.wal,site=1f]=error(EIO)";
    assert!(!fires_in(rule, &write_call(), &mut ctx));
    assert_eq!(ctx.site_lookups, 0);
    // When everything else passes, it is.
    let mut ctx = Ctx::at_site(0x1f);
    assert!(fires_in(rule, &file_call("write", b"/x/0001.wal"), &mut ctx));
    assert!(ctx.site_lookups >= 1);
}

#[test]
fn exe_filters() {
    let rules = "sys:write[exe=sqlite3]=error(EIO); sys:write=error(ENOSPC)";
    let mut registry = registry(1, rules);
    // No executable known: the exe rule never decides.
    let snapshot = registry.snapshot();
    assert_eq!(effect(&snapshot, &write_call()), ENOSPC);

    registry.set_exe(b"/usr/bin/sqlite3");
    assert_eq!(registry.exe(), b"/usr/bin/sqlite3");
    let matching = registry.snapshot();
    let decision = matching.decide_sys(&write_call(), &mut NoContext).unwrap();
    assert_eq!((decision.rule_index, decision.effect), (0, Effect::Error(Errno::EIO)));
    // A snapshot compiled earlier keeps the exe it was compiled with.
    assert_eq!(effect(&snapshot, &write_call()), ENOSPC);

    registry.set_exe(b"/usr/bin/python3");
    let other = registry.snapshot();
    assert_eq!(effects(&other, &write_call(), 3), [ENOSPC; 3]);
    assert_eq!(counts(&registry)[0], counted("sys:write[exe=sqlite3]", 1, 1));

    // A glob with `/` matches the whole path, one without the base name.
    let cases: &[(&str, &[u8], bool)] = &[
        ("exe=/usr/bin/*", b"/usr/bin/sqlite3", true),
        ("exe=/usr/bin/*", b"/opt/bin/sqlite3", false),
        ("exe=sqlite*", b"/usr/bin/sqlite3", true),
        ("exe=bin", b"/usr/bin/sqlite3", false),
        ("exe=*", b"/anything", true),
    ];
    for &(filter, exe, want) in cases {
        let mut registry = self::registry(1, &format!("sys:write[{filter}]=error(EIO)"));
        registry.set_exe(exe);
        let snapshot = registry.snapshot();
        assert_eq!(effect(&snapshot, &write_call()).is_some(), want, "{filter}");
    }
}

// ------------------------------------------------------------------------ libc tasks

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

// ------------------------------------------------------------------------- randomness

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

// ------------------------------------------------------------- points, lists, counters

#[test]
fn in_code_points_are_looked_up_by_name() {
    let registry = registry(
        1,
        "zeta=return(z); alpha=return(a); mid::x=1*off->return(m1); mid::x[when=1+]=return(m2); \
         sys:write=error(EIO)",
    );
    let snapshot = registry.snapshot();
    let decide = |name: &str| {
        let point = snapshot.code_point(name).unwrap_or_else(|| panic!("{name}"));
        snapshot.decide_code(point, &mut NoContext).map(|d| (d.rule_index, d.effect))
    };
    assert_eq!(decide("zeta"), Some((0, Effect::ReturnArg(Some("z")))));
    assert_eq!(decide("alpha"), Some((1, Effect::ReturnArg(Some("a")))));
    // Two rules on one point: the walk goes through them in order.
    assert_eq!(decide("mid::x"), Some((3, Effect::ReturnArg(Some("m2")))));
    assert_eq!(decide("mid::x"), Some((2, Effect::ReturnArg(Some("m1")))));
    for unknown in ["nope", "", "zet", "sys:write", "write", "mid::x "] {
        assert_eq!(snapshot.code_point(unknown), None, "{unknown:?}");
    }
    assert_ne!(snapshot.code_point("zeta"), snapshot.code_point("alpha"));
}

#[test]
fn classes_apply_to_the_members_that_fit() {
    let registry = registry(1, "sys:@write=short; sys:fsync|fdatasync=error(EIO)");
    let snapshot = registry.snapshot();
    for name in ["write", "pwrite", "writev", "fwrite", "sendfile", "fsync", "fdatasync"] {
        assert!(snapshot.has_rules_for(point(name)), "{name}");
        assert!(snapshot.active_points().contains(point(name)), "{name}");
    }
    // fputs and ftruncate are @write but move no counted bytes, so `short` skips them.
    for name in ["fputs", "fprintf", "ftruncate", "read", "sync", "open"] {
        assert!(!snapshot.has_rules_for(point(name)), "{name}");
        let call = file_call(name, b"/d/x");
        assert_eq!(effect(&snapshot, &call), None, "{name}");
    }
    let fwrite = file_call("fwrite", b"/d/x");
    assert!(matches!(effect(&snapshot, &fwrite), Some(Effect::Short(n)) if (1..4096).contains(&n)));
    assert_eq!(effect(&snapshot, &file_call("fdatasync", b"/d/x")), EIO);
}

#[test]
fn list_reports_matches_and_injections() {
    let registry = registry(1, "sys:write[path=*.db]=2*off->error(EIO); wal::a=print(x)");
    let snapshot = registry.snapshot();
    assert_eq!(effect(&snapshot, &file_call("write", b"/d/x.txt")), None);
    assert_eq!(effects(&snapshot, &write_call(), 4), [None, None, EIO, EIO]);
    let list = registry.list();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0].key, "sys:write[path=*.db]");
    assert_eq!(list[0].actions, "2*off->error(EIO)");
    assert_eq!((list[0].matches, list[0].injections), (4, 2));
    assert_eq!((list[1].key.as_str(), list[1].actions.as_str()), ("wal::a", "print(x)"));
    assert_eq!((list[1].matches, list[1].injections), (0, 0));
    // The snapshot sees the same counters.
    let states: Vec<(&str, u64, u64)> =
        snapshot.rule_states().map(|(k, s)| (k, s.matches(), s.injections())).collect();
    assert_eq!(states, [("sys:write[path=*.db]", 4, 2), ("wal::a", 0, 0)]);
}

#[test]
fn reset_counters_starts_every_rule_afresh() {
    let registry = registry(
        1,
        "sys:write[path=*.db]=2*off->1*error(EIO); sys:fsync[when=2]=error(EIO); \
         sys:pwrite=full(5000)",
    );
    let snapshot = registry.snapshot();
    let fsync = file_call("fsync", b"/d/x");
    let pwrite = file_call("pwrite", b"/d/x");
    assert_eq!(effects(&snapshot, &write_call(), 4), [None, None, EIO, None]);
    assert_eq!(effects(&snapshot, &fsync, 3), [None, EIO, None]);
    assert_eq!(effects(&snapshot, &pwrite, 2), [Some(Effect::Full(4096)), Some(Effect::Full(904))]);

    registry.reset_counters();
    assert!(registry.list().iter().all(|s| (s.matches, s.injections) == (0, 0)));
    // Counts, `when` and `full` start again, in the snapshot already taken.
    assert_eq!(effects(&snapshot, &write_call(), 4), [None, None, EIO, None]);
    assert_eq!(effects(&snapshot, &fsync, 3), [None, EIO, None]);
    assert_eq!(effects(&snapshot, &pwrite, 2), [Some(Effect::Full(4096)), Some(Effect::Full(904))]);
    // Randomness restarts too: evaluation numbers begin at zero again.
    let registry = self::registry(77, "sys:write=50%error(EIO)");
    let snapshot = registry.snapshot();
    let first = effects(&snapshot, &write_call(), 64);
    registry.reset_counters();
    assert_eq!(effects(&snapshot, &write_call(), 64), first);
}

#[test]
fn an_empty_snapshot_decides_nothing() {
    let snapshot = Snapshot::empty();
    assert_eq!(effect(&snapshot, &write_call()), None);
    assert_eq!(snapshot.code_point("wal::append"), None);
    assert!(snapshot.active_points().is_empty());
    let registry = Registry::new(5);
    assert!(registry.is_empty());
    assert_eq!(registry.snapshot().seed(), 5);
    assert_eq!(effect(&registry.snapshot(), &write_call()), None);
}

#[test]
fn rejects_target_answers_for_the_target_alone() {
    use failinject_engine::{FileKind, PointId, Registry, SysCall};
    let mut reg = Registry::new(1);
    reg.configure("sys:write[path=*.wal,size>10]=error(EIO); sys:write[fd=7]=error(EIO)", "t")
        .unwrap();
    let snap = reg.snapshot();
    let on = |fd: i32, path: &'static [u8]| SysCall {
        fd: Some(fd),
        path: Some(path),
        kind: FileKind::File,
        size: Some(1),
        ..SysCall::new(PointId::from_name("write").unwrap())
    };
    // Neither rule can ever match fd 5 on a .db file, whatever the size.
    assert!(snap.rejects_target(&on(5, b"/d/x.db")));
    // The first rule's target filters pass (its size filter would not, but that is per call).
    assert!(!snap.rejects_target(&on(5, b"/d/x.wal")));
    // The second rule names fd 7.
    assert!(!snap.rejects_target(&on(7, b"/d/x.db")));
    // A point with no rule rejects everything.
    let fsync = SysCall { point: PointId::from_name("fsync").unwrap(), ..on(5, b"/d/x.wal") };
    assert!(snap.rejects_target(&fsync));
}

/// Near misses (issue 18): the calls that came close to a rule that has not fired.
#[test]
fn near_misses_of_rules_that_have_not_fired() {
    use failinject_engine::NearMiss;
    let reg = registry(1, "sys:write[path=*/copy.iso]=full(1M);sys:fsync=error(EIO)");
    let snap = reg.snapshot();
    let near = |call: &SysCall<'_>| {
        let mut seen = Vec::new();
        snap.near_misses(call, |i, why| seen.push((i, why)));
        seen
    };
    // The siblings of `write` and `fsync` go down the slow path; the rules' own points do not
    // count as siblings.
    let siblings = snap.sibling_points();
    assert!(siblings.contains(point("copy_file_range")) && siblings.contains(point("fdatasync")));
    assert!(!siblings.contains(point("write")) && !siblings.contains(point("fsync")));
    assert!(!siblings.contains(point("open")));
    // A write rule watches mmap: a shared writable mapping of its file is a near miss.
    assert!(siblings.contains(point("mmap")));
    let mut mapped = Vec::new();
    snap.mapping_near_misses(&file_call("mmap", b"/t/copy.iso"), |i, why| mapped.push((i, why)));
    assert_eq!(mapped, [(0, NearMiss::SharedMapping)]);
    // `cp` copies with copy_file_range onto the file: a sibling of rule 0.
    let copy = file_call("copy_file_range", b"/t/copy.iso");
    assert_eq!(near(&copy), [(0, NearMiss::Sibling)]);
    // Another file is no near miss; nor is a task that does not fit (`full` on fdatasync).
    assert!(near(&file_call("copy_file_range", b"/t/other")).is_empty());
    assert_eq!(near(&file_call("fdatasync", b"/t/x")), [(1, NearMiss::Sibling)]);
    // fsync on fd 1, a file: a plain rule skips the standard streams.
    let stdout = SysCall { fd: Some(1), ..file_call("fsync", b"/t/out") };
    assert_eq!(near(&stdout), [(1, NearMiss::StdStream)]);
    // Once a rule has fired it has no near misses, and once all have, siblings stop.
    assert!(!snap.sys_rules_fired());
    assert!(effect(&snap, &file_call("fsync", b"/t/x")).is_some());
    assert!(near(&file_call("fdatasync", b"/t/x")).is_empty());
    // A `full` that lets a whole write through has not fired; one that cuts it has.
    assert!(effect(&snap, &file_call("write", b"/t/copy.iso")).is_some());
    assert!(!snap.sys_rules_fired());
    let big = SysCall { size: Some(2 << 20), ..file_call("write", b"/t/copy.iso") };
    assert!(effect(&snap, &big).is_some());
    assert!(snap.sys_rules_fired());
}

fn code_effect<'s>(snapshot: &'s Snapshot, name: &str) -> Option<Effect<'s>> {
    let point = snapshot.code_point(name)?;
    snapshot.decide_code(point, &mut NoContext).map(|d| d.effect)
}

#[test]
fn a_replaced_rule_retires_only_after_the_new_snapshot_is_stored() {
    let mut registry = registry(1, "wal::p=pause");
    let old = registry.state("wal::p").unwrap().clone();
    registry.set(parse_rule("wal::p=pause").unwrap());
    let mut stored = None;
    registry.publish(|snapshot| {
        // Inside `store` the new snapshot is not visible yet: nothing may wake.
        assert!(!old.is_retired());
        stored = Some(snapshot);
    });
    assert!(old.is_retired());
    let new = stored.unwrap();
    let d = new.decide_code(new.code_point("wal::p").unwrap(), &mut NoContext).unwrap();
    assert_eq!(d.effect, Effect::Pause);
    assert!(!d.state.is_retired());
}

#[test]
fn restore_brings_the_saved_rules_back_with_their_counters() {
    let mut registry = registry(1, "wal::p=3*return(x); wal::q=pause; sys:fsync=error(EIO)");
    let saved = registry.clone();
    let snapshot = registry.snapshot();
    assert_eq!(code_effect(&snapshot, "wal::p"), Some(Effect::ReturnArg(Some("x"))));
    let q = registry.state("wal::q").unwrap().clone();

    // A scenario replaces one saved rule, removes another and adds its own.
    registry.set(parse_rule("wal::p=off").unwrap());
    registry.remove("sys:fsync").unwrap();
    registry.set(parse_rule("wal::r=return").unwrap());
    let snapshot = registry.snapshot();
    assert_eq!(code_effect(&snapshot, "wal::p"), None);
    let r = registry.state("wal::r").unwrap().clone();

    registry.restore(&saved);
    let mut snapshot = None;
    registry.publish(|s| snapshot = Some(s));
    let snapshot = snapshot.unwrap();
    let keys: Vec<String> = registry.list().into_iter().map(|s| s.key).collect();
    assert_eq!(keys, ["wal::p", "wal::q", "sys:fsync"]);
    // `wal::p` counts on from its one match: two returns are left.
    assert_eq!(registry.list()[0].matches, 1);
    let p: Vec<_> = (0..3).map(|_| code_effect(&snapshot, "wal::p")).collect();
    assert_eq!(p, [Some(Effect::ReturnArg(Some("x"))), Some(Effect::ReturnArg(Some("x"))), None]);
    // The rule that was never replaced is the same rule; the scenario's own is retired.
    assert!(std::sync::Arc::ptr_eq(&q, registry.state("wal::q").unwrap()));
    assert!(!q.is_retired());
    assert!(r.is_retired());
    // The removed `sys:fsync` is back, alive.
    assert!(!registry.state("sys:fsync").unwrap().is_retired());
    assert_eq!(
        effect(&snapshot, &file_call("fsync", b"/data/app.db")),
        Some(Effect::Error(Errno::EIO))
    );
}

/// `proc=GLOB` matches the whole process title the context gives (none: no match), and is
/// explained, rendered and keyed like any filter.
#[test]
fn proc_filters_match_the_title_whole() {
    struct Titled(&'static [u8]);
    impl failinject_engine::Context for Titled {
        fn proc_title(&mut self) -> Option<&[u8]> {
            Some(self.0)
        }
    }
    let rule = parse_rule(r#"sys:write[proc="postgres: checkpointer*"]=error(EIO)"#).unwrap();
    assert_eq!(rule.to_string(), r#"sys:write[proc="postgres: checkpointer*"]=error(EIO)"#);
    assert!(rule.explain().contains("in processes titled like `postgres: checkpointer*`"));
    let reg = registry(1, r#"sys:write[proc="postgres: checkpointer*"]=error(EIO)"#);
    let snap = reg.snapshot();
    let call = file_call("write", b"/data/base/1");
    let decide = |title: &'static [u8]| snap.decide_sys(&call, &mut Titled(title)).is_some();
    assert!(decide(b"postgres: checkpointer "));
    assert!(!decide(b"postgres: walwriter"));
    // A title with a `/` is still matched whole, not by its last part.
    assert!(!decide(b"/usr/lib/postgresql/15/bin/postgres: checkpointer"));
    assert!(snap.decide_sys(&call, &mut failinject_engine::NoContext).is_none());
    // Libc points only.
    assert!(parse_rule(r#"wal::append[proc="x"]=return"#).is_err());
}

/// The control protocol's and the fit checks' errors are typed: tests and callers match the
/// kind, and the text is the one replies and parse errors show.
#[test]
fn control_and_fit_errors_are_typed() {
    use failinject_engine::control::parse_command;
    use failinject_engine::{ControlError, Misfit, Task, task_fits};
    let err = |line: &str| parse_command(line).unwrap_err();
    assert_eq!(err("set"), ControlError::NoRule);
    assert_eq!(err("set").to_string(), "set needs a rule, as in `set sys:write=error(EIO)`");
    assert_eq!(err("frobnicate x"), ControlError::Unknown("frobnicate".into()));
    assert_eq!(err("list now"), ControlError::TakesNoArgument("list".into()));
    assert_eq!(err("wait"), ControlError::WaitUsage);
    assert!(matches!(err("set sys:wrte=off"), ControlError::Parse(_)));
    assert!(!err("set sys:wrte=off").to_string().contains('\n'), "one line for a reply");
    let fsync = PointId::of("fsync").info();
    assert_eq!(task_fits(fsync, &Task::Short(None)), Err(Misfit::ShortNeedsCount("fsync")));
    assert_eq!(
        Misfit::ShortNeedsCount("fsync").to_string(),
        "`short` needs a read/write-like call; `fsync` moves no data"
    );
}
