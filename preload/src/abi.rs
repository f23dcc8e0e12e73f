//! The versioned C ABI of the registry: `failinject_v1_*`.
//!
//! Programs reach it at run time with `dlsym(RTLD_DEFAULT, "failinject_v1_eval")`, never by
//! linking, so the same binary runs with and without the preload: the `failinject` Rust crate
//! and `failinject.h` use it for in-code points, so that one configuration, one seed, one log
//! and one control socket cover in-code and libc points. `preload/include/failinject.h`
//! documents each function for C callers. The functions' types are defined once, in
//! `failinject_engine::abi`, and checked against the definitions here at compile time.
//!
//! The registry decides; the caller acts. `return`, `panic` and `print` come back to the
//! caller (its language knows how to return early, panic or log); `sleep`, `delay`, `yield`,
//! `pause`, `kill` and `powercut` happen here. Strings handed out (a `return` value, a message) live in a
//! published snapshot, which is never freed.

use crate::sys::guard;
use crate::{log, scope, state};
use failinject_engine::{Effect, RuleState, name_hash, parse_key, parse_rules};
use libc::{c_char, c_int, c_void, size_t, ssize_t};
use std::ffi::CStr;

pub use failinject_engine::abi::{
    EVAL_DELAY, EVAL_NONE, EVAL_PANIC, EVAL_PAUSE, EVAL_PRINT, EVAL_RETURN, EVAL_SLEEP, EVAL_YIELD,
};

/// Each exported function has exactly the type the ABI's one definition gives it
/// (`failinject_engine::abi`): a signature that drifts fails to compile here.
macro_rules! check {
    ($($sym:ident : $ty:ident = $fnty:ty, $proto:literal;)*) => {
        $(const _: failinject_engine::abi::$ty = $sym;)*
    };
}
failinject_engine::abi_v1!(check);

/// # Safety
/// `p` is null or a NUL-terminated string.
unsafe fn text<'a>(p: *const c_char) -> Option<&'a str> {
    if p.is_null() {
        return None;
    }
    // SAFETY: the caller's contract.
    unsafe { CStr::from_ptr(p) }.to_str().ok()
}

/// Copies `msg` into the caller's buffer, NUL-terminated and cut to fit.
///
/// # Safety
/// `buf` is null or has room for `len` bytes.
unsafe fn give(msg: &str, buf: *mut c_char, len: size_t) {
    if buf.is_null() || len == 0 {
        return;
    }
    let n = msg.len().min(len - 1);
    // SAFETY: `buf` has room for `len > n` bytes (caller's contract).
    unsafe {
        std::ptr::copy_nonoverlapping(msg.as_ptr(), buf as *mut u8, n);
        *buf.add(n) = 0;
    }
}

/// Marks the in-code point `name` reached (for `after=` rules); the first time in this
/// process, a log that traces in-code points (`explore --scope NAME-GLOB`) gets a record.
fn reached(name: &str) {
    if scope::reach(name_hash(name.as_bytes())) && log::tracing_code_points() {
        let mut buf = [0u8; 2048];
        log::code_point_reached(name, crate::ctx::Ctx::default().frames(), &mut buf);
    }
}

/// Evaluates the in-code point `name`. Returns one of `EVAL_NONE`, `EVAL_RETURN`,
/// `EVAL_PANIC`, `EVAL_PRINT`; for the last three, `*arg`/`*arg_len` receive the task's
/// argument (`*arg` null when it has none). The argument is not NUL-terminated and stays
/// valid for the life of the process.
///
/// # Safety
/// `name` is a NUL-terminated string; `arg` and `arg_len` are null or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn failinject_v1_eval(
    name: *const c_char,
    arg: *mut *const c_char,
    arg_len: *mut size_t,
) -> c_int {
    // SAFETY: the caller's contract.
    unsafe { failinject_v1_eval_at(0, u32::MAX, name, arg, arg_len) }
}

/// The address of the configuration generation (a `u64` the preload updates atomically with
/// every change). A fail point may cache "no rule names me" together with the generation it
/// found that in, and skip every call until the number moves: one load and a compare.
#[unsafe(no_mangle)]
pub extern "C" fn failinject_v1_generation_ptr() -> *const u64 {
    state::PLAIN_GENERATION.as_ptr()
}

/// Looks the in-code point `name` up: its index in the current configuration (-1 when no
/// rule names it, -2 when its rules can never act: no filter, only `off`), and that
/// configuration's generation in `*generation`. Marks the point reached, for `after=` rules.
///
/// # Safety
/// `name` is a NUL-terminated string; `generation` is null or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn failinject_v1_lookup(name: *const c_char, generation: *mut u64) -> i64 {
    // SAFETY: the caller's contract.
    let Some(name) = (unsafe { text(name) }) else { return -1 };
    reached(name);
    let Some(snap) = state::snapshot() else { return -1 };
    if !generation.is_null() {
        // SAFETY: the caller's contract.
        unsafe { *generation = snap.generation() };
    }
    match snap.code_point(name) {
        None => -1,
        Some(p) if snap.code_point_inert(p) => -2,
        Some(p) => i64::from(p.index()),
    }
}

/// [`failinject_v1_eval`] for a point looked up with [`failinject_v1_lookup`]: when the
/// configuration is still of `generation`, `index` finds its rules without a name lookup;
/// otherwise `name` is looked up again.
///
/// # Safety
/// As [`failinject_v1_eval`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn failinject_v1_eval_at(
    generation: u64,
    index: u32,
    name: *const c_char,
    arg: *mut *const c_char,
    arg_len: *mut size_t,
) -> c_int {
    // SAFETY: the caller's contract.
    unsafe { evaluate(generation, index, name, arg, arg_len, None) }
}

/// [`failinject_v1_eval_at`] that leaves the waits to the caller, which may await them
/// (`fail_point_async!`): `sleep`, `delay`, `yield` and `pause` come back as
/// `EVAL_SLEEP`/`EVAL_DELAY` (with the milliseconds in `*wait_ms`), `EVAL_YIELD`, and
/// `EVAL_PAUSE` (with `*pause`, a token for [`failinject_v1_pause_done`]).
///
/// # Safety
/// As [`failinject_v1_eval`]; `wait_ms` and `pause` are null or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn failinject_v1_eval_deferred(
    generation: u64,
    index: u32,
    name: *const c_char,
    arg: *mut *const c_char,
    arg_len: *mut size_t,
    wait_ms: *mut u64,
    pause: *mut *const c_void,
) -> c_int {
    let mut wait = Deferred { code: EVAL_NONE, ms: 0, pause: std::ptr::null() };
    // SAFETY: the caller's contract.
    let code = unsafe { evaluate(generation, index, name, arg, arg_len, Some(&mut wait)) };
    if code != EVAL_NONE || wait.code == EVAL_NONE {
        return code;
    }
    if !wait_ms.is_null() {
        // SAFETY: the caller's contract.
        unsafe { *wait_ms = wait.ms };
    }
    if !pause.is_null() {
        // SAFETY: the caller's contract.
        unsafe { *pause = wait.pause };
    }
    wait.code
}

/// Whether the rule a pause token of [`failinject_v1_eval_deferred`] names was replaced or
/// removed (1), so the paused point may go on, or not yet (0).
///
/// # Safety
/// `pause` is a token `failinject_v1_eval_deferred` gave (rules are never freed).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn failinject_v1_pause_done(pause: *const c_void) -> c_int {
    // SAFETY: the caller's contract: the address of a rule's state in a published snapshot,
    // which is never freed.
    match unsafe { (pause as *const RuleState).as_ref() } {
        Some(state) => c_int::from(state.is_retired()),
        None => 1,
    }
}

/// A wait decided and left to the caller.
struct Deferred {
    code: c_int,
    ms: u64,
    pause: *const c_void,
}

/// The body of the evaluations: carries out the waits, or with `defer` hands them back.
///
/// # Safety
/// As [`failinject_v1_eval`].
unsafe fn evaluate(
    generation: u64,
    index: u32,
    name: *const c_char,
    arg: *mut *const c_char,
    arg_len: *mut size_t,
    defer: Option<&mut Deferred>,
) -> c_int {
    // SAFETY: the caller's contract.
    let Some(name) = (unsafe { text(name) }) else { return EVAL_NONE };
    let Some(_inside) = guard::Inside::enter() else { return EVAL_NONE };
    reached(name);
    let Some(snap) = state::snapshot() else { return EVAL_NONE };
    let point = if snap.generation() == generation {
        snap.code_point_at(index)
    } else {
        snap.code_point(name)
    };
    let Some(point) = point else { return EVAL_NONE };
    let mut ctx = crate::ctx::Ctx::default();
    let d = snap.decide_code(point, &mut ctx);
    // The run's shared counts, before the decision takes effect (`run.rs`).
    crate::run::mirror(snap);
    let Some(d) = d else { return EVAL_NONE };
    if log::enabled() {
        let mut buf = [0u8; 2048];
        log::inject_code(name, &d, ctx.frames(), &mut buf);
    }
    if let Some(defer) = defer {
        let state = d.state as *const RuleState as *const c_void;
        let (code, ms, pause) = match d.effect {
            Effect::Sleep(ms) => (EVAL_SLEEP, ms, std::ptr::null()),
            Effect::Delay(ms) => (EVAL_DELAY, ms, std::ptr::null()),
            Effect::Yield => (EVAL_YIELD, 0, std::ptr::null()),
            Effect::Pause => (EVAL_PAUSE, 0, state),
            _ => (EVAL_NONE, 0, std::ptr::null()),
        };
        if code != EVAL_NONE {
            *defer = Deferred { code, ms, pause };
            return EVAL_NONE;
        }
    }
    let (code, message) = match d.effect {
        Effect::ReturnArg(v) => (EVAL_RETURN, v),
        Effect::Panic(m) => (EVAL_PANIC, m),
        Effect::Print(m) => (EVAL_PRINT, m),
        Effect::Sleep(ms) => {
            crate::sys::raw::sleep_ms(ms);
            (EVAL_NONE, None)
        }
        Effect::Delay(ms) => {
            crate::sys::raw::spin_ms(ms);
            (EVAL_NONE, None)
        }
        Effect::Yield => {
            // SAFETY: sched_yield has no preconditions.
            unsafe { libc::sched_yield() };
            (EVAL_NONE, None)
        }
        Effect::Pause => {
            while !d.state.is_retired() {
                crate::sys::raw::sleep_ms(1);
            }
            (EVAL_NONE, None)
        }
        Effect::Kill(sig) => {
            // SAFETY: raising a signal in the calling thread.
            unsafe { libc::raise(sig.0) };
            (EVAL_NONE, None)
        }
        // The same power cut as on a libc point: every file written since its last sync goes
        // back, then SIGKILL (`crash.rs`).
        Effect::Powercut { cut, seed } => crate::crash::powercut(cut, seed),
        _ => (EVAL_NONE, None),
    };
    if !arg.is_null() {
        // SAFETY: the caller's contract; the string lives in a published snapshot.
        unsafe { *arg = message.map_or(std::ptr::null(), |m| m.as_ptr() as *const c_char) };
    }
    if !arg_len.is_null() {
        // SAFETY: the caller's contract.
        unsafe { *arg_len = message.map_or(0, str::len) };
    }
    code
}

/// Sets the rules in `rules` (one or more, as in `FAILINJECT`; in-code and `sys:` alike),
/// each replacing a rule with the same key. Returns 0, or -1 when a rule is bad (nothing is
/// changed, and the reason is written to `err`, NUL-terminated, cut to `err_len`).
///
/// # Safety
/// `rules` is a NUL-terminated string; `err` is null or has room for `err_len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn failinject_v1_cfg(
    rules: *const c_char,
    err: *mut c_char,
    err_len: size_t,
) -> c_int {
    let _inside = guard::Inside::enter();
    // SAFETY: the caller's contract.
    let Some(text) = (unsafe { text(rules) }) else {
        // SAFETY: the caller's contract.
        unsafe { give("the rules are not UTF-8 text", err, err_len) };
        return -1;
    };
    let parsed = match parse_rules(text, "failinject_v1_cfg") {
        Ok(r) => r,
        Err(e) => {
            // SAFETY: the caller's contract.
            unsafe { give(&e.to_string(), err, err_len) };
            return -1;
        }
    };
    let done = state::change(|reg| {
        for rule in parsed {
            reg.set(rule);
        }
    });
    if done.is_none() {
        // SAFETY: the caller's contract.
        unsafe { give("the preload's registry is not available", err, err_len) };
        return -1;
    }
    0
}

/// Removes the rule with key `key` (`point[filters]`). Returns 1 when one was removed, 0
/// when there was none, -1 for a malformed key.
///
/// # Safety
/// `key` is a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn failinject_v1_remove(key: *const c_char) -> c_int {
    let _inside = guard::Inside::enter();
    // SAFETY: the caller's contract.
    let Some(key) = (unsafe { text(key) }) else { return -1 };
    if parse_key(key).is_err() {
        return -1;
    }
    match state::change(|reg| reg.remove(key)) {
        Some(Ok(true)) => 1,
        Some(Ok(false)) => 0,
        _ => -1,
    }
}

/// Writes one line per rule, `key\tactions\tmatches\tinjections\n`, into `buf` (NUL-terminated
/// when it fits) and returns the length of the whole text, so a caller can retry with a
/// larger buffer; -1 when the registry is not available.
///
/// # Safety
/// `buf` is null or has room for `len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn failinject_v1_list(buf: *mut c_char, len: size_t) -> ssize_t {
    let _inside = guard::Inside::enter();
    let Some(text) = state::read(|reg| {
        reg.list()
            .iter()
            .map(|r| format!("{}\t{}\t{}\t{}\n", r.key, r.actions, r.matches, r.injections))
            .collect::<String>()
    }) else {
        return -1;
    };
    if text.len() < len {
        // SAFETY: the caller's contract; the text and its NUL fit.
        unsafe { give(&text, buf, len) };
    }
    text.len() as ssize_t
}

/// The calling thread enters the scope `name` (`within=NAME` rules now apply to it).
///
/// # Safety
/// `name` is a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn failinject_v1_scope_enter(name: *const c_char) {
    // SAFETY: the caller's contract.
    if let Some(name) = unsafe { text(name) } {
        scope::enter(name_hash(name.as_bytes()));
    }
}

/// The calling thread leaves its innermost scope, `name`.
///
/// # Safety
/// `name` is a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn failinject_v1_scope_leave(name: *const c_char) {
    // SAFETY: the caller's contract.
    if let Some(name) = unsafe { text(name) } {
        scope::leave(name_hash(name.as_bytes()));
    }
}

/// A number that changes whenever the rules change: callers may cache "no rule for this
/// point" until it moves.
#[unsafe(no_mangle)]
pub extern "C" fn failinject_v1_generation() -> u64 {
    state::snapshot().map_or(0, |s| s.generation())
}

/// The seed of every random choice in this process.
#[unsafe(no_mangle)]
pub extern "C" fn failinject_v1_seed() -> u64 {
    state::snapshot().map_or(0, |s| s.seed())
}

/// Makes the rules the launch configuration again (`FAILINJECT`, `FAILINJECT_FILE`,
/// `FAILPOINTS`, `failinject run -r`), each launch rule with its own counters, as they are
/// or as they were when it was replaced: a `FailScenario`'s teardown. 0 on success, -1 when
/// the preload has no registry.
#[unsafe(no_mangle)]
pub extern "C" fn failinject_v1_restore_launch() -> c_int {
    let Some(_inside) = guard::Inside::enter() else { return -1 };
    match state::restore_launch() {
        Some(()) => 0,
        None => -1,
    }
}

/// A new local context: libc rules that only the threads bound to it see
/// (`failinject::local::cfg("sys:…")`); its number, or 0 when none can be had.
#[unsafe(no_mangle)]
pub extern "C" fn failinject_v1_local_new() -> u64 {
    let Some(_inside) = guard::Inside::enter() else { return 0 };
    let Some((seed, exe)) = state::read(|r| (r.seed(), r.exe().to_vec())) else { return 0 };
    crate::local::new(seed, &exe).unwrap_or(0)
}

/// Sets libc rules in local context `ctx` (each replacing a rule with its key). Returns 0, or
/// -1 with the reason in `err`: a bad rule, an in-code point, or a task that acts on the
/// whole process (`powercut`, `kill`, `panic`, `lose`).
///
/// # Safety
/// As [`failinject_v1_cfg`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn failinject_v1_local_cfg(
    ctx: u64,
    rules: *const c_char,
    err: *mut c_char,
    err_len: size_t,
) -> c_int {
    let Some(_inside) = guard::Inside::enter() else { return -1 };
    // SAFETY: the caller's contract.
    let Some(text) = (unsafe { text(rules) }) else {
        // SAFETY: the caller's contract.
        unsafe { give("the rules are not UTF-8 text", err, err_len) };
        return -1;
    };
    match crate::local::cfg(ctx, text) {
        Ok(()) => {
            state::local_changed();
            0
        }
        Err(why) => {
            // SAFETY: the caller's contract.
            unsafe { give(&why, err, err_len) };
            -1
        }
    }
}

/// Removes the rule with `key` from local context `ctx`: 1 removed, 0 none, -1 bad key.
///
/// # Safety
/// `key` is a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn failinject_v1_local_remove(ctx: u64, key: *const c_char) -> c_int {
    let Some(_inside) = guard::Inside::enter() else { return -1 };
    // SAFETY: the caller's contract.
    let Some(key) = (unsafe { text(key) }) else { return -1 };
    match crate::local::remove(ctx, key) {
        Ok(removed) => {
            state::local_changed();
            c_int::from(removed)
        }
        Err(_) => -1,
    }
}

/// Ends local context `ctx` (its rules are gone).
#[unsafe(no_mangle)]
pub extern "C" fn failinject_v1_local_free(ctx: u64) {
    let Some(_inside) = guard::Inside::enter() else { return };
    crate::local::free(ctx);
    state::local_changed();
}

/// Binds the calling thread to local context `ctx` (0: none): its libc calls meet that
/// context's rules first.
#[unsafe(no_mangle)]
pub extern "C" fn failinject_v1_local_bind(ctx: u64) {
    crate::local::bind(ctx);
}
