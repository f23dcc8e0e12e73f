//! The points both fail point benchmarks hit (`hooks/benches/fail_point.rs` under criterion,
//! `bench/hooks-callgrind/` under callgrind), so the two measure the same code.
//!
//! Each function holds one `fail_point!` and is `#[inline(always)]`, so the macro's code sits
//! in the benchmark loop as it does in a caller, and every loop that calls it hits the same
//! point (for `failinject`, the same `static` site).

/// Ten other points and their actions (fail-rs's grammar, which both crates parse). They are
/// never hit.
pub const OTHERS: [(&str, &str); 10] = [
    ("wal::append", "return(disk full)"),
    ("wal::sync", "1%return"),
    ("wal::rotate", "off"),
    ("db::commit", "panic(boom)"),
    ("db::abort", "3*return"),
    ("cache::get", "off"),
    ("cache::put", "sleep(1)"),
    ("net::send", "print(sent)"),
    ("net::recv", "yield"),
    ("raft::append_entries", "50%delay(1)->return"),
];

/// `failinject`'s point and fail-rs's, under one name.
macro_rules! points {
    ($($fi:ident, $fr:ident = $name:literal;)*) => {$(
        #[inline(always)]
        pub fn $fi() -> Result<(), String> {
            failinject::fail_point!($name, |s: Option<String>| Err(s.unwrap_or_default()));
            Ok(())
        }

        #[inline(always)]
        pub fn $fr() -> Result<(), String> {
            fail::fail_point!($name, |s: Option<String>| Err(s.unwrap_or_default()));
            Ok(())
        }
    )*};
}

points! {
    fi_unconfigured, fr_unconfigured = "bench::unconfigured";
    fi_off, fr_off = "bench::off";
    fi_configured, fr_configured = "bench::configured";
}

/// The loop body without a point: what the harness and `black_box` cost.
#[inline(always)]
pub fn no_point() -> Result<(), String> {
    Ok(())
}
