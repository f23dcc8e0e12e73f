//! A fixture for `failinject explore`: appends a line to `journal.log` and `unwrap`s the
//! result, so any write error panics (explore: crashed, as a Rust panic).

use std::io::Write as _;

fn main() {
    let mut journal = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open("journal.log")
        .expect("open the journal");
    // The bug: an I/O error is not a programming error, but unwrap treats it as one.
    journal.write_all(b"entry\n").unwrap();
}
