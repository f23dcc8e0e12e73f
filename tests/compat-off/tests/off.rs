//! Without the `failpoints` feature (off by default) `fail_point!` and `fail_point_async!`
//! expand to nothing: configured points do not act, and `has_failpoints()` says so.

#[test]
fn fail_points_compile_to_nothing() {
    assert!(!fail::has_failpoints(), "the `failpoints` feature is on: see Cargo.toml");
    const { assert!(!fail::has_failpoints()) };
    let scenario = fail::FailScenario::setup();
    // As in fail-rs 0.5, `cfg` itself still works; only the points are gone.
    fail::cfg("compat_off::plain", "panic(compiled in after all)").unwrap();
    fail::cfg("compat_off::closure", "return").unwrap();
    fail::cfg("compat_off::cond", "return").unwrap();
    assert_eq!(failinject_compat_off::guarded(true), 0);
    let local = || -> u8 {
        fail::fail_point!("compat_off::local", |_| 1);
        0
    };
    fail::cfg("compat_off::local", "return").unwrap();
    assert_eq!(local(), 0);
    for point in ["async_plain", "async_closure", "async_cond"] {
        fail::cfg(format!("compat_off::{point}"), "return").unwrap();
    }
    let mut guarded = std::pin::pin!(failinject_compat_off::guarded_async(true));
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    assert_eq!(guarded.as_mut().poll(&mut cx), std::task::Poll::Ready(0));
    scenario.teardown();
}
