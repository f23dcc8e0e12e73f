//! `cfg_callback`: functions run when a fail point is hit.
//!
//! A callback is kept here and its point is configured `off` in the registry, so the point's
//! site leaves its fast path and comes here on every hit.

use crate::backend::Outcome;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

type Callback = Arc<dyn Fn() + Send + Sync>;

static CALLBACKS: Mutex<Option<HashMap<String, Callback>>> = Mutex::new(None);
/// How many callbacks exist: configured points without one never take the lock.
static COUNT: AtomicUsize = AtomicUsize::new(0);

/// Registers `f` for the point `name`, replacing an earlier one.
pub fn set(name: &str, f: Callback) {
    let mut map = CALLBACKS.lock().unwrap_or_else(|e| e.into_inner());
    let map = map.get_or_insert_with(HashMap::new);
    map.insert(name.to_owned(), f);
    COUNT.store(map.len(), Ordering::Release);
}

/// Forgets the callback of `name`.
pub fn remove(name: &str) {
    if let Some(map) = CALLBACKS.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
        map.remove(name);
        COUNT.store(map.len(), Ordering::Release);
    }
}

/// Forgets every callback.
pub fn clear() {
    *CALLBACKS.lock().unwrap_or_else(|e| e.into_inner()) = None;
    COUNT.store(0, Ordering::Release);
}

/// Whether `name` has a callback.
pub fn has(name: &str) -> bool {
    CALLBACKS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .as_ref()
        .is_some_and(|m| m.contains_key(name))
}

/// Runs the callback of `name`, if there is one (outside the lock, so it may configure).
pub fn run(name: &str) -> Option<Outcome> {
    if COUNT.load(Ordering::Acquire) == 0 {
        return None;
    }
    let f = CALLBACKS.lock().unwrap_or_else(|e| e.into_inner()).as_ref()?.get(name).cloned()?;
    f();
    Some(Outcome::Nothing)
}
