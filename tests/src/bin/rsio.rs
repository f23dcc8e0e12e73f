//! `rsio`: a fixture for the end-to-end tests, doing one Rust std file operation chosen by its
//! arguments, so that the tests can fail the libc call under it:
//!
//! | arguments | std call | libc call |
//! |---|---|---|
//! | `metadata PATH` | `fs::metadata` | `statx` |
//! | `copy SRC DST` | `fs::copy` | `copy_file_range` |
//! | `sync_all PATH` | `File::sync_all` after a write | `fsync` |
//! | `sync_data PATH` | `File::sync_data` after a write | `fdatasync` |
//! | `set_len PATH LEN` | `File::set_len` | `ftruncate64` |
//!
//! On success it prints `ok: …` and exits 0; on failure it prints `rsio: OP: ERROR` (the
//! `io::Error`'s `Display`, e.g. `Input/output error (os error 5)`) on stderr and exits 1.
#![forbid(unsafe_code)]

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::process::ExitCode;

fn run(args: &[String]) -> io::Result<String> {
    let arg = |i: usize| {
        args.get(i).map(String::as_str).ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, format!("missing argument {i}"))
        })
    };
    match arg(0)? {
        "metadata" => Ok(format!("{} bytes", fs::metadata(arg(1)?)?.len())),
        "copy" => Ok(format!("{} bytes copied", fs::copy(arg(1)?, arg(2)?)?)),
        "sync_all" => {
            let mut file = File::create(arg(1)?)?;
            file.write_all(b"synced with sync_all\n")?;
            file.sync_all()?;
            Ok("synced".into())
        }
        "sync_data" => {
            let mut file = File::create(arg(1)?)?;
            file.write_all(b"synced with sync_data\n")?;
            file.sync_data()?;
            Ok("synced".into())
        }
        "set_len" => {
            let len: u64 = arg(2)?
                .parse()
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("LEN: {e}")))?;
            OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(false)
                .open(arg(1)?)?
                .set_len(len)?;
            Ok(format!("length set to {len}"))
        }
        other => {
            Err(io::Error::new(io::ErrorKind::InvalidInput, format!("unknown operation `{other}`")))
        }
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(what) => {
            println!("ok: {what}");
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("rsio: {}: {err}", args.first().map(String::as_str).unwrap_or("?"));
            ExitCode::FAILURE
        }
    }
}
