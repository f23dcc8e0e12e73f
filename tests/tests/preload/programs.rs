//! Real, unmodified programs under `libfailinject.so`: coreutils (`cp`, `cat`, `dd`, `tee`,
//! `mv`, `mkdir`), `tar` and `gzip`, and how rules reach them (`FAILINJECT_FILE`,
//! `FAILPOINTS`, exec chains). Each test checks the program's own message, its exit status and
//! what is left on disk.
//!
//! python3, sqlite3 and git are in `programs_apps.rs`; the C and Rust fixtures, and the tasks'
//! semantics, in `programs_fixtures.rs`.

use std::path::Path;
use std::process::Command;

use failinject_tests::{Done, Run, TempDir, have};

/// Runs `program` under the preload with `rules`, in `dir`, in the C locale (so that messages
/// quote with `'`).
fn run(dir: &TempDir, rules: &str, program: &str, args: &[&str]) -> Done {
    Run::new(dir.path(), rules, program, args).env("LC_ALL", "C").run()
}

/// Fails the test when `program` is missing: the suite never skips silently.
fn need(program: &str) {
    assert!(have(program), "`{program}` is not on PATH: .ci/run installs it (apt-get install)");
}

/// Runs a setup command without the preload, asserting that it succeeds.
fn plain(dir: &Path, program: &str, args: &[&str]) {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .env_remove("LD_PRELOAD")
        .env("LC_ALL", "C")
        .output()
        .expect("run the setup command");
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Bytes that do not compress to nothing and differ from one offset to the next.
fn data(len: usize) -> Vec<u8> {
    let mut x: u32 = 0x1234_5678;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

fn len(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

// ---- cp -------------------------------------------------------------------------------------

#[test]
fn cp_copy_file_range_enospc_and_eio_are_reported_and_the_copy_is_not_complete() {
    need("cp");
    for (errno, text) in [("ENOSPC", "No space left on device"), ("EIO", "Input/output error")] {
        let dir = TempDir::new("cp-cfr");
        std::fs::write(dir.join("src"), data(300_000)).unwrap();
        let rule = format!("sys:copy_file_range[path=*/dst]=error({errno})");
        let done = run(&dir, &rule, "cp", &["src", "dst"]);
        assert_eq!(done.code, Some(1), "{rule}: {done:?}");
        assert_eq!(done.stderr, format!("cp: error copying 'src' to 'dst': {text}\n"), "{rule}");
        assert!(len(&dir.join("dst")) < 300_000, "{rule}: dst must not be a full copy");
        assert_eq!(std::fs::read(dir.join("src")).unwrap(), data(300_000), "src is untouched");
    }
}

#[test]
fn cp_without_reflink_reports_a_failed_write() {
    need("cp");
    let dir = TempDir::new("cp-write");
    std::fs::write(dir.join("src"), data(300_000)).unwrap();
    let done =
        run(&dir, "sys:write[path=*/dst]=error(ENOSPC)", "cp", &["--reflink=never", "src", "dst"]);
    assert_eq!(done.code, Some(1), "{done:?}");
    assert_eq!(done.stderr, "cp: error writing 'dst': No space left on device\n");
    assert!(len(&dir.join("dst")) < 300_000, "dst must not be a full copy");
}

#[test]
fn cp_retries_short_writes_so_the_copy_is_complete_and_identical() {
    need("cp");
    let dir = TempDir::new("cp-short");
    std::fs::write(dir.join("src"), data(300_000)).unwrap();
    let done =
        run(&dir, "sys:write[path=*/dst]=short(100)", "cp", &["--reflink=never", "src", "dst"]);
    assert_eq!(done.code, Some(0), "{done:?}");
    assert_eq!(done.stderr, "");
    assert_eq!(std::fs::read(dir.join("dst")).unwrap(), data(300_000), "dst is an exact copy");

    // The writes really were short: with them, cp needs some 3000 write calls for 300 kB (it
    // needs 3 without); a rule that fails only the 2000th write therefore fires.
    let counted = run(
        &dir,
        "sys:write[path=*/dst2,when=2000]=error(EIO); sys:write[path=*/dst2]=short(100)",
        "cp",
        &["--reflink=never", "src", "dst2"],
    );
    assert_eq!(counted.code, Some(1), "{counted:?}");
    assert_eq!(counted.stderr, "cp: error writing 'dst2': Input/output error\n");
    // 1999 writes of at most 100 bytes went through (fewer at the end of each of cp's buffers).
    let written = len(&dir.join("dst2"));
    assert!((150_000..=199_900).contains(&written), "dst2 has {written} bytes");
}

// ---- cat ------------------------------------------------------------------------------------

#[test]
fn cat_reports_a_failed_copy_file_range() {
    need("cat");
    let dir = TempDir::new("cat");
    std::fs::write(dir.join("src"), data(100_000)).unwrap();
    // cat only uses copy_file_range when its stdout is a regular file: redirect it in a shell.
    let done =
        run(&dir, "sys:copy_file_range[path=*/out]=error(EIO)", "sh", &["-c", "cat src > out"]);
    assert_eq!(done.code, Some(1), "{done:?}");
    assert_eq!(done.stderr, "cat: src: Input/output error\n");
    assert_eq!(len(&dir.join("out")), 0, "nothing was copied");

    let fine = run(
        &dir,
        "sys:copy_file_range[path=*/elsewhere]=error(EIO)",
        "sh",
        &["-c", "cat src > out"],
    );
    assert_eq!(fine.code, Some(0), "{fine:?}");
    assert_eq!(std::fs::read(dir.join("out")).unwrap(), data(100_000));
}

#[test]
fn cat_retries_short_reads_and_passes_a_corrupted_read_on() {
    need("cat");
    let dir = TempDir::new("cat-read");
    // Text, since the harness reads stdout as UTF-8; stdout is a pipe here, so cat reads and
    // writes instead of using copy_file_range.
    let text: Vec<u8> = b"0123456789abcdef\n".repeat(600);
    std::fs::write(dir.join("src"), &text).unwrap();
    let short = run(&dir, "sys:read[path=*/src]=short(10)", "cat", &["src"]);
    assert_eq!(short.code, Some(0), "{:?}", short.stderr);
    assert!(short.stdout.as_bytes() == text, "short reads, yet the output is complete");

    let flipped = run(&dir, "sys:read[path=*/src]=corrupt(flip)", "cat", &["src"]);
    assert_eq!(flipped.code, Some(0), "{:?}", flipped.stderr);
    let out = flipped.stdout.as_bytes();
    assert_eq!(out.len(), text.len());
    let bits: u32 = out.iter().zip(&text).map(|(a, b)| (a ^ b).count_ones()).sum();
    assert_eq!(bits, 1, "one bit of what cat read was flipped");
    assert_eq!(std::fs::read(dir.join("src")).unwrap(), text, "the file itself is intact");
}

// ---- dd -------------------------------------------------------------------------------------

#[test]
fn dd_reports_a_failed_fsync_and_fdatasync() {
    need("dd");
    for (conv, point) in [("fsync", "fsync"), ("fdatasync", "fdatasync")] {
        let dir = TempDir::new("dd");
        std::fs::write(dir.join("in"), data(100_000)).unwrap();
        // dd puts its output file on fd 1: the path filter is what makes the rule reach it.
        let rule = format!("sys:{point}[path=*/out]=error(EIO)");
        let done = run(&dir, &rule, "dd", &["if=in", "of=out", "bs=4096", &format!("conv={conv}")]);
        assert_eq!(done.code, Some(1), "{rule}: {done:?}");
        let first = done.stderr.lines().next().unwrap_or_default();
        assert_eq!(first, format!("dd: {point} failed for 'out': Input/output error"), "{rule}");
        // Every block was written before the sync failed.
        assert!(done.stderr.contains("24+1 records out"), "{rule}: {done:?}");
        assert_eq!(std::fs::read(dir.join("out")).unwrap(), data(100_000), "{rule}");
    }
    // dd's output file is on fd 1, which a rule without a path, fd or kind filter never
    // matches: the same fault without the filter leaves dd alone.
    let dir = TempDir::new("dd-plain");
    std::fs::write(dir.join("in"), data(100_000)).unwrap();
    let done = run(&dir, "sys:fsync=error(EIO)", "dd", &["if=in", "of=out", "conv=fsync"]);
    assert_eq!(done.code, Some(0), "{done:?}");
}

// ---- tee ------------------------------------------------------------------------------------

#[test]
fn tee_reports_enospc_on_its_stdio_writes_and_still_copies_to_stdout() {
    need("tee");
    for point in ["sys:fwrite", "sys:@stdio"] {
        let dir = TempDir::new("tee");
        let rule = format!("{point}[path=*/teed]=error(ENOSPC)");
        let done = Run::new(dir.path(), &rule, "tee", &["teed"])
            .env("LC_ALL", "C")
            .stdin("line one\nline two\n")
            .run();
        assert_eq!(done.code, Some(1), "{rule}: {done:?}");
        assert_eq!(done.stderr, "tee: teed: No space left on device\n", "{rule}");
        assert_eq!(done.stdout, "line one\nline two\n", "{rule}: stdout still gets everything");
        assert_eq!(len(&dir.join("teed")), 0, "{rule}: nothing reached the file");
    }
}

#[test]
fn tee_reports_enospc_when_its_disk_fills_up_and_keeps_what_fit() {
    need("tee");
    let dir = TempDir::new("tee-full");
    // tee writes each read with fwrite(buf, n, 1, fp). On a real disk with 5 bytes free,
    // glibc writes 5 bytes, gets ENOSPC for the rest, sets the error flag and returns 0.
    let done = Run::new(dir.path(), "sys:fwrite[path=*/teed]=full(5)", "tee", &["teed"])
        .env("LC_ALL", "C")
        .stdin("hello world\n")
        .run();
    assert_eq!(done.code, Some(1), "{done:?}");
    assert_eq!(done.stdout, "hello world\n");
    assert_eq!(done.stderr, "tee: teed: No space left on device\n", "{done:?}");
    assert_eq!(std::fs::read(dir.join("teed")).unwrap(), b"hello", "the 5 bytes that fit");
}

// ---- mv, mkdir ------------------------------------------------------------------------------

#[test]
fn mv_reports_a_failed_renameat2_and_leaves_the_source_in_place() {
    need("mv");
    let dir = TempDir::new("mv");
    std::fs::write(dir.join("a"), b"the source\n").unwrap();
    let done = run(&dir, "sys:renameat2=error(EIO)", "mv", &["a", "b"]);
    assert_eq!(done.code, Some(1), "{done:?}");
    assert_eq!(done.stderr, "mv: cannot move 'a' to 'b': Input/output error\n");
    assert_eq!(std::fs::read(dir.join("a")).unwrap(), b"the source\n");
    assert!(!dir.join("b").exists(), "nothing was moved");
}

#[test]
fn mkdir_p_reports_the_failed_level_and_keeps_the_ones_before() {
    need("mkdir");
    let dir = TempDir::new("mkdir");
    let done = run(&dir, "sys:mkdir[path=*/c]=error(EACCES)", "mkdir", &["-p", "a/b/c"]);
    assert_eq!(done.code, Some(1), "{done:?}");
    assert_eq!(done.stderr, "mkdir: cannot create directory 'a/b/c': Permission denied\n");
    assert!(dir.join("a/b").is_dir(), "a and a/b were made");
    assert!(!dir.join("a/b/c").exists(), "a/b/c was not");
}

// ---- tar, gzip ------------------------------------------------------------------------------

/// A directory with `src/m.txt` and `src/d1/n.txt`, archived into `arch.tar`, then removed.
fn tar_archive(dir: &TempDir) {
    std::fs::create_dir_all(dir.join("src/d1")).unwrap();
    std::fs::write(dir.join("src/m.txt"), b"m\n").unwrap();
    std::fs::write(dir.join("src/d1/n.txt"), b"n\n").unwrap();
    plain(dir.path(), "tar", &["cf", "arch.tar", "src"]);
    std::fs::remove_dir_all(dir.join("src")).unwrap();
    std::fs::create_dir(dir.join("x")).unwrap();
}

#[test]
fn tar_xf_reports_a_file_it_cannot_open_and_exits_2() {
    need("tar");
    let dir = TempDir::new("tar-open");
    tar_archive(&dir);
    let done =
        run(&dir, "sys:openat[path=*/n.txt]=error(EACCES)", "tar", &["xf", "arch.tar", "-C", "x"]);
    assert_eq!(done.code, Some(2), "{done:?}");
    assert_eq!(
        done.stderr,
        "tar: src/d1/n.txt: Cannot open: Permission denied\n\
         tar: Exiting with failure status due to previous errors\n"
    );
    assert_eq!(std::fs::read(dir.join("x/src/m.txt")).unwrap(), b"m\n", "the rest is extracted");
    assert!(dir.join("x/src/d1").is_dir());
    assert!(!dir.join("x/src/d1/n.txt").exists());
}

#[test]
fn tar_xf_reports_a_directory_it_cannot_make_and_exits_2() {
    need("tar");
    let dir = TempDir::new("tar-mkdir");
    tar_archive(&dir);
    let done =
        run(&dir, "sys:mkdirat[path=*/d1]=error(EACCES)", "tar", &["xf", "arch.tar", "-C", "x"]);
    assert_eq!(done.code, Some(2), "{done:?}");
    assert!(done.stderr.contains("tar: src/d1: Cannot mkdir: Permission denied\n"), "{done:?}");
    assert!(done.stderr.ends_with("tar: Exiting with failure status due to previous errors\n"));
    assert_eq!(std::fs::read(dir.join("x/src/m.txt")).unwrap(), b"m\n");
    assert!(!dir.join("x/src/d1").exists());
}

#[test]
fn gzip_write_enospc_exits_1_removes_the_output_and_keeps_the_input() {
    need("gzip");
    let dir = TempDir::new("gzip-write");
    std::fs::write(dir.join("f"), data(200_000)).unwrap();
    let done = run(&dir, "sys:write[path=*.gz]=error(ENOSPC)", "gzip", &["f"]);
    assert_eq!(done.code, Some(1), "{done:?}");
    assert_eq!(done.stderr.trim_start(), "gzip: f.gz: No space left on device\n");
    assert_eq!(std::fs::read(dir.join("f")).unwrap(), data(200_000), "the input is kept");
    assert!(!dir.join("f.gz").exists(), "the partial output is removed");
}

#[test]
fn gzip_synchronous_fsync_eio_exits_1_and_keeps_the_input() {
    need("gzip");
    let dir = TempDir::new("gzip-fsync");
    std::fs::write(dir.join("f"), data(200_000)).unwrap();
    let done = run(&dir, "sys:fsync[path=*.gz]=error(EIO)", "gzip", &["--synchronous", "f"]);
    assert_eq!(done.code, Some(1), "{done:?}");
    assert_eq!(done.stderr.trim_start(), "gzip: f.gz: Input/output error\n");
    assert_eq!(std::fs::read(dir.join("f")).unwrap(), data(200_000), "the input is kept");
    assert!(!dir.join("f.gz").exists(), "the unsynced output is removed");

    let fine = run(&dir, "sys:fsync[path=*/other.gz]=error(EIO)", "gzip", &["--synchronous", "f"]);
    assert_eq!(fine.code, Some(0), "{fine:?}");
    assert!(dir.join("f.gz").exists() && !dir.join("f").exists());
}

// ---- where rules come from ------------------------------------------------------------------

#[test]
fn rules_from_failinject_file_are_honoured_after_failinject() {
    need("cp");
    let dir = TempDir::new("rules-file");
    std::fs::write(dir.join("src"), data(10_000)).unwrap();
    std::fs::write(
        dir.join("rules"),
        "# cp's destination is full\n\nsys:write[path=*/dst]=error(ENOSPC)\n",
    )
    .unwrap();
    let done = Run::new(dir.path(), "", "cp", &["--reflink=never", "src", "dst"])
        .env("LC_ALL", "C")
        .env("FAILINJECT_FILE", dir.join("rules"))
        .run();
    assert_eq!(done.code, Some(1), "{done:?}");
    assert_eq!(done.stderr, "cp: error writing 'dst': No space left on device\n");

    // FAILINJECT's rules come first: its one-shot EIO is the error cp sees. (The key differs
    // from the file's rule, `*dst` vs `*/dst`; the same key would replace that rule.)
    let both = Run::new(
        dir.path(),
        "sys:write[path=*dst]=1*error(EIO)",
        "cp",
        &["--reflink=never", "src", "dst"],
    )
    .env("LC_ALL", "C")
    .env("FAILINJECT_FILE", dir.join("rules"))
    .run();
    assert_eq!(both.code, Some(1), "{both:?}");
    assert_eq!(both.stderr, "cp: error writing 'dst': Input/output error\n");

    // The file's rule has the same key as this one, so it replaces it: ENOSPC again.
    let replaced = Run::new(
        dir.path(),
        "sys:write[path=*/dst]=1*error(EIO)",
        "cp",
        &["--reflink=never", "src", "dst"],
    )
    .env("LC_ALL", "C")
    .env("FAILINJECT_FILE", dir.join("rules"))
    .run();
    assert_eq!(replaced.code, Some(1), "{replaced:?}");
    assert_eq!(replaced.stderr, "cp: error writing 'dst': No space left on device\n");
}

#[test]
fn rules_from_failpoints_are_honoured() {
    need("cp");
    let dir = TempDir::new("failpoints");
    std::fs::write(dir.join("src"), data(10_000)).unwrap();
    let done = Run::new(dir.path(), "", "cp", &["src", "dst"])
        .env("LC_ALL", "C")
        .env("FAILPOINTS", "sys:copy_file_range[path=*/dst]=error(EIO)")
        .run();
    assert_eq!(done.code, Some(1), "{done:?}");
    assert_eq!(done.stderr, "cp: error copying 'src' to 'dst': Input/output error\n");
}

#[test]
fn rules_reach_the_innermost_program_of_an_exec_chain() {
    need("cp");
    let dir = TempDir::new("exec-chain");
    std::fs::write(dir.join("src"), data(10_000)).unwrap();
    let done = run(
        &dir,
        "sys:copy_file_range[exe=cp]=error(EIO)",
        "sh",
        &["-c", "sh -c 'cp src dst'; echo \"cp exited $?\""],
    );
    assert_eq!(done.code, Some(0), "{done:?}");
    assert_eq!(done.stdout, "cp exited 1\n");
    assert_eq!(done.stderr, "cp: error copying 'src' to 'dst': Input/output error\n");
    assert_eq!(len(&dir.join("dst")), 0);
}

#[test]
fn the_log_records_the_process_and_each_injected_fault() {
    need("cp");
    let dir = TempDir::new("log");
    std::fs::write(dir.join("src"), data(10_000)).unwrap();
    let done =
        Run::new(dir.path(), "sys:copy_file_range[path=*/dst]=error(EIO)", "cp", &["src", "dst"])
            .env("LC_ALL", "C")
            .env("FAILINJECT_LOG", dir.join("log.%p.jsonl"))
            .run();
    assert_eq!(done.code, Some(1), "{done:?}");
    let logs: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.starts_with("log.") && name.ends_with(".jsonl"))
        .collect();
    assert_eq!(logs.len(), 1, "one log, its name with cp's pid: {logs:?}");
    let pid = &logs[0]["log.".len()..logs[0].len() - ".jsonl".len()];
    assert!(pid.parse::<u32>().is_ok(), "%p became a pid: {}", logs[0]);
    let log = std::fs::read_to_string(dir.join(&logs[0])).unwrap();
    let lines: Vec<&str> = log.lines().collect();
    assert!(lines.len() >= 3, "start, fault and exit records: {log}");
    assert!(lines.iter().all(|l| l.starts_with('{') && l.ends_with('}')), "JSON Lines: {log}");
    assert!(lines[0].contains("\"start\"") && lines[0].contains(pid), "{log}");
    assert!(lines.last().unwrap().contains("\"exit\""), "{log}");
    let fault: Vec<&&str> = lines.iter().filter(|l| l.contains("copy_file_range")).collect();
    assert!(
        fault.iter().any(|l| l.contains(&*dir.join("dst").to_string_lossy())),
        "a fault record names the target: {log}"
    );
}
