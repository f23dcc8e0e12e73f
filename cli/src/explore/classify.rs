//! What a run's ending says about the program (docs/EXPLORE.md, SPEC §8).
#![forbid(unsafe_code)]

use failinject_engine::{Class, PointId, Role};
use serde::{Deserialize, Serialize};

/// How a run ended, as explore judges it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// The oracle passed and the program failed cleanly or legitimately routed around it.
    Handled,
    /// Exit 0 although a write, sync, close or rename failed for good: the error was lost.
    Swallowed,
    /// Killed by a signal nobody asked for, or a panic or abort.
    Crashed,
    /// Still running at the timeout.
    Hung,
    /// The oracle failed afterwards.
    Corrupted,
    /// A sync failed and dropped the unsynced data (`lose`), the program synced again, that
    /// "succeeded", and it exited 0: the data is gone and nobody knows (`--depth 2`).
    #[serde(rename = "retried-sync")]
    RetriedSync,
}

impl Outcome {
    /// Every outcome, in the order reports list them.
    pub const ALL: [Outcome; 6] = [
        Outcome::Handled,
        Outcome::Swallowed,
        Outcome::RetriedSync,
        Outcome::Crashed,
        Outcome::Hung,
        Outcome::Corrupted,
    ];

    /// Its name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Handled => "handled",
            Outcome::Swallowed => "swallowed",
            Outcome::Crashed => "crashed",
            Outcome::Hung => "hung",
            Outcome::Corrupted => "corrupted",
            Outcome::RetriedSync => "retried-sync",
        }
    }
}

/// How the command ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Ending {
    /// It exited with this status.
    Exited(i32),
    /// A signal ended it.
    Signaled(i32),
    /// It ran past the timeout and was stopped.
    TimedOut,
}

/// What happened in one run.
#[derive(Debug, Clone)]
pub struct Facts {
    /// How the command ended.
    pub ending: Ending,
    /// Whether its standard error shows a Rust panic.
    pub panicked: bool,
    /// `Some(passed)` when an oracle ran.
    pub oracle: Option<bool>,
    /// The faults that were injected: their point, errno (`None` for a power cut), and
    /// whether a call they failed had something to lose (`stakes.rs`).
    pub injected: Vec<(String, Option<String>, bool)>,
    /// Whether a sync that lost its data was retried, successfully (`depth.rs`).
    pub retried_sync: bool,
    /// Whether a `powercut` fired (its SIGKILL is ours).
    pub power_cut: bool,
    /// Whether an in-code point was made to `panic` (the panic, or abort, is ours).
    pub our_panic: bool,
}

/// Errnos a program cannot have recovered from on a write, sync, close or rename: the data
/// did not get where it was going.
const LOST: [&str; 6] = ["EIO", "ENOSPC", "EDQUOT", "EROFS", "EFBIG", "ENOMEM"];

/// Whether failing `point` with `errno` loses data unless the program reports it.
pub fn must_be_reported(point: &str, errno: &str) -> bool {
    let Some(id) = point.strip_prefix("sys:").and_then(PointId::from_name) else { return false };
    let classes = id.info().classes;
    let data = classes.contains(Class::Write)
        || classes.contains(Class::Sync)
        || classes.contains(Class::Close)
        || id.info().roles.contains(Role::Renames);
    data && LOST.contains(&errno)
}

/// The outcome of a run. A hang is judged first (the oracle does not run after one), then
/// the oracle (damaged data is the worst news), then how the program ended.
pub fn classify(f: &Facts) -> Outcome {
    if f.ending == Ending::TimedOut {
        return Outcome::Hung;
    }
    if f.oracle == Some(false) {
        return Outcome::Corrupted;
    }
    // A panic we injected that ended the program is judged by the oracle alone.
    if f.our_panic && matches!(f.ending, Ending::Signaled(_) | Ending::Exited(101)) {
        return Outcome::Handled;
    }
    match f.ending {
        Ending::Signaled(sig) if !(f.power_cut && sig == 9) => Outcome::Crashed,
        Ending::Exited(101) if f.panicked => Outcome::Crashed,
        Ending::Exited(0) if f.retried_sync => Outcome::RetriedSync,
        Ending::Exited(0)
            if f.injected.iter().any(|(p, e, stake)| {
                *stake && e.as_deref().is_some_and(|e| must_be_reported(p, e))
            }) =>
        {
            Outcome::Swallowed
        }
        _ => Outcome::Handled,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(ending: Ending, oracle: Option<bool>, point: &str, errno: Option<&str>) -> Facts {
        Facts {
            ending,
            panicked: false,
            oracle,
            injected: vec![(point.into(), errno.map(str::to_string), true)],
            retried_sync: false,
            power_cut: errno.is_none(),
            our_panic: false,
        }
    }

    #[test]
    fn the_spec_table() {
        use Ending::*;
        let c = |e, o, p, errno| classify(&facts(e, o, p, errno));
        assert_eq!(c(Exited(1), Some(true), "sys:write", Some("EIO")), Outcome::Handled);
        assert_eq!(c(Exited(0), None, "sys:write", Some("EIO")), Outcome::Swallowed);
        assert_eq!(c(Exited(0), None, "sys:fsync", Some("EIO")), Outcome::Swallowed);
        assert_eq!(c(Exited(0), None, "sys:rename", Some("EIO")), Outcome::Swallowed);
        assert_eq!(c(Exited(0), None, "sys:rename", Some("EXDEV")), Outcome::Handled);
        assert_eq!(c(Exited(0), None, "sys:open", Some("EACCES")), Outcome::Handled);
        assert_eq!(c(Exited(0), None, "sys:read", Some("EIO")), Outcome::Handled);
        assert_eq!(c(Signaled(11), Some(true), "sys:write", Some("EIO")), Outcome::Crashed);
        assert_eq!(c(Signaled(6), None, "sys:write", Some("EIO")), Outcome::Crashed);
        assert_eq!(c(TimedOut, Some(false), "sys:write", Some("EIO")), Outcome::Hung);
        assert_eq!(c(Exited(1), Some(false), "sys:write", Some("EIO")), Outcome::Corrupted);
        // A power cut kills with SIGKILL on purpose; only the oracle judges it.
        assert_eq!(c(Signaled(9), Some(true), "sys:write", None), Outcome::Handled);
        assert_eq!(c(Signaled(9), Some(false), "sys:write", None), Outcome::Corrupted);
        // A failed close of a descriptor with nothing to lose is not swallowed.
        let mut idle = facts(Exited(0), None, "sys:close", Some("EIO"));
        idle.injected[0].2 = false;
        assert_eq!(classify(&idle), Outcome::Handled);
        // An injected panic is ours: the oracle alone judges the state it left.
        let mut ours = facts(Exited(101), Some(true), "wal::append", None);
        (ours.power_cut, ours.our_panic) = (false, true);
        assert_eq!(classify(&ours), Outcome::Handled);
        ours.ending = Signaled(6);
        assert_eq!(classify(&ours), Outcome::Handled);
        ours.oracle = Some(false);
        assert_eq!(classify(&ours), Outcome::Corrupted);
        ours.our_panic = false;
        ours.oracle = Some(true);
        assert_eq!(classify(&ours), Outcome::Crashed, "a panic nobody injected");
        let mut retried = facts(Exited(0), None, "sys:fsync", Some("EIO"));
        retried.retried_sync = true;
        assert_eq!(classify(&retried), Outcome::RetriedSync);
        retried.ending = Exited(1);
        assert_eq!(classify(&retried), Outcome::Handled, "reported after all");
        let mut panic = facts(Exited(101), None, "sys:write", Some("EIO"));
        panic.panicked = true;
        assert_eq!(classify(&panic), Outcome::Crashed);
    }
}
