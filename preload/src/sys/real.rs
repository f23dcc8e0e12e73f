//! The real libc functions behind our wrappers, found lazily with `dlsym(RTLD_NEXT)`.
//!
//! A wrapper may run before any constructor (ld.so and other libraries' constructors call
//! `open` and `fstat`), so nothing is resolved up front: each symbol is looked up the first
//! time it is needed and the address cached in an atomic. Two threads racing to resolve it
//! store the same address, so no lock is needed.

use std::ffi::CStr;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The cached value of a symbol that no later object defines (no function lives at address 1).
const MISSING: usize = 1;

/// The cached address of one real libc symbol.
pub struct Real {
    name: &'static CStr,
    addr: AtomicUsize,
}

impl Real {
    /// A symbol not resolved yet.
    pub const fn new(name: &'static CStr) -> Real {
        Real { name, addr: AtomicUsize::new(0) }
    }

    /// The address if it was resolved already, else 0 or 1 (not yet looked up, or missing):
    /// the wrappers' fast path tests `> 1` in one comparison.
    #[inline(always)]
    pub fn cached(&self) -> usize {
        self.addr.load(Ordering::Relaxed)
    }

    /// The symbol's address, or `None` when no later object defines it (the wrapper then
    /// fails the call with ENOSYS instead of crashing).
    #[inline(always)]
    pub fn get(&self) -> Option<usize> {
        match self.addr.load(Ordering::Relaxed) {
            0 => self.resolve(),
            MISSING => None,
            a => Some(a),
        }
    }

    #[cold]
    #[inline(never)]
    fn resolve(&self) -> Option<usize> {
        // SAFETY: `name` is a NUL-terminated string that lives for the whole program, and
        // RTLD_NEXT is valid from code inside a shared object. dlsym may call malloc; the
        // allocator is never one of our wrappers, so this cannot recurse into us.
        let addr = unsafe { libc::dlsym(libc::RTLD_NEXT, self.name.as_ptr()) } as usize;
        if addr == 0 {
            // Remembered, so a missing symbol is looked up once, not on every call.
            self.addr.store(MISSING, Ordering::Relaxed);
            return None;
        }
        self.addr.store(addr, Ordering::Relaxed);
        Some(addr)
    }
}
