//! The preload's own footprint and small stacks (HAZARDS §10–11).

use super::*;

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
