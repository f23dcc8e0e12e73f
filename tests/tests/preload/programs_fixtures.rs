//! Small fixture programs under `libfailinject.so`: the Rust std fixture `rsio`, C programs
//! from `tests/fixtures/` compiled with `cc` at test time, and through them the semantics of
//! each task (`corrupt`, `full`, `when`, probabilities with a seed, `kill`, `return`, `sleep`,
//! `short`) and of the stdio wrappers (`ferror`, `fclose`).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use failinject_tests::{Done, Run, TempDir, compile_c, workspace};

/// Compiles `tests/fixtures/NAME.c` into `dir` and returns the executable's path.
fn compile(dir: &TempDir, name: &str) -> PathBuf {
    let source = workspace().join("tests/fixtures").join(format!("{name}.c"));
    compile_c(&source, &dir.join(name), &["-O2", "-Wall", "-Werror"])
}

/// Runs `exe` under the preload with `rules`, in `dir`.
fn run(dir: &TempDir, rules: &str, exe: &Path, args: &[&str]) -> Done {
    Run::new(dir.path(), rules, exe.to_str().unwrap(), args).env("LC_ALL", "C").run()
}

/// Byte `j` of the buffer `writes` writes: `(j * 31 + 7) & 0xff`.
fn pattern(chunk: usize) -> Vec<u8> {
    (0..chunk).map(|j| ((j * 31 + 7) & 0xff) as u8).collect()
}

// ---- rsio: Rust std -------------------------------------------------------------------------

const RSIO: &str = env!("CARGO_BIN_EXE_rsio");

fn rsio(dir: &TempDir, rules: &str, args: &[&str]) -> Done {
    Run::new(dir.path(), rules, RSIO, args).env("LC_ALL", "C").run()
}

#[test]
fn rsio_metadata_surfaces_a_statx_error() {
    let dir = TempDir::new("rsio-statx");
    std::fs::write(dir.join("f"), b"12345").unwrap();
    let fine = rsio(&dir, "", &["metadata", "f"]);
    assert_eq!((fine.code, fine.stdout.as_str()), (Some(0), "ok: 5 bytes\n"), "{fine:?}");
    for (errno, text) in
        [("EIO", "Input/output error (os error 5)"), ("EACCES", "Permission denied (os error 13)")]
    {
        let rule = format!("sys:statx[path=*/f]=error({errno})");
        let done = rsio(&dir, &rule, &["metadata", "f"]);
        assert_eq!(done.code, Some(1), "{rule}: {done:?}");
        assert_eq!(done.stderr, format!("rsio: metadata: {text}\n"), "{rule}");
    }
}

#[test]
fn rsio_fs_copy_surfaces_a_copy_file_range_error() {
    for (errno, text) in [
        ("ENOSPC", "No space left on device (os error 28)"),
        ("EIO", "Input/output error (os error 5)"),
    ] {
        let dir = TempDir::new("rsio-copy");
        std::fs::write(dir.join("src"), vec![42u8; 50_000]).unwrap();
        let rule = format!("sys:copy_file_range[path=*/dst]=error({errno})");
        let done = rsio(&dir, &rule, &["copy", "src", "dst"]);
        assert_eq!(done.code, Some(1), "{rule}: {done:?}");
        assert_eq!(done.stderr, format!("rsio: copy: {text}\n"), "{rule}");
        assert!(std::fs::metadata(dir.join("dst")).unwrap().len() < 50_000, "{rule}");
    }
    let dir = TempDir::new("rsio-copy-ok");
    std::fs::write(dir.join("src"), vec![42u8; 50_000]).unwrap();
    let fine = rsio(&dir, "sys:copy_file_range[path=*/other]=error(EIO)", &["copy", "src", "dst"]);
    assert_eq!(fine.stdout, "ok: 50000 bytes copied\n", "{fine:?}");
    assert_eq!(std::fs::read(dir.join("dst")).unwrap(), vec![42u8; 50_000]);
}

#[test]
fn rsio_sync_all_and_sync_data_surface_fsync_and_fdatasync_errors() {
    let dir = TempDir::new("rsio-sync");
    let done = rsio(&dir, "sys:fsync[path=*/a]=error(EIO)", &["sync_all", "a"]);
    assert_eq!(done.code, Some(1), "{done:?}");
    assert_eq!(done.stderr, "rsio: sync_all: Input/output error (os error 5)\n");
    assert_eq!(std::fs::read(dir.join("a")).unwrap(), b"synced with sync_all\n");

    let done = rsio(&dir, "sys:fdatasync[path=*/b]=error(ENOSPC)", &["sync_data", "b"]);
    assert_eq!(done.code, Some(1), "{done:?}");
    assert_eq!(done.stderr, "rsio: sync_data: No space left on device (os error 28)\n");

    // sync_data is fdatasync, not fsync: an fsync rule leaves it alone.
    let fine = rsio(&dir, "sys:fsync=error(EIO)", &["sync_data", "c"]);
    assert_eq!((fine.code, fine.stdout.as_str()), (Some(0), "ok: synced\n"), "{fine:?}");
}

#[test]
fn rsio_set_len_surfaces_an_ftruncate_error_and_keeps_the_file() {
    let dir = TempDir::new("rsio-set-len");
    std::fs::write(dir.join("f"), b"hello\n").unwrap();
    let done = rsio(&dir, "sys:ftruncate[path=*/f]=error(EFBIG)", &["set_len", "f", "0"]);
    assert_eq!(done.code, Some(1), "{done:?}");
    assert_eq!(done.stderr, "rsio: set_len: File too large (os error 27)\n");
    assert_eq!(std::fs::read(dir.join("f")).unwrap(), b"hello\n", "not truncated");

    let fine = rsio(&dir, "sys:ftruncate[path=*/other]=error(EIO)", &["set_len", "f", "2"]);
    assert_eq!(fine.stdout, "ok: length set to 2\n", "{fine:?}");
    assert_eq!(std::fs::read(dir.join("f")).unwrap(), b"he");
}

// ---- C stdio --------------------------------------------------------------------------------

/// Runs the `stdio` fixture on `dir/out` with `rules`; returns its four report lines.
fn stdio(rules: &str) -> (Vec<String>, Vec<u8>) {
    let dir = TempDir::new("stdio");
    let exe = compile(&dir, "stdio");
    let done = run(&dir, rules, &exe, &["out"]);
    assert_eq!(done.code, Some(0), "{rules}: {done:?}");
    assert_eq!(done.signal, None, "{rules}: no crash");
    let lines = done.stdout.lines().map(str::to_owned).collect();
    (lines, std::fs::read(dir.join("out")).unwrap_or_default())
}

/// Asserts the fixture's `fds: BEFORE AFTER` line shows the stream's descriptor released.
fn assert_fds_released(line: &str) {
    let counts: Vec<&str> = line.strip_prefix("fds: ").expect("an fds line").split(' ').collect();
    assert_eq!(counts[0], counts[1], "as many descriptors after fclose as before fopen: {line}");
}

#[test]
fn stdio_without_rules_works() {
    let (lines, file) = stdio("");
    assert_eq!(
        lines[..3],
        [
            "fwrite: 100 ferror=0 errno=Success",
            "fflush: 0 ferror=0 errno=Success",
            "fclose: 0 errno=Success",
        ]
    );
    assert_fds_released(&lines[3]);
    assert_eq!(file, vec![b'x'; 100]);
}

#[test]
fn stdio_a_failed_fwrite_sets_the_error_flag() {
    let (lines, file) = stdio("sys:fwrite[path=*/out]=error(ENOSPC)");
    assert_eq!(lines[0], "fwrite: 0 ferror=1 errno=No space left on device");
    assert!(lines[1].contains("ferror=1"), "the flag stays set: {lines:?}");
    assert_fds_released(&lines[3]);
    assert_eq!(file, b"", "nothing was buffered, nothing written");
}

#[test]
fn stdio_a_failed_fflush_sets_the_error_flag() {
    let (lines, _) = stdio("sys:fflush[path=*/out]=error(ENOSPC)");
    assert_eq!(lines[0], "fwrite: 100 ferror=0 errno=Success");
    assert_eq!(lines[1], "fflush: -1 ferror=1 errno=No space left on device");
    assert_fds_released(&lines[3]);
}

#[test]
fn stdio_a_failed_fclose_returns_eof_and_still_releases_the_stream() {
    let (lines, file) = stdio("sys:fclose[path=*/out]=error(EIO)");
    assert_eq!(lines[2], "fclose: -1 errno=Input/output error", "EOF and EIO: {lines:?}");
    assert_fds_released(&lines[3]);
    assert_eq!(file, vec![b'x'; 100], "the real fclose was made, and flushed the data");
}

#[test]
fn stdio_a_full_disk_shortens_fwrite_and_sets_the_error_flag() {
    // fwrite returns fewer items than asked only on a write error (C11 7.21.8.2), which glibc
    // records in the stream's error flag and errno; `full` must look the same.
    let (lines, file) = stdio("sys:fwrite[path=*/out]=full(50)");
    assert_eq!(lines[0], "fwrite: 50 ferror=1 errno=No space left on device", "{lines:?}");
    assert_fds_released(&lines[3]);
    assert_eq!(file, vec![b'x'; 50], "the 50 bytes that fit");
}

// ---- tasks ----------------------------------------------------------------------------------

/// Runs the `writes` fixture: `count` writes of `chunk` bytes to `dir/out`.
fn writes(dir: &TempDir, rules: &str, count: usize, chunk: usize, extra: &[&str]) -> Done {
    let exe = dir.join("writes");
    if !exe.exists() {
        compile(dir, "writes");
    }
    let (count, chunk) = (count.to_string(), chunk.to_string());
    let mut args = vec!["out", count.as_str(), chunk.as_str()];
    args.extend_from_slice(extra);
    run(dir, rules, &exe, &args)
}

#[test]
fn corrupt_flip_changes_exactly_one_bit_of_the_file_and_none_of_the_buffer() {
    let dir = TempDir::new("corrupt");
    let done = writes(&dir, "sys:write[path=*/out]=corrupt(flip)", 1, 4096, &[]);
    assert_eq!(done.code, Some(0), "{done:?}");
    assert_eq!(done.stdout, "write 1: 4096\nbuffer intact\nfailed: 0\n");
    let file = std::fs::read(dir.join("out")).unwrap();
    assert_eq!(file.len(), 4096);
    let flipped: u32 =
        file.iter().zip(pattern(4096)).map(|(got, want)| (got ^ want).count_ones()).sum();
    assert_eq!(flipped, 1, "exactly one bit differs");
}

#[test]
fn corrupt_zero_and_random_alter_the_file_and_never_the_buffer() {
    let dir = TempDir::new("corrupt-zero");
    let done = writes(&dir, "sys:write[path=*/out]=corrupt(zero)", 1, 4096, &[]);
    assert_eq!(done.stdout, "write 1: 4096\nbuffer intact\nfailed: 0\n", "{done:?}");
    assert_eq!(std::fs::read(dir.join("out")).unwrap(), vec![0u8; 4096], "zeroed on its way");

    let random = |seed: &str| {
        let dir = TempDir::new("corrupt-random");
        let exe = compile(&dir, "writes");
        let done = Run::new(
            dir.path(),
            "sys:write[path=*/out]=corrupt(random)",
            exe.to_str().unwrap(),
            &["out", "1", "4096"],
        )
        .env("FAILINJECT_SEED", seed)
        .run();
        assert_eq!(done.stdout, "write 1: 4096\nbuffer intact\nfailed: 0\n", "{done:?}");
        std::fs::read(dir.join("out")).unwrap()
    };
    let garbage = random("5");
    assert_eq!(garbage.len(), 4096);
    assert_ne!(garbage, pattern(4096), "the data was altered");
    assert_eq!(random("5"), garbage, "the same seed gives the same garbage");
}

#[test]
fn full_1k_lets_exactly_1024_bytes_through_then_enospc() {
    let dir = TempDir::new("full");
    let done = writes(&dir, "sys:write[path=*/out]=full(1K)", 12, 100, &[]);
    assert_eq!(done.code, Some(1), "{done:?}");
    let lines: Vec<&str> = done.stdout.lines().collect();
    for (i, line) in lines[..10].iter().enumerate() {
        assert_eq!(*line, format!("write {}: 100", i + 1));
    }
    assert_eq!(lines[10], "write 11: 24", "the crossing write is shortened");
    assert_eq!(lines[11], "write 12: -1 No space left on device");
    let file = std::fs::read(dir.join("out")).unwrap();
    assert_eq!(file.len(), 1024);
    assert_eq!(file[1000..], pattern(24)[..], "the short write wrote the start of the buffer");
}

#[test]
fn when_3_fails_only_the_third_write() {
    let dir = TempDir::new("when");
    let done = writes(&dir, "sys:write[path=*/out,when=3]=error(EIO)", 5, 100, &[]);
    assert_eq!(done.code, Some(1), "{done:?}");
    assert_eq!(
        done.stdout,
        "write 1: 100\nwrite 2: 100\nwrite 3: -1 Input/output error\nwrite 4: 100\n\
         write 5: 100\nbuffer intact\nfailed: 1\n"
    );
    assert_eq!(std::fs::metadata(dir.join("out")).unwrap().len(), 400);
}

#[test]
fn short_writes_are_real_and_partial() {
    let dir = TempDir::new("short");
    let done = writes(&dir, "sys:write[path=*/out]=short(100)", 3, 4096, &[]);
    assert_eq!(done.code, Some(0), "{done:?}");
    assert_eq!(done.stdout, "write 1: 100\nwrite 2: 100\nwrite 3: 100\nbuffer intact\nfailed: 0\n");
    assert_eq!(std::fs::read(dir.join("out")).unwrap(), pattern(100).repeat(3));
}

/// Which of 200 writes failed under `25%error(EIO)` with `seed`.
fn failed_writes(seed: &str) -> Vec<usize> {
    let dir = TempDir::new("seed");
    let exe = compile(&dir, "writes");
    let done = Run::new(
        dir.path(),
        "sys:write[path=*/out]=25%error(EIO)",
        exe.to_str().unwrap(),
        &["out", "200", "10"],
    )
    .env("LC_ALL", "C")
    .env("FAILINJECT_SEED", seed)
    .run();
    assert_eq!(done.code, Some(1), "{done:?}");
    let failed: Vec<usize> = done
        .stdout
        .lines()
        .filter(|l| l.ends_with(": -1 Input/output error"))
        .map(|l| l["write ".len()..l.find(':').unwrap()].parse().unwrap())
        .collect();
    let len = std::fs::metadata(dir.join("out")).unwrap().len() as usize;
    assert_eq!(len, 10 * (200 - failed.len()), "every other write went through");
    failed
}

#[test]
fn a_probability_with_a_fixed_seed_repeats_and_another_seed_differs() {
    let first = failed_writes("7");
    assert!((20..=90).contains(&first.len()), "about a quarter of 200 failed: {}", first.len());
    assert_eq!(failed_writes("7"), first, "same seed, same faults");
    assert_ne!(failed_writes("8"), first, "another seed, other faults");
}

#[test]
fn kill_term_kills_the_program_before_the_call() {
    let dir = TempDir::new("kill");
    let done = writes(&dir, "sys:write[path=*/out,when=3]=kill(TERM)", 5, 100, &[]);
    assert_eq!((done.code, done.signal), (None, Some(15)), "killed by SIGTERM: {done:?}");
    assert_eq!(done.stdout, "write 1: 100\nwrite 2: 100\n");
    assert_eq!(
        std::fs::metadata(dir.join("out")).unwrap().len(),
        200,
        "the 3rd write was not made"
    );
}

#[test]
fn return_0_on_fsync_skips_the_call_and_leaves_errno_alone() {
    let dir = TempDir::new("return");
    let exe = compile(&dir, "syncpipe");
    // Linux refuses fsync on a pipe with EINVAL ...
    let real = run(&dir, "", &exe, &[]);
    assert_eq!(real.stdout, "fsync: -1 Invalid argument\n", "{real:?}");
    // ... so a 0, with the errno set before the call (EXDEV) untouched, means it was not made.
    let skipped = run(&dir, "sys:fsync[kind=pipe]=return(0)", &exe, &[]);
    assert_eq!(skipped.stdout, "fsync: 0 Invalid cross-device link\n", "{skipped:?}");
    let seven = run(&dir, "sys:fsync[kind=pipe]=return(7)", &exe, &[]);
    assert_eq!(seven.stdout, "fsync: 7 Invalid cross-device link\n", "{seven:?}");

    let done = writes(&dir, "sys:fsync[path=*/out]=return(0)", 1, 100, &["fsync"]);
    assert_eq!(done.code, Some(0), "{done:?}");
    assert!(done.stdout.contains("fsync: 0 Invalid cross-device link\n"), "{done:?}");
}

#[test]
fn sleep_200_delays_the_call_then_lets_it_through() {
    let dir = TempDir::new("sleep");
    compile(&dir, "writes");
    let start = Instant::now();
    let done = writes(&dir, "sys:fsync[path=*/out]=sleep(200)", 1, 100, &["fsync"]);
    let took = start.elapsed();
    assert_eq!(done.code, Some(0), "{done:?}");
    assert!(done.stdout.contains("fsync: 0 "), "the fsync went ahead: {done:?}");
    assert!(took >= Duration::from_millis(200), "took only {took:?}");
}
