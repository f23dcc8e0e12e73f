//! Arguments libc rejects, errno, and the known limits of an interposer (HAZARDS §12 on).

use super::*;

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

    // Static linking needs glibc's libc.a, which libc6-dev ships (and .ci/run installs).
    let static_exe = dir.join("limits-static");
    let built = Command::new("cc")
        .args(["-O1", "-static", "-o"])
        .arg(&static_exe)
        .arg(source("limits"))
        .env_remove("LD_PRELOAD")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(built, "`cc -static` cannot link here: apt-get install -y libc6-dev (for libc.a)");
    let o = bounded(under(dir.path(), &rules, &static_exe, &["libc", f]));
    o.assert_ok();
    assert_eq!(o.get("result"), "ok", "a static program is out of the preload's reach: {o:#?}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "libc\n");
}
