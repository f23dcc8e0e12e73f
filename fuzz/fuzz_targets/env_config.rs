//! The `env_config` fuzz target: every input goes to `checks/env_config.rs`, which says what must hold.
#![no_main]

#[path = "../checks/env_config.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::check(data));
