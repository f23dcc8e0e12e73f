//! Power cuts and lost writes (`powercut`, `powercut(dirs)`, `lose(E)`; `docs/CRASH.md`), end
//! to end under the real `libfailinject.so`.
//!
//! The C fixture `tests/fixtures/crash/crash.c` does its work in one of several modes, then
//! calls `access("checkpoint")`, where [`CUT`] puts the power cut; the tests then read the
//! files it left. `sqlite3` runs with cuts at its own writes and syncs, and must come back
//! intact. Every run is bounded by [`LIMIT`].

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use failinject_tests::{Done, Run, TempDir, compile_c, have, workspace};

/// The longest any run may take before it is killed and the test fails.
const LIMIT: Duration = Duration::from_secs(30);
/// The power cut at the fixtures' checkpoint.
const CUT: &str = "sys:access[path=*checkpoint]=powercut";
/// The same, with the directory-entry model.
const CUT_DIRS: &str = "sys:access[path=*checkpoint]=powercut(dirs)";

const CRASH_RS: &str = env!("CARGO_BIN_EXE_crash_rs");

/// The fixture, compiled once per test into `dir`.
fn fixture(dir: &TempDir) -> PathBuf {
    let include = format!("-I{}", workspace().join("preload/include").display());
    compile_c(
        &workspace().join("tests/fixtures/crash/crash.c"),
        &dir.join("crash"),
        &["-O1", "-pthread", "-Wall", "-Wextra", "-Werror", &include, "-ldl"],
    )
}

/// Runs `program args…` in `dir` under the preload with `rules`, killed after [`LIMIT`].
fn run(dir: &Path, rules: &str, program: &Path, args: &[&str]) -> Done {
    Run::new(dir, rules, program, args).bounded(LIMIT)
}

/// Asserts that the run ended in the power cut: SIGKILL, before the end of the program.
fn cut(done: &Done) {
    assert_eq!(done.signal, Some(libc_sigkill()), "not killed by the power cut: {done:?}");
    assert!(!done.stdout.contains("survived"), "{done:?}");
}

/// Asserts that the run ended normally.
fn survived(done: &Done) {
    assert_eq!(done.code, Some(0), "{done:?}");
}

fn libc_sigkill() -> i32 {
    9
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

// ---- write-tmp-then-rename ------------------------------------------------------------------

#[test]
fn a_save_by_rename_without_fsync_is_lost_and_with_fsync_survives() {
    let dir = TempDir::new("crash-save");
    let exe = fixture(&dir);
    let d = dir.path().to_string_lossy().into_owned();
    let state = dir.join("state");

    // No fsync before the rename: the renamed file was created by the program and never
    // synced, so it comes back empty (the ext4 zero-length-file outcome).
    std::fs::write(&state, "old state\n").unwrap();
    cut(&run(dir.path(), CUT, &exe, &["save", &d, "state", "new state\n", "nosync"]));
    assert_eq!(read(&state), "", "unsynced data survived the power cut");

    // fsync before the rename: the data survives (the rename is durable by default).
    std::fs::write(&state, "old state\n").unwrap();
    cut(&run(dir.path(), CUT, &exe, &["save", &d, "state", "new state\n", "sync"]));
    assert_eq!(read(&state), "new state\n");

    // Without a power cut nothing is rolled back.
    survived(&run(dir.path(), "", &exe, &["save", &d, "state", "third\n", "nosync"]));
    assert_eq!(read(&state), "third\n");
}

#[test]
fn powercut_dirs_undoes_a_rename_until_the_directory_is_synced() {
    let dir = TempDir::new("crash-dirs");
    let exe = fixture(&dir);
    let d = dir.path().to_string_lossy().into_owned();
    let state = dir.join("state");

    // The file is synced but its directory is not: under the directory-entry model the
    // rename is undone (the old file is back) and the temporary file, whose creation was not
    // durable either, is gone.
    std::fs::write(&state, "old state\n").unwrap();
    cut(&run(dir.path(), CUT_DIRS, &exe, &["save", &d, "state", "new state\n", "sync"]));
    assert_eq!(read(&state), "old state\n");
    assert!(!dir.join("state.tmp").exists());

    // fsync of the directory after the rename makes it durable.
    cut(&run(dir.path(), CUT_DIRS, &exe, &["save", &d, "state", "new state\n", "dirsync"]));
    assert_eq!(read(&state), "new state\n");
    assert!(!dir.join("state.tmp").exists());

    // An unlink not made durable is undone (the file comes back with its contents); a file
    // created, synced, in a directory never synced, disappears.
    std::fs::write(dir.join("keep"), "precious\n").unwrap();
    cut(&run(dir.path(), CUT_DIRS, &exe, &["unlink", &d]));
    assert_eq!(read(&dir.join("keep")), "precious\n");
    assert!(!dir.join("made").exists());
    // Under plain `powercut` both are durable when they return.
    cut(&run(dir.path(), CUT, &exe, &["unlink", &d]));
    assert!(!dir.join("keep").exists());
    assert_eq!(read(&dir.join("made")), "made\n");
}

// ---- lose(E) --------------------------------------------------------------------------------

#[test]
fn lose_fails_the_fsync_and_a_retried_fsync_succeeds_over_the_old_content() {
    let dir = TempDir::new("crash-lose");
    let exe = fixture(&dir);
    let file = dir.join("data");
    std::fs::write(&file, "old content\n").unwrap();
    let f = file.to_string_lossy().into_owned();
    let done = run(dir.path(), "sys:fsync[path=*/data,when=1]=lose(EIO)", &exe, &["lose", &f]);
    survived(&done);
    // The first fsync failed with EIO; the retry succeeded; the unsynced overwrite is gone,
    // in the program's own view and on disk.
    assert_eq!(done.stdout, "first=-1 errno=EIO second=0 now=old content\n");
    assert_eq!(read(&file), "old content\n");

    // Without the rule the overwrite is synced.
    std::fs::write(&file, "old content\n").unwrap();
    let done = run(dir.path(), "sys:fsync[path=*/other]=lose(EIO)", &exe, &["lose", &f]);
    assert_eq!(done.stdout, "first=0 errno=- second=0 now=NEW CONTENT, LONGER THAN THE OLD\n");
}

// ---- what survives ----------------------------------------------------------------------

#[test]
fn fdatasynced_data_survives_and_later_writes_do_not() {
    let dir = TempDir::new("crash-datasync");
    let exe = fixture(&dir);
    let file = dir.join("data");
    cut(&run(dir.path(), CUT, &exe, &["datasync", &file.to_string_lossy()]));
    // The tail appended and the overwrite of synced bytes are both rolled back.
    assert_eq!(read(&file), "synced part\n");
}

#[test]
fn every_kind_of_unsynced_change_is_rolled_back() {
    let dir = TempDir::new("crash-mix");
    let exe = fixture(&dir);
    let file = dir.join("data");
    let original: Vec<u8> = (0..4096u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(&file, &original).unwrap();
    std::fs::write(dir.join("src"), [b'S'; 300]).unwrap();
    let (f, s) =
        (file.to_string_lossy().into_owned(), dir.join("src").to_string_lossy().into_owned());
    cut(&run(dir.path(), CUT, &exe, &["mix", &f, &s]));
    // writev, pwrite, pwritev, ftruncate down and up, a punched hole, copy_file_range,
    // sendfile, an O_APPEND write and truncate(path): all undone, byte for byte.
    assert!(std::fs::read(&file).unwrap() == original, "the file was not restored exactly");

    // The same program without a power cut does change the file (the test can fail).
    survived(&run(dir.path(), "", &exe, &["mix", &f, &s]));
    assert!(std::fs::read(&file).unwrap() != original);
}

#[test]
fn stdio_writes_are_rolled_back_unless_synced() {
    let dir = TempDir::new("crash-stdio");
    let exe = fixture(&dir);
    let file = dir.join("data");
    let f = file.to_string_lossy().into_owned();
    // fopen("w") truncates an existing file; fprintf/fputs/fclose write it from inside glibc.
    std::fs::write(&file, "old\nline\n").unwrap();
    cut(&run(dir.path(), CUT, &exe, &["stdio", &f, "nosync"]));
    assert_eq!(read(&file), "old\nline\n");
    cut(&run(dir.path(), CUT, &exe, &["stdio", &f, "sync"]));
    assert_eq!(read(&file), "new line 0\nnew line 1\nnew line 2\nlast\n");
    // An "r+" stream overwrites in place and appends.
    std::fs::write(&file, "old\nline\n").unwrap();
    cut(&run(dir.path(), CUT, &exe, &["stdio", &f, "rplus"]));
    assert_eq!(read(&file), "old\nline\n");
}

#[test]
fn many_threads_writing_many_files_through_the_cut_leave_exactly_what_they_synced() {
    let dir = TempDir::new("crash-threads");
    let exe = fixture(&dir);
    let d = dir.path().to_string_lossy().into_owned();
    for round in 0..3 {
        // 8 threads, 2 files each; every thread syncs its files after 50 records of 64 bytes,
        // then keeps overwriting them and appending while the main thread cuts the power.
        cut(&run(dir.path(), CUT, &exe, &["threads", &d, "8"]));
        for t in 0..8 {
            for f in ['a', 'b'] {
                let data = read(&dir.join(&format!("t{t}{f}")));
                let want: String = (0..50)
                    .map(|k| {
                        let head = format!("thread {t} file {f} record {k} ");
                        format!("{head}{}\n", ".".repeat(63 - head.len()))
                    })
                    .collect();
                assert!(
                    data == want,
                    "round {round}, t{t}{f}: {} bytes, not the synced 50 records",
                    data.len()
                );
            }
        }
    }
}

// ---- in-code points ---------------------------------------------------------------------

#[test]
fn an_in_code_powercut_rolls_back_in_c_and_in_rust() {
    let dir = TempDir::new("crash-point");
    let exe = fixture(&dir);
    let file = dir.join("c.dat");
    cut(&run(dir.path(), "after_commit=powercut", &exe, &["point", &file.to_string_lossy()]));
    assert_eq!(read(&file), "committed\n");

    let file = dir.join("rs.dat");
    let rs = Path::new(CRASH_RS);
    cut(&run(dir.path(), "app::after_commit=powercut", rs, &[&*file.to_string_lossy()]));
    assert_eq!(read(&file), "committed\n");
    // Another point's rule: the program runs to its end and keeps everything.
    survived(&run(dir.path(), "app::other=powercut", rs, &[&*file.to_string_lossy()]));
    assert_eq!(read(&file), "committed\npending\n");

    // Without the preload nothing was tracked: the process is only killed, says so, and its
    // files stay as they are.
    let out = Command::new(rs)
        .arg(&file)
        .env_remove("LD_PRELOAD")
        .env("FAILINJECT", "app::after_commit=powercut")
        .output()
        .expect("run crash_rs");
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(out.status.signal(), Some(9));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no write is rolled back"));
    assert_eq!(read(&file), "committed\npending\n");
}

// ---- sqlite3 ----------------------------------------------------------------------------

/// Runs `sql` with the `sqlite3` shell on `db` without the preload; its output.
fn sqlite(dir: &Path, db: &str, sql: &str) -> String {
    let out = Command::new("sqlite3")
        .arg(db)
        .arg(sql)
        .current_dir(dir)
        .env_remove("LD_PRELOAD")
        .output()
        .expect("run sqlite3");
    assert!(out.status.success(), "sqlite3 {sql}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn sqlite_survives_power_cuts_at_its_writes_and_syncs() {
    assert!(have("sqlite3"), "sqlite3 is needed: apt-get install -y sqlite3 (.ci/run installs it)");
    assert!(have("stdbuf"), "stdbuf is needed: apt-get install -y coreutils (.ci/run installs it)");
    let dir = TempDir::new("crash-sqlite");
    // 30 transactions, each printing `committed N` (unbuffered, through stdbuf) once its
    // COMMIT returned.
    let mut sql = String::new();
    for i in 1..=30 {
        sql.push_str(&format!(
            "insert into t values({i}, hex(randomblob(700))); select 'committed ' || {i};"
        ));
    }
    let mut cuts = 0;
    for rule in [
        "sys:fdatasync[path=*/t.db,when=2]=powercut",
        "sys:fdatasync[path=*/t.db-journal,when=7]=powercut",
        "sys:pwrite[path=*/t.db,when=9]=powercut",
        "sys:pwrite[path=*/t.db-journal,when=13]=powercut",
        "sys:fdatasync[when=20]=powercut(dirs)",
        "sys:pwrite[when=40]=powercut(dirs)",
        "sys:unlink[path=*/t.db-journal,when=5]=powercut(dirs)",
        "sys:fdatasync[path=*/t.db,when=3]=lose(EIO)",
    ] {
        for f in ["t.db", "t.db-journal"] {
            let _ = std::fs::remove_file(dir.join(f));
        }
        sqlite(
            dir.path(),
            "t.db",
            "create table t(k integer primary key, v text); insert into t values(0, 'x');",
        );
        let stdbuf = Path::new("stdbuf");
        let done = run(dir.path(), rule, stdbuf, &["-o0", "sqlite3", "t.db", &sql]);
        let committed = done.stdout.lines().filter(|l| l.starts_with("committed")).count();
        if done.signal == Some(9) {
            cuts += 1;
        }
        let check =
            sqlite(dir.path(), "t.db", "pragma integrity_check; select count(*), max(k) from t;");
        let mut lines = check.lines();
        assert_eq!(lines.next(), Some("ok"), "{rule}: {check}");
        let (count, max) = lines.next().and_then(|l| l.split_once('|')).expect("count|max");
        let (count, max): (usize, usize) = (count.parse().unwrap(), max.parse().unwrap());
        // The rows are a prefix of the inserts: every transaction whose COMMIT returned is
        // there (they were synced), and at most the one under way besides.
        assert_eq!(count, max + 1, "{rule}: rows are not a prefix: {check}");
        assert!(
            max >= committed && max <= committed + 1,
            "{rule}: {committed} commits returned, {max} survived; {done:?}"
        );
    }
    assert!(cuts >= 7, "only {cuts} of the runs met their power cut");
}

// ---- zero cost --------------------------------------------------------------------------

#[test]
fn tracking_is_off_without_a_powercut_or_lose_rule() {
    let dir = TempDir::new("crash-off");
    let exe = fixture(&dir);
    let f = dir.join("x").to_string_lossy().into_owned();
    // A tracked file is held open by the preload (at a high number); with only other rules,
    // even on the same points, nothing is tracked and no descriptor is added.
    let done = run(
        dir.path(),
        "sys:fsync[path=*/never]=error(EIO);sys:write[path=*/never]=short",
        &exe,
        &["fds", &f],
    );
    assert_eq!(done.stdout, "descriptors=1\n");
    let done = run(dir.path(), "sys:fsync[path=*/never]=lose(EIO)", &exe, &["fds", &f]);
    assert_eq!(done.stdout, "descriptors=2\n");
}

#[test]
fn a_rule_added_later_tracks_from_that_moment() {
    let dir = TempDir::new("crash-later");
    let exe = fixture(&dir);
    let file = dir.join("data");
    // The program sets the powercut rule itself (failinject_cfg, as the control socket would):
    // what it wrote before counts as synced, what it wrote after is rolled back.
    cut(&run(dir.path(), "", &exe, &["later", &file.to_string_lossy()]));
    assert_eq!(read(&file), "before the rule\n");
}

// ---- every role that changes files, from the table --------------------------------------

/// A directory's entries: name → what it is (file contents, a symbolic link's target, or a
/// directory with its own entries).
fn tree(dir: &Path) -> std::collections::BTreeMap<String, String> {
    let mut out = std::collections::BTreeMap::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let name = e.file_name().to_string_lossy().into_owned();
        let ty = e.file_type().unwrap();
        let what = if ty.is_symlink() {
            format!("link to {}", std::fs::read_link(e.path()).unwrap().display())
        } else if ty.is_dir() {
            format!("dir {:?}", tree(&e.path()))
        } else {
            let bytes = std::fs::read(e.path()).unwrap();
            format!("{} bytes, {:x}", bytes.len(), failinject_engine::name_hash(&bytes))
        };
        out.insert(name, what);
    }
    out
}

/// The table says which points change files (their roles, `Roles::CHANGES`); the fixture
/// `every.c` calls each of them, and a power cut with the directory model must undo every
/// change it made after its syncs. A point given such a role and not called here, or not
/// undone, fails this test.
#[test]
fn every_point_whose_role_changes_files_is_undone_by_a_power_cut() {
    use failinject_engine::Roles;
    use failinject_engine::points::POINTS;

    let dir = TempDir::new("crash-every");
    let include = format!("-I{}", workspace().join("preload/include").display());
    let exe = compile_c(
        &workspace().join("tests/fixtures/crash/every.c"),
        &dir.join("every"),
        &["-O0", "-Wall", "-Wextra", "-Werror", &include],
    );
    let work = dir.join("work");
    let make = || {
        let _ = std::fs::remove_dir_all(&work);
        std::fs::create_dir(&work).unwrap();
        let data: Vec<u8> = (0..4096u32).map(|i| (i * 7 % 251) as u8).collect();
        std::fs::write(work.join("data"), data).unwrap();
        std::fs::write(work.join("src"), [b'S'; 300]).unwrap();
        for name in ["old1", "old2", "old3", "gone1", "gone2", "gone3"] {
            std::fs::write(work.join(name), format!("{name}\n")).unwrap();
        }
        std::fs::create_dir(work.join("emptydir")).unwrap();
        tree(&work)
    };

    // Without a power cut: every point of the roles is called (the log shows them; `kind=file`
    // takes in the writes to standard output, reopened on a file), and the directory does
    // change (the test can fail).
    let before = make();
    let log = dir.join("every.log");
    let trace = "sys:@write[kind=file]=print;sys:@open|@sync|@close|@meta|@dir|@mmap=print";
    let done =
        Run::new(&work, trace, &exe, &[] as &[&str]).env("FAILINJECT_LOG", &log).bounded(LIMIT);
    assert_eq!(done.code, Some(0), "{done:?}");
    let called: std::collections::BTreeSet<String> = failinject_tests::log_records(&log)
        .iter()
        .filter_map(|r| r["point"].as_str().map(str::to_string))
        .collect();
    let roles: Vec<&str> =
        POINTS.iter().filter(|p| p.roles.meets(Roles::CHANGES)).map(|p| p.name).collect();
    assert!(roles.len() >= 40, "the table lost its roles: {roles:?}");
    let missing: Vec<&&str> =
        roles.iter().filter(|p| !called.contains(&format!("sys:{p}"))).collect();
    assert!(missing.is_empty(), "every.c does not call {missing:?}");
    assert_ne!(tree(&work), before, "the program changed nothing");

    // With the power cut: exactly the state the test made, plus the four files the program
    // made durable with each kind of sync.
    let mut want = make();
    let done = run(&work, CUT_DIRS, &exe, &[]);
    cut(&done);
    for (name, text) in [
        ("kept_sync", "sync\n"),
        ("kept_syncfs", "syncfs\n"),
        ("kept_fdatasync", "fdatasync\n"),
        ("kept_range", "sync_file_range\n"),
    ] {
        let bytes = text.as_bytes();
        want.insert(
            name.into(),
            format!("{} bytes, {:x}", bytes.len(), failinject_engine::name_hash(bytes)),
        );
    }
    let got = tree(&work);
    let wrong: Vec<_> = want
        .keys()
        .chain(got.keys())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .filter(|k| want.get(*k) != got.get(*k))
        .map(|k| format!("{k}: want {:?}, got {:?}", want.get(k), got.get(k)))
        .collect();
    assert!(wrong.is_empty(), "not undone:\n{}", wrong.join("\n"));
}
