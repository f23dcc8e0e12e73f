//! The gallery (docs/GALLERY.md, issue 24): each entry's script under `examples/gallery/`, run
//! as a reader runs it, against the `failinject` just built. Each script checks its own claims
//! and exits non-zero when one does not hold; the test also checks the lines the gallery shows.

use crate::common::*;
use std::path::Path;

/// `bash examples/gallery/NAME.sh`: its status and everything it printed.
fn entry(name: &str) -> (Option<i32>, String) {
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../examples/gallery/{name}.sh"));
    let dir = TempDir::new(&format!("gallery-{name}"));
    let out = output(
        std::process::Command::new("bash")
            .arg(&script)
            .current_dir(dir.path())
            .env("FAILINJECT", env!("CARGO_BIN_EXE_failinject"))
            .env_remove("LD_PRELOAD"),
    );
    (out.status.code(), text(&out.stdout) + &text(&out.stderr))
}

#[test]
fn sqlite_survives_every_crash_state_with_a_journal_and_not_without() {
    assert!(have("sqlite3"), "sqlite3 is needed: apt-get install -y sqlite3 (.ci/run installs it)");
    let (status, said) = entry("sqlite");
    assert_eq!(status, Some(0), "{said}");
    for line in ["== rollback journal", "== WAL", "== no journal", "first rejected state: P"] {
        assert!(said.contains(line), "{line:?} missing: {said}");
    }
    assert!(said.contains("database disk image is malformed"), "{said}");
}

#[test]
fn lmdb_keeps_every_acknowledged_commit_unless_mdb_nosync() {
    let lmdb = std::process::Command::new("/usr/bin/python3").args(["-c", "import lmdb"]).output();
    assert!(
        lmdb.is_ok_and(|o| o.status.success()),
        "python3-lmdb is needed: apt-get install -y python3-lmdb (.ci/run installs it)"
    );
    let (status, said) = entry("lmdb");
    assert_eq!(status, Some(0), "{said}");
    assert_eq!(said.matches(", 0 rejected").count(), 2, "both synced modes: {said}");
    assert!(said.contains("acknowledged transactions lost:"), "{said}");
}

#[test]
fn fio_engines_are_reached_or_named() {
    assert!(have("fio"), "fio is needed: apt-get install -y fio (.ci/run installs it)");
    let (status, said) = entry("fio");
    assert_eq!(status, Some(0), "{said}");
    assert!(said.contains("== psync: injected 1"), "{said}");
    for why in ["Linux AIO (io_submit)", "through io_uring", "shared and writable (mmap)"] {
        assert!(said.contains(why), "{why:?} missing: {said}");
    }
}

#[test]
fn redis_acknowledges_nothing_it_can_lose_with_always_and_loses_up_to_a_second_with_everysec() {
    assert!(
        have("redis-server"),
        "redis-server is needed: apt-get install -y redis-server (.ci/run installs it)"
    );
    let (status, said) = entry("redis");
    assert_eq!(status, Some(0), "{said}");
    for line in [
        "Can't persist AOF for fsync error",
        "every acknowledged write is there",
        "refused: MISCONF Errors writing to the AOF file",
        "states lose acknowledged writes",
        "redis-check-aof: AOF appendonly.aof.1.incr.aof is not valid",
    ] {
        assert!(said.contains(line), "{line:?} missing: {said}");
    }
    // appendfsync always: no crash state loses an acknowledged write.
    let always = said.split("== appendfsync always, every crash state ==").nth(1).unwrap();
    assert!(always.lines().nth(1).is_some_and(|l| l.ends_with(", 0 rejected")), "{said}");
}

#[test]
fn postgres_panics_on_a_failed_fsync_loses_rows_to_fsyncgate_and_recovers_from_a_full_wal() {
    let pg = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .any(|e| e.path().join("bin/postgres").is_file());
    assert!(pg, "PostgreSQL is needed: apt-get install -y postgresql (.ci/run installs it)");
    let (status, said) = entry("postgres");
    assert_eq!(status, Some(0), "{said}");
    for line in [
        "PANIC:  could not fsync file",
        "was terminated by signal 6: Aborted",
        "after recovery: 2000 of 2000 committed rows",
        "one postmaster throughout",
        "second checkpoint: succeeded, over the lost pages",
        "of the 1000 rows committed after the failed fsync are lost",
        "No space left on device",
        "with room again: 1000 rows",
    ] {
        assert!(said.contains(line), "{line:?} missing: {said}");
    }
}
