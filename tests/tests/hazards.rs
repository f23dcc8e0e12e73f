//! The hazards of running inside other people's programs (`docs/HAZARDS.md`): signal
//! handlers, `fork` under threads, thread and process exit, other preloaded libraries,
//! `vfork` and `posix_spawn`, exec chains, the standard descriptors, re-entrancy, the
//! descriptor table, many threads, the preload's own footprint, small stacks, arguments libc
//! rejects, errno, and the known limits of an `LD_PRELOAD` interposer.
//!
//! Each test compiles a C fixture from `tests/fixtures/hazards/` (with `cc -O1 -pthread`) and
//! runs it under the real `libfailinject.so`: once with [`SLOW`], rules that send every
//! wrapper down its slow path without injecting anything, and, where it makes sense, once with
//! rules that really inject. Every run is bounded by [`LIMIT`]: a deadlock fails the test
//! instead of hanging CI. The fixtures print `key=value` lines that the tests check.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use failinject_tests::{Bounded, TempDir, bounded_while, compile_c, preload};

/// The longest any one run may take before it is killed and the test fails.
const LIMIT: Duration = Duration::from_secs(20);

/// Rules that inject nothing but send every wrapper down its slow path on every call: a rule
/// for `write` with a path filter, and `off` for every point and every kind of descriptor
/// (so no verdict is cached and each call is decided afresh).
const SLOW: &str = "sys:write[path=*/never-matches]=error(EIO);sys:@all[kind=any]=off";

/// `rules` followed by [`SLOW`]: the injecting rules decide, everything else still takes the
/// slow path.
fn with_slow(rules: &str) -> String {
    format!("{rules};{SLOW}")
}

// ---- fixtures ---------------------------------------------------------------------------------

/// The source of the fixture `name`.
fn source(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join("hazards").join(format!("{name}.c"))
}

/// Compiles the fixture `name` into `out`, with `args` besides the usual flags.
fn cc(name: &str, out: &Path, args: &[&str]) -> PathBuf {
    let mut flags = vec!["-O1", "-pthread", "-Wall", "-Wextra", "-Werror"];
    flags.extend_from_slice(args);
    flags.push("-ldl");
    compile_c(&source(name), out, &flags)
}

/// Compiles the fixture `name` into `dir` and returns the executable.
fn compile(dir: &TempDir, name: &str) -> PathBuf {
    cc(name, &dir.join(name), &[])
}

/// Compiles the fixture `name` into a shared library `name.so` in `dir`.
fn compile_library(dir: &TempDir, name: &str) -> PathBuf {
    cc(name, &dir.join(&format!("{name}.so")), &["-shared", "-fPIC"])
}

// ---- bounded runs -----------------------------------------------------------------------------

/// `exe args…` in `dir` under the preload with `rules` and a fixed seed, as `Run` does it.
fn under(dir: &Path, rules: &str, exe: &Path, args: &[&str]) -> Command {
    let mut cmd = without(dir, exe, args);
    cmd.env("LD_PRELOAD", preload()).env("FAILINJECT", rules).env("FAILINJECT_SEED", "1");
    cmd
}

/// `exe args…` in `dir` without the preload.
fn without(dir: &Path, exe: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(exe);
    cmd.args(args)
        .current_dir(dir)
        .env("LC_ALL", "C")
        .env_remove("LD_PRELOAD")
        .env_remove("FAILINJECT")
        .env_remove("FAILINJECT_FILE")
        .env_remove("FAILPOINTS")
        .env_remove("FAILINJECT_ON_ERROR")
        .env_remove("FAILINJECT_LOG")
        .env_remove("FAILINJECT_CTL");
    cmd
}

/// The checks the tests make on a bounded run.
trait Checks {
    /// Asserts that the program exited 0 in time.
    fn assert_ok(&self) -> &Self;
    /// The value of the `key=value` line on stdout or stderr.
    fn get(&self, key: &str) -> &str;
    /// The value of `key` as a number.
    fn num(&self, key: &str) -> u64;
}

impl Checks for Bounded {
    fn assert_ok(&self) -> &Bounded {
        assert!(
            !self.timed_out && self.code == Some(0),
            "{} did not exit 0 in time: {self:#?}",
            self.what
        );
        self
    }

    fn get(&self, key: &str) -> &str {
        let prefix = format!("{key}=");
        self.stdout
            .lines()
            .chain(self.stderr.lines())
            .find_map(|l| l.strip_prefix(&prefix))
            .unwrap_or_else(|| panic!("{}: no `{key}=` line: {self:#?}", self.what))
    }

    fn num(&self, key: &str) -> u64 {
        let v = self.get(key);
        v.parse().unwrap_or_else(|_| panic!("{}: `{key}={v}` is not a number", self.what))
    }
}

/// Runs `cmd` in a process group of its own, with stdin from /dev/null and its output
/// captured; kills the whole group when it runs past [`LIMIT`] (and when processes it left
/// behind still hold its output open after it exited). A run that timed out is returned, not
/// failed at once, so that a test can first say what hung.
fn bounded(cmd: Command) -> Bounded {
    bounded_while(cmd, LIMIT, |_| {})
}

fn size(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("temporary paths are UTF-8")
}

// ---- 1. signal handlers -------------------------------------------------------------------------

/// Handlers for SIGALRM (an interval timer at 10 kHz) and SIGUSR1 (`pthread_kill` from
/// another thread) write to a file, and sometimes open, write and close another, while the
/// main thread loops on malloc/free, write, and open/write/close for 2 s.
#[test]
fn signal_handlers_write_while_the_main_thread_allocates_and_writes() {
    let dir = TempDir::new("hz-signals");
    let exe = compile(&dir, "signals");
    let d = path_str(dir.path());
    let check_sizes = |o: &Bounded| {
        assert!(o.num("signals") >= 500, "too few signals to prove anything: {o:#?}");
        assert!(o.num("allocs") > 0, "{o:#?}");
        assert_eq!(size(&dir.join("sig.dat")), 16 * o.num("sig_ok"), "{o:#?}");
        assert_eq!(size(&dir.join("sig-open.dat")), 16 * o.num("sig_open_ok"), "{o:#?}");
        assert_eq!(size(&dir.join("main.dat")), 16 * o.num("main_ok"), "{o:#?}");
        assert_eq!(size(&dir.join("main-open.dat")), 16 * o.num("open_ok"), "{o:#?}");
        assert_eq!(o.num("other"), 0, "{o:#?}");
    };

    let slow = bounded(under(dir.path(), SLOW, &exe, &[d, "2"]));
    slow.assert_ok();
    check_sizes(&slow);
    assert_eq!(slow.num("sig_eio") + slow.num("main_eio") + slow.num("open_eio"), 0, "{slow:#?}");

    // Every 3rd write to the handlers' files and every 5th (from the 2nd) to the main
    // thread's files fails. The main thread's writes are all decided, so their count is exact;
    // a handler's write that interrupts the preload's own work passes straight through.
    let rules = with_slow(
        "sys:write[path=*/sig*.dat,when=1+3]=error(EIO);\
         sys:write[path=*/main*.dat,when=2+5]=error(EIO)",
    );
    let inject = bounded(under(dir.path(), &rules, &exe, &[d, "2"]));
    inject.assert_ok();
    check_sizes(&inject);
    let main_writes: u64 =
        ["main_ok", "main_eio", "open_ok", "open_eio"].iter().map(|k| inject.num(k)).sum();
    let failed = inject.num("main_eio") + inject.num("open_eio");
    assert_eq!(failed, (main_writes - 2) / 5 + 1, "{inject:#?}");
    assert!(inject.num("sig_eio") > 0, "no handler write was injected: {inject:#?}");
}

// ---- 2. fork under threads -------------------------------------------------------------------

/// Four threads loop on write and fsync while the main thread forks 200 times; each child
/// writes a probe file once, closes descriptors 3..63 and exits. No child may hang, and
/// counters start afresh in each child: a `when=1` rule fails the parent's first probe write
/// and every child's.
#[test]
fn fork_while_threads_write_and_fsync() {
    let dir = TempDir::new("hz-fork");
    let exe = compile(&dir, "fork");
    let d = path_str(dir.path());

    let slow = bounded(under(dir.path(), SLOW, &exe, &[d, "200", "write"]));
    slow.assert_ok();
    assert_eq!(slow.get("parent_probe"), "ok", "{slow:#?}");
    assert_eq!((slow.num("children"), slow.num("child_ok")), (200, 200), "{slow:#?}");

    let rules = with_slow("sys:write[path=*/probe.dat,when=1]=error(EIO)");
    let inject = bounded(under(dir.path(), &rules, &exe, &[d, "200", "write"]));
    inject.assert_ok();
    assert_eq!(inject.get("parent_probe"), "EIO", "{inject:#?}");
    assert_eq!((inject.num("children"), inject.num("child_eio")), (200, 200), "{inject:#?}");
    assert_eq!(inject.num("hung"), 0, "{inject:#?}");
    for i in 0..4 {
        let key = format!("w{i}");
        assert_eq!(size(&dir.join(&format!("w{i}.dat"))), inject.num(&key), "{inject:#?}");
    }
}

/// Under write tracking with the directory journal on (`powercut(dirs)` on a file that is
/// never synced, so nothing is cut), threads rename files while the main thread forks, and
/// each child renames a file of its own: the journal's lock, often held by another thread
/// at the fork, must be free in the child, or its rename spins forever (`hung=`).
#[test]
fn fork_while_threads_rename_under_the_directory_journal() {
    let dir = TempDir::new("hz-fork-rename");
    let exe = compile(&dir, "fork");
    let d = path_str(dir.path());
    let rules = "sys:fsync[path=*/never-synced]=powercut(dirs)";
    let o = bounded(under(dir.path(), rules, &exe, &[d, "200", "rename"]));
    o.assert_ok();
    assert_eq!(o.num("hung"), 0, "{o:#?}");
    assert_eq!((o.num("children"), o.num("child_ok")), (200, 200), "{o:#?}");
    assert_eq!(o.num("thread_errors"), 0, "{o:#?}");
}

/// As above, but the threads also dup2 their descriptor onto a fixed number and close it
/// again, so a fork often lands while a thread is recording a descriptor in `fds.rs`.
#[test]
fn fork_while_threads_dup_and_close_descriptors() {
    let dir = TempDir::new("hz-fork-dup");
    let exe = compile(&dir, "fork");
    let d = path_str(dir.path());
    let slow = bounded(under(dir.path(), SLOW, &exe, &[d, "300", "dup"]));
    assert_eq!(slow.get("hung"), "0", "a child hung after fork: {slow:#?}");
    slow.assert_ok();
    assert_eq!(slow.num("children"), 300, "{slow:#?}");
}

// ---- 3. thread and process exit ----------------------------------------------------------------

/// 640 threads (64 at a time) exit with a pthread key whose destructor writes to a shared
/// descriptor and opens, writes and closes a file of its own; at process exit an atexit
/// handler and an ELF destructor append to another file.
#[test]
fn key_destructors_and_exit_handlers_write() {
    let dir = TempDir::new("hz-exit");
    let exe = compile(&dir, "exit_paths");
    let d = path_str(dir.path());

    let slow = bounded(under(dir.path(), SLOW, &exe, &[d, "64", "10"]));
    slow.assert_ok();
    let threads = slow.num("threads");
    assert_eq!(threads, 640, "{slow:#?}");
    assert_eq!((slow.num("dtor_ok"), slow.num("dtor_own_ok")), (threads, threads), "{slow:#?}");
    assert_eq!(std::fs::read_to_string(dir.join("exit.dat")).unwrap(), "atexit\ndestructor\n");

    // Every 4th destructor write fails; at exit, the second write (the ELF destructor's).
    let rules = with_slow(
        "sys:write[path=*/dtor*.dat,when=1+4]=error(EIO);\
         sys:write[path=*/exit.dat,when=2]=error(EIO)",
    );
    let inject = bounded(under(dir.path(), &rules, &exe, &[d, "64", "10"]));
    inject.assert_ok();
    let (ok, own, eio) = (inject.num("dtor_ok"), inject.num("dtor_own_ok"), inject.num("dtor_eio"));
    assert_eq!(ok + own + eio, 2 * threads, "{inject:#?}");
    assert_eq!(eio, (2 * threads - 1) / 4 + 1, "{inject:#?}");
    assert_eq!(size(&dir.join("dtor.dat")), 8 * ok);
    assert_eq!(size(&dir.join("dtor-own.dat")), 8 * own);
    assert_eq!(std::fs::read_to_string(dir.join("exit.dat")).unwrap(), "atexit\n");
}

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

// ---- 8. re-entrancy and the descriptor table --------------------------------------------------------

/// `print` rules on writes to stderr (where the diagnostic itself goes) and to a file: each
/// call prints exactly one diagnostic, written with the raw system call, and goes ahead.
#[test]
fn print_on_write_does_not_recurse() {
    let dir = TempDir::new("hz-print");
    let exe = compile(&dir, "reentry");
    let rules = "sys:write[fd=2]=print(reentry);sys:write[path=*/p.dat]=print(data);\
                 sys:fputs[fd=2]=print(stdio)";
    let o = bounded(under(dir.path(), rules, &exe, &["print", path_str(dir.path())]));
    o.assert_ok();
    assert_eq!(o.stdout, "done bad=0\n", "{o:#?}");
    let count = |line: &str| o.stderr.lines().filter(|l| *l == line).count();
    assert_eq!(count("failinject: sys:write: reentry"), 10, "{o:#?}");
    assert_eq!(count("failinject: sys:write: data"), 10, "{o:#?}");
    assert_eq!(count("failinject: sys:fputs: stdio"), 10, "{o:#?}");
    assert_eq!(count("program line"), 10, "{o:#?}");
    assert_eq!(count("stdio line"), 10, "{o:#?}");
    assert_eq!(o.stderr.lines().count(), 50, "{o:#?}");
    assert_eq!(size(&dir.join("p.dat")), 50);
}

/// A `path=` rule on a file fails writes through every duplicate of its descriptor (dup,
/// dup2, dup3, F_DUPFD, F_DUPFD_CLOEXEC), and stops applying to a number once it names
/// another file (closed and reused, or dup2'd over), in both directions.
#[test]
fn path_rules_follow_duplicated_descriptors() {
    let dir = TempDir::new("hz-dup");
    let exe = compile(&dir, "reentry");
    let d = path_str(dir.path());
    let keys = [
        "a_orig",
        "a_dup",
        "a_dup2",
        "a_dup3",
        "a_f_dupfd",
        "a_f_dupfd_cloexec",
        "b_reused",
        "b_over_dup2",
        "a_still",
        "b_before",
        "b_before_again",
        "a_over_b",
    ];
    let slow = bounded(under(dir.path(), SLOW, &exe, &["dup", d]));
    slow.assert_ok();
    assert_eq!(slow.get("b_reused_number"), "yes", "{slow:#?}");
    for key in keys {
        assert_eq!(slow.get(key), "ok", "{key}: {slow:#?}");
    }
    let rules = with_slow("sys:write[path=*/a.dat]=error(EIO)");
    let inject = bounded(under(dir.path(), &rules, &exe, &["dup", d]));
    inject.assert_ok();
    for key in keys {
        let want = if key.starts_with("a_") { "EIO" } else { "ok" };
        assert_eq!(inject.get(key), want, "{key}: {inject:#?}");
    }
    assert_eq!(size(&dir.join("a.dat")), 0);
    assert_eq!(size(&dir.join("b.dat")), 4);
}

/// Runs the `stale` fixture: a file on fd 3 is written, closed with `how`, and fd 3 reused
/// for a socket, under a plain rule and under a path rule on the file. Neither may fail the
/// socket's write (a plain rule never matches sockets; the path is another file's).
fn stale(how: &str) {
    let dir = TempDir::new("hz-stale");
    let exe = compile(&dir, "stale");
    let file = dir.join("st.dat");
    for rules in ["sys:write=error(EIO)", "sys:write[path=*/st.dat]=error(EIO)"] {
        let o = bounded(under(dir.path(), &with_slow(rules), &exe, &[how, path_str(&file)]));
        o.assert_ok();
        assert_eq!((o.get("file_fd"), o.get("socket_fd")), ("3", "3"), "{o:#?}");
        assert_eq!(o.get("file"), "EIO", "{rules}: {o:#?}");
        assert_eq!(o.get("socket"), "ok", "{how}, then {rules}: {o:#?}");
    }
}

/// After `close`, the number's path and kind are forgotten: a socket that reuses it is a
/// socket.
#[test]
fn a_closed_number_reused_for_a_socket_is_a_socket() {
    stale("close");
}

/// The same after `closefrom(3)`, which closes inside libc without calling `close`.
#[test]
fn a_number_reused_after_closefrom_is_a_socket() {
    stale("closefrom");
}

// ---- 9. many threads --------------------------------------------------------------------------------

/// 8 threads × 5,000 writes, released together, under `when=100+100`: exactly one write in
/// 100 fails, whichever thread makes it, and every file holds the writes that succeeded.
#[test]
fn threads_share_one_rules_counters_exactly() {
    let dir = TempDir::new("hz-threads");
    let exe = compile(&dir, "threads");
    let d = path_str(dir.path());
    let (threads, writes) = (8u64, 5000u64);
    let args = [d, "8", "5000"];
    let check = |o: &Bounded, injected: u64| {
        o.assert_ok();
        assert_eq!((o.num("injected"), o.num("other")), (injected, 0), "{o:#?}");
        let mut ok = 0;
        for i in 0..threads {
            let n = o.num(&format!("t{i}"));
            assert_eq!(size(&dir.join(&format!("t{i}.dat"))), n, "t{i}: {o:#?}");
            ok += n;
        }
        assert_eq!(ok + injected, threads * writes, "{o:#?}");
    };
    check(&bounded(under(dir.path(), SLOW, &exe, &args)), 0);
    let rules = "sys:write[path=*/t*,when=100+100]=error(EIO)";
    check(&bounded(under(dir.path(), rules, &exe, &args)), threads * writes / 100);
}

// ---- 10. the preload's footprint ------------------------------------------------------------------

/// Normalises a descriptor target for comparison: pipe and socket inode numbers, and the
/// pid in `ls`'s own `/proc/PID/fd`, differ from run to run.
fn normalise(target: &str) -> String {
    match target.split_once(":[") {
        Some((kind, _)) => format!("{kind}:[]"),
        None if target.starts_with("/proc/") && target.ends_with("/fd") => "/proc/PID/fd".into(),
        None => target.to_owned(),
    }
}

/// The program's own descriptors and what `ls -l /proc/self/fd` lists after the exec, both
/// normalised.
fn footprint(o: &Bounded) -> (Vec<String>, Vec<String>) {
    let own = o
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("fd "))
        .map(|l| {
            let (fd, target) = l.split_once(" -> ").expect("fd N -> TARGET");
            format!("{fd} -> {}", normalise(target))
        })
        .collect();
    let mut after_exec: Vec<String> = o
        .stdout
        .lines()
        .filter(|l| l.starts_with('l'))
        .map(|l| {
            let (left, target) = l.split_once(" -> ").expect("ls -l lists links");
            let fd = left.rsplit(' ').next().unwrap_or_default();
            format!("{fd} -> {}", normalise(target))
        })
        .collect();
    after_exec.sort();
    (own, after_exec)
}

/// The preload starts no thread and leaves no descriptor open, in the program and across
/// an exec, with rules from `FAILINJECT` and from a `FAILINJECT_FILE`.
#[test]
fn the_preload_adds_no_thread_and_no_descriptor() {
    let dir = TempDir::new("hz-footprint");
    let exe = compile(&dir, "footprint");
    let rules_file = dir.join("rules");
    std::fs::write(&rules_file, "sys:fsync[path=*/never-matches]=error(EIO)\n").unwrap();

    let plain = bounded(without(dir.path(), &exe, &[]));
    plain.assert_ok();
    let (own, after_exec) = footprint(&plain);
    assert!(own.iter().any(|l| l.starts_with("1 -> pipe:")), "{plain:#?}");
    assert!(after_exec.iter().any(|l| l == "3 -> /proc/PID/fd"), "{plain:#?}");

    let slow = under(dir.path(), SLOW, &exe, &[]);
    let mut from_file = under(dir.path(), &with_slow("sys:write=error(EIO)"), &exe, &[]);
    from_file.env("FAILINJECT_FILE", &rules_file);
    for cmd in [slow, from_file] {
        let o = bounded(cmd);
        o.assert_ok();
        assert_eq!(o.num("tasks"), 1, "the preload started a thread: {o:#?}");
        assert_eq!(footprint(&o), (own.clone(), after_exec.clone()), "{o:#?}\n{plain:#?}");
    }
}

/// The library's threads (the control socket's server and connection threads) block every
/// signal: a process-directed SIGUSR1 and SIGCHLD that the program's one thread blocks stay
/// pending until it unblocks them, and its handlers then run on its own thread. Before the
/// fix, the kernel handed both signals to a thread of ours at once.
#[test]
fn our_threads_never_take_the_programs_signals() {
    let dir = TempDir::new("hz-sigmask");
    let exe = compile(&dir, "sigmask");
    let socket = dir.join("ctl.sock");
    let mut cmd = under(dir.path(), SLOW, &exe, &[path_str(&socket)]);
    cmd.env("FAILINJECT_CTL", &socket);
    let o = bounded(cmd);
    o.assert_ok();
    assert_eq!(o.num("connected"), 1, "no connection thread to test: {o:#?}");
    assert_eq!(o.num("ran_while_blocked"), 0, "a handler ran on a thread of ours: {o:#?}");
    assert_eq!(o.num("usr1_pending"), 1, "SIGUSR1 was taken by a thread of ours: {o:#?}");
    assert_eq!(o.num("chld_pending"), 1, "SIGCHLD was taken by a thread of ours: {o:#?}");
    assert_eq!(o.num("ran_after_unblock"), 2, "{o:#?}");
    assert_eq!(o.num("on_main"), 1, "a handler ran off the main thread: {o:#?}");
}

// ---- 11. small stacks --------------------------------------------------------------------------------

/// Rules whose slow path goes deepest: a `print` (formats a diagnostic), a `short` writev
/// (a local iovec array), a glob and a regex matched by a DFA.
const DEEP: [&str; 2] = [
    "sys:write[path=*/stack.dat]=print(deep);sys:writev[path=*/stack.dat]=short(2);\
     sys:fsync[path=*/stack.dat]=error(EIO);sys:@all[kind=any]=off",
    "sys:writev[path~\"stack[.]dat$\"]=corrupt(flip);sys:write[path=/t?p/*]=error(EIO);\
     sys:@all[kind=any]=off",
];

/// A thread with a 64 KiB stack, and a signal handler on a 32 KiB alternate stack with a
/// guard page, make intercepted calls down the deepest slow paths.
#[test]
fn intercepted_calls_fit_small_stacks() {
    let dir = TempDir::new("hz-stacks");
    let exe = compile(&dir, "stacks");
    let d = path_str(dir.path());
    for rules in DEEP {
        let t = bounded(under(dir.path(), rules, &exe, &["thread", "65536", d]));
        t.assert_ok();
        assert_eq!((t.get("create"), t.get("calls")), ("ok", "ok"), "{t:#?}");
        let s = bounded(under(dir.path(), rules, &exe, &["altstack", "32768", d]));
        s.assert_ok();
        assert_eq!((s.get("handled"), s.get("calls")), ("10", "ok"), "{s:#?}");
    }
}

/// A thread created with PTHREAD_STACK_MIN, which glibc accepts without the preload.
#[test]
fn a_thread_with_the_minimum_stack_can_be_created() {
    let dir = TempDir::new("hz-stack-min");
    let exe = compile(&dir, "stacks");
    let d = path_str(dir.path());
    let plain = bounded(without(dir.path(), &exe, &["thread", "min", d]));
    plain.assert_ok();
    for rules in ["", DEEP[0]] {
        let o = bounded(under(dir.path(), rules, &exe, &["thread", "min", d]));
        assert_eq!(o.get("create"), "ok", "rules {rules:?}: {o:#?}");
        o.assert_ok();
    }
}

/// A signal handler on an alternate stack of the classic SIGSTKSZ, 8 KiB, which fits the
/// same calls without the preload.
#[test]
fn a_handler_on_an_8k_alternate_stack_survives() {
    let dir = TempDir::new("hz-altstack-8k");
    let exe = compile(&dir, "stacks");
    let d = path_str(dir.path());
    let plain = bounded(without(dir.path(), &exe, &["altstack", "8192", d]));
    plain.assert_ok();
    for rules in DEEP {
        let o = bounded(under(dir.path(), rules, &exe, &["altstack", "8192", d]));
        assert_eq!(o.signal, None, "rules {rules:?} crashed the handler: {o:#?}");
        o.assert_ok();
    }
}

// ---- 12. arguments libc rejects -------------------------------------------------------------------

/// Runs the `hostile` fixture with `cases`, without the preload and under each of `rules`,
/// and returns the mismatches (rules, expected lines, what happened).
fn hostile(dir: &TempDir, cases: &[&str], rules: &[&str]) -> Vec<String> {
    let exe = compile(dir, "hostile");
    let mut args = vec![path_str(dir.path())];
    args.extend_from_slice(cases);
    let plain = bounded(without(dir.path(), &exe, &args));
    plain.assert_ok();
    let mut wrong = Vec::new();
    for rules in rules {
        let o = bounded(under(dir.path(), rules, &exe, &args));
        if o.code != Some(0) || o.stdout != plain.stdout {
            wrong.push(format!(
                "with {rules}:\n  libc says:\n{}  under the preload (status {:?}, signal {:?}):\n{}",
                plain.stdout, o.code, o.signal, o.stdout
            ));
        }
    }
    wrong
}

/// Bad descriptors (also beyond the preload's table), empty and overlong paths, a null
/// buffer, too many or a negative count of iovecs: with the slow path taken, the program
/// gets libc's errno.
#[test]
fn rejected_arguments_get_libcs_answer() {
    let dir = TempDir::new("hz-hostile");
    let cases = [
        "write_bad_fd",
        "write_fd_beyond_table",
        "fsync_bad_fd",
        "close_bad_fd",
        "open_empty_path",
        "open_too_long",
        "unlink_too_long",
        "write_null_buffer",
        "writev_too_many",
        "writev_negative_count",
        "write_ok",
    ];
    let wrong = hostile(&dir, &cases, &[SLOW, "sys:write[path=*/h.dat]=print(x);sys:@all=off"]);
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// An iovec array whose lengths add up past 2^64: libc answers EINVAL.
#[test]
fn iovec_lengths_that_overflow_get_einval() {
    let dir = TempDir::new("hz-hostile-iov");
    let wrong = hostile(
        &dir,
        &["writev_lengths_overflow"],
        &[SLOW, "sys:writev[path=*/h.dat]=corrupt(flip)"],
    );
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Pointers the kernel would refuse (an iovec array, a `copy_file_range` offset) are read
/// through the kernel, so the program gets EFAULT as without the preload, also under write
/// tracking (a `powercut` rule makes every write's target be looked at before the call).
#[test]
fn bad_pointers_get_efault_not_a_crash() {
    let dir = TempDir::new("hz-hostile-pointers");
    let cases = ["writev_bad_array", "copy_file_range_bad_offset", "write_ok"];
    let wrong = hostile(
        &dir,
        &cases,
        &[
            SLOW,
            "sys:writev[path=*/h.dat]=corrupt(flip)",
            "sys:fsync[path=*/never]=powercut;sys:@all=off",
        ],
    );
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// `short`, `corrupt` and `full` alter a call that goes ahead; a call libc rejects must
/// still be rejected (EFAULT for a null buffer, EINVAL for a bad iovec count), not crash or
/// succeed.
#[test]
fn data_altering_tasks_keep_libcs_rejections() {
    let dir = TempDir::new("hz-hostile-alter");
    let cases = ["writev_too_many", "writev_negative_count", "write_null_buffer"];
    let wrong = hostile(
        &dir,
        &cases,
        &[
            "sys:writev[path=*/h.dat]=short(1);sys:write[path=*/h.dat]=short(1)",
            "sys:writev[path=*/h.dat]=corrupt(flip);sys:write[path=*/h.dat]=corrupt(flip)",
            "sys:writev[path=*/h.dat]=full(1K);sys:write[path=*/h.dat]=full(1K)",
        ],
    );
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// A write that succeeds leaves errno as it was: to a character device, a file, a pipe, and
/// an fwrite to a memory stream.
#[test]
fn a_successful_call_leaves_errno_alone() {
    let dir = TempDir::new("hz-errno");
    let exe = compile(&dir, "errno");
    let d = path_str(dir.path());
    let plain = bounded(without(dir.path(), &exe, &[d]));
    plain.assert_ok();
    for rules in [SLOW, "sys:write[path=*/never-matches]=error(EIO)"] {
        let o = bounded(under(dir.path(), rules, &exe, &[d]));
        o.assert_ok();
        assert_eq!(o.stdout, plain.stdout, "with {rules}: {o:#?}");
    }
}

// ---- known limits -------------------------------------------------------------------------------

/// What the preload cannot see, shown: a raw `syscall(SYS_write)`, data stored through a
/// shared mapping, and a statically linked program's write all reach the file although a
/// rule fails every `write` to it; the same program's libc write under the same rule fails.
#[test]
fn known_limits_behave_as_documented() {
    let dir = TempDir::new("hz-limits");
    let exe = compile(&dir, "limits");
    let file = dir.join("l.dat");
    let f = path_str(&file);
    let rules = with_slow("sys:write[path=*/l.dat]=error(EIO)");
    for (mode, content) in [("raw", "raw\n"), ("mmap", "map\n")] {
        let o = bounded(under(dir.path(), &rules, &exe, &[mode, f]));
        o.assert_ok();
        assert_eq!(o.get("result"), "ok", "{mode}: {o:#?}");
        assert_eq!(std::fs::read_to_string(&file).unwrap(), content, "{mode}");
    }
    let o = bounded(under(dir.path(), &rules, &exe, &["libc", f]));
    assert_eq!(o.get("result"), "EIO", "{o:#?}");

    // Static linking needs glibc's libc.a (libc6-dev ships it); without it, say so and skip.
    let static_exe = dir.join("limits-static");
    let built = Command::new("cc")
        .args(["-O1", "-static", "-o"])
        .arg(&static_exe)
        .arg(source("limits"))
        .env_remove("LD_PRELOAD")
        .output()
        .is_ok_and(|o| o.status.success());
    if !built {
        eprintln!("skipping the static part: `cc -static` cannot link here");
        return;
    }
    let o = bounded(under(dir.path(), &rules, &static_exe, &["libc", f]));
    o.assert_ok();
    assert_eq!(o.get("result"), "ok", "a static program is out of the preload's reach: {o:#?}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "libc\n");
}
