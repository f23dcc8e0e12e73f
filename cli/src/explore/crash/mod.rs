//! `explore --crash=search` (SPEC §8.1): ALICE's question for any program, unprivileged. The
//! recording run also records every change to files and directories (`trace`); from that one
//! trace, the crash states a power cut could leave are built (`model`), laid out in fresh
//! directories (`layout`) and judged by the oracle, without running the program again.
#![forbid(unsafe_code)]

pub mod layout;
pub mod model;
pub mod trace;

use super::classify::{Ending, Outcome};
use super::report::RunReport;
pub use super::report::{ChangeRef, CrashFinding};
use super::runner::{self, Output, Setup};
use crate::scratch::Scratch;
use anyhow::Context as _;
use layout::Base;
use model::{Mode, Pending, State};
use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use trace::Trace;

/// The search's options.
#[derive(Debug, Clone)]
pub struct Options {
    pub mode: Mode,
    /// `--sector`: the unit a torn write keeps or loses.
    pub sector: u64,
    /// `--crash-states`: states per crash point beyond which they are sampled.
    pub states: usize,
    /// `--crash-points sync`.
    pub syncs_only: bool,
    /// `--crash-state ID`: only that state.
    pub only: Option<String>,
}

/// What the recording run leaves for the search: the trace, and the run's directory as
/// `--setup` left it.
pub struct Recording {
    pub trace: Trace,
    pub base: Base,
    _dir: Scratch,
}

impl Recording {
    /// Copies the trace (each process's `changes.PID.jsonl` and `data.PID`) into `dir`.
    pub fn keep_trace(&self, dir: &std::path::Path) -> anyhow::Result<()> {
        std::fs::create_dir_all(dir)?;
        for entry in std::fs::read_dir(self._dir.path().join("trace"))? {
            let from = entry?.path();
            if let Some(name) = from.file_name() {
                std::fs::copy(&from, dir.join(name))
                    .with_context(|| format!("cannot copy {} into the report", from.display()))?;
            }
        }
        Ok(())
    }
}

/// The recording run with changes recorded (`FAILINJECT_CHANGES`).
pub fn record(setup: &Setup, rules: &str) -> anyhow::Result<(Output, Recording)> {
    let dir = Scratch::new("crash")?;
    let changes = dir.path().join("trace");
    std::fs::create_dir(&changes)?;
    let changes_env = changes.to_string_lossy().into_owned();
    let (mut work, mut base) = (PathBuf::new(), None);
    let out =
        runner::execute_seeing(setup, rules, &[("FAILINJECT_CHANGES", &changes_env)], &mut |w| {
            work = w.to_path_buf();
            base = Some(Base::take(w, &dir.path().join("base"))?);
            Ok(())
        })?;
    let trace = Trace::read(&changes, &work).context("cannot read the recorded changes")?;
    let base = base.context("the recording run made no directory")?;
    Ok((out, Recording { trace, base, _dir: dir }))
}

/// What the search did.
pub struct Searched {
    /// One report per rejected state, in the order found.
    pub findings: Vec<RunReport>,
    /// Crash points searched.
    pub points: usize,
    /// Distinct states laid out and judged.
    pub checked: usize,
    /// Changes outside the run's directory (listed, not laid out).
    pub outside: Vec<String>,
    /// Seconds from the campaign's start to the first rejected state.
    pub first_rejected: Option<f64>,
}

/// Where crash states' report indexes start: above any fault run's.
pub const FIRST_INDEX: usize = 1 << 40;

/// How many findings get a search for the minimal set of lost changes.
const MINIMIZED: usize = 8;
/// Oracle runs each such search may make.
const MINIMIZE_RUNS: usize = 32;

/// Makes the `failinject run` line of a live replay from its rule and the state's hash.
pub type LiveLine<'a> = dyn Fn(&str, &str) -> String + Sync + 'a;

/// The campaign around the search: what each finding's report needs.
pub struct Campaign<'a> {
    pub setup: &'a Setup,
    pub options: &'a Options,
    pub jobs: usize,
    /// `--max-runs`: states checked at most.
    pub max: Option<usize>,
    pub shard: Option<(usize, usize)>,
    /// `--random N`: N states drawn at random over every crash point.
    pub random: Option<usize>,
    /// The first report index free after the fault runs.
    pub first_index: usize,
    /// The command line that re-checks one state: the options, then (after `--crash-state
    /// ID`) the command.
    pub repro: (String, String),
    /// The `failinject run` line that makes a state live: from the rule and the state's hash.
    pub live: &'a LiveLine<'a>,
    /// Under the seccomp backend: a change's call site is its call and file, so the live
    /// rule names the file (`path=`).
    pub by_path: bool,
    /// When the campaign started.
    pub started: std::time::Instant,
}

/// Searches the crash states of `rec`.
pub fn search(rec: &Recording, c: &Campaign<'_>) -> anyhow::Result<Searched> {
    let changes = &rec.trace.changes;
    let durable = model::durable_at(changes);
    let o = c.options;
    let mut points = model::points(changes, o.syncs_only);
    // Spread over the trace first (bit-reversed order), so that a bounded search sees all of
    // it; a shard takes every n-th.
    points.sort_by_key(|&p| (p as u32).reverse_bits());
    if let Some((i, n)) = c.shard {
        points =
            points.into_iter().enumerate().filter(|(k, _)| k % n == i).map(|(_, p)| p).collect();
    }
    let states_at = |point: usize| {
        let pending = model::pending(changes, &durable, point);
        let states =
            model::states(changes, &pending, point, (o.mode, o.sector), o.states, c.setup.seed);
        (pending, states)
    };
    // The work: points, each with its states, or states named one by one.
    let named: Option<Vec<(State, usize)>> = if let Some(id) = &o.only {
        let s = State::parse(id).with_context(|| format!("--crash-state {id} names no state"))?;
        anyhow::ensure!(
            s.point < changes.len(),
            "--crash-state {id}: the trace has {} changes",
            changes.len()
        );
        Some(vec![(s, 0)])
    } else if let Some(n) = c.random {
        let mut rng = model::Rng::new(c.setup.seed);
        let picks = (0..n).filter_map(|_| {
            let p = *points.get(rng.below(points.len() as u64) as usize)?;
            let (_, states) = states_at(p);
            let k = rng.below(states.len() as u64) as usize;
            states.into_iter().nth(k).map(|s| (s, k))
        });
        Some(picks.collect())
    } else {
        None
    };
    if changes.is_empty() {
        return Ok(Searched {
            findings: Vec::new(),
            points: 0,
            checked: 0,
            outside: rec.trace.outside.clone(),
            first_rejected: None,
        });
    }
    let units = named.as_ref().map_or(points.len(), Vec::len);
    let seen: Mutex<HashSet<u64>> = Mutex::new(HashSet::new());
    let (next, checked) = (AtomicUsize::new(0), AtomicUsize::new(0));
    let rejected: Mutex<Vec<(State, String, usize, u64)>> = Mutex::new(Vec::new());
    let first_rejected: Mutex<Option<f64>> = Mutex::new(None);
    let bar = indicatif::ProgressBar::new(units as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} crash points, {msg}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let scratch = Scratch::new("states")?;
    // A state's report index, the same in every shard: its point, and its place among the
    // point's states.
    let index_of = |s: &State, r: usize| c.first_index + s.point * (o.states + 1) + r;
    let check = |s: &State, r: usize, pending: &Pending| -> anyhow::Result<()> {
        if c.max.is_some_and(|m| checked.load(Ordering::Relaxed) >= m) {
            return Ok(());
        }
        let dir = scratch.path().join(format!("s{}", next_name()));
        layout::lay_out(&rec.trace, &rec.base, (&durable, pending), s, &dir, o.sector)?;
        let hash = crate::dir_tree::hash(&dir)?;
        let fresh = seen.lock().map_err(|_| anyhow::anyhow!("poisoned"))?.insert(hash);
        if fresh {
            checked.fetch_add(1, Ordering::Relaxed);
            let (passed, said) = runner::oracle_in(c.setup, &dir)?;
            if !passed {
                let mut list = rejected.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
                list.push((s.clone(), said, index_of(s, r), hash));
                if let Ok(mut first) = first_rejected.lock() {
                    first.get_or_insert(c.started.elapsed().as_secs_f64());
                }
                bar.set_message(format!(
                    "{} states checked, {} rejected",
                    checked.load(Ordering::Relaxed),
                    list.len()
                ));
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
        Ok(())
    };
    let result: anyhow::Result<()> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..c.jobs.clamp(1, units.max(1)))
            .map(|_| {
                scope.spawn(|| -> anyhow::Result<()> {
                    loop {
                        let k = next.fetch_add(1, Ordering::Relaxed);
                        if k >= units || c.max.is_some_and(|m| checked.load(Ordering::Relaxed) >= m)
                        {
                            return Ok(());
                        }
                        match &named {
                            Some(list) => {
                                let (s, r) = &list[k];
                                check(s, *r, &model::pending(changes, &durable, s.point))?;
                            }
                            None => {
                                let (pending, states) = states_at(points[k]);
                                for (r, s) in states.iter().enumerate() {
                                    check(s, r, &pending)?;
                                }
                            }
                        }
                        bar.inc(1);
                    }
                })
            })
            .collect();
        for w in workers {
            w.join().map_err(|_| anyhow::anyhow!("a crash search thread panicked"))??;
        }
        Ok(())
    });
    bar.finish_and_clear();
    result?;
    let mut rejected = rejected.into_inner().map_err(|_| anyhow::anyhow!("poisoned"))?;
    rejected.sort_by_key(|(_, _, index, _)| *index);
    let mut findings = Vec::new();
    for (n, (s, said, index, hash)) in rejected.into_iter().enumerate() {
        let pending = model::pending(changes, &durable, s.point);
        let (minimal, proven) = if n < MINIMIZED {
            minimize(rec, c, &durable, &s, &pending, &scratch)?
        } else {
            (Vec::new(), false)
        };
        let mut f = finding(rec, c, &s, &pending, (minimal, proven), said, index);
        let hash = format!("{hash:016x}");
        let rule = live_rule(rec, &s, c.by_path);
        f.repro = format!(
            "{}   # a live replay: exact only if the program makes the same changes again",
            (c.live)(&rule, &hash)
        );
        f.rules = vec![rule];
        if let Some(crash) = &mut f.crash {
            crash.state = hash;
        }
        findings.push(f);
    }
    Ok(Searched {
        findings,
        points: named
            .as_ref()
            .map_or(points.len(), |l| l.iter().map(|(s, _)| s.point).collect::<HashSet<_>>().len()),
        checked: checked.into_inner(),
        outside: rec.trace.outside.clone(),
        first_rejected: first_rejected.into_inner().ok().flatten(),
    })
}

/// A fresh name for a state's directory.
fn next_name() -> usize {
    static N: AtomicUsize = AtomicUsize::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

/// The changes rejected state `s` loses: data changes not kept, and kept writes torn (each
/// of those is kept whole by "not losing" it).
fn lost_of(s: &State, pending: &Pending) -> Vec<usize> {
    pending.data.iter().copied().filter(|i| !s.kept.contains(i) || s.torn.contains_key(i)).collect()
}

/// The state that loses only `lost` of the changes `s` loses (its directory entries as in `s`).
fn losing_only(s: &State, pending: &Pending, lost: &[usize]) -> State {
    let lost: HashSet<usize> = lost.iter().copied().collect();
    let kept = pending
        .data
        .iter()
        .copied()
        .filter(|i| !lost.contains(i) || s.torn.contains_key(i))
        .collect();
    let torn =
        s.torn.iter().filter(|(i, _)| lost.contains(i)).map(|(i, m)| (*i, m.clone())).collect();
    State { point: s.point, kept, entries: s.entries, torn }
}

/// Delta debugging over the lost changes of a rejected state, within [`MINIMIZE_RUNS`] oracle
/// runs: a smaller set that still breaks the oracle when every other change is kept, and
/// whether it is 1-minimal (losing any one change fewer passes).
fn minimize(
    rec: &Recording,
    c: &Campaign<'_>,
    durable: &[Option<usize>],
    s: &State,
    pending: &Pending,
    scratch: &Scratch,
) -> anyhow::Result<(Vec<usize>, bool)> {
    let runs = std::cell::Cell::new(0);
    let fails = |lost: &[usize]| -> anyhow::Result<bool> {
        runs.set(runs.get() + 1);
        let dir = scratch.path().join(format!("m{}", next_name()));
        layout::lay_out(
            &rec.trace,
            &rec.base,
            (durable, pending),
            &losing_only(s, pending, lost),
            &dir,
            c.options.sector,
        )?;
        let (passed, _) = runner::oracle_in(c.setup, &dir)?;
        let _ = std::fs::remove_dir_all(&dir);
        Ok(!passed)
    };
    let mut m = lost_of(s, pending);
    let mut n = 2usize;
    let mut proven = false;
    while runs.get() < MINIMIZE_RUNS {
        if m.len() <= 1 {
            proven = !m.is_empty();
            break;
        }
        let (parts, chunk) = (n, m.len().div_ceil(n));
        let mut reduced = false;
        for k in 0..parts {
            if runs.get() >= MINIMIZE_RUNS {
                break;
            }
            let (a, b) = ((k * chunk).min(m.len()), ((k + 1) * chunk).min(m.len()));
            if a == b {
                continue;
            }
            let rest: Vec<usize> = m[..a].iter().chain(&m[b..]).copied().collect();
            if !rest.is_empty() && fails(&rest)? {
                m = rest;
                n = (n - 1).max(2);
                reduced = true;
                break;
            }
        }
        if !reduced {
            if n >= m.len() {
                // Every single change was tried on its own removal: 1-minimal.
                proven = true;
                break;
            }
            n = (2 * n).min(m.len());
        }
    }
    Ok((m, proven))
}

/// The rule that makes state `s` live: `powercut(keep=ID)` at the call that made the change
/// after which the power fails, by its site and its place among that site's changes. Under
/// the seccomp backend (`by_path`), by its file: the supervisor cuts at the first such call
/// after which the program has made as many changes as the recording had at the crash point.
fn live_rule(rec: &Recording, s: &State, by_path: bool) -> String {
    let changes = &rec.trace.changes;
    let c = &changes[s.point];
    let nth = changes[..=s.point].iter().filter(|x| x.site == c.site).count();
    // The classes of the calls that make such a change (`failinject points`).
    let classes = match c.op {
        trace::Op::Write { mmap: true, .. }
        | trace::Op::Fsync { .. }
        | trace::Op::SyncRange { .. }
        | trace::Op::SyncFs { .. }
        | trace::Op::Sync => "@sync",
        trace::Op::Write { .. } => "@write",
        trace::Op::Truncate { .. } => "@write|@meta|@open",
        trace::Op::Create { .. } => "@open|@meta",
        trace::Op::Link { .. } | trace::Op::Rename { .. } | trace::Op::Unlink { .. } => "@meta",
    };
    if by_path {
        // A rename's call names the new path.
        let path = match &c.op {
            trace::Op::Rename { to, .. } => Some(to.as_str()),
            _ => c.path.as_deref(),
        };
        // (The run's directory itself has no name that holds in the replay's: no filter.)
        let filter = path.filter(|p| !p.is_empty() && *p != ".").map_or(String::new(), |p| {
            format!("[path=\"{}\"]", crate::explore::runner::glob_in_any_run(p))
        });
        return format!("sys:{classes}{filter}=powercut(keep={})", s.id());
    }
    format!("sys:{classes}[site={},when={nth}]=powercut(keep={})", c.site, s.id())
}

fn change_ref(rec: &Recording, i: usize) -> ChangeRef {
    let c = &rec.trace.changes[i];
    let (off, len) = match c.op {
        trace::Op::Write { off, len, .. } => (Some(off), Some(len)),
        trace::Op::Truncate { len, .. } => (None, Some(len)),
        _ => (None, None),
    };
    let path = match &c.op {
        trace::Op::Create { path, .. }
        | trace::Op::Link { path, .. }
        | trace::Op::Unlink { path, .. } => Some(path.clone()),
        trace::Op::Rename { from, to } => Some(format!("{from} -> {to}")),
        _ => c.path.clone(),
    };
    let frame = c.frames.first().cloned();
    ChangeRef { index: i, op: c.op.name().to_string(), path, off, len, site: c.site.clone(), frame }
}

fn finding(
    rec: &Recording,
    c: &Campaign<'_>,
    s: &State,
    pending: &Pending,
    (minimal, proven): (Vec<usize>, bool),
    said: String,
    index: usize,
) -> RunReport {
    let refs =
        |v: &mut dyn Iterator<Item = usize>| v.map(|i| change_ref(rec, i)).collect::<Vec<_>>();
    let lost_entries = pending.entries.iter().skip(s.entries).copied();
    let kept_entries = pending.entries.iter().take(s.entries).copied();
    let mut kept: Vec<usize> =
        s.kept.iter().copied().filter(|i| !s.torn.contains_key(i)).chain(kept_entries).collect();
    kept.sort_unstable();
    let mut lost: Vec<usize> =
        pending.data.iter().copied().filter(|i| !s.kept.contains(i)).chain(lost_entries).collect();
    lost.sort_unstable();
    let point = &rec.trace.changes[s.point];
    let id = s.id();
    let crash = CrashFinding {
        id: id.clone(),
        state: String::new(),
        recheck: format!("{} --crash-state {id} {}", c.repro.0, c.repro.1),
        point: change_ref(rec, s.point),
        kept: refs(&mut kept.into_iter()),
        lost: refs(&mut lost.into_iter()),
        torn: refs(&mut s.torn.keys().copied()),
        minimal: refs(&mut minimal.into_iter()),
        minimal_proven: proven,
    };
    RunReport {
        index,
        outcome: Some(Outcome::Corrupted),
        point: "crash".into(),
        function: point.op.name().to_string(),
        errno: None,
        task: format!("powercut(keep={id})"),
        site: point.site.clone(),
        nth: s.point as u64 + 1,
        path: crash.point.path.clone(),
        frames: point.frames.clone(),
        rules: Vec::new(),
        status: runner::describe(&Ending::Signaled(9)),
        stderr: String::new(),
        oracle_output: Some(said),
        repro: String::new(),
        ignored: false,
        after: None,
        crash: Some(crash),
    }
}
