//! Every spelling of every libc point, generated from the table: in a program running under
//! the preload, the symbol a program binds to is the preload's wrapper, and the wrapper finds
//! the real libc function behind it.

use failinject_engine::points::POINTS;
use failinject_tests::{Run, TempDir, compile_c};

/// Prints, for each name in argv, the object defining the symbol the program binds to
/// (`dlsym(RTLD_DEFAULT)`) and whether libc itself defines it (what the wrapper's
/// `dlsym(RTLD_NEXT)` finds).
const FIXTURE: &str = r#"
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
int main(int argc, char **argv) {
    void *libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
    for (int i = 1; i < argc; i++) {
        void *bound = dlsym(RTLD_DEFAULT, argv[i]);
        Dl_info info = {0};
        const char *where = bound && dladdr(bound, &info) ? info.dli_fname : "(none)";
        void *real = libc ? dlsym(libc, argv[i]) : 0;
        printf("%s %s %s\n", argv[i], where, real ? "real" : "noreal");
    }
    return 0;
}
"#;

#[test]
fn every_spelling_binds_to_the_preload_and_has_a_real_function() {
    let dir = TempDir::new("interpose");
    std::fs::write(dir.join("bind.c"), FIXTURE).unwrap();
    compile_c(&dir.join("bind.c"), &dir.join("bind"), &["-O1", "-ldl"]);
    let names: Vec<&str> = POINTS.iter().flat_map(|p| p.spellings.iter().copied()).collect();
    let done = Run::new(dir.path(), "sys:fsync=off", "./bind", &names).run();
    assert_eq!(done.code, Some(0), "{done:?}");
    let lines: Vec<&str> = done.stdout.lines().collect();
    assert_eq!(lines.len(), names.len(), "{}", done.stdout);
    let mut wrong = Vec::new();
    for line in lines {
        let mut f = line.split_whitespace();
        let (name, object, real) = (f.next().unwrap(), f.next().unwrap(), f.next().unwrap());
        if !object.ends_with("libfailinject.so") || real != "real" {
            wrong.push(format!("{name}: bound in {object}, {real}"));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} spellings are not interposed:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}
