//! `failinject::local`: a configuration seen only by the calling thread, so that tests which
//! give the same point different faults can run in parallel.
//!
//! fail-rs has one global registry, so tests that configure fail points must run one at a
//! time. Here each test thread can configure its own points and see only its own:
//!
//! ```
//! fn append() -> Result<(), String> {
//!     failinject::fail_point!("wal::append", |s: Option<String>| Err(s.unwrap_or_default()));
//!     Ok(())
//! }
//!
//! failinject::local::cfg("wal::append", "return(oops)").unwrap();
//! assert_eq!(append(), Err("oops".to_string()));
//!
//! // Another thread (another test) sees nothing of it.
//! assert_eq!(std::thread::spawn(append).join().unwrap(), Ok(()));
//!
//! failinject::local::clear();
//! assert_eq!(append(), Ok(()));
//! ```
//!
//! Local rules are tried before the process-wide ones. Work the test hands to other threads
//! takes the configuration along when it is started with [`spawn`] (a thread) or wrapped in
//! [`bind`] (a future, polled on whichever executor thread); all of them then share one
//! configuration, counters included: `3*return` fails three calls among them, not three
//! each.
//!
//! Under `libfailinject.so`, local rules may also be libc rules: `local::cfg("sys:write",
//! "error(ENOSPC)")` fails the writes of this thread (and of what it hands its configuration
//! to), not those of the other tests, so eight tests that each fail their own writes run in
//! parallel. Tasks that act on the whole process (`powercut`, `kill`, `panic`, `lose`) are
//! refused there; without the preload a `sys:` rule is an error that says it is needed.
//! I/O that a runtime performs on threads of its own (tokio's blocking pool, `tokio::fs`) is
//! not the bound thread's: hand `spawn_blocking` a closure made by [`wrap`], or use a
//! process-wide rule narrowed to the test's own files (`sys:write[path=*/test-17/*]=…`).

use crate::backend::{CfgError, Outcome};
use failinject_engine::{Context, Points, Registry, Snapshot};
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Poll;

/// One local configuration, shared by the threads and futures it was handed to.
struct Shared {
    /// Its context of libc rules in the preload (`failinject_v1_local_new`), 0 until its first
    /// `sys:` rule.
    preload: std::sync::atomic::AtomicU64,
    registry: Mutex<Registry>,
    /// Leaked on every change, like the process registry's: decisions hand out `'static`
    /// strings, and local configurations change rarely (tests).
    snapshot: AtomicPtr<Snapshot>,
}

impl Shared {
    fn new() -> Shared {
        Shared {
            preload: std::sync::atomic::AtomicU64::new(0),
            registry: Mutex::new(Registry::new(0)),
            snapshot: AtomicPtr::new(Box::leak(Box::new(Snapshot::empty()))),
        }
    }

    fn change<T>(&self, f: impl FnOnce(&mut Registry) -> T) -> T {
        let mut reg = self.registry.lock().unwrap_or_else(|e| e.into_inner());
        let out = f(&mut reg);
        reg.publish(|s| self.snapshot.store(Box::leak(Box::new(s)), Ordering::Release));
        out
    }

    fn snapshot(&self) -> &'static Snapshot {
        // SAFETY: always a snapshot leaked by `new` or `change`, never freed.
        unsafe { &*self.snapshot.load(Ordering::Acquire) }
    }
}

/// The value a thread with a local configuration mixes into the generation its sites compare
/// with: bit 62, which no real generation has, so such a thread never takes a site's fast
/// path, and never `u64::MAX` (a site's "never quiet").
const SALTED: u64 = 1 << 62;

thread_local! {
    static LOCAL: RefCell<Option<Arc<Shared>>> = const { RefCell::new(None) };
    /// `SALTED` while `LOCAL` holds a configuration, else 0: read on every fail point hit,
    /// so it is a plain `Cell` with a constant initialiser and no destructor (one load).
    static SALT: Cell<u64> = const { Cell::new(0) };
}

/// The calling thread's salt for the sites' fast path (see [`Site::eval`](crate::Site::eval)).
#[inline(always)]
pub fn salt() -> u64 {
    SALT.with(Cell::get)
}

impl Drop for Shared {
    fn drop(&mut self) {
        let ctx = *self.preload.get_mut();
        if ctx != 0
            && let Ok(abi) = crate::backend::backend().local_abi("")
        {
            abi.free(ctx);
        }
    }
}

/// Makes `config` the calling thread's local configuration; returns the one it had. Under
/// the preload the thread is bound to the configuration's libc rules too.
fn install(config: Option<Arc<Shared>>) -> Option<Arc<Shared>> {
    SALT.with(|s| s.set(if config.is_some() { SALTED } else { 0 }));
    let ctx = config.as_ref().map_or(0, |c| c.preload.load(Ordering::Acquire));
    let previous = LOCAL.with(|l| l.replace(config));
    let had = previous.as_ref().map_or(0, |c| c.preload.load(Ordering::Acquire));
    if (ctx != 0 || had != 0)
        && let Ok(abi) = crate::backend::backend().local_abi("")
    {
        abi.bind(ctx);
    }
    previous
}

fn current() -> Option<Arc<Shared>> {
    LOCAL.with(|l| l.borrow().clone())
}

struct NoScopes;
impl Context for NoScopes {}

/// Sets `name=actions` for the calling thread only (and the threads and futures it hands its
/// configuration to). A `sys:` rule needs the preload ([`CfgError::NeedsPreload`]) and may
/// not act on the whole process (`powercut`, `kill`, `panic`, `lose`).
pub fn cfg<S: Into<String>>(name: S, actions: &str) -> Result<(), CfgError> {
    let rule = format!("{}={actions}", name.into());
    let parsed = failinject_engine::parse_rules(&rule, "local::cfg").map_err(CfgError::Parse)?;
    // The backend first: choosing it sets the generation the sites compare with.
    let backend = crate::backend::backend();
    let sys = parsed.iter().any(|r| matches!(r.points, Points::Sys(_)));
    let abi = if sys { Some(backend.local_abi(&rule)?) } else { None };
    let shared = current().unwrap_or_else(|| {
        let shared = Arc::new(Shared::new());
        install(Some(Arc::clone(&shared)));
        shared
    });
    if let Some(abi) = abi {
        // The libc rules go to the preload, into this configuration's context.
        let mut ctx = shared.preload.load(Ordering::Acquire);
        if ctx == 0 {
            ctx = abi.new_context();
            if ctx == 0 {
                return Err(CfgError::Preload("no more local contexts (256 at once)".into()));
            }
            shared.preload.store(ctx, Ordering::Release);
            abi.bind(ctx);
        }
        return abi.cfg(ctx, &rule);
    }
    shared.change(|reg| {
        parsed.into_iter().for_each(|r| {
            reg.set(r);
        })
    });
    Ok(())
}

/// Removes the local rule for `name` (a `sys:` key goes to the preload's context).
pub fn remove<S: AsRef<str>>(name: S) {
    let Some(shared) = current() else { return };
    let name = name.as_ref();
    if name.starts_with("sys:") {
        let ctx = shared.preload.load(Ordering::Acquire);
        if ctx != 0
            && let Ok(abi) = crate::backend::backend().local_abi(name)
        {
            abi.remove(ctx, name);
        }
        return;
    }
    shared.change(|reg| drop(reg.remove(name)));
}

/// The calling thread leaves its local configuration: it sees the process-wide one again.
/// Threads and futures it was handed to keep it.
pub fn clear() {
    install(None);
}

/// The calling thread's decision for `name`, if a local rule applies.
pub fn eval(name: &str) -> Option<Outcome> {
    if salt() == 0 {
        return None;
    }
    let snapshot = LOCAL.with(|l| l.borrow().as_ref().map(|s| s.snapshot()))?;
    let point = snapshot.code_point(name)?;
    let d = snapshot.decide_code(point, &mut NoScopes)?;
    Some(crate::backend::outcome(d.effect, d.state))
}

/// Starts a thread that shares the calling thread's local configuration (as
/// [`std::thread::spawn`]).
///
/// ```
/// fn step() -> Result<(), String> {
///     failinject::fail_point!("job::step", |_| Err("failed".to_string()));
///     Ok(())
/// }
/// failinject::local::cfg("job::step", "return").unwrap();
/// let worker = failinject::local::spawn(step);
/// assert_eq!(worker.join().unwrap(), Err("failed".to_string()));
/// # failinject::local::clear();
/// ```
pub fn spawn<F, T>(f: F) -> std::thread::JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    std::thread::spawn(wrap(f))
}

/// Wraps `f` so that it runs with the calling thread's local configuration on whichever
/// thread calls it: for closures handed to a pool, such as tokio's `spawn_blocking`.
///
/// ```
/// fn step() -> Result<(), String> {
///     failinject::fail_point!("pool::step", |_| Err("failed".to_string()));
///     Ok(())
/// }
/// failinject::local::cfg("pool::step", "return").unwrap();
/// let job = failinject::local::wrap(step);
/// assert_eq!(std::thread::spawn(job).join().unwrap(), Err("failed".to_string()));
/// # failinject::local::clear();
/// ```
pub fn wrap<F, T>(f: F) -> impl FnOnce() -> T + Send + 'static
where
    F: FnOnce() -> T + Send + 'static,
{
    let config = current();
    move || {
        let previous = install(config);
        let _restore = Restore(Some(previous));
        f()
    }
}

/// Puts a thread's own configuration back when dropped, even if what ran meanwhile panicked.
struct Restore(Option<Option<Arc<Shared>>>);

impl Drop for Restore {
    fn drop(&mut self) {
        if let Some(previous) = self.0.take() {
            install(previous);
        }
    }
}

/// Wraps `future` so that it runs with the calling thread's local configuration, on
/// whichever thread polls it: a tokio task that moves between worker threads keeps its
/// faults.
///
/// ```
/// # async fn run() {
/// async fn fetch() -> Result<(), String> {
///     failinject::fail_point_async!("net::fetch", |_| Err("timeout".to_string()));
///     Ok(())
/// }
/// failinject::local::cfg("net::fetch", "return").unwrap();
/// let task = failinject::local::bind(fetch());
/// // tokio::spawn(task), or any executor: the rule goes with the future.
/// assert_eq!(task.await, Err("timeout".to_string()));
/// # }
/// ```
///
/// What the runtime does on its own threads on the future's behalf is not covered: the
/// blocking pool of `spawn_blocking` and `tokio::fs` runs closures without the future's
/// configuration. Hand `spawn_blocking` a closure made by [`wrap`]; for the libc calls of
/// `tokio::fs`, use a process-wide `sys:` rule narrowed to the test's own files with `path=`
/// (see the crate docs, "Tests in parallel").
pub fn bind<F: Future>(future: F) -> Bound<F> {
    Bound { future, config: current() }
}

/// A future that polls its inner future with a local configuration. Made by [`bind`].
#[derive(Debug)]
#[must_use = "futures do nothing unless polled"]
pub struct Bound<F> {
    future: F,
    config: Option<Arc<Shared>>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("local configuration")
    }
}

impl<F: Future> Future for Bound<F> {
    type Output = F::Output;
    fn poll(self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<F::Output> {
        // SAFETY: `future` is structurally pinned: it is never moved out of `self` nor
        // reachable unpinned, and `Bound` has no Drop impl; `config` is not pinned.
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: see above; `this.future` stays where it is for as long as `self` is pinned.
        let future = unsafe { Pin::new_unchecked(&mut this.future) };
        let _restore = Restore(Some(install(this.config.clone())));
        future.poll(cx)
    }
}
