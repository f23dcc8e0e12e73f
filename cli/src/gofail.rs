//! gofail's fail points under the one configuration: a Go program's in-code rules, handed to
//! it in gofail's own form.
//!
//! Go programs get their fail points from etcd's [gofail]: a comment `// gofail: var saveFail
//! struct{}` (with the code to run below it, commented out) becomes real code when the tool
//! `gofail enable` rewrites the package, and the runtime (`go.etcd.io/gofail/runtime`) reads
//! the environment variable `GOFAIL_FAILPOINTS`, `name=terms;name2=terms`, when the program
//! starts. No library is loaded into the program for this: it works for the static binaries
//! the preload never reaches.
//!
//! `failinject run` sets `GOFAIL_FAILPOINTS` when its command is a Go program
//! ([`crate::reach::is_go`]) and there are in-code rules; every other command is left as it
//! was (its in-code rules go to the preload alone, as always). What follows is what Debian 12's
//! gofail (`golang-github-etcd-io-gofail-dev`, a 2022 snapshot) does, read from its sources.
//!
//! **The name.** A point is registered as `PKGPATH/name`: the package's directory below
//! `$GOPATH/src` (when `gofail enable` ran) and the variable's name, as in
//! `go.etcd.io/etcd/server/etcdserver/raftBeforeSave`. Rules name the point that way and are
//! handed over under their name as written. This gofail writes the package clause of its
//! generated file from the directory's base name, so a `package main` must sit in a directory
//! called `main` (its points are then `main/NAME`).
//!
//! **The terms.** gofail's grammar is fail-rs's: `[P%][N*]task[(value)]` joined by `->`, with
//! the same meaning (the first action whose roll and count allow it is taken; a count is
//! spent only when its action is). Its tasks are `off`, `return`, `sleep`, `panic`, `print`
//! (and `break`, which starts gdb, never written here). The translation, action by action:
//!
//! | failinject | gofail | why |
//! |---|---|---|
//! | `25%` | `25.0%` | gofail reads a probability only with a decimal point (`25%` fails to parse) |
//! | `3*` | `3*` | after the probability, so a failed roll spends no count, as in fail-rs |
//! | `off` | `off` | |
//! | `return` | `return()` | `struct{}`; gofail reads a bare `return` as no value at all (the point stays off) unless it ends the terms |
//! | `return(7)`, `return(-1)` | `return(7)` | an `int` |
//! | `return(true)` | `return(true)` | a `bool` |
//! | `return("x")`, `return(x)` | `return("x")` | a `string`: failinject's parser drops the quotes (both are the value `x`), gofail needs them |
//! | `return("\"1\"")` | `return("1")` | the string `1`: a value already in gofail's quotes is passed as it is |
//! | `return("")` (also written `return()`) | `return("")` | the empty string |
//! | `sleep(ms)` | `sleep(ms)` | milliseconds both |
//! | `panic(msg)` | `panic("msg")` | the goroutine panics with `failpoint panic: msg` |
//! | `panic` | `panic("NAME")` | `failpoint panic: NAME`, gofail's own message for a bare panic |
//! | `print(msg)` | `print` | gofail prints its own line, `failpoint print: NAME`, on stdout |
//!
//! So a value is handed over as failinject prints it (`failinject check`), with the quotes
//! gofail needs added: a value that reads as a Go integer or `true`/`false` is one.
//!
//! **Refused.** For a Go program an in-code rule that gofail cannot carry ends the run with
//! status 2 before it starts, like a bad rule, never silently ignored: a task gofail lacks
//! (`pause`, `yield`, `delay`, `kill`, `powercut`), any filter (`when=`, `after=`, `within=`:
//! gofail has none), and a value gofail cannot read back: one with `;` or `=` (which split
//! `GOFAIL_FAILPOINTS`), or a `"`, `\` or newline in a string (gofail measures a quoted value by
//! its unquoted length, so no escape survives).
//!
//! **Randomness.** A probability is rolled by Go's `math/rand`, not by failinject's seed:
//! `--seed` does not repeat it (Go before 1.20 seeds `math/rand` with 1 unless the program
//! seeds it, so there a run repeats anyway).
//!
//! **Hits.** This runtime keeps no hit counter (later gofail releases serve one over
//! `GOFAIL_HTTP`; this one serves only the terms), so the summary says `hits unknown` for
//! these rules instead of warning that they never injected.
//!
//! **A `GOFAIL_FAILPOINTS` already set** is merged: its entries come first, but an entry for a
//! point that a rule names is replaced by the rule's (one configuration, the rules win);
//! empty entries, which make gofail exit, are dropped.
//!
//! [gofail]: https://github.com/etcd-io/gofail
#![forbid(unsafe_code)]

use crate::rules::BadRules;
use failinject_engine::{Action, Points, Rule, Task};
use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fmt;
use std::path::Path;

/// The variable gofail's runtime reads its fail points from.
pub const VAR: &str = "GOFAIL_FAILPOINTS";

/// What the summary says of a rule handed to gofail, instead of counts.
pub const NO_COUNTER: &str = "gofail runtime has no counter";

/// What gofail accepts, for the messages of refused rules.
const ACCEPTS: &str = "gofail takes `off`, `return`, `sleep(ms)`, `panic` and `print`, with `P%`, \
                       `N*` and `->`, and no filter";

/// An in-code rule that gofail cannot carry, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    /// The rule, canonical.
    pub rule: String,
    /// What gofail lacks.
    pub why: String,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "rule `{}` cannot be given to gofail, which runs the in-code points of this Go \
             program: {}\n  help: {ACCEPTS}",
            self.rule, self.why
        )
    }
}

/// One point's entry of `GOFAIL_FAILPOINTS`.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The point, as gofail registers it (`PKGPATH/name`); also the rule's key.
    pub name: String,
    /// Its terms in gofail's grammar.
    pub terms: String,
}

/// What a run hands to gofail.
#[derive(Debug, Default)]
pub struct Plan {
    /// The value of `GOFAIL_FAILPOINTS` to set, if any.
    pub value: Option<String>,
    /// The entries from the rules.
    pub entries: Vec<Entry>,
}

impl Plan {
    /// The plan for running `program` with `rules`, `existing` being the `GOFAIL_FAILPOINTS`
    /// of our environment: nothing unless the program is a Go program with in-code rules.
    /// Each refused rule is printed; any ends in a [`BadRules`] error (status 2).
    pub fn new(rules: &[Rule], program: &Path, existing: Option<&OsStr>) -> anyhow::Result<Plan> {
        // In-code rules first: finding out whether a program is Go reads it.
        let code = rules.iter().any(|r| matches!(r.points, Points::Code(_)));
        if !code || !crate::reach::resolve(program).is_some_and(|p| crate::reach::is_go(&p)) {
            return Ok(Plan::default());
        }
        let (entries, refused) = entries(rules);
        if !refused.is_empty() {
            for r in &refused {
                eprintln!("failinject: {r}\n");
            }
            return Err(BadRules(refused.len()).into());
        }
        let existing = match existing {
            None => None,
            Some(v) => Some(v.to_str().ok_or_else(|| {
                anyhow::anyhow!("{VAR} in the environment is not UTF-8; unset it or fix it")
            })?),
        };
        Ok(Plan { value: Some(merge(existing, &entries)), entries })
    }

    /// Sets the variable on the command, and says so unless `quiet`.
    pub fn apply(&self, cmd: &mut std::process::Command, quiet: bool) {
        let Some(value) = &self.value else { return };
        cmd.env(VAR, value);
        if !quiet {
            eprintln!("failinject: in-code rules go to the Go program's gofail: {VAR}='{value}'");
        }
    }

    /// The keys of the rules whose hits the summary cannot count, with why.
    pub fn hits_unknown(&self) -> BTreeMap<String, String> {
        self.entries.iter().map(|e| (e.name.clone(), NO_COUNTER.to_string())).collect()
    }
}

/// The in-code rules in gofail's form, in the order given (a later rule for the same point
/// replaces an earlier one in its place, as it does in the registry), and the rules refused.
pub fn entries(rules: &[Rule]) -> (Vec<Entry>, Vec<Refusal>) {
    let mut out: Vec<Entry> = Vec::new();
    let mut refused = Vec::new();
    for rule in rules {
        let Points::Code(name) = &rule.points else { continue };
        match terms(rule, name) {
            Ok(terms) => match out.iter_mut().find(|e| e.name == *name) {
                Some(e) => e.terms = terms,
                None => out.push(Entry { name: name.clone(), terms }),
            },
            Err(why) => refused.push(Refusal { rule: rule.to_string(), why }),
        }
    }
    (out, refused)
}

/// The rule's chain in gofail's grammar.
fn terms(rule: &Rule, name: &str) -> Result<String, String> {
    if let Some(filter) = rule.filters.first() {
        return Err(format!("gofail's fail points take no filter, and this rule has `{filter}`"));
    }
    let actions: Result<Vec<String>, String> = rule.chain.iter().map(|a| action(a, name)).collect();
    Ok(actions?.join("->"))
}

fn action(a: &Action, name: &str) -> Result<String, String> {
    let mut s = String::new();
    if let Some(p) = a.percent {
        // gofail reads `25%` as a count missing its `*`: a probability needs its point.
        let p = p.to_string();
        s.push_str(&p);
        if !p.contains('.') {
            s.push_str(".0");
        }
        s.push('%');
    }
    if let Some(n) = a.count {
        s.push_str(&format!("{n}*"));
    }
    let task = match &a.task {
        Task::Off => "off".to_string(),
        Task::Return(None) => "return()".to_string(),
        Task::Return(Some(v)) => format!("return({})", value(v)?),
        Task::Sleep(ms) => format!("sleep({ms})"),
        Task::Panic(Some(msg)) => format!("panic({})", string(msg)?),
        Task::Panic(None) => match string(name) {
            Ok(quoted) => format!("panic({quoted})"),
            // gofail's own message for a bare `panic` is the point's name, at the end of the
            // terms `{}` instead: the quoted name is the same message, where it can be written.
            Err(_) => "panic".to_string(),
        },
        // gofail prints `failpoint print: NAME` and ignores a message.
        Task::Print(_) => "print".to_string(),
        other => {
            return Err(format!("gofail has no `{}` task", other.name()));
        }
    };
    s.push_str(&task);
    Ok(s)
}

/// A `return` value as gofail reads it: an integer, a boolean, or a quoted string.
fn value(v: &str) -> Result<String, String> {
    if is_go_int(v) || v == "true" || v == "false" {
        return Ok(v.to_string());
    }
    if let Some(inner) = v.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
        // Already in gofail's quotes (`return("\"1\"")`, the string 1).
        return string(inner);
    }
    string(v)
}

/// An integer that gofail's `%d` reads back to the same text: gofail measures the value by
/// printing it again, so `+1` and `007` would throw its parser off.
fn is_go_int(v: &str) -> bool {
    let digits = v.strip_prefix('-').unwrap_or(v);
    let canonical = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'))
        && v != "-0";
    canonical && v.parse::<i64>().is_ok()
}

/// `"s"`, when gofail can read it back: it takes the quoted value's length to be the
/// unquoted one plus the quotes, so no escape can be written.
fn string(s: &str) -> Result<String, String> {
    if let Some(c) = s.chars().find(|c| matches!(c, ';' | '=')) {
        return Err(format!(
            "the value `{s}` holds `{c}`, which splits {VAR} (`name=terms;name=terms`)"
        ));
    }
    if let Some(c) = s.chars().find(|c| matches!(c, '"' | '\\' | '\n')) {
        return Err(format!(
            "the value `{s}` holds {c:?}, which gofail cannot read back in a quoted string"
        ));
    }
    Ok(format!("\"{s}\""))
}

/// The user's entries (those of the points we do not set, in their order), then ours.
pub fn merge(existing: Option<&str>, ours: &[Entry]) -> String {
    let mut parts: Vec<String> = Vec::new();
    for entry in existing.unwrap_or("").split(';').filter(|e| !e.is_empty()) {
        let name = entry.split_once('=').map_or(entry, |(n, _)| n);
        if !ours.iter().any(|e| e.name == name) {
            parts.push(entry.to_string());
        }
    }
    parts.extend(ours.iter().map(|e| format!("{}={}", e.name, e.terms)));
    parts.join(";")
}

#[cfg(test)]
mod tests {
    use super::*;
    use failinject_engine::parse_rules;

    /// The gofail form of one rule, as the run hands it over.
    fn gofail(text: &str) -> Result<String, String> {
        let rules = parse_rules(text, "-r").unwrap_or_else(|e| panic!("{text}: {e}"));
        let (entries, refused) = entries(&rules);
        match (entries.as_slice(), refused.as_slice()) {
            ([e], []) => Ok(format!("{}={}", e.name, e.terms)),
            ([], [r]) => Err(r.to_string()),
            _ => panic!("{text}: {entries:?} {refused:?}"),
        }
    }

    #[test]
    fn values_are_written_as_gofail_reads_them() {
        // failinject's parser keeps `return("x")` as the value x, without its quotes: they
        // come back here, and only here.
        let rules = parse_rules(r#"main/v=return("x")"#, "-r").unwrap();
        assert_eq!(rules[0].chain[0].task, Task::Return(Some("x".into())));
        assert_eq!(gofail(r#"main/v=return("x")"#).unwrap(), r#"main/v=return("x")"#);
        assert_eq!(gofail("main/v=return(x)").unwrap(), r#"main/v=return("x")"#);
        assert_eq!(gofail(r#"main/v=return("a b->c")"#).unwrap(), r#"main/v=return("a b->c")"#);
        assert_eq!(gofail("main/v=return(héllo)").unwrap(), r#"main/v=return("héllo")"#);
        assert_eq!(gofail("main/v=return(1)").unwrap(), "main/v=return(1)");
        assert_eq!(gofail("main/v=return(-42)").unwrap(), "main/v=return(-42)");
        assert_eq!(gofail("main/v=return(true)").unwrap(), "main/v=return(true)");
        assert_eq!(gofail("main/v=return(false)").unwrap(), "main/v=return(false)");
        // Not gofail's integers (it would misread them): strings.
        assert_eq!(gofail("main/v=return(007)").unwrap(), r#"main/v=return("007")"#);
        assert_eq!(gofail("main/v=return(+1)").unwrap(), r#"main/v=return("+1")"#);
        assert_eq!(
            gofail("main/v=return(99999999999999999999)").unwrap(),
            r#"main/v=return("99999999999999999999")"#
        );
        // The string 1, in gofail's quotes inside failinject's.
        assert_eq!(gofail(r#"main/v=return("\"1\"")"#).unwrap(), r#"main/v=return("1")"#);
        // A bare return is struct{}, always with its parentheses.
        assert_eq!(gofail("main/saveFail=return").unwrap(), "main/saveFail=return()");
        assert_eq!(gofail(r#"main/v=return("")"#).unwrap(), r#"main/v=return("")"#);
    }

    #[test]
    fn the_round_trip_through_the_canonical_text_is_exact() {
        // What `failinject check` prints for the rule, parsed again, hands gofail the same.
        for text in [
            r#"main/v=return("x")"#,
            "main/v=return(1)",
            r#"main/v=return("\"1\"")"#,
            r#"main/v=return("")"#,
            "main/v=25%2*return(x)->off",
        ] {
            let canonical = parse_rules(text, "-r").unwrap()[0].to_string();
            assert_eq!(gofail(&canonical), gofail(text), "{text} → {canonical}");
        }
    }

    #[test]
    fn chains_probabilities_and_counts() {
        assert_eq!(gofail("p/a=50%return").unwrap(), "p/a=50.0%return()");
        assert_eq!(gofail("p/a=12.5%return").unwrap(), "p/a=12.5%return()");
        assert_eq!(gofail("p/a=10%3*sleep(20)").unwrap(), "p/a=10.0%3*sleep(20)");
        assert_eq!(
            gofail("p/a=2*off->1*return(x)->print(hi)").unwrap(),
            r#"p/a=2*off->1*return("x")->print"#
        );
        assert_eq!(gofail("p/a=panic(disk gone)").unwrap(), r#"p/a=panic("disk gone")"#);
        assert_eq!(gofail("p/a=panic").unwrap(), r#"p/a=panic("p/a")"#);
    }

    #[test]
    fn what_gofail_lacks_is_refused_by_name() {
        for (text, want) in [
            ("main/saveFail=pause", "gofail has no `pause` task"),
            ("main/saveFail=off->yield", "gofail has no `yield` task"),
            ("main/saveFail=delay(5)", "gofail has no `delay` task"),
            ("main/saveFail=kill", "gofail has no `kill` task"),
            ("main/saveFail[when=2]=return", "take no filter, and this rule has `when=2`"),
            ("main/saveFail[after=x]=return", "this rule has `after=x`"),
            ("main/v=return(a=b)", "holds `=`"),
            (r#"main/v=return("a;b")"#, "holds `;`"),
            (r#"main/v=return("a\"b")"#, "cannot read back"),
            (r#"main/v=panic("a\\b")"#, "cannot read back"),
        ] {
            let err = gofail(text).expect_err(text);
            assert!(err.contains(want), "{text}: {err}");
            assert!(err.contains("main/"), "the rule is named: {err}");
            assert!(err.contains("gofail takes `off`, `return`"), "{err}");
        }
    }

    #[test]
    fn sys_rules_stay_out_and_a_later_rule_replaces_in_place() {
        let rules =
            parse_rules("sys:write=error(EIO);p/a=return;p/b=off;p/a=return(2)", "-r").unwrap();
        let (e, refused) = entries(&rules);
        assert!(refused.is_empty());
        assert_eq!(merge(None, &e), "p/a=return(2);p/b=off");
    }

    #[test]
    fn the_users_entries_come_first_and_ours_win() {
        let ours = [Entry { name: "p/a".into(), terms: "return()".into() }];
        assert_eq!(merge(Some("p/a=off;q/b=sleep(1);"), &ours), "q/b=sleep(1);p/a=return()");
        assert_eq!(merge(Some(""), &ours), "p/a=return()");
    }

    #[test]
    fn other_programs_get_nothing() {
        let rules = parse_rules("main/saveFail=pause", "-r").unwrap();
        // sh is no Go program: the rule goes to the preload alone, refused by nobody here.
        let plan = Plan::new(&rules, Path::new("sh"), None).unwrap();
        assert_eq!(plan.value, None);
        assert!(plan.hits_unknown().is_empty());
    }
}
