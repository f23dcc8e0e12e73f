//! The `control` fuzz target: every input goes to `checks/control.rs`, which says what must hold.
#![no_main]

#[path = "../checks/control.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::check(data));
