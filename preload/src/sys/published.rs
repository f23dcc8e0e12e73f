//! A value published for every thread to read without a lock, and never freed: a snapshot of
//! the rules. A thread may still be reading an older one when a newer is published, so each
//! is leaked; configurations change rarely (start-up, the control socket, tests).

use std::sync::atomic::{AtomicPtr, Ordering};

/// The latest published `T`, if any.
pub struct Published<T>(AtomicPtr<T>);

impl<T> Published<T> {
    /// Nothing published yet.
    pub const fn new() -> Published<T> {
        Published(AtomicPtr::new(std::ptr::null_mut()))
    }

    /// Makes `value` the published one, for the rest of the process; returns it.
    pub fn publish(&self, value: T) -> &'static T {
        let leaked: &'static T = Box::leak(Box::new(value));
        self.0.store(leaked as *const T as *mut T, Ordering::Release);
        leaked
    }

    /// The latest published value.
    #[inline]
    pub fn get(&self) -> Option<&'static T> {
        let p = self.0.load(Ordering::Acquire);
        // SAFETY: a non-null pointer here came from `Box::leak` in `publish` and is never
        // freed, so it is valid, and only read, for the rest of the process.
        unsafe { p.as_ref() }
    }
}
