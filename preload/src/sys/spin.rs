//! The preload's one kind of lock: a spin lock around data, for short critical sections that
//! make a few system calls and never call into libc or wait.
//!
//! It is only taken inside the re-entrancy guard (`guard.rs`), so a signal handler that
//! interrupts the holder on its own thread passes through the wrapper instead of spinning on
//! it. After `fork` the child's only thread holds no lock, whatever the parent's other
//! threads held, so [`SpinLock::reset_after_fork`] frees it.

use std::cell::UnsafeCell;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, Ordering};

/// A spin lock around a `T`, which yields the CPU after a short spin.
pub struct SpinLock<T> {
    locked: AtomicBool,
    data: UnsafeCell<T>,
}

// SAFETY: the data is only reached through a `Held`, and only one `Held` exists at a time
// (the compare-and-swap in `lock`), so `T` is never touched by two threads at once.
unsafe impl<T: Send> Sync for SpinLock<T> {}

/// Proof that a [`SpinLock`] is held, and the way to its data; dropping it unlocks.
pub struct Held<'a, T>(&'a SpinLock<T>);

impl<T> SpinLock<T> {
    /// An unlocked lock around `data`.
    pub const fn new(data: T) -> SpinLock<T> {
        SpinLock { locked: AtomicBool::new(false), data: UnsafeCell::new(data) }
    }

    /// Takes the lock: spins briefly, then yields between tries.
    pub fn lock(&self) -> Held<'_, T> {
        let mut spins = 0u32;
        while self
            .locked
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            spins += 1;
            if spins < 128 {
                std::hint::spin_loop();
            } else {
                // SAFETY: sched_yield has no preconditions.
                unsafe { libc::syscall(libc::SYS_sched_yield) };
            }
        }
        Held(self)
    }

    /// In a forked child: the thread that held the lock in the parent does not exist here,
    /// and the data is as that thread left it between two whole operations or in the middle
    /// of one (the child's callers tolerate a half-made change: a power cut then rolls back
    /// what it can).
    pub fn reset_after_fork(&self) {
        self.locked.store(false, Ordering::Release);
    }
}

impl<T> Deref for Held<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: this `Held` is the only one (see `impl Sync`), so no `&mut T` exists.
        unsafe { &*self.0.data.get() }
    }
}

impl<T> DerefMut for Held<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`; `&mut self` makes this the only reference through it.
        unsafe { &mut *self.0.data.get() }
    }
}

impl<T> Drop for Held<'_, T> {
    fn drop(&mut self) {
        self.0.locked.store(false, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threads_take_turns() {
        static COUNT: SpinLock<u64> = SpinLock::new(0);
        let threads: Vec<_> = (0..4)
            .map(|_| {
                std::thread::spawn(|| {
                    for _ in 0..10_000 {
                        *COUNT.lock() += 1;
                    }
                })
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().unwrap());
        assert_eq!(*COUNT.lock(), 40_000);
    }
}
