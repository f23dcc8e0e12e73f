//! The recording run: every call to a point in scope, with its call site, read back from the
//! injection log of a run whose only rule is a `print` on the scope.
#![forbid(unsafe_code)]

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashMap;

/// One call site seen in the recording run: a place in the program that calls a libc point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Site {
    /// The point (`sys:write`).
    pub point: String,
    /// The exported function called (`pwrite64`).
    pub function: String,
    /// The call-site id (hex), as `site=` takes it.
    pub site: String,
    /// The file of the first call at this site, if it had one (relative to the run's
    /// directory when inside it).
    pub path: Option<String>,
    /// That file's absolute path in the recording run, for `--ignore` filters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abs_path: Option<String>,
    /// Its kind (`file`, `dir`, …), when the log said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The call stack of the first call (`module+offset [symbol]`), symbolized later.
    pub frames: Vec<String>,
    /// How many calls the site made in the recording run.
    pub calls: u64,
    /// Whether each call had something to lose (`stakes.rs`): the n-th at index n-1.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stakes: Vec<bool>,
}

/// The sites of a recording log, in the order they were first reached: the calls recorded by
/// the rule whose key is `scope_key` (the trace rule's are not explored). Calls are grouped by
/// point and site: one place calls one function, but a site id is only a hash, and the
/// fault rule names both.
pub fn sites(log: &str, scope_key: &str) -> Vec<Site> {
    let mut order: Vec<Site> = Vec::new();
    let mut index: HashMap<(String, String), usize> = HashMap::new();
    for line in log.lines() {
        let Ok(Value::Object(r)) = serde_json::from_str::<Value>(line) else { continue };
        if r.get("type").and_then(Value::as_str) != Some("inject") {
            continue;
        }
        let text = |k: &str| r.get(k).and_then(Value::as_str).map(str::to_string);
        let (Some(point), Some(site)) = (text("point"), text("site")) else { continue };
        if !point.starts_with("sys:") || text("rule").as_deref() != Some(scope_key) {
            continue;
        }
        let key = (point.clone(), site.clone());
        let i = *index.entry(key).or_insert_with(|| {
            let frames = r
                .get("frames")
                .and_then(Value::as_array)
                .map(|f| f.iter().filter_map(Value::as_str).map(str::to_string).collect())
                .unwrap_or_default();
            order.push(Site {
                point,
                function: text("function").unwrap_or_default(),
                site,
                path: text("path").map(|p| super::runner::relative_to_run(&p).into_owned()),
                abs_path: text("path"),
                kind: text("kind"),
                frames,
                calls: 0,
                stakes: Vec::new(),
            });
            order.len() - 1
        });
        order[i].calls += 1;
    }
    order
}

/// The in-code points of a recording log whose names `matches` accepts, one site each, in
/// the order they were first reached (`"type":"reach"` records: the first call of each point
/// in each process, with its frames).
pub fn code_sites(log: &str, matches: impl Fn(&str) -> bool) -> Vec<Site> {
    let mut out: Vec<Site> = Vec::new();
    for r in log.lines().filter_map(|l| serde_json::from_str::<Value>(l).ok()) {
        if r.get("type").and_then(Value::as_str) != Some("reach") {
            continue;
        }
        let text = |k: &str| r.get(k).and_then(Value::as_str).map(str::to_string);
        let Some(point) = text("point").filter(|p| matches(p)) else { continue };
        if let Some(s) = out.iter_mut().find(|s| s.point == point) {
            s.calls += 1;
            continue;
        }
        let frames = r
            .get("frames")
            .and_then(Value::as_array)
            .map(|f| f.iter().filter_map(Value::as_str).map(str::to_string).collect())
            .unwrap_or_default();
        out.push(Site {
            function: point.clone(),
            point,
            site: text("site").unwrap_or_default(),
            path: None,
            abs_path: None,
            kind: None,
            frames,
            calls: 1,
            stakes: Vec::new(),
        });
    }
    out
}

/// For each rule that injected something in a run's log, the hit numbers of its injections
/// (the n-th call its filters selected).
pub fn hits(log: &str) -> HashMap<String, Vec<u64>> {
    let mut out: HashMap<String, Vec<u64>> = HashMap::new();
    for r in log.lines().filter_map(|l| serde_json::from_str::<Value>(l).ok()) {
        if r.get("type").and_then(Value::as_str) == Some("inject")
            && let Some(rule) = r.get("rule").and_then(Value::as_str)
        {
            out.entry(rule.to_string())
                .or_default()
                .push(r.get("hit").and_then(Value::as_u64).unwrap_or(1));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_group_by_point_and_site_in_first_seen_order() {
        let log = r#"{"type":"start","pid":1}
{"type":"inject","point":"sys:write","function":"write","site":"aa","path":"/d/x","frames":["p+0x1","libc.so.6+0x2"],"rule":"S"}
{"type":"inject","point":"sys:fsync","function":"fsync","site":"bb","path":"/d/x","frames":[],"rule":"S"}
{"type":"inject","point":"sys:write","function":"write","site":"aa","path":"/d/y","frames":[],"rule":"S"}
{"type":"inject","point":"sys:close","function":"close","site":"dd","path":"/d/y","frames":[],"rule":"trace"}
{"type":"inject","point":"wal::append","function":"wal::append","site":"cc","rule":"S"}
garbage
"#;
        let s = sites(log, "S");
        assert_eq!(s.len(), 2);
        assert_eq!(
            (s[0].point.as_str(), s[0].calls, s[0].path.as_deref()),
            ("sys:write", 2, Some("/d/x"))
        );
        assert_eq!(s[0].frames, ["p+0x1", "libc.so.6+0x2"]);
        assert_eq!((s[1].point.as_str(), s[1].calls), ("sys:fsync", 1));
        let keys = hits(log);
        assert_eq!(keys.len(), 2, "{keys:?}");
        let fired = r#"{"type":"inject","rule":"sys:fsync[site=bb,when=1+]","hit":3}"#;
        assert_eq!(hits(fired)["sys:fsync[site=bb,when=1+]"], [3]);
    }
}
