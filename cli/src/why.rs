//! Why a rule never fired (issue 18): the clues a run's log holds, and the one line the
//! summary prints under each rule that matched nothing.
//!
//! The preload writes them (`preload/src/nearmiss.rs`): in each rule's entry of the `exit`
//! record, its first near miss (`near`: a call of its own function on fd 0–2, another
//! function of its class on a file it accepts, or a shared writable mapping of such a file:
//! a write through another function wins, then a mapping, then any other function);
//! in the record, `unseen` (an io_uring ring or
//! an AIO context, I/O no wrapper sees); and `exec`/`spawn` records naming the programs a
//! process started, so that one that never wrote a `start` record is known to be out of the
//! preload's reach. The most telling clue wins: a near miss names the fix, unseen I/O or an
//! unreached program says where the calls went, and a Rust program without fail points
//! compiled in explains an in-code rule that matched nothing.
#![forbid(unsafe_code)]

use failinject_engine::points::{Class, PointId};
use failinject_engine::{NearMiss, Points, parse_rule};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

/// One rule's first near miss.
#[derive(Debug, Clone, PartialEq)]
pub struct Near {
    /// `stdstream` or `sibling`.
    pub cause: String,
    /// The function called (canonical name).
    pub point: String,
    pub fd: i64,
    pub path: String,
    pub pid: i64,
}

/// What a run's log says about the rules that never fired.
#[derive(Debug, Default)]
pub struct Clues {
    /// The first near miss of each rule (by its row in the summary).
    near: HashMap<usize, Near>,
    /// I/O no wrapper sees: (`io_uring` or `aio`, pid).
    unseen: BTreeSet<(String, i64)>,
    /// Each process's program (file name of its `exe`).
    exes: HashMap<i64, String>,
    /// Every program that ran under the preload (its `exe`), for the Go check.
    exe_paths: BTreeMap<String, i64>,
    /// A process's exec not yet followed by anything of the new program.
    execs: HashMap<i64, String>,
    /// `posix_spawn` children: child pid → (parent pid, program).
    spawns: BTreeMap<i64, (i64, String)>,
    started: BTreeSet<i64>,
    /// Programs that never wrote a record: (the process that started them, the program).
    unreached: Vec<(i64, String)>,
    /// The command's program, for the Rust check.
    pub program: Option<PathBuf>,
    /// The run was under the seccomp backend: every process was reached, and the clues of
    /// the preload's reach do not apply.
    pub seccomp: bool,
    /// Under the seccomp backend, the calls that set up asynchronous I/O and were turned away
    /// with ENOSYS (`io_uring_setup`, `io_setup`).
    pub turned_away: Vec<&'static str>,
}

impl Clues {
    /// A `start` record: the program of `pid`, and the exec that led to it, if any, reached.
    pub fn started(&mut self, pid: i64, record: &serde_json::Map<String, Value>) {
        self.started.insert(pid);
        self.execs.remove(&pid);
        if let Some(exe) = record.get("exe").and_then(Value::as_str) {
            self.exes.insert(pid, file_name(exe).to_string());
            self.exe_paths.entry(exe.to_string()).or_insert(pid);
        }
    }

    /// Any record: `exec`, `spawn` and `exit` records carry clues; anything else a process
    /// writes after an `exec` record means that exec failed.
    pub fn record(
        &mut self,
        pid: i64,
        kind: Option<&str>,
        record: &serde_json::Map<String, Value>,
    ) {
        let path = || record.get("path").and_then(Value::as_str).unwrap_or("").to_string();
        match kind {
            Some("exec") => {
                self.execs.insert(pid, path());
            }
            Some("spawn") => {
                let child = record.get("child").and_then(Value::as_i64).unwrap_or(0);
                self.spawns.insert(child, (pid, path()));
            }
            Some("start") => {}
            _ => {
                self.execs.remove(&pid);
            }
        }
        if kind == Some("exit") {
            for u in record.get("unseen").and_then(Value::as_array).into_iter().flatten() {
                if let Some(u) = u.as_str() {
                    self.unseen.insert((u.to_string(), pid));
                }
            }
        }
    }

    /// A rule's entry of an exit record: its near miss, if it has one and none was kept yet
    /// (a sibling, which names the fix, wins over a standard stream).
    pub fn near_miss(&mut self, row: usize, pid: i64, entry: &Value) {
        let Some(cause) = entry.get("near").and_then(Value::as_str) else { return };
        let s = |k: &str| entry.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        let near = Near {
            cause: cause.to_string(),
            point: s("near_point"),
            fd: entry.get("near_fd").and_then(Value::as_i64).unwrap_or(-1),
            path: s("near_path"),
            pid,
        };
        // The most telling one (`NearMiss::rank`), as the preload keeps it.
        let rank = |n: &Near| {
            let point = PointId::from_name(&n.point);
            NearMiss::from_name(&n.cause).zip(point).map_or(0, |(n, p)| n.rank(p))
        };
        let keep = self.near.get(&row).is_none_or(|old| rank(old) < rank(&near));
        if keep {
            self.near.insert(row, near);
        }
    }

    /// The programs started by a process that never wrote a record (after the whole log).
    fn finish_unreached(&self) -> Vec<(i64, String)> {
        let mut out: Vec<(i64, String)> =
            self.execs.iter().map(|(&p, path)| (p, path.clone())).collect();
        for (child, (parent, path)) in &self.spawns {
            if !self.started.contains(child) {
                out.push((*parent, path.clone()));
            }
        }
        out.sort();
        out.dedup();
        out.extend(self.unreached.iter().cloned());
        out
    }

    /// The program of `pid` as the summary names it: `` `cp` ``, or `process 42` for one
    /// that wrote no start record (a `vfork` child).
    fn who(&self, pid: i64) -> String {
        self.exes.get(&pid).map_or_else(|| format!("process {pid}"), |e| format!("`{e}`"))
    }

    /// Warnings for the programs the run started that the preload did not reach.
    pub fn unreached_lines(&self) -> Vec<String> {
        self.finish_unreached()
            .into_iter()
            .map(|(parent, path)| {
                let (shown, why) = unreachable(&path);
                format!("{} started {shown}, which no fault reaches: {why}", self.who(parent))
            })
            .collect()
    }

    /// The cause under the seccomp backend, which reaches every process but sees system calls
    /// only.
    fn why_seccomp(&self, code: bool) -> String {
        if code {
            return "in-code points are not seen by the seccomp backend (a Go program's gofail \
                    points are handed to gofail)"
                .into();
        }
        if !self.turned_away.is_empty() {
            return format!(
                "the program's {} failed with ENOSYS (the seccomp backend turns asynchronous I/O \
                 away) and it did not fall back to calls the rule names: it gave up or did its \
                 I/O otherwise",
                self.turned_away.join(" and ")
            );
        }
        "no system call standing for the rule's functions was made on a file its filters \
         accept (`failinject check --backend seccomp` names the calls it traps)"
            .into()
    }

    /// The cause, in one line, of rule `row` (written `text`) having matched nothing.
    pub fn why(&self, row: usize, text: &str) -> String {
        // I/O through io_uring or AIO says more than another function's call on the file
        // (fio stats its file, then writes through its ring).
        let unseen = self.unseen.iter().next();
        if let Some(n) = self
            .near
            .get(&row)
            .filter(|n| unseen.is_none() || matches!(n.cause.as_str(), "stdstream" | "sharedmap"))
        {
            let who = self.who(n.pid);
            let file = if n.path.is_empty() { format!("fd {}", n.fd) } else { shown(&n.path) };
            if n.cause == "stdstream" {
                let fix = with_filter(text, "kind=file");
                return format!(
                    "{who} {} {file} through its fd {}, which a rule without a path, fd or \
                     kind filter never matches: add `kind=file`: `{fix}`",
                    verb(&n.point),
                    n.fd
                );
            }
            if n.cause == "sharedmap" {
                return format!(
                    "{who} mapped {file} shared and writable (mmap), and writes through memory \
                     pass no libc function: the preload cannot fail them (a `powercut` rule \
                     still rolls them back)"
                );
            }
            let fix = widened(text, &n.point);
            return format!(
                "{who} {} {file} through `{}`, which this rule does not name: try `{fix}`",
                verb(&n.point),
                n.point
            );
        }
        if let Some((kind, pid)) = unseen {
            let how = if kind == "io_uring" { "io_uring" } else { "Linux AIO (io_submit)" };
            return format!(
                "{} did I/O through {how}, which no libc wrapper sees (the preload cannot \
                 inject there); try --backend seccomp, under which its setup fails with ENOSYS \
                 so that a program that can fall back to plain calls does",
                self.who(*pid)
            );
        }
        if self.seccomp {
            let code = parse_rule(text).is_ok_and(|r| matches!(r.points, Points::Code(_)));
            return self.why_seccomp(code);
        }
        if let Some((parent, path)) = self.finish_unreached().first() {
            let (shown, why) = unreachable(path);
            return format!(
                "{} started {shown}, which no fault reaches: {why}; try --backend seccomp, \
                 which traps every process of the run",
                self.who(*parent)
            );
        }
        let code = parse_rule(text).is_ok_and(|r| matches!(r.points, Points::Code(_)));
        // The command itself out of the preload's reach (a static Go program, `cc -static`):
        // `run` warned before it started; the rule's line says so too.
        if let Some(program) = &self.program
            && let Some(path) = crate::reach::resolve(program)
            && let Some(why) = crate::reach::unreachable_reason(&path)
        {
            let go = if crate::reach::is_go(&path) { " (a Go program)" } else { "" };
            return format!(
                "the command {}{go} is out of the preload's reach: {why}; try --backend seccomp",
                shown(&path.to_string_lossy())
            );
        }
        if !code
            && let Some((exe, pid)) =
                self.exe_paths.iter().find(|(exe, _)| crate::reach::is_go(Path::new(exe)))
        {
            return format!(
                "{} is a Go program ({exe}): the Go runtime makes its system calls itself, so \
                 the preload sees only the calls of its C code; try --backend seccomp",
                self.who(*pid)
            );
        }
        if code
            && let Some(program) = &self.program
            && let Some(why) = no_fail_points(program)
        {
            return why;
        }
        if code {
            return "no process reached this fail point: is it on the path the run took, and \
                    was the program built with the `failpoints` feature?"
                .into();
        }
        "no call to the rule's functions, or to another function of their class, was made on \
         a file its filters accept (`failinject check` shows what it matches)"
            .into()
    }
}

/// A path as the summary shows it: its file name, or the whole path when it is short.
fn shown(path: &str) -> String {
    if path.len() <= 40 { path.to_string() } else { file_name(path).to_string() }
}

fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// How a call of `point` acted on its file, as a verb.
fn verb(point: &str) -> &'static str {
    let Some(p) = PointId::from_name(point) else { return "reached" };
    let classes = p.info().classes;
    match () {
        _ if classes.contains(Class::Write) => "wrote",
        _ if classes.contains(Class::Read) => "read",
        _ if classes.contains(Class::Open) => "opened",
        _ if classes.contains(Class::Sync) => "synced",
        _ if classes.contains(Class::Close) => "closed",
        _ => "reached",
    }
}

/// `text` with `filter` added to its filters.
fn with_filter(text: &str, filter: &str) -> String {
    let head_end = text.find(['[', '=']).unwrap_or(text.len());
    if text[head_end..].starts_with('[')
        && let Some(close) = text.find(']')
    {
        return format!("{},{filter}{}", &text[..close], &text[close..]);
    }
    format!("{}[{filter}]{}", &text[..head_end], &text[head_end..])
}

/// `text` with its point widened to the class it shares with `near` (`sys:@write`), or with
/// `near` added (`sys:write|copy_file_range`) when no class rule parses.
fn widened(text: &str, near: &str) -> String {
    let head_end = text.find(['[', '=']).unwrap_or(text.len());
    let rest = &text[head_end..];
    let near_classes = PointId::from_name(near).map(|p| p.info().classes);
    if let (Ok(rule), Some(near_classes)) = (parse_rule(text), near_classes)
        && let Points::Sys(sys) = &rule.points
    {
        let shared = sys
            .set
            .iter()
            .flat_map(|p| p.info().classes.iter())
            .filter(|c| near_classes.contains(*c))
            .min_by_key(|c| *c == Class::Stdio);
        if let Some(class) = shared {
            let candidate = format!("sys:@{}{rest}", class.name());
            if parse_rule(&candidate).is_ok() {
                return candidate;
            }
        }
    }
    format!("{}|{near}{rest}", &text[..head_end])
}

/// A program the preload did not reach, as shown, and why.
fn unreachable(path: &str) -> (String, String) {
    let p = Path::new(path);
    // An exec by name was resolved against the current directory by the preload; the
    // program is then on PATH.
    let resolved = if p.exists() {
        Some(p.to_path_buf())
    } else {
        crate::reach::resolve(Path::new(file_name(path)))
    };
    let why = resolved
        .as_deref()
        .and_then(crate::reach::unreachable_reason)
        .unwrap_or_else(|| "it wrote no record (LD_PRELOAD removed from its environment?)".into());
    (path.to_string(), why)
}

/// Why a Rust program has no fail points compiled in, if it is one.
fn no_fail_points(program: &Path) -> Option<String> {
    let path = crate::reach::resolve(program)?;
    let bytes = std::fs::read(&path).ok()?;
    let has = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
    let rust = has(b"rust_begin_unwind") || has(b"/rustc/");
    if rust && !has(b"failinject_v1_eval") {
        let name = file_name(&path.to_string_lossy()).to_string();
        return Some(format!(
            "`{name}` is a Rust program built without fail points: build it with the \
             `failpoints` feature of `failinject` (as fail-rs, it is off by default)"
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixes_are_rules_that_parse() {
        assert_eq!(
            widened("sys:write[path=*/copy.iso]=full(1M)", "copy_file_range"),
            "sys:@write[path=*/copy.iso]=full(1M)"
        );
        assert_eq!(
            with_filter("sys:write=error(EIO)", "kind=file"),
            "sys:write[kind=file]=error(EIO)"
        );
        assert_eq!(
            with_filter("sys:write[when=2]=error(EIO)", "kind=file"),
            "sys:write[when=2,kind=file]=error(EIO)"
        );
        for t in [
            widened("sys:open[path=*/x]=error(EACCES)", "openat"),
            widened("sys:fsync=error(EIO)", "fdatasync"),
        ] {
            assert!(parse_rule(&t).is_ok(), "{t}");
        }
    }

    #[test]
    fn a_sibling_wins_over_a_standard_stream() {
        let mut c = Clues::default();
        let stream = serde_json::json!({"near":"stdstream","near_point":"write","near_fd":1,"near_path":"/t/out"});
        let sibling = serde_json::json!({"near":"sibling","near_point":"pwrite","near_fd":3,"near_path":"/t/out"});
        c.near_miss(0, 5, &stream);
        c.near_miss(0, 5, &sibling);
        c.near_miss(0, 5, &stream);
        assert_eq!(c.near[&0].point, "pwrite");
        let why = c.why(0, "sys:write=error(EIO)");
        assert!(why.contains("through `pwrite`"), "{why}");
        assert!(why.contains("try `sys:@write=error(EIO)`"), "{why}");
    }
}
