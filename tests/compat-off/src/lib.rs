//! Compatibility test crate: depends on `failinject` (as `fail`) without its `failpoints`
//! feature, as a release build of a fail-rs user does, to check that `fail_point!` then
//! compiles to nothing. The test is in `tests/off.rs`.

#![forbid(unsafe_code)]

/// A function with a fail point in each of the macro's three forms.
///
/// The macro then discards its arguments, so a variable used only in the condition is unused
/// (as with fail-rs, whose users write `_enabled` for it).
pub fn guarded(_enabled: bool) -> u8 {
    fail::fail_point!("compat_off::plain");
    fail::fail_point!("compat_off::closure", |_| 1);
    fail::fail_point!("compat_off::cond", _enabled, |_| 2);
    0
}

/// The same in `async` code.
pub async fn guarded_async(_enabled: bool) -> u8 {
    fail::fail_point_async!("compat_off::async_plain");
    fail::fail_point_async!("compat_off::async_closure", |_| 1);
    fail::fail_point_async!("compat_off::async_cond", _enabled, |_| 2);
    0
}
