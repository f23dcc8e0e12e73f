//! Printing rules back to their canonical text.
//!
//! Every rule prints to text that parses back to the same rule (the property tests check
//! it), with spellings canonicalised (`sys:pwrite64` → `sys:pwrite`), filters in a fixed
//! order, and values quoted only where they must be.

use crate::rule::{Action, Filter, Points, Rule, SysItem, Task, When};
use std::fmt::{self, Write};

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.key(), self.chain_text())
    }
}

impl Rule {
    /// The rule's identity, `point[filters]`: setting a rule with the same key replaces it.
    pub fn key(&self) -> String {
        key_text(&self.points, &self.filters)
    }

    /// The chain as text: `2*off->1*error(ENOSPC)`.
    pub fn chain_text(&self) -> String {
        self.chain.iter().map(ToString::to_string).collect::<Vec<_>>().join("->")
    }
}

/// The canonical `point[filters]` text.
pub(crate) fn key_text(points: &Points, filters: &[Filter]) -> String {
    let mut s = points.to_string();
    if !filters.is_empty() {
        let mut sorted: Vec<&Filter> = filters.iter().collect();
        sorted.sort_by_key(|f| f.sort_key());
        s.push('[');
        for (i, filter) in sorted.into_iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            let _ = write!(s, "{filter}");
        }
        s.push(']');
    }
    s
}

impl fmt::Display for Points {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Points::Code(name) => f.write_str(name),
            Points::Sys(sys) => {
                f.write_str("sys:")?;
                for (i, item) in sys.items.iter().enumerate() {
                    if i > 0 {
                        f.write_str("|")?;
                    }
                    match item {
                        SysItem::Point(p) => f.write_str(p.info().name)?,
                        SysItem::Class(c) => write!(f, "@{}", c.name())?,
                        SysItem::All => f.write_str("@all")?,
                    }
                }
                Ok(())
            }
        }
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Filter::PathGlob(m) => write!(f, "path={}", quoted(m.source(), QUOTE_IN_FILTER)),
            Filter::PathRegex(m) => write!(f, "path~{}", quoted(m.source(), QUOTE_IN_FILTER)),
            Filter::Exe(m) => write!(f, "exe={}", quoted(m.source(), QUOTE_IN_FILTER)),
            Filter::Proc(m) => write!(f, "proc={}", quoted(m.source(), QUOTE_IN_FILTER)),
            Filter::Fd(n) => write!(f, "fd={n}"),
            Filter::Kind(k) => {
                let names = k.names().join(",");
                write!(f, "kind={}", quoted(&names, QUOTE_IN_FILTER))
            }
            Filter::When(w) => write!(f, "when={w}"),
            Filter::Size(cmp, n) => write!(f, "size{}{n}", cmp.symbol()),
            Filter::After(n) => write!(f, "after={}", quoted(n, QUOTE_IN_FILTER)),
            Filter::Within(n) => write!(f, "within={}", quoted(n, QUOTE_IN_FILTER)),
            Filter::Site(id) => write!(f, "site={id:x}"),
        }
    }
}

impl fmt::Display for When {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            When::Nth(n) => write!(f, "{n}"),
            When::From(n) => write!(f, "{n}+"),
            When::Every(n, s) => write!(f, "{n}+{s}"),
            When::Range(a, b) => write!(f, "{a}..{b}"),
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(p) = self.percent {
            write!(f, "{p}%")?;
        }
        if let Some(n) = self.count {
            write!(f, "{n}*")?;
        }
        write!(f, "{}", self.task)
    }
}

impl fmt::Display for Task {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.name();
        let text = |f: &mut fmt::Formatter<'_>, v: &Option<String>| match v {
            Some(v) => write!(f, "{name}({})", quoted(v, QUOTE_IN_ARG)),
            None => f.write_str(name),
        };
        match self {
            Task::Off | Task::Pause | Task::Yield => f.write_str(name),
            Task::Return(v) | Task::Panic(v) | Task::Print(v) => text(f, v),
            Task::Sleep(ms) | Task::Delay(ms) => write!(f, "{name}({ms})"),
            Task::Error(None) | Task::Short(None) => f.write_str(name),
            Task::Error(Some(e)) | Task::Lose(e, crate::rule::Loss::Revert) => {
                write!(f, "{name}({e})")
            }
            Task::Lose(e, crate::rule::Loss::Clean) => write!(f, "{name}({e},clean)"),
            Task::Short(Some(n)) => write!(f, "{name}({})", Bytes(*n)),
            Task::Full(n) => write!(f, "{name}({})", Bytes(*n)),
            Task::Corrupt(c) => write!(f, "{name}({})", c.name()),
            Task::Kill(s) if *s == crate::errno::Signal::KILL => f.write_str(name),
            Task::Kill(s) => write!(f, "{name}({s})"),
            Task::Powercut(cut) if *cut == failinject_crash::Cut::ALL => f.write_str(name),
            Task::Powercut(cut) => write!(f, "{name}({})", crate::parse::cut::cut_words(cut)),
        }
    }
}

/// A byte count with the largest exact K/M/G suffix.
pub struct Bytes(pub u64);

impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0;
        for (shift, suffix) in [(30, "G"), (20, "M"), (10, "K")] {
            if n != 0 && n.is_multiple_of(1 << shift) {
                return write!(f, "{}{suffix}", n >> shift);
            }
        }
        write!(f, "{n}")
    }
}

/// Characters that force quotes around a filter value.
const QUOTE_IN_FILTER: &[char] = &[',', ']', '[', ' ', '"', ';', '\\', '\t', '(', ')', '#'];
/// Characters that force quotes around a task argument.
const QUOTE_IN_ARG: &[char] = &['(', ')', '"', ';', '\\', '\t', '>', '#'];

/// The value as written, in double quotes (with `\"` and `\\`) when it needs them.
fn quoted(v: &str, special: &[char]) -> String {
    let needs = v.is_empty()
        || v.contains(special)
        || v.starts_with(char::is_whitespace)
        || v.ends_with(char::is_whitespace);
    if !needs {
        return v.to_owned();
    }
    let mut s = String::with_capacity(v.len() + 2);
    s.push('"');
    for c in v.chars() {
        if c == '"' || c == '\\' {
            s.push('\\');
        }
        s.push(c);
    }
    s.push('"');
    s
}
