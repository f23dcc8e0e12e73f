//! `crash_rs FILE`: a fixture for `tests/tests/preload/crash.rs`, a Rust program whose in-code point
//! `app::after_commit` the tests configure with `powercut`. It writes and syncs `FILE`
//! (`committed`), writes more (`pending`), then reaches the point; reaching the end prints
//! `survived`.
#![forbid(unsafe_code)]

use failinject::fail_point;
use std::io::Write;

fn main() -> std::io::Result<()> {
    let path = std::env::args().nth(1).expect("usage: crash_rs FILE");
    let mut f = std::fs::File::create(&path)?;
    f.write_all(b"committed\n")?;
    f.sync_all()?;
    f.write_all(b"pending\n")?;
    fail_point!("app::after_commit");
    println!("survived");
    Ok(())
}
