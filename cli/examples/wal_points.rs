//! A tiny write-ahead log with in-code fail points, the fixture of `explore --scope 'wal::*'`:
//! three records are appended to `wal.log`, then a `COMMIT` line. Each append goes through
//! `wal::append`, the commit through `wal::commit`.
//!
//! One of the two has a bug that only a fault shows: when `wal::append` returns early the
//! record is dropped but the append reports success (the closure returns `Ok`), so the log
//! commits with a record missing. The oracle (`COMMIT` only after all three records) finds
//! it: `corrupted`. `wal::commit` returning early is reported (exit 1), and a panic at
//! either point leaves a log without `COMMIT`, which the oracle accepts.

use failinject::fail_point;
use std::fs::{File, OpenOptions};
use std::io::Write as _;

fn append(log: &mut File, record: &str) -> std::io::Result<()> {
    // The bug: an injected early return drops the record and says all went well.
    fail_point!("wal::append", |_| Ok(()));
    writeln!(log, "{record}")
}

fn commit(log: &mut File) -> std::io::Result<()> {
    fail_point!("wal::commit", |_| Err(std::io::Error::other("commit failed")));
    writeln!(log, "COMMIT")?;
    log.sync_data()
}

fn main() {
    let run = || -> std::io::Result<()> {
        let mut log = OpenOptions::new().create(true).append(true).open("wal.log")?;
        for record in ["rec 1", "rec 2", "rec 3"] {
            append(&mut log, record)?;
        }
        commit(&mut log)
    };
    if let Err(e) = run() {
        eprintln!("wal_points: {e}");
        std::process::exit(1);
    }
}
