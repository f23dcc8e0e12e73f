//! The `parse_rules` fuzz target: every input goes to `checks/parse_rules.rs`, which says what must hold.
#![no_main]

#[path = "../checks/parse_rules.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::check(data));
