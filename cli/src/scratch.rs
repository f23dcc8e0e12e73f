//! Private temporary directories, removed when dropped.
#![forbid(unsafe_code)]

use anyhow::Context as _;
use std::os::unix::fs::DirBuilderExt as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

/// A directory of mode 0700 under the temporary directory, removed with its contents on drop.
pub struct Scratch {
    path: PathBuf,
}

impl Scratch {
    /// Creates `failinject-<what>-<pid>-<n>` under `$TMPDIR` (or `/tmp`).
    pub fn new(what: &str) -> anyhow::Result<Scratch> {
        static N: AtomicU32 = AtomicU32::new(0);
        let base = std::env::temp_dir();
        for _ in 0..1000 {
            let n = N.fetch_add(1, Ordering::Relaxed);
            let path = base.join(format!("failinject-{what}-{}-{n}", std::process::id()));
            match std::fs::DirBuilder::new().mode(0o700).create(&path) {
                Ok(()) => return Ok(Scratch { path }),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => {
                    return Err(e).with_context(|| {
                        format!("cannot create a directory in {}", base.display())
                    });
                }
            }
        }
        anyhow::bail!("cannot find a free directory name in {}", base.display())
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}
