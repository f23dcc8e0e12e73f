//! The rule walk of §3.3: which rule decides, and what replacing, removing and clearing keep.

use super::*;

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
