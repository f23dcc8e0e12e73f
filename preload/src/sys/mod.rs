//! The edge: everything that talks to the kernel, to libc or to raw memory, so that the
//! wings above (descriptors, crash model, log, scopes) can be safe code.
//!
//! - `raw`: process-wide system calls (diagnostics, errno, pid, clocks, sleeping, reading a
//!   pointer the program passed through the kernel);
//! - `kfile`: system calls on files and descriptors; `disk`: the crash model's `Disk` on them;
//! - `real`: the real libc functions, resolved lazily with `dlsym(RTLD_NEXT)`;
//! - `guard`: the re-entrancy flag; `spin`: the one lock; `pool`: per-call path buffers;
//!   `published`: a value every thread reads without a lock, never freed (snapshots);
//! - `ret`: C return values; `site`: call sites (`backtrace`, `dladdr`);
//! - `thread`: the only way the library starts a thread (every signal blocked);
//! - `shared`: the run's shared state file, mapped (`run.rs` above it); `shared_store`: the
//!   crash model every process of a run shares, and `keeper`: its handles on files, held by
//!   `failinject run`, or by `keeper_serve`, the keeper of a bare `LD_PRELOAD` run;
//! - `env`: the one change we make to the program's environment (a bare run's directory);
//! - `write_watch`: this process's shared writable file mappings, and which of their pages
//!   were written (the kernel's write-protect bits).

pub mod disk;
pub mod env;
pub mod guard;
pub mod handover;
pub mod keeper;
pub mod keeper_serve;
pub mod kfile;
pub mod maps;
pub mod pool;
pub mod published;
pub mod raw;
pub mod real;
pub mod ret;
pub mod shared;
pub mod shared_store;
pub mod site;
pub mod spin;
pub mod thread;
pub mod write_watch;
