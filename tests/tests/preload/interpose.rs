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

/// `msync` names no descriptor, only an address: its target is the file mapped there, so a
/// `path=` filter matches the mapped file (`sys:msync[path=*.mdb]`), and nothing else.
#[test]
fn msync_is_matched_by_the_path_of_the_file_mapped_at_its_address() {
    assert!(failinject_tests::have("python3"), "python3 is needed: apt-get install -y python3");
    let dir = failinject_tests::TempDir::new("msync-path");
    let program = r#"
import mmap, os
fd = os.open("data.mdb", os.O_RDWR | os.O_CREAT)
os.ftruncate(fd, 8192)
m = mmap.mmap(fd, 8192, mmap.MAP_SHARED)
m[0:4] = b"abcd"
try:
    m.flush()
    print("flush ok")
except OSError as e:
    print("flush", e.errno)
"#;
    for (rule, want) in [
        ("sys:msync[path=*.mdb]=error(EIO)", "flush 5"),
        ("sys:msync[path=*.other]=error(EIO)", "flush ok"),
        ("sys:msync[kind=file]=error(EIO)", "flush 5"),
    ] {
        let done = failinject_tests::Run::new(dir.path(), rule, "python3", &["-c", program])
            .bounded(std::time::Duration::from_secs(30));
        assert_eq!(done.stdout.trim(), want, "{rule}: {done:?}");
    }
}
