//! The lexing helpers every part of the rule parser shares: spans, quoted values, byte
//! counts, and the help line of a problem.

use crate::error::{ErrorKind, Problem};
use std::ops::Range;

/// A value with the byte range it was parsed from.
#[derive(Debug, Clone)]
pub(crate) struct Spanned<T> {
    pub value: T,
    pub span: Range<usize>,
}

impl Problem {
    /// Sets `help` unless a suggestion already did.
    pub(crate) fn help_or(self, help: &str) -> Problem {
        if self.help.is_some() { self } else { self.help(help) }
    }
}

/// Where each byte of a quoted value read by [`read_quoted`] at `at` stands in `s`, plus one
/// entry for the end, so errors found inside the value point at the right text.
pub(crate) fn quoted_offsets(s: &str, at: usize) -> Vec<usize> {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = at + 1;
    while i < bytes.len() && bytes[i] != b'"' {
        if bytes[i] == b'\\' && matches!(bytes.get(i + 1), Some(b'"' | b'\\')) {
            i += 1;
        }
        out.push(i);
        i += 1;
    }
    out.push(i);
    out
}

/// Reads a double-quoted string starting at `s[at] == '"'`, with `\"` and `\\` escapes.
/// Returns the value and the index just past the closing quote.
pub(crate) fn read_quoted(s: &str, at: usize) -> Result<(String, usize), Problem> {
    let mut out = String::new();
    let mut chars = s[at + 1..].char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Ok((out, at + 1 + i + 1)),
            '\\' => match chars.next() {
                Some((_, e @ ('"' | '\\'))) => out.push(e),
                Some((_, e)) => {
                    out.push('\\');
                    out.push(e);
                }
                None => break,
            },
            c => out.push(c),
        }
    }
    Err(Problem::new(ErrorKind::Syntax, at..s.len(), "this quoted value is never closed with `\"`"))
}

/// A byte count with an optional K, M or G suffix (powers of 1024; `KiB` spelled out works
/// too).
pub(crate) fn parse_bytes(v: &str) -> Result<u64, String> {
    let v = v.trim();
    let digits = v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len());
    let (n, suffix) = v.split_at(digits);
    let shift = match suffix.trim() {
        "" | "B" => 0,
        "K" | "k" | "KiB" | "KB" => 10,
        "M" | "m" | "MiB" | "MB" => 20,
        "G" | "g" | "GiB" | "GB" => 30,
        s => return Err(format!("unknown size suffix `{s}`: use K, M or G (powers of 1024)")),
    };
    let n: u64 = n.parse().map_err(|_| format!("expected a byte count, found `{v}`"))?;
    n.checked_mul(1 << shift).ok_or_else(|| format!("`{v}` is too large"))
}
