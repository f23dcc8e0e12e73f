//! `libfailinject.so` exports exactly the table's spellings (every glibc name of every libc
//! point) and the `failinject_v1_*` ABI, and nothing else that could interpose a program's
//! symbols by accident.

use failinject_engine::points::POINTS;
use failinject_tests::preload;
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
    // The versioned C ABI of the registry (`preload/src/abi.rs`, `failinject.h`).
    for f in [
        "eval",
        "eval_at",
        "lookup",
        "cfg",
        "remove",
        "list",
        "scope_enter",
        "scope_leave",
        "generation",
        "generation_ptr",
        "seed",
    ] {
        table.insert(format!("failinject_v1_{f}"));
    }
    // The ends of a process that bypass `exit()`, for its exit record (`preload/src/ends.rs`),
    // and the spawns whose exec glibc makes past our wrappers (`preload/src/nearmiss.rs`).
    for f in ["_exit", "_Exit", "abort", "posix_spawn", "posix_spawnp"] {
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
