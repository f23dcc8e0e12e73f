//! The hazards of running inside other people's programs (`docs/HAZARDS.md`): signal
//! handlers, `fork` under threads, thread and process exit, other preloaded libraries,
//! `vfork` and `posix_spawn`, exec chains, the standard descriptors, re-entrancy, the
//! descriptor table, many threads, the preload's own footprint, small stacks, arguments libc
//! rejects, errno, and the known limits of an `LD_PRELOAD` interposer.
//!
//! Each test compiles a C fixture from `tests/fixtures/hazards/` (with `cc -O1 -pthread`) and
//! runs it under the real `libfailinject.so`: once with [`SLOW`], rules that send every
//! wrapper down its slow path without injecting anything, and, where it makes sense, once with
//! rules that really inject. Every run is bounded by [`LIMIT`]: a deadlock fails the test
//! instead of hanging CI. The fixtures print `key=value` lines that the tests check.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use failinject_tests::{Bounded, TempDir, bounded_while, compile_c, preload};

/// The longest any one run may take before it is killed and the test fails.
const LIMIT: Duration = Duration::from_secs(20);

/// Rules that inject nothing but send every wrapper down its slow path on every call: a rule
/// for `write` with a path filter, and `off` for every point and every kind of descriptor
/// (so no verdict is cached and each call is decided afresh).
const SLOW: &str = "sys:write[path=*/never-matches]=error(EIO);sys:@all[kind=any]=off";

/// `rules` followed by [`SLOW`]: the injecting rules decide, everything else still takes the
/// slow path.
fn with_slow(rules: &str) -> String {
    format!("{rules};{SLOW}")
}

// ---- fixtures ---------------------------------------------------------------------------------

/// The source of the fixture `name`.
fn source(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join("hazards").join(format!("{name}.c"))
}

/// Compiles the fixture `name` into `out`, with `args` besides the usual flags.
fn cc(name: &str, out: &Path, args: &[&str]) -> PathBuf {
    let mut flags = vec!["-O1", "-pthread", "-Wall", "-Wextra", "-Werror"];
    flags.extend_from_slice(args);
    flags.push("-ldl");
    compile_c(&source(name), out, &flags)
}

/// Compiles the fixture `name` into `dir` and returns the executable.
fn compile(dir: &TempDir, name: &str) -> PathBuf {
    cc(name, &dir.join(name), &[])
}

/// Compiles the fixture `name` into a shared library `name.so` in `dir`.
fn compile_library(dir: &TempDir, name: &str) -> PathBuf {
    cc(name, &dir.join(&format!("{name}.so")), &["-shared", "-fPIC"])
}

// ---- bounded runs -----------------------------------------------------------------------------

/// `exe args…` in `dir` under the preload with `rules` and a fixed seed, as `Run` does it.
fn under(dir: &Path, rules: &str, exe: &Path, args: &[&str]) -> Command {
    let mut cmd = without(dir, exe, args);
    cmd.env("LD_PRELOAD", preload()).env("FAILINJECT", rules).env("FAILINJECT_SEED", "1");
    cmd
}

/// `exe args…` in `dir` without the preload.
fn without(dir: &Path, exe: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(exe);
    cmd.args(args)
        .current_dir(dir)
        .env("LC_ALL", "C")
        .env_remove("LD_PRELOAD")
        .env_remove("FAILINJECT")
        .env_remove("FAILINJECT_FILE")
        .env_remove("FAILPOINTS")
        .env_remove("FAILINJECT_ON_ERROR")
        .env_remove("FAILINJECT_LOG")
        .env_remove("FAILINJECT_CTL");
    cmd
}

/// The checks the tests make on a bounded run.
trait Checks {
    /// Asserts that the program exited 0 in time.
    fn assert_ok(&self) -> &Self;
    /// The value of the `key=value` line on stdout or stderr.
    fn get(&self, key: &str) -> &str;
    /// The value of `key` as a number.
    fn num(&self, key: &str) -> u64;
}

impl Checks for Bounded {
    fn assert_ok(&self) -> &Bounded {
        assert!(
            !self.timed_out && self.code == Some(0),
            "{} did not exit 0 in time: {self:#?}",
            self.what
        );
        self
    }

    fn get(&self, key: &str) -> &str {
        let prefix = format!("{key}=");
        self.stdout
            .lines()
            .chain(self.stderr.lines())
            .find_map(|l| l.strip_prefix(&prefix))
            .unwrap_or_else(|| panic!("{}: no `{key}=` line: {self:#?}", self.what))
    }

    fn num(&self, key: &str) -> u64 {
        let v = self.get(key);
        v.parse().unwrap_or_else(|_| panic!("{}: `{key}={v}` is not a number", self.what))
    }
}

/// Runs `cmd` in a process group of its own, with stdin from /dev/null and its output
/// captured; kills the whole group when it runs past [`LIMIT`] (and when processes it left
/// behind still hold its output open after it exited). A run that timed out is returned, not
/// failed at once, so that a test can first say what hung.
fn bounded(cmd: Command) -> Bounded {
    bounded_while(cmd, LIMIT, |_| {})
}

fn size(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("temporary paths are UTF-8")
}

mod descriptors;
mod footprint;
mod limits;
mod neighbours;
mod signals_fork_exit;
