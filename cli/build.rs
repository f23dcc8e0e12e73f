//! Builds `libfailinject.so` (release) and hands it to the CLI to carry inside itself.
//!
//! `cargo install` and `cargo run -p failinject-cli` build binaries only: a cdylib of another
//! package is never built for them, and Cargo's artifact dependencies are not stable. So this
//! script runs a nested `cargo build --release -p failinject-preload` into a target directory
//! of its own (the outer build holds the lock on the usual one), copies the library into
//! `OUT_DIR`, and `src/library.rs` embeds it with `include_bytes!`. At run time the CLI writes
//! that copy to a private cache when no installed library is found, so a lone `failinject`
//! binary always works, and the library it uses always matches the binary.
//!
//! `FAILINJECT_EMBED_LIB=/path/to/libfailinject.so` embeds that file instead of building one
//! (for packagers who build the library separately).
//!
//! The nested target directory sits beside the outer profile directories and persists, so
//! after the first build this costs one up-to-date check.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let manifest = PathBuf::from(env("CARGO_MANIFEST_DIR"));
    let workspace = manifest.parent().expect("cli/ lives in the workspace").to_path_buf();
    let out = PathBuf::from(env("OUT_DIR"));
    for watched in ["preload", "engine", "Cargo.toml", "Cargo.lock"] {
        println!("cargo:rerun-if-changed={}", workspace.join(watched).display());
    }

    println!("cargo:rerun-if-env-changed=FAILINJECT_EMBED_LIB");
    let built = match std::env::var_os("FAILINJECT_EMBED_LIB") {
        Some(lib) => PathBuf::from(lib),
        None => build_library(&workspace, &out),
    };
    let bytes = std::fs::read(&built)
        .unwrap_or_else(|e| panic!("read the built library {}: {e}", built.display()));
    copy_if_changed(&bytes, &out.join("libfailinject.so"));
    // Names the cached copy: a different library never reuses another's file.
    println!("cargo:rustc-env=FAILINJECT_EMBEDDED_ID={:016x}", fnv1a(&bytes));
}

/// Runs the nested release build and returns the library's path.
fn build_library(workspace: &Path, out: &Path) -> PathBuf {
    // OUT_DIR is <target>[/<triple>]/<profile>/build/<pkg>-<hash>/out.
    let target_root = out.ancestors().nth(4).expect("OUT_DIR is inside a target directory");
    let nested = target_root.join("failinject-embedded");
    let target = env("TARGET");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut build = Command::new(cargo);
    build
        .current_dir(workspace)
        .args(["build", "--release", "-p", "failinject-preload", "--target", &target])
        .arg("--target-dir")
        .arg(&nested)
        // `cargo clippy` wraps rustc for workspace members; the library must be compiled.
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET")
        // Carried inside the CLI: line tables would make it 18 MB instead of about 1.
        .env("CARGO_PROFILE_RELEASE_DEBUG", "0")
        .env("CARGO_PROFILE_RELEASE_STRIP", "debuginfo");
    let status = build.status().expect("run the nested cargo build of libfailinject.so");
    assert!(status.success(), "the nested build of libfailinject.so failed ({status})");

    nested.join(&target).join("release").join("libfailinject.so")
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("cargo sets {name} for build scripts"))
}

/// Writes only when the bytes differ, so an unchanged library does not rebuild the CLI.
fn copy_if_changed(bytes: &[u8], to: &Path) {
    if std::fs::read(to).ok().as_deref() != Some(bytes) {
        std::fs::write(to, bytes).unwrap_or_else(|e| panic!("write {}: {e}", to.display()));
    }
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3))
}
