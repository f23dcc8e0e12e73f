//! What the seccomp backend can do with a set of rules, decided before the program starts:
//! which rules it refuses (and why, in words a user can act on), how the others' points are
//! widened to the system calls that stand for them, and which calls the filter traps.
//!
//! A filter cannot change once installed, so everything a rule may need is trapped up
//! front; a call that is not trapped costs the program nothing.
#![forbid(unsafe_code)]

use super::table::{self, Call};
use failinject_engine::{Filter, PointId, PointSet, Points, Rule, Task};

/// What the backend was asked for besides the rules.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `--allow-io-uring`: `io_uring_setup` is not failed with `ENOSYS`.
    pub allow_io_uring: bool,
    /// `--allow-aio`: `io_setup` is not failed with `ENOSYS`.
    pub allow_aio: bool,
    /// Calls may be made on the program's behalf (Linux 5.19's killable wait).
    pub killable: bool,
    /// In-code rules are carried out elsewhere (a Go program's gofail runtime): they are
    /// left out of the plan rather than refused.
    pub code_elsewhere: bool,
    /// With a control socket: the points whose calls are trapped besides the rules' own, so
    /// that rules set while the run runs can act on them (`--trap`).
    pub trap: Option<PointSet>,
    /// Every change is recorded into this directory (`FAILINJECT_CHANGES`, explore's crash
    /// search): tracked as with `powercut(dirs)`.
    pub record_changes: Option<std::path::PathBuf>,
}

/// The rules as the supervisor decides them, and what the filter traps.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The rules, each point set widened to the calls' points.
    pub rules: Vec<Rule>,
    /// The system calls the filter sends to the supervisor.
    pub trapped: Vec<i64>,
    /// A `powercut` or `lose` rule: every change to file data, by every process, is tracked
    /// (`crash.rs`).
    pub tracking: bool,
    /// A `powercut(dirs)` rule: directory entries are journaled too.
    pub dirs: bool,
    /// A cut that keeps some changes (`prefix`, `any`, `torn`): what each change left is
    /// kept, so writes are made on the program's behalf (their count known).
    pub keeps: bool,
    /// A `powercut(keep=ID)` rule: changes are counted as explore's recording counted them.
    pub replay: bool,
    /// The options it was made with.
    pub options: Options,
}

/// Fits `rules` to the backend: every refusal, one line each, or the plan.
pub fn plan(rules: &[Rule], opts: Options) -> Result<Plan, Vec<String>> {
    build(rules, opts, false).map(|(p, _)| p)
}

/// The plan for static programs the preload hands over at `exec`: the rules the backend
/// cannot carry out are left out (the preload carries them out in the other processes), and
/// so are power cuts and lost writes, whose crash model is the preload's. With the rules
/// left out, and why.
pub fn lenient(rules: &[Rule], opts: Options) -> (Plan, Vec<String>) {
    let kept: Vec<Rule> = rules
        .iter()
        .filter(|r| !r.chain.iter().any(|a| matches!(a.task, Task::Powercut(_) | Task::Lose(..))))
        .cloned()
        .collect();
    let mut left: Vec<String> = rules
        .iter()
        .filter(|r| !kept.iter().any(|k| k.key() == r.key()))
        .map(|r| format!("`{r}`: power cuts in handed-over programs are not tracked"))
        .collect();
    let (plan, more) = build(&kept, opts, true).expect("a lenient plan refuses nothing");
    left.extend(more);
    (plan, left)
}

fn build(rules: &[Rule], opts: Options, lenient: bool) -> Result<(Plan, Vec<String>), Vec<String>> {
    let mut refused = Vec::new();
    let mut fitted = Vec::new();
    let mut trapped: Vec<i64> = Vec::new();
    for rule in rules {
        if opts.code_elsewhere && matches!(rule.points, Points::Code(_)) {
            continue;
        }
        match fit(rule, &opts) {
            Ok((r, calls)) => {
                trapped.extend(calls.iter().map(|c| c.nr));
                fitted.push(r);
            }
            Err(why) => refused.push(format!("`{rule}`: {why}")),
        }
    }
    if !refused.is_empty() && !lenient {
        return Err(refused);
    }
    if let Some(set) = &opts.trap {
        for p in set.iter() {
            trapped.extend(table::calls_of(p.info().name).map(|c| c.nr));
        }
    }
    // Old bytes must be saved before any write of any process, whatever the rules match.
    let tracking = opts.record_changes.is_some()
        || fitted
            .iter()
            .any(|r| r.chain.iter().any(|a| matches!(a.task, Task::Powercut(_) | Task::Lose(..))));
    let dirs = opts.record_changes.is_some()
        || fitted
            .iter()
            .any(|r| r.chain.iter().any(|a| matches!(&a.task, Task::Powercut(c) if c.dirs)));
    let cut = |f: &dyn Fn(&failinject_engine::Cut) -> bool| {
        fitted.iter().flat_map(|r| &r.chain).any(|a| matches!(&a.task, Task::Powercut(c) if f(c)))
    };
    let keeps = cut(&|c| c.mode.keeps_changes());
    let replay = cut(&|c| c.keep.is_some());
    if opts.record_changes.is_some() && !opts.killable {
        refused.push(
            "explore's crash search: the recording makes writes on the program's behalf, which \
             needs Linux 5.19 (SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV); this kernel is older"
                .to_string(),
        );
        if !lenient {
            return Err(refused);
        }
    }
    if tracking {
        for point in super::crash::TRACKED {
            trapped.extend(table::calls_of(point).map(|c| c.nr));
        }
    }
    if dirs {
        for point in super::crash::TRACKED_DIRS {
            trapped.extend(table::calls_of(point).map(|c| c.nr));
        }
    }
    // An exec starts a new program image: its counters start afresh, as under the preload.
    trapped.extend(table::calls_of("execve").chain(table::calls_of("execveat")).map(|c| c.nr));
    if !opts.allow_io_uring {
        trapped.push(table::IO_URING_SETUP);
    }
    if !opts.allow_aio {
        trapped.push(table::IO_SETUP);
    }
    trapped.sort_unstable();
    trapped.dedup();
    Ok((Plan { rules: fitted, trapped, tracking, dirs, keeps, replay, options: opts }, refused))
}

/// Whether the backend carries out `rule` on a kernel with every ability: the names of the
/// system calls it traps for it, or why it refuses it (`points --json`, `check`).
pub fn accepts(rule: &Rule) -> Result<Vec<&'static str>, String> {
    let opts = Options { killable: true, ..Options::default() };
    fit(rule, &opts).map(|(_, calls)| {
        let mut names: Vec<&str> = calls.iter().map(|c| c.name).collect();
        names.sort_unstable();
        names.dedup();
        names
    })
}

/// The filters the backend takes (all but those that need the library in the process).
pub const FILTERS: &[&str] = &["path", "fd", "kind", "when", "size", "exe", "proc"];

/// One rule under the backend: the rule with its points widened, and the calls it traps.
/// A rule set over the control socket while the run runs: the rule fitted, or why it is
/// refused (its calls must be among those the filter traps).
pub fn fit_later(rule: &Rule, plan_trapped: &[i64], opts: &Options) -> Result<Rule, String> {
    let (fitted, calls) = fit(rule, opts)?;
    if let Some(c) = calls.iter().find(|c| !plan_trapped.contains(&c.nr)) {
        return Err(format!(
            "not trapped: the filter, fixed at start, does not trap `{}`; restart with --trap \
             naming its class (default @write|@sync|@meta)",
            c.name
        ));
    }
    Ok(fitted)
}

fn fit(rule: &Rule, opts: &Options) -> Result<(Rule, Vec<&'static Call>), String> {
    let Points::Sys(points) = &rule.points else {
        return Err("an in-code point lives in the program's library, which this backend does \
                    not load; run a program built with fail points under --backend preload (a \
                    Go program's gofail points are handed to gofail instead)"
            .into());
    };
    for f in &rule.filters {
        let name = match f {
            Filter::Site(_) => "site=",
            Filter::Within(_) => "within=",
            Filter::After(_) => "after=",
            _ => continue,
        };
        return Err(format!(
            "`{name}` needs the library inside the process (call sites and scopes are seen \
             there); use --backend preload"
        ));
    }
    for a in &rule.chain {
        match &a.task {
            Task::Powercut(cut) if cut.mode.keeps_changes() && !opts.killable => {
                return Err(format!(
                    "`{}` keeps some unsynced changes, so each write's count must be known: \
                     the supervisor makes writes on the program's behalf, which needs Linux \
                     5.19 (SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV); this kernel is older",
                    a.task
                ));
            }
            Task::Short(_) | Task::Corrupt(_) | Task::Full(_) if !opts.killable => {
                return Err(format!(
                    "`{}` makes the call on the program's behalf, which needs Linux 5.19 \
                     (SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV) so that a signal cannot make the \
                     kernel repeat it; this kernel is older",
                    a.task.name()
                ));
            }
            _ => {}
        }
    }
    // Points named one by one must have calls of their own; a class keeps those that do.
    for item in &points.items {
        if let failinject_engine::SysItem::Point(p) = item {
            let name = p.info().name;
            if let Some(use_instead) = table::instead(name) {
                return Err(format!(
                    "`sys:{name}` makes no system call of its own, so this backend cannot see it; \
                     use {use_instead}"
                ));
            }
        }
    }
    let fails = rule.chain.iter().any(|a| matches!(a.task, Task::Error(_)));
    let mut set = PointSet::default();
    let mut calls = Vec::new();
    for p in points.set.iter() {
        let name = p.info().name;
        // A failed close still releases the descriptor (SPEC §3.2); the supervisor cannot
        // release a descriptor of the program's, so it does not fail one.
        if fails && matches!(name, "close" | "close_range") {
            if points.items.contains(&failinject_engine::SysItem::Point(p)) {
                return Err(format!(
                    "`error` on `{name}` must still release the descriptor, which only the \
                     program can do; this backend cannot fail it"
                ));
            }
            continue;
        }
        for c in table::calls_of(name) {
            set.insert(PointId::from_name(c.point).expect("the table names real points"));
            calls.push(c);
        }
    }
    if set.is_empty() {
        return Err("none of its points makes a system call of its own".into());
    }
    let mut widened = rule.clone();
    if let Points::Sys(s) = &mut widened.points {
        s.set = set;
    }
    Ok((widened, calls))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str, killable: bool) -> Result<Plan, Vec<String>> {
        let rules = failinject_engine::parse_rules(text, "test").unwrap();
        plan(&rules, Options { killable, ..Options::default() })
    }

    #[test]
    fn a_rule_traps_only_its_own_calls() {
        let p = one("sys:fsync=error(EIO)", true).unwrap();
        let fsync = libc::SYS_fsync;
        assert!(p.trapped.contains(&fsync));
        assert!(!p.trapped.contains(&libc::SYS_write));
        assert!(p.trapped.contains(&table::IO_URING_SETUP));
        let open = one("sys:open=error(EACCES)", true).unwrap();
        assert!(open.trapped.contains(&libc::SYS_openat), "glibc's open is openat");
        let Points::Sys(s) = &open.rules[0].points else { panic!() };
        assert!(s.set.contains(PointId::from_name("openat").unwrap()));
        // The key and the text stay as the user wrote them.
        assert_eq!(open.rules[0].to_string(), "sys:open=error(EACCES)");
    }

    #[test]
    fn what_needs_the_library_is_refused_with_what_to_do() {
        let e = one("sys:fwrite=error(EIO)", true).unwrap_err();
        assert!(e[0].contains("use sys:write|writev"), "{e:?}");
        let e = one("sys:write[site=ab12]=error(EIO)", true).unwrap_err();
        assert!(e[0].contains("`site=` needs the library"), "{e:?}");
        let e = one("wal::append=return", true).unwrap_err();
        assert!(e[0].contains("in-code point"), "{e:?}");
        let e = one("sys:write=short(10)", false).unwrap_err();
        assert!(e[0].contains("Linux 5.19"), "{e:?}");
        let e = one("sys:close=error(EIO)", true).unwrap_err();
        assert!(e[0].contains("release the descriptor"), "{e:?}");
        // A class keeps the points it can: @write without fwrite, @close without close.
        assert!(one("sys:@write=error(EIO)", true).is_ok());
        assert!(one("sys:@close=error(EIO)", true).is_err(), "nothing of @close is left");
        assert!(one("sys:@stdio=error(EIO)", true).is_err());
    }
}
