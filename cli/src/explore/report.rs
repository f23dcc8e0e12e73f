//! `report.json`: what a campaign tried and found, and `failinject report merge`, which
//! combines the reports of the shards of one campaign.
#![forbid(unsafe_code)]

use super::classify::Outcome;
use super::record::Site;
use anyhow::{Context as _, bail};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;

/// The format version of `report.json`.
pub const VERSION: u32 = 1;

/// A whole campaign (or one shard of it).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    /// The format version.
    pub version: u32,
    /// The command explored.
    pub command: Vec<String>,
    /// `--setup`, `--copy`, `--oracle`.
    pub setup: Option<String>,
    pub copy: Option<String>,
    pub oracle: Option<String>,
    /// The points in scope.
    pub scope: String,
    /// The seed every run used.
    pub seed: u64,
    /// `sites`, `every` or `random`, and whether power cuts were planned.
    pub mode: String,
    /// 1, or 2 with the recovery paths behind each first fault.
    #[serde(default = "one")]
    pub depth: u8,
    pub crash: bool,
    /// The shards this report covers (`0/4`); empty for a whole campaign.
    pub shards: Vec<String>,
    /// Runs made.
    pub runs: usize,
    /// Count per outcome (every outcome present).
    pub outcomes: BTreeMap<String, usize>,
    /// Runs whose fault was never reached (the program took another path).
    pub unreached: usize,
    /// Faults planned and left out: their calls had nothing to lose (a read-only close, a
    /// synced file's sync).
    #[serde(default)]
    pub skipped: usize,
    /// Findings at sites judged benign (`--ignore`, `.failinject-ignore`): counted, not listed.
    #[serde(default)]
    pub ignored: usize,
    /// The sites of the recording run, frames symbolized.
    pub sites: Vec<Site>,
    /// Every run.
    pub results: Vec<RunReport>,
    /// The runs whose outcome is not `handled`.
    pub findings: Vec<RunReport>,
    /// Wall time of the campaign, in seconds (summed over shards when merged).
    pub seconds: f64,
    /// Of that, the recording run and the planning (summed over shards when merged).
    #[serde(default)]
    pub seconds_recording: f64,
    /// `--crash=search`: the crash points searched and the distinct crash states checked
    /// (each a run of the oracle; those it rejected are findings, the rest count as handled).
    #[serde(default)]
    pub crash_points: usize,
    #[serde(default)]
    pub crash_states: usize,
    /// Seconds from the campaign's start to the first crash state rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crash_first_rejected: Option<f64>,
    /// Changes the program made outside the run's directory: listed, not laid out.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub crash_outside: Vec<String>,
}

fn one() -> u8 {
    1
}

/// One run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunReport {
    /// Its place in the whole plan.
    pub index: usize,
    /// The outcome; `None` when the fault was not reached.
    pub outcome: Option<Outcome>,
    /// The (first) fault's point, function, errno or task, call site and call number.
    pub point: String,
    pub function: String,
    pub errno: Option<String>,
    pub task: String,
    pub site: String,
    pub nth: u64,
    /// The file of the faulted call (relative to the run's directory when inside it).
    pub path: Option<String>,
    /// The call stack, symbolized where possible.
    pub frames: Vec<String>,
    /// Every rule of the run (random schedules have several).
    pub rules: Vec<String>,
    /// How the command ended: `exit 1`, `signal 11 (SIGSEGV)`, `timeout`.
    pub status: String,
    /// The end of its standard error.
    pub stderr: String,
    /// What the oracle printed when it failed.
    pub oracle_output: Option<String>,
    /// One command line that reproduces the run.
    pub repro: String,
    /// A finding at a site judged benign (`--ignore`).
    #[serde(default)]
    pub ignored: bool,
    /// At `--depth 2`, the index of the first-level run whose recovery path this run's
    /// (second) fault is on; the fields above describe that second fault.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<usize>,
    /// A crash state the oracle rejected (`--crash=search`); the fields above describe the
    /// change after which the power failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crash: Option<CrashFinding>,
}

/// Findings of one site with one outcome.
pub struct Group<'a> {
    /// The first run of the group (its repro is shown).
    pub first: &'a RunReport,
    /// How many runs.
    pub runs: usize,
    /// The faults tried (errnos or tasks), in first-seen order.
    pub faults: Vec<String>,
}

/// The findings grouped by point, site and outcome, worst outcome first, then in plan order.
pub fn groups(findings: &[RunReport]) -> Vec<Group<'_>> {
    let mut out: Vec<Group<'_>> = Vec::new();
    for f in findings {
        // Crash states are many per site: counted, the first one's repro shown.
        let fault = match &f.crash {
            Some(_) => "crash states".to_string(),
            None => f.errno.clone().unwrap_or_else(|| f.task.clone()),
        };
        match out.iter_mut().find(|g| {
            g.first.point == f.point && g.first.site == f.site && g.first.outcome == f.outcome
        }) {
            Some(g) => {
                g.runs += 1;
                if !g.faults.contains(&fault) {
                    g.faults.push(fault);
                }
            }
            None => out.push(Group { first: f, runs: 1, faults: vec![fault] }),
        }
    }
    out.sort_by_key(|g| (std::cmp::Reverse(g.first.outcome), g.first.index));
    out
}

impl Report {
    /// Recounts `runs`, `outcomes`, `unreached` and `findings` from `results`.
    pub fn tally(&mut self) {
        self.results.sort_by_key(|r| r.index);
        self.runs = self.results.len();
        self.outcomes = Outcome::ALL.iter().map(|o| (o.name().to_string(), 0)).collect();
        self.unreached = 0;
        self.ignored = self.results.iter().filter(|r| r.ignored).count();
        for r in &self.results {
            match r.outcome {
                Some(o) => *self.outcomes.entry(o.name().to_string()).or_default() += 1,
                None => self.unreached += 1,
            }
        }
        // Crash states the oracle accepted are runs too, handled; only the rejected ones are
        // kept as results.
        let rejected = self.results.iter().filter(|r| r.crash.is_some()).count();
        let accepted = self.crash_states.saturating_sub(rejected);
        self.runs += accepted;
        *self.outcomes.entry(Outcome::Handled.name().to_string()).or_default() += accepted;
        self.findings = self
            .results
            .iter()
            .filter(|r| r.outcome.is_some_and(|o| o != Outcome::Handled) && !r.ignored)
            .cloned()
            .collect();
    }

    /// Reads `DIR/report.json`.
    pub fn read(dir: &Path) -> anyhow::Result<Report> {
        let path = dir.join("report.json");
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let report: Report = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a failinject report", path.display()))?;
        if report.version != VERSION {
            bail!("{} has format version {}, not {VERSION}", path.display(), report.version);
        }
        Ok(report)
    }

    /// The exit status of `explore`: 0 when every run was handled, 1 with findings.
    pub fn exit_code(&self) -> ExitCode {
        if self.findings.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) }
    }
}

/// Combines the reports of several shards of one campaign.
pub fn merge(reports: Vec<Report>) -> anyhow::Result<Report> {
    let mut iter = reports.into_iter();
    let Some(mut merged) = iter.next() else { bail!("no report to merge") };
    let mut seen: std::collections::BTreeSet<usize> =
        merged.results.iter().map(|r| r.index).collect();
    for r in iter {
        if r.command != merged.command || r.scope != merged.scope || r.mode != merged.mode {
            bail!(
                "the reports are of different campaigns: `{}` ({}) and `{}` ({})",
                r.command.join(" "),
                r.mode,
                merged.command.join(" "),
                merged.mode
            );
        }
        for site in r.sites {
            if !merged.sites.iter().any(|s| s.point == site.point && s.site == site.site) {
                merged.sites.push(site);
            }
        }
        for run in r.results {
            if seen.insert(run.index) {
                merged.results.push(run);
            }
        }
        merged.shards.extend(r.shards);
        merged.crash_points += r.crash_points;
        merged.crash_states += r.crash_states;
        merged.seconds += r.seconds;
        merged.seconds_recording += r.seconds_recording;
    }
    merged.shards.sort();
    merged.shards.dedup();
    merged.tally();
    Ok(merged)
}

/// The shards (`I/N`, I from 0) a set of merged shards lacks; an error when they do not
/// agree on N or one is not `I/N`.
pub fn missing_shards(shards: &[String]) -> anyhow::Result<Vec<String>> {
    let mut total = None;
    let mut have = std::collections::BTreeSet::new();
    for s in shards {
        let (i, n) = super::plan::parse_shard(s).map_err(anyhow::Error::msg)?;
        if total.is_some_and(|t| t != n) {
            bail!("the shards are of different splits: {} and {s}", shards[0]);
        }
        total = Some(n);
        have.insert(i);
    }
    let n = total.unwrap_or(0);
    Ok((0..n).filter(|i| !have.contains(i)).map(|i| format!("{i}/{n}")).collect())
}

// ---- a rejected crash state (`--crash=search`) ------------------------------------------

/// One change, as a finding names it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ChangeRef {
    /// Its place in the trace.
    pub index: usize,
    pub op: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub off: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub len: Option<u64>,
    pub site: String,
    /// The call site's top frame in the program, symbolized where possible.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frame: Option<String>,
}

/// A crash state the oracle rejected.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CrashFinding {
    /// Its name (`powercut(keep=ID)`, `--crash-state ID`).
    pub id: String,
    /// A hash of the files it lays out: two states that make the same bytes are one.
    #[serde(default)]
    pub state: String,
    /// The `explore` line that checks this one state again, from a new recording.
    #[serde(default)]
    pub recheck: String,
    /// The change after which the power failed.
    pub point: ChangeRef,
    /// The changes not durable at that point that the state keeps, whole or torn.
    pub kept: Vec<ChangeRef>,
    /// Those it loses.
    pub lost: Vec<ChangeRef>,
    /// The kept writes that keep only some of their sectors.
    pub torn: Vec<ChangeRef>,
    /// A smallest set of lost (or torn) changes found that still breaks the oracle when every
    /// other change is kept, and whether it is minimal (losing any one fewer passes).
    #[serde(default)]
    pub minimal: Vec<ChangeRef>,
    #[serde(default)]
    pub minimal_proven: bool,
}

impl CrashFinding {
    /// Every change it names, for a caller that rewrites them (symbolizing frames).
    pub fn refs_mut(&mut self) -> impl Iterator<Item = &mut ChangeRef> {
        std::iter::once(&mut self.point)
            .chain(&mut self.kept)
            .chain(&mut self.lost)
            .chain(&mut self.torn)
            .chain(&mut self.minimal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_shard_is_named() {
        let shards = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(missing_shards(&shards(&["0/3", "2/3"])).unwrap(), ["1/3"]);
        assert!(missing_shards(&shards(&["0/2", "1/2"])).unwrap().is_empty());
        assert!(missing_shards(&[]).unwrap().is_empty());
        assert!(missing_shards(&shards(&["0/2", "1/3"])).is_err());
    }
}
