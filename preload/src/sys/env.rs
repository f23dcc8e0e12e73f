//! The one change the library makes to the program's environment: a bare `LD_PRELOAD` tree
//! that founded a run (`bare.rs`) names its directory in `FAILINJECT_RUN`, so that every
//! process started below, forked or exec'd, joins the same run.

/// Sets `FAILINJECT_RUN` to `dir`. Called only from our constructor, before `main`.
pub fn set_run(dir: &std::path::Path) {
    // SAFETY: `set_env` is unsound only while another thread reads or writes the environment.
    // This runs in our one constructor, before `main`: the program has started no thread, and
    // libraries' constructors that start threads which read the environment are not a case
    // we can serve anyway (their reads would race with ld.so's own setup).
    unsafe { std::env::set_var("FAILINJECT_RUN", dir) };
}
