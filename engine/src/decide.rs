//! Decisions: given one call, walk the rules and say what to do (§3.3 of the spec).
//!
//! A [`Snapshot`] is an immutable, compiled copy of the registry. Evaluating it takes no lock
//! and allocates nothing: a point with no rule costs one bounds-checked load; a rule's
//! counters are atomics; random choices are hashes of the seed, the rule and its evaluation
//! count. This is the code the preload runs inside every intercepted call, signal handlers
//! included.

use crate::counters::{Entry, RuleState};
use crate::errno::{Errno, Signal};
use crate::matcher::PathMatcher;
use crate::points::{POINTS, PointId, PointSet};
use crate::random::{Purpose, draw, name_hash, threshold};
use crate::rule::{Cmp, Corruption, FileKind, Filter, KindSet, Points, Rule, Task, When};
use std::sync::Arc;
use std::sync::atomic::Ordering;

mod near;
pub use near::NearMiss;

/// The facts of one libc call that rules match on.
#[derive(Debug, Clone, Copy)]
pub struct SysCall<'a> {
    /// The function called.
    pub point: PointId,
    /// The call's descriptor (for a copy, the one written), if it has one.
    pub fd: Option<i32>,
    /// The absolute path of the target, if known.
    pub path: Option<&'a [u8]>,
    /// The other path of a two-file call (`rename`'s source, a copy's source).
    pub path2: Option<&'a [u8]>,
    /// The kind of the target.
    pub kind: FileKind,
    /// The byte count of a read/write-like call.
    pub size: Option<u64>,
}

impl<'a> SysCall<'a> {
    /// A call to `point` with no target known yet.
    pub fn new(point: PointId) -> SysCall<'a> {
        SysCall { point, fd: None, path: None, path2: None, kind: FileKind::Unknown, size: None }
    }
}

/// What a decision may ask of the calling thread, only when a rule needs it: computing a
/// call-site id walks the stack, so it is done lazily.
pub trait Context {
    /// The id of the call site (a hash of the caller's return addresses).
    fn site(&mut self) -> u64 {
        0
    }
    /// Whether the thread is inside `fail_scope!(NAME)`, NAME having this [`name_hash`].
    fn within(&self, _name_hash: u64) -> bool {
        false
    }
    /// The process's title (`/proc/self/cmdline`, arguments joined by spaces), for `proc=`
    /// filters; `None` when it cannot be known (then no such rule applies).
    fn proc_title(&mut self) -> Option<&[u8]> {
        None
    }
    /// Whether the in-code point with this [`name_hash`] was reached in this process.
    fn reached(&self, _name_hash: u64) -> bool {
        false
    }
}

/// A [`Context`] with no scopes, no reached points and site 0.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoContext;
impl Context for NoContext {}

/// What to do with a call: the rule that decided and its effect.
#[derive(Debug)]
pub struct Decision<'s> {
    /// The rule's position in the configuration, from 0.
    pub rule_index: usize,
    /// The rule.
    pub rule: &'s Rule,
    /// The rule's key, for logs.
    pub key: &'s str,
    /// The rule's counters (a `pause` waits for [`RuleState::is_retired`]).
    pub state: &'s RuleState,
    /// Which match of the rule this is, from 1.
    pub hit: u64,
    /// What to do.
    pub effect: Effect<'s>,
    /// Whether this counts as an injected fault. A `full` or `short` that lets the whole call
    /// through does not: it is counted as a match only, and logs nothing.
    pub injected: bool,
}

/// The effect of a decision, with every random choice already made.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Effect<'s> {
    /// Skip the call and return this value (libc points).
    Return(i64),
    /// The `fail_point!` closure gets this argument (in-code points).
    ReturnArg(Option<&'s str>),
    /// Sleep this many milliseconds, then go ahead.
    Sleep(u64),
    /// Busy-wait this many milliseconds, then go ahead.
    Delay(u64),
    /// Abort (libc) or panic (in-code), with this message.
    Panic(Option<&'s str>),
    /// Log this message, then go ahead.
    Print(Option<&'s str>),
    /// Block until the rule is retired.
    Pause,
    /// Yield the CPU, then go ahead.
    Yield,
    /// Fail with this errno.
    Error(Errno),
    /// Make the call with at most this many bytes.
    Short(u64),
    /// Alter the data, using these random bits.
    Corrupt(Corruption, u64),
    /// A `full` rule: the call may move this many bytes (fewer than asked: shorten it; zero:
    /// fail with ENOSPC). Return bytes not written with [`Decision::refund`].
    Full(u64),
    /// Raise this signal before the call.
    Kill(Signal),
    /// Roll back un-synced changes but those the cut keeps, then SIGKILL.
    Powercut {
        /// The cut: its mode, directory entries, sector size.
        cut: failinject_crash::Cut,
        /// The seed its choices are drawn from (the rule's, for this evaluation).
        seed: u64,
    },
    /// Fail the sync with this errno; the un-synced writes are lost as the [`Loss`](crate::Loss)
    /// says.
    Lose(Errno, crate::rule::Loss),
}

/// The action as written in a rule: `error(ENOSPC)`, `short(100)`, `full(0)`: what the
/// log's `action` field says, under every backend.
impl std::fmt::Display for Effect<'_> {
    fn fmt(&self, w: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Effect::Return(v) => write!(w, "return({v})"),
            Effect::ReturnArg(Some(v)) => write!(w, "return({v})"),
            Effect::ReturnArg(None) => write!(w, "return"),
            Effect::Sleep(ms) => write!(w, "sleep({ms})"),
            Effect::Delay(ms) => write!(w, "delay({ms})"),
            Effect::Panic(_) => write!(w, "panic"),
            Effect::Print(_) => write!(w, "print"),
            Effect::Pause => write!(w, "pause"),
            Effect::Yield => write!(w, "yield"),
            Effect::Error(e) => write!(w, "error({e})"),
            Effect::Short(n) => write!(w, "short({n})"),
            Effect::Corrupt(m, _) => write!(w, "corrupt({})", m.name()),
            Effect::Full(n) => write!(w, "full({n})"),
            Effect::Kill(s) => write!(w, "kill({s})"),
            Effect::Powercut { cut, .. } if *cut == failinject_crash::Cut::ALL => {
                write!(w, "powercut")
            }
            Effect::Powercut { cut, .. } => write!(w, "powercut({})", crate::cut_words(cut)),
            Effect::Lose(e, crate::rule::Loss::Revert) => write!(w, "lose({e})"),
            Effect::Lose(e, crate::rule::Loss::Clean) => write!(w, "lose({e},clean)"),
        }
    }
}

impl Decision<'_> {
    /// Gives back bytes a `full` decision allowed but the call did not write, so the limit
    /// stays exact to the byte.
    pub fn refund(&self, bytes: u64) {
        if let Effect::Full(allowed) = self.effect {
            let bytes = bytes.min(allowed);
            let used =
                crate::counters::budget(name_hash(self.key.as_bytes()), &self.state.full_used);
            let _ = used.fetch_update(Ordering::AcqRel, Ordering::Acquire, |u| {
                Some(u.saturating_sub(bytes))
            });
        }
    }
}

/// The compiled filters of one rule.
#[derive(Debug)]
struct Filters {
    paths: Vec<PathMatcher>,
    fd: Option<i32>,
    kinds: KindSet,
    names_target: bool,
    sizes: Vec<(Cmp, u64)>,
    after: Option<u64>,
    within: Option<u64>,
    site: Option<u64>,
    when: Option<When>,
    title: Option<PathMatcher>,
}

#[derive(Debug)]
struct Compiled {
    rule: Rule,
    /// The classes of the rule's libc points, together (for the near misses of a call that
    /// is none of them: `near.rs`).
    classes: u16,
    key: String,
    /// The [`name_hash`] of `key`: the rule's name in state shared between processes.
    key_hash: u64,
    id: u64,
    filters: Filters,
    thresholds: Vec<Option<u64>>,
    state: Arc<RuleState>,
}

/// An immutable, compiled configuration: what the evaluation path reads.
#[derive(Debug)]
pub struct Snapshot {
    rules: Vec<Compiled>,
    by_point: Vec<Box<[u32]>>,
    active: PointSet,
    code: Vec<(String, Box<[u32]>)>,
    seed: u64,
    generation: u64,
}

/// An in-code point looked up once in a snapshot, to decide without a name lookup. It is only
/// good for snapshots of the same registry generation; another snapshot decides nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodePoint(u32, u64);

impl CodePoint {
    /// Its index in the snapshot, to be cached with [`Snapshot::generation`].
    pub fn index(self) -> u32 {
        self.0
    }
}

impl Snapshot {
    /// A snapshot with no rules.
    pub fn empty() -> Snapshot {
        Snapshot::compile(&[], 0, b"", 0)
    }

    pub(crate) fn compile(entries: &[Entry], seed: u64, exe: &[u8], generation: u64) -> Snapshot {
        let mut rules = Vec::with_capacity(entries.len());
        let mut by_point: Vec<Vec<u32>> = vec![Vec::new(); POINTS.len()];
        let mut code: Vec<(String, Vec<u32>)> = Vec::new();
        for e in entries {
            let filters = compile_filters(&e.rule.filters);
            let exe_ok = e.rule.filters.iter().all(|f| match f {
                Filter::Exe(m) => m.is_match(exe),
                _ => true,
            });
            let index = rules.len() as u32;
            if exe_ok {
                match &e.rule.points {
                    Points::Sys(sys) => {
                        sys.set.iter().for_each(|p| by_point[p.0 as usize].push(index))
                    }
                    Points::Code(name) => match code.iter_mut().find(|(n, _)| n == name) {
                        Some((_, v)) => v.push(index),
                        None => code.push((name.clone(), vec![index])),
                    },
                }
            }
            let classes = match &e.rule.points {
                Points::Sys(sys) => sys.set.iter().fold(0, |c, p| c | p.info().classes.bits()),
                Points::Code(_) => 0,
            };
            rules.push(Compiled {
                classes,
                id: name_hash(e.rule.to_string().as_bytes()),
                thresholds: e.rule.chain.iter().map(|a| a.percent.and_then(threshold)).collect(),
                rule: e.rule.clone(),
                key: e.key.clone(),
                key_hash: name_hash(e.key.as_bytes()),
                filters,
                state: Arc::clone(&e.state),
            });
        }
        code.sort_by(|a, b| a.0.cmp(&b.0));
        let active = PointId::all().filter(|p| !by_point[p.0 as usize].is_empty()).collect();
        Snapshot {
            rules,
            by_point: by_point.into_iter().map(Vec::into_boxed_slice).collect(),
            active,
            code: code.into_iter().map(|(n, v)| (n, v.into_boxed_slice())).collect(),
            seed,
            generation,
        }
    }

    /// The registry generation this snapshot was compiled from.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The seed of its random choices.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The libc points that have at least one rule: the preload's one-load fast path.
    pub fn active_points(&self) -> &PointSet {
        &self.active
    }

    /// Whether any rule applies to `point`.
    #[inline]
    pub fn has_rules_for(&self, point: PointId) -> bool {
        self.by_point.get(point.0 as usize).is_some_and(|r| !r.is_empty())
    }

    /// Decides what to do with a libc call.
    #[inline]
    pub fn decide_sys<'s>(
        &'s self,
        call: &SysCall<'_>,
        ctx: &mut dyn Context,
    ) -> Option<Decision<'s>> {
        let indexes = self.by_point.get(call.point.0 as usize)?;
        if indexes.is_empty() {
            return None;
        }
        self.walk(indexes, Some(call), ctx)
    }

    /// Whether no rule for the call's point can match a call on this target, whatever its size,
    /// scope or call site: every rule's target filters (fd, kind, path) reject it. For a given
    /// descriptor the answer holds as long as this snapshot does, so the preload caches it per
    /// descriptor and skips the decision entirely on the next call.
    pub fn rejects_target(&self, call: &SysCall<'_>) -> bool {
        let Some(indexes) = self.by_point.get(call.point.0 as usize) else { return true };
        indexes.iter().all(|&i| !self.rules[i as usize].filters.pass_target(call))
    }

    /// Looks an in-code point up by name; `None` when no rule names it.
    pub fn code_point(&self, name: &str) -> Option<CodePoint> {
        self.code
            .binary_search_by(|(n, _)| n.as_str().cmp(name))
            .ok()
            .map(|i| CodePoint(i as u32, self.generation))
    }

    /// The in-code point at `index` of this snapshot (as [`CodePoint::index`] gave it), for
    /// callers that cache the index with the snapshot's generation instead of the name.
    pub fn code_point_at(&self, index: u32) -> Option<CodePoint> {
        ((index as usize) < self.code.len()).then_some(CodePoint(index, self.generation))
    }

    /// Whether nothing can ever happen at this in-code point: each of its rules has no filter
    /// and only `off` actions. A caller may then treat the point as unconfigured (its rules'
    /// counters do not advance).
    pub fn code_point_inert(&self, point: CodePoint) -> bool {
        self.code.get(point.0 as usize).is_some_and(|(_, indexes)| {
            indexes.iter().all(|&i| {
                let r = &self.rules[i as usize].rule;
                r.filters.is_empty() && r.chain.iter().all(|a| a.task == Task::Off)
            })
        })
    }

    /// Decides what to do at an in-code point found with [`Snapshot::code_point`].
    pub fn decide_code<'s>(
        &'s self,
        point: CodePoint,
        ctx: &mut dyn Context,
    ) -> Option<Decision<'s>> {
        if point.1 != self.generation {
            return None;
        }
        let (_, indexes) = self.code.get(point.0 as usize)?;
        self.walk(indexes, None, ctx)
    }

    /// Walks the rules at `indexes` in order until one yields a task other than `off`.
    fn walk<'s>(
        &'s self,
        indexes: &[u32],
        call: Option<&SysCall<'_>>,
        ctx: &mut dyn Context,
    ) -> Option<Decision<'s>> {
        for &i in indexes {
            let r = &self.rules[i as usize];
            if !r.filters.pass(call, ctx) {
                continue;
            }
            // Only a `when=` filter needs the count of calls seen: one shared write fewer on
            // every hit of the other rules (threads hitting one point contend on it).
            if let Some(w) = r.filters.when
                && !w.selects(r.state.seen.fetch_add(1, Ordering::Relaxed) + 1)
            {
                continue;
            }
            let n = r.state.matched.fetch_add(1, Ordering::Relaxed);
            let Some(action) = self.pick_action(r, n) else { continue };
            let Some(effect) = self.effect(r, action, n, call) else { continue };
            // A `full` or `short` that lets the whole call through injects nothing.
            let whole = call.and_then(|c| c.size);
            let injected =
                !matches!(effect, Effect::Full(n) | Effect::Short(n) if Some(n) == whole);
            if injected {
                r.state.injected.fetch_add(1, Ordering::Relaxed);
            }
            return Some(Decision {
                rule_index: i as usize,
                rule: &r.rule,
                key: &r.key,
                state: &r.state,
                hit: n + 1,
                effect,
                injected,
            });
        }
        None
    }

    /// fail-rs's chain: the first action whose count is not used up and whose roll passes.
    fn pick_action(&self, r: &Compiled, n: u64) -> Option<usize> {
        for (ai, action) in r.rule.chain.iter().enumerate() {
            let remaining = &r.state.remaining[ai];
            if action.count.is_some() && remaining.load(Ordering::Acquire) == 0 {
                continue;
            }
            if let Some(t) = r.thresholds[ai]
                && draw(self.seed, r.id, n, Purpose::Roll(ai)) >= t
            {
                continue;
            }
            if action.count.is_some() {
                let took = remaining
                    .fetch_update(Ordering::AcqRel, Ordering::Acquire, |c| c.checked_sub(1))
                    .is_ok();
                if !took {
                    continue;
                }
            }
            return Some(ai);
        }
        None
    }

    /// The effect of the chosen action, random choices made; `None` for `off`.
    fn effect<'s>(
        &self,
        r: &'s Compiled,
        action: usize,
        n: u64,
        call: Option<&SysCall<'_>>,
    ) -> Option<Effect<'s>> {
        let rand = |p| draw(self.seed, r.id, n, p);
        let size = call.and_then(|c| c.size).unwrap_or(0);
        Some(match &r.rule.chain[action].task {
            Task::Off => return None,
            Task::Return(v) => match call {
                Some(_) => {
                    Effect::Return(v.as_deref().and_then(|v| v.trim().parse().ok()).unwrap_or(0))
                }
                None => Effect::ReturnArg(v.as_deref()),
            },
            Task::Sleep(ms) => Effect::Sleep(*ms),
            Task::Delay(ms) => Effect::Delay(*ms),
            Task::Panic(m) => Effect::Panic(m.as_deref()),
            Task::Print(m) => Effect::Print(m.as_deref()),
            Task::Pause => Effect::Pause,
            Task::Yield => Effect::Yield,
            Task::Error(Some(e)) => Effect::Error(*e),
            Task::Error(None) => {
                let errnos = call.map_or(&[][..], |c| c.point.info().errnos);
                match errnos.len() {
                    0 => Effect::Error(Errno::EIO),
                    len => Effect::Error(errnos[(rand(Purpose::Errno) % len as u64) as usize]),
                }
            }
            Task::Short(Some(max)) => Effect::Short((*max).min(size)),
            Task::Short(None) if size < 2 => Effect::Short(size),
            Task::Short(None) => Effect::Short(1 + rand(Purpose::Short) % (size - 1)),
            Task::Corrupt(mode) => Effect::Corrupt(*mode, rand(Purpose::Corrupt)),
            Task::Full(limit) => {
                // One disk for the run when budgets are shared (`counters::share_budgets`).
                let used = crate::counters::budget(r.key_hash, &r.state.full_used);
                let mut allowed = 0;
                let _ = used.fetch_update(Ordering::AcqRel, Ordering::Acquire, |u| {
                    allowed = limit.saturating_sub(u).min(size);
                    Some(u + allowed)
                });
                Effect::Full(allowed)
            }
            Task::Kill(sig) => Effect::Kill(*sig),
            Task::Powercut(cut) => Effect::Powercut { cut: *cut, seed: rand(Purpose::Powercut) },
            Task::Lose(e, how) => Effect::Lose(*e, *how),
        })
    }

    /// Starts every rule's counters afresh without touching the registry (no lock): what a
    /// forked child does, since counters are per process.
    pub fn reset_counters(&self) {
        for r in &self.rules {
            r.state.reset(&r.rule);
        }
    }

    /// Each rule's key with its counters, in order.
    pub fn rule_states(&self) -> impl Iterator<Item = (&str, &RuleState)> {
        self.rules.iter().map(|r| (r.key.as_str(), &*r.state))
    }

    /// Each rule's counts as a run's shared state keeps them (`run_state`): the
    /// [`name_hash`] of its key, its matches and its injections, in order.
    pub fn rule_counts(&self) -> impl Iterator<Item = (u64, u64, u64)> + '_ {
        self.rules.iter().map(|r| (r.key_hash, r.state.matches(), r.state.injections()))
    }

    /// Each rule's key, the rule and its counters, in order.
    pub fn rule_entries(&self) -> impl Iterator<Item = (&str, &Rule, &RuleState)> {
        self.rules.iter().map(|r| (r.key.as_str(), &r.rule, &*r.state))
    }
}

fn compile_filters(filters: &[Filter]) -> Filters {
    let mut out = Filters {
        paths: Vec::new(),
        fd: None,
        // The default `file,dir` holds for rules that name no target; a rule that names one by
        // path or fd matches it whatever its kind, unless `kind=` says otherwise.
        kinds: if filters.iter().any(Filter::names_target) {
            KindSet::ANY
        } else {
            KindSet::DEFAULT
        },
        names_target: filters.iter().any(Filter::names_target),
        sizes: Vec::new(),
        after: None,
        within: None,
        site: None,
        when: None,
        title: None,
    };
    for f in filters {
        match f {
            Filter::PathGlob(m) | Filter::PathRegex(m) => out.paths.push(m.clone()),
            Filter::Fd(fd) => out.fd = Some(*fd),
            Filter::Kind(k) => out.kinds = *k,
            Filter::Size(cmp, n) => out.sizes.push((*cmp, *n)),
            Filter::After(name) => out.after = Some(name_hash(name.as_bytes())),
            Filter::Within(name) => out.within = Some(name_hash(name.as_bytes())),
            Filter::Site(id) => out.site = Some(*id),
            Filter::When(w) => out.when = Some(*w),
            Filter::Exe(_) => {}
            Filter::Proc(m) => out.title = Some(m.clone()),
        }
    }
    out
}

impl Filters {
    /// The filters that depend only on the call's target (its fd, kind and paths): their
    /// answer for one descriptor does not change while the snapshot lives.
    #[inline]
    fn pass_target(&self, call: &SysCall<'_>) -> bool {
        if let Some(fd) = self.fd
            && call.fd != Some(fd)
        {
            return false;
        }
        if !self.names_target && matches!(call.fd, Some(0..=2)) {
            return false;
        }
        if !self.kinds.matches(call.kind) {
            return false;
        }
        self.paths.iter().all(|m| {
            let hit = |p: Option<&[u8]>| p.is_some_and(|p| m.is_match(p));
            hit(call.path) || hit(call.path2)
        })
    }

    /// Every filter but `when`, cheapest first; the call-site id, which walks the stack, last.
    #[inline]
    fn pass(&self, call: Option<&SysCall<'_>>, ctx: &mut dyn Context) -> bool {
        if let Some(call) = call {
            if !self.pass_target(call) {
                return false;
            }
            for &(cmp, n) in &self.sizes {
                if !call.size.is_some_and(|s| cmp.holds(s, n)) {
                    return false;
                }
            }
        }
        if self.after.is_some_and(|h| !ctx.reached(h))
            || self.within.is_some_and(|h| !ctx.within(h))
        {
            return false;
        }
        // The title is read (and may be read again) only for a rule that asks for it.
        if let Some(m) = &self.title
            && !ctx.proc_title().is_some_and(|t| m.is_match(t))
        {
            return false;
        }
        self.site.is_none_or(|site| ctx.site() == site)
    }
}
