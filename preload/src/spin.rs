//! The preload's one kind of lock: a spin lock for short critical sections that make a few
//! system calls and never call into libc or wait.
//!
//! It is only taken inside the re-entrancy guard (`guard.rs`), so a signal handler that
//! interrupts the holder on its own thread passes through the wrapper instead of spinning on
//! it. After `fork` the child's only thread holds no lock, whatever the parent's other
//! threads held, so [`SpinLock::reset_after_fork`] frees it.

use std::sync::atomic::{AtomicBool, Ordering};

/// A spin lock that yields the CPU after a short spin.
pub struct SpinLock(AtomicBool);

/// Proof that a [`SpinLock`] is held; dropping it unlocks.
pub struct Held<'a>(&'a SpinLock);

impl SpinLock {
    /// An unlocked lock.
    pub const fn new() -> SpinLock {
        SpinLock(AtomicBool::new(false))
    }

    /// Takes the lock: spins briefly, then yields between tries.
    pub fn lock(&self) -> Held<'_> {
        let mut spins = 0u32;
        while self
            .0
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

    /// In a forked child: the thread that held the lock in the parent does not exist here.
    pub fn reset_after_fork(&self) {
        self.0.store(false, Ordering::Release);
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        self.0.0.store(false, Ordering::Release);
    }
}
