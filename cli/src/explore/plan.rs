//! The plan: which faults to try, one run each, from the sites of the recording run.
//!
//! Systematic (the default): each site × each errno, failing the site's first call and every
//! later one, as a disk that broke stays broken (`--transient`: that one call only); with
//! `--every`, from each call of each site on × each errno; with `--crash`, also a `powercut` at each
//! write and sync site (each call with `--every`). Random (`--random N`): N runs, each with
//! one to three faults at seeded random sites, calls and errnos. The plan is a pure function
//! of the sites and the options, so every shard of a campaign computes the same plan and
//! takes its own share of it.
#![forbid(unsafe_code)]

use super::record::Site;
use super::stakes::{can_lose, depends_on_stake};
use failinject_engine::{Class, Errno, PointId};

/// One fault of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct Fault {
    /// Index of its site in the recording's site list.
    pub site: usize,
    /// The task: `error(EIO)`, `powercut`.
    pub task: String,
    /// The errno, for an `error` task.
    pub errno: Option<String>,
    /// Which call at the site fails, from 1.
    pub nth: u64,
    /// The rule that injects it.
    pub rule: String,
}

/// One planned run.
#[derive(Debug, Clone, PartialEq)]
pub struct Planned {
    /// Its position in the whole (unsharded) plan, from 0: stable across shards.
    pub index: usize,
    /// Its faults (one, except in random schedules and at `--depth 2`).
    pub faults: Vec<Fault>,
    /// At `--depth 2`, the first-level run whose recovery path this run's second fault is on.
    pub after: Option<usize>,
}

/// What the user asked for.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Errnos to try instead of each function's defaults.
    pub errnos: Option<Vec<String>>,
    /// Each call instead of each site's first.
    pub every: bool,
    /// Fail only the one call, not every call at the site from it on.
    pub transient: bool,
    /// Also a power cut at each write and sync site.
    pub crash: bool,
    /// Random schedules instead: how many runs.
    pub random: Option<usize>,
    /// Seed of the random schedules.
    pub seed: u64,
    /// The scope's filters (`path=*.db`), carried into every fault rule.
    pub filters: Vec<String>,
    /// Sites are (call, file) pairs named by a `path=` filter, not `site=` (the seccomp
    /// backend sees no call sites).
    pub by_path: bool,
}

/// The errnos explore tries on `point` by default (the engine's table).
pub fn default_errnos(point: &str) -> Vec<String> {
    let Some(id) = point.strip_prefix("sys:").and_then(PointId::from_name) else {
        return Vec::new();
    };
    id.info().explore.iter().map(|e| e.to_string()).collect()
}

/// Whether a power cut at `point` is worth a run: it writes or syncs data.
pub fn writes_or_syncs(point: &str) -> bool {
    let Some(id) = point.strip_prefix("sys:").and_then(PointId::from_name) else { return false };
    let classes = id.info().classes;
    classes.contains(Class::Write) || classes.contains(Class::Sync)
}

/// Checks an `--errno` list: names or numbers the engine knows.
pub fn parse_errnos(list: &str) -> Result<Vec<String>, String> {
    list.split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(|e| match Errno::from_name(e) {
            Some(errno) => Ok(errno.to_string()),
            None => match e.parse::<i32>() {
                Ok(n) if n > 0 && n < 4096 => Ok(n.to_string()),
                _ => Err(format!("`{e}` is not an errno name such as EIO or ENOSPC")),
            },
        })
        .collect()
}

/// The fault rule: the site's point, the scope's filters, the site and the call.
pub fn rule(site: &Site, opts: &Options, nth: u64, task: &str) -> String {
    let mut f: Vec<String> = opts.filters.clone();
    if !opts.by_path {
        f.push(format!("site={}", site.site));
    } else if let Some(p) = &site.path {
        // Each run has a directory of its own: a file inside it is named from there on.
        let glob = super::runner::glob_in_any_run(p);
        f.push(format!("path=\"{glob}\""));
    }
    // A power cut happens once, and so does a lost write (the retry is what is tested); an
    // errno stays unless the user asked for transient faults.
    let once = opts.transient || task == "powercut" || task.starts_with("lose(");
    let from_on = if once { "" } else { "+" };
    f.push(format!("when={nth}{from_on}"));
    format!("{}[{}]={task}", site.point, f.join(","))
}

fn fault(sites: &[Site], i: usize, nth: u64, errno: Option<&str>, opts: &Options) -> Fault {
    let task = match errno {
        Some(e) => format!("error({e})"),
        None => "powercut".to_string(),
    };
    Fault {
        site: i,
        rule: rule(&sites[i], opts, nth, &task),
        task,
        errno: errno.map(str::to_string),
        nth,
    }
}

/// Whether an errno fault at `site` from call `nth` on (or at that call only, transient)
/// could lose data: always for writes and renames; for syncs, closes and `fflush` only when
/// a call it fails had something at stake in the recording (`stakes.rs`).
pub fn worth_failing(site: &Site, nth: u64, opts: &Options) -> bool {
    !depends_on_stake(&site.point) || can_lose(&site.stakes, nth, !opts.transient)
}

/// The whole plan, before sharding, and how many faults it left out because they cannot
/// lose data.
pub fn plan(sites: &[Site], opts: &Options) -> (Vec<Planned>, usize) {
    let mut runs: Vec<Vec<Fault>> = Vec::new();
    let mut skipped = 0;
    if let Some(n) = opts.random {
        let mut rng = SplitMix(opts.seed);
        let candidates: Vec<usize> = (0..sites.len())
            .filter(|&i| {
                !errnos_for(&sites[i], opts).is_empty() && worth_failing(&sites[i], 1, opts)
            })
            .collect();
        if !candidates.is_empty() {
            for _ in 0..n {
                let k = 1 + rng.below(3.min(candidates.len() as u64)) as usize;
                let mut chosen: Vec<usize> = Vec::new();
                while chosen.len() < k {
                    let i = candidates[rng.below(candidates.len() as u64) as usize];
                    if !chosen.contains(&i) {
                        chosen.push(i);
                    }
                }
                let faults = chosen
                    .into_iter()
                    .map(|i| {
                        let errnos = errnos_for(&sites[i], opts);
                        let e = &errnos[rng.below(errnos.len() as u64) as usize];
                        let nth = 1 + rng.below(sites[i].calls.max(1));
                        fault(sites, i, nth, Some(e), opts)
                    })
                    .collect();
                runs.push(faults);
            }
        }
    } else {
        for (i, site) in sites.iter().enumerate() {
            let calls = if opts.every { site.calls.max(1) } else { 1 };
            for nth in 1..=calls {
                let errnos = errnos_for(site, opts);
                if worth_failing(site, nth, opts) {
                    for e in errnos {
                        runs.push(vec![fault(sites, i, nth, Some(&e), opts)]);
                    }
                } else {
                    skipped += errnos.len();
                }
                if opts.crash && writes_or_syncs(&site.point) {
                    runs.push(vec![fault(sites, i, nth, None, opts)]);
                }
            }
        }
    }
    let planned = runs
        .into_iter()
        .enumerate()
        .map(|(index, faults)| Planned { index, faults, after: None })
        .collect();
    (planned, skipped)
}

pub fn errnos_for(site: &Site, opts: &Options) -> Vec<String> {
    match &opts.errnos {
        Some(list) => list.clone(),
        None => default_errnos(&site.point),
    }
}

/// The plan for in-code points (`--scope 'wal::*'`): each point reached is made to `return`
/// (from its first call on), then, in a run of its own, to `panic` (at its first call).
pub fn plan_code(sites: &[Site]) -> Vec<Planned> {
    let mut runs = Vec::new();
    for (i, s) in sites.iter().enumerate() {
        for (task, when) in [("return", "1+"), ("panic", "1")] {
            let fault = Fault {
                site: i,
                task: task.into(),
                errno: None,
                nth: 1,
                rule: format!("{}[when={when}]={task}", s.point),
            };
            runs.push(Planned { index: runs.len(), faults: vec![fault], after: None });
        }
    }
    runs
}

/// `--shard I/N` (I from 0, as `JOB_COMPLETION_INDEX`): every N-th run from the I-th.
pub fn shard(plan: Vec<Planned>, index: usize, count: usize) -> Vec<Planned> {
    plan.into_iter().filter(|p| p.index % count == index).collect()
}

/// Parses `I/N` with I < N.
pub fn parse_shard(text: &str) -> Result<(usize, usize), String> {
    let bad = || format!("`{text}` is not a shard: write I/N with 0 <= I < N, such as 0/4");
    let (i, n) = text.split_once('/').ok_or_else(bad)?;
    let (i, n): (usize, usize) =
        (i.trim().parse().map_err(|_| bad())?, n.trim().parse().map_err(|_| bad())?);
    if n == 0 || i >= n {
        return Err(bad());
    }
    Ok((i, n))
}

/// A small seeded generator (splitmix64): the same seed gives the same schedules anywhere.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(point: &str, id: &str, calls: u64) -> Site {
        Site {
            point: point.into(),
            function: point.trim_start_matches("sys:").into(),
            site: id.into(),
            path: None,
            abs_path: None,
            kind: None,
            frames: vec![],
            calls,
            stakes: vec![],
        }
    }

    #[test]
    fn each_site_times_each_default_errno() {
        let sites = [site("sys:write", "a1", 5), site("sys:fsync", "b2", 2)];
        let p = plan(&sites, &Options::default()).0;
        let rules: Vec<&str> = p.iter().map(|r| r.faults[0].rule.as_str()).collect();
        assert_eq!(
            rules,
            [
                "sys:write[site=a1,when=1+]=error(ENOSPC)",
                "sys:write[site=a1,when=1+]=error(EIO)",
                "sys:write[site=a1,when=1+]=error(EDQUOT)",
                "sys:fsync[site=b2,when=1+]=error(EIO)",
            ]
        );
        for r in &rules {
            failinject_engine::parse_rule(r).unwrap_or_else(|e| panic!("{r}: {e}"));
        }
    }

    #[test]
    fn every_call_crash_and_filters() {
        let sites = [site("sys:pwrite", "a1", 3), site("sys:open", "c3", 1)];
        let opts = Options {
            errnos: Some(vec!["EIO".into()]),
            every: true,
            transient: true,
            crash: true,
            filters: vec!["path=*.db".into()],
            ..Options::default()
        };
        let p = plan(&sites, &opts).0;
        // pwrite: 3 calls × (EIO + powercut); open: 1 call × EIO, no power cut (no data).
        assert_eq!(p.len(), 7);
        assert_eq!(p[5].faults[0].rule, "sys:pwrite[path=*.db,site=a1,when=3]=powercut");
        assert_eq!(p[6].faults[0].rule, "sys:open[path=*.db,site=c3,when=1]=error(EIO)");
        assert_eq!(p.iter().map(|r| r.index).collect::<Vec<_>>(), (0..7).collect::<Vec<_>>());
    }

    #[test]
    fn random_schedules_are_seeded_and_shards_partition() {
        let sites =
            [site("sys:write", "a", 10), site("sys:fsync", "b", 4), site("sys:close", "c", 9)];
        let opts = Options { random: Some(20), seed: 7, ..Options::default() };
        let (a, b) = (plan(&sites, &opts).0, plan(&sites, &opts).0);
        assert_eq!(a, b);
        assert_eq!(a.len(), 20);
        assert!(a.iter().all(|r| (1..=3).contains(&r.faults.len())));
        assert_ne!(a, plan(&sites, &Options { seed: 8, ..opts.clone() }).0);
        let mut seen: Vec<usize> =
            (0..3).flat_map(|i| shard(a.clone(), i, 3)).map(|r| r.index).collect();
        seen.sort();
        assert_eq!(seen, (0..20).collect::<Vec<_>>());
    }

    #[test]
    fn faults_that_cannot_lose_data_are_skipped_and_counted() {
        let mut close = site("sys:close", "c", 3);
        close.stakes = vec![false, true, false];
        let mut dirsync = site("sys:fsync", "d", 1);
        dirsync.stakes = vec![false];
        let mut write = site("sys:write", "w", 1);
        write.stakes = vec![false];
        let opts = Options { errnos: Some(vec!["EIO".into()]), ..Options::default() };
        let (p, skipped) = plan(&[close.clone(), dirsync.clone(), write.clone()], &opts);
        let rules: Vec<&str> = p.iter().map(|r| r.faults[0].rule.as_str()).collect();
        // The close's second call had a stake, so failing it from the first on can lose data;
        // the synced directory had none; a write always loses its own data.
        assert_eq!(
            rules,
            ["sys:close[site=c,when=1+]=error(EIO)", "sys:write[site=w,when=1+]=error(EIO)"]
        );
        assert_eq!(skipped, 1);
        let every = Options { every: true, transient: true, ..opts };
        let (p, skipped) = plan(&[close], &every);
        assert_eq!(p.len(), 1, "only the second call, transient");
        assert_eq!(p[0].faults[0].nth, 2);
        assert_eq!(skipped, 2);
    }

    #[test]
    fn bad_shards_and_errnos_are_refused() {
        assert_eq!(parse_shard("1/4"), Ok((1, 4)));
        assert!(parse_shard("4/4").is_err());
        assert!(parse_shard("x").is_err());
        assert_eq!(parse_errnos("EIO, ENOSPC").unwrap(), ["EIO", "ENOSPC"]);
        assert!(parse_errnos("EIOO").unwrap_err().contains("EIOO"));
    }
}
