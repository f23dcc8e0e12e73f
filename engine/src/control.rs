//! The control protocol (SPEC §6), as pure functions: a line of the protocol becomes a typed
//! [`Command`], and a command applied to a [`Registry`] becomes the reply text.
//!
//! `libfailinject.so` serves this protocol on its control socket (`FAILINJECT_CTL`) by calling
//! exactly these functions, so what the fuzz target `control` exercises is what runs. The only
//! part left to the server is the waiting of `wait`, a loop around [`wait_check`].
//!
//! ```text
//! set RULE                 add a rule, or replace the one with its key
//! remove KEY               remove the rule with this key
//! clear                    remove every rule
//! list                     one line per rule: key, actions, matches, injections (tab-separated)
//! wait KEY N [TIMEOUT_MS]  return once the rule has injected N times (default: 10 s)
//! seed                     the seed of this process
//! ```
//!
//! Every reply ends with a line starting `ok` or `err ` and the reason; `list` and `seed` print
//! their lines before it. A reply never holds a line break anywhere else, whatever the input:
//! multi-line parse errors are folded into one line with ` | `, and a `list` line has exactly
//! four tab-separated fields (a tab in a key, which an in-code point's name may hold, is
//! written `\t`) and never starts with `ok` or `err` (a key that does, say the in-code point
//! `ok::commit`, or that starts with a backslash, is written with a backslash before it).
//!
//! ```
//! use failinject_engine::{Registry, control};
//!
//! let mut registry = Registry::new(7);
//! assert_eq!(control::respond(b"set sys:fsync=error(EIO)", &mut registry).unwrap(), "ok sys:fsync\n");
//! assert_eq!(control::respond(b"list", &mut registry).unwrap(), "sys:fsync\terror(EIO)\t0\t0\nok 1 rules\n");
//! assert_eq!(control::respond(b"   ", &mut registry), None);
//! assert!(control::respond(b"frobnicate", &mut registry).unwrap().starts_with("err unknown command"));
//! ```

use crate::counters::RuleState;
use crate::error::ParseError;
use crate::parse::{parse_key, parse_rules};
use crate::registry::Registry;
use crate::rule::Rule;
use std::sync::Arc;

/// The longest line the control socket accepts, in bytes (the newline not included).
pub const MAX_LINE: usize = 64 * 1024;

/// How long `wait` waits when the command gives no timeout, in milliseconds.
pub const DEFAULT_WAIT_MS: u64 = 10_000;

/// One command of the control protocol.
#[derive(Debug, Clone)]
pub enum Command {
    /// `set RULE…`: the rules to add or replace, in order (at least one).
    Set(Vec<Rule>),
    /// `remove KEY`: the key, canonical (as [`Rule::key`] prints it).
    Remove(String),
    /// `clear`.
    Clear,
    /// `list`.
    List,
    /// `seed`.
    Seed,
    /// `powercut [MODE]`: the power fails now, for the process's whole run, leaving the
    /// crash state the cut's mode chooses (seeded by the process's seed).
    Powercut {
        /// The cut.
        cut: crate::rule::Cut,
    },
    /// `wait KEY N [TIMEOUT_MS]`, the key canonical.
    Wait {
        /// The rule's key.
        key: String,
        /// How many injections to wait for.
        n: u64,
        /// How long to wait at most, in milliseconds.
        timeout_ms: u64,
    },
}

impl Command {
    /// Whether the command changes the registry (`set`, `remove`, `clear`); the others only
    /// read it.
    pub fn changes(&self) -> bool {
        matches!(self, Command::Set(_) | Command::Remove(_) | Command::Clear)
    }
}

/// Folds a message that may span lines (a [`crate::ParseError`]'s `Display` does) into one.
fn one_line(s: &str) -> String {
    s.replace(['\r', '\n'], " | ")
}

/// A field of a `list` line: on one line, and a tab (which an in-code point's name may hold)
/// written `\\t`, so that every line has exactly four tab-separated fields.
fn field(s: &str) -> String {
    one_line(s).replace('\t', "\\t")
}

/// The key at the start of a `list` line. A reply ends at the first line that starts `ok` or
/// `err`, and an in-code point's name may start so (`ok::commit`, `err budget`): such a key,
/// and one that starts with a backslash, is written with a backslash before it.
fn key_field(key: &str) -> String {
    let k = field(key);
    if k.starts_with("ok") || k.starts_with("err") || k.starts_with('\\') {
        format!("\\{k}")
    } else {
        k
    }
}

/// Why a control line is not a command; shown, on one line, as the reason of the `err` reply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ControlError {
    /// `set` or `remove` with a bad rule or key (the parser's message, on one line).
    #[error("{}", one_line(&.0.to_string()))]
    Parse(ParseError),
    /// `set` with nothing after it.
    #[error("set needs a rule, as in `set sys:write=error(EIO)`")]
    NoRule,
    /// `clear`, `list` or `seed` with an argument.
    #[error("`{0}` takes no argument")]
    TakesNoArgument(String),
    /// A verb that is not a command.
    #[error("unknown command `{}`: use set, remove, clear, list, wait, seed or powercut", one_line(&.0.chars().take(40).collect::<String>()))]
    Unknown(String),
    /// `powercut` with words that are not a cut.
    #[error("`powercut {0}`: {1}")]
    PowercutMode(String, String),
    /// `wait` without a key and a count.
    #[error("usage: wait KEY N [TIMEOUT_MS]")]
    WaitUsage,
}

/// Turns one received line (without its newline; at most [`MAX_LINE`] bytes, which the
/// server checks) into a command. Bytes that are not UTF-8 are replaced, surrounding
/// whitespace is ignored. `None` for a blank line, which gets no reply; `Err` says why, its
/// text the reason of the `err` reply.
pub fn parse_line(line: &[u8]) -> Option<Result<Command, ControlError>> {
    let text = String::from_utf8_lossy(line);
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    Some(parse_command(text))
}

/// Parses one non-blank command line.
pub fn parse_command(line: &str) -> Result<Command, ControlError> {
    let line = line.trim();
    let (verb, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
    let rest = rest.trim();
    match verb {
        "set" => match parse_rules(rest, "set") {
            Ok(rules) if !rules.is_empty() => Ok(Command::Set(rules)),
            Ok(_) => Err(ControlError::NoRule),
            Err(e) => Err(ControlError::Parse(e)),
        },
        "remove" => parse_key(rest).map(Command::Remove).map_err(ControlError::Parse),
        "wait" => parse_wait(rest),
        "powercut" => parse_powercut(rest),
        "clear" if rest.is_empty() => Ok(Command::Clear),
        "list" if rest.is_empty() => Ok(Command::List),
        "seed" if rest.is_empty() => Ok(Command::Seed),
        "clear" | "list" | "seed" => Err(ControlError::TakesNoArgument(verb.to_string())),
        _ => Err(ControlError::Unknown(verb.to_string())),
    }
}

/// `powercut [MODE]`: the words of a rule's `powercut(…)` (`torn dirs`, `prefix,sector=4096`).
fn parse_powercut(args: &str) -> Result<Command, ControlError> {
    crate::parse::cut::parse_cut(args)
        .map(|cut| Command::Powercut { cut })
        .map_err(|e| ControlError::PowercutMode(one_line(args[e.at].trim()), e.message))
}

/// `wait KEY N [TIMEOUT_MS]`: the key may hold spaces only inside quotes, so N and the timeout
/// are the last words.
fn parse_wait(args: &str) -> Result<Command, ControlError> {
    let words: Vec<&str> = args.split_whitespace().collect();
    let number = |w: &str| w.parse::<u64>().ok();
    let (key, n, timeout_ms) = match words.as_slice() {
        [key @ .., n, t] if !key.is_empty() && number(n).is_some() && number(t).is_some() => {
            (key.join(" "), number(n).unwrap_or(0), number(t).unwrap_or(0))
        }
        [key @ .., n] if !key.is_empty() && number(n).is_some() => {
            (key.join(" "), number(n).unwrap_or(0), DEFAULT_WAIT_MS)
        }
        _ => return Err(ControlError::WaitUsage),
    };
    let key = parse_key(&key).map_err(ControlError::Parse)?;
    Ok(Command::Wait { key, n, timeout_ms })
}

/// The reply to a command that could not be parsed.
pub fn error_reply(reason: &str) -> String {
    format!("err {}\n", one_line(reason))
}

/// Applies a command to `registry` and returns the reply. `wait` is answered as if its
/// timeout had already passed (it does not block here): the server waits with
/// [`wait_target`] and [`wait_check`] instead.
pub fn apply(command: Command, registry: &mut Registry) -> String {
    match command {
        Command::Set(rules) => {
            let keys: Vec<String> = rules.iter().map(Rule::key).collect();
            for rule in rules {
                registry.set(rule);
            }
            format!("ok {}\n", one_line(&keys.join(" ")))
        }
        Command::Remove(key) => match registry.remove(&key) {
            Ok(true) => format!("ok removed {}\n", one_line(&key)),
            Ok(false) => format!("err no rule has the key {}\n", one_line(&key)),
            Err(e) => error_reply(&e.to_string()),
        },
        Command::Clear => {
            registry.clear();
            "ok\n".into()
        }
        other => read(&other, registry),
    }
}

/// Answers a command that only reads the registry (`list`, `seed`, and `wait` as if its
/// timeout had passed). A command that changes the registry gets an `err`: use [`apply`].
pub fn read(command: &Command, registry: &Registry) -> String {
    match command {
        Command::List => {
            let list = registry.list();
            let mut s: String = list
                .iter()
                .map(|r| {
                    format!(
                        "{}\t{}\t{}\t{}\n",
                        key_field(&r.key),
                        field(&r.actions),
                        r.matches,
                        r.injections
                    )
                })
                .collect();
            s.push_str(&format!("ok {} rules\n", list.len()));
            s
        }
        Command::Seed => format!("{}\nok\n", registry.seed()),
        Command::Wait { key, n, timeout_ms } => match wait_target(key, registry) {
            Ok(state) => wait_check(key, *n, *timeout_ms, &state, true).unwrap_or_default(),
            Err(reply) => reply,
        },
        Command::Set(_) | Command::Remove(_) | Command::Clear => {
            "err this command changes the rules\n".into()
        }
        Command::Powercut { .. } => {
            "err only a process under libfailinject.so can cut its power\n".into()
        }
    }
}

/// Parses and answers one line against `registry`: [`parse_line`], then [`apply`]. `None`
/// for a blank line. (The preload does the same, but takes its registry's lock only for
/// commands that change it, and really waits for `wait`.)
pub fn respond(line: &[u8], registry: &mut Registry) -> Option<String> {
    Some(match parse_line(line)? {
        Ok(command) => apply(command, registry),
        Err(reason) => error_reply(&reason.to_string()),
    })
}

/// The counters `wait KEY` watches, or the `err` reply when no rule has the key.
pub fn wait_target(key: &str, registry: &Registry) -> Result<Arc<RuleState>, String> {
    registry
        .state(key)
        .cloned()
        .ok_or_else(|| format!("err no rule has the key {}\n", one_line(key)))
}

/// One look at a waited-for rule: the final reply once it has injected `n` times, was
/// replaced or removed, or `timed_out` is set; `None` while the wait goes on.
pub fn wait_check(
    key: &str,
    n: u64,
    timeout_ms: u64,
    state: &RuleState,
    timed_out: bool,
) -> Option<String> {
    let key = one_line(key);
    let got = state.injections();
    if got >= n {
        Some(format!("ok {key} injected {got}\n"))
    } else if state.is_retired() {
        Some(format!("err {key} was replaced or removed after {got} injections\n"))
    } else if timed_out {
        Some(format!("err timeout after {timeout_ms} ms: {key} injected {got} of {n}\n"))
    } else {
        None
    }
}
