//! What a run did, read back from its injection log: per rule, how many calls it matched and
//! how many faults it injected, across every process of the run.
//!
//! Injections are counted from the `inject` records, one per fault, which every process
//! writes before the fault takes effect. Matches come from the `exit` records, which a
//! process that is killed by an uncatchable signal never writes: under `failinject run` the
//! run's shared state has its counts, and `run` adds an exit record for it (`"reason":
//! "killed"`, `run_dir.rs`). A process that is in no run's state (a bare `LD_PRELOAD`) has its
//! count shown as a lower bound (`≥`), which counts that process's injections as matches
//! (each injection was a match), so it is never below the injections.
#![forbid(unsafe_code)]

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};
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
    /// The last fault that ends processes (`kill`, `powercut`): the rule's row (from 0), its
    /// action as logged, and the pid it struck.
    pub ender: Option<(usize, String, i64)>,
    /// The titles (`argv` joined) of the processes that left no exit record.
    pub unfinished: Vec<String>,
    /// The processes killed before their exit record whose counts the run's shared state
    /// kept (`failinject run`'s `killed` records): pid and title.
    pub killed: Vec<String>,
    /// The run's power was cut (by a rule, or over the control socket): `failinject run`
    /// killed every process and rolled the files back.
    pub power_cut: bool,
    /// The processes of the run still running when its command ended, `PID (TITLE)`.
    pub lingering: Vec<String>,
    /// What the run shows about why rules never fired (`why.rs`).
    pub clues: crate::why::Clues,
    /// Rules whose faults no log can count, by key, with why (`gofail.rs`: the points of a
    /// Go program's gofail runtime, which keeps no counter): their line says so instead of
    /// giving counts, and they get no "never injected" warning.
    pub hits_unknown: BTreeMap<String, String>,
}

/// How the command of a run ended, as the summary's first line says it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Ending {
    /// It exited with this status.
    Exited(i32),
    /// A signal ended it.
    Signaled(i32),
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
        // Per process (its current program), the injections of each rule not yet covered by
        // an exit record: they are matches that no exit record will count.
        let mut pending: HashMap<i64, HashMap<usize, u64>> = HashMap::new();
        let mut titles: HashMap<i64, String> = HashMap::new();
        for line in log.lines().filter(|l| !l.trim().is_empty()) {
            let Ok(Value::Object(record)) = serde_json::from_str::<Value>(line) else {
                s.bad_lines += 1;
                continue;
            };
            let pid = record.get("pid").and_then(Value::as_i64).unwrap_or(0);
            let kind = record.get("type").and_then(Value::as_str);
            s.clues.record(pid, kind, &record);
            match kind {
                Some("exec" | "spawn") => {}
                Some("start") => {
                    // A process that execs writes an exit record and then, as the new
                    // program, a start record with the same pid: one process to the user.
                    started.insert(pid);
                    exited.remove(&pid);
                    pending.remove(&pid);
                    s.clues.started(pid, &record);
                    let argv = record.get("argv").and_then(Value::as_array);
                    let words: Vec<&str> =
                        argv.into_iter().flatten().filter_map(Value::as_str).collect();
                    titles.insert(pid, words.join(" "));
                }
                Some("inject") => {
                    if let Some(key) = record.get("rule").and_then(Value::as_str) {
                        let i = slot(&mut s.rules, key);
                        s.rules[i].injections += 1;
                        *pending.entry(pid).or_default().entry(i).or_default() += 1;
                        let action = record.get("action").and_then(Value::as_str).unwrap_or("");
                        if action.starts_with("kill") || action.starts_with("powercut") {
                            s.ender = Some((i, action.to_string(), pid));
                        }
                    }
                }
                Some("retired") => {
                    // A rule removed or replaced while the process ran: its counts there,
                    // and its text for a rule the command line did not give.
                    let Some(key) = record.get("key").and_then(Value::as_str) else { continue };
                    let i = slot(&mut s.rules, key);
                    s.rules[i].matches +=
                        record.get("matches").and_then(Value::as_u64).unwrap_or(0);
                    if s.rules[i].text.is_none() {
                        s.rules[i].text =
                            record.get("rule").and_then(Value::as_str).map(String::from);
                    }
                    // Its injections in this process are counted now; none is pending.
                    if let Some(p) = pending.get_mut(&pid) {
                        p.remove(&i);
                    }
                }
                Some("exit") => {
                    exited.insert(pid);
                    pending.remove(&pid);
                    if record.get("reason").and_then(Value::as_str) == Some("killed") {
                        let title = titles.get(&pid).filter(|t| !t.is_empty());
                        s.killed.push(match title {
                            Some(t) => format!("{pid} ({t})"),
                            None => pid.to_string(),
                        });
                    }
                    let rules = record.get("rules").and_then(Value::as_array);
                    for r in rules.into_iter().flatten() {
                        let Some(key) = r.get("key").and_then(Value::as_str) else { continue };
                        let i = slot(&mut s.rules, key);
                        s.clues.near_miss(i, pid, r);
                        s.rules[i].matches += r.get("matches").and_then(Value::as_u64).unwrap_or(0);
                    }
                }
                _ => s.bad_lines += 1,
            }
        }
        s.processes = started.len();
        let unfinished: Vec<i64> = started.difference(&exited).copied().collect();
        s.without_exit = unfinished.len();
        for pid in &unfinished {
            for (&i, &n) in pending.get(pid).into_iter().flatten() {
                s.rules[i].matches += n;
            }
            let title = titles.get(pid).filter(|t| !t.is_empty());
            s.unfinished.push(match title {
                Some(t) => format!("{pid} ({t})"),
                None => pid.to_string(),
            });
        }
        s
    }

    /// How the command ended, in the words of the summary's first line: `ended by signal 11
    /// (SIGSEGV)`, `killed by rule 2 (kill)`, `power cut by rule 1`, `exited with status 3`;
    /// `None` for a clean exit.
    pub fn ending(&self, ended: Ending, top_pid: Option<i64>) -> Option<String> {
        let sig = match ended {
            Ending::Exited(0) => return None,
            Ending::Exited(code) => return Some(format!("exited with status {code}")),
            Ending::Signaled(sig) => sig,
        };
        if let Some((i, action, pid)) = &self.ender {
            let n = i + 1;
            if action.starts_with("powercut") && sig == 9 {
                return Some(format!("power cut by rule {n}"));
            }
            if let Some(by) = action.strip_prefix("kill") {
                let named = by.trim_start_matches('(').trim_end_matches(')');
                let same = signal_number(named) == Some(sig);
                if same && top_pid.is_none_or(|p| p == *pid) {
                    let task = if sig == 9 { "kill".to_string() } else { action.clone() };
                    return Some(format!("killed by rule {n} ({task})"));
                }
            }
        }
        if self.power_cut && sig == 9 {
            return Some("power cut over the control socket".into());
        }
        Some(format!("ended by signal {sig} ({})", signal_name(sig)))
    }

    /// The table and warnings printed at the end of `failinject run`.
    pub fn render(&self, seed: u64, ending: Option<&str>) -> String {
        let mut out = String::new();
        let processes = match self.processes {
            1 => "1 process".to_string(),
            n => format!("{n} processes"),
        };
        let ending = ending.map(|e| format!("{e}; ")).unwrap_or_default();
        let _ = writeln!(
            out,
            "failinject: {ending}{processes}, seed {seed} (repeat with --seed {seed})"
        );
        if self.rules.is_empty() {
            return out;
        }
        let lower = if self.without_exit > 0 { "≥" } else { "" };
        let _ = writeln!(out, "  {:>9}  {:>8}  rule", "matched", "injected");
        for r in &self.rules {
            let matched = format!("{lower}{}", r.matches);
            let name = r.text.as_deref().unwrap_or(&r.key);
            if let Some(why) = self.hits_unknown.get(&r.key) {
                let _ = writeln!(out, "  {:>9}  {:>8}  {name}: hits unknown ({why})", "-", "-");
                continue;
            }
            let _ = writeln!(out, "  {matched:>9}  {:>8}  {name}", r.injections);
        }
        if self.without_exit > 0 {
            let _ = writeln!(
                out,
                "  (≥: {} left no exit record — killed by SIGKILL, by a signal the program handles \
                 itself, or still running — so only their injections \
                 count as their matches: {})",
                plural(self.without_exit, "process", "processes"),
                self.unfinished.join(", ")
            );
        }
        if !self.killed.is_empty() {
            let _ = writeln!(
                out,
                "  ({} ended without an exit record (SIGKILL); their counts come from the run's \
                 shared state: {})",
                plural(self.killed.len(), "process", "processes"),
                self.killed.join(", ")
            );
        }
        let silent = |r: &RuleCount| r.injections == 0 && !self.hits_unknown.contains_key(&r.key);
        for (i, r) in self.rules.iter().enumerate().filter(|(_, r)| silent(r)) {
            let name = r.text.as_deref().unwrap_or(&r.key);
            let what = if r.matches == 0 {
                format!("it matched {lower}0 calls")
            } else {
                format!("it matched {lower}{} calls, but its actions never fired", r.matches)
            };
            let _ = writeln!(out, "failinject: warning: rule `{name}` never injected; {what}");
            if r.matches == 0 {
                let _ = writeln!(out, "    why: {}", self.clues.why(i, name));
            }
        }
        if !self.lingering.is_empty() {
            let _ = writeln!(
                out,
                "failinject: warning: {} of the run still running after the command ended \
                 (their counts are not in this summary): {}",
                plural(self.lingering.len(), "process", "processes"),
                self.lingering.join(", ")
            );
        }
        for line in self.clues.unreached_lines() {
            let _ = writeln!(out, "failinject: warning: {line}");
        }
        if self.bad_lines > 0 {
            let _ =
                writeln!(out, "failinject: warning: {} log lines were not records", self.bad_lines);
        }
        out
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The number of a signal named as a `kill` task logs it (`KILL`, `SEGV`, `11`).
fn signal_number(name: &str) -> Option<i32> {
    if name.is_empty() {
        return Some(9);
    }
    if let Ok(n) = name.parse() {
        return Some(n);
    }
    let full = if name.starts_with("SIG") { name.to_string() } else { format!("SIG{name}") };
    full.parse::<nix::sys::signal::Signal>().ok().map(|s| s as i32)
}

/// `SIGSEGV` for 11; real-time and unknown signals as `SIGRTMIN+N` / `signal N`.
pub fn signal_name(sig: i32) -> String {
    match nix::sys::signal::Signal::try_from(sig) {
        Ok(s) => s.as_str().to_string(),
        Err(_) if (libc::SIGRTMIN()..=libc::SIGRTMAX()).contains(&sig) => {
            format!("SIGRTMIN+{}", sig - libc::SIGRTMIN())
        }
        Err(_) => format!("signal {sig}"),
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
        assert_eq!((s.rules[0].matches, s.rules[0].injections), (5, 2)); // pid 10 left no exit record: its injection is a match
        assert_eq!((s.rules[1].matches, s.rules[1].injections), (0, 0));
        assert_eq!(s.rules[2].key, "late");
    }

    #[test]
    fn warns_for_rules_that_never_injected() {
        let text = Summary::read(LOG, &given()).render(7, None);
        assert!(text.contains("2 processes, seed 7"), "{text}");
        assert!(text.contains("rule `sys:fsync=error(EIO)` never injected"), "{text}");
        assert!(!text.contains("rule `sys:write=error(EIO)` never"), "{text}");
        // pid 10 left no exit record: its one injection counts as a match.
        assert!(text.contains("≥5"), "{text}");
        assert!(text.contains("1 process left no exit record"), "{text}");
    }

    #[test]
    fn a_lower_bound_is_never_below_the_injections() {
        let log = "{\"type\":\"start\",\"pid\":3,\"argv\":[\"sh\",\"-c\",\"x\"]}\n\
                   {\"type\":\"inject\",\"pid\":3,\"rule\":\"sys:write\",\"action\":\"kill(KILL)\"}\n";
        let s = Summary::read(log, &given());
        assert_eq!((s.rules[0].matches, s.rules[0].injections), (1, 1));
        assert_eq!(s.unfinished, ["3 (sh -c x)"]);
    }

    #[test]
    fn the_ending_names_the_rule_or_the_signal() {
        let kill = "{\"type\":\"start\",\"pid\":3}\n\
                    {\"type\":\"inject\",\"pid\":3,\"rule\":\"sys:fsync\",\"action\":\"kill(KILL)\"}\n";
        let s = Summary::read(kill, &given());
        assert_eq!(s.ending(Ending::Signaled(9), Some(3)).unwrap(), "killed by rule 2 (kill)");
        assert_eq!(
            s.ending(Ending::Signaled(11), Some(3)).unwrap(),
            "ended by signal 11 (SIGSEGV)"
        );
        let cut = kill.replace("kill(KILL)", "powercut");
        let s = Summary::read(&cut, &given());
        assert_eq!(s.ending(Ending::Signaled(9), Some(3)).unwrap(), "power cut by rule 2");
        let segv = kill.replace("kill(KILL)", "kill(SEGV)");
        let s = Summary::read(&segv, &given());
        assert_eq!(
            s.ending(Ending::Signaled(11), Some(3)).unwrap(),
            "killed by rule 2 (kill(SEGV))"
        );
        assert_eq!(s.ending(Ending::Exited(0), Some(3)), None);
        assert_eq!(s.ending(Ending::Exited(1), Some(3)).unwrap(), "exited with status 1");
        let first = s.render(1, Some("power cut by rule 1"));
        assert!(first.starts_with("failinject: power cut by rule 1; 1 process"), "{first}");
    }

    #[test]
    fn rules_whose_hits_are_unknown_say_so_and_are_not_warned_about() {
        let mut s = Summary::read(LOG, &given());
        s.hits_unknown.insert("sys:fsync".into(), "gofail runtime has no counter".into());
        let text = s.render(7, None);
        assert!(
            text.contains("-  sys:fsync=error(EIO): hits unknown (gofail runtime has no counter)"),
            "{text}"
        );
        assert!(!text.contains("never injected"), "{text}");
    }

    #[test]
    fn an_exec_is_one_process_and_garbage_is_counted() {
        let log = "{\"type\":\"start\",\"pid\":5}\n{\"type\":\"exit\",\"pid\":5,\"reason\":\"exec\",\"rules\":[]}\n{\"type\":\"start\",\"pid\":5}\n{\"type\":\"exit\",\"pid\":5,\"rules\":[]}\nnot json\n";
        let s = Summary::read(log, &[]);
        assert_eq!((s.processes, s.without_exit, s.bad_lines), (1, 0, 1));
    }
}
