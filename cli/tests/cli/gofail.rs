//! gofail's fail points under `failinject run` (SPEC §9, last paragraph; `cli/src/gofail.rs`):
//! a real Go program, its `// gofail:` comments turned into code by Debian's real `gofail
//! enable`, built offline in GOPATH mode, run with in-code rules that `run` hands to its
//! runtime as `GOFAIL_FAILPOINTS`.
//!
//! The program saves a label to `out.txt`. `main/saveFail` (a `struct{}` point in package
//! `main`, so in a directory named `main`: Debian's gofail writes the package clause of its
//! generated file from the directory's name) makes the save fail with exit status 3;
//! `gofailtest/store/labelValue` (a `string` point in a library package) replaces the label.

use crate::common::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

const MAIN_GO: &str = r#"package main

import (
	"fmt"
	"os"

	"gofailtest/store"
)

func save(path string, data string) error {
	// gofail: var saveFail struct{}
	// return fmt.Errorf("save failed: injected by gofail")
	return os.WriteFile(path, []byte(data), 0o644)
}

func main() {
	label := store.Label()
	fmt.Println("label:", label)
	if err := save("out.txt", label+"\n"); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(3)
	}
	fmt.Println("saved")
}
"#;

const STORE_GO: &str = r#"package store

// Label is what the program saves.
func Label() string {
	// gofail: var labelValue string
	// return labelValue
	return "plain"
}
"#;

/// The gofail runtime's sources, which `go build` needs (GOPATH mode, no module proxy).
const RUNTIME: &str = "/usr/share/gocode/src/go.etcd.io/gofail/runtime";

/// The program, built once for every test here: `gofail enable`, then `go build`.
fn program() -> &'static Path {
    static PROG: OnceLock<(TempDir, PathBuf)> = OnceLock::new();
    &PROG.get_or_init(build).1
}

fn build() -> (TempDir, PathBuf) {
    let install = "apt-get install -y golang-go golang-github-etcd-io-gofail \
                   golang-github-etcd-io-gofail-dev (.ci/run installs them)";
    assert!(have("go"), "go is needed: {install}");
    assert!(have("gofail"), "the gofail tool is needed: {install}");
    assert!(
        Path::new(RUNTIME).is_dir(),
        "gofail's runtime sources ({RUNTIME}) are needed: {install}"
    );
    let dir = TempDir::new("gofail-build");
    let gopath = dir.join("gopath");
    let main_dir = gopath.join("src/main");
    let store_dir = gopath.join("src/gofailtest/store");
    std::fs::create_dir_all(&main_dir).unwrap();
    std::fs::create_dir_all(&store_dir).unwrap();
    std::fs::write(main_dir.join("main.go"), MAIN_GO).unwrap();
    std::fs::write(store_dir.join("store.go"), STORE_GO).unwrap();
    let go = |program: &str| {
        let mut cmd = Command::new(program);
        cmd.env("GO111MODULE", "off")
            .env("GOCACHE", dir.join("gocache"))
            .env("HOME", dir.path())
            .env("CGO_ENABLED", "0")
            .env_remove("LD_PRELOAD")
            .env_remove("GOFLAGS");
        cmd
    };
    // gofail names each point after the package's directory below the GOPATH it is given.
    let done = go("gofail")
        .arg("enable")
        .args([&main_dir, &store_dir])
        .env("GOPATH", &gopath)
        .current_dir(&gopath)
        .output()
        .expect("run gofail enable");
    assert!(done.status.success(), "gofail enable: {}", text(&done.stderr));
    let generated = std::fs::read_to_string(main_dir.join("main.fail.go")).expect("main.fail.go");
    assert!(generated.contains(r#"runtime.NewFailpoint("main", "saveFail""#), "{generated}");
    let prog = dir.join("prog");
    let gopaths = std::env::join_paths([gopath.as_path(), Path::new("/usr/share/gocode")]).unwrap();
    let done = go("go")
        .args(["build", "-o"])
        .arg(&prog)
        .arg(".")
        .env("GOPATH", gopaths)
        .current_dir(&main_dir)
        .output()
        .expect("run go build");
    assert!(done.status.success(), "go build: {}", text(&done.stderr));
    (dir, prog)
}

/// `failinject run ARGS -- PROG` in a fresh directory, with no `GOFAIL_FAILPOINTS` of ours.
fn run(dir: &Path, rules: &[&str]) -> (Option<i32>, String, String) {
    let prog = program().to_str().unwrap();
    let mut args = vec!["run", "--seed", "1"];
    for r in rules {
        args.extend(["-r", r]);
    }
    args.extend(["--", prog]);
    let out = output(failinject(dir, &args).env_remove("GOFAIL_FAILPOINTS"));
    (out.status.code(), text(&out.stdout), text(&out.stderr))
}

const UNKNOWN: &str = "hits unknown (gofail runtime has no counter)";

#[test]
fn a_gofail_point_fires_and_its_hits_are_unknown() {
    // Without a rule the point is off: the save happens.
    let dir = TempDir::new("gofail-plain");
    let (code, stdout, stderr) = run(dir.path(), &[]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert_eq!(std::fs::read_to_string(dir.join("out.txt")).unwrap(), "plain\n");

    let dir = TempDir::new("gofail-save");
    let (code, stdout, stderr) = run(dir.path(), &["main/saveFail=return"]);
    assert_eq!(code, Some(3), "the save failed: {stdout}{stderr}");
    assert!(stderr.contains("error: save failed: injected by gofail"), "{stderr}");
    assert!(!dir.join("out.txt").exists(), "nothing was saved: {stderr}");
    assert!(stderr.contains("GOFAIL_FAILPOINTS='main/saveFail=return()'"), "{stderr}");
    assert!(stderr.contains(&format!("main/saveFail=return: {UNKNOWN}")), "{stderr}");
    assert!(!stderr.contains("never injected"), "{stderr}");
}

/// The translations gofail's parser is picky about, end to end: a probability needs its
/// decimal point, a `return` before `->` its parentheses, a message its quotes.
#[test]
fn gofail_reads_the_chains_it_is_handed() {
    let dir = TempDir::new("gofail-chain");
    let (code, stdout, stderr) = run(dir.path(), &["main/saveFail=0%return->1*return->off"]);
    assert_eq!(code, Some(3), "the second action fired: {stdout}{stderr}");
    assert!(!stdout.contains("failed to parse"), "{stdout}");
    assert!(stderr.contains("'main/saveFail=0.0%return()->1*return()->off'"), "{stderr}");

    let dir = TempDir::new("gofail-panic");
    let (_, stdout, stderr) = run(dir.path(), &["main/saveFail=panic(disk gone)"]);
    assert!(stderr.contains("panic: failpoint panic: disk gone"), "{stdout}{stderr}");
    assert!(!dir.join("out.txt").exists(), "{stderr}");
}

#[test]
fn a_string_value_reaches_the_program_and_the_users_entries_are_kept() {
    let dir = TempDir::new("gofail-value");
    let (code, stdout, stderr) =
        run(dir.path(), &[r#"gofailtest/store/labelValue=return("from gofail")"#]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("label: from gofail"), "{stdout}{stderr}");
    assert_eq!(std::fs::read_to_string(dir.join("out.txt")).unwrap(), "from gofail\n");

    // A GOFAIL_FAILPOINTS already set: its other points stay, the rule wins for its own.
    let dir = TempDir::new("gofail-merge");
    let prog = program().to_str().unwrap();
    let rule = r#"gofailtest/store/labelValue=return("ours")"#;
    let out = output(failinject(dir.path(), &["run", "-r", rule, "--", prog]).env(
        "GOFAIL_FAILPOINTS",
        r#"gofailtest/store/labelValue=return("theirs");main/saveFail=return"#,
    ));
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(stdout.contains("label: ours"), "{stdout}{stderr}");
    assert_eq!(out.status.code(), Some(3), "their saveFail is kept: {stdout}{stderr}");
}

#[test]
fn a_gofail_point_and_a_libc_rule_share_one_run() {
    let dir = TempDir::new("gofail-mixed");
    let sys = "sys:write[path=*/out.txt]=error(EIO)";
    let (code, stdout, stderr) =
        run(dir.path(), &["gofailtest/store/labelValue=return(mixed)", sys]);
    // The gofail point replaced the label; the libc rule, carried out by the seccomp backend
    // that `auto` picks for a Go program, failed the save that followed.
    assert!(stdout.contains("label: mixed"), "{stdout}{stderr}");
    assert!(stderr.contains("backend seccomp"), "{stderr}");
    assert_eq!(code, Some(3), "{stdout}{stderr}");
    assert!(stderr.contains("error: write out.txt: input/output error"), "{stderr}");
    assert!(
        stderr.contains(&format!("gofailtest/store/labelValue=return(mixed): {UNKNOWN}")),
        "{stderr}"
    );
    let row = stderr.lines().find(|l| l.ends_with(sys)).unwrap_or_else(|| panic!("{stderr}"));
    let counts: Vec<&str> = row.split_whitespace().take(2).collect();
    assert_eq!(counts, ["1", "1"], "the libc rule injected once: {stderr}");
}

#[test]
fn a_task_gofail_lacks_is_refused_before_the_program_runs() {
    for (rule, why) in [
        ("main/saveFail=pause", "gofail has no `pause` task"),
        ("main/saveFail[when=2]=return", "this rule has `when=2`"),
    ] {
        let dir = TempDir::new("gofail-refused");
        let (code, stdout, stderr) = run(dir.path(), &[rule]);
        assert_eq!(code, Some(2), "{stdout}{stderr}");
        assert!(stderr.contains(&format!("rule `{rule}` cannot be given to gofail")), "{stderr}");
        assert!(stderr.contains(why), "{stderr}");
        assert!(stderr.contains("gofail takes `off`, `return`, `sleep(ms)`"), "{stderr}");
        assert!(stdout.is_empty() && !dir.join("out.txt").exists(), "it did not run: {stderr}");
    }
    // The same rule for a program that is not Go goes to the preload, as always.
    let dir = TempDir::new("gofail-not-go");
    let out =
        output(failinject(dir.path(), &["run", "-q", "-r", "main/saveFail=pause", "--", "true"]));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}
