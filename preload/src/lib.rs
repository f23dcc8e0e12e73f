//! `libfailinject.so`, the LD_PRELOAD library of failinject.
//!
//! Loaded into an unmodified, dynamically linked program, it interposes the libc calls that
//! touch files (open, write, fsync, rename, stdio, copy_file_range, …) and applies the rules
//! of the `failinject-engine` crate to each of them. The wrappers are generated from the
//! engine's table of libc points ([`failinject_engine::libc_points!`]).
//!
//! Status: the interposition layer is the subject of the next milestone; this crate does not
//! export any libc symbol yet, so preloading it changes nothing.
#![forbid(unsafe_code)]
