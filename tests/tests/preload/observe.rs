//! Observability and control: the injection log, call-site ids, in-code points through
//! `failinject.h`, and the C ABI.

use failinject_tests::{Run, TempDir, compile_c, log_records, preload, workspace};
use serde_json::Value;
use std::process::Command;

/// Compiles `tests/fixtures/observe/points.c` against `preload/include/failinject.h`.
fn points(dir: &TempDir) -> String {
    let include = format!("-I{}", workspace().join("preload/include").display());
    let src = workspace().join("tests/fixtures/observe/points.c");
    let exe = compile_c(&src, &dir.join("points"), &["-O1", &include, "-ldl"]);
    exe.to_string_lossy().into_owned()
}

fn run(dir: &TempDir, exe: &str, rules: &str, mode: &str) -> String {
    let done = Run::new(dir.path(), rules, exe, &[mode, &dir.path().to_string_lossy()]).run();
    assert_eq!(done.code, Some(0), "{done:?}");
    done.stdout
}

#[test]
fn in_code_points_do_nothing_without_the_preload() {
    let dir = TempDir::new("obs-bare");
    let exe = points(&dir);
    let out = Command::new(&exe).args(["return", &dir.path().to_string_lossy()]).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "save=0\n");
    let out = Command::new(&exe).args(["dlsym", &dir.path().to_string_lossy()]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("failinject_v1_eval=missing"));
}

#[test]
fn return_on_an_in_code_point() {
    let dir = TempDir::new("obs-return");
    let exe = points(&dir);
    assert_eq!(run(&dir, &exe, "app::save=return", "return"), "save=-1\n");
    assert_eq!(run(&dir, &exe, "app::other=return", "return"), "save=0\n");
}

#[test]
fn within_applies_only_inside_the_scope_and_after_only_once_reached() {
    let dir = TempDir::new("obs-scope");
    let exe = points(&dir);
    let out = run(&dir, &exe, "sys:fsync[path=*/f.dat,within=commit]=error(EIO)", "scope");
    assert_eq!(out, "inside=-1 outside=0\n");
    let out = run(&dir, &exe, "sys:write[path=*/f.dat,after=app::armed]=error(EIO)", "after");
    assert_eq!(out, "before=1 after=-1\n");
}

#[test]
fn the_program_can_set_sys_rules_itself() {
    let dir = TempDir::new("obs-cfg");
    let exe = points(&dir);
    let out = run(&dir, &exe, "", "cfg");
    assert!(out.starts_with("cfg=0 write=-1 errno=28 err=\n"), "{out}");
    assert!(out.contains("bad=-1 err=rule 1 of failinject_v1_cfg"), "{out}");
}

#[test]
fn the_c_abi_is_found_with_dlsym_and_lists_and_removes() {
    let dir = TempDir::new("obs-abi");
    let exe = points(&dir);
    let out = run(&dir, &exe, "app::value=return(42)", "dlsym");
    for name in
        ["eval", "cfg", "remove", "list", "scope_enter", "scope_leave", "generation", "seed"]
    {
        assert!(out.contains(&format!("failinject_v1_{name}=found")), "{name}: {out}");
    }
    assert!(out.contains("eval=1 arg=42"), "{out}");
    let out = run(&dir, &exe, "", "list");
    assert!(out.contains("--list1\na::b\treturn(1)\t0\t0\nsys:fsync\terror(EIO)\t0\t0\n"), "{out}");
    assert!(out.contains("removed=1 again=0 bad=-1"), "{out}");
    assert!(out.contains("--list2\nsys:fsync\terror(EIO)\t0\t0\n"), "{out}");
    assert!(out.contains("changed=1 seed=1"), "the fixed seed of the run: {out}");
}

#[test]
fn a_site_from_one_runs_log_fails_exactly_that_call_in_the_next() {
    let dir = TempDir::new("obs-site");
    let exe = points(&dir);
    let log = dir.join("first.jsonl");
    let done = Run::new(
        dir.path(),
        "sys:write[path=*/f.dat]=error(EIO)",
        &exe,
        &["sites", &dir.path().to_string_lossy()],
    )
    .env("FAILINJECT_LOG", &log)
    .run();
    assert_eq!(done.stdout, "a=-1 b=-1\n", "{done:?}");
    let faults: Vec<Value> =
        log_records(&log).into_iter().filter(|r| r["type"] == "inject").collect();
    assert_eq!(faults.len(), 2);
    let (site_a, site_b) =
        (faults[0]["site"].as_str().unwrap(), faults[1]["site"].as_str().unwrap());
    assert_ne!(site_a, site_b, "two call sites, two ids");
    assert!(faults[0]["frames"][0].as_str().unwrap().starts_with("points+0x"), "{:?}", faults[0]);
    for (site, want) in [(site_a, "a=-1 b=1\n"), (site_b, "a=1 b=-1\n")] {
        let rule = format!("sys:write[path=*/f.dat,site={site}]=error(EIO)");
        assert_eq!(run(&dir, &exe, &rule, "sites"), want, "{rule}");
    }
}

#[test]
fn a_shared_log_of_several_processes_has_whole_lines_that_match_what_they_saw() {
    let dir = TempDir::new("obs-multi");
    std::fs::write(dir.join("src"), vec![1u8; 5000]).unwrap();
    let log = dir.join("run.jsonl");
    let script = "for i in 1 2 3 4 5 6; do cp src dst$i 2>/dev/null; echo \"$i:$?\"; done";
    let done = Run::new(
        dir.path(),
        "sys:copy_file_range[path=*/dst*]=50%error(EIO)",
        "sh",
        &["-c", script],
    )
    .env("FAILINJECT_LOG", &log)
    .run();
    assert_eq!(done.code, Some(0), "{done:?}");
    let failed = done.stdout.lines().filter(|l| l.ends_with(":1")).count();
    let recs = log_records(&log);
    let starts = recs.iter().filter(|r| r["type"] == "start").count();
    assert_eq!(starts, 7, "sh and six cp: {recs:?}");
    let injects: Vec<&Value> = recs.iter().filter(|r| r["type"] == "inject").collect();
    assert_eq!(injects.len(), failed, "one fault record per failed cp: {}", done.stdout);
    let exits: Vec<&Value> = recs.iter().filter(|r| r["type"] == "exit").collect();
    let counted: i64 = exits
        .iter()
        .flat_map(|e| e["rules"].as_array().unwrap())
        .map(|r| r["injections"].as_i64().unwrap())
        .sum();
    assert_eq!(counted as usize, failed, "the exit records count the same faults");
    assert!(injects.iter().all(|r| r["path"].as_str().unwrap().contains("/dst")));
    // Every process that replaced itself said so first (dash's vfork children, before
    // exec'ing cp), and every cp said so at exit(); dash itself ends with _exit, which leaves
    // no exit record, as documented.
    let execs = exits.iter().filter(|e| e["reason"] == "exec").count();
    let exited = exits.iter().filter(|e| e["reason"] == "exit").count();
    assert_eq!((execs, exited), (6, 6), "six execs of cp, six cp exiting: {recs:?}");
}

#[test]
fn the_library_exports_the_abi() {
    let out = Command::new("nm").args(["-D", "--defined-only"]).arg(preload()).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(" failinject_v1_eval"), "{text}");
}

#[test]
fn a_program_that_reuses_low_descriptors_never_receives_log_lines() {
    let dir = TempDir::new("obs-lowfd");
    let log = dir.join("log.jsonl");
    // Close every descriptor above 2, open a file, write to it, and fail one write elsewhere
    // so the log has something to say.
    let script = "import os\n\
         os.closerange(3, 1024)\n\
         fd = os.open('mine.txt', os.O_WRONLY | os.O_CREAT)\n\
         os.write(fd, b'program data\\n')\n\
         t = os.open('t.dat', os.O_WRONLY | os.O_CREAT)\n\
         try: os.write(t, b'x')\n\
         except OSError: print('failed')\n";
    let done =
        Run::new(dir.path(), "sys:write[path=*/t.dat]=error(EIO)", "python3", &["-c", script])
            .env("FAILINJECT_LOG", &log)
            .run();
    assert_eq!((done.code, done.stdout.as_str()), (Some(0), "failed\n"), "{done:?}");
    assert_eq!(std::fs::read_to_string(dir.join("mine.txt")).unwrap(), "program data\n");
    assert!(log_records(&log).iter().any(|r| r["type"] == "start"));
}
