//! `report.html`: one self-contained page (no script, no network) that someone who has never
//! seen failinject can read. A grid of call sites × faults, each cell coloured by outcome and
//! opening onto its call stack, what the program said and the command that reproduces it.
#![forbid(unsafe_code)]

use super::classify::Outcome;
use super::report::{Report, RunReport};
use super::symbols::top_frame;
use anyhow::Context as _;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

const STYLE: &str = r#"
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px; color: #1d1d1f; background: #fafafa; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 28px 0 8px; }
code, pre, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12.5px; }
pre { white-space: pre-wrap; word-break: break-all; background: #f0f0f0; padding: 6px 8px; border-radius: 4px; margin: 4px 0; }
.lede { color: #555; max-width: 70em; }
.counts { display: flex; gap: 10px; flex-wrap: wrap; margin: 12px 0; }
.count { padding: 8px 14px; border-radius: 6px; color: #fff; min-width: 90px; }
.count b { display: block; font-size: 22px; }
table.grid { border-collapse: collapse; background: #fff; }
.grid th, .grid td { border: 1px solid #ddd; padding: 4px 6px; vertical-align: top; text-align: left; }
.grid th { background: #f3f3f3; font-weight: 600; }
.cell { min-width: 92px; }
.cell summary { cursor: pointer; list-style: none; padding: 3px 6px; border-radius: 4px; color: #fff; font-weight: 600; }
.cell details[open] { min-width: 420px; }
.handled { background: #2e7d32; } .swallowed { background: #ef6c00; } .crashed { background: #c62828; }
.retried-sync { background: #ad1457; } .hung { background: #6a1b9a; } .corrupted { background: #4e0d0d; } .unreached { background: #9e9e9e; }
.none { color: #bbb; }
.legend span { display: inline-block; padding: 1px 8px; margin-right: 6px; border-radius: 4px; color: #fff; }
.timeline { border-collapse: collapse; margin: 4px 0; }
.timeline td { padding: 1px 8px; border-bottom: 1px solid #eee; font-family: monospace; }
.kept { color: #1b5e20; } .lost { color: #b71c1c; text-decoration: line-through; }
.torn { color: #e65100; } .point { font-weight: 700; }
.finding { background: #fff; border: 1px solid #ddd; border-left: 6px solid #999; padding: 8px 12px; margin: 8px 0; border-radius: 4px; }
"#;

/// What each outcome means, for the legend.
const MEANING: [(&str, &str); 7] = [
    ("handled", "the program failed cleanly or routed around the fault, and the oracle passed"),
    (
        "swallowed",
        "the program exited 0 although a write, sync, close or rename failed: the error was lost",
    ),
    (
        "retried-sync",
        "a sync lost its data, the program synced again, that succeeded, and it exited 0",
    ),
    ("crashed", "killed by a signal nobody sent, a panic or an abort"),
    ("hung", "still running at the timeout"),
    ("corrupted", "the oracle found the data damaged afterwards"),
    ("unreached", "the program never made that call in this run"),
];

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn class(r: &RunReport) -> &'static str {
    r.outcome.map_or("unreached", Outcome::name)
}

/// The worst outcome first: findings before handled, unreached last.
fn severity(r: &RunReport) -> u8 {
    match r.outcome {
        Some(Outcome::Corrupted) => 0,
        Some(Outcome::Crashed) => 1,
        Some(Outcome::Hung) => 2,
        Some(Outcome::RetriedSync) => 3,
        Some(Outcome::Swallowed) => 3,
        Some(Outcome::Handled) => 4,
        None => 5,
    }
}

fn details(out: &mut String, r: &RunReport) {
    let _ = write!(
        out,
        "<div>call {} of this site · {} · <code>{}</code></div>",
        r.nth,
        esc(&r.status),
        esc(r.path.as_deref().unwrap_or("(no path)"))
    );
    if let Some(c) = &r.crash {
        timeline(out, c);
    }
    let _ = write!(out, "<div>Reproduce:</div><pre>{}</pre>", esc(&r.repro));
    let _ = write!(out, "<div>Call stack:</div><pre>{}</pre>", esc(&r.frames.join("\n")));
    if !r.stderr.trim().is_empty() {
        let _ = write!(out, "<div>The program said:</div><pre>{}</pre>", esc(r.stderr.trim()));
    }
    if let Some(o) = &r.oracle_output {
        let _ = write!(out, "<div>The oracle said:</div><pre>{}</pre>", esc(o.trim()));
    }
}

/// A rejected crash state's timeline: the changes not yet durable at its crash point, in
/// the order they were made, each marked kept, lost or torn (those in the smallest set found
/// to break the oracle starred), then the change after which the power failed.
fn timeline(out: &mut String, c: &super::crash::CrashFinding) {
    let mut rows: Vec<(&super::crash::ChangeRef, &str)> = Vec::new();
    rows.extend(c.kept.iter().map(|x| (x, "kept")));
    rows.extend(c.lost.iter().map(|x| (x, "lost")));
    rows.extend(c.torn.iter().map(|x| (x, "torn")));
    rows.sort_by_key(|(x, _)| x.index);
    let _ = write!(
        out,
        "<div>Crash state <code>{}</code>: {} unsynced changes kept, {} lost, {} torn{}:</div>\
         <table class=\"timeline\">",
        esc(&c.id),
        c.kept.len(),
        c.lost.len(),
        c.torn.len(),
        if c.minimal.is_empty() {
            String::new()
        } else {
            format!(
                "; losing only the {} starred breaks it{}",
                c.minimal.len(),
                if c.minimal_proven { " (minimal)" } else { "" }
            )
        }
    );
    let row = |out: &mut String, x: &super::crash::ChangeRef, class: &str, mark: &str| {
        let star = if c.minimal.iter().any(|m| m.index == x.index) { "*" } else { "" };
        let range = match (x.off, x.len) {
            (Some(o), Some(l)) => format!("@{o}+{l}"),
            (None, Some(l)) => format!("to {l}"),
            _ => String::new(),
        };
        let _ = write!(
            out,
            "<tr class=\"{class}\"><td>#{}{star}</td><td>{mark}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{}</td></tr>",
            x.index,
            esc(&x.op),
            esc(x.path.as_deref().unwrap_or("")),
            esc(&range),
            esc(x.frame.as_deref().unwrap_or(&x.site))
        );
    };
    for (x, class) in rows {
        row(out, x, class, class);
    }
    row(out, &c.point, "point", "power cut after");
    out.push_str("</table>");
}

/// The whole page.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    let command = report.command.join(" ");
    let _ = write!(
        out,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>failinject explore: {}</title><style>{STYLE}</style></head><body>",
        esc(&command)
    );
    let _ = write!(
        out,
        "<h1>Fault exploration of <code>{}</code></h1><p class=\"lede\">failinject ran this \
         command once without faults to find every place where it writes, syncs, opens, \
         renames or closes files (its <em>call sites</em>), then ran it again {} times, each \
         time making one call fail (or cutting the power there) and watching what the program \
         did. Each run started in a fresh directory{}{}. Scope: <code>{}</code>; seed {}{}.</p>",
        esc(&command),
        report.runs,
        report
            .setup
            .as_deref()
            .map(|s| format!(" prepared by <code>{}</code>", esc(s)))
            .unwrap_or_default(),
        report
            .oracle
            .as_deref()
            .map(|s| format!("; afterwards the oracle <code>{}</code> checked the data", esc(s)))
            .unwrap_or_default(),
        esc(&report.scope),
        report.seed,
        if report.shards.is_empty() {
            String::new()
        } else {
            format!("; shards {}", esc(&report.shards.join(", ")))
        },
    );

    out.push_str("<div class=\"counts\">");
    for (name, _) in MEANING.iter().take(5) {
        let n = report.outcomes.get(*name).copied().unwrap_or(0);
        let _ = write!(out, "<div class=\"count {name}\"><b>{n}</b>{name}</div>");
    }
    let _ = write!(
        out,
        "<div class=\"count unreached\"><b>{}</b>unreached</div></div>",
        report.unreached
    );
    out.push_str("<p class=\"legend\">");
    for (name, meaning) in MEANING {
        let _ = write!(out, "<span class=\"{name}\">{name}</span>{} &nbsp; ", esc(meaning));
    }
    out.push_str("</p>");

    // The grid: one row per site, one column per fault tried.
    let mut columns: Vec<String> = Vec::new();
    for r in &report.results {
        if !columns.contains(&r.task) {
            columns.push(r.task.clone());
        }
    }
    let mut cells: BTreeMap<(String, String, String), Vec<&RunReport>> = BTreeMap::new();
    for r in &report.results {
        cells.entry((r.point.clone(), r.site.clone(), r.task.clone())).or_default().push(r);
    }
    out.push_str(
        "<h2>Every call site × every fault</h2><p class=\"lede\">Click a cell for the \
                  call stack, what the program printed, and the command that repeats the run.</p>",
    );
    out.push_str("<table class=\"grid\"><tr><th>function</th><th>where the program calls it (innermost first)</th><th>file</th><th>calls</th>");
    for c in &columns {
        let _ = write!(out, "<th class=\"mono\">{}</th>", esc(c));
    }
    out.push_str("</tr>");
    for site in &report.sites {
        let _ = write!(
            out,
            "<tr><td class=\"mono\">{}</td><td class=\"mono\">{}</td><td class=\"mono\">{}</td><td>{}</td>",
            esc(&site.function),
            site.frames.iter().take(3).map(|f| esc(f)).collect::<Vec<_>>().join("<br>"),
            esc(site.path.as_deref().unwrap_or("")),
            site.calls
        );
        for c in &columns {
            match cells.get(&(site.point.clone(), site.site.clone(), c.clone())) {
                None => out.push_str("<td class=\"none\">–</td>"),
                Some(runs) => {
                    let mut runs = runs.clone();
                    runs.sort_by_key(|r| (severity(r), r.nth));
                    let worst = runs[0];
                    let label = if runs.len() > 1 {
                        format!("{} ({} runs)", class(worst), runs.len())
                    } else {
                        class(worst).to_string()
                    };
                    let _ = write!(
                        out,
                        "<td class=\"cell\"><details><summary class=\"{}\">{}</summary>",
                        class(worst),
                        esc(&label)
                    );
                    details(&mut out, worst);
                    out.push_str("</details></td>");
                }
            }
        }
        out.push_str("</tr>");
    }
    out.push_str("</table>");

    // Findings grouped as on the terminal: one block per site and outcome, with its count
    // and the first run's details.
    let groups = super::report::groups(&report.findings);
    let _ = write!(
        out,
        "<h2>Findings ({} runs in {} groups by site and outcome)</h2>",
        report.findings.len(),
        groups.len()
    );
    if report.findings.is_empty() {
        out.push_str("<p>None: every fault that was reached was handled.</p>");
    }
    if report.ignored > 0 || report.skipped > 0 {
        let _ = write!(
            out,
            "<p>{} findings at sites judged benign (<code>--ignore</code>) are not listed; \
             {} planned faults were not run, their calls having nothing to lose.</p>",
            report.ignored, report.skipped
        );
    }
    for g in &groups {
        let f = g.first;
        let _ = write!(
            out,
            "<div class=\"finding\"><b><span class=\"{c}\" \
             style=\"color:#fff;padding:1px 8px;border-radius:4px\">{c}</span> {} {} at \
             <code>{}</code> ({} runs)</b>",
            esc(&f.function),
            esc(&g.faults.join(", ")),
            esc(top_frame(&f.frames).unwrap_or("?")),
            g.runs,
            c = class(f),
        );
        details(&mut out, f);
        out.push_str("</div>");
    }
    out.push_str("</body></html>\n");
    out
}

/// Writes `report.json` and `report.html` into `dir`.
pub fn write(report: &Report, dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let json = serde_json::to_string_pretty(report)?;
    std::fs::write(dir.join("report.json"), json + "\n")
        .with_context(|| format!("cannot write {}/report.json", dir.display()))?;
    std::fs::write(dir.join("report.html"), render(report))
        .with_context(|| format!("cannot write {}/report.html", dir.display()))?;
    Ok(())
}
