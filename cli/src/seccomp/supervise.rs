//! The supervisor: receives each trapped call, decides it with the engine as the preload
//! would, and answers.
//!
//! - **One registry per process.** A notification names a thread; its process (thread group)
//!   has its own counters, created at its first trapped call from the run's rules (counters
//!   start afresh in each process, SPEC §4) and replaced when it `exec`s another program.
//! - **Concurrency.** Receiving threads share the listener. A thread about to do something
//!   that may take long (a `sleep`, a `pause`, a call made on the program's behalf, which may
//!   block on a pipe) first makes sure another thread is receiving, so that one slow call never
//!   stalls the program's other threads.
//! - **The log** gets the records the preload writes (`start`, `inject`, `exit`), so the
//!   summary, `explore` and every reader of logs work the same under both backends.
#![forbid(unsafe_code)]

use super::changes::Recorder;
use super::crash::{Change, Tracker};
use super::facts::{self, Facts};
use super::kernel::{self, Answer, Notif};
use super::perform::{self, Task};
use super::table::{self, Call};
use failinject_crash::Cut;
use failinject_engine::control::Command;
use failinject_engine::{
    Context, Decision, Effect, NearMiss, PointId, PointSet, Registry, Rule, Snapshot, SysCall,
};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::io::Write as _;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};

/// One process of the run, as the supervisor knows it.
struct Proc {
    pid: i32,
    exe: Vec<u8>,
    /// Its rules and their counters; changed over the control socket.
    registry: Mutex<Registry>,
    /// What its calls are decided with: the registry's latest snapshot, and the points that
    /// share a class with its rules' (calls to them may be near misses), worked out once.
    published: RwLock<(Arc<Snapshot>, PointSet)>,
    /// An `execve` was trapped: the next call tells whether the image changed.
    exec_seen: AtomicBool,
    /// The preload is loaded in it (a dynamic program started below a static one the preload
    /// handed over): its calls are the preload's to decide, not ours.
    preloaded: bool,
    /// The most telling near miss of each rule that has not fired (by its index in the
    /// snapshot), for the exit record: why a rule never fired.
    near: Mutex<HashMap<usize, Near>>,
}

/// A call no rule decided that came close to a rule (`NearMiss`), as the preload keeps it.
struct Near {
    cause: NearMiss,
    point: PointId,
    fd: i32,
    path: Vec<u8>,
    /// Near misses of the rule so far.
    calls: u64,
}

impl Proc {
    fn new(pid: i32, exe: Vec<u8>, registry: Registry, preloaded: bool) -> Proc {
        let snapshot = Arc::new(registry.snapshot());
        let siblings = snapshot.sibling_points();
        Proc {
            pid,
            exe,
            registry: Mutex::new(registry),
            published: RwLock::new((snapshot, siblings)),
            exec_seen: AtomicBool::new(false),
            preloaded,
            near: Mutex::new(HashMap::new()),
        }
    }

    fn snapshot(&self) -> Arc<Snapshot> {
        Arc::clone(&self.published.read().unwrap_or_else(|e| e.into_inner()).0)
    }

    /// The points whose calls may be near misses of its rules.
    fn siblings(&self) -> PointSet {
        self.published.read().unwrap_or_else(|e| e.into_inner()).1
    }

    /// Applies a rule change to this process's registry and publishes it; the rules it
    /// retired, with their counts.
    fn change(&self, command: &Command) -> Vec<(String, String, u64, u64)> {
        let mut r = self.registry.lock().unwrap_or_else(|e| e.into_inner());
        let before = self.snapshot();
        failinject_engine::control::apply(command.clone(), &mut r);
        let snapshot = Arc::new(r.snapshot());
        let siblings = snapshot.sibling_points();
        *self.published.write().unwrap_or_else(|e| e.into_inner()) = (snapshot, siblings);
        // Rule indexes are the snapshot's.
        self.near.lock().unwrap_or_else(|e| e.into_inner()).clear();
        before
            .rule_entries()
            .filter(|(_, _, st)| st.is_retired())
            .map(|(k, rule, st)| (k.to_string(), rule.to_string(), st.matches(), st.injections()))
            .collect()
    }
}

/// What a run under the supervisor did besides faults, for the summary.
#[derive(Debug, Default)]
pub struct Stats {
    /// `io_uring_setup` calls failed with `ENOSYS`.
    pub io_uring_denied: AtomicU64,
    /// `io_setup` calls failed with `ENOSYS`.
    pub aio_denied: AtomicU64,
    /// A power cut ended the run; whether every file was rolled back.
    pub power_cut: Mutex<Option<Result<(), String>>>,
}

impl Stats {
    /// The calls turned away with ENOSYS: their counter, name, and the option that lets
    /// them through.
    fn denials(&self) -> [(&AtomicU64, &'static str, &'static str); 2] {
        [
            (&self.io_uring_denied, "io_uring_setup", "--allow-io-uring"),
            (&self.aio_denied, "io_setup", "--allow-aio"),
        ]
    }

    /// The calls turned away with ENOSYS in this run.
    pub fn turned_away(&self) -> Vec<&'static str> {
        let denials = self.denials();
        denials.iter().filter(|(n, ..)| n.load(Ordering::Relaxed) > 0).map(|(_, c, _)| *c).collect()
    }

    /// The summary's lines for asynchronous I/O turned away (SPEC §9), empty when none was.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for (count, call, flag) in self.denials() {
            let n = count.load(Ordering::Relaxed);
            if n > 0 {
                out.push_str(&format!(
                    "failinject: {call} failed with ENOSYS {n} time{} (the seccomp backend turns \
                     away I/O its rules cannot see, so that programs fall back to calls they \
                     see; {flag} lets it through)\n",
                    if n == 1 { "" } else { "s" }
                ));
            }
        }
        out
    }
}

/// One filter's listener and the threads receiving on it: the command's, or that of a static
/// program the preload handed over at `exec` (`handed`).
pub struct Listener {
    fd: OwnedFd,
    /// Threads waiting for a notification on it.
    idle: AtomicUsize,
    /// Handed over by the preload: the `execve` that installed it is the preloaded
    /// process's own, not the program's.
    handed: bool,
}

impl std::ops::Deref for Listener {
    type Target = OwnedFd;
    fn deref(&self) -> &OwnedFd {
        &self.fd
    }
}

/// The supervisor of one run.
pub struct Supervisor {
    /// The run's rules as a new process gets them (changed over the control socket).
    rules: Mutex<Vec<Rule>>,
    /// What the filter traps, for rules set while the run runs.
    trapped: Vec<i64>,
    opts: super::plan::Options,
    seed: u64,
    log: PathBuf,
    procs: Mutex<HashMap<i32, Arc<Proc>>>,
    /// Thread → process, as last read, with a pidfd of the process.
    threads: Mutex<HashMap<i32, (i32, Arc<OwnedFd>)>>,
    /// Some rule has a `kind=` filter: file and directory must be told apart.
    exact_kind: bool,
    seq: AtomicU64,
    /// Our own executable: a process still running it is our child before its exec.
    own_exe: Vec<u8>,
    /// A process of the run was decided here.
    started: AtomicBool,
    /// The run's crash model, with a `powercut` or `lose` rule.
    crash: Option<Tracker>,
    /// A crash state's power cut (`keep=`) waiting for its call, which the kernel makes, to
    /// be done: the thread, the cut and its seed.
    pending_cut: Mutex<Option<(i32, failinject_crash::Cut, u64)>>,
    pub stats: Stats,
    /// `FAILINJECT_TEST_HOLD_AFTER_READ`, for the test of the check that a task is alive
    /// before a call made on its behalf, and for nothing else (`perform::hold_after_read`).
    hold_after_read: Option<PathBuf>,
}

impl Supervisor {
    /// A supervisor deciding with `rules` (already fitted, `plan.rs`), writing its records to
    /// the log `log` (`%p` becomes each process's pid).
    pub fn new(plan: &super::plan::Plan, seed: u64, log: PathBuf) -> Arc<Supervisor> {
        failinject_engine::share_budgets(shared_budget);
        Arc::new(Supervisor {
            rules: Mutex::new(plan.rules.clone()),
            trapped: plan.trapped.clone(),
            opts: plan.options.clone(),
            crash: plan.tracking.then(|| {
                let record = plan.options.record_changes.clone().map(Recorder::new);
                Tracker::new(plan.dirs, record, plan.keeps, plan.replay)
            }),
            seed,
            log,
            procs: Mutex::new(HashMap::new()),
            threads: Mutex::new(HashMap::new()),
            exact_kind: needs_exact_kind(&plan.rules) || plan.options.trap.is_some(),
            seq: AtomicU64::new(0),
            own_exe: exe_of(std::process::id() as i32),
            started: AtomicBool::new(false),
            stats: Stats::default(),
            pending_cut: Mutex::new(None),
            hold_after_read: std::env::var_os("FAILINJECT_TEST_HOLD_AFTER_READ").map(PathBuf::from),
        })
    }

    /// Starts serving `fd`, a filter's listener (the command's, or with `handed` a static
    /// program's the preload handed over), on threads of its own.
    pub fn serve(self: &Arc<Self>, fd: OwnedFd, handed: bool) {
        kernel::sync_wake_up(&fd);
        let listener = Arc::new(Listener { fd, idle: AtomicUsize::new(0), handed });
        self.add_receiver(&listener);
    }

    fn add_receiver(self: &Arc<Self>, listener: &Arc<Listener>) {
        let (me, listener) = (Arc::clone(self), Arc::clone(listener));
        // The thread inherits our blocked signal mask (`child::block_forwarded`).
        let spawned = std::thread::Builder::new()
            .name("seccomp".into())
            .stack_size(256 * 1024)
            .spawn(move || me.receive(&listener));
        if let Err(e) = spawned {
            eprintln!("failinject: cannot start a supervisor thread: {e}");
        }
    }

    fn receive(self: Arc<Self>, listener: &Arc<Listener>) {
        loop {
            listener.idle.fetch_add(1, Ordering::AcqRel);
            let got = kernel::recv(listener);
            listener.idle.fetch_sub(1, Ordering::AcqRel);
            match got {
                Ok(n) => self.handle(listener, &n),
                // The task died before we read its call, or a signal of ours: go on.
                Err(e) if matches!(e.raw_os_error(), Some(libc::ENOENT | libc::EINTR)) => {}
                // The listener is gone (every process of the filter ended).
                Err(_) => return,
            }
            // After a burst of slow calls, spare receivers leave.
            if listener.idle.load(Ordering::Acquire) >= 2 {
                return;
            }
        }
    }

    /// Makes sure some thread is receiving on `listener` before this one does something
    /// slow.
    fn before_slow(self: &Arc<Self>, listener: &Arc<Listener>) {
        if listener.idle.load(Ordering::Acquire) == 0 {
            self.add_receiver(listener);
        }
    }

    fn handle(self: &Arc<Self>, listener: &Arc<Listener>, n: &Notif) {
        let nr = i64::from(n.data.nr);
        let denied = if nr == table::IO_URING_SETUP {
            Some(&self.stats.io_uring_denied)
        } else if nr == table::IO_SETUP {
            Some(&self.stats.aio_denied)
        } else {
            None
        };
        if let Some(count) = denied {
            count.fetch_add(1, Ordering::Relaxed);
            return kernel::send(listener, n.id, Answer::Error(libc::ENOSYS));
        }
        let Some(call) = table::by_number(nr) else {
            return kernel::send(listener, n.id, Answer::Continue);
        };
        let tid = n.pid as i32;
        let Some(tgid) = self.tgid_of(tid) else {
            return kernel::send(listener, n.id, Answer::Continue);
        };
        let execs = call.point == "execve" || call.point == "execveat";
        // Our own child between fork and exec (its exe is still ours) starts the command:
        // that exec is not the program's, as it is not under the preload.
        if execs && exe_of(tgid) == self.own_exe {
            return kernel::send(listener, n.id, Answer::Continue);
        }
        // The exec a preloaded process hands a static program over with is its own: the
        // preload counted it, and logged its end.
        if execs && listener.handed && !self.knows(tgid) {
            return kernel::send(listener, n.id, Answer::Continue);
        }
        // The thread's earlier directory changes are done by now (`crash.rs`).
        if let Some(t) = &self.crash {
            t.settle(Some(tid));
        }
        // A crash state's power cut waits for its call to be done: it is now.
        if let Some((cut, seed)) = self.take_pending_cut(Some(tid)) {
            return self.cut_power(&cut, seed);
        }
        let proc = self.process(tgid);
        if execs {
            proc.exec_seen.store(true, Ordering::Release);
        }
        if proc.preloaded {
            return kernel::send(listener, n.id, Answer::Continue);
        }
        let answer = self.decide(listener, n, call, &proc);
        if let Some(a) = answer {
            kernel::send(listener, n.id, a);
        }
    }

    /// Whether any process was decided here (for a hand-over supervisor: whether a static
    /// program was handed over).
    pub fn handed_any(&self) -> bool {
        self.started.load(Ordering::Relaxed)
    }

    /// The process of thread `tid`: read from `/proc` once, then remembered with a pidfd of
    /// the process and checked each time with one system call: for a process's first thread,
    /// that the process has not ended (while it lives its pid is its own); for another
    /// thread, that it is still a thread of that process (`/proc/TGID/task/TID`): a thread
    /// id may be reused once its thread is gone.
    fn tgid_of(&self, tid: i32) -> Option<i32> {
        let known = self.threads.lock().unwrap_or_else(|e| e.into_inner()).get(&tid).cloned();
        if let Some((tgid, pidfd)) = known {
            let current =
                if tgid == tid { !kernel::ended(&pidfd) } else { facts::is_thread_of(tid, tgid) };
            if current {
                return Some(tgid);
            }
        }
        let tgid = facts::tgid_of(tid)?;
        let mut threads = self.threads.lock().unwrap_or_else(|e| e.into_inner());
        // Ended processes' entries go once there are many, so that pidfds do not pile up.
        if threads.len() >= 256 {
            threads.retain(|_, (_, pidfd)| !kernel::ended(pidfd));
        }
        let shared = threads.values().find(|(g, _)| *g == tgid).map(|(_, p)| Arc::clone(p));
        if let Some(pidfd) = shared.or_else(|| kernel::pidfd_open(tgid).ok().map(Arc::new)) {
            threads.insert(tid, (tgid, pidfd));
        }
        Some(tgid)
    }

    fn knows(&self, pid: i32) -> bool {
        self.procs.lock().unwrap_or_else(|e| e.into_inner()).contains_key(&pid)
    }

    /// The process `pid`, created at its first call or after it exec'd another program.
    fn process(&self, pid: i32) -> Arc<Proc> {
        let mut procs = self.procs.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(p) = procs.get(&pid) {
            if !p.exec_seen.load(Ordering::Acquire) {
                return Arc::clone(p);
            }
            if exe_of(pid) == p.exe {
                p.exec_seen.store(false, Ordering::Release);
                return Arc::clone(p);
            }
            let old = procs.remove(&pid).expect("just found");
            self.exit_record(&old, "exec");
        }
        let p = Arc::new(self.new_process(pid));
        procs.insert(pid, Arc::clone(&p));
        p
    }

    fn new_process(&self, pid: i32) -> Proc {
        let exe = exe_of(pid);
        if preloaded(pid, &exe) {
            return Proc::new(pid, exe, Registry::new(self.seed), true);
        }
        let mut registry = Registry::new(self.seed);
        registry.set_exe(&exe);
        let rules = self.rules.lock().unwrap_or_else(|e| e.into_inner()).clone();
        for r in &rules {
            registry.set(r.clone());
        }
        self.started.store(true, Ordering::Relaxed);
        let argv: Vec<String> = std::fs::read(format!("/proc/{pid}/cmdline"))
            .unwrap_or_default()
            .split(|&b| b == 0)
            .filter(|a| !a.is_empty())
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        let rules: Vec<String> = rules.iter().map(ToString::to_string).collect();
        self.write(
            pid,
            json!({"type": "start", "time": now(), "pid": pid,
                   "exe": String::from_utf8_lossy(&exe), "argv": argv, "seed": self.seed,
                   "rules": rules, "backend": "seccomp"}),
        );
        Proc::new(pid, exe, registry, false)
    }

    /// Decides one call and carries the decision out; `None` when the task died and no
    /// answer is due.
    fn decide(
        self: &Arc<Self>,
        listener: &Arc<Listener>,
        n: &Notif,
        call: &'static Call,
        proc: &Proc,
    ) -> Option<Answer> {
        let point = PointId::from_name(call.point).expect("the table names real points");
        let snapshot = proc.snapshot();
        let ruled = snapshot.has_rules_for(point);
        // A call trapped for another reason (crash tracking, `--trap`) may be a near miss of
        // a rule that has not fired: another function of its class.
        // (Not `mmap`: the crash tracker warns of shared writable mappings itself.)
        let sibling = !ruled
            && call.point != "mmap"
            && proc.siblings().contains(point)
            && !snapshot.sys_rules_fired();
        if !ruled && !sibling {
            return self.go_ahead(listener, n, call, proc);
        }
        let tid = n.pid as i32;
        let f: Facts = facts::read(call, proc.pid, tid, &n.data.args, self.exact_kind);
        // What was read must be the asking task's: its memory, its descriptors.
        if !kernel::still_valid(listener, n.id) {
            return None;
        }
        let sys = SysCall {
            point,
            fd: f.fd,
            path: f.path.as_deref(),
            path2: f.path2.as_deref(),
            kind: f.kind.unwrap_or(failinject_engine::FileKind::Unknown),
            size: f.size,
        };
        if sibling {
            note_near_misses(proc, &snapshot, &sys);
            return self.go_ahead(listener, n, call, proc);
        }
        let mut ctx = Title { pid: proc.pid, title: None };
        let Some(d) = snapshot.decide_sys(&sys, &mut ctx) else {
            note_near_misses(proc, &snapshot, &sys);
            return self.go_ahead(listener, n, call, proc);
        };
        let task = self.task(listener, n, call, proc);
        // An effect that ends processes is logged before it takes effect: once the process is
        // gone, `failinject run` may read the log at any moment.
        // (A crash state's cut is logged when it is sure to happen: below.)
        let ends = matches!(
            d.effect,
            Effect::Kill(_)
                | Effect::Panic(_)
                | Effect::Powercut { cut: Cut { keep: None, .. }, .. }
        );
        let mut logged = ends;
        if ends {
            self.inject_record(proc, tid, call, &sys, &d, None);
        }
        let size = f.size.unwrap_or(0);
        let (answer, result) = match d.effect {
            Effect::Error(e) => (Some(Answer::Error(e.0)), None),
            Effect::Return(v) => (Some(Answer::Value(v)), Some(v)),
            Effect::Short(max) | Effect::Full(max) if max >= size => {
                if matches!(d.effect, Effect::Full(_)) && size > 0 {
                    self.before_slow(listener);
                    let done = self.perform(&task, max, None);
                    if let Some(done) = &done {
                        d.refund(size - done.moved.min(size));
                    }
                    (done.map(|d| d.answer), None)
                } else {
                    (self.go_ahead(listener, n, call, proc), None)
                }
            }
            Effect::Full(0) if size > 0 => (Some(Answer::Error(libc::ENOSPC)), None),
            Effect::Short(max) | Effect::Full(max) => {
                self.before_slow(listener);
                let done = self.perform(&task, max, None);
                if let (Some(done), Effect::Full(_)) = (&done, d.effect) {
                    d.refund(max - done.moved.min(max));
                }
                let result = done.as_ref().map(|d| d.moved as i64);
                (done.map(|d| d.answer), result)
            }
            Effect::Corrupt(mode, bits) => {
                self.before_slow(listener);
                let done = self.perform(&task, u64::MAX, Some((mode, bits)));
                let result = done.as_ref().map(|d| d.moved as i64);
                (done.map(|d| d.answer), result)
            }
            Effect::Sleep(ms) | Effect::Delay(ms) => {
                self.before_slow(listener);
                std::thread::sleep(std::time::Duration::from_millis(ms));
                (self.go_ahead(listener, n, call, proc), None)
            }
            Effect::Pause => {
                self.before_slow(listener);
                while !d.state.is_retired() && kernel::still_valid(listener, n.id) {
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
                (self.go_ahead(listener, n, call, proc), None)
            }
            Effect::Print(msg) => {
                eprintln!("failinject: sys:{}: {}", call.point, msg.unwrap_or(""));
                (self.go_ahead(listener, n, call, proc), None)
            }
            Effect::Panic(msg) => {
                eprintln!("failinject: panic at sys:{}: {}", call.point, msg.unwrap_or(""));
                kernel::tgkill(proc.pid, tid, libc::SIGABRT);
                (Some(Answer::Continue), None)
            }
            Effect::Kill(sig) => {
                kernel::tgkill(proc.pid, tid, sig.0);
                (self.go_ahead(listener, n, call, proc), None)
            }
            Effect::Lose(e, how) => {
                if let Some(t) = &self.crash {
                    let fd = n.data.args[0] as i64 as i32;
                    let clean = how == failinject_engine::Loss::Clean;
                    t.lose(proc.pid, fd, call.point == "syncfs", clean);
                }
                (Some(Answer::Error(e.0)), None)
            }
            // A crash state of explore's: the power fails after the change that is its crash
            // point, counted as the recording counted it (a hit before goes ahead). The call
            // is made and seen done first: made here, or by the kernel, and then the power
            // fails at the thread's next trapped call or at the end of the run.
            Effect::Powercut { cut: cut @ Cut { keep: Some(keep), .. }, seed } => {
                let answer = self.go_ahead(listener, n, call, proc);
                let by_kernel = matches!(answer, Some(Answer::Continue));
                let count = self.crash.as_ref().map_or(0, Tracker::count);
                if count + u64::from(by_kernel) <= keep.point {
                    (answer, None)
                } else {
                    self.inject_record(proc, tid, call, &sys, &d, None);
                    logged = true;
                    if by_kernel {
                        *self.pending_cut.lock().unwrap_or_else(|e| e.into_inner()) =
                            Some((tid, cut, seed));
                        (answer, None)
                    } else {
                        self.cut_power(&cut, seed);
                        (None, None)
                    }
                }
            }
            Effect::Powercut { cut, seed } => {
                self.cut_power(&cut, seed);
                (None, None)
            }
            Effect::Yield | Effect::ReturnArg(_) => (self.go_ahead(listener, n, call, proc), None),
        };
        // A call made here (a sync on the program's behalf too) has a known result; one the
        // kernel goes on with does not.
        let result = result.or(match answer {
            Some(Answer::Value(v)) => Some(v),
            Some(Answer::Error(_)) => Some(-1),
            _ => None,
        });
        if !logged {
            self.inject_record(proc, tid, call, &sys, &d, result);
        }
        answer
    }

    /// Makes a call of a `short`, `full` or `corrupt` task on the program's behalf: with
    /// crash tracking, what it overwrites is saved first, and when results must be known
    /// what it wrote is told to the tracker (as `go_ahead` does for the calls it makes).
    fn perform(
        &self,
        task: &Task<'_>,
        max: u64,
        corrupt: Option<(failinject_engine::Corruption, u64)>,
    ) -> Option<perform::Done> {
        let args = &task.notif.data.args;
        let change = self
            .crash
            .as_ref()
            .map(|t| t.before(task.call, task.tgid, task.notif.pid as i32, args));
        let done = perform::perform(task, max, corrupt)?;
        if let (Some(t), Some(Change::Write { fd, at })) = (&self.crash, change)
            && t.exact()
            && done.moved > 0
        {
            t.wrote(task.call, task.tgid, fd, at, done.moved, args);
        }
        Some(done)
    }

    /// A call of process `proc`, to be made on its behalf.
    fn task<'a>(
        &'a self,
        listener: &'a Listener,
        n: &'a Notif,
        call: &'static Call,
        proc: &Proc,
    ) -> Task<'a> {
        Task { listener, notif: n, call, tgid: proc.pid, hold: self.hold_after_read.as_deref() }
    }

    /// The call goes ahead as the program made it: with crash tracking, once what it
    /// overwrites is saved, and a sync made on the program's behalf so that its success is
    /// known.
    fn go_ahead(
        self: &Arc<Self>,
        listener: &Arc<Listener>,
        n: &Notif,
        call: &'static Call,
        proc: &Proc,
    ) -> Option<Answer> {
        let Some(t) = &self.crash else { return Some(Answer::Continue) };
        let change = t.before(call, proc.pid, n.pid as i32, &n.data.args);
        // What was saved must be the asking task's file (its pid not reused meanwhile).
        if !kernel::still_valid(listener, n.id) {
            return None;
        }
        match change {
            Change::Sync => {
                self.before_slow(listener);
                let task = self.task(listener, n, call, proc);
                let done = perform::sync(&task)?;
                if matches!(done.answer, Answer::Value(_)) {
                    t.synced(call, proc.pid, &n.data.args);
                }
                Some(done.answer)
            }
            // A write whose result must be known (to record it, or keep what it left) is
            // made here.
            Change::Write { fd, at } if t.exact() => {
                self.before_slow(listener);
                let task = self.task(listener, n, call, proc);
                let done = perform::perform(&task, u64::MAX, None)?;
                if let Answer::Value(moved @ 1..) = done.answer {
                    t.wrote(call, proc.pid, fd, at, moved as u64, &n.data.args);
                }
                Some(done.answer)
            }
            Change::Data | Change::Write { .. } | Change::None => Some(Answer::Continue),
        }
    }

    /// The power fails for the whole run: every process killed, every file rolled back.
    fn cut_power(&self, cut: &failinject_crash::Cut, seed: u64) {
        let mut done = self.stats.power_cut.lock().unwrap_or_else(|e| e.into_inner());
        if done.is_some() {
            return;
        }
        let killed = crate::keeper::kill_everyone();
        let rolled = match &self.crash {
            Some(t) if t.power_cut(cut, seed) => Ok(()),
            Some(_) => Err("a file could not be rolled back completely".to_string()),
            None => Ok(()),
        };
        *done = Some(killed.and(rolled));
    }

    fn inject_record(
        &self,
        proc: &Proc,
        tid: i32,
        call: &Call,
        sys: &SysCall<'_>,
        d: &Decision<'_>,
        result: Option<i64>,
    ) {
        if !d.injected {
            return;
        }
        let mut r = json!({"type": "inject", "seq": self.seq.fetch_add(1, Ordering::Relaxed) + 1,
            "time": now(), "pid": proc.pid, "tid": tid, "point": format!("sys:{}", call.point),
            "function": call.name});
        let o = r.as_object_mut().expect("an object");
        if let Some(fd) = sys.fd {
            o.insert("fd".into(), fd.into());
        }
        for (k, p) in [("path", sys.path), ("path2", sys.path2)] {
            if let Some(p) = p {
                o.insert(k.into(), String::from_utf8_lossy(p).into());
            }
        }
        // A kind not read for the decision (no rule tells files from directories) is read
        // for the record.
        let kind = match (sys.kind, sys.fd) {
            (failinject_engine::FileKind::Unknown, Some(fd)) => {
                facts::fd_kind(proc.pid, i64::from(fd), sys.path)
            }
            (k, _) => k,
        };
        if kind != failinject_engine::FileKind::Unknown {
            o.insert("kind".into(), kind.name().into());
        }
        // No call sites out here: a site is the call and the file it acts on (what `explore`
        // fails one at a time under this backend).
        let point = format!("sys:{}", call.point);
        o.insert("site".into(), super::site_of(&point, sys.path.unwrap_or_default()).into());
        o.insert("rule".into(), d.key.into());
        o.insert("rule_index".into(), d.rule_index.into());
        o.insert("hit".into(), d.hit.into());
        o.insert("action".into(), d.effect.to_string().into());
        match d.effect {
            Effect::Error(e) | Effect::Lose(e, _) => {
                o.insert("errno".into(), e.to_string().into());
            }
            Effect::Full(0) => {
                o.insert("errno".into(), "ENOSPC".into());
            }
            _ => {
                if let Some(v) = result {
                    o.insert("result".into(), v.into());
                }
            }
        }
        self.write(proc.pid, r);
    }

    fn exit_record(&self, p: &Proc, reason: &str) {
        if p.preloaded {
            return;
        }
        let near = p.near.lock().unwrap_or_else(|e| e.into_inner());
        let rules: Vec<Value> = p
            .snapshot()
            .rule_entries()
            .enumerate()
            .map(|(i, (key, _, s))| {
                let mut r =
                    json!({"key": key, "matches": s.matches(), "injections": s.injections()});
                // Why a rule that never fired did not, in the preload's words (`why.rs`).
                if let Some(n) = near.get(&i).filter(|_| s.injections() == 0) {
                    let o = r.as_object_mut().expect("an object");
                    o.insert("near".into(), n.cause.name().into());
                    o.insert("near_point".into(), n.point.info().name.into());
                    o.insert("near_fd".into(), n.fd.into());
                    o.insert("near_path".into(), String::from_utf8_lossy(&n.path).into());
                    o.insert("near_calls".into(), n.calls.into());
                }
                r
            })
            .collect();
        drop(near);
        self.write(
            p.pid,
            json!({"type": "exit", "time": now(), "pid": p.pid, "reason": reason,
                                 "rules": rules}),
        );
    }

    /// Answers one line of the control protocol (SPEC §6) for the whole run: rule changes go
    /// to every process and to those that start later, `list` and `wait` count over every
    /// process, `powercut` cuts the run's power.
    ///
    /// `reply` gets the reply; a power cut is carried out after it, since the cut may end
    /// this process's run, and the asker must still hear `ok`.
    pub fn control(&self, line: &str, reply: &mut dyn FnMut(&str)) {
        let cut = match failinject_engine::control::parse_command(line) {
            Ok(Command::Powercut { cut }) if self.crash.is_some() => cut,
            _ => return reply(&self.answer(line)),
        };
        reply("ok\n");
        self.cut_power(&cut, self.seed);
    }

    fn answer(&self, line: &str) -> String {
        use failinject_engine::control::{error_reply, parse_command};
        let command = match parse_command(line) {
            Ok(c) => c,
            Err(e) => return error_reply(&e.to_string()),
        };
        match command {
            Command::Set(rules) => {
                let mut fitted = Vec::new();
                for r in &rules {
                    let ends = r.chain.iter().any(|a| {
                        matches!(
                            a.task,
                            failinject_engine::Task::Powercut(_)
                                | failinject_engine::Task::Lose(..)
                        )
                    });
                    if ends && self.crash.is_none() {
                        return error_reply(&format!(
                            "`{r}`: crash tracking is off in this run (it starts with a powercut \
                             or lose rule on the command line)"
                        ));
                    }
                    match super::plan::fit_later(r, &self.trapped, &self.opts) {
                        Ok(f) => fitted.push(f),
                        Err(why) => return error_reply(&format!("`{r}`: {why}")),
                    }
                }
                // A cut that keeps changes needs what each change leaves from now on.
                let keeps = fitted.iter().flat_map(|r| &r.chain).any(|a| {
                    matches!(&a.task, failinject_engine::Task::Powercut(c) if c.mode.keeps_changes())
                });
                if let (true, Some(t)) = (keeps, &self.crash) {
                    t.keep_changes();
                }
                let command = Command::Set(fitted.clone());
                let mut kept = self.rules.lock().unwrap_or_else(|e| e.into_inner());
                for f in fitted {
                    match kept.iter_mut().find(|k| k.key() == f.key()) {
                        Some(k) => *k = f,
                        None => kept.push(f),
                    }
                }
                drop(kept);
                self.change_all(&command);
                let keys: Vec<String> = rules.iter().map(Rule::key).collect();
                format!("ok {}\n", keys.join(" "))
            }
            Command::Remove(key) => {
                let mut kept = self.rules.lock().unwrap_or_else(|e| e.into_inner());
                let before = kept.len();
                kept.retain(|r| r.key() != key);
                if kept.len() == before {
                    return error_reply(&format!("no rule has the key {key}"));
                }
                drop(kept);
                self.change_all(&Command::Remove(key.clone()));
                format!("ok removed {key}\n")
            }
            Command::Clear => {
                self.rules.lock().unwrap_or_else(|e| e.into_inner()).clear();
                self.change_all(&Command::Clear);
                "ok\n".into()
            }
            Command::List => {
                let rules = self.rules.lock().unwrap_or_else(|e| e.into_inner()).clone();
                let mut out = String::new();
                for r in &rules {
                    let (m, i) = self.counts(&r.key());
                    out.push_str(&format!("{}\t{}\t{m}\t{i}\n", r.key(), r.chain_text()));
                }
                out.push_str(&format!("ok {} rules\n", rules.len()));
                out
            }
            Command::Seed => format!("{}\nok\n", self.seed),
            Command::Wait { key, n, timeout_ms } => {
                let known = self
                    .rules
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .iter()
                    .any(|r| r.key() == key);
                if !known {
                    return error_reply(&format!("no rule has the key {key}"));
                }
                let deadline =
                    std::time::Instant::now() + std::time::Duration::from_millis(timeout_ms);
                loop {
                    let (_, got) = self.counts(&key);
                    if got >= n {
                        return format!("ok {key} injected {got}\n");
                    }
                    if std::time::Instant::now() >= deadline {
                        return format!(
                            "err timeout after {timeout_ms} ms: {key} injected {got} of {n}\n"
                        );
                    }
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
            }
            // With crash tracking, `control` cuts the power itself.
            Command::Powercut { .. } => error_reply(
                "crash tracking is off in this run (it starts with a powercut or lose rule on \
                 the command line)",
            ),
        }
    }

    /// A rule change for every process of the run; the counts of the rules it retires are
    /// logged (`retired` records), so that the summary keeps them.
    fn change_all(&self, command: &Command) {
        let procs: Vec<Arc<Proc>> =
            self.procs.lock().unwrap_or_else(|e| e.into_inner()).values().cloned().collect();
        for p in procs {
            for (key, rule, matches, injections) in p.change(command) {
                self.write(
                    p.pid,
                    json!({"type": "retired", "pid": p.pid, "key": key, "rule": rule,
                           "matches": matches, "injections": injections}),
                );
            }
        }
    }

    /// A rule's matches and injections, summed over the live processes of the run.
    fn counts(&self, key: &str) -> (u64, u64) {
        let procs: Vec<Arc<Proc>> =
            self.procs.lock().unwrap_or_else(|e| e.into_inner()).values().cloned().collect();
        let mut sum = (0, 0);
        for p in procs {
            let snap = p.snapshot();
            for (k, _, st) in snap.rule_entries() {
                if k == key {
                    sum.0 += st.matches();
                    sum.1 += st.injections();
                }
            }
        }
        sum
    }

    /// The run's rules now, as (key, text): those set over the control socket included.
    pub fn rules_now(&self) -> Vec<(String, String)> {
        let rules = self.rules.lock().unwrap_or_else(|e| e.into_inner());
        rules.iter().map(|r| (r.key(), r.to_string())).collect()
    }

    /// The power cut of a crash state waiting for thread `tid`'s call to be done (any
    /// thread's for `None`), taken.
    fn take_pending_cut(&self, tid: Option<i32>) -> Option<(failinject_crash::Cut, u64)> {
        let mut p = self.pending_cut.lock().unwrap_or_else(|e| e.into_inner());
        match *p {
            Some((t, ..)) if tid.is_none_or(|id| id == t) => p.take().map(|(_, c, s)| (c, s)),
            _ => None,
        }
    }

    /// Whether a power cut ended the run, and how it went.
    pub fn power_cut(&self) -> Option<Result<(), String>> {
        self.stats.power_cut.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Writes the exit record of every process still known: the run is over. The counts are
    /// exact whatever ended the processes, since they were kept here.
    pub fn finish(&self) {
        // Changes not yet seen done (a process's last rename) are looked at once more.
        if let Some(t) = &self.crash {
            t.settle(None);
        }
        if let Some((cut, seed)) = self.take_pending_cut(None) {
            self.cut_power(&cut, seed);
        }
        let procs = std::mem::take(&mut *self.procs.lock().unwrap_or_else(|e| e.into_inner()));
        let mut procs: Vec<_> = procs.into_values().collect();
        procs.sort_by_key(|p| p.pid);
        // The supervisor sees a process end, not how (it is not its parent): `ended`.
        for p in procs {
            self.exit_record(&p, "ended");
        }
    }

    /// Appends one record to the log of process `pid`, in one `write`.
    fn write(&self, pid: i32, record: Value) {
        let path = expand(&self.log, pid);
        let mut line = record.to_string();
        line.push('\n');
        let file = std::fs::OpenOptions::new().create(true).append(true).open(&path);
        if let Ok(mut f) = file {
            let _ = f.write_all(line.as_bytes());
        }
    }
}

/// `%p` in a log path becomes `pid`.
fn expand(template: &Path, pid: i32) -> PathBuf {
    let t = template.as_os_str().to_string_lossy();
    if t.contains("%p") {
        PathBuf::from(t.replace("%p", &pid.to_string()))
    } else {
        template.into()
    }
}

/// The near misses of `call`, which no rule decided, for the rules of `snapshot` that have not
/// fired: a standard stream a rule without a target filter skips, or (for a call trapped for
/// another reason) another function of a rule's class on a target its filters accept.
fn note_near_misses(proc: &Proc, snapshot: &Snapshot, call: &SysCall<'_>) {
    if snapshot.sys_rules_fired() {
        return;
    }
    let mut near = proc.near.lock().unwrap_or_else(|e| e.into_inner());
    snapshot.near_misses(call, |i, cause| {
        let n = near.entry(i).or_insert(Near {
            cause,
            point: call.point,
            fd: call.fd.unwrap_or(-1),
            path: call.path.unwrap_or_default().to_vec(),
            calls: 0,
        });
        n.calls += 1;
        if cause.rank(call.point) > n.cause.rank(n.point) {
            n.cause = cause;
            n.point = call.point;
            n.fd = call.fd.unwrap_or(-1);
            n.path = call.path.unwrap_or_default().to_vec();
        }
    });
}

/// Whether some rule has a `kind=` filter (then every descriptor's file is `stat`ed).
fn needs_exact_kind(rules: &[Rule]) -> bool {
    rules.iter().any(|r| r.filters.iter().any(|f| matches!(f, failinject_engine::Filter::Kind(_))))
}

/// Whether process `pid`, running `exe`, has the preload loaded: a dynamic program whose
/// `LD_PRELOAD` names `libfailinject`.
fn preloaded(pid: i32, exe: &[u8]) -> bool {
    use std::os::unix::ffi::OsStrExt as _;
    let exe = Path::new(std::ffi::OsStr::from_bytes(exe));
    if crate::reach::is_static(exe) {
        return false;
    }
    let env = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
    env.split(|&b| b == 0)
        .any(|v| v.starts_with(b"LD_PRELOAD=") && v.windows(13).any(|w| w == b"libfailinject"))
}

fn exe_of(pid: i32) -> Vec<u8> {
    use std::os::unix::ffi::OsStringExt as _;
    std::fs::read_link(format!("/proc/{pid}/exe"))
        .map(|p| p.into_os_string().into_vec())
        .unwrap_or_default()
}

fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// The run's `full` budgets: one disk for every process (SPEC §3.2). The supervisor is one
/// process, so one counter per rule key serves them all.
fn shared_budget(key_hash: u64) -> Option<&'static AtomicU64> {
    static BUDGETS: OnceLock<Mutex<HashMap<u64, &'static AtomicU64>>> = OnceLock::new();
    let mut map = BUDGETS.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner());
    Some(*map.entry(key_hash).or_insert_with(|| Box::leak(Box::new(AtomicU64::new(0)))))
}

/// `proc=` filters read the process's title when a rule asks.
struct Title {
    pid: i32,
    title: Option<Vec<u8>>,
}

impl Context for Title {
    fn proc_title(&mut self) -> Option<&[u8]> {
        if self.title.is_none() {
            let raw = std::fs::read(format!("/proc/{}/cmdline", self.pid)).ok()?;
            let mut t: Vec<u8> = raw.into_iter().map(|b| if b == 0 { b' ' } else { b }).collect();
            while t.last() == Some(&b' ') {
                t.pop();
            }
            self.title = Some(t);
        }
        self.title.as_deref()
    }
}
