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

/// The libc tasks that fit the point.
fn tasks(p: &PointInfo) -> Vec<&'static str> {
    let probes = [
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
    ];
    probes.iter().filter(|t| task_fits(p, t).is_ok()).map(Task::name).collect()
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
                format!(
                    "{{\"point\":{},\"doc\":{},\"spellings\":{},\"classes\":{},\"target\":{},\
                     \"failure\":{},\"data\":{},\"does\":{},\"errnos\":{},\"explore\":{},\
                     \"tasks\":{}}}",
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
    }
    crate::out::emit(&out);
    Ok(ExitCode::SUCCESS)
}
