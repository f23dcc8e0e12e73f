//! Near misses (issue 18): for a rule that has not fired yet, the calls that came close, so
//! that `failinject run` can say why the rule never fired instead of "check its filters".
//!
//! Two kinds are found from a call no rule decided:
//!
//! - the rule's own function on descriptor 0, 1 or 2, which a rule without a `path`, `fd` or
//!   `kind` filter never matches (`dd of=FILE` writes its output through fd 1);
//! - another function of one of the rule's classes (the siblings) on a target the rule's
//!   filters accept, with every task of the rule fitting it (`cp` copies with
//!   `copy_file_range`, not `write`).
//!
//! The preload asks about a call only while some libc rule has not fired, and only for calls
//! on the slow path: the siblings are sent there by [`Snapshot::sibling_points`] until then.

use super::Snapshot;
use crate::SysCall;
use crate::fit::task_fits;
use crate::points::{Class, PointId, PointSet};
use crate::rule::Points;

/// How a call that no rule decided came close to a rule that has not fired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NearMiss {
    /// The rule's own function on descriptor 0, 1 or 2, which a rule without a `path`, `fd`
    /// or `kind` filter never matches.
    StdStream,
    /// Another function of one of the rule's classes, on a target its filters accept.
    Sibling,
    /// A shared writable mapping (`mmap` with `MAP_SHARED` and `PROT_WRITE`) of a file that a
    /// rule of the write class accepts: its writes reach the file past every libc function.
    SharedMapping,
}

impl NearMiss {
    /// How telling it is, seen at a call of `point`: a write through another function names
    /// the fix (3), a shared writable mapping says where the writes went (2: fio's `mmap`
    /// engine stats its file before it maps it), any other function (1), a standard stream
    /// (0). The preload keeps the most telling near miss of each rule, and the summary too.
    pub fn rank(self, point: PointId) -> u8 {
        match self {
            NearMiss::Sibling if point.info().classes.contains(Class::Write) => 3,
            NearMiss::SharedMapping => 2,
            NearMiss::Sibling => 1,
            NearMiss::StdStream => 0,
        }
    }

    /// Its name in the log's exit record: `stdstream`, `sibling`, `sharedmap`.
    pub fn name(self) -> &'static str {
        match self {
            NearMiss::StdStream => "stdstream",
            NearMiss::Sibling => "sibling",
            NearMiss::SharedMapping => "sharedmap",
        }
    }

    /// The near miss a log names.
    pub fn from_name(name: &str) -> Option<NearMiss> {
        [NearMiss::StdStream, NearMiss::Sibling, NearMiss::SharedMapping]
            .into_iter()
            .find(|n| n.name() == name)
    }
}

impl Snapshot {
    /// The points no rule names that share a class with a libc rule's points: calls to them
    /// may be near misses of that rule.
    pub fn sibling_points(&self) -> PointSet {
        let mut named = PointSet::EMPTY;
        let mut near = PointSet::EMPTY;
        for r in &self.rules {
            let Points::Sys(sys) = &r.rule.points else { continue };
            named.union_with(&sys.set);
            for p in sys.set.iter() {
                for class in p.info().classes.iter() {
                    near.union_with(&PointSet::class(class));
                }
            }
        }
        // A file a write rule accepts may be written through a shared mapping instead.
        if self.rules.iter().any(|r| writes(&r.rule.points)) {
            near.insert(PointId::of("mmap"));
        }
        near.iter().filter(|p| !named.contains(*p)).collect()
    }

    /// Calls `seen` with the index of each rule of the write class that has not injected and
    /// whose target filters accept the file of `call`, an `mmap` that the caller found shared
    /// and writable.
    pub fn mapping_near_misses(&self, call: &SysCall<'_>, mut seen: impl FnMut(usize, NearMiss)) {
        for (i, r) in self.rules.iter().enumerate() {
            if r.state.injections() == 0
                && writes(&r.rule.points)
                && call.fd.is_some_and(|fd| fd >= 0)
                && r.filters.pass_target(call)
            {
                seen(i, NearMiss::SharedMapping);
            }
        }
    }

    /// Whether every libc rule has injected at least once: then no near miss matters.
    pub fn sys_rules_fired(&self) -> bool {
        self.rules
            .iter()
            .filter(|r| matches!(r.rule.points, Points::Sys(_)))
            .all(|r| r.state.injections() > 0)
    }

    /// Calls `seen` with the index (as in [`Snapshot::rule_entries`]) of each libc rule that
    /// has not injected and that `call`, which no rule decided, came close to.
    pub fn near_misses(&self, call: &SysCall<'_>, mut seen: impl FnMut(usize, NearMiss)) {
        for (i, r) in self.rules.iter().enumerate() {
            let Points::Sys(sys) = &r.rule.points else { continue };
            if r.state.injections() > 0 {
                continue;
            }
            if sys.set.contains(call.point) {
                let std = matches!(call.fd, Some(0..=2));
                if std
                    && !r.filters.names_target
                    && r.filters.fd.is_none()
                    && r.filters.kinds.matches(call.kind)
                {
                    seen(i, NearMiss::StdStream);
                }
            } else if r.classes & call.point.info().classes.bits() != 0
                && r.filters.pass_target(call)
                && r.rule.chain.iter().all(|a| task_fits(call.point.info(), &a.task).is_ok())
            {
                seen(i, NearMiss::Sibling);
            }
        }
    }
}

/// Whether a rule names a function of the write class.
fn writes(points: &Points) -> bool {
    let Points::Sys(sys) = points else { return false };
    sys.set.iter().any(|p| p.info().classes.contains(Class::Write))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_elsewhere_outranks_a_mapping_which_outranks_a_stat() {
        let p = |name| PointId::from_name(name).unwrap();
        assert!(NearMiss::Sibling.rank(p("pwrite")) > NearMiss::SharedMapping.rank(p("mmap")));
        assert!(NearMiss::SharedMapping.rank(p("mmap")) > NearMiss::Sibling.rank(p("stat")));
        assert!(NearMiss::Sibling.rank(p("stat")) > NearMiss::StdStream.rank(p("write")));
        for n in [NearMiss::StdStream, NearMiss::Sibling, NearMiss::SharedMapping] {
            assert_eq!(NearMiss::from_name(n.name()), Some(n));
        }
    }
}
