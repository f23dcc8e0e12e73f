//! The `failinject` binary end to end: `check` and `points`, good input and bad.

use std::io::Read;
use std::process::{Command, Output, Stdio};

fn failinject(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_failinject")).args(args).output().expect("run failinject")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn check_explains_valid_rules() {
    let out = failinject(&[
        "check",
        "-r",
        "sys:write[path=*.db]=2*off->1*error(ENOSPC)",
        "-r",
        "sys:fsync|fdatasync[path=*.wal]=25%error(EIO); wal::append=return",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert_eq!(stdout.lines().filter(|l| !l.starts_with("  ")).count(), 3, "{stdout}");
    assert!(stdout.contains(
        "On calls to write on a file named like `*.db`: \
         for 2 calls, let the call go ahead; then for 1 call, fail with ENOSPC"
    ));
    assert!(stdout.contains("with probability 25%, fail with EIO"));
    assert!(stdout.contains("On the in-code point `wal::append`: return early."));
}

/// A percentage above 100 is accepted as fail-rs accepts it ("always"), with a warning.
#[test]
fn check_accepts_a_percentage_above_100_with_a_warning() {
    let out = failinject(&["check", "-r", "wal::append=150%return"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr
            .contains("warning: `wal::append=150%return`: 150% is above 100 and is taken as 100%"),
        "{stderr}"
    );
    let quiet = failinject(&["check", "-r", "wal::append=100%return"]);
    assert!(!text(&quiet.stderr).contains("warning"), "{}", text(&quiet.stderr));
}

#[test]
fn check_reports_every_bad_rule_with_position_and_exit_2() {
    let out = failinject(&["check", "-r", "sys:wrte=error(EIO); sys:fsync=short(3)"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("rule 1 of -r #1, column 5: unknown libc function `wrte`"), "{stderr}");
    assert!(stderr.contains("  sys:wrte=error(EIO)\n      ^^^^\n  help: did you mean `write`?"));
    assert!(stderr.contains("rule 2 of -r #1, column 11: `short` needs a read/write-like call"));
    assert!(stderr.contains("2 bad rules"));
    assert!(out.stdout.is_empty(), "nothing is explained when a rule is bad");
}

#[test]
fn check_reads_files_and_names_the_line() {
    let dir = std::env::temp_dir().join(format!("failinject-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("rules.txt");
    std::fs::write(&file, "# disk trouble\nsys:write=full(1M)\n\nsys:rename=error(EXDEV\n")
        .unwrap();
    let out = failinject(&["check", "-f", file.to_str().unwrap()]);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("rule 2 of "), "{stderr}");
    assert!(stderr.contains("(line 4)"), "{stderr}");
    assert!(stderr.contains("never closed"), "{stderr}");
}

/// The hints of a newcomer's first mistakes (issue 18).
#[test]
fn check_hints_at_the_likely_meaning() {
    let out = failinject(&["check", "-r", "write=error(EIO)"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("did you mean `sys:write`?"), "{}", text(&out.stderr));
    let out = failinject(&["check", "-r", "sys:@wirte=error(EIO)"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("did you mean `@write`?"), "{}", text(&out.stderr));
    // A valid in-code rule named like a libc function gets a note.
    let out = failinject(&["check", "-r", "fsync=return"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).contains("note: did you mean `sys:fsync`?"), "{}", text(&out.stdout));
    for empty in ["", " ; # nothing"] {
        let out = failinject(&["check", "-r", empty]);
        assert_eq!(out.status.code(), Some(2));
        assert!(text(&out.stderr).contains("there is no rule to check"), "{}", text(&out.stderr));
    }
}

#[test]
fn check_without_rules_or_with_a_missing_file_is_a_usage_error() {
    let out = failinject(&["check"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("no rules to check"));
    let out = failinject(&["check", "-f", "/nonexistent/rules.txt"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("cannot read the rules file /nonexistent/rules.txt"));
}

#[test]
fn points_lists_the_table() {
    let out = failinject(&["points"]);
    assert!(out.status.success());
    let stdout = text(&out.stdout);
    assert!(stdout.contains("sys:write "), "{stdout}");
    assert!(stdout.contains("spellings  open open64 __open __open64 __open_2 __open64_2"));
    assert!(stdout.contains("does       opens creates(flags)"), "{stdout}");
    let json = text(&failinject(&["points", "--json"]).stdout);
    assert!(json.trim_start().starts_with('[') && json.trim_end().ends_with(']'));
    assert!(json.contains(r#""point":"sys:fsync""#), "{json}");
    assert!(json.contains(r#""does":["writes(at, offset)"]"#), "{json}");
    assert!(json.contains(r#""tasks":["return","error","kill","powercut","lose","sleep""#));
}

#[test]
fn a_closed_pipe_is_not_a_crash() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_failinject"))
        .arg("points")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    let status = child.wait().unwrap();
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(status.success() || status.code().is_none(), "{status:?}");
}
