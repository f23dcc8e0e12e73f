//! What a thread is inside of: `fail_scope!(NAME)` scopes, for `within=` filters, and the
//! in-code points the process has reached, for `after=` filters.
//!
//! A thread's scopes are a small fixed stack of name hashes in a `const`-initialised
//! thread-local of plain cells (no destructor, no allocation); reached points are a lock-free
//! set made at start-up.

#![forbid(unsafe_code)]

use failinject_engine::ReachedSet;
use std::cell::Cell;
use std::sync::OnceLock;

/// The deepest nesting of scopes tracked; deeper ones are counted but not remembered.
const DEPTH: usize = 32;

thread_local! {
    static STACK: [Cell<u64>; DEPTH] = const { [const { Cell::new(0) }; DEPTH] };
    static LEN: Cell<usize> = const { Cell::new(0) };
}

static REACHED: OnceLock<ReachedSet> = OnceLock::new();

/// Makes the set of reached points; called once, from the constructor.
pub fn init() {
    let _ = REACHED.set(ReachedSet::new(4096));
}

/// The calling thread enters the scope whose name hashes to `h`.
pub fn enter(h: u64) {
    let n = LEN.with(Cell::get);
    if n < DEPTH {
        STACK.with(|s| s[n].set(h));
    }
    LEN.with(|l| l.set(n + 1));
}

/// The calling thread leaves its innermost scope named `h` (guards may be dropped out of
/// order); a name it is not inside of leaves nothing.
pub fn leave(h: u64) {
    let n = LEN.with(Cell::get);
    if n > DEPTH {
        // Deeper than remembered: the innermost scopes were only counted.
        LEN.with(|l| l.set(n - 1));
        return;
    }
    STACK.with(|s| {
        if let Some(i) = s[..n].iter().rposition(|c| c.get() == h) {
            for j in i..n - 1 {
                s[j].set(s[j + 1].get());
            }
            LEN.with(|l| l.set(n - 1));
        }
    });
}

/// Whether the calling thread is inside a scope whose name hashes to `h`.
pub fn within(h: u64) -> bool {
    let n = LEN.with(Cell::get).min(DEPTH);
    STACK.with(|s| s[..n].iter().any(|c| c.get() == h))
}

/// Records that the in-code point whose name hashes to `h` was reached; whether it is the
/// first time in this process.
pub fn reach(h: u64) -> bool {
    REACHED.get().is_some_and(|r| r.insert(h))
}

/// Whether the in-code point whose name hashes to `h` was reached in this process.
pub fn reached(h: u64) -> bool {
    REACHED.get().is_some_and(|r| r.contains(h))
}

/// In a forked child: a new process has reached nothing yet.
pub fn after_fork_in_child() {
    if let Some(r) = REACHED.get() {
        r.clear();
    }
}
