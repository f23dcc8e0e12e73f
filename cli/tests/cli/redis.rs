//! Redis (`redis-server`, append-only file, `appendfsync always`) under a run-wide `full`:
//! the write that finds the disk full is never acknowledged, and no acknowledged write is
//! lost.
//!
//! Redis 7 keeps its append-only file as several files in `appendonlydir/` (a base, written by
//! a forked child on a rewrite, then an incremental file the server appends every write to),
//! named by a manifest beside them. The rule gives the directory Redis writes them in a disk
//! of 64 KiB; under `failinject run` that is one disk for the server and its rewrite child.
//! The server listens on a Unix socket in the test's directory only (no TCP); the test speaks
//! RESP to it itself.

use crate::common::*;
use std::io::{BufRead as _, BufReader, ErrorKind, Read as _, Write as _};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The disk's size, as the rule gives it: `full(64K)`.
const DISK: u64 = 64 * 1024;

/// A command as RESP puts it on the wire: also, byte for byte, the record Redis appends to its
/// incremental file for a write.
fn resp(args: &[&str]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n{a}\r\n", a.len()).as_bytes());
    }
    out
}

/// One connection to the server's Unix socket. Every read and write gives up after 10 s.
struct Client(BufReader<UnixStream>);

impl Client {
    fn connect(socket: &Path) -> std::io::Result<Client> {
        let stream = UnixStream::connect(socket)?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        stream.set_write_timeout(Some(Duration::from_secs(10)))?;
        Ok(Client(BufReader::new(stream)))
    }

    /// Sends a command and reads its reply as `redis-cli` would show it: a status, error or
    /// integer line as it comes (`+OK`, `-ERR …`, `:3`), a bulk string's data, or `(nil)`.
    /// A connection the server closes before replying is an `UnexpectedEof` error.
    fn command(&mut self, args: &[&str]) -> std::io::Result<String> {
        self.send(&resp(args))
    }

    /// Sends a command already in RESP and reads its reply.
    fn send(&mut self, command: &[u8]) -> std::io::Result<String> {
        self.0.get_mut().write_all(command)?;
        let mut line = String::new();
        if self.0.read_line(&mut line)? == 0 {
            return Err(ErrorKind::UnexpectedEof.into());
        }
        let line = line.trim_end_matches("\r\n");
        let Some(len) = line.strip_prefix('$') else { return Ok(line.to_string()) };
        let Ok(len) = usize::try_from(len.parse::<i64>().expect("a bulk length")) else {
            return Ok("(nil)".into());
        };
        let mut data = vec![0; len + 2];
        self.0.read_exact(&mut data)?;
        data.truncate(len);
        Ok(text(&data))
    }
}

/// `SET key:I value:I`, the test's write number I.
fn set(i: usize) -> Vec<u8> {
    resp(&["SET", &format!("key:{i}"), &format!("value:{i}")])
}

/// A server in a process group of its own, its output (and failinject's) in a log file. When
/// dropped, the group is killed: a failed assertion never leaves a server running.
struct Server {
    child: Child,
    log: PathBuf,
    reaped: bool,
}

impl Server {
    fn spawn(mut cmd: Command, log: PathBuf) -> Server {
        let file = std::fs::File::create(&log).unwrap();
        let child = cmd
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .expect("start the server");
        Server { child, log, reaped: false }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// A connection, once the server answers `PING` (it answers `-LOADING` while it reads its
    /// files back); within 30 s.
    fn connect(&mut self, socket: &Path) -> Client {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(mut client) = Client::connect(socket)
                && client.command(&["PING"]).is_ok_and(|r| r == "+PONG")
            {
                return client;
            }
            if let Some(status) = self.child.try_wait().unwrap() {
                self.reaped = true;
                panic!("the server exited ({status}) before it answered:\n{}", self.log());
            }
            assert!(Instant::now() < deadline, "the server never answered:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits up to `secs` seconds for the server to exit on its own.
    fn exit(&mut self, secs: u64) -> ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                self.reaped = true;
                return status;
            }
            assert!(Instant::now() < deadline, "the server did not exit:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Until it is reaped, the leader's pid (the group's id) cannot be reused.
        if !self.reaped {
            let group = nix::unistd::Pid::from_raw(self.child.id() as i32);
            let _ = nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGKILL);
            let _ = self.child.wait();
        }
    }
}

/// The server acknowledges 300 SETs, rewrites its append-only file in a forked child (whose
/// new base file takes its share of the disk), then acknowledges SETs until the disk is full.
/// With `appendfsync always` Redis cannot take back a write it failed to log, so it exits: the
/// client whose SET crossed the end of the disk gets no reply (its connection closes), and
/// new connections are refused. (With `appendfsync everysec` it would keep running and refuse
/// writes with `-MISCONF Errors writing to the AOF file: No space left on device`.) Then
/// Redis, started again on the same directory without failinject, has every acknowledged key
/// with its value.
#[test]
fn a_full_disk_stops_redis_and_every_acknowledged_set_survives() {
    assert!(
        have("redis-server"),
        "redis-server is needed: apt-get install redis-server (.ci/run installs it)"
    );
    let dir = TempDir::new("redis");
    // Redis writes only in `data/`; the socket and the logs are beside it, off the disk.
    let data = dir.join("data");
    std::fs::create_dir(&data).unwrap();
    let data_arg = data.to_string_lossy();
    let socket = dir.join("redis.sock");
    assert!(socket.as_os_str().len() < 100, "the socket path is too long: {}", socket.display());
    let rule = format!("sys:@write[path={data_arg}/*]=full(64K)");
    let faulted = failinject(
        dir.path(),
        &[
            "run",
            "-r",
            &rule,
            "--",
            "redis-server",
            "--port",
            "0",
            "--unixsocket",
            &socket.to_string_lossy(),
            "--dir",
            &data_arg,
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
            "--save",
            "",
        ],
    );
    let mut server = Server::spawn(faulted, dir.join("faulted.log"));
    let mut client = server.connect(&socket);
    for i in 0..300 {
        let reply = client.send(&set(i));
        assert!(reply.as_ref().is_ok_and(|r| r == "+OK"), "SET {i}: {reply:?}\n{}", server.log());
    }
    let reply = client.command(&["BGREWRITEAOF"]).unwrap();
    assert_eq!(reply, "+Background append only file rewriting started", "{}", server.log());
    let deadline = Instant::now() + Duration::from_secs(30);
    let info = loop {
        let info = client.command(&["INFO", "persistence"]).unwrap();
        if info.contains("aof_rewrite_in_progress:0") && info.contains("aof_rewrite_scheduled:0") {
            break info;
        }
        assert!(Instant::now() < deadline, "the rewrite never ended:\n{}", server.log());
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(info.contains("aof_last_bgrewrite_status:ok"), "{info}\n{}", server.log());

    // SETs until one is not acknowledged; all of 0..acked were.
    let mut acked = 300;
    let failed = loop {
        assert!(acked < 100_000, "the disk never filled:\n{}", server.log());
        match client.send(&set(acked)) {
            Ok(reply) if reply == "+OK" => acked += 1,
            other => break other,
        }
    };
    let log = server.log();
    assert!(
        failed.as_ref().is_err_and(|e| e.kind() == ErrorKind::UnexpectedEof),
        "SET {acked} should get no reply, its connection closed: {failed:?}\n{log}"
    );
    // Redis exits on its own; `failinject run` exits as it did and prints its summary. The
    // socket file is left behind, with nobody listening.
    let status = server.exit(30);
    let log = server.log();
    assert_eq!(status.code(), Some(1), "{log}");
    let again = Client::connect(&socket).err().map(|e| e.kind());
    assert_eq!(again, Some(ErrorKind::ConnectionRefused), "a new connection\n{log}");
    assert!(
        log.contains(
            "Can't recover from AOF write error when the AOF fsync policy is 'always'. Exiting..."
        ),
        "{log}"
    );
    assert!(log.contains("exited with status 1; 2 processes"), "the server and its child: {log}");
    let row = log.lines().find(|l| l.ends_with("=full(64K)")).unwrap_or_else(|| panic!("{log}"));
    let injected: u64 = row.split_whitespace().nth(1).unwrap().parse().unwrap();
    assert!(injected >= 1, "{log}");

    // One disk: the bytes the server appended for the acknowledged SETs and the base file its
    // child wrote fit in 64 KiB together. With a disk per process the server alone would have
    // filled 64 KiB with SETs, and the base would come on top.
    let manifest = std::fs::read_to_string(data.join("appendonlydir/appendonly.aof.manifest"));
    let manifest = manifest.unwrap();
    let base = manifest
        .lines()
        .find(|l| l.ends_with(" type b"))
        .and_then(|l| l.split(' ').nth(1))
        .unwrap_or_else(|| panic!("no base file in the manifest: {manifest}"));
    let base_size = std::fs::metadata(data.join("appendonlydir").join(base)).unwrap().len();
    let appended: u64 = (0..acked).map(|i| set(i).len() as u64).sum();
    assert!(
        appended + base_size <= DISK,
        "{appended} bytes of SETs and a base of {base_size} bytes do not fit in {DISK}"
    );

    // Redis again, without failinject, on the same files. The server cut the half-written
    // record of the crossing SET off its incremental file before it exited, so the files load
    // as they are: no `redis-check-aof --fix`, and `aof-load-truncated yes` (the default, which
    // would drop a torn last record) has nothing to do.
    let check_socket = dir.join("check.sock");
    let mut check = Command::new("redis-server");
    check.current_dir(dir.path()).args([
        "--port",
        "0",
        "--unixsocket",
        &check_socket.to_string_lossy(),
        "--dir",
        &data_arg,
        "--appendonly",
        "yes",
        "--save",
        "",
    ]);
    let mut checker = Server::spawn(check, dir.join("check.log"));
    let mut client = checker.connect(&check_socket);
    let log = checker.log();
    assert!(log.contains("DB loaded from append only file"), "{log}");
    assert!(!log.contains("aof-load-truncated"), "{log}");
    let lost: Vec<usize> = (0..acked)
        .filter(|i| {
            let value = client.command(&["GET", &format!("key:{i}")]).unwrap();
            value != format!("value:{i}")
        })
        .collect();
    let some = &lost[..lost.len().min(20)];
    assert!(lost.is_empty(), "{} of {acked} acknowledged SETs lost: {some:?}…", lost.len());
    // The SET that got no reply may be there or not, whole; nothing else is.
    let unknown = client.command(&["GET", &format!("key:{acked}")]).unwrap();
    let expected = match unknown.as_str() {
        "(nil)" => acked,
        v if v == format!("value:{acked}") => acked + 1,
        v => panic!("key:{acked} is {v}"),
    };
    let keys = client.command(&["DBSIZE"]).unwrap();
    assert_eq!(keys, format!(":{expected}"), "{}", checker.log());
}
