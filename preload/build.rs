//! Compiles `src/variadic.c`: the `...` entry points of the printf family. Stable Rust cannot
//! define C-variadic functions, so each is a small C function that gathers its arguments
//! into a `va_list` and calls the matching `v…` function, which our Rust wrapper interposes.
fn main() {
    println!("cargo:rerun-if-changed=src/variadic.c");
    cc::Build::new()
        .file("src/variadic.c")
        .flag("-fvisibility=hidden")
        // Each shim must call the very `v…` function it names, never a rewrite of it (see
        // the declarations at the top of `variadic.c`).
        .flag("-fno-builtin")
        .warnings(true)
        .compile("failinject_variadic");
}
