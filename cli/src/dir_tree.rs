//! What a directory holds, walked in name order and hashed: the crash search lays a crash
//! state out and checks each distinct one once, and `failinject run --expect-state` compares
//! what a live replay left with the state explore checked.
#![forbid(unsafe_code)]

use std::hash::{Hash as _, Hasher as _};
use std::path::Path;

/// Calls `f` with the path (relative to `dir`) and facts of everything under `dir`, in name
/// order, a directory before what it holds; symbolic links are not followed.
pub fn walk(
    dir: &Path,
    rel: &str,
    f: &mut dyn FnMut(&str, &std::fs::Metadata),
) -> anyhow::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name().to_string_lossy().into_owned();
        let rel = if rel.is_empty() { name } else { format!("{rel}/{name}") };
        let meta = e.path().symlink_metadata()?;
        f(&rel, &meta);
        if meta.is_dir() {
            walk(&e.path(), &rel, f)?;
        }
    }
    Ok(())
}

/// A hash of what `dir` holds: names, kinds and contents, in name order (two states that
/// lay out the same bytes are checked once).
pub fn hash(dir: &Path) -> anyhow::Result<u64> {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    let mut failed = None;
    walk(dir, "", &mut |rel, meta| {
        rel.hash(&mut h);
        meta.is_dir().hash(&mut h);
        if meta.is_file() {
            match std::fs::read(dir.join(rel)) {
                Ok(bytes) => h.write(&bytes),
                Err(e) => failed = Some(e),
            }
        }
    })?;
    if let Some(e) = failed {
        return Err(e.into());
    }
    Ok(h.finish())
}
