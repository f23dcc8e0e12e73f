//! A bare `LD_PRELOAD` tree is one run (`preload/src/bare.rs`): its first process founds the
//! run when its rules need one, forks the run's keeper, and every process below joins. A power
//! cut is then the whole tree's, as under `failinject run`, and the keeper follows the rules
//! of a thread of ours: every signal blocked, no descriptor of the program kept.

use std::path::Path;
use std::time::{Duration, Instant};

use failinject_tests::{Done, Run, TempDir, have};

const LIMIT: Duration = Duration::from_secs(30);

/// Runs `sh -c script` in `dir` under the preload with `rules`, run directories under
/// `dir/failinject` (`XDG_RUNTIME_DIR`).
fn sh(dir: &Path, rules: &str, script: &str) -> Done {
    Run::new(dir, rules, "sh", &["-c", script]).env("XDG_RUNTIME_DIR", dir).bounded(LIMIT)
}

/// Waits (5 s at most) until no run directory is left under `dir`; the ones left.
fn runs_left(dir: &Path) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let left: Vec<String> = std::fs::read_dir(dir.join("failinject"))
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect::<Vec<String>>()
            })
            .unwrap_or_default()
            .into_iter()
            .filter(|n: &String| n.starts_with("run-"))
            .collect();
        if left.is_empty() || Instant::now() > deadline {
            return left;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The founder (`sh`), a child that exited, and a child blocked in `sleep` each wrote a file
/// and synced nothing; a third child cuts the power. Every file is rolled back, every process
/// is gone, the founder dies by SIGKILL after the files are back (its parent reads them at
/// once), and the run's directory is taken down.
#[test]
fn a_power_cut_in_a_bare_tree_rolls_back_every_process_and_ends_them_all() {
    assert!(have("python3"), "python3 is needed: apt-get install -y python3");
    let dir = TempDir::new("bare-cut");
    for f in ["a", "b", "c"] {
        std::fs::write(dir.join(f), "synced\n").unwrap();
    }
    // The sleeper's pid is synced (`sync`) before the files are written; the sleeper writes
    // once the founder says `go`, and says `wrote`.
    let script = "(until [ -e go ]; do sleep 0.01; done; echo blocked >> c; : > wrote; sleep 30) & \
                  echo $! > sleeper; sync; : > go; \
                  echo founder >> a; (echo exited >> b); \
                  until [ -e wrote ]; do sleep 0.01; done; \
                  python3 -c 'import os; os.access(\"cut\", 0)'; echo survived";
    let done = sh(dir.path(), "sys:access[path=*cut]=powercut", script);
    assert_eq!(done.signal, Some(9), "{done:?}");
    assert!(!done.stdout.contains("survived"), "{done:?}");
    for f in ["a", "b", "c"] {
        assert_eq!(read(dir.path(), f), "synced\n", "{f} was not rolled back: {done:?}");
    }
    let sleeper = read(dir.path(), "sleeper").trim().to_string();
    let stat = std::fs::read_to_string(format!("/proc/{sleeper}/stat")).unwrap_or_default();
    let state = stat.rsplit_once(") ").map_or("", |(_, rest)| &rest[..1]);
    assert!(stat.is_empty() || state == "Z", "the blocked child survived: {stat}");
    assert_eq!(runs_left(dir.path()), Vec::<String>::new(), "the run's directory stayed");
}

/// Without a cut the keeper leaves with the last member, and takes the directory down.
#[test]
fn a_bare_run_ends_with_its_last_process() {
    let dir = TempDir::new("bare-end");
    let done = sh(dir.path(), "sys:access[path=*cut]=powercut", "echo x > f; (sleep 0.3 &)");
    assert_eq!(done.code, Some(0), "{done:?}");
    assert_eq!(read(dir.path(), "f"), "x\n");
    assert_eq!(runs_left(dir.path()), Vec::<String>::new());
}

/// `full(N)` is one disk for the tree: the budget one process spent is gone for the next.
#[test]
fn full_is_one_disk_for_a_bare_tree() {
    let dir = TempDir::new("bare-full");
    let script = "printf 12345678 | dd of=a status=none; printf abcdefgh | dd of=b status=none";
    let done = sh(dir.path(), r#"sys:write[path~"/[ab]$"]=full(10)"#, script);
    assert_eq!(read(dir.path(), "a"), "12345678", "{done:?}");
    assert_eq!(read(dir.path(), "b"), "ab", "the child drew on the same 10 bytes: {done:?}");
}

/// `FAILINJECT_RUN=none`: every process is a machine of its own, as before runs existed.
#[test]
fn failinject_run_none_keeps_each_process_apart() {
    assert!(have("python3"), "python3 is needed: apt-get install -y python3");
    let dir = TempDir::new("bare-none");
    std::fs::write(dir.join("a"), "synced\n").unwrap();
    std::fs::write(dir.join("b"), "synced\n").unwrap();
    let script = "echo child >> a; python3 -c 'import os; open(\"b\", \"a\").write(\"cutter\\n\"); \
                  os.access(\"cut\", 0)'; echo shell-alive";
    let done = Run::new(dir.path(), "sys:access[path=*cut]=powercut", "sh", &["-c", script])
        .env("XDG_RUNTIME_DIR", dir.path())
        .env("FAILINJECT_RUN", "none")
        .bounded(LIMIT);
    assert!(done.stdout.contains("shell-alive"), "only the cutter is killed: {done:?}");
    assert_eq!(read(dir.path(), "b"), "synced\n", "the cutter's own write is rolled back");
    assert_eq!(read(dir.path(), "a"), "synced\nchild\n", "another process's write stays");
    assert!(!dir.join("failinject").exists() || runs_left(dir.path()).is_empty());
}

/// The keeper is a process of ours: not the program's child (forked twice), in a session of
/// its own, every signal blocked, and none of the program's descriptors open (a pipe it kept
/// would keep the program's reader waiting). The program reads it from `/proc` while it runs.
#[test]
fn the_keeper_blocks_every_signal_and_keeps_no_descriptor_of_the_program() {
    assert!(have("python3"), "python3 is needed: apt-get install -y python3");
    let dir = TempDir::new("bare-keeper");
    let program = r#"
import os, struct
d = os.environ["FAILINJECT_RUN"]
k = struct.unpack("<I", open(d + "/state", "rb").read()[8:12])[0]
status = dict(l.split(":\t", 1) for l in open(f"/proc/{k}/status").read().splitlines() if ":\t" in l)
stat = open(f"/proc/{k}/stat").read().rsplit(") ", 1)[1].split()
fds = [os.readlink(f"/proc/{k}/fd/{f}") for f in os.listdir(f"/proc/{k}/fd")]
print("keeper", k, "me", os.getpid())
print("ppid", stat[1], "sid", stat[3], "mysid", os.getsid(0))
print("sigblk", status["SigBlk"].strip())
print("fds", " ".join(fds))
import signal, time
for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1, signal.SIGPIPE):
    os.kill(k, s)
time.sleep(0.2)
state = open(f"/proc/{k}/stat").read().rsplit(") ", 1)[1].split()[0]
print("after-signals", state)
"#;
    let done = Run::new(dir.path(), "sys:access[path=*cut]=powercut", "python3", &["-c", program])
        .env("XDG_RUNTIME_DIR", dir.path())
        .bounded(LIMIT);
    assert_eq!(done.code, Some(0), "{done:?}");
    let line = |key: &str| -> Vec<String> {
        let l =
            done.stdout.lines().find(|l| l.starts_with(key)).unwrap_or_else(|| panic!("{done:?}"));
        l.split_whitespace().map(str::to_owned).collect()
    };
    let (keeper, me) = (&line("keeper")[1], &line("keeper")[3]);
    assert_ne!(keeper, me);
    let ids = line("ppid");
    assert_ne!(&ids[1], me, "the keeper is the program's child: {done:?}");
    assert_ne!(ids[3], ids[5], "the keeper shares the program's session");
    let blocked = u64::from_str_radix(&line("sigblk")[1], 16).unwrap();
    for sig in [1, 2, 10, 13, 14, 15, 17, 28] {
        assert!(blocked & (1 << (sig - 1)) != 0, "signal {sig} is not blocked: {blocked:x}");
    }
    assert!(line("after-signals")[1] != "Z", "the keeper died of a signal: {done:?}");
    let fds = line("fds");
    assert!(
        fds[1..]
            .iter()
            .all(|f| f.starts_with("socket:") || f.contains("/dev/shm/") || f.contains("crash")),
        "the keeper holds descriptors of the program: {fds:?}"
    );
    assert_eq!(runs_left(dir.path()), Vec::<String>::new());
}
