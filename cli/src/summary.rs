//! What a run did, read back from its injection log: per rule, how many calls it matched and
//! how many faults it injected, across every process of the run.
//!
//! Injections are counted from the `inject` records, one per fault, which every process
//! writes before the fault takes effect. Matches come from the `exit` records, which a
//! process that is killed or ends with `_exit` never writes; such a count is shown as a lower
//! bound (`≥`).
#![forbid(unsafe_code)]

use serde_json::Value;
use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;

/// One rule's totals.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct RuleCount {
    /// The rule's key (`point[filters]`).
    pub key: String,
    /// The rule as given (canonical), when it came from the command line.
    pub text: Option<String>,
    /// Calls it matched, summed over the processes that wrote an `exit` record.
    pub matches: u64,
    /// Faults it injected (from the `inject` records).
    pub injections: u64,
}

/// The totals of a whole run.
#[derive(Debug, Default)]
pub struct Summary {
    /// Per rule, in the order the rules were given, then rules set later (control socket).
    pub rules: Vec<RuleCount>,
    /// Processes that started under the preload.
    pub processes: usize,
    /// Of those, how many left no `exit` record (killed, `_exit`).
    pub without_exit: usize,
    /// Lines that were not whole JSON objects.
    pub bad_lines: usize,
}

impl Summary {
    /// Reads a log; `given` lists the rules of the command line as `(key, text)`.
    pub fn read(log: &str, given: &[(String, String)]) -> Summary {
        let mut s = Summary::default();
        let mut index: HashMap<String, usize> = HashMap::new();
        for (key, text) in given {
            index.entry(key.clone()).or_insert_with(|| {
                s.rules.push(RuleCount {
                    key: key.clone(),
                    text: Some(text.clone()),
                    ..RuleCount::default()
                });
                s.rules.len() - 1
            });
        }
        let mut slot = |rules: &mut Vec<RuleCount>, key: &str| -> usize {
            *index.entry(key.to_string()).or_insert_with(|| {
                rules.push(RuleCount { key: key.to_string(), ..RuleCount::default() });
                rules.len() - 1
            })
        };
        let mut started = BTreeSet::new();
        let mut exited = BTreeSet::new();
        for line in log.lines().filter(|l| !l.trim().is_empty()) {
            let Ok(Value::Object(record)) = serde_json::from_str::<Value>(line) else {
                s.bad_lines += 1;
                continue;
            };
            let pid = record.get("pid").and_then(Value::as_i64).unwrap_or(0);
            match record.get("type").and_then(Value::as_str) {
                Some("start") => {
                    // A process that execs writes an exit record and then, as the new
                    // program, a start record with the same pid: one process to the user.
                    started.insert(pid);
                    exited.remove(&pid);
                }
                Some("inject") => {
                    if let Some(key) = record.get("rule").and_then(Value::as_str) {
                        let i = slot(&mut s.rules, key);
                        s.rules[i].injections += 1;
                    }
                }
                Some("exit") => {
                    exited.insert(pid);
                    let rules = record.get("rules").and_then(Value::as_array);
                    for r in rules.into_iter().flatten() {
                        let Some(key) = r.get("key").and_then(Value::as_str) else { continue };
                        let i = slot(&mut s.rules, key);
                        s.rules[i].matches += r.get("matches").and_then(Value::as_u64).unwrap_or(0);
                    }
                }
                _ => s.bad_lines += 1,
            }
        }
        s.processes = started.len();
        s.without_exit = started.difference(&exited).count();
        s
    }

    /// The table and warnings printed at the end of `failinject run`.
    pub fn render(&self, seed: u64) -> String {
        let mut out = String::new();
        let processes = match self.processes {
            1 => "1 process".to_string(),
            n => format!("{n} processes"),
        };
        let _ = writeln!(out, "failinject: {processes}, seed {seed} (repeat with --seed {seed})");
        if self.rules.is_empty() {
            return out;
        }
        let lower = if self.without_exit > 0 { "≥" } else { "" };
        let _ = writeln!(out, "  {:>9}  {:>8}  rule", "matched", "injected");
        for r in &self.rules {
            let matched = format!("{lower}{}", r.matches);
            let name = r.text.as_deref().unwrap_or(&r.key);
            let _ = writeln!(out, "  {matched:>9}  {:>8}  {name}", r.injections);
        }
        if self.without_exit > 0 {
            let _ = writeln!(
                out,
                "  (≥: {} of the processes ended without an exit record — killed, or ended \
                 with _exit — so their matches are not counted)",
                self.without_exit
            );
        }
        for r in self.rules.iter().filter(|r| r.injections == 0) {
            let name = r.text.as_deref().unwrap_or(&r.key);
            let why = if r.matches == 0 && self.without_exit == 0 {
                "it matched no call: check its point and filters with `failinject check`"
                    .to_string()
            } else {
                format!("it matched {lower}{} calls, but its actions never fired", r.matches)
            };
            let _ = writeln!(out, "failinject: warning: rule `{name}` never injected; {why}");
        }
        if self.bad_lines > 0 {
            let _ =
                writeln!(out, "failinject: warning: {} log lines were not records", self.bad_lines);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = r#"{"type":"start","pid":10,"rules":["sys:write=error(EIO)"]}
{"type":"inject","pid":10,"rule":"sys:write","action":"error(EIO)"}
{"type":"start","pid":11,"rules":["sys:write=error(EIO)"]}
{"type":"inject","pid":11,"rule":"sys:write","action":"error(EIO)"}
{"type":"inject","pid":11,"rule":"late","action":"return"}
{"type":"exit","pid":11,"reason":"exit","rules":[{"key":"sys:write","matches":4,"injections":1},{"key":"sys:fsync","matches":0,"injections":0}]}
"#;

    fn given() -> Vec<(String, String)> {
        vec![
            ("sys:write".into(), "sys:write=error(EIO)".into()),
            ("sys:fsync".into(), "sys:fsync=error(EIO)".into()),
        ]
    }

    #[test]
    fn counts_injections_from_records_and_matches_from_exits() {
        let s = Summary::read(LOG, &given());
        assert_eq!(s.processes, 2);
        assert_eq!(s.without_exit, 1);
        assert_eq!(s.rules.len(), 3);
        assert_eq!((s.rules[0].matches, s.rules[0].injections), (4, 2));
        assert_eq!((s.rules[1].matches, s.rules[1].injections), (0, 0));
        assert_eq!(s.rules[2].key, "late");
    }

    #[test]
    fn warns_for_rules_that_never_injected() {
        let text = Summary::read(LOG, &given()).render(7);
        assert!(text.contains("2 processes, seed 7"), "{text}");
        assert!(text.contains("rule `sys:fsync=error(EIO)` never injected"), "{text}");
        assert!(!text.contains("rule `sys:write=error(EIO)` never"), "{text}");
        assert!(text.contains("≥4"), "{text}");
    }

    #[test]
    fn an_exec_is_one_process_and_garbage_is_counted() {
        let log = "{\"type\":\"start\",\"pid\":5}\n{\"type\":\"exit\",\"pid\":5,\"reason\":\"exec\",\"rules\":[]}\n{\"type\":\"start\",\"pid\":5}\n{\"type\":\"exit\",\"pid\":5,\"rules\":[]}\nnot json\n";
        let s = Summary::read(log, &[]);
        assert_eq!((s.processes, s.without_exit, s.bad_lines), (1, 0, 1));
    }
}
