//! A rule that never fired says why (issue 18, SPEC §5): real programs under the real library,
//! each missing its rule for a different reason, and the summary's one line under the rule.

use crate::common::*;

/// Runs `failinject run -r RULE -- CMD…` in `dir`; returns the `why:` line and all of stderr.
fn why(dir: &std::path::Path, rule: &str, cmd: &[&str]) -> (String, String) {
    why_with(dir, &[], rule, cmd)
}

/// [`why`] with more options of `run` before the rule.
fn why_with(dir: &std::path::Path, opts: &[&str], rule: &str, cmd: &[&str]) -> (String, String) {
    let mut args = vec!["run"];
    args.extend_from_slice(opts);
    args.extend(["-r", rule, "--"]);
    args.extend_from_slice(cmd);
    let out = output(failinject(dir, &args));
    let stderr = text(&out.stderr);
    let line = stderr
        .lines()
        .skip_while(|l| !l.contains(&format!("rule `{rule}` never injected")))
        .nth(1)
        .and_then(|l| l.trim_start().strip_prefix("why: "))
        .unwrap_or_else(|| panic!("no why line under the rule: {stderr}"))
        .to_string();
    (line, stderr)
}

/// The fix the line suggests, run again: it must inject.
fn suggested(line: &str) -> String {
    let start = line.rfind("`sys:").expect("a suggested rule") + 1;
    line[start..line.len() - 1].to_string()
}

fn injects(dir: &std::path::Path, rule: &str, cmd: &[&str]) {
    let mut args = vec!["run", "-r", rule, "--"];
    args.extend_from_slice(cmd);
    let out = output(failinject(dir, &args));
    let stderr = text(&out.stderr);
    assert!(!stderr.contains("never injected"), "the suggested `{rule}` injects: {stderr}");
}

#[test]
fn cp_writes_through_copy_file_range_and_the_fix_is_named() {
    let dir = TempDir::new("why-cp");
    std::fs::write(dir.join("disk.iso"), vec![7u8; 2 << 20]).unwrap();
    let cmd = ["cp", "disk.iso", "copy.iso"];
    let (line, all) = why(dir.path(), "sys:write[path=*/copy.iso]=full(1M)", &cmd);
    assert!(line.starts_with("`cp` wrote "), "{all}");
    assert!(line.contains("copy.iso through `copy_file_range`"), "{all}");
    assert!(line.ends_with("try `sys:@write[path=*/copy.iso]=full(1M)`"), "{all}");
    std::fs::remove_file(dir.join("copy.iso")).unwrap();
    injects(dir.path(), &suggested(&line), &cmd);
}

#[test]
fn dd_writes_its_output_through_fd_1_and_needs_kind_file() {
    let dir = TempDir::new("why-dd");
    let cmd = ["dd", "if=/dev/zero", "of=disk.img", "count=4"];
    let (line, all) = why(dir.path(), "sys:write=error(EIO)", &cmd);
    assert!(line.starts_with("`dd` wrote "), "{all}");
    assert!(line.contains("disk.img through its fd 1"), "{all}");
    assert!(line.contains("add `kind=file`"), "{all}");
    injects(dir.path(), &suggested(&line), &cmd);
}

#[test]
fn python_writes_with_write_not_pwrite() {
    let dir = TempDir::new("why-python");
    let cmd = ["python3", "-c", "open('data.bin', 'wb').write(b'x' * 100)"];
    let (line, all) = why(dir.path(), "sys:pwrite[path=*/data.bin]=error(EIO)", &cmd);
    assert!(line.contains("data.bin through `write`"), "{all}");
    injects(dir.path(), &suggested(&line), &cmd);
}

#[test]
fn a_rule_on_a_file_nobody_touches_says_so() {
    let dir = TempDir::new("why-none");
    let (line, all) = why(dir.path(), "sys:write[path=*/never.dat]=error(EIO)", &["true"]);
    assert!(line.starts_with("no call to the rule's functions"), "{all}");
}

#[test]
fn io_uring_and_aio_are_named() {
    let dir = TempDir::new("why-ring");
    let src = dir.join("ring.c");
    std::fs::write(
        &src,
        r#"#include <linux/io_uring.h>
#include <linux/aio_abi.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(int argc, char **argv) {
    if (argc > 1) { aio_context_t ctx = 0; return syscall(SYS_io_setup, 8, &ctx) != 0; }
    struct io_uring_params p; memset(&p, 0, sizeof p);
    return syscall(SYS_io_uring_setup, 8, &p) < 0;
}
"#,
    )
    .unwrap();
    let bin = compile_c(&src, &dir.join("ring"), &[]);
    let b = bin.to_str().unwrap();
    let (line, all) = why(dir.path(), "sys:write[path=*/out]=error(EIO)", &[b]);
    assert!(line.contains("did I/O through io_uring"), "{all}");
    let (line, all) = why(dir.path(), "sys:write[path=*/out]=error(EIO)", &[b, "aio"]);
    assert!(line.contains("did I/O through Linux AIO"), "{all}");
}

/// fio writes through its io_uring and libaio engines, past every libc wrapper, and tears
/// the ring or AIO context down before it exits: still named (the preload notes a ring when
/// it is closed, and libaio's `io_setup` when it is called); the `psync` engine is reached.
#[test]
fn fio_io_uring_and_libaio_engines_are_named_and_psync_is_reached() {
    assert!(have("fio"), "fio is needed: apt-get install -y fio (.ci/run installs it)");
    let dir = TempDir::new("why-fio");
    // An existing file, so fio lays nothing out with plain writes first.
    std::fs::write(dir.join("fio.dat"), vec![0u8; 65536]).unwrap();
    let fio = |engine: &str| {
        let e = format!("--ioengine={engine}");
        let args = ["fio", "--name=t", "--filename=fio.dat", "--size=64k", "--rw=write", "--bs=4k"];
        let mut all: Vec<&str> = args.to_vec();
        all.extend([e.as_str(), "--output=/dev/null"]);
        why(dir.path(), "sys:@write[path=*/fio.dat]=error(EIO)", &all)
    };
    let (line, all) = fio("io_uring");
    assert!(line.contains("`fio` did I/O through io_uring"), "{all}");
    let (line, all) = fio("libaio");
    assert!(line.contains("`fio` did I/O through Linux AIO"), "{all}");
    let out = output(failinject(
        dir.path(),
        &[
            "run",
            "-r",
            "sys:@write[path=*/fio.dat]=error(EIO)",
            "--",
            "fio",
            "--name=t",
            "--filename=fio.dat",
            "--size=64k",
            "--rw=write",
            "--bs=4k",
            "--ioengine=psync",
            "--output=/dev/null",
        ],
    ));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("Input/output error"), "fio saw the fault: {stderr}");
    assert!(!stderr.contains("never injected"), "{stderr}");
}

/// Go programs, built here offline (GOPATH mode). Under the preload, a pure Go one is static,
/// and the rule's line says the command is out of reach; a cgo-linked one loads the preload,
/// but its runtime makes the system calls, and the line names it as Go; both lines point to
/// the seccomp backend, which `auto` picks for both, and under which the rule injects.
#[test]
fn go_programs_are_named() {
    assert!(have("go"), "go is needed: apt-get install -y golang-go (.ci/run installs it)");
    let dir = TempDir::new("why-go");
    std::fs::write(
        dir.join("main.go"),
        "package main\n\nimport \"os\"\n\nfunc main() {\n\tos.WriteFile(\"out.dat\", []byte(\"x\"), 0o644)\n}\n",
    )
    .unwrap();
    let build = |out: &str, cgo: bool| {
        let mut cmd = std::process::Command::new("go");
        cmd.args(["build", "-o", out])
            .current_dir(dir.path())
            .env("GO111MODULE", "off")
            .env("GOPATH", dir.join("gopath"))
            .env("GOCACHE", dir.join("gocache"))
            .env("HOME", dir.path())
            .env("CGO_ENABLED", if cgo { "1" } else { "0" })
            .env_remove("LD_PRELOAD");
        if cgo {
            cmd.arg("-ldflags=-linkmode=external");
        }
        let done = cmd.arg("main.go").output().expect("go build");
        assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
    };
    build("gostatic", false);
    build("gocgo", true);
    let rule = "sys:@write[path=*/out.dat]=error(EIO)";
    let preload = ["--backend", "preload"];
    let (line, all) = why_with(dir.path(), &preload, rule, &["./gostatic"]);
    assert!(
        line.contains("the command ./gostatic (a Go program) is out of the preload's reach"),
        "{all}"
    );
    assert!(line.contains("statically linked") && line.contains("try --backend seccomp"), "{all}");
    let (line, all) = why_with(dir.path(), &preload, rule, &["./gocgo"]);
    assert!(line.contains("`gocgo` is a Go program"), "{all}");
    assert!(line.contains("try --backend seccomp"), "{all}");
    for prog in ["./gostatic", "./gocgo"] {
        let out = output(failinject(dir.path(), &["run", "-r", rule, "--", prog]));
        let stderr = text(&out.stderr);
        assert!(stderr.contains("failinject: backend seccomp:"), "auto picks seccomp: {stderr}");
        assert!(!stderr.contains("never injected"), "{prog}: {stderr}");
    }
}

#[test]
fn a_static_program_under_sh_is_named() {
    let dir = TempDir::new("why-static");
    let src = dir.join("st.c");
    std::fs::write(
        &src,
        "#include <stdio.h>\nint main(void) { FILE *f = fopen(\"out\", \"w\"); fputs(\"x\", f); return fclose(f); }\n",
    )
    .unwrap();
    let bin = compile_c(&src, &dir.join("st"), &["-static"]);
    let script = format!("{}; true", bin.display());
    // Under `auto` the preload hands it to the seccomp backend at its exec
    // (`seccomp::a_static_program_below_a_dynamic_command_is_handed_over`); the preload alone
    // cannot reach it, and says so.
    let rule = "sys:@write[path=*/out]=error(EIO)";
    let (line, all) = why_with(dir.path(), &["--backend", "preload"], rule, &["sh", "-c", &script]);
    assert!(line.contains(&format!("started {}", bin.display())), "{all}");
    assert!(line.contains("statically linked"), "{all}");
    // Also a warning of its own, whether or not a rule missed it.
    assert!(all.contains("failinject: warning: process"), "{all}");
}

#[test]
fn a_static_program_started_by_posix_spawn_is_named() {
    let dir = TempDir::new("why-spawn");
    let st = dir.join("st.c");
    std::fs::write(&st, "int main(void) { return 0; }\n").unwrap();
    let st = compile_c(&st, &dir.join("st"), &["-static"]);
    let program = format!(
        "import os\npid = os.posix_spawn({:?}, ['st'], {{}})\nos.waitpid(pid, 0)\n",
        st.display().to_string()
    );
    let (line, all) =
        why(dir.path(), "sys:write[path=*/out]=error(EIO)", &["python3", "-c", &program]);
    assert!(line.contains("statically linked"), "{all}");
    assert!(line.contains("started"), "{all}");
}

#[test]
fn a_rust_program_without_fail_points_is_named() {
    let dir = TempDir::new("why-rust");
    let src = dir.join("app.rs");
    std::fs::write(&src, "fn main() { std::fs::write(\"out\", b\"x\").unwrap(); }\n").unwrap();
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let built = std::process::Command::new(rustc)
        .args(["-O", "-o"])
        .arg(dir.join("app"))
        .arg(&src)
        .output()
        .unwrap();
    assert!(built.status.success(), "{}", text(&built.stderr));
    let app = dir.join("app");
    let (line, all) = why(dir.path(), "wal::append=return", &[app.to_str().unwrap()]);
    assert!(line.contains("`app` is a Rust program built without fail points"), "{all}");
}

#[test]
fn writes_through_a_shared_mapping_are_named() {
    let dir = TempDir::new("why-mmap");
    std::fs::write(dir.join("data.db"), vec![0u8; 4096]).unwrap();
    let program = "import mmap\nf = open('data.db', 'r+b')\nm = mmap.mmap(f.fileno(), 4096)\n\
                   m[0:5] = b'hello'\nm.flush()\n";
    let (line, all) =
        why(dir.path(), "sys:write[path=*/data.db]=error(EIO)", &["python3", "-c", program]);
    assert!(line.contains("data.db shared and writable (mmap)"), "{all}");
    assert_eq!(&std::fs::read(dir.join("data.db")).unwrap()[..5], b"hello");
}

/// fio's `mmap` engine stats its file before it maps it: the mapping, not the `stat`, is why
/// a write rule saw nothing, and the line says so (a write through another function would
/// still come first: it names the fix).
#[test]
fn a_mapping_is_named_before_a_stat_of_the_same_file() {
    let dir = TempDir::new("why-mmap-stat");
    std::fs::write(dir.join("data.db"), vec![0u8; 4096]).unwrap();
    let program = "import mmap, os\nos.stat('data.db')\nf = open('data.db', 'r+b')\n\
                   m = mmap.mmap(f.fileno(), 4096)\nm[0:5] = b'hello'\nm.flush()\n";
    let (line, all) =
        why(dir.path(), "sys:@write[path=*/data.db]=error(EIO)", &["python3", "-c", program]);
    assert!(line.contains("data.db shared and writable (mmap)"), "{all}");
}
