//! Parsing the `[filter, filter]` part of a rule (§3.1 of the spec).

use super::lex::{Spanned, parse_bytes, quoted_offsets, read_quoted};
use crate::error::{ErrorKind, Problem};
use crate::matcher::{PathMatcher, PatternError};
use crate::rule::{Cmp, Filter, KindSet, When};
use std::ops::Range;

/// The filter names, for suggestions.
const FILTER_NAMES: [&str; 9] =
    ["path", "fd", "kind", "when", "size", "exe", "after", "within", "site"];

/// Parses the filters of `s` starting at its `[` at byte `open`; returns them and the index
/// just past the `]`.
pub(crate) fn parse_filters(
    s: &str,
    open: usize,
) -> Result<(Vec<Spanned<Filter>>, usize), Problem> {
    let mut filters: Vec<Spanned<Filter>> = Vec::new();
    let mut i = open + 1;
    loop {
        i = skip_ws(s, i);
        let start = i;
        let name_end = i + s[i..].find(|c: char| !c.is_ascii_alphanumeric()).unwrap_or(s.len() - i);
        let name = &s[i..name_end];
        if name.is_empty() {
            return Err(if s[i..].starts_with(']') && !filters.is_empty() {
                Problem::new(ErrorKind::Syntax, i - 1..i + 1, "expected a filter after `,`")
                    .help("remove the trailing `,`")
            } else if s[i..].starts_with(']') {
                Problem::new(ErrorKind::Syntax, open..i + 1, "empty filter list")
                    .help("remove the `[]`")
            } else if i >= s.len() {
                unclosed(s, open)
            } else {
                Problem::new(ErrorKind::Syntax, i..i + 1, "expected a filter name")
                    .help("filters are path, fd, kind, when, size, exe, proc, after, within, site")
            });
        }
        i = skip_ws(s, name_end);
        let op_len = ["<=", ">=", "=", "~", "<", ">"]
            .iter()
            .find(|op| s[i..].starts_with(**op))
            .map_or(0, |op| op.len());
        if op_len == 0 {
            return Err(Problem::new(
                ErrorKind::Syntax,
                i..(i + 1).min(s.len()).max(i),
                format!("expected `=` after the filter name `{name}`"),
            ));
        }
        let op = &s[i..i + op_len];
        let op_span = i..i + op_len;
        i = skip_ws(s, i + op_len);
        let value = read_value(s, i, open)?;
        let next = value.next;
        let filter = build_filter(name, start..name_end, op, op_span, &value)?;
        let span = start..next.min(s.len());
        if let Some(dup) = filters
            .iter()
            .find(|f| f.value.order() == filter.order() && !matches!(filter, Filter::Size(..)))
        {
            return Err(Problem::new(
                ErrorKind::DuplicateFilter,
                span,
                format!("`{name}` is given twice in one rule"),
            )
            .help(format!("the first `{name}` is at column {}", dup.span.start + 1)));
        }
        filters.push(Spanned { value: filter, span: span.clone() });
        i = skip_ws(s, next);
        match s[i..].chars().next() {
            Some(',') => i += 1,
            Some(']') => return Ok((filters, i + 1)),
            None => return Err(unclosed(s, open)),
            Some(c) => {
                return Err(Problem::new(
                    ErrorKind::Syntax,
                    i..i + c.len_utf8(),
                    "expected `,` or `]` after a filter",
                )
                .help("quote values that contain spaces, commas or brackets: path~\"a,b\""));
            }
        }
    }
}

fn unclosed(s: &str, open: usize) -> Problem {
    Problem::new(ErrorKind::Syntax, open..s.len(), "this `[` is never closed with `]`")
}

fn skip_ws(s: &str, i: usize) -> usize {
    i + (s[i..].len() - s[i..].trim_start().len())
}

/// Reads a filter value (quoted, or bare up to `,` or `]`): the value, its span, and the
/// index after it.
fn read_value(s: &str, i: usize, open: usize) -> Result<Value, Problem> {
    if s[i..].starts_with('"') {
        let (text, next) = read_quoted(s, i)?;
        return Ok(Value {
            text,
            span: i + 1..next - 1,
            next,
            offsets: Some(quoted_offsets(s, i)),
        });
    }
    let end = i + s[i..].find([',', ']']).ok_or_else(|| unclosed(s, open))?;
    let text = s[i..end].trim_end();
    Ok(Value { text: text.to_owned(), span: i..i + text.len(), next: end, offsets: None })
}

/// A filter value as read: its text, where it stands, where the next token starts, and for a
/// quoted value where each of its bytes stands in the rule.
struct Value {
    text: String,
    span: Range<usize>,
    next: usize,
    offsets: Option<Vec<usize>>,
}

impl Value {
    /// The rule's byte range for the value's bytes `r`.
    fn map(&self, r: &Range<usize>) -> Range<usize> {
        match &self.offsets {
            Some(o) => {
                let at = |k: usize| o.get(k).copied().unwrap_or(self.span.end);
                at(r.start)..at(r.end.max(r.start))
            }
            None => self.span.start + r.start..self.span.start + r.end,
        }
    }
}

fn build_filter(
    name: &str,
    name_span: Range<usize>,
    op: &str,
    op_span: Range<usize>,
    v: &Value,
) -> Result<Filter, Problem> {
    let (value, span) = (v.text.as_str(), v.span.clone());
    let need_eq = |ops: &str| -> Result<(), Problem> {
        if op == "=" {
            Ok(())
        } else {
            Err(Problem::new(
                ErrorKind::BadOperator,
                op_span.clone(),
                format!("`{name}` takes `=`{ops}, not `{op}`"),
            ))
        }
    };
    let empty = || {
        Problem::new(
            ErrorKind::BadValue,
            span.start..span.start + 1,
            format!("`{name}=` needs a value"),
        )
    };
    if value.is_empty() && name != "size" {
        return Err(empty());
    }
    match name {
        "path" => match op {
            "=" => PathMatcher::glob(value).map(Filter::PathGlob).map_err(|e| pattern(e, v)),
            "~" => PathMatcher::regex(value).map(Filter::PathRegex).map_err(|e| pattern(e, v)),
            _ => Err(Problem::new(
                ErrorKind::BadOperator,
                op_span,
                format!("`path` takes `=GLOB` or `~REGEX`, not `{op}`"),
            )),
        },
        "exe" => {
            need_eq("")?;
            PathMatcher::glob(value).map(Filter::Exe).map_err(|e| pattern(e, v))
        }
        "proc" => {
            need_eq("")?;
            PathMatcher::glob_whole(value).map(Filter::Proc).map_err(|e| pattern(e, v))
        }
        "fd" => {
            need_eq("")?;
            value.parse::<i32>().ok().filter(|fd| *fd >= 0).map(Filter::Fd).ok_or_else(|| {
                Problem::new(
                    ErrorKind::BadValue,
                    span,
                    "`fd=` needs a descriptor number, such as `fd=3`",
                )
            })
        }
        "kind" => {
            need_eq("")?;
            let mut kinds = KindSet::empty();
            let mut offset = 0;
            for k in value.split(',') {
                let lead = k.len() - k.trim_start().len();
                let k_span =
                    span.start + offset + lead..span.start + offset + lead + k.trim().len();
                offset += k.len() + 1;
                if !kinds.add_name(k.trim()) {
                    return Err(Problem::new(
                        ErrorKind::BadValue,
                        k_span,
                        format!("unknown kind `{}`", k.trim()),
                    )
                    .suggest(k.trim(), KindSet::NAMES)
                    .help_or("the kinds are file, dir, socket, pipe, tty, other, any"));
                }
            }
            Ok(Filter::Kind(kinds))
        }
        "when" => {
            need_eq("")?;
            parse_when(value).map(Filter::When).map_err(|m| {
                Problem::new(ErrorKind::BadValue, span, m)
                    .help("when=N, when=N+, when=N+S or when=N..M, counted from 1")
            })
        }
        "size" => {
            let cmp = match op {
                "<" => Cmp::Lt,
                "<=" => Cmp::Le,
                "=" => Cmp::Eq,
                ">=" => Cmp::Ge,
                ">" => Cmp::Gt,
                _ => {
                    return Err(Problem::new(
                        ErrorKind::BadOperator,
                        op_span,
                        "`size` takes <, <=, =, >= or >",
                    ));
                }
            };
            if value.is_empty() {
                return Err(empty());
            }
            parse_bytes(value)
                .map(|n| Filter::Size(cmp, n))
                .map_err(|m| Problem::new(ErrorKind::BadValue, span, m))
        }
        "after" | "within" => {
            need_eq("")?;
            if value.starts_with("sys:") || value.contains(['=', ';', '[', ']', '\n']) {
                return Err(Problem::new(
                    ErrorKind::BadValue,
                    span,
                    format!("`{name}=` needs an in-code point name"),
                ));
            }
            Ok(if name == "after" {
                Filter::After(value.to_owned())
            } else {
                Filter::Within(value.to_owned())
            })
        }
        "site" => {
            need_eq("")?;
            let hex = value.strip_prefix("0x").unwrap_or(value);
            u64::from_str_radix(hex, 16).map(Filter::Site).map_err(|_| {
                Problem::new(
                    ErrorKind::BadValue,
                    span,
                    "`site=` needs a hexadecimal call-site id, as in the log",
                )
            })
        }
        _ => Err(Problem::new(
            ErrorKind::UnknownFilter,
            name_span,
            format!("unknown filter `{name}`"),
        )
        .suggest(name, FILTER_NAMES)
        .help_or("filters are path, fd, kind, when, size, exe, proc, after, within, site")),
    }
}

/// Places a pattern's error on the text of the value it came from.
fn pattern(e: PatternError, v: &Value) -> Problem {
    let r = v.map(&e.span);
    Problem::new(ErrorKind::BadValue, if r.is_empty() { v.span.clone() } else { r }, e.message)
}

/// `N`, `N+`, `N+S`, `N..M`.
fn parse_when(v: &str) -> Result<When, String> {
    let num = |s: &str| -> Result<u64, String> {
        match s.trim().parse::<u64>() {
            Ok(0) => Err("`when` counts calls from 1, so 0 never happens".into()),
            Ok(n) => Ok(n),
            Err(_) => Err(format!("expected a call number in `when`, found `{s}`")),
        }
    };
    if let Some((a, b)) = v.split_once("..") {
        let (a, b) = (num(a)?, num(b)?);
        if b < a {
            return Err(format!("`when={a}..{b}` is empty: the end comes before the start"));
        }
        return Ok(When::Range(a, b));
    }
    if let Some((a, s)) = v.split_once('+') {
        let a = num(a)?;
        if s.trim().is_empty() {
            return Ok(When::From(a));
        }
        return Ok(When::Every(a, num(s)?));
    }
    Ok(When::Nth(num(v)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_forms() {
        assert_eq!(parse_when("3"), Ok(When::Nth(3)));
        assert_eq!(parse_when("3+"), Ok(When::From(3)));
        assert_eq!(parse_when("3+2"), Ok(When::Every(3, 2)));
        assert_eq!(parse_when("3..5"), Ok(When::Range(3, 5)));
        assert!(parse_when("0").is_err());
        assert!(parse_when("5..3").is_err());
        assert!(parse_when("x").is_err());
        assert!(parse_when("2+0").is_err());
    }

    #[test]
    fn byte_counts() {
        assert_eq!(parse_bytes("4096"), Ok(4096));
        assert_eq!(parse_bytes("10K"), Ok(10240));
        assert_eq!(parse_bytes("1M"), Ok(1 << 20));
        assert_eq!(parse_bytes("2GiB"), Ok(2 << 30));
        assert!(parse_bytes("1T").is_err());
        assert!(parse_bytes("99999999999999999999G").is_err());
    }
}
