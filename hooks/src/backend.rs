//! Where fail points are decided: the preload's registry when the process runs under
//! `libfailinject.so`, else an in-process registry built on the same engine.
//!
//! The preload is found at run time with `dlsym(RTLD_DEFAULT, "failinject_v1_…")`, never by
//! linking, so the same binary works with and without it. Either way a backend exposes the
//! same few operations, and a *generation* that changes with every configuration change:
//! fail point sites cache "no rule names me" with it.

use crate::wait::Wait;
use failinject_engine::{
    Context, Effect, EnvSources, FileSource, ParseError, Points, ReachedSet, Registry, RuleState,
    Snapshot, env_config, parse_rules,
};
use libc::{c_char, c_void, size_t};
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::sync::atomic::{AtomicPtr, AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

/// What the caller of a fail point must do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing (the task, if any, already happened: kill; under a preload without
    /// `failinject_v1_eval_deferred` also sleep, delay, yield and pause).
    Nothing,
    /// Wait (`sleep`, `delay`, `pause`, `yield`): blocking in `fail_point!`, awaiting in
    /// `fail_point_async!`.
    Wait(Wait),
    /// Return early, handing the closure this argument.
    Return(Option<&'static str>),
    /// Panic with this message.
    Panic(Option<&'static str>),
    /// Log this message, then go on.
    Print(Option<&'static str>),
}

// The ABI's one definition: the preload's functions have exactly these types, and these
// names (`failinject_engine::abi`, checked against the preload's exports at its compile time).
use failinject_engine::abi::{
    Cfg, EVAL_DELAY, EVAL_PANIC, EVAL_PAUSE, EVAL_PRINT, EVAL_RETURN, EVAL_SLEEP, EVAL_YIELD,
    EvalAt, EvalDeferred, GenerationPtr, List, LocalBind, LocalCfg, LocalFree, LocalNew,
    LocalRemove, Lookup, PauseDone, Remove, RestoreLaunch, ScopeEnter, ScopeLeave, names,
};

/// The preload's thread-scoped libc rules (`failinject_v1_local_*`), which a preload may
/// export.
pub struct LocalAbi {
    new: LocalNew,
    cfg: LocalCfg,
    remove: LocalRemove,
    free: LocalFree,
    bind: LocalBind,
}

impl LocalAbi {
    fn find() -> Option<LocalAbi> {
        let get = |name: &std::ffi::CStr| symbol(name);
        let (new, cfg, remove, free, bind) = (
            get(names::failinject_v1_local_new)?,
            get(names::failinject_v1_local_cfg)?,
            get(names::failinject_v1_local_remove)?,
            get(names::failinject_v1_local_free)?,
            get(names::failinject_v1_local_bind)?,
        );
        // SAFETY: a preload that exports these symbols gives them these C types
        // (`failinject_engine::abi`).
        unsafe {
            Some(LocalAbi {
                new: std::mem::transmute::<*mut c_void, LocalNew>(new),
                cfg: std::mem::transmute::<*mut c_void, LocalCfg>(cfg),
                remove: std::mem::transmute::<*mut c_void, LocalRemove>(remove),
                free: std::mem::transmute::<*mut c_void, LocalFree>(free),
                bind: std::mem::transmute::<*mut c_void, LocalBind>(bind),
            })
        }
    }

    /// A new context (0: none could be had).
    pub fn new_context(&self) -> u64 {
        (self.new)()
    }

    /// Sets `rules` (libc rules) in context `ctx`.
    pub fn cfg(&self, ctx: u64, rules: &str) -> Result<(), CfgError> {
        let text = CString::new(rules).map_err(|_| CfgError::Nul)?;
        let mut err = vec![0u8; 4096];
        // SAFETY: a NUL-terminated text and a writable buffer of the given size.
        let r =
            unsafe { (self.cfg)(ctx, text.as_ptr(), err.as_mut_ptr() as *mut c_char, err.len()) };
        if r == 0 {
            return Ok(());
        }
        let end = err.iter().position(|b| *b == 0).unwrap_or(err.len());
        Err(CfgError::Preload(String::from_utf8_lossy(&err[..end]).into_owned()))
    }

    /// Removes the rule `key` from context `ctx`.
    pub fn remove(&self, ctx: u64, key: &str) {
        if let Ok(key) = CString::new(key) {
            // SAFETY: a NUL-terminated key.
            unsafe { (self.remove)(ctx, key.as_ptr()) };
        }
    }

    /// Ends context `ctx`.
    pub fn free(&self, ctx: u64) {
        (self.free)(ctx)
    }

    /// Binds the calling thread to context `ctx` (0: none).
    pub fn bind(&self, ctx: u64) {
        (self.bind)(ctx)
    }
}

/// The preload's ABI, version 1.
pub struct Abi {
    eval_at: EvalAt,
    lookup: Lookup,
    cfg: Cfg,
    remove: Remove,
    list: List,
    scope_enter: ScopeEnter,
    scope_leave: ScopeLeave,
    /// The preload's rules when this process first used a fail point (key, actions): its
    /// launch configuration (`FAILINJECT`, `FAILINJECT_FILE`, `FAILPOINTS`, `run -r`).
    launch: Vec<(String, String)>,
    /// `failinject_v1_restore_launch`, which a preload may export: back to the launch rules
    /// with their own counters. Without it, [`Backend::reset_to_launch`] makes do with `cfg`
    /// and `remove`.
    restore_launch: Option<RestoreLaunch>,
    /// `failinject_v1_eval_deferred` and `failinject_v1_pause_done`, which a preload may
    /// export: the waits come back to us, so `fail_point_async!` awaits them. Without them
    /// the preload carries the waits out itself (and an async point blocks its thread).
    deferred: Option<(EvalDeferred, PauseDone)>,
    /// Thread-scoped libc rules, when the preload has them.
    local: Option<LocalAbi>,
}

/// The in-process registry, when there is no preload.
pub struct Local {
    registry: Mutex<Registry>,
    /// The launch configuration (`FAILINJECT`, `FAILINJECT_FILE`), sharing its rules'
    /// counters with `registry` until they are replaced.
    launch: Registry,
    snapshot: AtomicPtr<Snapshot>,
    reached: ReachedSet,
}

/// The in-process registry's generation. A `static`, so that its address, which fail point
/// sites read through [`GENERATION_PTR`], is fixed before the backend is stored anywhere.
static LOCAL_GENERATION: AtomicU64 = AtomicU64::new(0);

/// One of the two.
pub enum Backend {
    /// The preload's registry, through its C ABI.
    Preload(Abi),
    /// Our own.
    Local(Local),
}

static BACKEND: OnceLock<Backend> = OnceLock::new();

/// Where the generation lives (the preload's or ours); fail point sites read it on every hit.
pub static GENERATION_PTR: AtomicPtr<u64> = AtomicPtr::new(UNSET.as_ptr());
/// Read before the backend is chosen: a value no site has cached, so every site goes to the
/// slow path once, which chooses it.
static UNSET: AtomicU64 = AtomicU64::new(u64::MAX - 1);

fn symbol(name: &std::ffi::CStr) -> Option<*mut c_void> {
    // SAFETY: `name` is NUL-terminated; RTLD_DEFAULT searches every loaded object.
    let p = unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr()) };
    (!p.is_null()).then_some(p)
}

impl Abi {
    fn find() -> Option<(Abi, *const u64)> {
        macro_rules! get {
            ($name:expr, $t:ty) => {{
                let p = symbol($name)?;
                // SAFETY: the preload exports this symbol with exactly this C type
                // (preload/src/abi.rs, failinject.h).
                unsafe { std::mem::transmute::<*mut c_void, $t>(p) }
            }};
        }
        let gen_ptr: GenerationPtr = get!(names::failinject_v1_generation_ptr, GenerationPtr);
        let abi = Abi {
            eval_at: get!(names::failinject_v1_eval_at, EvalAt),
            lookup: get!(names::failinject_v1_lookup, Lookup),
            cfg: get!(names::failinject_v1_cfg, Cfg),
            remove: get!(names::failinject_v1_remove, Remove),
            list: get!(names::failinject_v1_list, List),
            scope_enter: get!(names::failinject_v1_scope_enter, ScopeEnter),
            scope_leave: get!(names::failinject_v1_scope_leave, ScopeLeave),
            launch: Vec::new(),
            local: LocalAbi::find(),
            deferred: symbol(names::failinject_v1_eval_deferred)
                .zip(symbol(names::failinject_v1_pause_done))
                .map(|(e, d)| {
                    // SAFETY: a preload that exports these symbols gives them these C types
                    // (`failinject_engine::abi`).
                    unsafe {
                        (
                            std::mem::transmute::<*mut c_void, EvalDeferred>(e),
                            std::mem::transmute::<*mut c_void, PauseDone>(d),
                        )
                    }
                }),
            restore_launch: symbol(names::failinject_v1_restore_launch).map(|p| {
                // SAFETY: a preload that exports this symbol gives it this C type
                // (`int failinject_v1_restore_launch(void)`, returning 0 on success).
                unsafe { std::mem::transmute::<*mut c_void, RestoreLaunch>(p) }
            }),
        };
        // A function of the preload with no arguments: the address of an atomic u64 that
        // lives as long as the process.
        let ptr = gen_ptr();
        (!ptr.is_null()).then_some((abi, ptr))
    }
}

impl Abi {
    /// Every rule of the preload's registry: key, actions, matches, injections.
    fn list(&self) -> Vec<(String, String, u64, u64)> {
        let mut buf = vec![0u8; 64 * 1024];
        let text = loop {
            // SAFETY: a writable buffer of the given size.
            let n = unsafe { (self.list)(buf.as_mut_ptr() as *mut c_char, buf.len()) };
            if n < 0 {
                return Vec::new();
            }
            if (n as usize) < buf.len() {
                break String::from_utf8_lossy(&buf[..n as usize]).into_owned();
            }
            buf = vec![0u8; n as usize + 1];
        };
        text.lines()
            .filter_map(|l| {
                let mut f = l.split('\t');
                let (k, a, m, i) = (f.next()?, f.next()?, f.next()?, f.next()?);
                Some((k.to_owned(), a.to_owned(), m.parse().ok()?, i.parse().ok()?))
            })
            .collect()
    }
}

impl Local {
    fn new() -> Local {
        let seed = std::env::var("FAILINJECT_SEED")
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or_else(|| {
                let t = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos() as u64);
                t ^ u64::from(std::process::id()).rotate_left(32)
            });
        let registry = launch_registry(seed);
        let local = Local {
            snapshot: AtomicPtr::new(std::ptr::null_mut()),
            reached: ReachedSet::new(4096),
            launch: registry.clone(),
            registry: Mutex::new(registry),
        };
        local.publish(&mut local.registry.lock().unwrap_or_else(|e| e.into_inner()));
        local
    }

    /// Makes the registry's rules the ones evaluated; only then are the rules it replaced
    /// retired, so a thread woken from their `pause` finds the new ones.
    fn publish(&self, registry: &mut Registry) {
        registry.publish(|snapshot| {
            let snap: &'static Snapshot = Box::leak(Box::new(snapshot));
            self.snapshot.store(snap as *const Snapshot as *mut Snapshot, Ordering::Release);
            LOCAL_GENERATION.store(snap.generation(), Ordering::Release);
        });
    }

    fn snapshot(&self) -> &'static Snapshot {
        // SAFETY: set in `new` before the backend is shared, to a leaked snapshot that is
        // never freed.
        unsafe { &*self.snapshot.load(Ordering::Acquire) }
    }

    /// Marks a point reached (a load when it already was).
    fn reach(&self, hash: u64) {
        if !self.reached.contains(hash) {
            self.reached.insert(hash);
        }
    }

    fn change<T>(&self, f: impl FnOnce(&mut Registry) -> T) -> T {
        let mut reg = self.registry.lock().unwrap_or_else(|e| e.into_inner());
        let out = f(&mut reg);
        self.publish(&mut reg);
        out
    }
}

/// The launch configuration of the in-process registry: `FAILINJECT`, then the file
/// `FAILINJECT_FILE` names (`FAILPOINTS` is read by `FailScenario::setup`, as in fail-rs).
/// `sys:` rules among them are kept but never evaluated here: they are for the preload, or
/// for the seccomp backend's supervisor, which reads the same variables.
fn launch_registry(seed: u64) -> Registry {
    let failinject = std::env::var_os("FAILINJECT").map(|v| v.into_encoded_bytes());
    let file_name = std::env::var_os("FAILINJECT_FILE").map(|v| v.into_encoded_bytes());
    let contents = file_name
        .as_ref()
        .map(|n| std::fs::read(std::ffi::OsStr::from_bytes(n)).map_err(|e| e.to_string()));
    let file = file_name
        .as_deref()
        .zip(contents.as_ref())
        .map(|(name, c)| FileSource { name, contents: c.as_deref().map_err(String::as_str) });
    let sources = EnvSources { failinject: failinject.as_deref(), file, ..EnvSources::default() };
    match env_config(&sources) {
        Ok(config) => config.into_registry(seed, b""),
        Err(problems) => {
            let all: Vec<String> = problems.iter().map(ToString::to_string).collect();
            panic!("failinject: {}", all.join("\n"))
        }
    }
}

/// The backend, chosen on first use.
pub fn backend() -> &'static Backend {
    BACKEND.get_or_init(|| match Abi::find() {
        Some((mut abi, ptr)) => {
            GENERATION_PTR.store(ptr as *mut u64, Ordering::Release);
            abi.launch = abi.list().into_iter().map(|(k, a, ..)| (k, a)).collect();
            Backend::Preload(abi)
        }
        None => {
            let local = Local::new();
            GENERATION_PTR.store(LOCAL_GENERATION.as_ptr(), Ordering::Release);
            Backend::Local(local)
        }
    })
}

/// The scopes and reached points of the in-process registry.
struct LocalCtx<'a>(&'a Local);

impl Context for LocalCtx<'_> {
    fn within(&self, h: u64) -> bool {
        SCOPES.with(|s| s.borrow().contains(&h))
    }
    fn reached(&self, h: u64) -> bool {
        self.0.reached.contains(h)
    }
}

/// Carries out the tasks that end the process, and says what the caller must do for the
/// others (`state` is the deciding rule's, which a `pause` waits on).
pub(crate) fn outcome(effect: Effect<'static>, state: &'static RuleState) -> Outcome {
    match effect {
        Effect::ReturnArg(v) => Outcome::Return(v),
        Effect::Panic(m) => Outcome::Panic(m),
        Effect::Print(m) => Outcome::Print(m),
        Effect::Sleep(ms) => Outcome::Wait(Wait::Sleep(ms)),
        Effect::Delay(ms) => Outcome::Wait(Wait::Delay(ms)),
        Effect::Yield => Outcome::Wait(Wait::Yield),
        Effect::Pause => Outcome::Wait(Wait::Pause(state)),
        Effect::Kill(sig) => {
            // SAFETY: raising a signal in the calling thread.
            unsafe { libc::raise(sig.0) };
            Outcome::Nothing
        }
        // Without libfailinject.so nothing tracked the program's writes, so nothing can be
        // rolled back: the process is killed as by the power cut, its files as they are (a
        // process crash, not a power cut), and says so on stderr first.
        Effect::Powercut { .. } => {
            let msg: &[u8] = b"failinject: powercut without libfailinject.so: no write is rolled \
                back (preload the library for a real power cut); killing the process\n";
            // SAFETY: a write of a live buffer to stderr, then SIGKILL to ourselves.
            unsafe {
                libc::write(2, msg.as_ptr() as *const libc::c_void, msg.len());
                libc::kill(libc::getpid(), libc::SIGKILL);
            }
            Outcome::Nothing
        }
        _ => Outcome::Nothing,
    }
}

impl Backend {
    /// The preload's thread-scoped libc rules: `Err` says why there are none (no preload, or
    /// one without them), for a `sys:` rule given to `local::cfg`.
    pub fn local_abi(&self, rule: &str) -> Result<&LocalAbi, CfgError> {
        match self {
            Backend::Preload(Abi { local: Some(l), .. }) => Ok(l),
            Backend::Preload(_) => Err(CfgError::LocalSys(rule.to_string())),
            Backend::Local(_) => Err(CfgError::NeedsPreload(rule.to_string())),
        }
    }

    /// The point's index in the current configuration (`None`: no rule names it, or its rules
    /// can never act) and the generation that answer belongs to. Marks the point reached.
    pub fn lookup(&self, name: &str, hash: u64, cname: &std::ffi::CStr) -> (u64, Option<u32>) {
        match self {
            Backend::Preload(abi) => {
                let mut generation = 0;
                // SAFETY: a NUL-terminated name and a writable u64, per the ABI.
                let i = unsafe { (abi.lookup)(cname.as_ptr(), &mut generation) };
                (generation, u32::try_from(i).ok())
            }
            Backend::Local(l) => {
                l.reach(hash);
                let snap = l.snapshot();
                let point = snap.code_point(name).filter(|p| !snap.code_point_inert(*p));
                (snap.generation(), point.map(|p| p.index()))
            }
        }
    }

    /// Evaluates the point, looked up at (`generation`, `index`).
    pub fn eval(
        &self,
        generation: u64,
        index: u32,
        name: &str,
        hash: u64,
        cname: &std::ffi::CStr,
    ) -> Outcome {
        match self {
            Backend::Preload(abi) => {
                let mut arg: *const c_char = std::ptr::null();
                let mut len: size_t = 0;
                let (mut ms, mut pause): (u64, *const c_void) = (0, std::ptr::null());
                let name = cname.as_ptr();
                // SAFETY: per the ABI; `arg` points into a configuration the preload never
                // frees, so the 'static lifetime below holds.
                let code = unsafe {
                    match abi.deferred {
                        Some((deferred, _)) => deferred(
                            generation,
                            index,
                            name,
                            &mut arg,
                            &mut len,
                            &mut ms,
                            &mut pause as *mut *const c_void,
                        ),
                        None => (abi.eval_at)(generation, index, name, &mut arg, &mut len),
                    }
                };
                let text = (!arg.is_null()).then(|| {
                    // SAFETY: `len` bytes of UTF-8 (rule text) live at `arg` for good.
                    let bytes = unsafe { std::slice::from_raw_parts(arg as *const u8, len) };
                    std::str::from_utf8(bytes).unwrap_or("")
                });
                match code {
                    EVAL_RETURN => Outcome::Return(text),
                    EVAL_PANIC => Outcome::Panic(text),
                    EVAL_PRINT => Outcome::Print(text),
                    EVAL_SLEEP => Outcome::Wait(Wait::Sleep(ms)),
                    EVAL_DELAY => Outcome::Wait(Wait::Delay(ms)),
                    EVAL_YIELD => Outcome::Wait(Wait::Yield),
                    EVAL_PAUSE => match abi.deferred {
                        Some((_, done)) => Outcome::Wait(Wait::PreloadPause(pause as usize, done)),
                        None => Outcome::Nothing,
                    },
                    _ => Outcome::Nothing,
                }
            }
            Backend::Local(l) => {
                l.reach(hash);
                let snap = l.snapshot();
                let point = if snap.generation() == generation {
                    snap.code_point_at(index)
                } else {
                    snap.code_point(name)
                };
                let Some(point) = point else { return Outcome::Nothing };
                match snap.decide_code(point, &mut LocalCtx(l)) {
                    Some(d) => outcome(d.effect, d.state),
                    None => Outcome::Nothing,
                }
            }
        }
    }

    /// Sets rules (in-code, and `sys:` ones when the preload is there).
    pub fn cfg(&self, rules: &str) -> Result<(), CfgError> {
        match self {
            Backend::Preload(abi) => {
                let text = CString::new(rules).map_err(|_| CfgError::Nul)?;
                let mut err = vec![0u8; 4096];
                // SAFETY: a NUL-terminated text and a writable buffer of the given size.
                let r =
                    unsafe { (abi.cfg)(text.as_ptr(), err.as_mut_ptr() as *mut c_char, err.len()) };
                if r == 0 {
                    Ok(())
                } else {
                    let end = err.iter().position(|b| *b == 0).unwrap_or(err.len());
                    Err(CfgError::Preload(String::from_utf8_lossy(&err[..end]).into_owned()))
                }
            }
            Backend::Local(l) => {
                let parsed = parse_rules(rules, "cfg").map_err(CfgError::Parse)?;
                if let Some(r) = parsed.iter().find(|r| matches!(r.points, Points::Sys(_))) {
                    return Err(CfgError::NeedsPreload(r.to_string()));
                }
                l.change(|reg| {
                    parsed.into_iter().for_each(|r| {
                        reg.set(r);
                    })
                });
                Ok(())
            }
        }
    }

    /// Removes the rule with this key; whether there was one.
    pub fn remove(&self, key: &str) -> bool {
        match self {
            Backend::Preload(abi) => {
                let Ok(k) = CString::new(key) else { return false };
                // SAFETY: a NUL-terminated key.
                unsafe { (abi.remove)(k.as_ptr()) == 1 }
            }
            Backend::Local(l) => l.change(|reg| reg.remove(key).unwrap_or(false)),
        }
    }

    /// Every rule: key, actions, matches, injections.
    pub fn list(&self) -> Vec<(String, String, u64, u64)> {
        match self {
            Backend::Preload(abi) => abi.list(),
            Backend::Local(l) => {
                let reg = l.registry.lock().unwrap_or_else(|e| e.into_inner());
                reg.list()
                    .into_iter()
                    .map(|r| (r.key, r.actions, r.matches, r.injections))
                    .collect()
            }
        }
    }

    /// Goes back to the launch configuration: the rules the process started with, in their
    /// order, with the counters they have (a launch rule replaced since comes back with the
    /// counters it had then); every other rule is removed.
    ///
    /// Under the preload this is `failinject_v1_restore_launch` where the preload exports it.
    /// Where it does not (the preloads released so far), it is done with the calls the ABI
    /// has: rules not in the launch list are removed, and a launch rule that is missing or was
    /// changed is set again from its text, with fresh counters, at the end of the order.
    pub fn reset_to_launch(&self) {
        match self {
            Backend::Local(l) => l.change(|reg| reg.restore(&l.launch)),
            Backend::Preload(Abi { restore_launch: Some(restore), .. }) if restore() == 0 => {}
            Backend::Preload(abi) => {
                let launch = &abi.launch;
                let now = self.list();
                for (key, ..) in &now {
                    if !launch.iter().any(|(k, _)| k == key) {
                        self.remove(key);
                    }
                }
                for (key, actions) in launch {
                    if !now.iter().any(|(k, a, ..)| k == key && a == actions) {
                        // The text came from the preload's own list: it parses.
                        let _ = self.cfg(&format!("{key}={actions}"));
                    }
                }
            }
        }
    }

    /// The calling thread enters or leaves the scope `name`.
    pub fn scope(&self, name: &std::ffi::CStr, hash: u64, enter: bool) {
        match self {
            // SAFETY: a NUL-terminated name.
            Backend::Preload(abi) => unsafe {
                if enter {
                    (abi.scope_enter)(name.as_ptr())
                } else {
                    (abi.scope_leave)(name.as_ptr())
                }
            },
            Backend::Local(_) => SCOPES.with(|s| {
                let mut s = s.borrow_mut();
                if enter {
                    s.push(hash);
                } else if let Some(i) = s.iter().rposition(|h| *h == hash) {
                    s.remove(i);
                }
            }),
        }
    }
}

thread_local! {
    /// The thread's scopes, for the in-process registry (the preload keeps its own).
    static SCOPES: std::cell::RefCell<Vec<u64>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Why `cfg` refused a configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CfgError {
    /// The rule or action does not parse (in-process registry).
    Parse(ParseError),
    /// The preload refused it, with this message.
    Preload(String),
    /// The text holds a NUL byte.
    Nul,
    /// A `sys:` rule, and no `libfailinject.so` in the process to carry it out.
    NeedsPreload(String),
    /// A `sys:` rule given to `local::cfg` under a preload without thread-scoped libc rules.
    LocalSys(String),
}

impl std::fmt::Display for CfgError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CfgError::Parse(e) => write!(f, "{e}"),
            CfgError::Preload(m) => f.write_str(m),
            CfgError::Nul => f.write_str("the configuration holds a NUL byte"),
            CfgError::NeedsPreload(rule) => write!(
                f,
                "`{rule}` is a libc rule, and libfailinject.so is not loaded in this process: \
                 run the program under the preload (`failinject run -- PROGRAM`, or \
                 LD_PRELOAD=libfailinject.so) for `sys:` rules"
            ),
            CfgError::LocalSys(rule) => write!(
                f,
                "`{rule}` is a libc rule, and this libfailinject.so has no thread-scoped libc \
                 rules (failinject_v1_local_*): use a newer one, or give the rule to \
                 failinject::cfg with a `path=` of the test's own files"
            ),
        }
    }
}

impl std::error::Error for CfgError {}

impl From<CfgError> for String {
    fn from(e: CfgError) -> String {
        e.to_string()
    }
}
