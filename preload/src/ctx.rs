//! What a decision may ask of the calling thread: its call site (found only when a rule or
//! the log needs it), its scopes and the in-code points reached (`scope.rs`).

#![forbid(unsafe_code)]

use crate::sys::site::{self, Frames};
use failinject_engine::Context;

/// The calling thread, as a decision sees it.
pub struct Ctx {
    frames: Option<Frames>,
    /// The process title, read on the first `proc=` filter that asks (`title.rs`).
    title: Option<Option<usize>>,
    title_bytes: [u8; crate::title::MAX],
}

impl Default for Ctx {
    fn default() -> Ctx {
        Ctx { frames: None, title: None, title_bytes: [0; crate::title::MAX] }
    }
}

impl Ctx {
    /// The caller's frames, captured on first use.
    pub fn frames(&mut self) -> &Frames {
        self.frames.get_or_insert_with(site::capture)
    }
}

impl Context for Ctx {
    fn site(&mut self) -> u64 {
        self.frames().id()
    }
    fn proc_title(&mut self) -> Option<&[u8]> {
        let n = *self.title.get_or_insert_with(|| crate::title::title(&mut self.title_bytes));
        n.map(|n| &self.title_bytes[..n])
    }
    fn within(&self, name_hash: u64) -> bool {
        crate::scope::within(name_hash)
    }
    fn reached(&self, name_hash: u64) -> bool {
        crate::scope::reached(name_hash)
    }
}
