//! Writing one JSON object into a fixed buffer, without allocating.
//!
//! The injection log is written from inside intercepted calls, so its lines are formatted
//! into a caller's buffer. A value that does not fit is cut short and the line is marked
//! `"truncated":true`, which keeps every line valid JSON.

/// A JSON object being written into a byte buffer.
pub struct Line<'a> {
    buf: &'a mut [u8],
    len: usize,
    first: bool,
    truncated: bool,
    /// Closing brackets owed by open arrays and objects, innermost last.
    open: [u8; 4],
    depth: usize,
}

/// Room kept at the end of the buffer for `,"truncated":true}` and the newline.
const RESERVE: usize = 32;

impl<'a> Line<'a> {
    /// Starts an object (`{`) in `buf`.
    pub fn new(buf: &'a mut [u8]) -> Line<'a> {
        assert!(buf.len() > RESERVE + 1, "buffer too small for a JSON line");
        buf[0] = b'{';
        Line { buf, len: 1, first: true, truncated: false, open: [0; 4], depth: 0 }
    }

    fn room(&self) -> usize {
        self.buf.len() - RESERVE - self.len
    }

    fn push(&mut self, bytes: &[u8]) -> bool {
        if bytes.len() > self.room() {
            self.truncated = true;
            return false;
        }
        self.buf[self.len..self.len + bytes.len()].copy_from_slice(bytes);
        self.len += bytes.len();
        true
    }

    fn key(&mut self, key: &str) -> bool {
        let comma: &[u8] = if self.first { b"\"" } else { b",\"" };
        let need = comma.len() + key.len() + 2;
        if need > self.room() {
            self.truncated = true;
            return false;
        }
        self.first = false;
        self.push(comma);
        self.push(key.as_bytes());
        self.push(b"\":");
        true
    }

    /// `"key":"value"`, the value escaped (bytes that are not UTF-8 become U+FFFD escapes).
    pub fn str(&mut self, key: &str, value: &[u8]) -> &mut Self {
        if self.key(key) {
            self.string(value);
        }
        self
    }

    /// Writes a JSON string; cut short (still closed) when it does not fit.
    fn string(&mut self, value: &[u8]) {
        self.push(b"\"");
        let mut rest = value;
        while !rest.is_empty() {
            let (chunk, bad) = match std::str::from_utf8(rest) {
                Ok(s) => (s, 0),
                Err(e) => {
                    let ok = e.valid_up_to();
                    // SAFETY-free: `from_utf8` said the prefix is valid.
                    let s = std::str::from_utf8(&rest[..ok]).unwrap_or("");
                    (s, e.error_len().unwrap_or(rest.len() - ok))
                }
            };
            for c in chunk.chars() {
                let mut tmp = [0u8; 6];
                let enc: &[u8] = match c {
                    '"' => b"\\\"",
                    '\\' => b"\\\\",
                    '\n' => b"\\n",
                    '\r' => b"\\r",
                    '\t' => b"\\t",
                    c if (c as u32) < 0x20 => {
                        let hex = b"0123456789abcdef";
                        tmp = [
                            b'\\',
                            b'u',
                            b'0',
                            b'0',
                            hex[(c as usize) >> 4],
                            hex[(c as usize) & 15],
                        ];
                        &tmp
                    }
                    c => c.encode_utf8(&mut tmp).as_bytes(),
                };
                // Keep room for the closing quote.
                if enc.len() + 1 > self.room() {
                    self.truncated = true;
                    self.push(b"\"");
                    return;
                }
                self.push(enc);
            }
            rest = &rest[chunk.len()..];
            if bad > 0 {
                if 7 > self.room() {
                    self.truncated = true;
                    break;
                }
                self.push(b"\\ufffd");
                rest = &rest[bad..];
            }
        }
        self.push(b"\"");
    }

    /// `"key":N`.
    pub fn num(&mut self, key: &str, value: i64) -> &mut Self {
        if self.key(key) {
            let mut digits = [0u8; 20];
            if value < 0 {
                self.push(b"-");
            }
            let d = crate::sys::raw::decimal(value.unsigned_abs(), &mut digits);
            self.push(d);
        }
        self
    }

    /// `"key":<raw JSON>` (the caller guarantees it is valid JSON).
    pub fn raw(&mut self, key: &str, json: &[u8]) -> &mut Self {
        if self.key(key) && !self.push(json) {
            self.push(b"null");
        }
        self
    }

    /// `"key":[…]` of strings.
    pub fn strs<'s>(&mut self, key: &str, values: impl Iterator<Item = &'s [u8]>) -> &mut Self {
        if self.key(key) {
            self.push(b"[");
            for (i, v) in values.enumerate() {
                if self.room() < 8 {
                    self.truncated = true;
                    break;
                }
                if i > 0 {
                    self.push(b",");
                }
                self.string(v);
            }
            self.push(b"]");
        }
        self
    }

    /// `"key":[` — an array of objects follows, each opened with [`Line::object`].
    pub fn array(&mut self, key: &str) -> &mut Self {
        if self.depth < self.open.len() && self.room() > 8 && self.key(key) {
            self.push(b"[");
            self.open[self.depth] = b']';
            self.depth += 1;
            self.first = true;
        } else {
            self.truncated = true;
        }
        self
    }

    /// Opens an object inside the current array; `false` when there is no room left (the
    /// caller stops adding objects).
    pub fn object(&mut self) -> bool {
        if self.depth == 0 || self.depth >= self.open.len() || self.room() < 16 {
            self.truncated = true;
            return false;
        }
        if !self.first {
            self.push(b",");
        }
        self.push(b"{");
        self.open[self.depth] = b'}';
        self.depth += 1;
        self.first = true;
        true
    }

    /// Closes the innermost open object or array.
    pub fn close(&mut self) -> &mut Self {
        if self.depth > 0 {
            self.depth -= 1;
            let c = [self.open[self.depth]];
            // Closing always fits: RESERVE keeps room for the brackets owed.
            self.buf[self.len] = c[0];
            self.len += 1;
            self.first = false;
        }
        self
    }

    /// Closes the object, adds the newline, and returns the whole line.
    pub fn finish(&mut self) -> &[u8] {
        while self.depth > 0 {
            self.close();
        }
        if self.truncated {
            let t: &[u8] = if self.first { b"\"truncated\":true" } else { b",\"truncated\":true" };
            self.buf[self.len..self.len + t.len()].copy_from_slice(t);
            self.len += t.len();
        }
        self.buf[self.len] = b'}';
        self.buf[self.len + 1] = b'\n';
        &self.buf[..self.len + 2]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_valid_objects() {
        let mut buf = [0u8; 256];
        let mut l = Line::new(&mut buf);
        l.str("type", b"inject").num("pid", 42).num("fd", -1).str("path", b"/a\"b\\c\n\xff.db");
        assert_eq!(
            l.finish(),
            &b"{\"type\":\"inject\",\"pid\":42,\"fd\":-1,\"path\":\"/a\\\"b\\\\c\\n\\ufffd.db\"}\n"
                [..]
        );
    }

    #[test]
    fn long_values_are_cut_and_marked() {
        let mut buf = [0u8; 64];
        let mut l = Line::new(&mut buf);
        l.str("path", &[b'a'; 500]).num("after", 1);
        let line = l.finish().to_vec();
        assert!(line.ends_with(b",\"truncated\":true}\n"), "{}", String::from_utf8_lossy(&line));
        assert!(line.len() <= 64);
        let mut buf = [0u8; 128];
        let mut l = Line::new(&mut buf);
        l.strs("argv", [&b"cp"[..], b"a", b"b"].into_iter());
        assert_eq!(l.finish(), b"{\"argv\":[\"cp\",\"a\",\"b\"]}\n");
        let mut buf = [0u8; 128];
        let mut l = Line::new(&mut buf);
        l.str("type", b"exit").array("rules");
        for (k, n) in [("a", 1), ("b", 2)] {
            assert!(l.object());
            l.str("key", k.as_bytes()).num("n", n).close();
        }
        l.close().num("pid", 7);
        assert_eq!(
            l.finish(),
            b"{\"type\":\"exit\",\"rules\":[{\"key\":\"a\",\"n\":1},{\"key\":\"b\",\"n\":2}],\"pid\":7}\n"
        );
    }
}
