//! Every example is real (issue 18): each command of `--help`, the README and `docs/` that
//! names a real program (`cp`, `dd`, `tar`, `sqlite3`, `git`, `python3`) is run here as
//! written, under the real library, and must inject. Examples whose program is a placeholder
//! (`./app`, `./server`) must say so in their text, and their rules must pass `failinject
//! check`.
//!
//! The examples are read from the `--help` output and the markdown themselves, so a new
//! example cannot escape this test: one naming a program this file does not know fails it.

use crate::common::*;
use std::path::{Path, PathBuf};

/// The real programs an example may name, and what each needs in its directory first.
const REAL: &[&str] = &["cp", "dd", "tar", "sqlite3", "git", "python3"];

/// Where an example was found, for messages.
#[derive(Debug, Clone)]
struct Example {
    from: String,
    /// The command as one line (continuations joined).
    line: String,
}

/// The lines of `text` that run `failinject run`/`explore` (or the README's `cargo run`), or
/// drive the library by hand (`FAILINJECT=… LD_PRELOAD=… prog`), continuations joined.
fn commands(text: &str, from: &str) -> Vec<Example> {
    let mut out = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let mut l = line.trim().trim_start_matches("$ ").to_string();
        let starts = ["failinject ", "cargo run --release -- ", "FAILINJECT="];
        if !starts.iter().any(|s| l.starts_with(s)) {
            continue;
        }
        while l.ends_with('\\') {
            l.pop();
            let Some(next) = lines.next() else { break };
            l.push(' ');
            l.push_str(next.trim());
        }
        // `--help` puts a description after the command on the same line.
        for cut in ["   ", " then: "] {
            if let Some(at) = l.find(cut)
                && !l[..at].ends_with('\\')
            {
                l.truncate(at);
            }
        }
        // `cargo run --release --` is the README's way to run the command it builds.
        let l = l.replace("cargo run --release -- ", "failinject ");
        out.push(Example { from: from.to_string(), line: l.trim().to_string() });
    }
    out
}

/// A small POSIX shell word splitter: quotes, backslashes; enough for the examples.
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut any = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                any = true;
                for c in chars.by_ref() {
                    if c == '\'' {
                        break;
                    }
                    cur.push(c);
                }
            }
            '"' => {
                any = true;
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => cur.extend(chars.next()),
                        c => cur.push(c),
                    }
                }
            }
            '\\' => {
                any = true;
                cur.extend(chars.next());
            }
            c if c.is_whitespace() => {
                if any || !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                any = false;
            }
            c => cur.push(c),
        }
    }
    if any || !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// The program an example runs: the word after `--` for `run` and `explore`, the word after
/// the environment assignments for a `FAILINJECT=… LD_PRELOAD=…` line. `None` for commands
/// that run no program (`check`, `ctl`, `points`, `report merge`).
fn program(w: &[String]) -> Option<String> {
    if w[0].starts_with("FAILINJECT=") {
        return w.iter().find(|x| !x.contains('=')).cloned();
    }
    let sub = w.iter().position(|x| ["run", "explore"].contains(&x.as_str()))?;
    let at = sub + w[sub..].iter().position(|x| x == "--")?;
    w.get(at + 1).cloned()
}

/// The rules an example gives: `-r RULE`, `FAILINJECT=RULES`, `ctl … set RULE`.
fn rules(w: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for (i, x) in w.iter().enumerate() {
        if x == "--" && i > 2 {
            break;
        }
        if let Some(r) = x.strip_prefix("FAILINJECT=") {
            out.push(r.to_string());
        }
        if x == "-r" || (x == "set" && w.get(1).is_some_and(|s| s == "ctl")) {
            out.extend(w.get(i + 1).cloned());
        }
    }
    out
}

fn help_texts() -> Vec<(String, String, String)> {
    let dir = TempDir::new("examples-help");
    let mut texts = Vec::new();
    for sub in [
        &[][..],
        &["run"],
        &["check"],
        &["points"],
        &["ctl"],
        &["explore"],
        &["report", "merge"],
        &["completions"],
        &["man"],
    ] {
        let mut args: Vec<&str> = sub.to_vec();
        args.push("--help");
        let out = output(failinject(dir.path(), &args));
        assert!(out.status.success(), "failinject {args:?}: {}", text(&out.stderr));
        let help = text(&out.stdout);
        texts.push((format!("failinject {}", args.join(" ")), help.clone(), help));
    }
    texts
}

/// Each page's fenced code (the commands to type) and its whole text (what explains them).
fn markdown_texts() -> Vec<(String, String, String)> {
    let root = failinject_tests::workspace();
    let mut files = vec![root.join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .expect("docs/")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    docs.sort();
    files.extend(docs);
    files
        .into_iter()
        .map(|p| {
            let body = std::fs::read_to_string(&p).unwrap();
            // Only what is inside fenced blocks is a command to type.
            let mut inside = false;
            let mut code = String::new();
            for l in body.lines() {
                if l.trim_start().starts_with("```") {
                    inside = !inside;
                } else if inside {
                    code.push_str(l);
                    code.push('\n');
                }
            }
            (p.strip_prefix(&root).unwrap().display().to_string(), code, body)
        })
        .collect()
}

/// The library the installed binary uses (its cached copy), for examples that set
/// `LD_PRELOAD` by hand.
fn library(dir: &Path) -> PathBuf {
    let out = output(failinject(dir, &["run", "-q", "--", "true"]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let found = walk(cache())
        .into_iter()
        .find(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("libfailinject")));
    found.expect("the cached library")
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() { out.extend(walk(&p)) } else { out.push(p) }
    }
    out
}

/// A program that stands for the user's own (`./app`), or a synopsis's `CMD`.
fn placeholder(program: &str) -> bool {
    program.starts_with("./") || program.starts_with("/tmp/ex/") || is_grammar(program)
}

/// A word of a synopsis (`CMD`), not a program.
fn is_grammar(word: &str) -> bool {
    word.bytes().all(|b| b.is_ascii_uppercase())
}

/// The files a real program's example expects to find.
fn prepare(dir: &Path, w: &[String]) {
    let Some(sub) = w.iter().position(|x| x == "run") else { return };
    let Some(at) = w[sub..].iter().position(|x| x == "--") else { return };
    let cmd = &w[sub + at + 1..];
    if cmd[0] == "cp" {
        let source = cmd.iter().skip(1).find(|x| !x.starts_with('-')).expect("cp SOURCE");
        let bytes: Vec<u8> = (0..2u32 << 20).map(|i| (i * 7 % 251) as u8).collect();
        std::fs::write(dir.join(source), bytes).unwrap();
    }
}

/// Runs one example that names a real program and returns why it does not inject, if so.
fn run_real(ex: &Example, lib: &Path) -> Result<(), String> {
    let dir = TempDir::new("example");
    let w = words(&ex.line);
    prepare(dir.path(), &w);
    let line = ex
        .line
        .replace("/tmp/", &format!("{}/", dir.path().display()))
        .replace("$PWD/target/release/libfailinject.so", lib.to_str().unwrap())
        .replace("target/release/libfailinject.so", lib.to_str().unwrap());
    let log = dir.join("hand.%p.jsonl");
    let out = output(shell(dir.path(), &line).env("FAILINJECT_LOG", &log));
    let stderr = text(&out.stderr);
    let fail = |why: &str| Err(format!("{why}\n  status {:?}\n  stderr: {stderr}", out.status));
    if w[0].starts_with("FAILINJECT=") {
        let injected: usize = walk(dir.path())
            .iter()
            .filter(|p| p.to_string_lossy().contains("hand."))
            .map(|p| records(p).iter().filter(|r| r["type"] == "inject").count())
            .sum();
        return if injected > 0 { Ok(()) } else { fail("the log has no inject record") };
    }
    if w.iter().any(|x| x == "explore") {
        if !matches!(out.status.code(), Some(0 | 1)) {
            return fail("explore did not complete");
        }
        return if stderr.contains("runs over") && !stderr.contains(": 0 runs") {
            Ok(())
        } else {
            fail("explore ran no fault")
        };
    }
    // `failinject run`: every rule of the summary injected.
    let rows: Vec<&str> = stderr
        .lines()
        .skip_while(|l| !l.contains("matched  injected"))
        .skip(1)
        .take_while(|l| l.starts_with("  ") && !l.trim_start().starts_with('('))
        .collect();
    if rows.is_empty() {
        return fail("no summary");
    }
    for row in rows {
        let injected: u64 = row.split_whitespace().nth(1).and_then(|n| n.parse().ok()).unwrap_or(0);
        if injected == 0 {
            return fail(&format!("a rule never injected: {row}"));
        }
    }
    Ok(())
}

#[test]
fn every_example_that_names_a_real_program_injects() {
    let mut all = Vec::new();
    for (from, code, _) in help_texts().into_iter().chain(markdown_texts()) {
        all.extend(commands(&code, &from));
    }
    let dir = TempDir::new("examples");
    let lib = library(dir.path());
    let mut real = 0;
    let mut failures = Vec::new();
    for ex in &all {
        let w = words(&ex.line);
        let Some(prog) = program(&w) else { continue };
        if placeholder(&prog) {
            continue; // checked by the test below
        }
        assert!(
            REAL.contains(&prog.as_str()),
            "{}: the example `{}` runs `{prog}`, which is neither a real program this test \
             runs ({REAL:?}) nor a placeholder (`./name`)",
            ex.from,
            ex.line
        );
        assert!(have(&prog), "{prog} is missing: apt-get install -y {prog}");
        real += 1;
        if let Err(why) = run_real(ex, &lib) {
            failures.push(format!("{}: `{}`: {why}", ex.from, ex.line));
        }
    }
    assert!(real >= 5, "only {real} examples with real programs found: {all:#?}");
    assert!(failures.is_empty(), "examples that do not inject:\n{}", failures.join("\n\n"));
}

#[test]
fn placeholder_examples_say_so_and_their_rules_pass_check() {
    let dir = TempDir::new("examples-placeholders");
    let mut checked = 0;
    let texts: Vec<_> = help_texts().into_iter().chain(markdown_texts()).collect();
    for (from, code, body) in &texts {
        for ex in commands(code, from) {
            let w = words(&ex.line);
            if !program(&w).is_none_or(|p| placeholder(&p)) {
                continue;
            }
            if let Some(p) = program(&w).filter(|p| !is_grammar(p)) {
                let name = p.trim_start_matches("./");
                assert!(
                    body.contains(&format!("{p} stands for"))
                        || body.contains(&format!("{p} and"))
                        || body.contains(&format!("`{p}`"))
                        || body.contains(&format!("-o {name}")),
                    "{from}: the example `{}` runs the placeholder {p} without saying what it \
                     stands for",
                    ex.line
                );
            }
            // `check` examples in the pages may show a bad rule on purpose, with its error.
            if w.get(1).is_some_and(|s| s == "check") && !from.starts_with("failinject") {
                continue;
            }
            for rule in rules(&w) {
                let out = output(failinject(dir.path(), &["check", "-r", &rule]));
                assert!(
                    out.status.success(),
                    "{from}: the rule `{rule}` of `{}` fails check: {}",
                    ex.line,
                    text(&out.stderr)
                );
                checked += 1;
            }
        }
    }
    assert!(checked >= 5, "only {checked} placeholder rules found");
}

#[test]
fn the_word_splitter_reads_the_examples_as_sh_does() {
    assert_eq!(
        words(r#"a 'b c' "d\"e" f\ g"#),
        ["a", "b c", "d\"e", "f g"].map(String::from).to_vec()
    );
    let ex = commands("  failinject run -r 'x' \\\n    -- cp a b\n", "t");
    assert_eq!(ex[0].line, "failinject run -r 'x'  -- cp a b");
    assert_eq!(program(&words(&ex[0].line)).as_deref(), Some("cp"));
    assert_eq!(rules(&words(&ex[0].line)), ["x"]);
}

/// The README's recipes (a table of rules, each for `failinject run -r RULE -- CMD`) pass
/// `check`.
#[test]
fn the_readme_recipes_pass_check() {
    let readme = std::fs::read_to_string(failinject_tests::workspace().join("README.md")).unwrap();
    let dir = TempDir::new("examples-recipes");
    let mut checked = 0;
    for row in readme.lines().filter(|l| l.starts_with("| ")) {
        let Some(cell) = row.split(" | ").nth(1) else { continue };
        for piece in cell.split('`').skip(1).step_by(2).filter(|p| p.starts_with("sys:")) {
            let rule = piece.replace("\\|", "|");
            let out = output(failinject(dir.path(), &["check", "-r", &rule]));
            assert!(out.status.success(), "README recipe `{rule}`: {}", text(&out.stderr));
            checked += 1;
        }
    }
    assert!(checked >= 10, "only {checked} recipes found");
}
