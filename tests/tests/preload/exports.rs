//! `libfailinject.so` exports exactly the table's spellings (every glibc name of every libc
//! point) and the `failinject_v1_*` ABI, and nothing else that could interpose a program's
//! symbols by accident.

use failinject_engine::abi::C_PROTOTYPES;
use failinject_engine::points::POINTS;
use failinject_tests::{TempDir, compile_c, preload};
use std::collections::BTreeSet;
use std::process::Command;

fn exported() -> BTreeSet<String> {
    let out = Command::new("nm")
        .args(["-D", "--defined-only"])
        .arg(preload())
        .output()
        .expect("nm is installed (binutils; .ci/run installs it)");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().nth(2))
        .map(|s| s.split('@').next().unwrap_or(s).to_owned())
        .collect()
}

#[test]
fn exports_are_exactly_the_tables_spellings() {
    let mut table: BTreeSet<String> =
        POINTS.iter().flat_map(|p| p.spellings.iter().map(|s| s.to_string())).collect();
    // The versioned C ABI of the registry, from its one definition (`failinject_engine::abi`).
    table.extend(C_PROTOTYPES.iter().map(|(sym, _)| sym.to_string()));
    // The hand-written interposers (`preload/src/wrappers/by_hand.rs`): the ends of a process
    // that bypass `exit()`, for its exit record, and the spawns whose exec glibc makes past
    // our wrappers.
    // The signal functions (`wrappers/signals.rs`): a handler of ours, where one writes the exit
    // record of a process a catchable signal ends, is reported as the default.
    for f in [
        "_exit",
        "_Exit",
        "abort",
        "posix_spawn",
        "posix_spawnp",
        "io_setup",
        "sigaction",
        "signal",
        "bsd_signal",
        "sysv_signal",
        "__sysv_signal",
    ] {
        table.insert(f.to_string());
    }
    let exports = exported();
    let missing: Vec<_> = table.difference(&exports).collect();
    let extra: Vec<_> = exports.difference(&table).collect();
    assert!(missing.is_empty(), "table spellings not exported: {missing:?}");
    assert!(extra.is_empty(), "exported symbols that are not in the table: {extra:?}");
}

#[test]
fn the_printf_family_is_exported_through_its_shims() {
    let exports = exported();
    for name in ["fprintf", "__fprintf_chk", "printf", "__printf_chk", "dprintf", "__dprintf_chk"] {
        assert!(exports.contains(name), "{name} is not exported");
    }
    assert!(!exports.iter().any(|s| s.starts_with("failinject_shim_")), "shims must stay hidden");
}

/// Each printf spelling is decided as its own point: `printf` as `sys:printf`, not (through
/// glibc's inline `vprintf`, which the shims once picked up) as `sys:fprintf`.
#[test]
fn each_printf_spelling_is_decided_as_its_own_point() {
    let dir = TempDir::new("printf-points");
    let src = dir.join("p.c");
    std::fs::write(
        &src,
        "#include <errno.h>\n#include <stdio.h>\n#include <string.h>\n\
         int main(void) {\n\
           errno = 0; int a = printf(\"%d\\n\", 1), ea = errno;\n\
           errno = 0; int b = fprintf(stdout, \"%d\\n\", 2), eb = errno;\n\
           errno = 0; int c = dprintf(1, \"%d\\n\", 3), ec = errno;\n\
           fprintf(stderr, \"%d %s %d %s %d %s\\n\", a, strerror(ea), b, strerror(eb), c, strerror(ec));\n\
           return 0;\n\
         }\n",
    )
    .unwrap();
    // Optimized, plain (`printf`) and fortified as distributions build programs
    // (`__printf_chk`).
    for (name, flags) in [("plain", &["-O2"][..]), ("fortified", &["-O2", "-D_FORTIFY_SOURCE=2"])] {
        let exe = compile_c(&src, &dir.join(name), flags);
        let out_file = dir.join("out");
        let ran = |rule: &str| {
            let out = Command::new(&exe)
                .env("LD_PRELOAD", preload())
                .env("FAILINJECT", rule)
                .stdout(std::fs::File::create(&out_file).unwrap())
                .output()
                .unwrap();
            assert!(out.status.success(), "{out:?}");
            String::from_utf8_lossy(&out.stderr).lines().last().unwrap_or("").to_string()
        };
        let (eio, ok) = ("-1 Input/output error", "2 Success");
        let got = ran("sys:printf[kind=file]=error(EIO)");
        assert_eq!(got, format!("{eio} {ok} {ok}"), "{name}: sys:printf");
        let got = ran("sys:fprintf[kind=file]=error(EIO)");
        assert_eq!(got, format!("{ok} {eio} {ok}"), "{name}: sys:fprintf");
        let got = ran("sys:dprintf[kind=file]=error(EIO)");
        assert_eq!(got, format!("{ok} {ok} {eio}"), "{name}: sys:dprintf");
        assert_eq!(ran(""), format!("{ok} {ok} {ok}"), "{name}");
    }
}

/// The declarations of `failinject_v1_*` functions in `failinject.h`, whitespace folded.
fn header_declarations() -> BTreeSet<String> {
    let header = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../preload/include/failinject.h"),
    )
    .unwrap();
    let code = header.split_once("*/").map_or("", |(_, code)| code);
    code.split(';')
        .filter(|d| d.contains("failinject_v1_") && d.contains("__attribute__((weak))"))
        .map(|d| {
            // The declaration is the run of lines before its `;` back to a blank line or a
            // preprocessor line.
            let lines: Vec<&str> = d.lines().collect();
            let start = lines
                .iter()
                .rposition(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
                .map_or(0, |i| i + 1);
            let decl = lines[start..].join(" ").replace("__attribute__((weak))", "");
            decl.split_whitespace().collect::<Vec<_>>().join(" ")
        })
        .collect()
}

/// `failinject.h` declares exactly the ABI's functions, with the prototypes of its one
/// definition, and a C program built against it with `-Wall -Wextra -Werror` calls every one
/// of them under the preload and gets what each promises.
#[test]
fn the_c_header_declares_the_abi_and_a_c_program_calls_every_function() {
    let declared = header_declarations();
    let defined: BTreeSet<String> = C_PROTOTYPES.iter().map(|(_, p)| p.to_string()).collect();
    assert_eq!(declared, defined, "failinject.h and failinject_engine::abi disagree");

    let dir = TempDir::new("abi-c");
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/abi.c");
    let include = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../preload/include");
    let include = format!("-I{}", include.display());
    let exe = compile_c(&src, &dir.join("abi"), &["-Wall", "-Wextra", "-Werror", &include]);

    // Without the preload every weak symbol is null and the program says so.
    let bare =
        Command::new(&exe).current_dir(dir.path()).env_remove("LD_PRELOAD").output().unwrap();
    assert_eq!(String::from_utf8_lossy(&bare.stdout), "preload=absent\n");

    let out = Command::new(&exe)
        .current_dir(dir.path())
        .env("LD_PRELOAD", preload())
        .env("FAILINJECT", "abi::point=return(7)")
        .env("FAILINJECT_SEED", "42")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    let expected = [
        "preload=present",
        "seed=42",
        "eval=1 arg=7",
        "lookup>=0 generation=same",
        "eval_at=1 arg=7",
        "cfg=0 cfg_bad=-1 err=yes",
        "generation_moved=1",
        "list_has_rule=1",
        "remove=1 remove_again=0",
        "restore_launch=0 later_gone=1 launch_kept=1",
        "deferred sleep=1 ms=5 pause=1 done=0,1",
        "local ctx=1 set=0 refused=-1 bound=-1,1 unbound=1 removed=1",
        "scope=entered-and-left",
        "calls=19",
    ];
    assert_eq!(stdout.lines().collect::<Vec<_>>(), expected, "{stdout}");
}
