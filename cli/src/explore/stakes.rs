//! What a failed call could have lost, read from the recording run's trace.
//!
//! A failed write always loses its own data. A failed sync or close loses something only if
//! its descriptor was written since its last successful sync (a read-only descriptor, a
//! directory stream, a file already synced have nothing to lose); `fflush` only if the stream
//! has written something since its last flush; a directory sync only if entries of that
//! directory changed since its last sync (a rename, a removal, a link, or a file opened and
//! written there, which may have been created). Renames always change an entry.
//!
//! The recording run logs every file call of the program (the scope's, and a trace rule's
//! for the rest), in order, per process. Replaying those records gives, for each call of each
//! site in scope, whether it had something at stake: [`stakes`]. `plan` skips faults that
//! cannot lose data, and `classify` only calls a run `swallowed` when the call that failed
//! had something at stake.
#![forbid(unsafe_code)]

use failinject_engine::points::{POINTS, PointInfo};
use failinject_engine::{Class, PointId, Role, Roles};
use serde_json::Value;
use std::collections::{HashMap, HashSet};

/// The calls the recording run traces besides the scope, so that every write, sync, close
/// and directory change is seen: their records are only replayed here, never explored. The
/// classes name the writes, syncs, opens and closes; the directory changes come from the
/// table's roles (`renames`, `removes`, `makes`).
pub fn trace(seccomp: bool) -> String {
    let mut rule = String::from("sys:@write|@sync|@open|@close");
    let seen = |p: &&failinject_engine::points::PointInfo| {
        !seccomp || crate::seccomp::table::instead(p.name).is_none()
    };
    for p in POINTS.iter().filter(|p| p.roles.meets(Roles::DIRECTORIES)).filter(seen) {
        rule.push('|');
        rule.push_str(p.name);
    }
    rule
}

/// Whether failing `point` can lose data only when the call had something at stake: syncs,
/// closes and stdio flushes (writes always lose their own data).
pub fn depends_on_stake(point: &str) -> bool {
    let Some(id) = point.strip_prefix("sys:").and_then(PointId::from_name) else { return false };
    let info = id.info();
    info.classes.contains(Class::Sync)
        || info.classes.contains(Class::Close)
        || info.roles.contains(Role::Flushes)
}

/// What one process has done so far.
#[derive(Default)]
struct Proc {
    /// Descriptors written since their last successful sync.
    dirty: HashSet<i64>,
    /// Streams (by descriptor) written since their last flush.
    buffered: HashSet<i64>,
    /// Files opened since their directory's last sync and not yet written: a write to one
    /// may be to a file the open created.
    fresh: HashSet<String>,
    /// Directories with entries changed since their last sync.
    dirs: HashSet<String>,
}

fn parent(path: &str) -> String {
    match path.rfind('/') {
        Some(0) => "/".to_string(),
        Some(i) => path[..i].to_string(),
        None => ".".to_string(),
    }
}

impl Proc {
    /// Replays one call; returns whether it had something at stake. What the call does comes
    /// from its roles in the libc table.
    fn call(&mut self, info: &PointInfo, r: &Rec) -> bool {
        let (fd, classes) = (r.fd, info.classes);
        // A failed call's record has its errno and no result.
        let ok = !r.failed && r.result.is_none_or(|v| v >= 0);
        if info.roles.contains(Role::Closes) {
            // A directory stream holds no data.
            if classes.contains(Class::Dir) {
                return false;
            }
            // A range of descriptors (`close_range`, `closefrom`) is not followed here.
            if !info.closes_its_target() {
                return true;
            }
            let stake =
                fd.is_some_and(|fd| self.dirty.contains(&fd) || self.buffered.contains(&fd));
            if let Some(fd) = fd {
                self.dirty.remove(&fd);
                self.buffered.remove(&fd);
            }
            return stake;
        }
        if info.roles.contains(Role::Flushes) {
            return match fd {
                Some(fd) => self.buffered.remove(&fd),
                None => !std::mem::take(&mut self.buffered).is_empty(),
            };
        }
        // `sync`, `syncfs`: everything the process wrote.
        if info.syncs_many() {
            let stake = !self.dirty.is_empty() || !self.dirs.is_empty();
            if ok {
                self.dirty.clear();
                self.dirs.clear();
            }
            return stake;
        }
        // Writes through mappings are not followed: an `msync` may always lose something.
        if classes.contains(Class::Mmap) && classes.contains(Class::Sync) {
            return true;
        }
        if info.roles.meets(Roles::DIRECTORIES) {
            // A rename changes both directories; a removal or a new entry, the target's.
            let second = if info.roles.contains(Role::Renames) { &r.path2 } else { &None };
            for p in [&r.path, second].into_iter().flatten() {
                self.dirs.insert(parent(p));
            }
            return true;
        }
        if classes.contains(Class::Sync) {
            let file = fd.is_some_and(|fd| self.dirty.contains(&fd));
            let dir = r.path.as_ref().is_some_and(|p| self.dirs.contains(p));
            if ok {
                if let Some(fd) = fd {
                    self.dirty.remove(&fd);
                }
                if let Some(p) = &r.path {
                    self.dirs.remove(p);
                }
            }
            return file || dir;
        }
        if classes.contains(Class::Write) {
            if let Some(fd) = fd {
                self.dirty.insert(fd);
                if classes.contains(Class::Stdio) {
                    self.buffered.insert(fd);
                }
            }
            if let Some(p) = &r.path
                && self.fresh.remove(p)
            {
                self.dirs.insert(parent(p));
            }
            return true;
        }
        if classes.contains(Class::Open) {
            if let Some(p) = &r.path {
                self.fresh.insert(p.clone());
            }
            return true;
        }
        true
    }
}

/// The fields of a log record this replay reads.
struct Rec {
    fd: Option<i64>,
    path: Option<String>,
    path2: Option<String>,
    result: Option<i64>,
    /// The call failed (injected with an errno).
    failed: bool,
}

/// For each site of the scope (by point and site id), whether its n-th call (index n-1) had
/// something at stake, combined over processes (the n-th call of any process). `scope_key`
/// is the key of the scope's recording rule: records of the trace rule are replayed, not
/// listed.
pub fn stakes(log: &str, scope_key: &str) -> HashMap<(String, String), Vec<bool>> {
    let mut procs: HashMap<i64, Proc> = HashMap::new();
    let mut out: HashMap<(String, String), Vec<bool>> = HashMap::new();
    let mut calls: HashMap<(i64, String, String), usize> = HashMap::new();
    for line in log.lines() {
        let Ok(Value::Object(r)) = serde_json::from_str::<Value>(line) else { continue };
        if r.get("type").and_then(Value::as_str) != Some("inject") {
            continue;
        }
        let text = |k: &str| r.get(k).and_then(Value::as_str).map(str::to_string);
        let num = |k: &str| r.get(k).and_then(Value::as_i64);
        let Some(point) = text("point") else { continue };
        let Some(id) = point.strip_prefix("sys:").and_then(PointId::from_name) else { continue };
        let rec = Rec {
            fd: num("fd"),
            path: text("path"),
            path2: text("path2"),
            result: num("result"),
            failed: r.contains_key("errno"),
        };
        let proc = procs.entry(num("pid").unwrap_or(0)).or_default();
        let stake = proc.call(id.info(), &rec);
        if text("rule").as_deref() == Some(scope_key)
            && let Some(site) = text("site")
        {
            // The n-th call of this site in this process (a rule's hit number counts the
            // calls of all its sites).
            let n =
                calls.entry((num("pid").unwrap_or(0), point.clone(), site.clone())).or_insert(0);
            *n += 1;
            let i = *n - 1;
            let v = out.entry((point, site)).or_default();
            if v.len() <= i {
                v.resize(i + 1, false);
            }
            v[i] |= stake;
        }
    }
    out
}

/// Whether a fault at a site whose calls had `stakes` can lose data: from call `nth` on
/// (`persistent`), or that call only. Calls past the recording's count the recording cannot
/// vouch for: they count as at stake.
pub fn can_lose(stakes: &[bool], nth: u64, persistent: bool) -> bool {
    let i = nth.saturating_sub(1) as usize;
    if i >= stakes.len() {
        return true;
    }
    if persistent { stakes[i..].iter().any(|&s| s) } else { stakes[i] }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(pid: i64, point: &str, fd: Option<i64>, path: &str, rule: &str, hit: u64) -> String {
        let fd = fd.map_or(String::new(), |fd| format!(r#""fd":{fd},"#));
        format!(
            r#"{{"type":"inject","pid":{pid},"point":"sys:{point}",{fd}"path":"{path}","site":"s-{point}","rule":"{rule}","hit":{hit},"result":0}}"#
        )
    }

    #[test]
    fn only_what_was_written_and_not_synced_is_at_stake() {
        let scope = "sys:@sync|@close|@write";
        let log = [
            // A read-only file opened, closed: nothing at stake.
            rec(1, "open", Some(3), "/d/ro", "trace", 1),
            rec(1, "close", Some(3), "/d/ro", scope, 1),
            // Written, synced, closed: the sync had a stake, the close none.
            rec(1, "open", Some(3), "/d/tmp", "trace", 2),
            rec(1, "write", Some(3), "/d/tmp", scope, 1),
            rec(1, "fsync", Some(3), "/d/tmp", scope, 1),
            rec(1, "close", Some(3), "/d/tmp", scope, 2),
            // The rename changes /d; its directory sync has a stake, a second one none.
            r#"{"type":"inject","pid":1,"point":"sys:rename","path":"/d/f","path2":"/d/tmp","site":"r","rule":"trace","hit":1,"result":0}"#.to_string(),
            rec(1, "fsync", Some(4), "/d", scope, 2),
            rec(1, "fsync", Some(4), "/d", scope, 3),
            rec(1, "closedir", Some(4), "/d", scope, 3),
            // Written and closed without a sync: the close had a stake.
            rec(1, "write", Some(5), "/d/g", scope, 2),
            rec(1, "close", Some(5), "/d/g", scope, 4),
        ]
        .join("\n");
        let s = stakes(&log, scope);
        let get = |p: &str| s[&(format!("sys:{p}"), format!("s-{p}"))].clone();
        assert_eq!(get("close"), [false, false, true]);
        assert_eq!(get("fsync"), [true, true, false]);
        assert_eq!(get("write"), [true, true]);
        assert!(can_lose(&[false, true], 1, true));
        assert!(!can_lose(&[false, true], 1, false));
        assert!(!can_lose(&[true, false], 2, true));
        assert!(can_lose(&[false], 2, true), "past the recording: at stake");
    }

    #[test]
    fn a_flush_has_a_stake_only_after_stdio_writes() {
        let scope = "sys:fflush";
        let log = [
            rec(7, "fflush", Some(3), "/d/f", scope, 1),
            rec(7, "fwrite", Some(3), "/d/f", "trace", 1),
            rec(7, "fflush", Some(3), "/d/f", scope, 2),
            rec(7, "fflush", Some(3), "/d/f", scope, 3),
        ]
        .join("\n");
        let s = stakes(&log, scope);
        assert_eq!(s[&("sys:fflush".into(), "s-fflush".into())], [false, true, false]);
        assert!(depends_on_stake("sys:fflush") && depends_on_stake("sys:close"));
        assert!(!depends_on_stake("sys:write") && !depends_on_stake("sys:rename"));
    }
}
