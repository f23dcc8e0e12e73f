//! Making a path absolute and lexically clean, into a caller's buffer (no allocation).
//!
//! Targets are matched as absolute paths with `.` and `..` resolved lexically and symbolic
//! links left alone (§2 of the spec). The preload joins a relative path to the current
//! directory or to a dirfd's path with [`absolute_into`] on a stack buffer.

/// Writes the absolute, lexically normalised form of `path` into `out` and returns its
/// length. A relative `path` is taken relative to `base` (itself absolute). `None` when `out`
/// is too small.
///
/// ```
/// let mut buf = [0u8; 64];
/// let n = failinject_engine::absolute_into(b"/home/u", b"../v/./db//x.wal", &mut buf).unwrap();
/// assert_eq!(&buf[..n], b"/home/v/db/x.wal");
/// ```
pub fn absolute_into(base: &[u8], path: &[u8], out: &mut [u8]) -> Option<usize> {
    if out.is_empty() {
        return None;
    }
    out[0] = b'/';
    let mut len = 1;
    let parts: [&[u8]; 2] = if path.first() == Some(&b'/') { [b"", path] } else { [base, path] };
    for part in parts {
        for comp in part.split(|&b| b == b'/') {
            match comp {
                b"" | b"." => {}
                b".." => {
                    // Back to the previous '/', never above the root.
                    while len > 1 && out[len - 1] != b'/' {
                        len -= 1;
                    }
                    if len > 1 {
                        len -= 1;
                    }
                }
                name => {
                    let need = usize::from(len > 1) + name.len();
                    if len + need > out.len() {
                        return None;
                    }
                    if len > 1 {
                        out[len] = b'/';
                        len += 1;
                    }
                    out[len..len + name.len()].copy_from_slice(name);
                    len += name.len();
                }
            }
        }
    }
    Some(len)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn abs(base: &str, path: &str) -> String {
        let mut buf = [0u8; 256];
        let n = absolute_into(base.as_bytes(), path.as_bytes(), &mut buf).unwrap();
        String::from_utf8(buf[..n].to_vec()).unwrap()
    }

    #[test]
    fn normalises() {
        assert_eq!(abs("/a/b", "c"), "/a/b/c");
        assert_eq!(abs("/a/b", "/c/./d/"), "/c/d");
        assert_eq!(abs("/a/b", "../../../x"), "/x");
        assert_eq!(abs("/", "."), "/");
        assert_eq!(abs("/a", ".."), "/");
        assert_eq!(abs("/a/b/", "./c/../d"), "/a/b/d");
        assert_eq!(abs("/a", "b//c"), "/a/b/c");
    }

    #[test]
    fn too_small_is_none() {
        let mut buf = [0u8; 4];
        assert_eq!(absolute_into(b"/", b"abc", &mut buf), Some(4));
        assert_eq!(absolute_into(b"/", b"abcd", &mut buf), None);
        assert_eq!(absolute_into(b"/", b"x", &mut []), None);
    }
}
