//! One plain sentence per rule, for `failinject check`: what is failed, where, when and how.

use crate::points::{Fail, PointId};
use crate::render::Bytes;
use crate::rule::{Action, Cmp, Filter, Points, Rule, SysItem, Task, When};

impl Rule {
    /// Says in one sentence what the rule does.
    ///
    /// ```
    /// let rule = failinject_engine::parse_rule("sys:write[path=*.db]=2*off->error(ENOSPC)").unwrap();
    /// assert_eq!(
    ///     rule.explain(),
    ///     "On calls to write on a file named like `*.db`: for 2 calls, let the call go ahead; then fail with ENOSPC."
    /// );
    /// ```
    pub fn explain(&self) -> String {
        let mut s = format!("On {}", self.points_phrase());
        for f in &self.filters {
            if let Some(p) = filter_phrase(f) {
                s.push_str(&p);
            }
        }
        if self.is_sys() && !self.filters.iter().any(Filter::names_target) {
            s.push_str(" (regular files and directories only)");
        }
        s.push_str(": ");
        s.push_str(&self.chain_phrase());
        s.push('.');
        s
    }

    fn points_phrase(&self) -> String {
        match &self.points {
            Points::Code(name) => format!("the in-code point `{name}`"),
            Points::Sys(sys) => {
                let mut parts = Vec::new();
                for item in &sys.items {
                    parts.push(match item {
                        SysItem::Point(p) => p.info().name.to_owned(),
                        SysItem::Class(c) => {
                            let n = item.points().iter().filter(|p| sys.set.contains(*p)).count();
                            format!("the @{} functions ({n} that fit)", c.name())
                        }
                        SysItem::All => {
                            format!("every libc function that fits ({})", sys.set.len())
                        }
                    });
                }
                format!("calls to {}", join_or(&parts))
            }
        }
    }

    fn chain_phrase(&self) -> String {
        let sys_point = match &self.points {
            Points::Sys(sys) => sys.set.iter().next(),
            Points::Code(_) => None,
        };
        let mut parts: Vec<String> =
            self.chain.iter().map(|a| action_phrase(a, sys_point)).collect();
        let last = self.chain.last().expect("a parsed rule has at least one action");
        let ends_open = last.count.is_some() || last.percent.is_some_and(|p| p < 100.0);
        for p in parts.iter_mut().skip(1) {
            *p = format!("then {p}");
        }
        let mut s = parts.join("; ");
        if ends_open && !matches!(last.task, Task::Off) {
            s.push_str(if last.count.is_some() {
                "; after that, calls go ahead"
            } else {
                "; otherwise the call goes ahead"
            });
        }
        s
    }
}

fn join_or(parts: &[String]) -> String {
    match parts {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

fn filter_phrase(f: &Filter) -> Option<String> {
    Some(match f {
        Filter::PathGlob(m) if m.matches_whole_path() => {
            format!(" on a path matching `{}`", m.source())
        }
        Filter::PathGlob(m) => format!(" on a file named like `{}`", m.source()),
        Filter::PathRegex(m) => format!(" on a path matching the regex `{}`", m.source()),
        Filter::Fd(n) => format!(" on fd {n}"),
        Filter::Kind(k) => format!(" on {}", k.names().join(" or ")),
        Filter::Size(cmp, n) => {
            let op = match cmp {
                Cmp::Lt => "fewer than",
                Cmp::Le => "at most",
                Cmp::Eq => "exactly",
                Cmp::Ge => "at least",
                Cmp::Gt => "more than",
            };
            format!(" of {op} {n} bytes")
        }
        Filter::Exe(m) => format!(" in programs named like `{}`", m.source()),
        Filter::Proc(m) => format!(" in processes titled like `{}`", m.source()),
        Filter::After(n) => format!(" once the point `{n}` has been reached"),
        Filter::Within(n) => format!(" while the thread is inside `{n}`"),
        Filter::Site(id) => format!(" from call site {id:x}"),
        Filter::When(w) => match w {
            When::Nth(n) => format!(", only the {} such call", ordinal(*n)),
            When::From(n) => format!(", from the {} such call on", ordinal(*n)),
            When::Every(n, s) => {
                format!(", every {} such call from the {}", ordinal(*s), ordinal(*n))
            }
            When::Range(a, b) => format!(", the {} to the {} such calls", ordinal(*a), ordinal(*b)),
        },
    })
}

fn ordinal(n: u64) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

fn action_phrase(a: &Action, point: Option<PointId>) -> String {
    let mut s = String::new();
    if let Some(n) = a.count {
        s.push_str(&format!("for {n} call{}, ", if n == 1 { "" } else { "s" }));
    }
    if let Some(p) = a.percent {
        s.push_str(&format!("with probability {p}%, "));
    }
    s.push_str(&task_phrase(&a.task, point));
    s
}

fn task_phrase(t: &Task, point: Option<PointId>) -> String {
    let sys = point.is_some();
    match t {
        Task::Off if sys => "let the call go ahead".into(),
        Task::Off => "do nothing".into(),
        Task::Return(Some(v)) if sys => format!("skip the call and return {v}"),
        Task::Return(_) if sys => "skip the call".into(),
        Task::Return(Some(v)) => format!("return early with `{v}`"),
        Task::Return(None) => "return early".into(),
        Task::Sleep(ms) => format!("sleep {ms} ms, then go ahead"),
        Task::Delay(ms) => format!("busy-wait {ms} ms, then go ahead"),
        Task::Panic(m) if sys => format!("abort the process{}", message(m)),
        Task::Panic(m) => format!("panic{}", message(m)),
        Task::Print(m) => format!("log{}, then go ahead", message(m)),
        Task::Pause => "block the thread until the rule is changed or removed".into(),
        Task::Yield => "yield the CPU, then go ahead".into(),
        Task::Error(Some(e)) => {
            let fails = point.is_some_and(|p| p.info().fail == Fail::ErrnoRet);
            format!("fail with {e}{}", if fails { " (returned, not in errno)" } else { "" })
        }
        Task::Error(None) => "fail with an errno drawn from the function's realistic ones".into(),
        Task::Short(Some(n)) => format!("move at most {} bytes (a real short transfer)", Bytes(*n)),
        Task::Short(None) => "move a random shorter count of bytes (a real short transfer)".into(),
        Task::Corrupt(c) => match c {
            crate::rule::Corruption::Flip => "flip one bit of the data".into(),
            crate::rule::Corruption::Zero => "zero the data".into(),
            crate::rule::Corruption::Random => "replace the data with garbage".into(),
        },
        Task::Full(n) => {
            format!("let {} bytes through, then fail with ENOSPC as a full disk does", Bytes(*n))
        }
        Task::Kill(s) => format!("kill the process with SIG{s} before the call"),
        Task::Powercut(cut) => format!(
            "cut the power: {}{}, then SIGKILL every process of the run",
            match cut.mode {
                failinject_crash::Mode::All => "roll back every change not yet synced".to_string(),
                failinject_crash::Mode::Prefix => {
                    "keep a seeded prefix of the changes not yet synced, in the order they were \
                     made, and roll back the rest"
                        .to_string()
                }
                failinject_crash::Mode::Any => {
                    "keep each change not yet synced or roll it back, seeded".to_string()
                }
                failinject_crash::Mode::Torn => format!(
                    "keep each change not yet synced or roll it back, seeded, tearing long \
                     writes into {}-byte sectors",
                    cut.sector
                ),
                failinject_crash::Mode::Keep => format!(
                    "right after the call, make the crash state {} of `explore --crash` (the \
                     changes it names kept, the rest rolled back)",
                    cut.keep.map(ToString::to_string).unwrap_or_default()
                ),
            },
            if cut.dirs { " (directory entries too)" } else { "" }
        ),
        Task::Lose(e, crate::rule::Loss::Revert) => {
            format!("fail with {e} and drop the writes not yet synced (as Btrfs does)")
        }
        Task::Lose(e, crate::rule::Loss::Clean) => format!(
            "fail with {e}; the writes not yet synced stay readable but are no longer dirty, so \
             a retried sync succeeds and the next power cut loses them (as ext4 and XFS do)"
        ),
    }
}

fn message(m: &Option<String>) -> String {
    m.as_ref().map(|m| format!(" with the message `{m}`")).unwrap_or_default()
}
