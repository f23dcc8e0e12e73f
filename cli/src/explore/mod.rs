//! `failinject explore`: fail each of a program's disk I/O call sites in turn and report which
//! faults it handled, swallowed, crashed on, hung on or lost data over.
//!
//! 1. `record`: one run with no fault, logging every call in scope with its call site;
//! 2. `plan`: one run per site × errno (or per call, or random schedules, or power cuts);
//! 3. `runner`: each run in a fresh directory, in parallel, with a timeout and the oracle;
//! 4. `classify`: handled, swallowed, crashed, hung or corrupted;
//! 5. `report` and `html`: the terminal summary, `report.json` and `report.html`.
#![forbid(unsafe_code)]

mod classify;
pub mod crash;
mod depth;
mod html;
pub mod merge;
mod plan;
mod record;
pub mod report;
mod runner;
mod stakes;
mod symbols;

use crate::shell;
use anyhow::{Context as _, bail};
use classify::{Ending, Facts, Outcome};
use failinject_engine::{
    Context, FileKind, PathMatcher, PointId, Points, Registry, SysCall, parse_rule,
};
use plan::{Options, Planned};
use record::Site;
use report::{Report, RunReport};
use runner::Setup;
use std::ffi::OsString;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The points explored when `--scope` is not given: file writes, syncs, opens, renames and
/// closes.
pub const DEFAULT_SCOPE: &str = "sys:@write|@sync|@open|@close|rename|renameat|renameat2";

/// Arguments of `failinject explore`.
#[derive(clap::Args)]
pub struct Args {
    /// The points to explore, as the point part of a rule with optional filters
    /// (`sys:pwrite|fdatasync[path=*.db]`). Default: file writes, syncs, opens, renames, closes.
    #[arg(long, value_name = "RULE-POINT")]
    scope: Option<String>,
    /// Errnos to try at every site (`EIO,ENOSPC`) instead of each function's defaults.
    #[arg(long, value_name = "LIST")]
    errno: Option<String>,
    /// Fail every call of every site, not only each site's first.
    #[arg(long)]
    every: bool,
    /// Fail only the chosen call; by default every later call at the same site fails too,
    /// as a broken disk stays broken.
    #[arg(long)]
    transient: bool,
    /// Also search the crash states a power cut can leave: `search` (the default) builds them
    /// from one recording of every change and judges each with the oracle; `rerun` cuts the
    /// power live at each write and sync site, one run each.
    #[arg(long, value_name = "HOW", num_args = 0..=1, default_missing_value = "search")]
    crash: Option<CrashHow>,
    /// With --crash=search: a crash point after every change (`each`) or after every sync.
    #[arg(long, value_name = "WHICH", default_value = "each")]
    crash_points: CrashPoints,
    /// With --crash=search: states per crash point, all of them up to N, else a seeded sample.
    #[arg(long, value_name = "N", default_value_t = 64)]
    crash_states: usize,
    /// With --crash=search: how unsynced changes survive: a prefix, any subset, or any subset
    /// with multi-sector writes torn.
    #[arg(long, value_name = "MODE", default_value = "torn")]
    crash_mode: crash::model::Mode,
    /// With --crash=search: the sector, in bytes, a torn write keeps or loses whole.
    #[arg(long, value_name = "N", default_value_t = 512)]
    sector: u64,
    /// With --crash=search: check only the crash state ID (from a finding).
    #[arg(long, value_name = "ID")]
    crash_state: Option<String>,
    /// A shell command run in the run's directory afterwards; failing means `corrupted`.
    #[arg(long, value_name = "CMD")]
    oracle: Option<String>,
    /// A shell command run in each fresh directory before the program.
    #[arg(long, value_name = "CMD")]
    setup: Option<String>,
    /// Start each run's directory as a copy of DIR.
    #[arg(long, value_name = "DIR")]
    copy: Option<PathBuf>,
    /// Seconds a run may take before it is `hung` (SIGTERM, then SIGKILL).
    #[arg(long, value_name = "SECS", default_value_t = 30.0)]
    timeout: f64,
    /// Runs in parallel (default: the number of CPUs).
    #[arg(short = 'j', long = "jobs", value_name = "N")]
    jobs: Option<usize>,
    /// Stop planning after N runs.
    #[arg(long, value_name = "N")]
    max_runs: Option<usize>,
    /// N runs of seeded random fault schedules instead of the systematic plan.
    #[arg(long, value_name = "N")]
    random: Option<usize>,
    /// The seed of every run (and of the random schedules).
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
    /// Take the I-th of N shares of the plan (I from 0), for campaigns split over machines.
    #[arg(long, value_name = "I/N")]
    shard: Option<String>,
    /// Write report.json and report.html into DIR.
    #[arg(long, value_name = "DIR")]
    report: Option<PathBuf>,
    /// A site judged benign, as a rule point (`sys:fdatasync[kind=dir]`): its findings are
    /// counted as ignored, not listed. Repeatable; also read from `.failinject-ignore` in the
    /// current directory (one rule point a line, `#` comments).
    #[arg(long, value_name = "RULE-POINT")]
    ignore: Vec<String>,
    /// List at most N groups of findings on the terminal (the report has them all).
    #[arg(long, value_name = "N")]
    max_findings: Option<usize>,
    /// 2: after each first fault, fail each call site of the recovery path it led to (one
    /// second fault per run), and fail each sync once with lost data (`lose(EIO)`) to find
    /// retries that hide the loss.
    #[arg(long, value_name = "N", default_value_t = 1)]
    depth: u8,
    /// How faults reach the program (as for `run`): `preload`, `seccomp` (static and Go
    /// programs, raw system calls; a site is then a call and the file it acts on), or `auto`.
    #[arg(long, value_enum, default_value_t, value_name = "BACKEND")]
    backend: crate::seccomp::Backend,
    /// The command and its arguments.
    #[arg(required = true, last = true, value_name = "CMD")]
    command: Vec<OsString>,
}

/// How `--crash` searches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum CrashHow {
    Search,
    Rerun,
}

/// Where `--crash=search` puts crash points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum CrashPoints {
    Each,
    Sync,
}

/// The checked options.
struct Campaign {
    setup: Setup,
    scope: String,
    /// The key of the scope's recording rule.
    scope_key: String,
    /// The rule points whose findings are ignored, with where each came from.
    ignore: Vec<String>,
    /// 1, or 2 for the recovery paths (`depth.rs`).
    depth: u8,
    /// For a scope of in-code points, the glob over their names.
    code: Option<PathMatcher>,
    options: Options,
    shard: Option<(usize, usize)>,
    jobs: usize,
    max_runs: Option<usize>,
    /// `--crash=search`.
    search: Option<crash::Options>,
}

fn check(args: &Args) -> anyhow::Result<Campaign> {
    let scope = args.scope.clone().unwrap_or_else(|| DEFAULT_SCOPE.to_string());
    // Every error here is bad usage: `main` prints it and exits with status 2.
    // The scope is checked as the user wrote it (`point[filters]`), so an error shows their
    // words, not the recording rule built from them.
    failinject_engine::parse_key(&scope)
        .map_err(|e| anyhow::anyhow!("--scope, {}", e.to_string().replacen("rule 1, ", "", 1)))?;
    let rule = parse_rule(&format!("{scope}=print(explore)"))
        .map_err(|e| anyhow::anyhow!("--scope {scope} cannot be explored: {}", e.message))?;
    // A scope that is not `sys:` names in-code points: a name, or a glob over names.
    let code = match &rule.points {
        Points::Sys(_) => None,
        Points::Code(name) => {
            if !rule.filters.is_empty() {
                bail!("--scope of in-code points takes no filters: `{scope}`");
            }
            Some(PathMatcher::glob(name).map_err(|e| {
                anyhow::anyhow!("--scope `{scope}` is not a glob over point names: {}", e.message)
            })?)
        }
    };
    let scope_key = rule.key();
    let filters: Vec<String> = rule.filters.iter().map(ToString::to_string).collect();
    if filters.iter().any(|f| f.starts_with("site=") || f.starts_with("when=")) {
        bail!("--scope cannot hold site= or when=: explore sets them for each run");
    }
    let errnos =
        args.errno.as_deref().map(plan::parse_errnos).transpose().map_err(anyhow::Error::msg)?;
    let shard =
        args.shard.as_deref().map(plan::parse_shard).transpose().map_err(anyhow::Error::msg)?;
    if !(args.timeout > 0.0 && args.timeout.is_finite()) {
        bail!("--timeout must be a positive number of seconds, not {}", args.timeout);
    }
    if code.is_some()
        && (args.depth != 1 || args.crash.is_some() || args.every || args.random.is_some())
    {
        bail!("--depth, --crash, --every and --random explore libc points: not with `{scope}`");
    }
    match args.depth {
        1 | 2 => {}
        0 => bail!("--depth takes 1 (each site) or 2 (and the recovery paths behind it)"),
        d => bail!(
            "--depth {d} is not supported yet: 2 is the deepest (a second fault on each recovery path)"
        ),
    }
    if args.jobs == Some(0) || args.max_runs == Some(0) || args.random == Some(0) {
        bail!("-j, --max-runs and --random take a number of at least 1");
    }
    if let Some(copy) = &args.copy
        && !copy.is_dir()
    {
        bail!("--copy {} is not a directory", copy.display());
    }
    let mut command = args.command.clone();
    let program = PathBuf::from(&command[0]);
    let Some(resolved) = crate::reach::resolve(&program) else {
        bail!("{}: command not found", program.display());
    };
    let seccomp = match args.backend {
        crate::seccomp::Backend::Seccomp => true,
        crate::seccomp::Backend::Auto => crate::seccomp::wants_seccomp(&resolved).is_some(),
        crate::seccomp::Backend::Preload => false,
    };
    if seccomp {
        if let Err(denied) = crate::seccomp::probe() {
            bail!("{} cannot be explored here: {denied}", resolved.display());
        }
        if code.is_some() {
            bail!(
                "under the seccomp backend, explore fails system calls one (call, file) at a \
                 time: in-code scopes need the preload (--backend preload)"
            );
        }
        if args.backend == crate::seccomp::Backend::Auto {
            eprintln!(
                "failinject: backend seccomp: {}",
                crate::seccomp::wants_seccomp(&resolved).unwrap_or_default()
            );
        }
    } else if let Some(why) = crate::reach::unreachable_reason(&resolved) {
        bail!("{} cannot be explored: {why} (try --backend seccomp)", resolved.display());
    }
    // Runs happen in other directories: a program named by a relative path is made absolute.
    if command[0].as_encoded_bytes().contains(&b'/') {
        command[0] = std::path::absolute(&program)?.into_os_string();
    }
    let seed = match (args.seed, args.random) {
        (Some(s), _) => s,
        (None, Some(_)) => {
            let s = crate::run::random_seed();
            eprintln!("failinject: random schedules with seed {s} (repeat with --seed {s})");
            s
        }
        (None, None) => 1,
    };
    let setup = Setup {
        command,
        setup: args.setup.clone(),
        copy: args.copy.as_ref().map(std::path::absolute).transpose()?,
        oracle: args.oracle.clone(),
        timeout: Duration::from_secs_f64(args.timeout),
        lib: if seccomp { None } else { Some(crate::library::find()?) },
        seed,
    };
    let jobs =
        args.jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let options = Options {
        errnos,
        every: args.every,
        transient: args.transient,
        crash: args.crash == Some(CrashHow::Rerun),
        random: args.random,
        seed,
        filters,
        by_path: seccomp,
    };
    let search = match args.crash {
        Some(CrashHow::Search) => {
            if args.crash_states == 0 {
                bail!("--crash-states 0 would check no state: give at least 1");
            }
            if args.sector < 512 || !args.sector.is_power_of_two() {
                bail!("--sector {} must be a power of two of at least 512", args.sector);
            }
            if args.oracle.is_none() {
                bail!("--crash=search judges each crash state with --oracle: give one");
            }
            Some(crash::Options {
                mode: args.crash_mode,
                sector: args.sector,
                states: args.crash_states,
                syncs_only: args.crash_points == CrashPoints::Sync,
                only: args.crash_state.clone(),
            })
        }
        _ if args.crash_state.is_some() => bail!("--crash-state belongs to --crash=search"),
        _ => None,
    };
    let ignore = ignore_rules(&args.ignore, std::path::Path::new(IGNORE_FILE))?;
    Ok(Campaign {
        setup,
        scope,
        scope_key,
        ignore,
        depth: args.depth,
        code,
        options,
        shard,
        jobs,
        max_runs: args.max_runs,
        search,
    })
}

/// The file of benign sites read from the current directory.
const IGNORE_FILE: &str = ".failinject-ignore";

/// `--ignore` rule points and the lines of `file` (when it exists), each checked: a bad one
/// is an error that names where it came from.
fn ignore_rules(given: &[String], file: &std::path::Path) -> anyhow::Result<Vec<String>> {
    let mut out = Vec::new();
    let check = |point: &str, whence: &str| -> anyhow::Result<String> {
        let rule = parse_rule(&format!("{point}=return(0)")).map_err(|e| {
            anyhow::anyhow!("{whence}: `{point}` is not a rule point: {}", e.message)
        })?;
        if !matches!(rule.points, Points::Sys(_)) {
            bail!("{whence}: `{point}` must name libc points (sys:…)");
        }
        Ok(point.to_string())
    };
    for g in given {
        out.push(check(g, "--ignore")?);
    }
    if let Ok(text) = std::fs::read_to_string(file) {
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            out.push(check(line, &format!("{}:{}", file.display(), n + 1))?);
        }
    }
    Ok(out)
}

/// The site of a finding, as `site=` filters see it.
struct SiteCtx(u64);

impl Context for SiteCtx {
    fn site(&mut self) -> u64 {
        self.0
    }
}

/// Marks the results whose call matches an ignore rule point.
fn mark_ignored(results: &mut [RunReport], sites: &[Site], ignore: &[String]) {
    if ignore.is_empty() {
        return;
    }
    let mut registry = Registry::new(0);
    for point in ignore {
        if let Ok(rule) = parse_rule(&format!("{point}=return(0)")) {
            registry.set(rule);
        }
    }
    let snapshot = registry.snapshot();
    for r in results.iter_mut().filter(|r| r.outcome.is_some_and(|o| o != Outcome::Handled)) {
        let Some(point) = r.point.strip_prefix("sys:").and_then(PointId::from_name) else {
            continue;
        };
        let site = sites.iter().find(|s| s.point == r.point && s.site == r.site);
        let path = site.and_then(|s| s.abs_path.as_deref()).map(str::as_bytes);
        let kind = match site.and_then(|s| s.kind.as_deref()) {
            Some("file") => FileKind::File,
            Some("dir") => FileKind::Dir,
            Some("socket") => FileKind::Socket,
            Some("pipe") => FileKind::Pipe,
            Some("tty") => FileKind::Tty,
            Some("other") => FileKind::Other,
            _ => FileKind::Unknown,
        };
        let call = SysCall { path, kind, ..SysCall::new(point) };
        let mut ctx = SiteCtx(u64::from_str_radix(&r.site, 16).unwrap_or(0));
        r.ignored = snapshot.decide_sys(&call, &mut ctx).is_some();
    }
}

pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let c = check(args)?;
    let started = Instant::now();
    let command_text: Vec<String> =
        c.setup.command.iter().map(|a| a.to_string_lossy().into_owned()).collect();

    // 1. The recording run: the scope, and every other file call for the stakes; for
    // in-code points, the first call of each (the preload traces them).
    // With --crash=search it records every change too (`crash.rs`).
    let mut recording = None;
    let out = match (&c.code, &c.search) {
        (None, Some(_)) => {
            crash::record(&c.setup, &recording_rules(&c.scope, c.setup.lib.is_none())).map(
                |(out, rec)| {
                    recording = Some(rec);
                    out
                },
            )
        }
        (None, None) => {
            runner::execute(&c.setup, &recording_rules(&c.scope, c.setup.lib.is_none()))
        }
        (Some(_), _) => runner::execute_with(&c.setup, "", &[("FAILINJECT_TRACE_CODE", "1")]),
    }
    .context("the recording run failed")?;
    if out.ending != Ending::Exited(0) || out.oracle.as_ref().is_some_and(|(ok, _)| !ok) {
        bail!("{}", no_fault_failure(&c.setup, &command_text, &out));
    }
    let mut sites = match &c.code {
        None => record::sites(&out.log, &c.scope_key),
        Some(glob) => record::code_sites(&out.log, |name| glob.is_match(name.as_bytes())),
    };
    let mut at_stake = stakes::stakes(&out.log, &c.scope_key);
    for s in &mut sites {
        s.stakes = at_stake.remove(&(s.point.clone(), s.site.clone())).unwrap_or_default();
    }
    let mut symbolizer =
        symbols::Symbolizer::new(crate::reach::resolve(&PathBuf::from(&c.setup.command[0])));
    for s in &mut sites {
        s.frames = s.frames.iter().map(|f| symbolizer.frame(f)).collect();
    }

    // 2. The plan.
    let (mut planned, skipped) = match &c.code {
        None => plan::plan(&sites, &c.options),
        Some(_) => (plan::plan_code(&sites), 0),
    };
    if c.setup.lib.is_none() {
        keep_what_seccomp_can(&mut planned);
    }
    if c.code.is_some() {
        let names: Vec<&str> = sites.iter().map(|s| s.point.as_str()).collect();
        eprintln!(
            "failinject: in-code points reached: {}",
            if names.is_empty() { "none".to_string() } else { names.join(", ") }
        );
    }
    if c.depth == 2 {
        for faults in depth::lost_syncs(&sites, &c.options) {
            planned.push(Planned { index: planned.len(), faults, after: None });
        }
    }
    // One crash state named: nothing but it is checked.
    if c.search.as_ref().is_some_and(|o| o.only.is_some()) {
        planned.clear();
    }
    let total = planned.len();
    if let Some((i, n)) = c.shard {
        planned = plan::shard(planned, i, n);
    }
    if let Some(max) = c.max_runs {
        planned.truncate(max);
    }
    eprintln!(
        "failinject: {} call sites in scope; {} runs planned{}{}{}",
        sites.len(),
        planned.len(),
        c.shard.map(|(i, n)| format!(" (shard {i}/{n} of {total})")).unwrap_or_default(),
        if skipped > 0 {
            format!("; {skipped} faults skipped: their calls had nothing to lose")
        } else {
            String::new()
        },
        if sites.is_empty() { ": the command made no call in scope" } else { "" }
    );

    // 3. The runs.
    let seconds_recording = started.elapsed().as_secs_f64();
    let firsts = run_all(&c, &sites, &planned, &command_text)?;
    let mut results: Vec<RunReport> = Vec::with_capacity(firsts.len());
    // 4. At depth 2, the recovery path behind each first fault that was reached.
    let mut second: Vec<Planned> = Vec::new();
    let known = sites.len();
    for (r, log) in firsts {
        if c.depth == 2
            && r.outcome.is_some()
            && let Some(p) = planned.iter().find(|p| p.index == r.index)
            && p.faults.iter().all(|f| f.task.starts_with("error("))
        {
            second.extend(depth::second_level(
                p,
                &log,
                &c.scope_key,
                total,
                &mut sites,
                &c.options,
            ));
        }
        results.push(r);
    }
    if c.setup.lib.is_none() {
        keep_what_seccomp_can(&mut second);
    }
    if !second.is_empty() {
        for s in &mut sites[known..] {
            s.frames = s.frames.iter().map(|f| symbolizer.frame(f)).collect();
        }
        eprintln!("failinject: depth 2: {} runs on the recovery paths", second.len());
        results.extend(run_all(&c, &sites, &second, &command_text)?.into_iter().map(|(r, _)| r));
    }
    mark_ignored(&mut results, &sites, &c.ignore);

    // 5. The crash states, from the recording.
    let mut searched = None;
    if let (Some(rec), Some(options)) = (&recording, &c.search) {
        let live = |rule: &str, hash: &str| {
            repro_with(&c.setup, &[rule.to_string()], &command_text, &["--expect-state", hash])
        };
        let campaign = crash::Campaign {
            setup: &c.setup,
            options,
            jobs: c.jobs,
            max: c.max_runs,
            shard: c.shard,
            random: c.options.random,
            first_index: crash::FIRST_INDEX,
            repro: crash_repro(args),
            live: &live,
            by_path: c.setup.lib.is_none(),
            started,
        };
        eprintln!(
            "failinject: crash search over {} recorded changes{}",
            rec.trace.changes.len(),
            if rec.trace.outside.is_empty() {
                String::new()
            } else {
                format!(" ({} outside the run's directory, not laid out)", rec.trace.outside.len())
            }
        );
        let mut s = crash::search(rec, &campaign)?;
        for f in &mut s.findings {
            f.frames = f.frames.iter().map(|x| symbolizer.frame(x)).collect();
            for r in f.crash.iter_mut().flat_map(crash::CrashFinding::refs_mut) {
                r.frame = r.frame.as_deref().map(|x| symbolizer.frame(x));
            }
        }
        results.append(&mut s.findings);
        searched = Some(s);
    }

    let mut report = Report {
        version: report::VERSION,
        command: command_text,
        setup: c.setup.setup.clone(),
        copy: c.setup.copy.as_ref().map(|p| p.display().to_string()),
        oracle: c.setup.oracle.clone(),
        scope: c.scope.clone(),
        seed: c.setup.seed,
        depth: c.depth,
        mode: if c.options.random.is_some() {
            "random"
        } else if c.options.every {
            "every"
        } else {
            "sites"
        }
        .into(),
        crash: c.options.crash || c.search.is_some(),
        shards: c.shard.map(|(i, n)| vec![format!("{i}/{n}")]).unwrap_or_default(),
        runs: 0,
        outcomes: Default::default(),
        unreached: 0,
        skipped,
        ignored: 0,
        sites,
        results,
        findings: Vec::new(),
        seconds: started.elapsed().as_secs_f64(),
        seconds_recording,
        crash_points: searched.as_ref().map_or(0, |s| s.points),
        crash_states: searched.as_ref().map_or(0, |s| s.checked),
        crash_first_rejected: searched.as_ref().and_then(|s| s.first_rejected),
        crash_outside: searched.map(|s| s.outside).unwrap_or_default(),
    };
    report.tally();
    eprint!("{}", summary_text(&report, args.max_findings));
    if let Some(dir) = &args.report {
        html::write(&report, dir)?;
        // The crash search's trace, with the report that names its changes by their order.
        if let Some(rec) = &recording {
            rec.keep_trace(&dir.join("trace"))?;
        }
        eprintln!("failinject: report written to {}/report.html and report.json", dir.display());
    }
    Ok(report.exit_code())
}

/// Runs the plan on `jobs` threads, with a progress bar on a terminal.
fn run_all(
    c: &Campaign,
    sites: &[Site],
    planned: &[Planned],
    command: &[String],
) -> anyhow::Result<Vec<(RunReport, String)>> {
    let bar = indicatif::ProgressBar::new(planned.len() as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} runs, {msg} ETA {eta}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let next = AtomicUsize::new(0);
    let (tx, rx) = mpsc::channel::<anyhow::Result<(RunReport, String)>>();
    let mut results = Vec::with_capacity(planned.len());
    let mut findings = 0;
    std::thread::scope(|scope| {
        for _ in 0..c.jobs.min(planned.len().max(1)) {
            let tx = tx.clone();
            let next = &next;
            scope.spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(p) = planned.get(i) else { break };
                    if tx.send(one(c, sites, p, command)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        for r in rx {
            match r {
                Ok(r) => {
                    if r.0.outcome.is_some_and(|o| o != Outcome::Handled) {
                        findings += 1;
                        bar.set_message(format!("{findings} findings,"));
                    }
                    results.push(r);
                    bar.inc(1);
                }
                Err(e) => {
                    // Stop handing out work; the runs in flight finish.
                    next.store(usize::MAX / 2, Ordering::Relaxed);
                    bar.abandon();
                    return Err(e);
                }
            }
        }
        bar.finish_and_clear();
        Ok(())
    })?;
    Ok(results)
}

/// The rules of the recording run: a `print` on the scope, and one on every other file call
/// (the trace `stakes.rs` replays); under the seccomp backend, the trace's calls that have
/// system calls of their own.
fn recording_rules(scope: &str, seccomp: bool) -> String {
    format!("{scope}=print(explore);{}=print(explore)", stakes::trace(seccomp))
}

/// Leaves out the faults the seccomp backend cannot carry out (an error on `close`, which
/// only the program can release), and says so: never run to be judged `unreached`.
fn keep_what_seccomp_can(planned: &mut Vec<Planned>) {
    let before = planned.len();
    planned.retain(|p| {
        p.faults
            .iter()
            .all(|f| parse_rule(&f.rule).is_ok_and(|r| crate::seccomp::plan::accepts(&r).is_ok()))
    });
    if planned.len() < before {
        eprintln!(
            "failinject: {} planned faults left out: the seccomp backend cannot carry them \
             out (`failinject check --backend seccomp` says why)",
            before - planned.len()
        );
    }
}

/// One planned run, judged; with its log when it is a first-level run at depth 2 (which
/// then records its calls too, for the recovery paths).
fn one(
    c: &Campaign,
    sites: &[Site],
    p: &Planned,
    command: &[String],
) -> anyhow::Result<(RunReport, String)> {
    let rules: Vec<String> = p.faults.iter().map(|f| f.rule.clone()).collect();
    let records = c.depth == 2 && p.after.is_none();
    let mut given = rules.join(";");
    if records {
        given = format!("{given};{}", recording_rules(&c.scope, c.setup.lib.is_none()));
    }
    let out = runner::execute(&c.setup, &given)?;
    // Which faults fired: the log names each injection's rule by its key, with the hit
    // number of each injection (the n-th call the rule selected, from the fault's call on).
    let hits = record::hits(&out.log);
    let fired_hits: Vec<Option<&Vec<u64>>> = p
        .faults
        .iter()
        .map(|f| parse_rule(&f.rule).ok().and_then(|r| hits.get(&r.key())))
        .collect();
    let reached = fired_hits.iter().any(Option::is_some);
    // A second-level run is judged on its second fault: whether the first was swallowed is
    // the first-level run's finding.
    let judged = if p.after.is_some() { p.faults.len() - 1 } else { 0 };
    let injected: Vec<(String, Option<String>, bool)> = p
        .faults
        .iter()
        .zip(&fired_hits)
        .skip(judged)
        .filter_map(|(f, h)| Some((f, (*h)?)))
        .map(|(f, h)| {
            let site = &sites[f.site];
            // The calls it failed: the fault's call, and with `when=N+` each later one.
            let stake = !stakes::depends_on_stake(&site.point)
                || h.iter().any(|hit| stakes::can_lose(&site.stakes, f.nth + hit - 1, false));
            (site.point.clone(), f.errno.clone(), stake)
        })
        .collect();
    // Whether a fault with this task fired.
    let fired =
        |task: &str| p.faults.iter().zip(&fired_hits).any(|(f, h)| h.is_some() && f.task == task);
    // A lost sync that the program synced again over (`depth.rs`).
    let retried_sync = records
        && p.faults.iter().any(|f| {
            f.task.starts_with("lose(")
                && parse_rule(&f.rule).is_ok_and(|r| depth::retried(&out.log, &r.key()))
        });
    let facts = Facts {
        ending: out.ending.clone(),
        panicked: out.stderr.contains("panicked at"),
        oracle: out.oracle.as_ref().map(|(ok, _)| *ok),
        injected,
        retried_sync,
        power_cut: fired("powercut"),
        our_panic: fired("panic"),
    };
    // A second-level run is about its second fault: it must have fired too.
    let reached = reached && (p.after.is_none() || fired_hits.last().is_some_and(Option::is_some));
    let outcome = reached.then(|| classify::classify(&facts));
    let first = p.faults.last().unwrap_or(&p.faults[0]);
    let site = &sites[first.site];
    let log = if records { out.log } else { String::new() };
    let report = RunReport {
        index: p.index,
        outcome,
        point: site.point.clone(),
        function: site.function.clone(),
        errno: first.errno.clone(),
        task: first.task.clone(),
        site: site.site.clone(),
        nth: first.nth,
        path: site.path.clone(),
        frames: site.frames.clone(),
        status: runner::describe(&out.ending),
        stderr: strip_recording_lines(&out.stderr),
        oracle_output: out.oracle.as_ref().filter(|(ok, _)| !ok).map(|(_, o)| o.clone()),
        repro: repro(&c.setup, &rules, command),
        rules,
        ignored: false,
        after: p.after,
        crash: None,
    };
    Ok((report, log))
}

/// What a rejected crash state lost, in one line: the counts and the smallest set of lost
/// changes found that still breaks the oracle.
fn crash_line(c: &crash::CrashFinding) -> String {
    let name = |x: &crash::ChangeRef| {
        let mut t = format!("#{} {}", x.index, x.op);
        if let Some(p) = &x.path {
            let _ = write!(t, " {p}");
        }
        if let (Some(off), Some(len)) = (x.off, x.len) {
            let _ = write!(t, " @{off}+{len}");
        }
        t
    };
    let mut line = format!(
        "power cut after #{} ({}): {} unsynced changes kept, {} lost, {} torn",
        c.point.index,
        c.point.op,
        c.kept.len(),
        c.lost.len(),
        c.torn.len()
    );
    if !c.minimal.is_empty() {
        let shown: Vec<String> = c.minimal.iter().take(3).map(name).collect();
        let more = c.minimal.len().saturating_sub(3);
        let _ = write!(
            line,
            "; {} with only {}{} lost or torn",
            if c.minimal_proven { "still broken" } else { "broken too" },
            shown.join(", "),
            if more > 0 { format!(" and {more} more") } else { String::new() }
        );
    }
    line
}

/// The `failinject explore` line that checks one crash state again (its `--crash-state ID`
/// follows): the campaign's own options, the recording made again.
fn crash_repro(args: &Args) -> (String, String) {
    let mut words = vec!["failinject".to_string(), "explore".into(), "--crash".into()];
    let mut opt = |k: &str, v: Option<String>| {
        if let Some(v) = v {
            words.push(k.into());
            words.push(v);
        }
    };
    opt("--crash-mode", Some(format!("{:?}", args.crash_mode).to_lowercase()));
    opt("--sector", Some(args.sector.to_string()));
    opt("--scope", args.scope.clone());
    opt("--setup", args.setup.clone());
    opt("--copy", args.copy.as_ref().map(|p| p.display().to_string()));
    opt("--oracle", args.oracle.clone());
    opt("--seed", args.seed.map(|s| s.to_string()));
    opt(
        "--backend",
        (args.backend != crate::seccomp::Backend::Auto)
            .then(|| clap::ValueEnum::to_possible_value(&args.backend))
            .flatten()
            .map(|v| v.get_name().to_string()),
    );
    let mut command = vec!["--".to_string()];
    command.extend(args.command.iter().map(|a| a.to_string_lossy().into_owned()));
    (shell::join(words.iter().map(String::as_str)), shell::join(command.iter().map(String::as_str)))
}

/// The one command line that repeats a run: a fresh directory, prepared as the runs were,
/// the command under `failinject run`, then the oracle.
fn repro(setup: &Setup, rules: &[String], command: &[String]) -> String {
    repro_with(setup, rules, command, &[])
}

/// [`repro`] with more options for `failinject run` (`--expect-state HASH`).
fn repro_with(setup: &Setup, rules: &[String], command: &[String], options: &[&str]) -> String {
    let mut words =
        vec!["failinject".to_string(), "run".into(), "--seed".into(), setup.seed.to_string()];
    if setup.lib.is_none() {
        words.extend(["--backend".into(), "seccomp".into()]);
    }
    words.extend(options.iter().map(|o| o.to_string()));
    for r in rules {
        words.push("-r".into());
        words.push(r.clone());
    }
    words.push("--".into());
    words.extend(command.iter().cloned());
    let run = shell::join(words.iter().map(String::as_str));
    let mut line = String::new();
    if setup.setup.is_some() || setup.copy.is_some() || setup.oracle.is_some() {
        line.push_str("cd \"$(mktemp -d)\" && ");
    }
    if let Some(copy) = &setup.copy {
        let _ = write!(line, "cp -a {}/. . && ", shell::quote(&copy.display().to_string()));
    }
    if let Some(s) = &setup.setup {
        let _ = write!(line, "sh -c {} && ", shell::quote(s));
    }
    line.push_str(&run);
    if let Some(o) = &setup.oracle {
        let _ = write!(line, "; sh -c {}", shell::quote(o));
    }
    line
}

/// Why a run with no fault did not pass, saying which status is the command's and which the
/// oracle's, with what each printed.
fn no_fault_failure(setup: &runner::Setup, command: &[String], out: &runner::Output) -> String {
    let indent = |t: &str| -> String {
        let t = t.trim_end();
        if t.is_empty() {
            "    (nothing)\n".into()
        } else {
            t.lines().map(|l| format!("    {l}\n")).collect()
        }
    };
    let passed = out.ending == Ending::Exited(0);
    let mut text = format!(
        "with no fault injected, {}: nothing to explore until both pass\n  the command `{}`: {}\n",
        if passed { "the command passed but the oracle failed" } else { "the command failed" },
        command.join(" "),
        runner::describe(&out.ending)
    );
    match (&setup.oracle, &out.oracle) {
        (Some(cmd), Some((ok, _))) => {
            let verdict = if *ok { "passed" } else { "failed (non-zero status)" };
            text.push_str(&format!("  the oracle `{cmd}`: {verdict}\n"));
        }
        (Some(cmd), None) => text.push_str(&format!("  the oracle `{cmd}`: not run\n")),
        (None, _) => {}
    }
    text.push_str("  the command's stderr:\n");
    text.push_str(&indent(&strip_recording_lines(&out.stderr)));
    if let Some((_, printed)) = &out.oracle {
        text.push_str("  the oracle's output:\n");
        text.push_str(&indent(printed));
    }
    text.trim_end().to_string()
}

/// The recording run's `print` lines are ours, not the program's.
fn strip_recording_lines(stderr: &str) -> String {
    stderr.lines().filter(|l| !(l.starts_with("failinject: ") && l.ends_with(": explore"))).fold(
        String::new(),
        |mut s, l| {
            s.push_str(l);
            s.push('\n');
            s
        },
    )
}

/// The terminal summary: counts per outcome, then the findings grouped by site and outcome,
/// one line each with its count and the first run's reproduction (at most `max` groups).
pub fn summary_text(r: &Report, max: Option<usize>) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "failinject: explored `{}`: {} runs over {} call sites in {:.1} s",
        r.command.join(" "),
        r.runs,
        r.sites.len(),
        r.seconds
    );
    let counts: Vec<String> = Outcome::ALL
        .iter()
        .map(|o| format!("{} {}", o.name(), r.outcomes.get(o.name()).unwrap_or(&0)))
        .collect();
    let mut extra = format!("unreached {}", r.unreached);
    if r.ignored > 0 {
        let _ = write!(extra, ", ignored {}", r.ignored);
    }
    if r.skipped > 0 {
        let _ = write!(extra, ", skipped {} (nothing to lose)", r.skipped);
    }
    let _ = writeln!(out, "  {}   ({extra})", counts.join("   "));
    if r.crash_points > 0 {
        let rejected = r.results.iter().filter(|x| x.crash.is_some()).count();
        let _ = writeln!(
            out,
            "  crash search: {} crash points, {} distinct crash states checked, {rejected} rejected{}",
            r.crash_points,
            r.crash_states,
            if r.crash_outside.is_empty() {
                String::new()
            } else {
                format!(
                    "; {} changes outside the run's directory not laid out",
                    r.crash_outside.len()
                )
            }
        );
    }
    if r.findings.is_empty() {
        let why = if r.ignored > 0 {
            "every fault that was reached was handled, or was at a site judged benign"
        } else {
            "every fault that was reached was handled"
        };
        let _ = writeln!(out, "  no findings: {why}");
        return out;
    }
    let groups = report::groups(&r.findings);
    let _ = writeln!(
        out,
        "findings ({} in {} groups by site and outcome):",
        r.findings.len(),
        groups.len()
    );
    let _ = writeln!(
        out,
        "  {:<10} {:>5} {:<12} {:<16} {:<24} top frame",
        "outcome", "runs", "function", "faults", "path"
    );
    let shown = max.unwrap_or(usize::MAX);
    for g in groups.iter().take(shown) {
        let f = g.first;
        let _ = writeln!(
            out,
            "  {:<10} {:>5} {:<12} {:<16} {:<24} {}",
            f.outcome.map_or("unreached", Outcome::name),
            g.runs,
            f.function,
            g.faults.join(","),
            f.path.as_deref().unwrap_or("-"),
            symbols::top_frame(&f.frames).unwrap_or("?"),
        );
        if let Some(c) = &f.crash {
            let _ = writeln!(out, "      {}", crash_line(c));
        }
        let _ = writeln!(out, "      {}", f.repro);
    }
    if groups.len() > shown {
        let _ = writeln!(
            out,
            "  … and {} more groups (--max-findings {shown}); the report lists them all",
            groups.len() - shown
        );
    }
    out
}
