//! Re-entrancy, the descriptor table, and many threads (HAZARDS §8–9).

use super::*;

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
