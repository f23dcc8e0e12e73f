//! The rule parser: configuration text → [`Rule`]s, or a [`ParseError`] that says where.
//!
//! ```text
//! config   := rule { (';' | newline) rule }      blank rules and '#' lines are ignored
//! rule     := point [ '[' filter { ',' filter } ']' ] '=' chain
//! chain    := action { '->' action }
//! action   := [ P '%' ] [ N '*' ] task [ '(' arg ')' ]
//! ```
//!
//! Splitting respects double quotes and parentheses, so `print("a;b")` and `path~"a,b"` work.
//! Filters and tasks are parsed in `parse_filter.rs` and `parse_action.rs`; whether they fit the
//! points they are applied to is checked in `fit.rs`.

use crate::error::{ErrorKind, ParseError, ParseErrorDetails, Problem};
use crate::fit;
use action::parse_chain;
use filter::parse_filters;
pub(crate) use lex::Spanned;

mod action;
pub(crate) mod cut;
mod filter;
pub(crate) mod lex;
use crate::points::{Class, POINTS, PointId};
use crate::rule::{Filter, Points, Rule, SysItem, SysPoints};
use std::ops::Range;

/// Parses every rule of `text`; stops at the first bad one.
///
/// `source_name` says where the text came from (`FAILINJECT`, a file name) and appears in
/// errors.
pub fn parse_rules(text: &str, source_name: &str) -> Result<Vec<Rule>, ParseError> {
    let mut rules = Vec::new();
    for piece in split_rules(text) {
        rules.push(piece.parse(source_name)?);
    }
    Ok(rules)
}

/// Parses every rule of `text`, returning the good rules and an error for each bad one, so a
/// user sees all their mistakes at once.
pub fn parse_rules_all(text: &str, source_name: &str) -> (Vec<Rule>, Vec<ParseError>) {
    let mut rules = Vec::new();
    let mut errors = Vec::new();
    for piece in split_rules(text) {
        match piece.parse(source_name) {
            Ok(rule) => rules.push(rule),
            Err(e) => errors.push(e),
        }
    }
    (rules, errors)
}

/// Parses exactly one rule (no `;` or newline separating several).
pub fn parse_rule(text: &str) -> Result<Rule, ParseError> {
    let pieces = split_rules(text);
    match &pieces[..] {
        [one] => one.parse(""),
        [] => Err(whole_text_error(text, "expected a rule, found nothing")),
        [_, second, ..] => Err(second.error(
            "",
            Problem::new(
                ErrorKind::Syntax,
                0..second.text.len(),
                "expected one rule, found a second one",
            ),
        )),
    }
}

/// Parses a rule's key, `point[filters]`, as `remove KEY` takes it, and returns it in
/// canonical form (the form [`Rule::key`] prints).
pub fn parse_key(text: &str) -> Result<String, ParseError> {
    let piece = piece_of(text);
    let s = piece.text;
    let (points, filters, end) = parse_head(s).map_err(|p| piece.error("", p))?;
    if end < s.len() {
        let p = Problem::new(
            ErrorKind::Syntax,
            end..s.len(),
            "a key is `point[filters]`, with nothing after it",
        );
        return Err(piece.error("", p));
    }
    let filters: Vec<Filter> = filters.into_iter().map(|f| f.value).collect();
    Ok(crate::render::key_text(&points.value, &filters))
}

fn whole_text_error(text: &str, message: &str) -> ParseError {
    ParseError::new(ParseErrorDetails {
        kind: ErrorKind::Syntax,
        source_name: String::new(),
        rule_number: 1,
        line: 1,
        rule_text: text.into(),
        span: 0..text.len(),
        message: message.into(),
        help: None,
    })
}

/// One rule's text within the configuration.
struct Piece<'a> {
    text: &'a str,
    number: usize,
    line: usize,
}

fn piece_of(text: &str) -> Piece<'_> {
    Piece { text: text.trim(), number: 1, line: 1 }
}

impl Piece<'_> {
    fn parse(&self, source_name: &str) -> Result<Rule, ParseError> {
        parse_rule_text(self.text).map_err(|p| self.error(source_name, p))
    }

    fn error(&self, source_name: &str, p: Problem) -> ParseError {
        let t = self.text;
        let mut start = p.span.start.min(t.len());
        while !t.is_char_boundary(start) {
            start -= 1;
        }
        // A span may point one past the end ("expected `=` here").
        let mut end = p.span.end.clamp(start, t.len() + 1);
        while end <= t.len() && !t.is_char_boundary(end) {
            end += 1;
        }
        let p = Problem { span: start..end, ..p };
        ParseError::new(ParseErrorDetails {
            kind: p.kind,
            source_name: source_name.into(),
            rule_number: self.number,
            line: self.line,
            rule_text: self.text.into(),
            span: p.span,
            message: p.message,
            help: p.help,
        })
    }
}

/// Splits configuration text into rules at `;` and newlines. In the point name nothing but
/// `[` and `=` is special (a name may hold quotes and parentheses); in the filters, double
/// quotes protect; in the chain, double quotes and parentheses protect (`print(a;b)`). A
/// newline always ends a rule, so one unclosed `(` spoils one rule only. Comments and blank
/// rules are dropped.
fn split_rules(text: &str) -> Vec<Piece<'_>> {
    #[derive(PartialEq)]
    enum Part {
        Point,
        Filters,
        AfterFilters,
        Chain,
    }
    let bytes = text.as_bytes();
    let mut pieces = Vec::new();
    let (mut start, mut line, mut start_line) = (0, 1, 1);
    let (mut part, mut depth, mut quoted, mut blank) = (Part::Point, 0usize, false, true);
    let mut push = |from: usize, to: usize, line: usize| {
        let trimmed = text[from..to].trim();
        if !trimmed.is_empty() {
            pieces.push(Piece { text: trimmed, number: 0, line });
        }
    };
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if blank && b == b'#' {
            while i < bytes.len() && bytes[i] != b'\n' {
                i += 1;
            }
            start = i;
            continue;
        }
        if !b.is_ascii_whitespace() {
            blank = false;
        }
        let ends_rule = b == b'\n' || (b == b';' && !quoted && depth == 0);
        if ends_rule {
            push(start, i, start_line);
            if b == b'\n' {
                line += 1;
            }
            (start, start_line, part, depth, quoted, blank) =
                (i + 1, line, Part::Point, 0, false, true);
        } else if quoted {
            if b == b'\\' {
                i += 1;
            } else if b == b'"' {
                quoted = false;
            }
        } else {
            match (&part, b) {
                (Part::Point, b'[') => part = Part::Filters,
                (Part::Point | Part::AfterFilters, b'=') => part = Part::Chain,
                (Part::Filters, b']') => part = Part::AfterFilters,
                (Part::Filters | Part::Chain, b'"') => quoted = true,
                (Part::Chain, b'(') => depth += 1,
                (Part::Chain, b')') => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
        i += 1;
    }
    push(start, bytes.len().max(start), start_line);
    for (n, piece) in pieces.iter_mut().enumerate() {
        piece.number = n + 1;
    }
    pieces
}

/// Parses one rule's (trimmed) text; spans are relative to it.
fn parse_rule_text(s: &str) -> Result<Rule, Problem> {
    let (mut points, filters, head_end) = parse_head(s)?;
    let rest = &s[head_end..];
    let eq = head_end + (rest.len() - rest.trim_start().len());
    if !s[eq..].starts_with('=') {
        return Err(Problem::new(
            ErrorKind::Syntax,
            eq..s.len().max(eq + 1),
            "expected `=` and an action after the point",
        )
        .help("write a rule as POINT=ACTION, as in `sys:write=error(ENOSPC)`"));
    }
    let chain = parse_chain(s, eq + 1)?;
    fit::check(&mut points, &filters, &chain)?;
    Ok(Rule {
        points: points.value,
        filters: filters.into_iter().map(|f| f.value).collect(),
        chain: chain.into_iter().map(|a| a.value).collect(),
    })
}

/// A rule's `point[filters]`, and the byte where it ends.
type Head = (Spanned<Points>, Vec<Spanned<Filter>>, usize);

/// Parses `point[filters]` at the start of `s`; returns them and where they end.
fn parse_head(s: &str) -> Result<Head, Problem> {
    let stop = s.find(['[', '=']).unwrap_or(s.len());
    let point_text = &s[..stop];
    let lead = point_text.len() - point_text.trim_start().len();
    let span = lead..point_text.trim_end().len().max(lead);
    let points = parse_points(&s[span.clone()], span.start)?;
    let (filters, end) =
        if s[stop..].starts_with('[') { parse_filters(s, stop)? } else { (Vec::new(), stop) };
    Ok((Spanned { value: points, span }, filters, end))
}

/// Parses the point part, `text` starting at byte `at` of the rule.
fn parse_points(text: &str, at: usize) -> Result<Points, Problem> {
    if text.is_empty() {
        return Err(Problem::new(
            ErrorKind::Syntax,
            at..at + 1,
            "expected a point name before `=`",
        )
        .help("an in-code point such as `wal::append`, or a libc point such as `sys:write`"));
    }
    let Some(list) = text.strip_prefix("sys:") else {
        if let Some(i) = text.find([']', ';', '\n']) {
            return Err(Problem::new(
                ErrorKind::Syntax,
                at + i..at + i + 1,
                "a point name cannot contain this",
            ));
        }
        return Ok(Points::Code(text.to_owned()));
    };
    let mut items = Vec::new();
    let mut offset = at + 4;
    for raw in list.split('|') {
        let lead = raw.len() - raw.trim_start().len();
        let name = raw.trim();
        let span = offset + lead..offset + lead + name.len();
        offset += raw.len() + 1;
        let name = name.strip_prefix("sys:").unwrap_or(name);
        items.push(parse_sys_item(name, span)?);
    }
    // Canonical order, so `sys:fdatasync|fsync` and `sys:fsync|fdatasync` are one key:
    // functions in table order, then classes, then @all; each once.
    items.sort_by_key(|item| match item {
        SysItem::Point(p) => (0, p.0),
        SysItem::Class(c) => (1, *c as u16),
        SysItem::All => (2, 0),
    });
    items.dedup();
    let mut set = crate::points::PointSet::EMPTY;
    for item in &items {
        set.union_with(&item.points());
    }
    Ok(Points::Sys(SysPoints { items, set }))
}

fn parse_sys_item(name: &str, span: Range<usize>) -> Result<SysItem, Problem> {
    if name.is_empty() {
        return Err(Problem::new(
            ErrorKind::Syntax,
            span.start..span.start + 1,
            "expected a libc function name",
        )
        .help("write `sys:write`, `sys:fsync|fdatasync` or a class such as `sys:@write`"));
    }
    if let Some(class) = name.strip_prefix('@') {
        if class == "all" {
            return Ok(SysItem::All);
        }
        return Class::from_name(class).map(SysItem::Class).ok_or_else(|| {
            // Suggested with their `@`, as they are written.
            let names: Vec<String> = Class::ALL
                .iter()
                .map(|c| c.name())
                .chain(["all"])
                .map(|c| format!("@{c}"))
                .collect();
            Problem::new(ErrorKind::UnknownPoint, span, format!("unknown class `@{class}`"))
                .suggest(name, names.iter().map(String::as_str))
                .help_or(
                    "the classes are @open @read @write @sync @close @meta @dir @stdio @lock \
                 @mmap @fd @exec @all",
                )
        });
    }
    PointId::from_name(name).map(SysItem::Point).ok_or_else(|| {
        let names = POINTS.iter().flat_map(|p| p.spellings.iter().copied());
        Problem::new(ErrorKind::UnknownPoint, span, format!("unknown libc function `{name}`"))
            .suggest(name, names)
            .help_or("`failinject points` lists every function")
    })
}

impl SysItem {
    /// The points the item names.
    pub fn points(self) -> crate::points::PointSet {
        match self {
            SysItem::Point(p) => std::iter::once(p).collect(),
            SysItem::Class(c) => crate::points::PointSet::class(c),
            SysItem::All => crate::points::PointSet::all(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(config: &str) -> Vec<(String, usize, usize)> {
        split_rules(config).iter().map(|p| (p.text.to_owned(), p.number, p.line)).collect()
    }

    #[test]
    fn splitting() {
        assert_eq!(
            texts("a=off; b=off\n# comment; c=off\n\n d=print(x;y) ;"),
            vec![("a=off".into(), 1, 1), ("b=off".into(), 2, 1), ("d=print(x;y)".into(), 3, 4)]
        );
        assert_eq!(texts(r#"a[path~"x;y"]=off;b=off"#).len(), 2);
        // A newline always ends a rule, even inside an unclosed parenthesis.
        assert_eq!(texts("a=print(x\nb=off").len(), 2);
        assert_eq!(texts("a=off; # trailing comment; still comment\nb=off").len(), 2);
        assert!(texts("  \n;;\n# only\n").is_empty());
    }
}
