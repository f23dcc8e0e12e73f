//! `failinject::local`: a configuration visible only to the calling thread.
//!
//! fail-rs has one global registry, so tests that configure fail points must run one at a
//! time. A thread-local configuration lets them run in parallel: each test thread configures
//! its own points and sees only its own. Local rules are tried before the shared ones.
//!
//! ```
//! failinject::local::cfg("wal::append", "return(oops)").unwrap();
//! fn append() -> Result<(), String> {
//!     failinject::fail_point!("wal::append", |s: Option<String>| Err(s.unwrap_or_default()));
//!     Ok(())
//! }
//! assert_eq!(append(), Err("oops".to_string()));
//! failinject::local::clear();
//! assert_eq!(append(), Ok(()));
//! ```

use crate::backend::{CfgError, GENERATION_PTR, Outcome};
use failinject_engine::{Context, Registry, Snapshot};
use std::cell::RefCell;
use std::sync::atomic::{AtomicPtr, AtomicU64, AtomicUsize, Ordering};

struct Local {
    registry: Registry,
    /// Leaked on every change, like the shared registry's: decisions hand out `'static`
    /// strings, and local configurations change rarely (tests).
    snapshot: &'static Snapshot,
}

thread_local! {
    static LOCAL: RefCell<Option<Local>> = const { RefCell::new(None) };
}

/// Threads that have a local configuration. While there is one, every site takes its slow
/// path (a generation no site has cached is published), so local rules are seen.
static THREADS: AtomicUsize = AtomicUsize::new(0);
static CHANGING: AtomicU64 = AtomicU64::new(u64::MAX - 2);
static SAVED: AtomicPtr<u64> = AtomicPtr::new(std::ptr::null_mut());

/// Whether any thread has a local configuration.
pub fn active() -> bool {
    THREADS.load(Ordering::Acquire) > 0
}

struct NoScopes;
impl Context for NoScopes {}

/// Sets `name=actions` for the calling thread only.
pub fn cfg<S: Into<String>>(name: S, actions: &str) -> Result<(), CfgError> {
    let rule = format!("{}={actions}", name.into());
    let parsed = failinject_engine::parse_rules(&rule, "local::cfg").map_err(CfgError::Parse)?;
    crate::backend::backend();
    LOCAL.with(|l| {
        let mut l = l.borrow_mut();
        if l.is_none() {
            if THREADS.fetch_add(1, Ordering::AcqRel) == 0 {
                SAVED.store(GENERATION_PTR.load(Ordering::Acquire), Ordering::Release);
                GENERATION_PTR.store(CHANGING.as_ptr(), Ordering::Release);
            }
            *l = Some(Local {
                registry: Registry::new(0),
                snapshot: Box::leak(Box::new(Snapshot::empty())),
            });
        }
        let local = l.as_mut().expect("just set");
        for r in parsed {
            local.registry.set(r);
        }
        local.snapshot = Box::leak(Box::new(local.registry.snapshot()));
    });
    Ok(())
}

/// Removes the calling thread's rule for `name`.
pub fn remove<S: AsRef<str>>(name: S) {
    LOCAL.with(|l| {
        if let Some(local) = l.borrow_mut().as_mut() {
            let _ = local.registry.remove(name.as_ref());
            local.snapshot = Box::leak(Box::new(local.registry.snapshot()));
        }
    });
}

/// Removes every local rule of the calling thread.
pub fn clear() {
    LOCAL.with(|l| {
        if l.borrow_mut().take().is_some() && THREADS.fetch_sub(1, Ordering::AcqRel) == 1 {
            let saved = SAVED.load(Ordering::Acquire);
            if !saved.is_null() {
                GENERATION_PTR.store(saved, Ordering::Release);
            }
        }
    });
}

/// The calling thread's decision for `name`, if a local rule applies.
pub fn eval(name: &str) -> Option<Outcome> {
    if !active() {
        return None;
    }
    LOCAL.with(|l| {
        let snapshot: &'static Snapshot = l.borrow().as_ref()?.snapshot;
        let point = snapshot.code_point(name)?;
        let d = snapshot.decide_code(point, &mut NoScopes)?;
        let state = d.state;
        Some(crate::backend::outcome(d.effect, &|| state.is_retired()))
    })
}
