//! Real applications under `libfailinject.so`: python3, sqlite3 and git. Each test checks the
//! program's own message and exit status, then looks at what survived on disk **without** the
//! preload (sqlite's `PRAGMA integrity_check`, `git fsck`).

use std::path::Path;
use std::process::Command;

use failinject_tests::{Done, Run, TempDir, have};

/// Fails the test when `program` is missing: the suite never skips silently.
fn need(program: &str) {
    assert!(have(program), "`{program}` is not on PATH: .ci/run installs it (apt-get install)");
}

/// Runs `program` without the preload, in `dir`; returns its stdout, asserting success.
fn plain(dir: &Path, program: &str, args: &[&str], env: &[(&str, &str)]) -> String {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .env_remove("LD_PRELOAD")
        .env_remove("FAILINJECT")
        .env("LC_ALL", "C")
        .envs(env.iter().copied())
        .output()
        .expect("run the command without the preload");
    assert!(
        out.status.success(),
        "{program} {args:?} failed without the preload: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

// ---- python3 --------------------------------------------------------------------------------

/// Runs the Python program `code` under the preload with `rules`.
fn python(dir: &TempDir, rules: &str, code: &str) -> Done {
    need("python3");
    Run::new(dir.path(), rules, "python3", &["-c", code])
        .env("LC_ALL", "C")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .run()
}

/// The last line of a Python traceback.
fn last_line(text: &str) -> &str {
    text.lines().last().unwrap_or_default()
}

#[test]
fn python_os_write_enospc_raises_oserror_28() {
    let dir = TempDir::new("py-write");
    let done = python(
        &dir,
        "sys:write[path=*/out]=error(ENOSPC)",
        "import os\nfd = os.open('out', os.O_WRONLY | os.O_CREAT)\nos.write(fd, b'data')",
    );
    assert_eq!(done.code, Some(1), "{done:?}");
    assert!(done.stderr.starts_with("Traceback (most recent call last):"), "{done:?}");
    assert_eq!(last_line(&done.stderr), "OSError: [Errno 28] No space left on device");
    assert_eq!(std::fs::read(dir.join("out")).unwrap(), b"", "nothing was written");
}

#[test]
fn python_os_fsync_eio_raises_oserror_5() {
    let dir = TempDir::new("py-fsync");
    let done = python(
        &dir,
        "sys:fsync[path=*/out]=error(EIO)",
        "import os\nfd = os.open('out', os.O_WRONLY | os.O_CREAT)\nos.write(fd, b'data')\n\
         os.fsync(fd)\nprint('unreachable')",
    );
    assert_eq!(done.code, Some(1), "{done:?}");
    assert_eq!(done.stdout, "");
    assert_eq!(last_line(&done.stderr), "OSError: [Errno 5] Input/output error");
    // The write itself went through: only the sync failed.
    assert_eq!(std::fs::read(dir.join("out")).unwrap(), b"data");
}

#[test]
fn python_os_replace_eio_leaves_both_files_as_they_were() {
    let dir = TempDir::new("py-replace");
    std::fs::write(dir.join("new"), b"new\n").unwrap();
    std::fs::write(dir.join("cur"), b"current\n").unwrap();
    let done =
        python(&dir, "sys:rename[path=*/cur]=error(EIO)", "import os\nos.replace('new', 'cur')");
    assert_eq!(done.code, Some(1), "{done:?}");
    assert_eq!(last_line(&done.stderr), "OSError: [Errno 5] Input/output error: 'new' -> 'cur'");
    assert_eq!(std::fs::read(dir.join("new")).unwrap(), b"new\n");
    assert_eq!(std::fs::read(dir.join("cur")).unwrap(), b"current\n");
}

#[test]
fn python_shutil_copyfile_reports_sendfile_enospc_and_eio() {
    let dir = TempDir::new("py-copyfile");
    let content: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(dir.join("src"), &content).unwrap();
    let copy = "import shutil\nshutil.copyfile('src', 'dst')\nprint('copied')";

    let full = python(&dir, "sys:sendfile[path=*/dst]=error(ENOSPC)", copy);
    assert_eq!(full.code, Some(1), "{full:?}");
    assert!(full.stderr.contains("_fastcopy_sendfile"), "through sendfile: {full:?}");
    assert_eq!(
        last_line(&full.stderr),
        "OSError: [Errno 28] No space left on device: 'src' -> 'dst'"
    );
    assert_eq!(std::fs::read(dir.join("dst")).unwrap(), b"");

    // EIO after 1000 bytes were sent: Python can no longer fall back, and raises.
    let mid = python(&dir, "sys:sendfile[path=*/dst]=1*short(1000)->error(EIO)", copy);
    assert_eq!(mid.code, Some(1), "{mid:?}");
    assert_eq!(last_line(&mid.stderr), "OSError: [Errno 5] Input/output error: 'src' -> 'dst'");
    assert_eq!(std::fs::read(dir.join("dst")).unwrap(), &content[..1000]);

    // EIO on the very first sendfile: Python gives up on sendfile and copies with read/write,
    // which the rule does not touch, so the copy succeeds.
    let first = python(&dir, "sys:sendfile[path=*/dst]=error(EIO)", copy);
    assert_eq!(first.code, Some(0), "{first:?}");
    assert_eq!(first.stdout, "copied\n");
    assert_eq!(std::fs::read(dir.join("dst")).unwrap(), content);
}

// ---- sqlite3 --------------------------------------------------------------------------------

/// A database `t.db` with rows 1, 2, 3 in table `t`, made without the preload.
fn sqlite_db(dir: &TempDir) {
    need("sqlite3");
    plain(
        dir.path(),
        "sqlite3",
        &[
            "t.db",
            "create table t(x integer primary key, y); insert into t(x) values (1), (2), (3);",
        ],
        &[],
    );
}

/// Without the preload: asserts `PRAGMA integrity_check` is ok and returns the rows' keys.
fn sqlite_rows(dir: &TempDir) -> Vec<u32> {
    let check = plain(dir.path(), "sqlite3", &["t.db", "pragma integrity_check;"], &[]);
    assert_eq!(check, "ok\n", "the database is intact");
    let rows = plain(dir.path(), "sqlite3", &["t.db", "select x from t order by x;"], &[]);
    rows.lines().map(|l| l.parse().expect("a key")).collect()
}

/// Runs ten transactions under `rule` (an ENOSPC that starts mid-way), each followed by a
/// line saying it committed; `-bail` stops at the error. sqlite3 must say the disk is full,
/// and afterwards exactly the rows it reported committed are in the database.
fn ten_transactions_hit_a_full_disk(dir: &TempDir, rule: &str) {
    let script: String = (11..=20)
        .map(|i| format!("insert into t values ({i}, randomblob(3000)); select 'committed {i}';"))
        .collect();
    let done =
        Run::new(dir.path(), rule, "sqlite3", &["-bail", "t.db", &script]).env("LC_ALL", "C").run();
    assert_ne!(done.code, Some(0), "{done:?}");
    assert!(done.stderr.contains("database or disk is full"), "{done:?}");
    let committed: Vec<u32> = done
        .stdout
        .lines()
        .map(|l| l.strip_prefix("committed ").expect("a commit line").parse().unwrap())
        .collect();
    assert!(!committed.is_empty() && committed.len() < 10, "the fault hit mid-way: {done:?}");
    let mut expected = vec![1, 2, 3];
    expected.extend(&committed);
    assert_eq!(sqlite_rows(dir), expected, "exactly the committed rows are there");
}

#[test]
fn sqlite_pwrite_enospc_says_disk_full_and_keeps_every_committed_row() {
    let dir = TempDir::new("sqlite-enospc");
    sqlite_db(&dir);
    ten_transactions_hit_a_full_disk(&dir, "sys:pwrite[path=*.db,when=8+]=error(ENOSPC)");
}

#[test]
fn sqlite_wal_enospc_says_disk_full_and_keeps_every_committed_row() {
    let dir = TempDir::new("sqlite-wal");
    sqlite_db(&dir);
    plain(dir.path(), "sqlite3", &["t.db", "pragma journal_mode=wal;"], &[]);
    ten_transactions_hit_a_full_disk(&dir, "sys:pwrite[path=*.db-wal,when=6+]=error(ENOSPC)");
}

#[test]
fn sqlite_fdatasync_eio_is_an_error_and_the_transaction_is_rolled_back() {
    let dir = TempDir::new("sqlite-eio");
    sqlite_db(&dir);
    let done = Run::new(
        dir.path(),
        "sys:fdatasync[path=*.db]=error(EIO)",
        "sqlite3",
        &["t.db", "insert into t(x) values (4);"],
    )
    .env("LC_ALL", "C")
    .run();
    assert_ne!(done.code, Some(0), "{done:?}");
    assert!(done.stderr.contains("disk I/O error"), "{done:?}");
    // The commit did not complete: the hot journal rolls it back when the database is opened.
    assert_eq!(sqlite_rows(&dir), [1, 2, 3]);
}

// ---- git ------------------------------------------------------------------------------------

const GIT_ENV: [(&str, &str); 6] = [
    ("GIT_AUTHOR_NAME", "A U Thor"),
    ("GIT_AUTHOR_EMAIL", "author@example.com"),
    ("GIT_COMMITTER_NAME", "C O Mitter"),
    ("GIT_COMMITTER_EMAIL", "committer@example.com"),
    ("GIT_CONFIG_NOSYSTEM", "1"),
    ("GIT_TERMINAL_PROMPT", "0"),
];

/// A repository in `dir/repo` on branch `main`, with one commit of `f`, and `f` then changed
/// in the work tree; `HOME` is `dir/home`. Returns the repository's path.
fn git_repo(dir: &TempDir) -> std::path::PathBuf {
    need("git");
    let home = dir.join("home");
    std::fs::create_dir(&home).unwrap();
    let mut env: Vec<(&str, &str)> = GIT_ENV.to_vec();
    env.push(("HOME", home.to_str().unwrap()));
    plain(dir.path(), "git", &["-c", "init.defaultBranch=main", "init", "-q", "repo"], &env);
    let repo = dir.join("repo");
    std::fs::write(repo.join("f"), b"one\n").unwrap();
    plain(&repo, "git", &["add", "f"], &env);
    plain(&repo, "git", &["commit", "-q", "-m", "one"], &env);
    std::fs::write(repo.join("f"), b"one\ntwo\n").unwrap();
    repo
}

/// Runs git with `args` in `repo` under the preload.
fn git(dir: &TempDir, repo: &Path, rules: &str, args: &[&str]) -> Done {
    let mut run =
        Run::new(repo, rules, "git", args).env("LC_ALL", "C").env("HOME", dir.join("home"));
    for (key, value) in GIT_ENV {
        run = run.env(key, value);
    }
    run.run()
}

/// Without the preload: asserts `git fsck` is clean and returns `HEAD`'s commit and the
/// staged diff's file names.
fn git_state(dir: &TempDir, repo: &Path) -> (String, String) {
    let home = dir.join("home");
    let mut env: Vec<(&str, &str)> = GIT_ENV.to_vec();
    env.push(("HOME", home.to_str().unwrap()));
    plain(repo, "git", &["fsck", "--strict", "--no-progress"], &env);
    let head = plain(repo, "git", &["rev-parse", "HEAD"], &env);
    let staged = plain(repo, "git", &["diff", "--cached", "--name-only"], &env);
    (head, staged)
}

#[test]
fn git_commit_with_core_fsync_fails_on_fsync_eio_and_the_repo_stays_consistent() {
    let dir = TempDir::new("git-fsync");
    let repo = git_repo(&dir);
    let (before, _) = git_state(&dir, &repo);
    let done = git(
        &dir,
        &repo,
        "sys:fsync=error(EIO)",
        &["-c", "core.fsync=committed", "commit", "-q", "-a", "-m", "two"],
    );
    assert_eq!(done.code, Some(128), "{done:?}");
    assert!(done.stderr.starts_with("fatal: fsync error on '.git/objects/"), "{done:?}");
    assert!(done.stderr.ends_with("': Input/output error\n"), "{done:?}");
    let (after, _) = git_state(&dir, &repo);
    assert_eq!(after, before, "no commit was made");

    // Without the rule the same commit goes through.
    let fine =
        git(&dir, &repo, "", &["-c", "core.fsync=committed", "commit", "-q", "-a", "-m", "two"]);
    assert_eq!(fine.code, Some(0), "{fine:?}");
    assert_ne!(git_state(&dir, &repo).0, before);
}

#[test]
fn git_add_fails_when_the_index_lock_cannot_be_renamed() {
    let dir = TempDir::new("git-index");
    let repo = git_repo(&dir);
    let done = git(&dir, &repo, "sys:rename[path=*/index.lock]=error(EIO)", &["add", "f"]);
    assert_eq!(done.code, Some(128), "{done:?}");
    assert_eq!(done.stderr, "fatal: unable to write new index file\n");
    assert!(!repo.join(".git/index.lock").exists(), "git removed its lock file");
    let (_, staged) = git_state(&dir, &repo);
    assert_eq!(staged, "", "nothing was staged");
}

#[test]
fn git_commit_fails_when_the_branch_ref_cannot_be_renamed() {
    let dir = TempDir::new("git-ref");
    let repo = git_repo(&dir);
    let (before, _) = git_state(&dir, &repo);
    let done = git(
        &dir,
        &repo,
        "sys:rename[path=*/refs/heads/main.lock]=error(EIO)",
        &["commit", "-q", "-a", "-m", "two"],
    );
    assert_eq!(done.code, Some(128), "{done:?}");
    assert_eq!(done.stderr, "fatal: couldn't set 'refs/heads/main'\n");
    assert!(!repo.join(".git/refs/heads/main.lock").exists(), "git removed its lock file");
    let (after, _) = git_state(&dir, &repo);
    assert_eq!(after, before, "the branch still points at the first commit");
}
