//! The C ABI of the preload's registry, version 1: `failinject_v1_*`, defined once.
//!
//! `libfailinject.so` exports these functions; the `failinject` crate finds them at run time
//! with `dlsym`, and C programs through the weak declarations of `failinject.h`. All three
//! are held to this one table:
//!
//! - the preload checks each exported function against its type here at compile time
//!   (`failinject_engine::abi_v1!(…)` expands to one `const` per function);
//! - the `failinject` crate calls them through the types here, found by the names here;
//! - a test compiles a C program against `failinject.h` with `-Wall -Werror`, calls every
//!   function under the preload, and checks that the header declares exactly
//!   [`C_PROTOTYPES`].
//!
//! Adding a function means one line in [`abi_v1!`](crate::abi_v1) and one function in the preload; a
//! signature that differs anywhere fails to build or fails that test.

use core::ffi::{CStr, c_char, c_int, c_void};

/// `failinject_v1_eval`: nothing to do, go ahead.
pub const EVAL_NONE: c_int = 0;
/// `failinject_v1_eval`: return early; the argument (maybe absent) is the value.
pub const EVAL_RETURN: c_int = 1;
/// `failinject_v1_eval`: panic (or abort) with the argument as the message.
pub const EVAL_PANIC: c_int = 2;
/// `failinject_v1_eval`: log the argument, then go ahead.
pub const EVAL_PRINT: c_int = 3;
/// `failinject_v1_eval_deferred`: sleep `*wait_ms` milliseconds, then go ahead.
pub const EVAL_SLEEP: c_int = 4;
/// `failinject_v1_eval_deferred`: busy-wait (or, awaited, sleep) `*wait_ms` milliseconds.
pub const EVAL_DELAY: c_int = 5;
/// `failinject_v1_eval_deferred`: wait until `failinject_v1_pause_done(*pause)` says 1.
pub const EVAL_PAUSE: c_int = 6;
/// `failinject_v1_eval_deferred`: yield the CPU, then go ahead.
pub const EVAL_YIELD: c_int = 7;

/// The table: each function's symbol, the name of its Rust type, that type, and its C
/// prototype as `failinject.h` declares it. Hands the table to `$m`.
#[macro_export]
macro_rules! abi_v1 {
    ($m:ident) => {
        $m! {
            failinject_v1_eval: Eval = unsafe extern "C" fn(*const c_char, *mut *const c_char, *mut usize) -> c_int,
                "int failinject_v1_eval(const char *name, const char **arg, size_t *arg_len)";
            failinject_v1_eval_at: EvalAt = unsafe extern "C" fn(u64, u32, *const c_char, *mut *const c_char, *mut usize) -> c_int,
                "int failinject_v1_eval_at(unsigned long long generation, unsigned index, const char *name, const char **arg, size_t *arg_len)";
            failinject_v1_lookup: Lookup = unsafe extern "C" fn(*const c_char, *mut u64) -> i64,
                "long long failinject_v1_lookup(const char *name, unsigned long long *generation)";
            failinject_v1_cfg: Cfg = unsafe extern "C" fn(*const c_char, *mut c_char, usize) -> c_int,
                "int failinject_v1_cfg(const char *rules, char *err, size_t err_len)";
            failinject_v1_remove: Remove = unsafe extern "C" fn(*const c_char) -> c_int,
                "int failinject_v1_remove(const char *key)";
            failinject_v1_list: List = unsafe extern "C" fn(*mut c_char, usize) -> isize,
                "ssize_t failinject_v1_list(char *buf, size_t len)";
            failinject_v1_scope_enter: ScopeEnter = unsafe extern "C" fn(*const c_char),
                "void failinject_v1_scope_enter(const char *name)";
            failinject_v1_scope_leave: ScopeLeave = unsafe extern "C" fn(*const c_char),
                "void failinject_v1_scope_leave(const char *name)";
            failinject_v1_generation: Generation = extern "C" fn() -> u64,
                "unsigned long long failinject_v1_generation(void)";
            failinject_v1_generation_ptr: GenerationPtr = extern "C" fn() -> *const u64,
                "const unsigned long long *failinject_v1_generation_ptr(void)";
            failinject_v1_seed: Seed = extern "C" fn() -> u64,
                "unsigned long long failinject_v1_seed(void)";
            failinject_v1_restore_launch: RestoreLaunch = extern "C" fn() -> c_int,
                "int failinject_v1_restore_launch(void)";
            failinject_v1_eval_deferred: EvalDeferred = unsafe extern "C" fn(u64, u32, *const c_char, *mut *const c_char, *mut usize, *mut u64, *mut *const c_void) -> c_int,
                "int failinject_v1_eval_deferred(unsigned long long generation, unsigned index, const char *name, const char **arg, size_t *arg_len, unsigned long long *wait_ms, const void **pause)";
            failinject_v1_pause_done: PauseDone = unsafe extern "C" fn(*const c_void) -> c_int,
                "int failinject_v1_pause_done(const void *pause)";
            failinject_v1_local_new: LocalNew = extern "C" fn() -> u64,
                "unsigned long long failinject_v1_local_new(void)";
            failinject_v1_local_cfg: LocalCfg = unsafe extern "C" fn(u64, *const c_char, *mut c_char, usize) -> c_int,
                "int failinject_v1_local_cfg(unsigned long long ctx, const char *rules, char *err, size_t err_len)";
            failinject_v1_local_remove: LocalRemove = unsafe extern "C" fn(u64, *const c_char) -> c_int,
                "int failinject_v1_local_remove(unsigned long long ctx, const char *key)";
            failinject_v1_local_free: LocalFree = extern "C" fn(u64),
                "void failinject_v1_local_free(unsigned long long ctx)";
            failinject_v1_local_bind: LocalBind = extern "C" fn(u64),
                "void failinject_v1_local_bind(unsigned long long ctx)";
        }
    };
}

/// Defines the types, the symbol names and the prototypes from the table.
macro_rules! define {
    ($($sym:ident : $ty:ident = $fnty:ty, $proto:literal;)*) => {
        $(
            #[doc = concat!("The type of `", stringify!($sym), "`: `", $proto, "`.")]
            pub type $ty = $fnty;
        )*

        /// The symbol of each function, NUL-terminated for `dlsym`.
        #[allow(non_upper_case_globals)]
        pub mod names {
            use core::ffi::CStr;
            $(
                #[doc = concat!("`", stringify!($sym), "`.")]
                pub const $sym: &CStr = match CStr::from_bytes_with_nul(
                    concat!(stringify!($sym), "\0").as_bytes(),
                ) {
                    Ok(c) => c,
                    Err(_) => panic!("symbol names have no NUL"),
                };
            )*
        }

        /// Every function of the ABI: its symbol and its C prototype, as `failinject.h`
        /// declares it.
        pub const C_PROTOTYPES: &[(&str, &str)] = &[$((stringify!($sym), $proto)),*];

        /// The symbol of every function, for `dlsym`.
        pub const SYMBOLS: &[&CStr] = &[$(names::$sym),*];
    };
}

abi_v1!(define);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_function_has_a_name_and_a_prototype_that_names_it() {
        assert_eq!(SYMBOLS.len(), C_PROTOTYPES.len());
        for (sym, proto) in C_PROTOTYPES {
            assert!(proto.contains(&format!("{sym}(")), "{proto} does not declare {sym}");
            assert!(sym.starts_with("failinject_v1_"));
        }
        assert_eq!(names::failinject_v1_eval.to_bytes(), b"failinject_v1_eval");
    }
}
