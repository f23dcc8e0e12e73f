//! What the CLI's end-to-end tests share: the `failinject` binary as a user installs it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

pub use failinject_tests::{TempDir, compile_c, have, log_records as records, workspace};

/// A copy of the `failinject` binary alone in a directory, as `cargo install` leaves it: no
/// library beside it, so it uses the copy it carries (written to a private cache, below). The
/// library it uses is thus always the one built from this tree, never a stale build beside
/// the test binary.
pub fn installed() -> &'static Path {
    static BIN: OnceLock<(TempDir, PathBuf)> = OnceLock::new();
    &BIN.get_or_init(|| {
        let dir = TempDir::new("cli-bin");
        let bin = dir.join("failinject");
        std::fs::copy(env!("CARGO_BIN_EXE_failinject"), &bin).expect("copy the binary");
        (dir, bin)
    })
    .1
}

/// The cache directory every test's `failinject` writes its library into.
pub fn cache() -> &'static Path {
    static DIR: OnceLock<TempDir> = OnceLock::new();
    DIR.get_or_init(|| TempDir::new("cli-cache")).path()
}

/// `failinject ARGS` in `dir`, with a private cache and no preload settings inherited.
pub fn failinject(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(installed());
    cmd.args(args)
        .current_dir(dir)
        .env("XDG_CACHE_HOME", cache())
        .env("XDG_RUNTIME_DIR", cache())
        .env_remove("FAILINJECT_LIB")
        .env_remove("LD_PRELOAD")
        .env_remove("FAILINJECT")
        .env_remove("FAILINJECT_FILE")
        .env_remove("FAILPOINTS");
    cmd
}

/// `sh -c SCRIPT` in `dir`, with the environment `failinject()` gives and the installed
/// `failinject` first on `PATH`: a user's shell, typing the documentation's lines.
pub fn shell(dir: &Path, script: &str) -> Command {
    let mut sh = like_failinject(dir, Path::new("sh"));
    sh.args(["-c", script]);
    let bin_dir = installed().parent().expect("the binary's directory");
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default());
    sh.env("PATH", path);
    sh
}

/// `program` in `dir` with the environment `failinject()` gives (a launcher that runs the
/// installed `failinject` itself, a shell).
pub fn like_failinject(dir: &Path, program: &Path) -> Command {
    let like = failinject(dir, &[]);
    let mut cmd = Command::new(program);
    cmd.current_dir(dir);
    for (k, v) in like.get_envs() {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    cmd
}

/// Runs it to the end.
pub fn output(mut cmd: impl std::borrow::BorrowMut<Command>) -> Output {
    cmd.borrow_mut().output().expect("run failinject")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `program args…` as the unprivileged system user `user`, created if missing, through
/// `setpriv` (which execs in place, so the pid is the program's), when the test runs as root
/// (CI does); as ourselves otherwise. What a test claims works "without root" runs this way.
pub fn as_user(user: &str, program: &Path, args: &[&str]) -> Command {
    if !nix::unistd::geteuid().is_root() {
        let mut c = Command::new(program);
        c.args(args);
        return c;
    }
    let exists = || Command::new("id").arg(user).output().is_ok_and(|o| o.status.success());
    let ok = exists()
        || Command::new("useradd")
            .args(["--system", "--no-create-home", "--shell", "/usr/sbin/nologin", user])
            .status()
            .is_ok_and(|s| s.success())
        // Another test made it meanwhile.
        || exists();
    assert!(ok, "cannot create the user {user} (useradd)");
    let mut c = Command::new("setpriv");
    c.args(["--reuid", user, "--regid", user, "--clear-groups", "--"]).arg(program).args(args);
    c
}
