//! The seccomp backend (SPEC §9, `cli/src/seccomp/`): programs no preload reaches, under
//! real rules. Each program is C compiled here (`cc -static` for the static ones) or Go built
//! offline in GOPATH mode; each test asserts what the program itself saw.
//!
//! The soundness points each have a test: notifications are served concurrently (a `sleep`
//! and a blocked pipe write made on a program's behalf stall no other thread), a signal
//! cannot make the kernel repeat a call made on the program's behalf (killable waits), nor is
//! such a call made for a task that died meanwhile (`SECCOMP_IOCTL_NOTIF_ID_VALID`), a
//! thread's call counts in its process (thread ids mapped to processes), and counters start
//! afresh in a forked child and after an `exec`.

use crate::common::*;
use std::path::{Path, PathBuf};

/// Writes `src` as `NAME.c` in `dir` and compiles it with `flags`.
fn c_program(dir: &Path, name: &str, src: &str, flags: &[&str]) -> PathBuf {
    let c = dir.join(format!("{name}.c"));
    std::fs::write(&c, src).unwrap();
    compile_c(&c, &dir.join(name), flags)
}

/// Writes `src` as `main.go` in `dir` and builds it as NAME, a static Go program (GOPATH
/// mode, offline).
fn go_program(dir: &Path, name: &str, src: &str) {
    assert!(have("go"), "go is needed: apt-get install -y golang-go (.ci/run installs it)");
    std::fs::write(dir.join("main.go"), src).unwrap();
    let built = std::process::Command::new("go")
        .args(["build", "-o", name, "main.go"])
        .current_dir(dir)
        .env("GO111MODULE", "off")
        .env("GOPATH", dir.join("gopath"))
        .env("GOCACHE", dir.join("gocache"))
        .env("HOME", dir)
        .env("CGO_ENABLED", "0")
        .env_remove("LD_PRELOAD")
        .output()
        .expect("go build");
    assert!(built.status.success(), "{}", text(&built.stderr));
}

/// `failinject run ARGS` in `dir`: (exit status, stdout, stderr).
fn run(dir: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let mut all = vec!["run"];
    all.extend_from_slice(args);
    let out = output(failinject(dir, &all));
    (out.status.code(), text(&out.stdout), text(&out.stderr))
}

/// Saves three lines to `out.txt` with `write`, then `fsync`s; prints what each call returned.
const SAVE: &str = r#"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    int fd = open("out.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) { printf("open: %s\n", strerror(errno)); return 1; }
    for (int i = 0; i < 3; i++) {
        ssize_t n = write(fd, "hello world\n", 12);
        if (n < 0) printf("write %d: %s\n", i, strerror(errno));
        else printf("write %d: %zd\n", i, n);
    }
    if (fsync(fd) < 0) printf("fsync: %s\n", strerror(errno));
    else printf("fsync: ok\n");
    return close(fd) == 0 ? 0 : 1;
}
"#;

#[test]
fn a_static_program_gets_errors_short_writes_and_when() {
    let dir = TempDir::new("seccomp-static");
    c_program(dir.path(), "save", SAVE, &["-static"]);
    let (code, out, err) = run(
        dir.path(),
        &["-r", "sys:write[path=*/out.txt,when=2]=error(ENOSPC)", "-r", "sys:fsync=error(EIO)"]
            .into_iter()
            .chain(["--", "./save"])
            .collect::<Vec<_>>(),
    );
    assert_eq!(code, Some(0), "{out}{err}");
    assert_eq!(
        out,
        "write 0: 12\nwrite 1: No space left on device\nwrite 2: 12\nfsync: Input/output error\n"
    );
    assert!(err.contains("failinject: backend seccomp: ./save is statically linked"), "{err}");
    assert_eq!(std::fs::read_to_string(dir.join("out.txt")).unwrap(), "hello world\n".repeat(2));

    // A short write is made on the program's behalf: five bytes each, at the file offset.
    let (_, out, err) =
        run(dir.path(), &["-q", "-r", "sys:write[path=*/out.txt]=short(5)", "--", "./save"]);
    assert_eq!(out, "write 0: 5\nwrite 1: 5\nwrite 2: 5\nfsync: ok\n", "{err}");
    assert_eq!(std::fs::read_to_string(dir.join("out.txt")).unwrap(), "hellohellohello");

    // A full disk of 20 bytes: the write that crosses is shortened, the next fails.
    let (_, out, err) =
        run(dir.path(), &["-r", "sys:write[path=*/out.txt]=full(20)", "--", "./save"]);
    assert_eq!(
        out, "write 0: 12\nwrite 1: 8\nwrite 2: No space left on device\nfsync: ok\n",
        "{err}"
    );
    assert_eq!(std::fs::read(dir.join("out.txt")).unwrap().len(), 20);

    // Corruption reaches the file, never the program's buffer.
    let (_, _, err) =
        run(dir.path(), &["-q", "-r", "sys:write[path=*/out.txt]=corrupt(zero)", "--", "./save"]);
    assert_eq!(std::fs::read(dir.join("out.txt")).unwrap(), vec![0u8; 36], "{err}");

    // The log has the preload's records, marked with the backend.
    let (_, _, err) =
        run(dir.path(), &["--log", "run.jsonl", "-r", "sys:fsync=error(EIO)", "--", "./save"]);
    let recs = records(&dir.join("run.jsonl"));
    let kinds: Vec<&str> = recs.iter().map(|r| r["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["start", "inject", "exit"], "{err}");
    assert_eq!(recs[0]["backend"], "seccomp");
    assert_eq!(recs[1]["function"], "fsync");
    assert_eq!(recs[1]["errno"], "EIO");
    assert!(recs[1]["path"].as_str().unwrap().ends_with("/out.txt"), "{:?}", recs[1]);
    assert_eq!(recs[2]["rules"][0]["matches"], 1);
}

#[test]
fn raw_system_calls_are_reached_where_the_preload_sees_nothing() {
    let dir = TempDir::new("seccomp-raw");
    let src = r#"
#include <fcntl.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(void) {
    int fd = open("raw.dat", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    long n = syscall(SYS_write, fd, "data", 4);
    long s = syscall(SYS_fsync, fd);
    printf("write %ld fsync %ld\n", n, s);
    return 0;
}
"#;
    c_program(dir.path(), "raw", src, &[]);
    let rule = "sys:fsync=error(EIO)";
    let (_, out, err) = run(dir.path(), &["--backend", "preload", "-r", rule, "--", "./raw"]);
    assert_eq!(out, "write 4 fsync 0\n", "syscall(2) bypasses libc's fsync: {err}");
    assert!(err.contains("never injected"), "{err}");
    let (_, out, err) = run(dir.path(), &["--backend", "seccomp", "-r", rule, "--", "./raw"]);
    assert_eq!(out, "write 4 fsync -1\n", "{err}");
}

#[test]
fn go_programs_see_their_sync_and_rename_fail() {
    let dir = TempDir::new("seccomp-go");
    let src = r#"package main

import (
	"fmt"
	"os"
)

func main() {
	f, err := os.Create("data.txt")
	if err != nil {
		fmt.Println("create:", err)
		os.Exit(1)
	}
	f.Write([]byte("hello\n"))
	if err := f.Sync(); err != nil {
		fmt.Println("sync failed:", err)
	}
	f.Close()
	if err := os.Rename("data.txt", "final.txt"); err != nil {
		fmt.Println("rename failed:", err)
		os.Exit(2)
	}
	fmt.Println("saved")
}
"#;
    go_program(dir.path(), "prog", src);
    let (code, out, err) = run(
        dir.path(),
        &["-r", "sys:fsync=error(EIO)", "-r", "sys:rename=error(EXDEV)", "--", "./prog"],
    );
    assert_eq!(code, Some(2), "{out}{err}");
    assert!(out.contains("sync failed: sync data.txt: input/output error"), "{out}");
    assert!(
        out.contains("rename failed: rename data.txt final.txt: invalid cross-device link"),
        "{out}"
    );
    assert!(err.contains("backend seccomp: ./prog is a Go program"), "{err}");

    // A power cut at the rename: the data written but never synced is lost. The program
    // writes "hello\n" and syncs it here; a second write after the sync is lost.
    let src2 = src.replace("\tf.Close()", "\tf.Write([]byte(\"unsynced tail\\n\"))\n\tf.Close()");
    go_program(dir.path(), "prog2", &src2);
    let (code, out, err) = run(dir.path(), &["-r", "sys:rename=powercut", "--", "./prog2"]);
    assert_eq!(code, Some(137), "{out}{err}");
    assert!(err.contains("power cut by rule 1"), "{err}");
    let data = std::fs::read_to_string(dir.join("data.txt")).unwrap();
    assert_eq!(data, "hello\n", "the synced line stays, the unsynced one is lost: {err}");
    assert!(!dir.join("final.txt").exists());
}

/// A `sleep` on one thread's call and a pipe write made on the program's behalf that blocks
/// until the program reads the pipe: the other thread's trapped calls go on meanwhile. With
/// one notification at a time, the pipe case deadlocks (`timeout` ends it) and the sleep case
/// prints in the other order.
#[test]
fn a_slow_call_never_stalls_the_other_threads() {
    let dir = TempDir::new("seccomp-threads");
    let src = r#"
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
static int p[2];
static char big[300000];
static void *slow(void *arg) {
    int fd = open("a.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    write(fd, "a", 1);
    printf("A done\n");
    return arg;
}
static void *piped(void *arg) {
    long n = write(p[1], big, sizeof big);
    printf("pipe wrote %ld\n", n);
    close(p[1]);
    return arg;
}
int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    pthread_t t;
    int use_pipe = argc > 1;
    if (use_pipe) { pipe(p); pthread_create(&t, NULL, piped, NULL); }
    else pthread_create(&t, NULL, slow, NULL);
    usleep(300000);
    int fd = open("b.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    for (int i = 0; i < 50; i++) write(fd, "b", 1);
    printf("B done\n");
    if (use_pipe) {
        char buf[65536];
        long got = 0, n;
        while ((n = read(p[0], buf, sizeof buf)) > 0) got += n;
        printf("read %ld\n", got);
    }
    pthread_join(t, NULL);
    return 0;
}
"#;
    c_program(dir.path(), "threads", src, &["-static", "-pthread"]);
    let (code, out, err) = run(
        dir.path(),
        &[
            "-q",
            "--backend",
            "seccomp",
            "-r",
            "sys:write[path=*/a.txt]=sleep(3000)",
            "--",
            "./threads",
        ],
    );
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(out, "B done\nA done\n", "the sleeping call held up the other thread: {err}");
    // The pipe's capacity is 64 KiB: the write made for the program blocks until main reads.
    let rule = "sys:write[kind=pipe,size>100000]=short(200000)";
    let (code, out, err) = run(
        dir.path(),
        &["-q", "--backend", "seccomp", "-r", rule, "--", "timeout", "20", "./threads", "pipe"],
    );
    assert_eq!(code, Some(0), "a stalled supervisor deadlocks the program: {out}{err}");
    assert!(out.contains("B done") && out.contains("pipe wrote 200000"), "{out}{err}");
    assert!(out.contains("read 200000"), "{out}{err}");
}

/// `when=` counts per process: a thread's call is its process's, so the second write fails
/// although a second thread makes it; a forked child counts afresh, and so does the program
/// an `exec` starts.
#[test]
fn threads_count_in_their_process_and_children_and_execs_afresh() {
    let dir = TempDir::new("seccomp-count");
    let src = r#"
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
static int fd;
static void *second(void *arg) {
    if (write(fd, "2", 1) < 0) printf("thread: %s\n", strerror(errno));
    return arg;
}
int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    fd = open("c.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (write(fd, "1", 1) < 0) printf("main: %s\n", strerror(errno));
    pthread_t t;
    pthread_create(&t, NULL, second, NULL);
    pthread_join(t, NULL);
    pid_t child = fork();
    if (child == 0) {
        if (write(fd, "c", 1) < 0) printf("child 1: %s\n", strerror(errno));
        if (write(fd, "c", 1) < 0) printf("child 2: %s\n", strerror(errno));
        _exit(0);
    }
    waitpid(child, NULL, 0);
    return 0;
}
"#;
    c_program(dir.path(), "count", src, &["-static", "-pthread"]);
    let rule = "sys:write[path=*/c.txt,when=2]=error(EIO)";
    let (_, out, err) = run(dir.path(), &["-r", rule, "--", "./count"]);
    assert_eq!(out, "thread: Input/output error\nchild 2: Input/output error\n", "{err}");
    assert!(err.contains("2 processes"), "{err}");

    c_program(dir.path(), "save", SAVE, &["-static"]);
    let rule = "sys:write[path=*/out.txt,when=1]=error(ENOSPC)";
    let script = "echo x > out.txt || echo 'sh: failed'; exec ./save";
    let (_, out, err) =
        run(dir.path(), &["--backend", "seccomp", "-r", rule, "--", "sh", "-c", script]);
    assert!(out.contains("sh: failed"), "the shell's first write: {out}{err}");
    assert!(
        out.contains("write 0: No space left on device"),
        "the exec'd program's first: {out}{err}"
    );
    assert!(out.contains("write 1: 12"), "{out}");
}

/// With a timer firing every 50 µs, many writes made on the program's behalf are interrupted
/// by a signal while the program waits; the kernel must not restart them (the filter waits
/// killably), or the file would hold more bytes than were written.
#[test]
fn a_signal_never_repeats_a_call_made_for_the_program() {
    let dir = TempDir::new("seccomp-signal");
    let src = r#"
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>
static volatile long ticks;
static void tick(int s) { (void)s; ticks++; }
int main(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = tick;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = {{0, 50}, {0, 50}};
    setitimer(ITIMER_REAL, &it, NULL);
    int fd = open("out.bin", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    char block[100];
    memset(block, 'x', sizeof block);
    long total = 0;
    for (int i = 0; i < 3000; i++) {
        long n = write(fd, block, sizeof block);
        if (n > 0) total += n;
    }
    printf("%ld %ld\n", total, ticks);
    return 0;
}
"#;
    c_program(dir.path(), "ticks", src, &["-static"]);
    let rule = "sys:write[path=*/out.bin]=corrupt(zero)";
    let (code, out, err) = run(dir.path(), &["-q", "-r", rule, "--", "./ticks"]);
    assert_eq!(code, Some(0), "{err}");
    let nums: Vec<u64> = out.split_whitespace().map(|n| n.parse().unwrap()).collect();
    assert_eq!(nums[0], 300_000, "{out}");
    assert!(nums[1] > 100, "the timer fired during the writes: {out}");
    let len = std::fs::metadata(dir.join("out.bin")).unwrap().len();
    assert_eq!(len, 300_000, "every write made once");
}

/// A call made on the program's behalf is not made for a task that died after its buffer and
/// descriptor were read: the supervisor checks the notification first
/// (`SECCOMP_IOCTL_NOTIF_ID_VALID`). A test-only hook (`FAILINJECT_TEST_HOLD_AFTER_READ`)
/// holds the supervisor right there while the test kills the writer; the writer's parent keeps
/// the run going until the supervisor has logged the call, so that a write it made would be
/// seen in the file.
#[test]
fn a_call_is_not_made_for_a_task_killed_after_its_buffer_was_read() {
    use nix::sys::signal::{Signal, kill};
    use std::time::{Duration, Instant};
    let dir = TempDir::new("seccomp-idvalid");
    let src = r#"
#include <fcntl.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>
int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    pid_t child = fork();
    if (child == 0) {
        int fd = open("f", O_WRONLY | O_CREAT | O_TRUNC, 0644);
        printf("write: %zd\n", write(fd, "abcdef", 6));
        _exit(0);
    }
    int status;
    waitpid(child, &status, 0);
    if (WIFSIGNALED(status)) printf("writer killed by signal %d\n", WTERMSIG(status));
    else printf("writer exited with %d\n", WEXITSTATUS(status));
    /* The run ends with this process: it waits until the test has seen the call logged. */
    for (int i = 0; access("go", F_OK) != 0 && i < 4000; i++) usleep(5000);
    return 0;
}
"#;
    c_program(dir.path(), "writer", src, &["-static"]);
    let hold = dir.join("hold");
    let rule = "sys:write[path=*/f]=short(3)";
    let args = ["run", "--backend", "seccomp", "--log", "run.jsonl", "-r", rule, "--", "./writer"];
    let mut cmd = failinject(dir.path(), &args);
    cmd.env("FAILINJECT_TEST_HOLD_AFTER_READ", &hold)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = cmd.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let wait_for = |what: &str, done: &dyn Fn() -> bool| {
        while !done() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(1));
        }
    };

    // The supervisor has read the writer's buffer and taken its descriptor, and holds.
    let pid = || std::fs::read_to_string(&hold).ok()?.parse::<i32>().ok();
    wait_for("the hold file", &|| pid().is_some());
    let pid = pid().unwrap();
    kill(nix::unistd::Pid::from_raw(pid), Signal::SIGKILL).unwrap();
    // Reaped by its parent: the notification is gone.
    wait_for("the writer to be reaped", &|| !Path::new(&format!("/proc/{pid}")).exists());
    std::fs::remove_file(&hold).unwrap();
    let log = dir.join("run.jsonl");
    wait_for("the supervisor to log the call", &|| {
        std::fs::read_to_string(&log).unwrap_or_default().contains(r#""type":"inject""#)
    });
    std::fs::write(dir.join("go"), "").unwrap();
    let done = child.wait_with_output().unwrap();
    let (out, err) = (text(&done.stdout), text(&done.stderr));

    assert_eq!(done.status.code(), Some(0), "{out}{err}");
    assert_eq!(out, "writer killed by signal 9\n", "{err}");
    assert_eq!(std::fs::read(dir.join("f")).unwrap(), b"", "written for a dead task: {err}");
    // Logged as decided, with no result: the call was not made.
    let recs = records(&log);
    let inject = recs.iter().find(|r| r["type"] == "inject").unwrap();
    assert_eq!(inject["pid"], pid, "{err}");
    assert!(inject.get("result").is_none(), "{inject}");
    // Its end is logged as seen, not as an exit it never made.
    let end = recs.iter().find(|r| r["type"] == "exit" && r["pid"] == pid).unwrap();
    assert_eq!(end["reason"], "ended", "{end}");
}

/// A call made on the program's behalf through an `O_DIRECT` descriptor works as the program's
/// own would: the supervisor's copy of the buffer is page-aligned, as `O_DIRECT` needs (an
/// unaligned copy fails with `EINVAL`). A database's direct write, shortened, is short, and
/// its data is the program's.
#[test]
fn a_direct_io_write_made_for_the_program_keeps_its_alignment() {
    let dir = TempDir::new("seccomp-direct");
    let src = r#"
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
int main(void) {
    void *buf;
    if (posix_memalign(&buf, 4096, 8192)) return 1;
    memset(buf, 'd', 8192);
    int fd = open("direct.dat", O_RDWR | O_CREAT | O_TRUNC | O_DIRECT, 0644);
    if (fd < 0) { printf("open: %s\n", strerror(errno)); return 1; }
    ssize_t n = write(fd, buf, 8192);
    if (n < 0) printf("write: %s\n", strerror(errno)); else printf("write: %zd\n", n);
    n = pread(fd, buf, 4096, 0);
    if (n < 0) printf("pread: %s\n", strerror(errno)); else printf("pread: %zd\n", n);
    return close(fd) ? 1 : 0;
}
"#;
    c_program(dir.path(), "direct", src, &["-static"]);
    let (code, out, err) = run(
        dir.path(),
        &[
            "-r",
            "sys:write[path=*/direct.dat]=short(4096)",
            "-r",
            "sys:pread=short(512)",
            "--",
            "./direct",
        ],
    );
    assert_eq!(code, Some(0), "{out}{err}");
    assert_eq!(out, "write: 4096\npread: 512\n", "{err}");
    assert_eq!(std::fs::read(dir.join("direct.dat")).unwrap(), vec![b'd'; 4096]);
}

/// `io_uring_setup` and `io_setup` fail with ENOSYS, so a program that can fall back to plain
/// calls does, and its rule fires; the summary says so. Allowed, they go through.
#[test]
fn async_io_is_turned_away_so_programs_fall_back() {
    let dir = TempDir::new("seccomp-uring");
    let src = r#"
#include <errno.h>
#include <fcntl.h>
#include <linux/aio_abi.h>
#include <linux/io_uring.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(void) {
    struct io_uring_params p;
    memset(&p, 0, sizeof p);
    long ring = syscall(SYS_io_uring_setup, 4, &p);
    aio_context_t ctx = 0;
    long aio = syscall(SYS_io_setup, 4, &ctx);
    printf("io_uring %s, aio %s\n", ring >= 0 ? "ok" : strerror(errno), aio == 0 ? "ok" : strerror(errno));
    int fd = open("u.dat", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (pwrite(fd, "x", 1, 0) < 0) printf("fallback pwrite: %s\n", strerror(errno));
    return 0;
}
"#;
    c_program(dir.path(), "uring", src, &["-static"]);
    let rule = "sys:pwrite[path=*/u.dat]=error(EIO)";
    let (_, out, err) = run(dir.path(), &["-r", rule, "--", "./uring"]);
    assert!(
        out.starts_with("io_uring Function not implemented, aio Function not implemented"),
        "{out}"
    );
    assert!(out.contains("fallback pwrite: Input/output error"), "{out}");
    assert!(err.contains("io_uring_setup failed with ENOSYS 1 time"), "{err}");
    assert!(err.contains("io_setup failed with ENOSYS 1 time"), "{err}");
    let (_, out, err) =
        run(dir.path(), &["--allow-io-uring", "--allow-aio", "-r", rule, "--", "./uring"]);
    assert!(out.starts_with("io_uring ok, aio ok"), "{out}{err}");
    assert!(!err.contains("ENOSYS"), "{err}");
}

/// What needs the library in the process is refused, before anything runs, with what to do.
#[test]
fn what_needs_the_library_is_refused_before_the_program_runs() {
    let dir = TempDir::new("seccomp-refused");
    c_program(dir.path(), "save", SAVE, &["-static"]);
    for (rule, says) in [
        (
            "sys:fwrite=error(EIO)",
            "makes no system call of its own, so this backend cannot see it; use sys:write|writev",
        ),
        ("sys:write[site=ab12]=error(EIO)", "`site=` needs the library inside the process"),
        ("sys:write[within=tx]=error(EIO)", "`within=` needs the library inside the process"),
        ("wal::append=return", "an in-code point lives in the program's library"),
        ("sys:close=error(EIO)", "must still release the descriptor"),
    ] {
        let (code, out, err) = run(dir.path(), &["-r", rule, "--", "./save"]);
        assert_eq!(code, Some(2), "{rule}: {out}{err}");
        assert!(err.contains(&format!("cannot carry out `{rule}`")), "{err}");
        assert!(err.contains(says), "{rule}: {err}");
        assert!(out.is_empty() && !dir.join("out.txt").exists(), "nothing ran: {err}");
    }
    let args = ["--backend", "seccomp", "--ctl", "--trap", "@nonsense", "--", "./save"];
    let (code, _, err) = run(dir.path(), &args);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--trap @nonsense"), "{err}");
}

/// No root: an unprivileged user (made by the test when it runs as root) runs a static
/// program under the backend and sees its fault.
#[test]
fn an_unprivileged_user_can_use_the_backend() {
    let dir = TempDir::new("seccomp-user");
    c_program(dir.path(), "save", SAVE, &["-static"]);
    let bin = dir.join("failinject");
    std::fs::copy(installed(), &bin).unwrap();
    let user = "failinject-sc";
    let chown = std::process::Command::new("chmod").arg("-R").arg("a+rwX").arg(dir.path()).status();
    assert!(chown.is_ok_and(|s| s.success()));
    let out = as_user(user, &bin, &["run", "-r", "sys:fsync=error(EIO)", "--", "./save"])
        .current_dir(dir.path())
        .env("XDG_CACHE_HOME", dir.path())
        .output()
        .unwrap();
    let (out, err) = (text(&out.stdout), text(&out.stderr));
    assert!(out.contains("fsync: Input/output error"), "{out}{err}");
    let id = std::process::Command::new("stat")
        .args(["-c", "%U"])
        .arg(dir.join("out.txt"))
        .output()
        .unwrap();
    if nix::unistd::geteuid().is_root() {
        assert_eq!(text(&id.stdout).trim(), user, "it ran as the user");
    }
}

/// `check --backend seccomp` and `points --json` say what each backend takes.
#[test]
fn check_and_points_say_what_each_backend_takes() {
    let dir = TempDir::new("seccomp-check");
    let out = output(failinject(
        dir.path(),
        &[
            "check",
            "--backend",
            "seccomp",
            "-r",
            "sys:open|fsync=error(EIO)",
            "-r",
            "sys:fwrite=short",
        ],
    ));
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "a refused rule fails the check: {stdout}");
    assert!(stdout.contains("seccomp: traps fsync, open, openat, openat2"), "{stdout}");
    assert!(stdout.contains("seccomp: refused: `sys:fwrite` makes no system call"), "{stdout}");
    let out = output(failinject(dir.path(), &["check", "-r", "sys:fwrite=short"]));
    assert_eq!(out.status.code(), Some(0), "the preload takes it");

    let out = output(failinject(dir.path(), &["points", "--json"]));
    let points: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let point = |name: &str| {
        points.as_array().unwrap().iter().find(|p| p["point"] == name).unwrap().clone()
    };
    let write = point("sys:write");
    assert_eq!(write["backends"]["seccomp"]["syscalls"], serde_json::json!(["write"]));
    let tasks = write["backends"]["seccomp"]["tasks"].as_array().unwrap();
    assert!(tasks.contains(&"short".into()) && tasks.contains(&"powercut".into()), "{write}");
    let filters = write["backends"]["seccomp"]["filters"].as_array().unwrap();
    assert!(!filters.contains(&"site".into()), "{write}");
    assert!(write["backends"]["preload"]["filters"].as_array().unwrap().contains(&"site".into()));
    let fwrite = point("sys:fwrite");
    assert_eq!(fwrite["backends"]["seccomp"]["instead"], "sys:write|writev");
    assert_eq!(fwrite["backends"]["seccomp"]["tasks"], serde_json::json!([]));
}

/// Crash tracking through the supervisor: every process's unsynced writes are rolled back at
/// a power cut (a forked child's too), and `lose` drops a file's unsynced writes at a failed
/// sync so that a retried sync succeeds over the loss.
#[test]
fn power_cuts_and_lost_writes_roll_back_every_process() {
    let dir = TempDir::new("seccomp-crash");
    let src = r#"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    int fd = open("db", O_RDWR | O_CREAT | O_TRUNC, 0644);
    write(fd, "synced--", 8);
    if (fsync(fd)) printf("fsync 1: %s\n", strerror(errno));
    pid_t child = fork();
    if (child == 0) {
        int c = open("child.dat", O_WRONLY | O_CREAT | O_TRUNC, 0644);
        write(c, "child's unsynced bytes", 22);
        pwrite(fd, "KID!", 4, 0);
        _exit(0);
    }
    waitpid(child, NULL, 0);
    write(fd, "-second", 7);
    if (fsync(fd)) printf("fsync 2: %s\n", strerror(errno));
    if (fsync(fd) == 0) printf("fsync 3: ok\n");
    if (argc > 1) {
        pwrite(fd, "LATE", 4, 4);
        int m = open("marker", O_WRONLY | O_CREAT, 0644);
        write(m, "x", 1);
        printf("not reached\n");
    }
    return 0;
}
"#;
    c_program(dir.path(), "crash", src, &["-static"]);
    let (code, out, err) = run(dir.path(), &["-r", "sys:fsync[when=2]=lose(EIO)", "--", "./crash"]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert_eq!(out, "fsync 2: Input/output error\nfsync 3: ok\n", "{err}");
    // The child's overwrite and the parent's second write were dropped by the failed sync.
    assert_eq!(std::fs::read_to_string(dir.join("db")).unwrap(), "synced--");

    // The first run left child.dat, which the model would take as durable: start without it.
    std::fs::remove_file(dir.join("child.dat")).unwrap();
    let rule = "sys:write[path=*/marker]=powercut";
    let (code, out, err) = run(dir.path(), &["-r", rule, "--", "./crash", "cut"]);
    assert_eq!(code, Some(137), "{out}{err}");
    assert!(!out.contains("not reached"), "{out}");
    assert!(err.contains("power cut by rule 1"), "{err}");
    assert_eq!(
        std::fs::read_to_string(dir.join("db")).unwrap(),
        "KID!ed---second",
        "synced by the third fsync, the late overwrite lost: {err}"
    );
    assert_eq!(std::fs::read(dir.join("child.dat")).unwrap(), b"", "never synced: empty");
}

/// Cuts that keep some unsynced changes (`prefix`, `any`, `torn`) keep some under the
/// supervisor too: each write is made on the program's behalf so that its count is known, and
/// what it left is kept in the model. Over seeds, a prefix cut keeps prefixes of the eight
/// unsynced writes, not always none (as when what the writes left was not kept).
#[test]
fn cuts_that_keep_changes_keep_some_of_them() {
    let dir = TempDir::new("seccomp-prefix");
    let src = r#"
#include <fcntl.h>
#include <unistd.h>
int main(void) {
    int fd = open("f", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    fsync(fd);
    for (int i = 0; i < 8; i++) write(fd, "abcdefgh", 8);
    fsync(fd);
    return 0;
}
"#;
    c_program(dir.path(), "eight", src, &["-static"]);
    let mut kept = std::collections::BTreeSet::new();
    for seed in 1..=8 {
        let seed = seed.to_string();
        for mode in ["prefix", "any"] {
            let rule = format!("sys:fsync[when=2]=powercut({mode})");
            let (code, out, err) =
                run(dir.path(), &["--seed", &seed, "-r", &rule, "--", "./eight"]);
            assert_eq!(code, Some(137), "{out}{err}");
            let data = std::fs::read(dir.join("f")).unwrap();
            if mode == "prefix" {
                assert!(b"abcdefgh".repeat(8).starts_with(&data), "a prefix: {data:?} {err}");
            }
            kept.insert(data.len());
        }
    }
    assert!(kept.len() > 2 && kept.iter().all(|n| n % 8 == 0), "{kept:?}");
}

/// A rule that never fires says why under the supervisor too, from the near misses of the
/// calls it traps: its own function on a standard stream (the fix: `kind=file`), and another
/// function of its class that crash tracking traps (`pwrite` beside `write`).
#[test]
fn a_rule_that_never_fires_names_its_near_miss() {
    let dir = TempDir::new("seccomp-near");
    let src = r#"
#include <fcntl.h>
#include <unistd.h>
int main(void) {
    /* Its standard output is a file (a pipe's writes are skipped by kind already). */
    dup2(open("out.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644), 1);
    int fd = open("f", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    pwrite(fd, "data", 4, 0);
    write(1, "saved\n", 6);
    return close(fd);
}
"#;
    c_program(dir.path(), "pw", src, &["-static"]);
    let (code, _, err) = run(dir.path(), &["-r", "sys:write=error(ENOSPC)", "--", "./pw"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        err.contains("out.txt through its fd 1, which a rule without a path, fd or kind filter"),
        "{err}"
    );
    assert!(err.contains("`sys:write[kind=file]=error(ENOSPC)`"), "{err}");
    // With a power cut rule every write is trapped: the pwrite to f is the telling one.
    let rules = ["-r", "sys:write[path=*/f]=error(EIO)", "-r", "sys:fsync[path=*/no]=powercut"];
    let mut args = rules.to_vec();
    args.extend(["--", "./pw"]);
    let (code, _, err) = run(dir.path(), &args);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("f through `pwrite`, which this rule does not name"), "{err}");
    assert!(err.contains("try `sys:@write[path=*/f]=error(EIO)`"), "{err}");
}

/// Under the seccomp backend the run's control socket is `failinject run`'s own: rules set
/// there reach every process, `list` and `wait` count over the run, a rule on a call the
/// filter does not trap is refused, and `powercut` cuts the whole run's power.
#[test]
fn the_control_socket_is_the_runs_own() {
    let dir = TempDir::new("seccomp-ctl");
    let src = r#"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    int fd = open("f.dat", O_RDWR | O_CREAT | O_TRUNC, 0644);
    /* A rule set over the socket may come before this first write: it says so too. */
    if (write(fd, "synced", 6) < 0) printf("write first: %s\n", strerror(errno));
    fsync(fd);
    for (int i = 0; access("stop", F_OK) != 0 && i < 2000; i++) {
        if (write(fd, "x", 1) < 0) printf("write %d: %s\n", i, strerror(errno));
        usleep(5000);
    }
    return 0;
}
"#;
    c_program(dir.path(), "loop", src, &["-static"]);
    let start = |rules: &[&str]| {
        let mut args = vec!["run", "--ctl", "--backend", "seccomp"];
        for r in rules {
            args.extend(["-r", r]);
        }
        args.extend(["--", "./loop"]);
        let mut cmd = failinject(dir.path(), &args);
        cmd.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
        let child = cmd.spawn().unwrap();
        let pid = child.id().to_string();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while output(failinject(dir.path(), &["ctl", &pid, "seed"])).status.code() != Some(0) {
            assert!(std::time::Instant::now() < deadline, "the socket never came up");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        (child, pid)
    };
    let ctl = |words: &[&str]| {
        let mut args = vec!["ctl"];
        args.extend_from_slice(words);
        let out = output(failinject(dir.path(), &args));
        (out.status.code(), text(&out.stdout), text(&out.stderr))
    };

    let (child, pid) = start(&[]);
    let rule = "sys:write[path=*/f.dat]=2*error(EIO)";
    let (code, out, err) = ctl(&[&pid, "set", rule]);
    assert_eq!(code, Some(0), "{out}{err}");
    let (code, out, err) = ctl(&["--run", &pid, "wait", "sys:write[path=*/f.dat]", "2", "10000"]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("ok sys:write[path=*/f.dat] injected 2"), "{out}");
    let (_, out, _) = ctl(&[&pid, "list"]);
    // The program goes on writing meanwhile: the matches grow, the injections stay at 2.
    let row: Vec<&str> = out.lines().next().unwrap_or_default().split('\t').collect();
    assert_eq!(row[..2], ["sys:write[path=*/f.dat]", "2*error(EIO)"], "{out}");
    assert!(row[2].parse::<u64>().unwrap() >= 2 && row[3] == "2", "{out}");
    let (code, _, err) = ctl(&[&pid, "set", "sys:pread=error(EIO)"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("not trapped") && err.contains("--trap"), "{err}");
    let (code, _, err) = ctl(&[&pid, "powercut"]);
    assert_eq!(code, Some(1), "no tracking without a powercut rule at start: {err}");
    std::fs::write(dir.join("stop"), "").unwrap();
    let done = child.wait_with_output().unwrap();
    let (out, err) = (text(&done.stdout), text(&done.stderr));
    assert_eq!(done.status.code(), Some(0), "{out}{err}");
    assert_eq!(out.lines().filter(|l| l.ends_with("Input/output error")).count(), 2, "{out}");
    assert!(err.contains(&format!("2  {rule}")), "the summary counts the rule set later: {err}");
    std::fs::remove_file(dir.join("stop")).unwrap();

    // A power cut over the socket: the unsynced writes are rolled back.
    let (child, pid) = start(&["sys:fsync[path=*/never]=powercut"]);
    std::thread::sleep(std::time::Duration::from_millis(300));
    let (code, out, err) = ctl(&["--run", &pid, "powercut"]);
    assert_eq!(code, Some(0), "{out}{err}");
    let done = child.wait_with_output().unwrap();
    assert_eq!(done.status.code(), Some(137), "{}", text(&done.stderr));
    assert_eq!(std::fs::read_to_string(dir.join("f.dat")).unwrap(), "synced");
}

/// `explore` over a static program: auto picks the seccomp backend, fails each (call, file)
/// in turn, and finds the fsync whose error the program swallows; the repro line injects.
#[test]
fn explore_finds_a_swallowed_fsync_in_a_static_program() {
    let dir = TempDir::new("seccomp-explore");
    let src = r#"
#include <fcntl.h>
#include <unistd.h>
int main(void) {
    int fd = open("data.db", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return 1;
    if (write(fd, "record\n", 7) != 7) return 1;
    fsync(fd); /* the error is swallowed */
    return close(fd) ? 1 : 0;
}
"#;
    c_program(dir.path(), "swallow", src, &["-static"]);
    let out = output(failinject(
        dir.path(),
        &["explore", "-j", "2", "--report", "rep", "--", "./swallow"],
    ));
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "a finding: {err}");
    assert!(err.contains("backend seccomp: ./swallow is statically linked"), "{err}");
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("rep/report.json")).unwrap()).unwrap();
    let findings = report["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{err}");
    let f = &findings[0];
    assert_eq!(f["outcome"], "swallowed");
    assert_eq!(f["point"], "sys:fsync");
    let repro = f["repro"].as_str().unwrap();
    assert!(repro.contains("--backend seccomp") && repro.contains("path="), "{repro}");
    // Errors on writes are handled: the program checks them.
    assert!(report["outcomes"]["handled"].as_u64().unwrap() >= 3, "{report}");
    let done = output(shell(dir.path(), repro));
    assert!(text(&done.stderr).contains("1         1  sys:fsync"), "{}", text(&done.stderr));
}

/// `explore --depth 2` over a static program: a site is a call and its file, so the recovery
/// path behind a failed write shows as calls to a file the recording never touched (the
/// journal the program notes the failure in), each failed in a run of its own after the
/// first fault. Calls the recording made too (the log line written on either path) are the
/// fault-free path: the same file in every run's own directory is the same site. And the
/// fsync retried over a lost writeback (`lose(EIO)`) is a `retried-sync` finding, judged
/// from the retried sync's result as the supervisor made it.
#[test]
fn explore_at_depth_2_follows_recovery_paths_in_a_static_program() {
    let dir = TempDir::new("seccomp-depth2");
    let src = r#"
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
static int note(const char *what) {
    int l = open("app.log", O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (l < 0 || write(l, what, strlen(what)) != (ssize_t)strlen(what)) return 1;
    return close(l) ? 1 : 0;
}
int main(void) {
    const char *text = "hello, durable world\n";
    int fd = open("data.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return 1;
    if (write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
        int j = open("journal.txt", O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (j < 0 || write(j, "write failed\n", 13) != 13) return 2;
        note("failed\n");
        return 1;
    }
    int tries = 0;
    while (fsync(fd) != 0)
        if (++tries == 3) return 1;
    if (close(fd)) return 1;
    return note("saved\n");
}
"#;
    c_program(dir.path(), "retry", src, &["-static"]);
    let out = output(failinject(
        dir.path(),
        &["explore", "--depth", "2", "-j", "2", "--report", "rep", "--", "./retry"],
    ));
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("rep/report.json")).unwrap()).unwrap();
    let findings = report["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{err}");
    assert_eq!(findings[0]["outcome"], "retried-sync", "{err}");
    assert_eq!(findings[0]["task"], "lose(EIO)");
    let results = report["results"].as_array().unwrap();
    assert!(results.iter().all(|r| !r["outcome"].is_null()), "every run's faults fired: {err}");
    let second: Vec<&serde_json::Value> =
        results.iter().filter(|r| r.get("after").is_some_and(|a| !a.is_null())).collect();
    // Three write errors, each followed by the journal's open and its write; not the log's.
    assert_eq!(second.len(), 6, "{err}");
    for r in &second {
        let rules = r["rules"].as_array().unwrap();
        assert_eq!(rules.len(), 2, "{r}");
        assert!(rules[0].as_str().unwrap().starts_with(r#"sys:write[path="*/data.txt""#), "{r}");
        assert!(rules[1].as_str().unwrap().contains(r#"[path="*/journal.txt","#), "{r}");
        assert_eq!(r["outcome"], "handled", "{r}");
    }
    // A second-level run reproduces with both faults: the journal's write fails too.
    let write = second.iter().find(|r| r["function"] == "write").unwrap();
    let repro = write["repro"].as_str().unwrap();
    assert_eq!(repro.matches(" -r ").count(), 2, "{repro}");
    let again = output(shell(dir.path(), repro));
    assert_eq!(again.status.code(), Some(2), "{}", text(&again.stderr));
}

/// `explore --crash=search` over a static program: the supervisor records every change
/// (writes made on the program's behalf, so their count is known; truncations, creations and
/// renames once seen done), and the search finds the states a power cut can leave, as it does
/// under the preload: a rename without fsync can keep the rename and lose the write; an
/// in-place rewrite can leave the file truncated. The synced save has no such state.
#[test]
fn explore_searches_crash_states_of_a_static_program() {
    let dir = TempDir::new("seccomp-crash-search");
    c_program(dir.path(), "save", include_str!("../fixtures/explore/lazy_save.c"), &["-static"]);
    let rewrite = r#"
#include <fcntl.h>
#include <unistd.h>
int main(void) {
    int fd = open("data.txt", O_WRONLY | O_TRUNC);
    if (fd < 0 || write(fd, "version 2\n", 10) != 10) return 1;
    if (ftruncate(fd, 10) != 0) return 1;
    return close(fd) ? 1 : 0;
}
"#;
    c_program(dir.path(), "rewrite", rewrite, &["-static"]);
    let search = |command: &[&str]| {
        let mut args = crate::crash_search::SAVE_SEARCH.to_vec();
        args.push("--");
        args.extend_from_slice(command);
        let (out, json, _) = crate::explore::explore(&args);
        (out, json)
    };
    let (save, rewrite) = (dir.join("save"), dir.join("rewrite"));
    let (save, rewrite) = (save.to_str().unwrap(), rewrite.to_str().unwrap());
    let ops = |f: &serde_json::Value, k: &str| -> Vec<String> {
        f["crash"][k]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| format!("{} {}", c["op"].as_str().unwrap(), c["path"].as_str().unwrap()))
            .collect()
    };

    let (out, report) = search(&[save]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("save is statically linked"), "{err}");
    assert!(err.contains("crash search over 5 recorded changes"), "{err}");
    let findings = report["findings"].as_array().unwrap();
    let f = findings.iter().find(|f| f["function"] == "rename").expect("the rename's state");
    assert!(ops(f, "lost").contains(&"write data.tmp".to_string()), "{f}");
    assert!(ops(f, "kept").contains(&"rename data.tmp -> data.txt".to_string()), "{f}");
    assert_eq!(f["crash"]["minimal_proven"], true, "{f}");
    // Its line makes the state live: the rule names the file, and the supervisor cuts after
    // the change the recording made at the crash point (the rename, which the kernel makes:
    // the power fails at the program's next trapped call). The state is the one checked.
    let id = f["crash"]["id"].as_str().unwrap();
    let repro = f["repro"].as_str().unwrap();
    let rule = format!(r#"-r 'sys:@meta[path="*/data.txt"]=powercut(keep={id})'"#);
    assert!(repro.contains(&rule) && repro.contains("--backend seccomp"), "{repro}");
    let replay = output(shell(TempDir::new("seccomp-live").path(), repro));
    let said = text(&replay.stderr);
    assert_eq!(replay.status.code(), Some(1), "the oracle fails: {said}");
    assert!(said.contains("is the crash state explore checked"), "{said}");
    assert!(said.contains("power cut by rule 1"), "{said}");
    // A state after a write made on the program's behalf: the power fails at once.
    let g = findings.iter().find(|f| f["function"] == "write").expect("a write's state");
    let live = g["repro"].as_str().unwrap();
    let said = text(&output(shell(TempDir::new("seccomp-live2").path(), live)).stderr);
    assert!(said.contains("is the crash state explore checked"), "{said}");
    // Its re-check line checks that one state again through explore.
    let line = f["crash"]["recheck"].as_str().unwrap().replacen(
        "failinject explore ",
        "failinject explore --report again ",
        1,
    );
    let again = output(shell(dir.path(), &line));
    assert_eq!(again.status.code(), Some(1), "{}", text(&again.stderr));

    let (out, report) = search(&[save, "fsync"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("crash search over 7 recorded changes"), "{err}");
    assert!(report["crash_states"].as_u64().unwrap() >= 2, "{report}");

    let (out, report) = search(&[rewrite]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let f = report["findings"].as_array().unwrap().first().cloned().unwrap_or_default();
    assert_eq!(f["function"], "truncate", "{err}");
    assert_eq!(ops(&f, "kept"), ["truncate data.txt"], "emptied, not yet written: {f}");
}

/// Where `seccomp()` or `pidfd_getfd` is denied (a container profile, Yama's `ptrace_scope`
/// 2), `--backend seccomp` exits 2 naming the call and its error, and `auto` falls back to
/// the preload with a warning. The denial is real: `failinject` runs under a filter of a
/// launcher's that fails the call with EPERM, as a container runtime's profile does.
#[test]
fn a_machine_that_denies_the_backend_is_told_so() {
    let dir = TempDir::new("seccomp-denied");
    let launcher = r#"
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(int argc, char **argv) {
    unsigned nr = (unsigned)atoi(argv[1]);
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, nr, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | 1 /* EPERM */),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = { sizeof f / sizeof f[0], f };
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog))
        return 99;
    execv(argv[2], argv + 2);
    return 98;
}
"#;
    let deny = c_program(dir.path(), "deny", launcher, &[]);
    c_program(dir.path(), "save", SAVE, &["-static"]);
    let bin = installed().to_str().unwrap().to_string();
    for (nr, call) in [(libc::SYS_seccomp, "seccomp"), (libc::SYS_pidfd_getfd, "pidfd_getfd")] {
        let nr = nr.to_string();
        let args = [
            nr.as_str(),
            &bin,
            "run",
            "--backend",
            "seccomp",
            "-r",
            "sys:fsync=error(EIO)",
            "--",
            "./save",
        ];
        let out = output(like_failinject(dir.path(), &deny).args(args));
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(
            err.contains(&format!(
                "--backend seccomp cannot run here: {call} is denied here: Operation not permitted"
            )),
            "{err}"
        );
        assert!(!dir.join("out.txt").exists(), "nothing ran");
        // `auto` runs it under the preload instead, which cannot reach a static program.
        let args = [nr.as_str(), &bin, "run", "-r", "sys:fsync=error(EIO)", "--", "./save"];
        let out = output(like_failinject(dir.path(), &deny).args(args));
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{err}");
        assert!(err.contains(&format!("warning: {call} is denied here")), "{err}");
        assert!(err.contains("using the preload backend instead"), "{err}");
        std::fs::remove_file(dir.join("out.txt")).unwrap();
    }
}

/// A static program started below a dynamic command (a shell, a vfork'ing launcher) is handed
/// by the preload to `failinject run`'s supervisor at its exec: its calls meet the same rules,
/// counted afresh in each process, while the shell stays the preload's; a rule the backend
/// cannot carry out there is named.
#[test]
fn a_static_program_below_a_dynamic_command_is_handed_over() {
    let dir = TempDir::new("seccomp-handover");
    c_program(dir.path(), "save", SAVE, &["-static"]);
    let launcher = r#"
#include <sys/wait.h>
#include <unistd.h>
int main(void) {
    pid_t p = vfork();
    if (p == 0) { execl("./save", "./save", (char *)0); _exit(127); }
    int status;
    waitpid(p, &status, 0);
    return WEXITSTATUS(status);
}
"#;
    c_program(dir.path(), "launch", launcher, &[]);
    let rule = "sys:write[path=*/out.txt,when=2]=error(ENOSPC)";
    let (code, out, err) = run(
        dir.path(),
        &["-r", rule, "-r", "sys:fputs=error(EIO)", "--", "sh", "-c", "./save; ./save"],
    );
    assert_eq!(code, Some(0), "{out}{err}");
    assert_eq!(out.matches("write 1: No space left on device").count(), 2, "{out}{err}");
    assert!(!err.contains("backend seccomp:"), "the command itself stays the preload's: {err}");
    assert!(!err.contains("no fault reaches"), "{err}");
    assert!(
        err.contains(
            "this rule is not carried out: `sys:fputs=error(EIO)`: `sys:fputs` makes no system call"
        ),
        "{err}"
    );
    let (code, out, err) = run(dir.path(), &["-r", "sys:fsync=error(EIO)", "--", "./launch"]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        out.contains("fsync: Input/output error"),
        "a vfork child hands it over too: {out}{err}"
    );
    // Under --backend preload nothing is handed over.
    let (_, out, err) =
        run(dir.path(), &["--backend", "preload", "-r", "sys:fsync=error(EIO)", "--", "./launch"]);
    assert!(out.contains("fsync: ok"), "{out}{err}");
}

/// Every task and filter works as under the preload: `return`, `kill`, `panic`, `print`,
/// `sleep`, and `exe=`, `proc=`, `size`, `fd=`, `kind=` choosing the calls.
#[test]
fn tasks_and_filters_work_as_under_the_preload() {
    let dir = TempDir::new("seccomp-tasks");
    c_program(dir.path(), "save", SAVE, &["-static"]);
    let one = |rule: &str| run(dir.path(), &["-r", rule, "--", "./save", "title-word"]);

    let (_, out, err) = one("sys:fsync=return(0)");
    assert!(out.contains("fsync: ok"), "{out}{err}");
    let (code, _, err) = one("sys:fsync=kill(TERM)");
    assert_eq!(code, Some(128 + 15), "{err}");
    assert!(err.contains("killed by rule 1 (kill(TERM))"), "{err}");
    let (code, _, err) = one("sys:fsync=panic(disk on fire)");
    assert_eq!(code, Some(128 + 6), "{err}");
    assert!(err.contains("failinject: panic at sys:fsync: disk on fire"), "{err}");
    let (_, out, err) = one("sys:fsync=print(syncing now)");
    assert!(
        out.contains("fsync: ok") && err.contains("failinject: sys:fsync: syncing now"),
        "{err}"
    );
    let (_, out, err) = one("sys:fsync=sleep(200)");
    assert!(out.contains("fsync: ok"), "{out}{err}");

    // Filters: the program's name, its title, the byte count, the descriptor, the kind.
    for (rule, fails) in [
        ("sys:fsync[exe=save]=error(EIO)", true),
        ("sys:fsync[exe=other]=error(EIO)", false),
        ("sys:fsync[proc=\"*title-word*\"]=error(EIO)", true),
        ("sys:fsync[proc=\"*nothing*\"]=error(EIO)", false),
        ("sys:write[size>11]=error(EIO)", true),
        ("sys:write[size<12]=error(EIO)", false),
        ("sys:write[fd=3]=error(EIO)", true),
        ("sys:write[kind=dir]=error(EIO)", false),
        ("sys:write[kind=file]=error(EIO)", true),
    ] {
        let (_, out, err) = one(rule);
        assert_eq!(out.contains("Input/output error"), fails, "{rule}: {out}{err}");
    }
}

/// `powercut(dirs)` under the seccomp backend: an atomic save (write a temporary file, sync
/// it, rename it into place) whose directory is never synced loses both the new name and the
/// temporary file; once the directory is synced after the rename, the file stays.
#[test]
fn a_power_cut_with_dirs_undoes_entries_of_unsynced_directories() {
    let dir = TempDir::new("seccomp-dirs");
    let src = r#"
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>
int main(int argc, char **argv) {
    mkdir("d", 0755);
    int dfd = open("d", O_RDONLY | O_DIRECTORY);
    fsync(dfd);
    int base = open(".", O_RDONLY | O_DIRECTORY);
    fsync(base);
    int fd = open("d/f.tmp", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    write(fd, "new contents\n", 13);
    fsync(fd);
    close(fd);
    rename("d/f.tmp", "d/f");
    if (argc > 1) fsync(dfd);
    int m = open("marker", O_WRONLY | O_CREAT, 0644);
    write(m, "x", 1);
    printf("not reached\n");
    return 0;
}
"#;
    c_program(dir.path(), "save", src, &["-static"]);
    let rule = "sys:write[path=*/marker]=powercut(dirs)";
    let entries = || {
        let mut v: Vec<String> = std::fs::read_dir(dir.join("d"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    let (code, out, err) = run(dir.path(), &["-r", rule, "--", "./save"]);
    assert_eq!(code, Some(137), "{out}{err}");
    assert!(
        entries().is_empty(),
        "the unsynced directory lost both entries: {:?} {err}",
        entries()
    );
    // The marker's creation was undone too: `.` was last synced before it.
    assert!(!dir.join("marker").exists(), "{err}");
    std::fs::remove_dir_all(dir.join("d")).unwrap();
    let (code, out, err) = run(dir.path(), &["-r", rule, "--", "./save", "sync"]);
    assert_eq!(code, Some(137), "{out}{err}");
    assert_eq!(entries(), ["f"], "{err}");
    assert_eq!(std::fs::read_to_string(dir.join("d/f")).unwrap(), "new contents\n");
}
