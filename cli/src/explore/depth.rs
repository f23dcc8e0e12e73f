//! `--depth 2`: the paths behind the first fault.
//!
//! A program's recovery code (the retry, the cleanup, the error report) only runs after a
//! first fault, so the recording run never sees it. At depth 2 every first-level run also
//! records its calls, and each call the fault led to (after the fault, a call at a site the
//! recording never reached, or past the number of calls it made there) becomes a second
//! fault of a run of its own: the first fault as before, then that site failed from the call
//! the recovery path made on. Calls the program makes after the fault just as it would have
//! without it are the fault-free path, which depth 1 explored already.
//!
//! Depth 2 also asks the fsyncgate question of every sync site: the first sync is failed
//! once with `lose(EIO)`, which drops the unsynced writes as Linux does after a writeback
//! error, so a retried sync "succeeds" while the data is gone. A program that retries and
//! then exits 0 is a `retried-sync` finding of its own.
#![forbid(unsafe_code)]

use super::plan::{Fault, Options, Planned, errnos_for, rule, worth_failing};
use super::record::{self, Site};
use super::stakes;
use failinject_engine::{Class, PointId, Role};
use serde_json::Value;
use std::collections::HashMap;

/// At most this many second faults follow one first fault (and the index space of each
/// first-level run's second-level runs).
pub const PER_FIRST: usize = 64;

/// The `lose(EIO)` faults of depth 2: one at each sync site whose first call had data at
/// stake, failing that call once.
pub fn lost_syncs(sites: &[Site], opts: &Options) -> Vec<Vec<Fault>> {
    sites
        .iter()
        .enumerate()
        .filter(|(_, s)| is_sync(&s.point) && worth_failing(s, 1, opts))
        .map(|(i, s)| {
            let task = "lose(EIO)".to_string();
            vec![Fault {
                site: i,
                rule: rule(s, opts, 1, &task),
                task,
                errno: Some("EIO".into()),
                nth: 1,
            }]
        })
        .collect()
}

fn is_sync(point: &str) -> bool {
    let Some(id) = point.strip_prefix("sys:").and_then(PointId::from_name) else { return false };
    // `sync()` and `syncfs` (`syncs(all)`, `syncs(fs)`) name no one file, and `msync` (no
    // `syncs` role) no descriptor: a retry of theirs cannot be matched to the loss.
    id.info().roles.contains(Role::Syncs) && !id.info().syncs_many()
}

/// A record of a run's log, as far as depth 2 reads it.
struct Rec {
    pid: i64,
    point: String,
    site: Option<String>,
    path: Option<String>,
    rule: String,
    result: Option<i64>,
}

fn records(log: &str) -> Vec<Rec> {
    log.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|r| r.get("type").and_then(Value::as_str) == Some("inject"))
        .filter_map(|r| {
            let text = |k: &str| r.get(k).and_then(Value::as_str).map(str::to_string);
            Some(Rec {
                pid: r.get("pid").and_then(Value::as_i64).unwrap_or(0),
                point: text("point")?,
                site: text("site"),
                path: text("path"),
                rule: text("rule")?,
                result: r.get("result").and_then(Value::as_i64),
            })
        })
        .collect()
}

/// Whether the program synced the same file again, successfully, after the `lose` fault
/// whose rule key is `fault_key` dropped its data: the retry "succeeded" over the loss.
pub fn retried(log: &str, fault_key: &str) -> bool {
    let recs = records(log);
    let Some(at) = recs.iter().position(|r| r.rule == fault_key) else { return false };
    let lost = &recs[at];
    recs[at + 1..].iter().any(|r| {
        r.pid == lost.pid
            && r.path.is_some()
            && r.path == lost.path
            && r.result == Some(0)
            && r.point
                .strip_prefix("sys:")
                .and_then(PointId::from_name)
                .is_some_and(|p| p.info().classes.contains(Class::Sync))
    })
}

/// The second-level runs behind one first-level run: each site in scope that the run
/// reached after its fault (by the first fault's process, in order), failed from that call
/// on, one errno each (the point's first, or each of `--errno`). New sites join `sites`.
pub fn second_level(
    first: &Planned,
    log: &str,
    scope_key: &str,
    base: usize,
    sites: &mut Vec<Site>,
    opts: &Options,
) -> Vec<Planned> {
    let recs = records(log);
    let first_fault = &first.faults[0];
    let Ok(first_rule) = failinject_engine::parse_rule(&first_fault.rule) else {
        return Vec::new();
    };
    let key = first_rule.key();
    let Some(at) = recs.iter().position(|r| r.rule == key) else { return Vec::new() };
    let pid = recs[at].pid;
    let first_site = (sites[first_fault.site].point.clone(), sites[first_fault.site].site.clone());
    // The n-th call of each site in this process, and what each call had at stake.
    let at_stake = stakes::stakes(log, scope_key);
    let seen_sites = record::sites(log, scope_key);
    let mut calls: HashMap<(String, String), u64> = HashMap::new();
    let mut out: Vec<Planned> = Vec::new();
    let mut done: Vec<(String, String)> = Vec::new();
    for (i, r) in recs.iter().enumerate() {
        if r.pid != pid || r.rule != scope_key {
            continue;
        }
        let Some(site_id) = &r.site else { continue };
        let id = (r.point.clone(), site_id.clone());
        let n = calls.entry(id.clone()).or_insert(0);
        *n += 1;
        if i < at || id == first_site || done.contains(&id) || out.len() >= PER_FIRST {
            continue;
        }
        // Only the path the fault led to: the recording made this many calls here.
        let recorded =
            sites.iter().find(|s| s.point == id.0 && s.site == id.1).map_or(0, |s| s.calls);
        if *n <= recorded {
            continue;
        }
        done.push(id.clone());
        // The site as this run saw it, in the campaign's list.
        let index = match sites.iter().position(|s| s.point == id.0 && s.site == id.1) {
            Some(k) => k,
            None => {
                let Some(mut s) =
                    seen_sites.iter().find(|s| s.point == id.0 && s.site == id.1).cloned()
                else {
                    continue;
                };
                s.calls = 0;
                sites.push(s);
                sites.len() - 1
            }
        };
        let mut site = sites[index].clone();
        site.stakes = at_stake.get(&id).cloned().unwrap_or_default();
        if !worth_failing(&site, *n, opts) {
            continue;
        }
        let errnos = errnos_for(&site, opts);
        let errnos =
            if opts.errnos.is_some() { errnos } else { errnos.into_iter().take(1).collect() };
        for e in errnos {
            if out.len() >= PER_FIRST {
                break;
            }
            let task = format!("error({e})");
            let second = Fault {
                site: index,
                rule: rule(&site, opts, *n, &task),
                task,
                errno: Some(e),
                nth: *n,
            };
            out.push(Planned {
                index: base + first.index * PER_FIRST + out.len(),
                faults: vec![first_fault.clone(), second],
                after: Some(first.index),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_retry_after_a_lost_sync_is_seen() {
        let lose = "sys:fsync[site=aa,when=1]";
        let log = [
            format!(r#"{{"type":"inject","pid":5,"point":"sys:fsync","path":"/d/f","site":"aa","rule":"{lose}","hit":1}}"#),
            r#"{"type":"inject","pid":5,"point":"sys:write","path":"/d/g","site":"bb","rule":"S","hit":1,"result":3}"#.into(),
            r#"{"type":"inject","pid":5,"point":"sys:fsync","path":"/d/f","site":"aa","rule":"S","hit":2,"result":0}"#.into(),
        ]
        .join("\n");
        assert!(retried(&log, lose));
        let no_retry: String = log.lines().take(2).collect::<Vec<_>>().join("\n");
        assert!(!retried(&no_retry, lose));
    }
}
