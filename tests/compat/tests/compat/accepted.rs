//! Code fail-rs 0.5 accepts that failinject once did not: non-literal names, `Debug`, a local
//! `String`.

mod known_compile_gaps {
    use fail::{FailScenario, fail_point};

    /// fail-rs takes any `&str` expression as the name; so does failinject (a literal gets a
    /// cached `static` site, anything else is looked up on every hit).
    const NAME: &str = "compat::gap::const_name";

    fn const_name() -> u8 {
        fail_point!(NAME, |_| 1);
        0
    }

    fn runtime_name(name: &str) -> u8 {
        fail_point!(name, |_| 1);
        0
    }

    /// fail-rs's `FailScenario` is `Debug` (fail-rs denies missing Debug implementations).
    #[derive(Debug)]
    struct Fixture {
        _scenario: FailScenario<'static>,
    }

    /// A module with its own `String`: fail-rs's no-closure form names no type, failinject's
    /// writes `Option<String>`, which resolves at the call site.
    mod own_string_type {
        #[allow(dead_code)]
        type String = Box<str>;

        pub fn plain() -> u8 {
            fail::fail_point!("compat::gap::own_string");
            0
        }
    }

    #[test]
    fn a_module_with_its_own_string_type() {
        assert_eq!(own_string_type::plain(), 0);
    }

    #[test]
    fn names_that_are_not_literals() {
        let _fixture = Fixture { _scenario: FailScenario::setup() };
        fail::cfg(NAME, "return").unwrap();
        fail::cfg("compat::gap::runtime", "return").unwrap();
        assert_eq!(const_name(), 1);
        assert_eq!(runtime_name("compat::gap::runtime"), 1);
        assert_eq!(runtime_name("compat::gap::other"), 0);
    }
}
