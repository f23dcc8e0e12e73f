//! Finding `libfailinject.so`.
//!
//! In order: `FAILINJECT_LIB` (a path to the library); `libfailinject.so` next to the
//! `failinject` executable; `../lib/failinject/` relative to it (an install under a `PREFIX`);
//! and last the copy this binary carries inside itself (see `build.rs`), written once to a
//! private cache directory. The last step always succeeds unless no cache directory is
//! writable, so a lone `failinject` binary from `cargo install` works as it is.
//!
//! One exception: in a Cargo target directory (`target/release/`, recognised by its
//! `.fingerprint` directory) the library beside the binary is skipped. `cargo run` rebuilds
//! the binary but not that library, which may be days older; the built-in copy is always
//! this build's.

use anyhow::{Context as _, bail};
use std::io::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

/// The library this binary was built with.
static EMBEDDED: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/libfailinject.so"));
const EMBEDDED_ID: &str = env!("FAILINJECT_EMBEDDED_ID");
const NAME: &str = "libfailinject.so";

/// The path of the preload library to use, or an error naming every place tried.
pub fn find() -> anyhow::Result<PathBuf> {
    if let Some(path) = std::env::var_os("FAILINJECT_LIB") {
        let path = PathBuf::from(path);
        if !path.is_file() {
            bail!("FAILINJECT_LIB is {}, which is not a file", path.display());
        }
        return absolute(&path);
    }
    let mut tried = Vec::new();
    if let Ok(exe) = std::env::current_exe()
        && let Some(dir) = exe.parent()
        && !dir.join(".fingerprint").is_dir()
    {
        for candidate in [dir.join(NAME), dir.join("../lib/failinject").join(NAME)] {
            if candidate.is_file() {
                return absolute(&candidate);
            }
            tried.push(candidate);
        }
    }
    match cached() {
        Ok(path) => Ok(path),
        Err(e) => {
            let tried: Vec<String> = tried.iter().map(|p| p.display().to_string()).collect();
            let beside = match tried.is_empty() {
                true => "the binary is in a Cargo target directory".to_string(),
                false => format!("none at {}", tried.join(" or ")),
            };
            Err(e.context(format!(
                "cannot find {NAME}: FAILINJECT_LIB is not set, {beside}, and the built-in \
                 copy could not be written"
            )))
        }
    }
}

fn absolute(path: &Path) -> anyhow::Result<PathBuf> {
    std::fs::canonicalize(path).with_context(|| format!("cannot resolve {}", path.display()))
}

/// Writes the built-in library to the cache once and returns its path.
fn cached() -> anyhow::Result<PathBuf> {
    let dir = cache_dir()?;
    let path = dir.join(format!("libfailinject-{}-{EMBEDDED_ID}.so", env!("CARGO_PKG_VERSION")));
    if std::fs::metadata(&path).is_ok_and(|m| m.len() == EMBEDDED.len() as u64) {
        return Ok(path);
    }
    // Write beside, then rename: a concurrent run never loads a half-written library.
    let tmp = dir.join(format!(".{NAME}.{}.tmp", std::process::id()));
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(EMBEDDED)?;
        f.set_permissions(std::fs::Permissions::from_mode(0o755))?;
        f.sync_all()?;
        std::fs::rename(&tmp, &path)
    };
    write().with_context(|| format!("cannot write the built-in library to {}", path.display()))?;
    Ok(path)
}

/// `$XDG_CACHE_HOME/failinject`, `~/.cache/failinject`, or a private directory under the
/// temporary directory, created with mode 0700 and checked to be ours (another user must not
/// be able to plant a library we would then load into programs).
fn cache_dir() -> anyhow::Result<PathBuf> {
    let home_cache = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")));
    if let Some(base) = home_cache
        && let Ok(dir) = private_dir(&base.join("failinject"))
    {
        return Ok(dir);
    }
    private_dir(&std::env::temp_dir().join(format!("failinject-{}", nix::unistd::geteuid())))
}

/// Creates `dir` (mode 0700) if needed and checks that it is a directory owned by us that
/// nobody else can write to.
pub fn private_dir(dir: &Path) -> anyhow::Result<PathBuf> {
    let uid = nix::unistd::geteuid().as_raw();
    failinject_engine::run_files::private_dir(dir, uid).map_err(anyhow::Error::msg)?;
    Ok(dir.to_path_buf())
}
