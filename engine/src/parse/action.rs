//! Parsing a chain of actions, `[P%][N*]task[(arg)] -> …`, exactly as fail-rs reads it,
//! plus the libc tasks of §3.2 of the spec.

use super::lex::{Spanned, parse_bytes, read_quoted};
use crate::errno::{ERRNO_NAMES, Errno, SIGNAL_NAMES, Signal};
use crate::error::{ErrorKind, Problem};
use crate::rule::{Action, Corruption, Task};
use std::ops::Range;

/// Parses the chain that starts at byte `at` of the rule `s` (just after `=`).
pub(crate) fn parse_chain(s: &str, at: usize) -> Result<Vec<Spanned<Action>>, Problem> {
    let mut actions = Vec::new();
    let mut start = at;
    for (end, next) in split_arrows(s, at) {
        let raw = &s[start..end];
        let lead = raw.len() - raw.trim_start().len();
        let span = start + lead..start + lead + raw.trim().len();
        if span.is_empty() {
            let where_ = if actions.is_empty() && next.is_none() { at..at + 1 } else { start..end };
            let message = if actions.is_empty() && next.is_none() {
                "expected an action after `=`"
            } else {
                "empty action in the chain"
            };
            return Err(Problem::new(ErrorKind::Syntax, where_, message).help(
                "actions are off, return, sleep, delay, panic, print, pause, yield, error, \
                       short, corrupt, full, kill, powercut, lose",
            ));
        }
        actions.push(Spanned { value: parse_action(&s[span.clone()], span.start)?, span });
        match next {
            Some(n) => start = n,
            None => break,
        }
    }
    Ok(actions)
}

/// The ends of the chain's actions: each `->` outside quotes and parentheses, then the end.
fn split_arrows(s: &str, at: usize) -> Vec<(usize, Option<usize>)> {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let (mut depth, mut quoted, mut i) = (0usize, false, at);
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if quoted => i += 1,
            b'"' => quoted = !quoted,
            b'(' if !quoted => depth += 1,
            b')' if !quoted => depth = depth.saturating_sub(1),
            b'-' if !quoted && depth == 0 && bytes.get(i + 1) == Some(&b'>') => {
                out.push((i, Some(i + 2)));
                i += 1;
            }
            _ => {}
        }
        i += 1;
    }
    out.push((s.len(), None));
    out
}

/// Parses one action, `t` being its trimmed text at byte `at` of the rule.
fn parse_action(t: &str, at: usize) -> Result<Action, Problem> {
    let err =
        |k: ErrorKind, r: Range<usize>, m: String| Problem::new(k, at + r.start..at + r.end, m);
    let mut i = 0;
    let mut percent = None;
    let mut count = None;
    // [P%][N*]: a number followed by `%` is a probability, by `*` a count.
    for _ in 0..2 {
        let n_end =
            i + t[i..].find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len() - i);
        if n_end == i {
            break;
        }
        let number = &t[i..n_end];
        match t[n_end..].chars().next() {
            Some('%') if percent.is_none() && count.is_none() => {
                let p: f64 = number.parse().map_err(|_| {
                    err(ErrorKind::BadValue, i..n_end, format!("`{number}` is not a percentage"))
                })?;
                // Above 100% is "always", as fail-rs takes it (`125%2*off` is in its own
                // parser tests); `failinject check` warns about it.
                if !p.is_finite() {
                    return Err(err(
                        ErrorKind::BadValue,
                        i..n_end + 1,
                        format!("`{number}%` is not a percentage"),
                    ));
                }
                percent = Some(p);
            }
            Some('*') if count.is_none() => {
                let n: u64 = number.parse().map_err(|_| {
                    err(
                        ErrorKind::BadValue,
                        i..n_end,
                        format!("`{number}` is not a whole number of times"),
                    )
                })?;
                count = Some(n);
            }
            _ => {
                return Err(err(
                    ErrorKind::Syntax,
                    i..n_end,
                    format!("expected `%` or `*` after `{number}`"),
                )
                .help("write `25%error(EIO)` for a probability, `3*error(EIO)` for a count"));
            }
        }
        i = n_end + 1;
    }
    let name_end =
        i + t[i..].find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(t.len() - i);
    let name = &t[i..name_end];
    if name.is_empty() {
        return Err(err(
            ErrorKind::Syntax,
            i..(i + 1).min(t.len().max(i + 1)),
            "expected a task name".into(),
        )
        .help(
            "tasks are off, return, sleep, delay, panic, print, pause, yield, error, short, \
                   corrupt, full, kill, powercut, lose",
        ));
    }
    let name_span = at + i..at + name_end;
    let rest = &t[name_end..];
    let arg = if rest.trim_start().starts_with('(') {
        let open = name_end + (rest.len() - rest.trim_start().len());
        if !t.ends_with(')') {
            let after = t[open..].find(')').map(|c| open + c + 1);
            return Err(match after {
                Some(a) => err(ErrorKind::Syntax, a..t.len(), "unexpected text after `)`".into())
                    .help("separate actions with `->` and rules with `;`"),
                None => err(
                    ErrorKind::Syntax,
                    open..t.len(),
                    "this `(` is never closed with `)`".into(),
                ),
            });
        }
        let inner = &t[open + 1..t.len() - 1];
        let lead = inner.len() - inner.trim_start().len();
        let inner_at = at + open + 1 + lead;
        let inner = inner.trim();
        let value = if inner.starts_with('"') {
            let (v, end) = read_quoted(inner, 0).map_err(|p| {
                Problem::new(p.kind, p.span.start + inner_at..p.span.end + inner_at, p.message)
            })?;
            if end != inner.len() {
                return Err(Problem::new(
                    ErrorKind::Syntax,
                    inner_at + end..inner_at + inner.len(),
                    "unexpected text after the quoted value",
                ));
            }
            v
        } else {
            inner.to_owned()
        };
        Some(Spanned { value, span: inner_at..inner_at + inner.len() })
    } else if !rest.trim().is_empty() {
        return Err(err(
            ErrorKind::Syntax,
            name_end..t.len(),
            format!("unexpected text after `{name}`"),
        )
        .help("an argument goes in parentheses, as in `error(EIO)`; chain actions with `->`"));
    } else {
        None
    };
    let task = parse_task(name, name_span, arg)?;
    Ok(Action { percent, count, task })
}

fn parse_task(
    name: &str,
    name_span: Range<usize>,
    arg: Option<Spanned<String>>,
) -> Result<Task, Problem> {
    let arg_span = arg.as_ref().map_or(name_span.clone(), |a| {
        if a.span.is_empty() { name_span.end..name_span.end + 2 } else { a.span.clone() }
    });
    let value = arg.as_ref().map(|a| a.value.as_str());
    let none = || -> Result<(), Problem> {
        match value {
            None => Ok(()),
            Some(_) => Err(Problem::new(
                ErrorKind::BadValue,
                arg_span.clone(),
                format!("`{name}` takes no argument"),
            )),
        }
    };
    let required = |what: &str| -> Result<&str, Problem> {
        match value {
            Some(v) if !v.is_empty() => Ok(v),
            _ => Err(Problem::new(
                ErrorKind::BadValue,
                arg_span.clone(),
                format!("`{name}` needs {what}"),
            )
            .help(format!("as in `{name}({})`", example(name)))),
        }
    };
    let bad = |m: String| Problem::new(ErrorKind::BadValue, arg_span.clone(), m);
    let optional = value.filter(|v| !v.is_empty());
    Ok(match name {
        "off" => none().map(|_| Task::Off)?,
        "pause" => none().map(|_| Task::Pause)?,
        "yield" => none().map(|_| Task::Yield)?,
        "return" => Task::Return(value.map(str::to_owned)),
        "panic" => Task::Panic(optional.map(str::to_owned)),
        "print" => Task::Print(optional.map(str::to_owned)),
        "sleep" | "delay" => {
            let v = required("a time in milliseconds")?;
            let ms: u64 =
                v.parse().map_err(|_| bad(format!("`{v}` is not a number of milliseconds")))?;
            if name == "sleep" { Task::Sleep(ms) } else { Task::Delay(ms) }
        }
        "error" => Task::Error(optional.map(|v| parse_errno(v, &arg_span)).transpose()?),
        "lose" => {
            let (errno, how) = match optional.map(|v| v.split_once(',').unwrap_or((v, ""))) {
                Some((e, how)) => (parse_errno(e.trim(), &arg_span)?, how.trim()),
                None => (Errno::EIO, ""),
            };
            Task::Lose(
                errno,
                match how {
                    "" | "revert" => crate::rule::Loss::Revert,
                    "clean" => crate::rule::Loss::Clean,
                    other => {
                        return Err(bad(format!(
                        "`lose(E,{other})`: a failed sync loses its writes `revert` (Btrfs, the \
                         default) or `clean` (ext4, XFS)"
                    ))
                    .suggest(other, ["revert", "clean"]));
                    }
                },
            )
        }
        "short" => Task::Short(match optional {
            None => None,
            Some(v) => match parse_bytes(v) {
                Ok(0) => {
                    return Err(bad(
                        "`short(N)` needs N ≥ 1: a zero-byte write is not short".into()
                    ));
                }
                Ok(n) => Some(n),
                Err(m) => return Err(bad(m)),
            },
        }),
        "corrupt" => Task::Corrupt(match optional {
            None | Some("flip") => Corruption::Flip,
            Some("zero") => Corruption::Zero,
            Some("random") => Corruption::Random,
            Some(v) => {
                return Err(bad(format!("unknown corruption `{v}`"))
                    .suggest(v, ["flip", "zero", "random"])
                    .help_or("corrupt(flip), corrupt(zero) or corrupt(random)"));
            }
        }),
        "full" => Task::Full(parse_bytes(required("a byte count")?).map_err(bad)?),
        "kill" => Task::Kill(match optional {
            None => Signal::KILL,
            Some(v) => parse_signal(v).ok_or_else(|| {
                bad(format!("unknown signal `{v}`"))
                    .suggest(v.strip_prefix("SIG").unwrap_or(v), SIGNAL_NAMES.iter().map(|s| s.0))
            })?,
        }),
        "powercut" => {
            Task::Powercut(super::cut::parse_cut(optional.unwrap_or("")).map_err(|e| {
                // The bad word's own place, when the argument was written as it reads.
                let quoted = arg.as_ref().is_some_and(|a| a.span.len() != a.value.len());
                let span = if quoted {
                    arg_span.clone()
                } else {
                    arg_span.start + e.at.start..arg_span.start + e.at.end
                };
                let p = Problem::new(ErrorKind::BadValue, span, e.message);
                match e.suggestion {
                    Some(s) => p.help(format!("did you mean `{s}`?")),
                    None => p,
                }
            })?)
        }
        _ => {
            return Err(Problem::new(
                ErrorKind::UnknownTask,
                name_span,
                format!("unknown task `{name}`"),
            )
            .suggest(name, Task::NAMES)
            .help_or(
                "tasks are off, return, sleep, delay, panic, print, pause, yield, error, \
                          short, corrupt, full, kill, powercut, lose",
            ));
        }
    })
}

fn example(task: &str) -> &'static str {
    match task {
        "sleep" | "delay" => "100",
        "full" => "10M",
        _ => "…",
    }
}

fn parse_errno(v: &str, span: &Range<usize>) -> Result<Errno, Problem> {
    if let Ok(n) = v.parse::<i32>() {
        return if (1..4096).contains(&n) {
            Ok(Errno(n))
        } else {
            Err(Problem::new(
                ErrorKind::BadValue,
                span.clone(),
                format!("errno {n} is out of range (1 to 4095)"),
            ))
        };
    }
    Errno::from_name(v).ok_or_else(|| {
        Problem::new(ErrorKind::UnknownErrno, span.clone(), format!("unknown errno `{v}`"))
            .suggest(v, ERRNO_NAMES.iter().map(|e| e.0))
    })
}

fn parse_signal(v: &str) -> Option<Signal> {
    match v.parse::<i32>() {
        Ok(n) if (1..=64).contains(&n) => Some(Signal(n)),
        Ok(_) => None,
        Err(_) => Signal::from_name(v),
    }
}
