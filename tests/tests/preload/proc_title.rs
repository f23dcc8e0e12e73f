//! `proc=GLOB` matches the process title as `ps` shows it, which programs rewrite after
//! `fork` (PostgreSQL's `postgres: checkpointer`): the preload reads `/proc/self/cmdline`
//! again after a `fork` and when its copy is older than 10 ms. Seen through the fixture
//! `tests/fixtures/proc_title.c`, which renames itself by overwriting its argument memory.

use failinject_tests::{Run, TempDir, compile_c};
use std::path::Path;

fn fixture(dir: &TempDir) -> std::path::PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/proc_title.c");
    compile_c(&src, &dir.join("proc_title"), &["-O1", "-Wall", "-Werror"])
}

fn run(rules: &str) -> String {
    let dir = TempDir::new("proc-title");
    let exe = fixture(&dir);
    let d = dir.path().to_string_lossy().into_owned();
    let done = Run::new(dir.path(), rules, &exe, &[d.as_str()]).run();
    assert_eq!(done.code, Some(0), "{done:?}");
    done.stdout
}

#[test]
fn a_rule_follows_the_title_a_process_gives_itself() {
    // Only the processes titled `worker: …`: the renamed process (after the cache expired)
    // and the renamed child; neither the process before it renamed itself nor the parent
    // after it took another title.
    assert_eq!(
        run(r#"sys:write[path=*/out.*,proc="worker: *"]=error(EIO)"#),
        "before=ok after=5 child=5 parent=ok\n"
    );
    // One title only: the child.
    assert_eq!(
        run(r#"sys:write[path=*/out.*,proc="worker: checkpointer"]=error(ENOSPC)"#),
        "before=ok after=ok child=28 parent=ok\n"
    );
    // The program's own title, with its argument (the directory): a glob over the whole.
    assert_eq!(
        run(r#"sys:write[path=*/out.*,proc="*proc_title /*"]=error(EIO)"#),
        "before=5 after=ok child=ok parent=ok\n"
    );
}
