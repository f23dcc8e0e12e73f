//! The control socket (`FAILINJECT_CTL`): rules changed in a running program, `wait`,
//! malformed input, other uids, and no thread when it is not asked for.

use failinject_tests::{Ctl, TempDir, compile_c, preload};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// A python3 program under the preload that writes one byte to `f.dat` every 10 ms for
/// `secs` seconds, then prints how many writes failed and its thread count.
fn writer(dir: &TempDir, secs: u32, ctl: Option<&Path>) -> Child {
    let script = format!(
        "import os, time\n\
         fd = os.open('f.dat', os.O_WRONLY | os.O_CREAT)\n\
         fails = 0\n\
         end = time.time() + {secs}\n\
         while time.time() < end:\n\
         \x20   try: os.write(fd, b'x')\n\
         \x20   except OSError: fails += 1\n\
         \x20   time.sleep(0.01)\n\
         print('fails', fails, 'threads', len(os.listdir('/proc/self/task')))\n"
    );
    let mut cmd = Command::new(python());
    cmd.args(["-c", &script])
        .current_dir(dir.path())
        .env("LD_PRELOAD", preload())
        .env("FAILINJECT", "")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(ctl) = ctl {
        cmd.env("FAILINJECT_CTL", ctl);
    }
    cmd.spawn().expect("python3 is installed (.ci/run installs it)")
}

/// The real python3 executable (not a wrapper script such as pyenv's shim, whose own process
/// would serve the socket first and then exec python, dropping the connection).
fn python() -> String {
    let out = Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .expect("python3 is installed (.ci/run installs it)");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn finish(child: Child) -> String {
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn rules_change_in_a_running_program() {
    let dir = TempDir::new("ctl-live");
    let sock: PathBuf = dir.join("ctl.sock");
    let child = writer(&dir, 2, Some(&sock));
    let mut conn = Ctl::connect(&sock);
    let key = "sys:write[path=*/f.dat]";
    assert_eq!(conn.ask(&format!("set {key}=error(EIO)")), [format!("ok {key}")]);
    let list = conn.ask("list");
    assert!(list[0].starts_with(&format!("{key}\terror(EIO)\t")), "{list:?}");
    assert_eq!(list.last().unwrap(), "ok 1 rules");
    let waited = conn.ask(&format!("wait {key} 5 5000"));
    assert!(waited[0].starts_with(&format!("ok {key} injected ")), "{waited:?}");
    let timed_out = conn.ask(&format!("wait {key} 1000000 50"));
    assert!(timed_out[0].starts_with("err timeout after 50 ms"), "{timed_out:?}");
    assert_eq!(conn.ask("clear"), ["ok"]);
    assert_eq!(conn.ask("list"), ["ok 0 rules"]);
    let seed = conn.ask("seed");
    assert!(seed[0].parse::<u64>().is_ok() && seed[1] == "ok", "{seed:?}");
    drop(conn);
    let out = finish(child);
    let fails: u32 = out.split_whitespace().nth(1).unwrap().parse().unwrap();
    assert!(fails >= 5, "the program saw the injected failures: {out}");
    assert!(out.trim_end().ends_with("threads 2"), "one control thread: {out}");
    assert!(!sock.exists(), "the socket is removed at exit");
}

#[test]
fn malformed_input_gets_err_and_the_program_goes_on() {
    let dir = TempDir::new("ctl-bad");
    let sock = dir.join("ctl.sock");
    let child = writer(&dir, 1, Some(&sock));
    let mut conn = Ctl::connect(&sock);
    for bad in ["bogus", "set sys:wrte=error(EIO)", "remove sys:write[path=x]", "wait", "list x"] {
        let reply = conn.ask(bad);
        assert!(reply.last().unwrap().starts_with("err "), "{bad}: {reply:?}");
    }
    let reply = conn.ask("set sys:wrte=error(EIO)");
    assert!(reply[0].contains("did you mean `write`?"), "{reply:?}");
    // Random bytes, then a valid command on the same connection.
    let mut noise: Vec<u8> =
        (0..4096u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    noise.retain(|b| *b != b'\n');
    noise.push(b'\n');
    let line = conn.raw(&noise);
    assert!(line.starts_with("err "), "{line}");
    assert_eq!(conn.ask("list"), ["ok 0 rules"]);
    // A line longer than the limit ends the connection with an error.
    let mut long = Ctl::connect(&sock);
    let line = long.raw(&vec![b'a'; 70 * 1024]);
    assert!(line.starts_with("err line longer than"), "{line}");
    assert!(finish(child).starts_with("fails 0"));
}

#[test]
fn another_uid_is_refused() {
    let dir = TempDir::new("ctl-uid");
    let sock = dir.join("ctl.sock");
    let child = writer(&dir, 1, Some(&sock));
    drop(Ctl::connect(&sock));
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&sock).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the socket is private to its owner");
    // Open the file mode and the temp directory so only SO_PEERCRED stands in the way.
    std::fs::set_permissions(&sock, std::fs::Permissions::from_mode(0o666)).unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    // The client runs as `nobody`, so it is a small C program in the (world-readable) temp
    // directory rather than anything under root's home.
    let client_src = dir.join("client.c");
    std::fs::write(
        &client_src,
        r#"#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
int main(int argc, char **argv) {
    signal(SIGPIPE, SIG_IGN);
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    strncpy(a.sun_path, argv[1], sizeof a.sun_path - 1);
    if (connect(s, (struct sockaddr *)&a, sizeof a) != 0) { perror("connect"); return 1; }
    write(s, "list\n", 5);
    char buf[512] = {0};
    size_t got = 0;
    ssize_t n;
    while (got < sizeof buf - 1 && (n = read(s, buf + got, sizeof buf - 1 - got)) > 0)
        got += (size_t)n;
    fputs(buf, stdout);
    return 0;
}
"#,
    )
    .unwrap();
    let client = dir.join("client");
    compile_c(&client_src, &client, &[]);
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(&client)
        .arg(&sock)
        .output()
        .expect("setpriv (util-linux) is installed");
    let reply = String::from_utf8_lossy(&out.stdout);
    assert!(
        reply.starts_with("err permission denied: peer uid 65534"),
        "{reply} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    finish(child);
}

#[test]
fn no_control_thread_without_the_variable() {
    let dir = TempDir::new("ctl-none");
    let out = finish(writer(&dir, 0, None));
    assert!(out.trim_end().ends_with("threads 1"), "{out}");
}

/// A python3 program that forks: the child lists its own socket (if any) and exits through
/// `exit()`, then the parent checks its own socket still answers.
fn forking(dir: &TempDir, ctl: &str) -> String {
    let script = "import os, socket, sys, time\n\
         def ask(path):\n\
         \x20   s = socket.socket(socket.AF_UNIX); s.connect(path); s.sendall(b'seed\\n')\n\
         \x20   return s.recv(100).decode().split()[-1]\n\
         mine = os.environ['FAILINJECT_CTL'].replace('%p', str(os.getpid()))\n\
         time.sleep(0.3)\n\
         pid = os.fork()\n\
         if pid == 0:\n\
         \x20   time.sleep(0.3)\n\
         \x20   child = os.environ['FAILINJECT_CTL'].replace('%p', str(os.getpid()))\n\
         \x20   print('child', 'own' if child != mine and os.path.exists(child) and ask(child) == 'ok' else 'none')\n\
         \x20   sys.stdout.flush()\n\
         \x20   sys.exit(0)\n\
         os.waitpid(pid, 0)\n\
         print('parent', ask(mine))\n";
    let out = Command::new(python())
        .args(["-c", script])
        .current_dir(dir.path())
        .env("LD_PRELOAD", preload())
        .env("FAILINJECT", "")
        .env("FAILINJECT_CTL", dir.join(ctl))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_forked_child_never_takes_or_removes_its_parents_socket() {
    let dir = TempDir::new("ctl-fork");
    // One path for all: the child serves nothing, and its exit leaves the parent's socket.
    assert_eq!(forking(&dir, "ctl.sock"), "child none\nparent ok\n");
    // With %p: the child serves its own.
    assert_eq!(forking(&dir, "ctl.%p.sock"), "child own\nparent ok\n");
}
