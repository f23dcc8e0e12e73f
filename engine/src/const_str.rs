//! String comparison in `const` code, where `==` on `str` is not available yet: the table's
//! names are looked up at compile time (`PointId::of`, `Role::named`).
#![forbid(unsafe_code)]

/// Whether `a` and `b` are the same string.
pub const fn equal(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}
