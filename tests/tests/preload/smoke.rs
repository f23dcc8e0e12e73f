//! The harness itself: the preload builds, loads, injects and stays out of the way.

use failinject_tests::{Run, TempDir};

#[test]
fn cp_reports_enospc_from_copy_file_range_and_leaves_no_full_copy() {
    let dir = TempDir::new("smoke-cp");
    std::fs::write(dir.join("src"), vec![7u8; 100_000]).unwrap();
    let done =
        Run::new(dir.path(), "sys:copy_file_range=error(ENOSPC)", "cp", &["src", "dst"]).run();
    assert_eq!(done.code, Some(1), "{done:?}");
    assert!(done.stderr.contains("No space left on device"), "{done:?}");
    let copied = std::fs::metadata(dir.join("dst")).map(|m| m.len()).unwrap_or(0);
    assert!(copied < 100_000, "the copy must not be complete, it is {copied} bytes");
}

#[test]
fn without_rules_programs_run_unchanged() {
    let dir = TempDir::new("smoke-none");
    std::fs::write(dir.join("src"), b"hello\n").unwrap();
    let done = Run::new(dir.path(), "", "cp", &["src", "dst"]).run();
    assert_eq!(done.code, Some(0), "{done:?}");
    assert_eq!(std::fs::read(dir.join("dst")).unwrap(), b"hello\n");
}

#[test]
fn a_bad_rule_stops_the_program_before_main_with_125() {
    let dir = TempDir::new("smoke-bad");
    let done = Run::new(dir.path(), "sys:wrte=error(EIO)", "/bin/true", &[] as &[&str]).run();
    assert_eq!(done.code, Some(125), "{done:?}");
    assert!(
        done.stderr
            .contains("failinject: rule 1 of FAILINJECT, column 5: unknown libc function `wrte`"),
        "{done:?}"
    );
    let warn = Run::new(dir.path(), "sys:wrte=error(EIO)", "/bin/true", &[] as &[&str])
        .env("FAILINJECT_ON_ERROR", "warn")
        .run();
    assert_eq!(warn.code, Some(0), "{warn:?}");
    assert!(warn.stderr.contains("running with no rules"), "{warn:?}");
}
