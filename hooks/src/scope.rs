//! `fail_scope!`: while its guard lives, `within=NAME` rules apply to the calling thread.

use crate::backend::backend;
use std::ffi::CString;

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
        backend().scope(&name, hash, true);
        ScopeGuard { name, hash, _thread: std::marker::PhantomData }
    }
}

impl Drop for ScopeGuard {
    fn drop(&mut self) {
        backend().scope(&self.name, self.hash, false);
    }
}
