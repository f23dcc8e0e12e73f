//! `failinject points`: the engine's table of libc points, for people and scripts.

use failinject_engine::points::{POINTS, PointInfo};
use failinject_engine::{Task, task_fits};
use std::fmt::Write as _;
use std::process::ExitCode;

/// Output format.
#[derive(clap::Args)]
pub struct Args {
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// The filters the preload takes: every one of SPEC §3.1.
const PRELOAD_FILTERS: &[&str] =
    &["path", "fd", "kind", "when", "size", "exe", "proc", "after", "within", "site"];

/// The libc tasks that fit the point.
fn tasks(p: &PointInfo) -> Vec<&'static str> {
    probes().into_iter().filter(|t| task_fits(p, t).is_ok()).map(|t| t.name()).collect()
}

/// Under the seccomp backend: the system calls that stand for the point, and the tasks it
/// carries out on them (none when the point makes no call of its own).
fn seccomp_tasks(p: &PointInfo) -> (Vec<&'static str>, Vec<&'static str>) {
    let mut calls = Vec::new();
    let mut taken = Vec::new();
    for task in probes().into_iter().filter(|t| task_fits(p, t).is_ok()) {
        let text = format!("sys:{}={}", p.name, probe_text(&task));
        let Ok(rule) = failinject_engine::parse_rule(&text) else { continue };
        if let Ok(c) = crate::seccomp::plan::accepts(&rule) {
            calls = c;
            taken.push(task.name());
        }
    }
    if calls.is_empty() {
        calls = crate::seccomp::table::calls_of(p.name).map(|c| c.name).collect();
    }
    (calls, taken)
}

/// A task as a rule writes it, with an argument where it needs one.
fn probe_text(t: &Task) -> String {
    match t {
        Task::Return(_) => "return(0)".into(),
        Task::Error(_) => "error(EIO)".into(),
        Task::Short(_) => "short(1)".into(),
        Task::Corrupt(_) => "corrupt(flip)".into(),
        Task::Full(_) => "full(1)".into(),
        Task::Lose(..) => "lose(EIO)".into(),
        Task::Sleep(_) => "sleep(1)".into(),
        Task::Delay(_) => "delay(1)".into(),
        other => other.name().into(),
    }
}

/// One probe of each libc task.
fn probes() -> Vec<Task> {
    vec![
        Task::Return(Some("0".into())),
        Task::Error(None),
        Task::Short(None),
        Task::Corrupt(failinject_engine::Corruption::Flip),
        Task::Full(1),
        Task::Kill(failinject_engine::Signal::KILL),
        Task::Powercut(failinject_engine::Cut::ALL),
        Task::Lose(failinject_engine::Errno::EIO, failinject_engine::Loss::Revert),
        Task::Sleep(1),
        Task::Delay(1),
        Task::Pause,
        Task::Yield,
        Task::Print(None),
        Task::Panic(None),
    ]
}

/// The point's roles as the table writes them: `writes(at, offset)`.
fn does(p: &PointInfo) -> Vec<String> {
    p.does.iter().map(|(r, _)| format!("{r}{}", p.form(*r).map_or(String::new(), paren))).collect()
}

fn paren(form: &str) -> String {
    if form.is_empty() { String::new() } else { format!("({form})") }
}

fn join<T: ToString>(items: impl IntoIterator<Item = T>) -> String {
    items.into_iter().map(|i| i.to_string()).collect::<Vec<_>>().join(" ")
}

fn json_list<T: ToString>(items: impl IntoIterator<Item = T>) -> String {
    let quoted: Vec<String> = items.into_iter().map(|i| json_string(&i.to_string())).collect();
    format!("[{}]", quoted.join(","))
}

fn json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    if args.json {
        let items: Vec<String> = POINTS
            .iter()
            .map(|p| {
                let seccomp = seccomp_tasks(p);
                format!(
                    "{{\"point\":{},\"doc\":{},\"spellings\":{},\"classes\":{},\"target\":{},\
                     \"failure\":{},\"data\":{},\"does\":{},\"errnos\":{},\"explore\":{},\
                     \"tasks\":{},\"backends\":{{\"preload\":{{\"tasks\":{},\"filters\":{}}},\
                     \"seccomp\":{{\"syscalls\":{},\"tasks\":{},\"filters\":{}{}}}}}}}",
                    json_string(&format!("sys:{}", p.name)),
                    json_string(p.doc.trim()),
                    json_list(p.spellings),
                    json_list(p.classes.iter().map(|c| format!("@{}", c.name()))),
                    json_string(p.target.describe()),
                    json_string(p.fail.describe()),
                    json_string(p.io.describe()),
                    json_list(does(p)),
                    json_list(p.errnos),
                    json_list(p.explore),
                    json_list(tasks(p)),
                    json_list(tasks(p)),
                    json_list(PRELOAD_FILTERS),
                    json_list(&seccomp.0),
                    json_list(&seccomp.1),
                    json_list(crate::seccomp::plan::FILTERS),
                    crate::seccomp::table::instead(p.name)
                        .map_or(String::new(), |i| format!(",\"instead\":{}", json_string(i))),
                )
            })
            .collect();
        crate::out::emit(&format!("[\n{}\n]\n", items.join(",\n")));
        return Ok(ExitCode::SUCCESS);
    }
    let mut out = String::new();
    for p in POINTS {
        let _ = writeln!(out, "sys:{:<18} {}", p.name, p.doc.trim());
        let _ = writeln!(out, "    spellings  {}", join(p.spellings));
        let _ = writeln!(
            out,
            "    classes    {}",
            join(p.classes.iter().map(|c| format!("@{}", c.name())))
        );
        let _ = writeln!(out, "    target     {}", p.target.describe());
        let _ = writeln!(out, "    on failure {}", p.fail.describe());
        if p.io.has_count() {
            let _ = writeln!(out, "    data       {}", p.io.describe());
        }
        if !p.does.is_empty() {
            let _ = writeln!(out, "    does       {}", join(does(p)));
        }
        let _ = writeln!(out, "    errnos     {}", join(p.errnos));
        let _ = writeln!(out, "    tasks      {}", join(tasks(p)));
        let (calls, taken) = seccomp_tasks(p);
        let _ = match crate::seccomp::table::instead(p.name) {
            Some(i) => writeln!(out, "    seccomp    no system call of its own: use {i}"),
            None => writeln!(out, "    seccomp    {} (tasks: {})", join(calls), join(taken)),
        };
    }
    crate::out::emit(&out);
    Ok(ExitCode::SUCCESS)
}
