//! Points, lists and counters of the registry; near misses, restore and typed errors.

use super::*;

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
    assert!(matches!(err("powercut tron"), ControlError::PowercutMode(m, _) if m == "tron"));
    assert!(matches!(err("powercut sideways"), ControlError::PowercutMode(..)));
    use failinject_engine::control::Command;
    for (line, dirs, mode) in [
        ("powercut", false, CutMode::All),
        ("powercut all", false, CutMode::All),
        ("powercut all,dirs", true, CutMode::All),
        ("powercut torn dirs", true, CutMode::Torn),
        ("powercut prefix", false, CutMode::Prefix),
    ] {
        assert!(
            matches!(parse_command(line), Ok(Command::Powercut { cut }) if cut.dirs == dirs && cut.mode == mode),
            "{line}"
        );
    }
    assert!(matches!(err("powercut torn,sector=100"), ControlError::PowercutMode(..)));
    // Only a process under the preload can cut its power: the engine alone says so.
    let mut reg = Registry::new(1);
    let reply = failinject_engine::control::respond(b"powercut", &mut reg).unwrap();
    assert!(reply.starts_with("err "), "{reply}");
    assert!(matches!(err("set sys:wrte=off"), ControlError::Parse(_)));
    assert!(!err("set sys:wrte=off").to_string().contains('\n'), "one line for a reply");
    let fsync = PointId::of("fsync").info();
    assert_eq!(task_fits(fsync, &Task::Short(None)), Err(Misfit::ShortNeedsCount("fsync")));
    assert_eq!(
        Misfit::ShortNeedsCount("fsync").to_string(),
        "`short` needs a read/write-like call; `fsync` moves no data"
    );
}
