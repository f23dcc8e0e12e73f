//! `points_rs`: a fixture for the end-to-end tests of the `failinject` crate, a Rust program
//! with in-code fail points around real file I/O, to prove that under `libfailinject.so` the
//! crate and the preload share one registry (one config, one seed, one log, one control
//! socket), and that without the preload the same binary serves its points itself.
//!
//! | arguments | what it does | what it prints |
//! |---|---|---|
//! | `scope DIR` | writes `DIR/f.dat`, `fsync`s it inside `fail_scope!("commit")`, then outside | `inside=R outside=R` |
//! | `after DIR` | writes `DIR/f.dat`, hits `fail_point!("app::armed")`, writes again | `before=R after=R` |
//! | `mixed DIR` | calls `save()` (point `app::save`, whose `return(V)` makes it fail), then writes `DIR/f.dat` | `backend=B save=S write=R` |
//! | `cfg DIR` | lists the in-code rules, writes, sets `sys:write[path=*/f.dat]=error(ENOSPC)` with `failinject::cfg`, writes again | `list=[K=A,…] before=R cfg=C after=R` |
//! | `pause DIR` | a thread hits `fail_point!("app::pause")`, then writes `DIR/f.dat`; main joins it | `released paused_ms=N write=R` |
//! | `flaky N` | calls a function with the point `app::flaky` `N` times | `returned=K hits=H` |
//! | `recfg` | calls `save()`, sets `app::save=return(late)` with `failinject::cfg`, calls it again, removes the rule, calls it a third time | `first=S second=S third=S` |
//! | `scope_order DIR` | writes `DIR/f.dat`; enters `commit`, then `other`; drops the `commit` guard first, `fsync`s and calls `save()` (inside `other` only), then drops `other` and does both again | `other_only=R,S none=R,S` |
//! | `scoped` | calls `save()` inside `fail_scope!("commit")`, then outside | `inside=S outside=S` |
//! | `local DIR` | eight threads each set `sys:write[path=DIR/*]` to another errno with `failinject::local::cfg` and write their own file; a ninth thread writes with no local rule; the first also hands its configuration to a thread of `local::spawn` and not to a plain one; a thread with `full(10)` writes three 5-byte records; `powercut` is refused locally | `t0=R … t7=R free=R spawned=R plain=R budget=R,R,R refused=M` |
//! | `async` | polls a future that hits `fail_point_async!("app::slow")` once, then drives it to the end (a one-thread executor of its own) | `backend=B first_poll_ms=N total_ms=M` |
//! | `scenario DIR` | as a `main` that follows fail-rs's pattern: sets up a `FailScenario`, calls `save()` and `flaky()` and writes `DIR/f.dat`; sets `app::save=return(scenario)` and removes `app::flaky`; calls both; tears the scenario down; calls both, `save()` once more, and writes again | `backend=B first=S,F write=R during=S,F after=S,F after2=S write_after=R` |
//!
//! `R` is `ok`, or `errN` with the errno of the failed call (`err5` for EIO); `B` is
//! `preload` or `local`, the registry the crate found; `S` is `saved` or `return(V)`; `F` is
//! whether `app::flaky` returned.
//!
//! A watchdog ends the process with status 124 after 30 seconds, so a point that never lets
//! go (a `pause` never released) cannot hang a test.
#![forbid(unsafe_code)]

use failinject::fail_point;
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// Wakes the fixture's one-thread executor (`async`).
struct Unpark(std::thread::Thread);

impl std::task::Wake for Unpark {
    fn wake(self: std::sync::Arc<Self>) {
        self.0.unpark();
    }
}

/// `ok`, or `errN` with the call's errno (`err:MESSAGE` when it has none).
fn show(r: io::Result<()>) -> String {
    match r {
        Ok(()) => "ok".into(),
        Err(e) => match e.raw_os_error() {
            Some(n) => format!("err{n}"),
            None => format!("err:{e}"),
        },
    }
}

/// The data file the rules aim at: `DIR/f.dat`, created afresh.
fn data_file(dir: &str) -> io::Result<(PathBuf, File)> {
    let path = Path::new(dir).join("f.dat");
    let file = File::create(&path)?;
    Ok((path, file))
}

/// Which registry the crate uses.
fn backend() -> &'static str {
    match failinject::backend::backend() {
        failinject::backend::Backend::Preload(_) => "preload",
        failinject::backend::Backend::Local(_) => "local",
    }
}

/// `saved`, or what `save()` returned instead.
fn saved() -> String {
    match save() {
        Ok(()) => "saved".to_owned(),
        Err(e) => e,
    }
}

/// Saves something, unless `app::save` is configured `return(V)`.
fn save() -> Result<(), String> {
    fail_point!("app::save", |arg: Option<String>| {
        Err(format!("return({})", arg.unwrap_or_default()))
    });
    Ok(())
}

/// Whether `app::flaky` returned this time.
fn flaky() -> bool {
    fail_point!("app::flaky", |_| true);
    false
}

fn run(args: &[String]) -> io::Result<String> {
    let arg = |i: usize| {
        args.get(i).map(String::as_str).ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, format!("missing argument {i}"))
        })
    };
    match arg(0)? {
        "scope" => {
            let (_, mut f) = data_file(arg(1)?)?;
            f.write_all(b"committed data\n")?;
            let inside = {
                let _g = failinject::fail_scope!("commit");
                f.sync_all()
            };
            let outside = f.sync_all();
            Ok(format!("inside={} outside={}", show(inside), show(outside)))
        }
        "after" => {
            let (_, mut f) = data_file(arg(1)?)?;
            let before = f.write_all(b"before\n");
            fail_point!("app::armed");
            let after = f.write_all(b"after\n");
            Ok(format!("before={} after={}", show(before), show(after)))
        }
        "mixed" => {
            let (_, mut f) = data_file(arg(1)?)?;
            let saved = saved();
            let write = f.write_all(b"payload\n");
            Ok(format!("backend={} save={saved} write={}", backend(), show(write)))
        }
        "cfg" => {
            let list: Vec<String> =
                failinject::list().into_iter().map(|(k, a)| format!("{k}={a}")).collect();
            let (_, mut f) = data_file(arg(1)?)?;
            let before = f.write_all(b"before\n");
            let cfg = match failinject::cfg("sys:write[path=*/f.dat]", "error(ENOSPC)") {
                Ok(()) => "ok".to_owned(),
                Err(e) => format!("err:{e}"),
            };
            let after = f.write_all(b"after\n");
            Ok(format!(
                "list=[{}] before={} cfg={cfg} after={}",
                list.join(","),
                show(before),
                show(after)
            ))
        }
        "pause" => {
            let (_, mut f) = data_file(arg(1)?)?;
            let worker = std::thread::spawn(move || {
                let start = Instant::now();
                fail_point!("app::pause");
                let paused = start.elapsed();
                (paused, f.write_all(b"released\n"))
            });
            let (paused, write) = worker.join().expect("the paused thread does not panic");
            Ok(format!("released paused_ms={} write={}", paused.as_millis(), show(write)))
        }
        "flaky" => {
            let n: usize = arg(1)?
                .parse()
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("N: {e}")))?;
            let returned = (0..n).filter(|_| flaky()).count();
            Ok(format!("returned={returned} hits={}", failinject::hits("app::flaky")))
        }
        "recfg" => {
            let first = saved();
            let cfg = failinject::cfg("app::save", "return(late)");
            let second = saved();
            failinject::remove("app::save");
            let third = saved();
            match cfg {
                Ok(()) => Ok(format!("first={first} second={second} third={third}")),
                Err(e) => Err(io::Error::other(format!("cfg: {e}"))),
            }
        }
        "scope_order" => {
            let (_, mut f) = data_file(arg(1)?)?;
            f.write_all(b"committed data\n")?;
            let commit = failinject::fail_scope!("commit");
            let other = failinject::fail_scope!("other");
            drop(commit);
            let other_only = (show(f.sync_all()), saved());
            drop(other);
            let none = (show(f.sync_all()), saved());
            Ok(format!("other_only={},{} none={},{}", other_only.0, other_only.1, none.0, none.1))
        }
        "scenario" => {
            let (_, mut f) = data_file(arg(1)?)?;
            let scenario = failinject::FailScenario::setup();
            let first = (saved(), flaky());
            let write = f.write_all(b"first\n");
            failinject::cfg("app::save", "return(scenario)").map_err(io::Error::other)?;
            failinject::remove("app::flaky");
            let during = (saved(), flaky());
            scenario.teardown();
            let after = (saved(), flaky());
            let after2 = saved();
            let write_after = f.write_all(b"after\n");
            Ok(format!(
                "backend={} first={},{} write={} during={},{} after={},{} after2={} write_after={}",
                backend(),
                first.0,
                first.1,
                show(write),
                during.0,
                during.1,
                after.0,
                after.1,
                after2,
                show(write_after)
            ))
        }
        "local" => {
            let dir = PathBuf::from(arg(1)?);
            let errnos = ["ENOSPC", "EIO", "EDQUOT", "EFBIG", "EROFS", "EACCES", "EPERM", "EBUSY"];
            let rule = format!("sys:write[path={}/*]", dir.display());
            let write = |dir: &Path, name: &str| -> String {
                show(File::create(dir.join(name)).and_then(|mut f| f.write_all(b"data")))
            };
            let barrier = std::sync::Arc::new(std::sync::Barrier::new(errnos.len()));
            let threads: Vec<_> = errnos
                .iter()
                .enumerate()
                .map(|(i, e)| {
                    let (dir, rule, barrier) = (dir.clone(), rule.clone(), barrier.clone());
                    let task = format!("error({e})");
                    std::thread::spawn(move || {
                        failinject::local::cfg(rule.as_str(), &task).map_err(|e| e.to_string())?;
                        // Every thread holds its rule before any writes.
                        barrier.wait();
                        let own = write(&dir, &format!("t{i}.dat"));
                        let handed = if i == 0 {
                            let d = dir.clone();
                            let spawned =
                                failinject::local::spawn(move || write(&d, "spawned.dat"));
                            let d = dir.clone();
                            let plain = std::thread::spawn(move || write(&d, "plain.dat"));
                            Some((spawned.join().unwrap(), plain.join().unwrap()))
                        } else {
                            None
                        };
                        Ok::<_, String>((own, handed))
                    })
                })
                .collect();
            let free = write(&dir, "free.dat");
            let mut out = Vec::new();
            let mut handed = None;
            for (i, t) in threads.into_iter().enumerate() {
                let (own, h) = t.join().unwrap().map_err(io::Error::other)?;
                out.push(format!("t{i}={own}"));
                handed = handed.or(h);
            }
            let (spawned, plain) = handed.unwrap_or_default();
            // A `full` budget belongs to the local rule.
            let d = dir.clone();
            let full_rule = rule.clone();
            let budget = std::thread::spawn(move || -> Result<String, String> {
                failinject::local::cfg(full_rule.as_str(), "full(10)")
                    .map_err(|e| e.to_string())?;
                let mut f = File::create(d.join("budget.dat")).map_err(|e| e.to_string())?;
                let r: Vec<String> = (0..3).map(|_| show(f.write_all(b"12345"))).collect();
                Ok(r.join(","))
            })
            .join()
            .unwrap()
            .map_err(io::Error::other)?;
            let refused = std::thread::spawn(|| {
                failinject::local::cfg("sys:fsync", "powercut").map_or_else(
                    |e| e.to_string().contains("acts on the whole process"),
                    |()| false,
                )
            })
            .join()
            .unwrap();
            Ok(format!(
                "{} free={free} spawned={spawned} plain={plain} budget={budget} refused={}",
                out.join(" "),
                u8::from(refused)
            ))
        }
        "async" => {
            // The first poll of a point that sleeps must return at once (the wait is
            // awaited, not blocked on); the whole future takes the sleep.
            let start = Instant::now();
            let mut fut = std::pin::pin!(async {
                failinject::fail_point_async!("app::slow");
            });
            let thread = std::thread::current();
            let waker = std::task::Waker::from(std::sync::Arc::new(Unpark(thread)));
            let mut cx = std::task::Context::from_waker(&waker);
            let mut first = None;
            while fut.as_mut().poll(&mut cx).is_pending() {
                first.get_or_insert(start.elapsed());
                std::thread::park_timeout(Duration::from_millis(50));
            }
            let first = first.unwrap_or(start.elapsed());
            Ok(format!(
                "backend={} first_poll_ms={} total_ms={}",
                backend(),
                first.as_millis(),
                start.elapsed().as_millis()
            ))
        }
        "scoped" => {
            let inside = {
                let _g = failinject::fail_scope!("commit");
                saved()
            };
            let outside = saved();
            Ok(format!("inside={inside} outside={outside}"))
        }
        other => {
            Err(io::Error::new(io::ErrorKind::InvalidInput, format!("unknown mode `{other}`")))
        }
    }
}

fn main() -> ExitCode {
    std::thread::spawn(|| {
        std::thread::sleep(Duration::from_secs(30));
        eprintln!("points_rs: watchdog: still running after 30 s");
        std::process::exit(124);
    });
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(what) => {
            println!("{what}");
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("points_rs: {}: {err}", args.first().map(String::as_str).unwrap_or("?"));
            ExitCode::FAILURE
        }
    }
}
