//! `failinject ctl` against a live process started with `failinject run --ctl`.

use crate::common::*;
use std::io::{BufRead as _, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

/// A Python program that appends a line to `data` every 10 ms, counting failures, until a
/// file `stop` appears; then prints how many writes failed.
const WRITER: &str = r#"
import os, time
open("ready", "w").close()
fails = 0
while not os.path.exists("stop"):
    try:
        fd = os.open("data", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, b"record\n")
        finally:
            os.close(fd)
    except OSError:
        fails += 1
    time.sleep(0.01)
print(fails)
"#;

#[test]
fn set_list_wait_clear_on_a_live_process() {
    assert!(have("python3"), "python3 is needed (.ci/run installs it)");
    let dir = TempDir::new("ctl-live");
    // The interpreter itself, not a wrapper script (pyenv's shims exec several programs in
    // turn, each with a socket of its own at the same path, and rules set on one are gone
    // after its exec).
    let python = std::process::Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .unwrap();
    let python = text(&python.stdout).trim().to_string();
    let mut run = failinject(dir.path(), &["run", "--ctl", "--", &python, "-c", WRITER])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The first line on stderr names the socket and the pid.
    let mut stderr = BufReader::new(run.stderr.take().unwrap());
    let mut first = String::new();
    stderr.read_line(&mut first).unwrap();
    let pid = first
        .strip_prefix("failinject: control socket of pid ")
        .and_then(|r| r.split(':').next())
        .unwrap_or_else(|| panic!("no socket line: {first}"))
        .to_string();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !dir.join("ready").exists() {
        assert!(Instant::now() < deadline, "the program never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    let ctl = |args: &[&str]| {
        let mut all = vec!["ctl", pid.as_str()];
        all.extend_from_slice(args);
        output(failinject(dir.path(), &all))
    };

    let set = ctl(&["set", "sys:write[path=*/data]=error(EIO)"]);
    assert!(set.status.success(), "{}", text(&set.stderr));
    assert_eq!(text(&set.stdout).trim(), "ok sys:write[path=*/data]");

    let wait = ctl(&["wait", "sys:write[path=*/data]", "3", "10000"]);
    assert!(wait.status.success(), "{}", text(&wait.stderr));
    assert!(text(&wait.stdout).starts_with("ok sys:write[path=*/data] injected "));

    let list = ctl(&["list"]);
    assert!(list.status.success());
    let listing = text(&list.stdout);
    let row: Vec<&str> = listing.lines().next().unwrap().split('\t').collect();
    assert_eq!(row[..2], ["sys:write[path=*/data]", "error(EIO)"], "{listing}");
    assert!(row[3].parse::<u64>().unwrap() >= 3, "{listing}");
    assert!(listing.ends_with("ok 1 rules\n"), "{listing}");

    let seed = ctl(&["seed"]);
    assert!(text(&seed.stdout).lines().next().unwrap().parse::<u64>().is_ok());

    // Errors: a reply starting `err` is printed on stderr and the exit status is 1.
    let bad = ctl(&["remove", "sys:fsync"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(text(&bad.stderr).contains("no rule has the key sys:fsync"), "{}", text(&bad.stderr));
    let bad = ctl(&["set", "sys:wrte=error(EIO)"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(text(&bad.stderr).contains("unknown libc function `wrte`"));
    // The diagnostic comes as lines, the caret under the bad part.
    let lines: Vec<String> = text(&bad.stderr).lines().map(String::from).collect();
    let rule = lines.iter().position(|l| l == "  sys:wrte=error(EIO)");
    let rule = rule.unwrap_or_else(|| panic!("the rule on a line of its own: {lines:#?}"));
    assert_eq!(lines[rule + 1], "      ^^^^", "{lines:#?}");
    assert!(lines[rule + 2].starts_with("  help: did you mean `write`?"), "{lines:#?}");
    let bad = ctl(&["frobnicate"]);
    assert_eq!(bad.status.code(), Some(1));

    // Several commands on standard input, one connection.
    let mut piped = failinject(dir.path(), &["ctl", &pid])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write as _;
    piped.stdin.take().unwrap().write_all(b"clear\nlist\n").unwrap();
    let out = piped.wait_with_output().unwrap();
    assert!(out.status.success());
    assert_eq!(text(&out.stdout), "ok\nok 0 rules\n");

    std::fs::write(dir.join("stop"), "").unwrap();
    let done = run.wait_with_output().unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    assert_eq!(done.status.code(), Some(0), "{rest}");
    let fails: u64 = text(&done.stdout).trim().parse().unwrap();
    assert!(fails >= 3, "the program saw the injected failures: {fails}");
    // The rule set over the socket and removed by `clear` is in the summary, with its
    // actions and what the program saw: exact counts, kept from its `retired` record.
    let row = rest
        .lines()
        .find(|l| l.trim_end().ends_with("sys:write[path=*/data]=error(EIO)"))
        .unwrap_or_else(|| panic!("{rest}"));
    let numbers: Vec<&str> = row.split_whitespace().take(2).collect();
    assert_eq!(numbers, [fails.to_string(), fails.to_string()], "{rest}");
}

#[test]
fn unreachable_sockets_are_errors() {
    let dir = TempDir::new("ctl-none");
    let out = output(failinject(dir.path(), &["ctl", "999999999", "list"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("no control socket for pid 999999999"));
    assert!(text(&out.stderr).contains("no process with that pid is running"));

    // A command word where the pid belongs.
    let out = output(failinject(dir.path(), &["ctl", "list", "4242"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("`list` is a command, but the pid (or socket) comes first"),
        "{}",
        text(&out.stderr)
    );

    let out = output(failinject(dir.path(), &["ctl", "run", "list"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("`run` is a failinject command"), "{}", text(&out.stderr));

    // A file that is not a socket, and a socket that does not speak the protocol.
    std::fs::write(dir.join("plain"), "").unwrap();
    let out = output(failinject(dir.path(), &["ctl", "plain", "list"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("plain is not a socket"), "{}", text(&out.stderr));
    let listener = std::os::unix::net::UnixListener::bind(dir.join("other.sock")).unwrap();
    let server = std::thread::spawn(move || {
        use std::io::Write as _;
        let (mut conn, _) = listener.accept().unwrap();
        let _ = conn.write_all(b"220 welcome to some other service\n");
        std::thread::sleep(Duration::from_millis(500));
    });
    let out = output(failinject(dir.path(), &["ctl", "other.sock", "list"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("other.sock is not a failinject control socket"),
        "{}",
        text(&out.stderr)
    );
    server.join().unwrap();

    let me = std::process::id().to_string();
    let out = output(failinject(dir.path(), &["ctl", &me, "list"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("was it started with `failinject run --ctl`?"));

    let out = output(failinject(dir.path(), &["ctl", "/nonexistent/x.sock", "list"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("cannot connect to the control socket /nonexistent/x.sock"));
}
