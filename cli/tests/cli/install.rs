//! Where `failinject` finds `libfailinject.so`: `FAILINJECT_LIB`, beside the executable,
//! `../lib/failinject/`, else the copy it carries, written to a private cache.

use crate::common::*;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

/// `failinject run` of a command that prints its LD_PRELOAD, from `bin`.
fn preload_used(bin: &Path, cache: &Path, lib: Option<&Path>) -> std::process::Output {
    let mut cmd = std::process::Command::new(bin);
    cmd.args(["run", "-q", "--", "sh", "-c", "echo \"$LD_PRELOAD\""])
        .env("XDG_CACHE_HOME", cache)
        .env_remove("LD_PRELOAD")
        .env_remove("FAILINJECT_LIB");
    if let Some(lib) = lib {
        cmd.env("FAILINJECT_LIB", lib);
    }
    cmd.output().unwrap()
}

#[test]
fn a_lone_binary_writes_its_library_to_a_private_cache() {
    let home = TempDir::new("install-cache");
    let out = preload_used(installed(), home.path(), None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let used = text(&out.stdout).trim().to_string();
    let cached = home.join("failinject");
    assert!(used.starts_with(cached.to_str().unwrap()), "{used}");
    let meta = std::fs::metadata(&used).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o755);
    let dir_mode = std::fs::metadata(&cached).unwrap().permissions().mode() & 0o777;
    assert_eq!(dir_mode, 0o700, "nobody else can plant a library there");

    // A second run reuses it; a cache directory another user could write to is refused and
    // the private temporary directory is used instead.
    let again = preload_used(installed(), home.path(), None);
    assert_eq!(text(&again.stdout).trim(), used);
    std::fs::set_permissions(&cached, std::fs::Permissions::from_mode(0o777)).unwrap();
    let elsewhere = preload_used(installed(), home.path(), None);
    assert!(elsewhere.status.success());
    assert!(!text(&elsewhere.stdout).starts_with(cached.to_str().unwrap()));
}

#[test]
fn the_lookup_order_is_env_then_beside_then_lib_dir() {
    // An installed layout: PREFIX/bin/failinject and PREFIX/lib/failinject/libfailinject.so.
    // The "library" files are not libraries, so the loader names the one it was given.
    let prefix = TempDir::new("install-prefix");
    let home = TempDir::new("install-home");
    std::fs::create_dir_all(prefix.join("bin")).unwrap();
    std::fs::create_dir_all(prefix.join("lib/failinject")).unwrap();
    let bin = prefix.join("bin/failinject");
    std::fs::copy(installed(), &bin).unwrap();
    let in_lib = prefix.join("lib/failinject/libfailinject.so");
    std::fs::write(&in_lib, "lib dir").unwrap();
    let out = preload_used(&bin, home.path(), None);
    let used = text(&out.stdout);
    assert!(used.starts_with(in_lib.canonicalize().unwrap().to_str().unwrap()), "{used}");

    let beside = prefix.join("bin/libfailinject.so");
    std::fs::write(&beside, "beside").unwrap();
    let used = text(&preload_used(&bin, home.path(), None).stdout);
    assert!(used.starts_with(beside.canonicalize().unwrap().to_str().unwrap()), "{used}");

    let named = prefix.join("mine.so");
    std::fs::write(&named, "named").unwrap();
    let used = text(&preload_used(&bin, home.path(), Some(&named)).stdout);
    assert!(used.starts_with(named.canonicalize().unwrap().to_str().unwrap()), "{used}");

    let out = preload_used(&bin, home.path(), Some(&prefix.join("missing.so")));
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("FAILINJECT_LIB is "), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("missing.so, which is not a file"));
}

#[test]
fn completions_and_man_page_come_from_the_definitions() {
    let dir = TempDir::new("install-docs");
    for shell in ["bash", "zsh", "fish"] {
        let out = output(failinject(dir.path(), &["completions", shell]));
        assert!(out.status.success());
        let script = text(&out.stdout);
        for sub in ["run", "check", "points", "ctl"] {
            assert!(script.contains(sub), "{shell} completion lacks {sub}");
        }
    }
    let bash = output(failinject(dir.path(), &["completions", "bash"]));
    std::fs::write(dir.join("failinject.bash"), &bash.stdout).unwrap();
    let syntax =
        std::process::Command::new("bash").arg("-n").arg(dir.join("failinject.bash")).status();
    assert!(syntax.unwrap().success(), "the bash completion script parses");
    let out = output(failinject(dir.path(), &["completions", "tcsh"]));
    assert_eq!(out.status.code(), Some(2), "an unknown shell is a usage error");

    let man = text(&output(failinject(dir.path(), &["man"])).stdout);
    assert!(man.starts_with(".ie") || man.contains(".TH failinject 1"), "{}", &man[..200]);
    assert!(man.contains("run") && man.contains("ctl"));
    let pages = dir.join("man1");
    let out = output(failinject(dir.path(), &["man", "--dir", pages.to_str().unwrap()]));
    assert!(out.status.success());
    for page in ["failinject.1", "failinject-run.1", "failinject-ctl.1", "failinject-check.1"] {
        let text = std::fs::read_to_string(pages.join(page)).unwrap();
        assert!(text.contains(".TH"), "{page}");
    }
    let run_page = std::fs::read_to_string(pages.join("failinject-run.1")).unwrap();
    assert!(run_page.contains("full(1M)"), "the worked examples are in the page");
}

/// The README's install lines, after `cargo install`, work on a fresh account: an empty home
/// directory, where no completion or man directory exists yet.
#[test]
fn the_readme_install_lines_work_on_a_fresh_account() {
    let readme = std::fs::read_to_string(failinject_tests::workspace().join("README.md")).unwrap();
    let section = readme.split("## Installing").nth(1).expect("an Installing section");
    let block = section.split("```sh\n").nth(1).and_then(|b| b.split("```").next()).unwrap();
    let lines: Vec<&str> = block.lines().filter(|l| !l.starts_with("cargo install")).collect();
    assert!(lines.iter().any(|l| l.contains("completions bash")), "{block}");
    let home = TempDir::new("install-home");
    let script = format!("set -e\n{}", lines.join("\n"));
    let out = output(shell(home.path(), &script).env("HOME", home.path()));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let completion = home.join(".local/share/bash-completion/completions/failinject");
    assert!(std::fs::metadata(&completion).unwrap().len() > 0);
    assert!(home.join(".local/share/man/man1/failinject.1").exists());
}

/// The README's `apt-get` line names every package `.ci/run` installs for the tests.
#[test]
fn the_readme_names_every_tool_the_tests_need() {
    let root = failinject_tests::workspace();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let line = readme.lines().find(|l| l.contains("apt-get install")).expect("an apt-get line");
    let ci = std::fs::read_to_string(root.join(".ci/run")).unwrap();
    let packages: Vec<&str> =
        ci.split("need+=(").skip(1).filter_map(|rest| rest.split(')').next()).collect();
    assert!(packages.len() >= 5, "{packages:?}");
    for p in packages {
        assert!(line.split_whitespace().any(|w| w == p), "README's apt-get line lacks {p}: {line}");
    }
}
