//! Arbitrary bytes → rule text → parse, print, re-parse, explain, compile, decide.
//!
//! What must hold for every input (anything else is a bug):
//! - nothing panics: not the parser, the printer, `explain`, the registry's compiler, nor a
//!   decision;
//! - every rule that parses prints to text that parses again, as exactly one rule, and prints
//!   identically (`Display` is canonical and round-trips);
//! - the printed key is canonical: `parse_key(rule.key())` gives `rule.key()` back, and the
//!   re-parsed rule has the same key.
//!
//! This file is shared: the fuzz target `fuzz_targets/parse_rules.rs` calls [`check`], and
//! `engine/tests/engine/fuzz_seeds.rs` replays the committed seeds (and any local corpus) through it
//! on the stable toolchain, in CI.
use failinject_engine::{
    Context, FileKind, NoContext, PointId, Points, Registry, SysCall, parse_key, parse_rule,
    parse_rules_all,
};

/// A context in which every `within=` scope is entered, every `after=` point reached, and the
/// call site is a fixed id: the opposite of [`NoContext`], so the filters after them run too.
struct Everything;
impl Context for Everything {
    fn site(&mut self) -> u64 {
        0x1234
    }
    fn within(&self, _: u64) -> bool {
        true
    }
    fn reached(&self, _: u64) -> bool {
        true
    }
}

/// The libc point called `name`, if the engine's table has it (the table grows over time;
/// a call to a point it lacks is skipped rather than failing the target).
fn point(name: &str) -> Option<PointId> {
    PointId::from_name(name)
}

/// Runs the checks on one input; panics on a bug.
pub fn check(data: &[u8]) {
    let text = String::from_utf8_lossy(data);

    // The key parser sees the raw text as well (most of it is not a key: errors are fine).
    let _ = parse_key(&text);

    let (rules, errors) = parse_rules_all(&text, "fuzz");
    for e in &errors {
        let _ = e.to_string();
    }

    for rule in &rules {
        let printed = rule.to_string();
        let reparsed = match parse_rule(&printed) {
            Ok(r) => r,
            Err(e) => panic!(
                "printed rule does not parse again\n  input:   {text:?}\n  printed: {printed:?}\n  error:   {e}"
            ),
        };
        let reprinted = reparsed.to_string();
        assert_eq!(
            printed, reprinted,
            "printed rule re-parses but prints differently (input {text:?})"
        );
        let key = rule.key();
        assert_eq!(key, reparsed.key(), "re-parsed rule has another key (input {text:?})");
        match parse_key(&key) {
            Ok(k) => assert_eq!(k, key, "parse_key(key) is not canonical (input {text:?})"),
            Err(e) => panic!("a rule's key does not parse as a key\n  key: {key:?}\n  error: {e}"),
        }
        let _ = rule.explain();
        let _ = rule.chain_text();
    }

    // Compile and decide.
    let mut registry = Registry::new(0x5eed);
    registry.set_exe(b"/usr/bin/fuzzed");
    for rule in &rules {
        registry.set(rule.clone());
    }
    let _ = registry.list();
    let snapshot = registry.snapshot();

    let write = point("write").map(|p| SysCall {
        fd: Some(5),
        path: Some(b"/data/x.db"),
        kind: FileKind::File,
        size: Some(4096),
        ..SysCall::new(p)
    });
    let fsync =
        point("fsync").map(|p| SysCall { fd: Some(3), kind: FileKind::File, ..SysCall::new(p) });
    let stdout = point("write").map(|p| SysCall {
        fd: Some(1),
        kind: FileKind::Tty,
        size: Some(1),
        ..SysCall::new(p)
    });
    let rename = point("rename").map(|p| SysCall {
        path: Some(b"/data/x.db.tmp"),
        path2: Some(b"/data/x.db"),
        kind: FileKind::File,
        ..SysCall::new(p)
    });
    let empty_write = point("write").map(|p| SysCall {
        fd: Some(4),
        path: Some(b"/"),
        kind: FileKind::Dir,
        size: Some(0),
        ..SysCall::new(p)
    });
    let close = point("close").map(|p| SysCall { fd: Some(3), ..SysCall::new(p) });
    let calls: Vec<SysCall<'_>> =
        [write, fsync, stdout, rename, empty_write, close].into_iter().flatten().collect();
    // Several rounds, so counts, `when=` and `full` limits move.
    for _ in 0..3 {
        for call in &calls {
            if let Some(d) = snapshot.decide_sys(call, &mut NoContext) {
                d.refund(1);
            }
            let _ = snapshot.decide_sys(call, &mut Everything);
        }
    }
    for rule in &rules {
        if let Points::Code(name) = &rule.points
            && let Some(cp) = snapshot.code_point(name)
        {
            let _ = snapshot.decide_code(cp, &mut NoContext);
            let _ = snapshot.decide_code(cp, &mut Everything);
        }
    }
    let _ = snapshot.code_point("no::such::point");
}
