//! Signal handlers, `fork` under threads, and thread and process exit (HAZARDS §1–3).

use super::*;

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
