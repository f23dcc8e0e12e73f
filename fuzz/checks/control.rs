//! Arbitrary bytes → control-socket lines → the engine's `control` module, exactly as
//! `libfailinject.so`'s control socket calls it (`preload/src/ctl.rs` does nothing but read
//! lines, take the registry's lock, and wait for `wait`).
//!
//! The input is split at newlines, as the socket does; each line (cut at `MAX_LINE` bytes,
//! which the socket refuses beyond) goes through `control::respond` on one registry that
//! starts with two rules, so `remove`, `wait` and `list` find something. What must hold for
//! every input (anything else is a bug):
//! - nothing panics, and the registry still compiles into a snapshot at the end;
//! - every reply ends with a newline and its last line, only that line, starts with `ok` or
//!   `err `; a reply has no other line breaks: error replies are one line, `seed` is two
//!   (the number, `ok`), `list` is one line per rule of the registry and then `ok N rules`,
//!   each rule line with exactly four tab-separated fields;
//! - the registry changes as the reply says: after `ok` to `set`, every key it names is in the
//!   registry; after `ok removed`, the key is not; after `clear`, nothing is; a command that
//!   only reads, or got `err`, leaves the list of keys as it was.
//!
//! This file is shared: the fuzz target `fuzz_targets/control.rs` calls [`check`], and
//! `engine/tests/engine/fuzz_seeds.rs` replays the committed seeds (and any local corpus) through it
//! on the stable toolchain, in CI.
use failinject_engine::control::{self, MAX_LINE};
use failinject_engine::{Command, Registry};

fn keys(registry: &Registry) -> Vec<String> {
    registry.list().into_iter().map(|r| r.key).collect()
}

/// Runs the checks on one input; panics on a bug.
pub fn check(data: &[u8]) {
    let mut registry = Registry::new(7);
    registry
        .configure("sys:write[path=*.db]=1%error(EIO);wal::append=return", "fuzz")
        .expect("the starting rules parse");
    registry.set_exe(b"/usr/bin/fuzzed");

    for line in data.split(|&b| b == b'\n') {
        let line = &line[..line.len().min(MAX_LINE)];
        let before = keys(&registry);
        let parsed = control::parse_line(line);
        let Some(reply) = control::respond(line, &mut registry) else {
            assert!(parsed.is_none(), "a line with a command got no reply: {line:?}");
            continue;
        };
        let parsed = parsed.expect("a reply to a blank line");

        assert!(reply.ends_with('\n'), "reply without its newline: {reply:?}");
        let lines: Vec<&str> = reply[..reply.len() - 1].split('\n').collect();
        let (last, body) = lines.split_last().expect("at least one line");
        assert!(
            last.starts_with("ok") || last.starts_with("err "),
            "last line is neither ok nor err: {reply:?}"
        );
        for l in body {
            assert!(!l.starts_with("ok") && !l.starts_with("err"), "early end line: {reply:?}");
        }
        let ok = last.starts_with("ok");
        match (&parsed, ok) {
            (Ok(Command::List), true) => {
                assert_eq!(body.len(), registry.list().len(), "list lines: {reply:?}");
                for l in body {
                    assert_eq!(
                        l.split('\t').count(),
                        4,
                        "list line with other than 4 fields: {l:?}"
                    );
                }
            }
            (Ok(Command::Seed), true) => {
                assert_eq!(body, ["7"], "seed reply: {reply:?}");
            }
            _ => assert!(body.is_empty(), "a multi-line reply to {line:?}: {reply:?}"),
        }
        match (&parsed, ok) {
            (Ok(Command::Set(rules)), true) => {
                for rule in rules {
                    assert!(
                        registry.state(&rule.key()).is_some(),
                        "set but not there: {}",
                        rule.key()
                    );
                }
            }
            (Ok(Command::Remove(key)), true) => {
                assert!(registry.state(key).is_none(), "removed but still there: {key}");
                assert_eq!(keys(&registry).len() + 1, before.len());
            }
            (Ok(Command::Clear), true) => assert!(registry.is_empty()),
            (Ok(Command::Set(_)), false) => panic!("set got err after parsing: {reply:?}"),
            _ => assert_eq!(keys(&registry), before, "{line:?} changed the rules: {reply:?}"),
        }
    }
    let _ = registry.snapshot();
}
