//! Hostile input (issue 9, `docs/HAZARDS.md`, "Stress"): paths at `PATH_MAX` and paths that
//! are not UTF-8, through the real preload; configuration that is not UTF-8 or is garbage;
//! a flood of garbage on the control socket; 10,000 rules through `FAILINJECT_FILE`; and a
//! peer of another uid that tries to change the rules.
//!
//! Nothing may crash or hang the host program: every run here is bounded, and a bad
//! configuration must end in the documented exit status 125, never a signal.

use std::ffi::OsStr;
use std::io::{Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::UnixStream;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use failinject_tests::{Ctl, Done, TempDir, bounded, compile_c, have, preload, workspace};

/// Compiles `tests/fixtures/stress/NAME.c` into `dir`.
fn compile(dir: &TempDir, name: &str) -> PathBuf {
    let src = workspace().join("tests/fixtures/stress").join(format!("{name}.c"));
    compile_c(&src, &dir.join(name), &["-O1", "-pthread", "-Wall", "-Wextra", "-Werror"])
}

/// `exe args` under the preload with `rules`, every other variable of ours removed.
fn under(exe: &Path, args: &[&OsStr], rules: impl AsRef<OsStr>) -> Command {
    let mut cmd = Command::new(exe);
    cmd.args(args)
        .env("LD_PRELOAD", preload())
        .env("FAILINJECT", rules)
        .env("FAILINJECT_SEED", "3")
        .env_remove("FAILINJECT_FILE")
        .env_remove("FAILPOINTS")
        .env_remove("FAILINJECT_LOG")
        .env_remove("FAILINJECT_CTL")
        .env_remove("FAILINJECT_ON_ERROR")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    cmd
}

fn value<'a>(d: &'a Done, key: &str) -> &'a str {
    d.stdout
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{key}=")))
        .unwrap_or_else(|| panic!("no {key}= in {}\n{}", d.stdout, d.stderr))
}

const LIMIT: Duration = Duration::from_secs(30);
const EIO: &str = "5";

#[test]
fn paths_at_path_max_are_matched_and_one_byte_more_gets_the_kernels_answer() {
    let dir = TempDir::new("hostile-long");
    let exe = compile(&dir, "paths");
    let d = dir.path().as_os_str();
    // Without a matching rule (but every call on the slow path): everything as libc says.
    let slow = "sys:write[path=*/never]=error(EIO);sys:@all[kind=any]=off";
    let base = bounded(under(&exe, &["long".as_ref(), d], slow), LIMIT);
    assert_eq!(base.code, Some(0), "{}{}", base.stdout, base.stderr);
    assert_eq!(value(&base, "len"), "4095");
    assert_eq!(value(&base, "abs_write"), "0");
    assert_eq!(value(&base, "rel_write"), "0");
    assert_eq!(value(&base, "toolong_open"), "36", "ENAMETOOLONG");
    // Rules on the 4,095-byte path, by file name, by whole-path glob and by regex, match
    // through the absolute open and through openat relative to a directory descriptor.
    for rule in [
        "sys:write[path=target.dat]=error(EIO)",
        "sys:write[path=*/dddd*/target.dat]=error(EIO)",
        "sys:write[path~^/.*/d+/target\\.dat$]=error(EIO)",
    ] {
        let got = bounded(under(&exe, &["long".as_ref(), d], format!("{rule};{slow}")), LIMIT);
        assert_eq!(got.code, Some(0), "{rule}: {}{}", got.stdout, got.stderr);
        assert_eq!(value(&got, "abs_write"), EIO, "{rule}");
        assert_eq!(value(&got, "rel_write"), EIO, "{rule}");
        assert_eq!(value(&got, "toolong_open"), "36", "{rule}");
    }
}

#[test]
fn paths_that_are_not_utf8_are_matched_byte_for_byte() {
    let dir = TempDir::new("hostile-bytes");
    let exe = compile(&dir, "paths");
    let d = dir.path().as_os_str();
    for rule in [
        "sys:write[path=*.dat]=error(EIO)",
        "sys:write[path=*-bad.dat]=error(EIO)",
        "sys:write[path~\\.dat$]=error(EIO)",
        "sys:write[path~(?-u)/\\xff\\xfe-bad]=error(EIO)",
    ] {
        let got = bounded(under(&exe, &["bytes".as_ref(), d], rule), LIMIT);
        assert_eq!(got.code, Some(0), "{rule}: {}{}", got.stdout, got.stderr);
        assert_eq!(value(&got, "bad_write"), EIO, "{rule}");
        assert_eq!(value(&got, "ok_write"), "0", "{rule}");
    }
}

#[test]
fn configuration_that_is_not_utf8_or_garbage_never_crashes_the_host() {
    let dir = TempDir::new("hostile-env");
    // A rules file whose *name* is not UTF-8 is read by that name.
    let name = OsStr::from_bytes(b"rules-\xff\xfe.txt");
    let file = dir.path().join(name);
    std::fs::write(&file, "sys:write[path=*/out.dat]=error(EIO)\n").unwrap();
    let sh = |script: &str| {
        let mut c = under(Path::new("/bin/sh"), &["-c".as_ref(), script.as_ref()], "");
        c.current_dir(dir.path());
        c
    };
    let mut cmd = sh("dd if=/dev/zero of=out.dat bs=1 count=1");
    cmd.env("FAILINJECT_FILE", &file);
    let got = bounded(cmd, LIMIT);
    assert_ne!(got.code, Some(0), "the file's rule did not apply: {}", got.stderr);
    assert!(got.stderr.contains("Input/output error"), "{}", got.stderr);
    // Variables whose values are not UTF-8: a bad rule is reported (status 125), never a crash.
    for (var, val) in [
        ("FAILINJECT", &b"sys:wr\xffite=error(EIO)"[..]),
        ("FAILPOINTS", b"\xff\xfe=nope(1)"),
        ("FAILINJECT_SEED", b"\xff12"),
    ] {
        let mut cmd = sh("true");
        cmd.env(var, OsStr::from_bytes(val));
        let got = bounded(cmd, LIMIT);
        assert_eq!((got.code, got.signal), (Some(125), None), "{var}: {}", got.stderr);
        assert!(got.stderr.contains("failinject:"), "{var}: {}", got.stderr);
    }
    // Seeded garbage: printable noise around rule syntax, control bytes, huge numbers. Each
    // run ends in 0 (the garbage happened to parse) or 125, never a signal.
    let pieces: [&[u8]; 16] = [
        b"sys:write",
        b"[",
        b"]",
        b"=",
        b"->",
        b"%",
        b"*",
        b"(",
        b")",
        b";",
        b"\n",
        b"path=",
        b"\"",
        b"\xff",
        b"99999999999999999999999",
        b"error(EIO)",
    ];
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut exits = [0u32; 2];
    for _ in 0..60 {
        let mut val = Vec::new();
        for _ in 0..(next() % 24) {
            val.extend_from_slice(pieces[(next() % 16) as usize]);
        }
        val.retain(|&b| b != 0);
        let mut cmd = sh("true");
        cmd.env("FAILINJECT", OsStr::from_bytes(&val));
        let got = bounded(cmd, LIMIT);
        match got.code {
            Some(0) => exits[0] += 1,
            Some(125) => exits[1] += 1,
            _ => panic!("FAILINJECT={:?}: {:?} {:?} {}", val, got.code, got.signal, got.stderr),
        }
    }
    assert!(exits[1] > 0, "no garbage was refused: {exits:?}");
}

#[test]
fn ten_thousand_rules_from_a_file_load_and_apply() {
    let dir = TempDir::new("hostile-10k");
    let mut rules = String::new();
    for i in 0..9_999 {
        rules.push_str(&format!("sys:write[path=*/file-{i}.dat]=error(EIO)\n"));
    }
    rules.push_str("sys:write[path=*/out.dat]=error(ENOSPC)\n");
    let file = dir.join("rules.txt");
    std::fs::write(&file, rules).unwrap();
    let mut cmd = under(
        Path::new("/bin/sh"),
        &["-c".as_ref(), "dd if=/dev/zero of=out.dat bs=1 count=1".as_ref()],
        "",
    );
    cmd.current_dir(dir.path()).env("FAILINJECT_FILE", &file);
    let start = Instant::now();
    let got = bounded(cmd, Duration::from_secs(60));
    let took = start.elapsed();
    eprintln!("10,000 rules: sh ran in {took:?}");
    // The 10,000th rule, behind 9,999 that do not match, decides the write.
    assert!(got.stderr.contains("No space left on device"), "{:?} {}", got.code, got.stderr);
    // A hang or quadratic guard only; real timings are in docs/PERFORMANCE.md.
    assert!(took < Duration::from_secs(30), "took {took:?}");
}

/// The `churn` fixture at work in a fresh directory under `sys:fsync=off`, once its control
/// socket answers: the directory, the socket and the program (the caller kills it).
fn churn_serving(name: &str) -> (TempDir, PathBuf, Child) {
    let dir = TempDir::new(name);
    let exe = compile(&dir, "churn");
    let sock = dir.join("ctl.sock");
    let mut cmd = under(&exe, &[dir.path().as_os_str(), "3000000".as_ref()], "sys:fsync=off");
    cmd.env("FAILINJECT_CTL", &sock);
    let child = cmd.spawn().unwrap();
    drop(Ctl::connect(&sock));
    (dir, sock, child)
}

#[test]
fn a_flood_of_garbage_on_the_control_socket_leaves_the_program_serving() {
    let (_dir, sock, mut child) = churn_serving("hostile-ctl");
    let threads: Vec<_> = (0..16u64)
        .map(|t| {
            let sock = sock.clone();
            std::thread::spawn(move || {
                let mut x = 0x2545_f491_4f6c_dd1d ^ (t + 1);
                for _ in 0..20 {
                    let Ok(mut s) = UnixStream::connect(&sock) else { continue };
                    let _ = s.set_read_timeout(Some(Duration::from_millis(300)));
                    let mut junk = vec![0u8; 4096 + (x % 70_000) as usize];
                    for b in junk.iter_mut() {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        *b = x as u8;
                    }
                    // Half the connections send garbage lines, some over 64 KiB, then hang up
                    // early; the others also send a command and read the reply.
                    let _ = s.write_all(&junk);
                    if t % 2 == 0 {
                        let _ = s.write_all(b"\nset sys:write[path=*/flood]=error(EIO)\n");
                        let mut buf = [0u8; 4096];
                        let _ = s.read(&mut buf);
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let mut ctl = Ctl::connect(&sock);
    let seed = ctl.ask("seed");
    assert_eq!(seed, ["3", "ok"], "the socket still answers");
    let list = ctl.ask("list");
    assert!(list.last().unwrap().starts_with("ok"), "{list:?}");
    drop(ctl);
    let _ = child.kill();
    let status = child.wait().unwrap();
    assert_eq!(status.signal(), Some(9), "the program died on its own: {status:?}");
}

#[test]
fn a_peer_of_another_uid_cannot_change_the_rules() {
    assert!(have("setpriv"), "setpriv (util-linux) is needed");
    assert!(Path::new("/usr/bin/python3").exists(), "/usr/bin/python3 is needed");
    let (dir, sock, mut child) = churn_serving("hostile-uid");
    use std::os::unix::fs::PermissionsExt;
    // Open the socket and its directory to everyone, so only SO_PEERCRED stands in the way.
    std::fs::set_permissions(&sock, std::fs::Permissions::from_mode(0o666)).unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    // python3 as nobody: connect, send commands that would change everything, read the reply.
    let script = "import socket,sys\n\
                  s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])\n\
                  s.sendall(b'set sys:write=error(EIO)\\nclear\\nremove sys:fsync\\n')\n\
                  print(s.recv(4096).decode(errors='replace'))\n";
    let out = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "/usr/bin/python3",
            "-c",
            script,
        ])
        .arg(&sock)
        .env_remove("LD_PRELOAD")
        .output()
        .expect("setpriv");
    let reply = String::from_utf8_lossy(&out.stdout);
    assert!(
        reply.starts_with("err permission denied: peer uid 65534"),
        "{reply} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut ctl = Ctl::connect(&sock);
    let list = ctl.ask("list");
    assert_eq!(list.len(), 2, "{list:?}");
    assert!(list[0].starts_with("sys:fsync\toff\t"), "rules changed: {list:?}");
    drop(ctl);
    let _ = child.kill();
    let _ = child.wait();
}

/// The control socket also accepts root (SPEC §6): a program running as nobody, under the
/// preload, is steered by root, whose connection another uid's would be refused.
#[test]
fn root_may_steer_a_program_of_another_uid() {
    assert!(have("setpriv"), "setpriv (util-linux) is needed");
    assert!(Path::new("/usr/bin/python3").exists(), "/usr/bin/python3 is needed");
    use std::os::unix::fs::MetadataExt;
    let uid = std::fs::metadata("/proc/self").unwrap().uid();
    assert_eq!(uid, 0, "this test runs as root (CI does): it starts a program as nobody");
    let dir = TempDir::new("hostile-root");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let sock = dir.join("ctl.sock");
    // nobody runs python3 under the preload (env sets it for python3 only, not setpriv).
    let mut child = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/env"])
        .arg(format!("LD_PRELOAD={}", preload().display()))
        .arg(format!("FAILINJECT_CTL={}", sock.display()))
        .args(["FAILINJECT=sys:fsync=off", "FAILINJECT_SEED=7", "/usr/bin/python3", "-c"])
        .arg("import time; time.sleep(20)")
        .env_remove("LD_PRELOAD")
        .spawn()
        .expect("setpriv");
    let mut ctl = Ctl::connect(&sock);
    assert_eq!(ctl.ask("seed"), ["7", "ok"], "root was refused");
    let set = ctl.ask("set sys:write[path=*/x]=error(EIO)");
    assert!(set.last().unwrap().starts_with("ok"), "{set:?}");
    drop(ctl);
    let _ = child.kill();
    let _ = child.wait();
}
