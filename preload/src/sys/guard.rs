//! The re-entrancy guard: a wrapper that is called from inside our own code passes straight
//! through.
//!
//! The flag is a `const`-initialised thread-local `Cell<bool>`: it needs no destructor and no
//! lazy initialisation, so touching it never allocates or registers anything, even in a
//! thread that is exiting or in a signal handler.

use std::cell::Cell;

thread_local! {
    static INSIDE: Cell<bool> = const { Cell::new(false) };
}

/// Held while the preload works on a call; dropping it leaves.
pub struct Inside(());

impl Inside {
    /// Enters, unless this thread is already inside the preload (then `None`: pass through).
    #[inline]
    pub fn enter() -> Option<Inside> {
        INSIDE.with(|f| if f.replace(true) { None } else { Some(Inside(())) })
    }
}

impl Drop for Inside {
    #[inline]
    fn drop(&mut self) {
        INSIDE.with(|f| f.set(false));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_entry_passes_through() {
        let outer = Inside::enter().expect("first entry");
        assert!(Inside::enter().is_none());
        drop(outer);
        assert!(Inside::enter().is_some());
    }
}
