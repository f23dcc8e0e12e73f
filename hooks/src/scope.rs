//! `fail_scope!`: while its guard lives, `within=NAME` rules apply to the calling thread.

use crate::backend::{Backend, backend};
use std::cell::RefCell;
use std::ffi::CString;

thread_local! {
    /// The thread's scopes, for the in-process registry (the preload keeps its own).
    static SCOPES: RefCell<Vec<u64>> = const { RefCell::new(Vec::new()) };
}

/// Whether the calling thread is inside the scope whose name hashes to `h` (in-process
/// registry).
pub fn within(h: u64) -> bool {
    SCOPES.with(|s| s.borrow().contains(&h))
}

/// Keeps the calling thread inside a scope until dropped. Made by [`fail_scope!`](crate::fail_scope).
///
/// The guard belongs to the thread that entered the scope: it cannot be sent to another
/// thread (the scope is the calling thread's).
///
/// ```compile_fail
/// let g = failinject::fail_scope!("commit");
/// std::thread::spawn(move || drop(g));
/// ```
#[must_use = "the scope ends when the guard is dropped"]
pub struct ScopeGuard {
    name: CString,
    hash: u64,
    _thread: std::marker::PhantomData<*const ()>,
}

impl ScopeGuard {
    /// Enters the scope `name`.
    pub fn new(name: &str) -> ScopeGuard {
        let hash = failinject_engine::name_hash(name.as_bytes());
        let name = CString::new(name.replace('\0', "")).unwrap_or_default();
        match backend() {
            Backend::Preload(_) => backend().scope(&name, true),
            Backend::Local(_) => SCOPES.with(|s| s.borrow_mut().push(hash)),
        }
        ScopeGuard { name, hash, _thread: std::marker::PhantomData }
    }
}

impl Drop for ScopeGuard {
    fn drop(&mut self) {
        match backend() {
            Backend::Preload(_) => backend().scope(&self.name, false),
            Backend::Local(_) => SCOPES.with(|s| {
                let mut s = s.borrow_mut();
                if let Some(i) = s.iter().rposition(|h| *h == self.hash) {
                    s.remove(i);
                }
            }),
        }
    }
}
