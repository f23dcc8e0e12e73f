//! A correct atomic save, the fixture `failinject explore` must find nothing wrong with:
//! write a temporary file, sync it, close it (checking the close: dropping a `File` ignores
//! its errors), rename it over `data.txt`, sync the directory; on any error, report it,
//! remove the temporary file and exit 1. `data.txt` therefore always holds either its old
//! content or the whole new one.

use std::fs::{self, File};
use std::io::Write as _;

/// Closes `file`, returning the error `drop` would have swallowed.
fn close(file: File) -> std::io::Result<()> {
    nix::unistd::close(file).map_err(std::io::Error::from)
}

fn save(text: &[u8]) -> std::io::Result<()> {
    let mut tmp = File::create("data.tmp")?;
    tmp.write_all(text)?;
    tmp.sync_all()?;
    close(tmp)?;
    fs::rename("data.tmp", "data.txt")?;
    let dir = File::open(".")?;
    dir.sync_all()?;
    close(dir)
}

fn main() {
    if let Err(e) = save(b"version 2\n") {
        eprintln!("atomic_save: {e}");
        let _ = fs::remove_file("data.tmp");
        std::process::exit(1);
    }
}
