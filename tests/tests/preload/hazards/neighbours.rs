//! Other preloaded libraries, `vfork` and `posix_spawn`, exec chains and the standard descriptors
//! (HAZARDS §4–7).

use super::*;

// ---- 4. other preloaded libraries ----------------------------------------------------------------

/// A library preloaded next to ours opens and writes a file (and uses stdio) in its
/// constructor, before or after our constructor has loaded the rules, in both LD_PRELOAD
/// orders. Nothing crashes, and in `main` the rules apply, also to the descriptor that
/// constructor opened (which the preload may never have seen opened).
#[test]
fn another_preloaded_library_writes_in_its_constructor() {
    let dir = TempDir::new("hz-early");
    let lib = compile_library(&dir, "early");
    let exe = compile(&dir, "early_main");
    let d = path_str(dir.path());
    let ours = path_str(preload());
    let theirs = path_str(&lib);
    let inject = with_slow(
        "sys:write[path=*/early.dat]=error(EIO);sys:write[path=*/main.dat]=error(EIO);\
         sys:fputs[path=*/early-stdio.dat]=error(EIO)",
    );
    let mut constructor_ran_first = false;
    for order in [format!("{theirs}:{ours}"), format!("{ours}:{theirs}")] {
        let run = |rules: &str| {
            let mut cmd = under(dir.path(), rules, &exe, &[d]);
            cmd.env("LD_PRELOAD", &order).env("HAZARD_DIR", d);
            bounded(cmd)
        };
        let slow = run(SLOW);
        slow.assert_ok();
        for key in ["ctor_write", "main_write_early_fd", "main_write_own_fd"] {
            assert_eq!(slow.get(key), "ok", "{key} with LD_PRELOAD={order}: {slow:#?}");
        }
        assert_eq!(slow.get("ctor_stdio"), "ok", "{slow:#?}");

        let injected = run(&inject);
        injected.assert_ok();
        assert!(matches!(injected.get("ctor_write"), "ok" | "EIO"), "{injected:#?}");
        constructor_ran_first |= injected.get("ctor_write") == "ok";
        assert_eq!(injected.get("main_write_early_fd"), "EIO", "{order}: {injected:#?}");
        assert_eq!(injected.get("main_write_own_fd"), "EIO", "{order}: {injected:#?}");
    }
    assert!(
        constructor_ran_first,
        "in neither order did the other constructor run before ours: the hazard was not exercised"
    );
}

// ---- 5. vfork and posix_spawn ---------------------------------------------------------------------

/// `vfork` + `execv` and `posix_spawn` (with file actions) of a child program: the child
/// gets the rules (its injected EIO shows in its exit status 5) and the parent's own writes,
/// to a file and to stdout, are unharmed.
#[test]
fn vfork_exec_and_posix_spawn_pass_the_rules_and_leave_the_parent_alone() {
    let dir = TempDir::new("hz-spawn");
    let exe = compile(&dir, "spawn");
    let writer = compile(&dir, "writer");
    let (d, w) = (path_str(dir.path()), path_str(&writer));
    let inject = with_slow("sys:write[path=*/child.dat]=error(EIO)");
    for mode in ["vfork", "spawn"] {
        for (rules, child) in [(SLOW, "0"), (inject.as_str(), "5")] {
            let o = bounded(under(dir.path(), rules, &exe, &[mode, d, w]));
            o.assert_ok();
            assert_eq!(o.get("child_status"), child, "{mode}: {o:#?}");
            assert_eq!(o.get("parent_file"), "ok", "{mode}: {o:#?}");
            assert_eq!(o.get("parent_stdout"), "ok", "{mode}: {o:#?}");
        }
    }
}

/// A vfork child that redirects its stdout with dup2 before exec (the usual idiom) shares
/// the parent's memory, so the preload's descriptor table: the parent must still see its
/// own stdout, not the child's file.
#[test]
fn vfork_child_redirecting_stdout_leaves_the_parents_table_alone() {
    let dir = TempDir::new("hz-vfork-dup2");
    let exe = compile(&dir, "spawn");
    let writer = compile(&dir, "writer");
    let (d, w) = (path_str(dir.path()), path_str(&writer));
    let inject = with_slow("sys:write[path=*/child.dat]=error(EIO)");
    let o = bounded(under(dir.path(), &inject, &exe, &["vfork-dup2", d, w]));
    assert_eq!(o.get("child_status"), "5", "{o:#?}");
    assert_eq!(o.get("parent_file"), "ok", "{o:#?}");
    assert!(o.stdout.contains("parent_stdout=ok"), "the parent's stdout failed: {o:#?}");
    o.assert_ok();
}

// ---- 6. exec chains -----------------------------------------------------------------------------

/// `sh -c 'sh -c "…"'`, with `env` and `exec` in the chain too: the innermost program still
/// gets the rules.
#[test]
fn exec_chains_pass_the_rules_to_the_innermost_program() {
    let dir = TempDir::new("hz-exec");
    let writer = compile(&dir, "writer");
    let target = dir.join("child.dat");
    let inner = format!("{} {}", path_str(&writer), path_str(&target));
    let chains = [
        format!("sh -c '{inner}'"),
        format!("env sh -c 'exec sh -c \"{inner}\"'"),
        format!("sh -c 'sh -c \"sh -c \\\"exec {inner}\\\"\"'"),
    ];
    let inject = with_slow("sys:write[path=*/child.dat]=error(EIO)");
    for chain in &chains {
        for (rules, status) in [(SLOW, 0), (inject.as_str(), 5)] {
            let o = bounded(under(dir.path(), rules, Path::new("sh"), &["-c", chain]));
            assert_eq!(o.code, Some(status), "sh -c {chain:?} with {rules}: {o:#?}");
        }
    }
}

// ---- 7. the standard descriptors -----------------------------------------------------------------

/// fd 1 made a regular file, by dup2 or by closing 0 and 1 and opening files: a plain
/// `sys:write=error(EIO)` leaves writes to fd 1 alone (fds 0–2 match only rules with a path,
/// fd or kind filter) but fails the same file through another number; `[fd=1]` and
/// `[path=…]` rules fail fd 1. Stdio to stdout goes through glibc's internal write, which
/// only `sys:fputs` (the stdio point) reaches.
#[test]
fn standard_descriptors_that_are_regular_files() {
    let dir = TempDir::new("hz-stdfds");
    let exe = compile(&dir, "stdfds");
    let d = path_str(dir.path());
    let cases = [
        (SLOW.to_owned(), ["ok", "ok", "ok"], "one\ntwo\nthree\n"),
        (
            with_slow("sys:write=error(EIO);sys:fputs=error(EIO);sys:fflush=error(EIO)"),
            ["ok", "ok", "EIO"],
            "one\ntwo\n",
        ),
        (with_slow("sys:write[fd=1]=error(EIO)"), ["EIO", "ok", "ok"], "two\nthree\n"),
        (with_slow("sys:write[path=*/out.dat]=error(EIO)"), ["EIO", "ok", "EIO"], "two\n"),
        (with_slow("sys:write[kind=file]=error(EIO)"), ["EIO", "ok", "EIO"], "two\n"),
        (with_slow("sys:fputs[path=*/out.dat]=error(EIO)"), ["ok", "EIO", "ok"], "one\nthree\n"),
    ];
    for mode in ["dup2", "close"] {
        for (rules, [fd1, stdio, dup], content) in &cases {
            let o = bounded(under(dir.path(), rules, &exe, &[mode, d]));
            o.assert_ok();
            let got = [o.get("write_fd1"), o.get("fputs_stdout"), o.get("write_dup_of_fd1")];
            assert_eq!(got, [*fd1, *stdio, *dup], "{mode} with {rules}: {o:#?}");
            let written = std::fs::read_to_string(dir.join("out.dat")).unwrap();
            assert_eq!(written, *content, "{mode} with {rules}: {o:#?}");
        }
    }
}
