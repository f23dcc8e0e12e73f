//! Property tests of the rule language: no input makes the parser (or the printing and
//! explaining of what it parsed) panic, and every valid rule prints to text that parses back
//! to the same rule, with the same key.

use failinject_engine::{
    ParseError, Registry, Rule, SetOutcome, parse_key, parse_rule, parse_rules, parse_rules_all,
};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

fn config() -> ProptestConfig {
    // 256 cases (the default) and no regression files written into the source tree.
    ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() }
}

// ------------------------------------------------------------------- arbitrary input

/// Prints, explains and re-parses whatever parsed; checks the error's position fields.
fn exercise(text: &str) -> Result<(), TestCaseError> {
    let first = parse_rules(text, "prop");
    if let Ok(rules) = &first {
        for rule in rules {
            round_trips(rule)?;
        }
    }
    let (rules, errors) = parse_rules_all(text, "prop");
    prop_assert_eq!(errors.is_empty(), first.is_ok());
    if let Err(e) = &first {
        prop_assert_eq!(e, &errors[0]);
    }
    for rule in &rules {
        let _ = rule.explain();
    }
    for e in &errors {
        check_error_fields(e)?;
    }
    match parse_rule(text) {
        Ok(rule) => round_trips(&rule)?,
        Err(e) => check_error_fields(&e)?,
    }
    match parse_key(text) {
        // A canonical key is its own canonical form.
        Ok(key) => prop_assert_eq!(parse_key(&key), Ok(key.clone())),
        Err(e) => check_error_fields(&e)?,
    }
    Ok(())
}

/// The numbers of an error are sane, its span lies on character boundaries (it may point one
/// byte past the end), and it prints.
fn check_error_fields(e: &ParseError) -> Result<(), TestCaseError> {
    prop_assert!(e.rule_number >= 1 && e.line >= 1, "{:?}", e);
    prop_assert!(e.span.start <= e.span.end, "{:?}", e);
    prop_assert!(e.span.end <= e.rule_text.len() + 1, "{:?}", e);
    let inside = e.span.start.min(e.rule_text.len())..e.span.end.min(e.rule_text.len());
    prop_assert!(e.rule_text.get(inside).is_some(), "{:?}", e);
    prop_assert!(!e.message.is_empty());
    let shown = e.to_string();
    prop_assert!(shown.contains(&e.message), "{}", shown);
    Ok(())
}

/// `parse(print(rule))` prints the same text and has the same key and chain.
fn round_trips(rule: &Rule) -> Result<(), TestCaseError> {
    let printed = rule.to_string();
    let _ = rule.explain();
    let again = match parse_rule(&printed) {
        Ok(again) => again,
        Err(e) => {
            return Err(TestCaseError::fail(format!("{printed:?} does not parse back:\n{e}")));
        }
    };
    prop_assert_eq!(again.to_string(), printed.clone());
    prop_assert_eq!(again.key(), rule.key());
    prop_assert_eq!(&again.chain, &rule.chain, "{}", printed);
    prop_assert_eq!(again.filters.len(), rule.filters.len());
    prop_assert_eq!(&again.points, &rule.points);
    prop_assert_eq!(parse_key(&rule.key()), Ok(rule.key()));
    Ok(())
}

/// Pieces of the grammar, mixed with names, spaces, a newline and a non-ASCII letter.
const TOKENS: &[&str] = &[
    "[",
    "]",
    "=",
    ";",
    "(",
    ")",
    "-",
    ">",
    "->",
    "%",
    "*",
    "\"",
    "\\",
    ",",
    "~",
    "|",
    "@",
    ":",
    "<",
    ">=",
    "..",
    "+",
    ".",
    "#",
    " ",
    "\n",
    "\t",
    "é",
    "sys:",
    "sys",
    "write",
    "__write",
    "pwrite64",
    "fsync",
    "fdatasync",
    "rename",
    "fopen",
    "stat",
    "@all",
    "@write",
    "@sync",
    "wal",
    "::",
    "append",
    "path",
    "fd",
    "kind",
    "when",
    "size",
    "exe",
    "after",
    "within",
    "site",
    "off",
    "return",
    "sleep",
    "delay",
    "panic",
    "print",
    "pause",
    "yield",
    "error",
    "short",
    "corrupt",
    "full",
    "kill",
    "powercut",
    "lose",
    "EIO",
    "ENOSPC",
    "SIGTERM",
    "dirs",
    "flip",
    "zero",
    "any",
    "file",
    "socket",
    "*.db",
    "/data/*",
    "0",
    "1",
    "3",
    "25",
    "100",
    "1.5",
    "0x1f",
    "K",
    "M",
    "x",
];

fn grammar_soup() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(TOKENS), 0..32).prop_map(|t| t.concat())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_strings_never_panic(text in any::<String>()) {
        exercise(&text)?;
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..96)) {
        exercise(&String::from_utf8_lossy(&bytes))?;
    }

    #[test]
    fn grammar_soup_never_panics(text in grammar_soup()) {
        exercise(&text)?;
    }

    #[test]
    fn a_valid_head_with_soup_never_panics(
        head in prop::sample::select(&["sys:write", "sys:write[path=*.db]", "wal::append", "sys:@all"][..]),
        tail in grammar_soup(),
    ) {
        exercise(&format!("{head}={tail}"))?;
        exercise(&format!("{head}[{tail}"))?;
    }
}

// ------------------------------------------------------------------------- valid rules

/// Which points a generated rule names, and so which filters and tasks fit it.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Profile {
    /// An in-code point.
    Code,
    /// Calls that write a buffer (all filters; short, corrupt, full).
    Write,
    /// Calls that read into a buffer (all filters; short, corrupt).
    Read,
    /// fsync and fdatasync (no size; lose).
    Sync,
    /// Path calls returning an integer (no fd, no size).
    Path,
    /// Classes (which keep the members that fit).
    Class,
}

fn pick<T: Clone + std::fmt::Debug + 'static>(items: &'static [T]) -> impl Strategy<Value = T> {
    prop::sample::select(items)
}

fn in_code_name() -> impl Strategy<Value = String> {
    "[a-z_][a-z:_]{0,11}".prop_filter("not a libc point", |n| !n.starts_with("sys:"))
}

fn point_text(profile: Profile) -> BoxedStrategy<String> {
    let names: &'static [&'static str] = match profile {
        Profile::Code => return in_code_name().boxed(),
        Profile::Write => {
            &["write", "__write", "pwrite", "pwrite64", "__pwrite64", "fwrite", "writev"]
        }
        Profile::Read => &["read", "__read_chk", "pread64", "fread", "readv", "preadv"],
        Profile::Sync => &["fsync", "fdatasync"],
        Profile::Path => {
            &["open", "open64", "__open_2", "stat", "__xstat", "unlink", "mkdir", "rename"]
        }
        Profile::Class => &["@write", "@sync", "@all", "@open", "@meta", "@close", "@stdio"],
    };
    (prop::collection::vec(pick(names), 1..=3), any::<bool>(), any::<bool>())
        .prop_map(|(items, repeat_sys, spaces)| {
            let sep = match (repeat_sys, spaces) {
                (true, _) => "|sys:",
                (false, true) => " | ",
                (false, false) => "|",
            };
            format!("sys:{}", items.join(sep))
        })
        .boxed()
}

/// Writes `value` bare when it can be, else in quotes with `\"` and `\\` escaped.
fn value(raw: &str, quote_anyway: bool) -> String {
    let needs = raw.contains([',', ']', '[', ' ', '"', ';', '\\', '(', ')', '#']) || raw.is_empty();
    if needs || quote_anyway {
        format!("\"{}\"", raw.replace('\\', "\\\\").replace('"', "\\\""))
    } else {
        raw.to_owned()
    }
}

const GLOBS: &[&str] = &[
    "*.db",
    "/data/*",
    "*/db.sqlite",
    "tmp_obj_*",
    "a b",
    "x,y",
    "x]y",
    "[a-c]x",
    "[!0-9]*",
    "a?c",
    "é*.wal",
    "q\"uote",
    "a\\*b",
    "*",
    "db",
    "semi;colon",
    "(paren)",
    "#hash",
];
const REGEXES: &[&str] =
    &["^/tmp/", "\\.(wal|log)$", "a,b", "x]y", "[0-9]+", "é", "wal", "^/d/.*\\.db$", "\\xff"];
const KINDS: &[&str] = &["file", "dir", "socket", "pipe", "tty", "other", "any"];
const ERRNOS: &[&str] = &["EIO", "ENOSPC", "28", "EDQUOT", "EWOULDBLOCK", "4095", "5", "EINTR"];
const SIGNALS: &[&str] = &["TERM", "SIGTERM", "15", "KILL", "9", "USR1", "SIGABRT", "34"];
const MESSAGES: &[&str] = &[
    "hello",
    "hello world",
    "a;b",
    "x -> y",
    "say \"hi\"",
    "back\\slash",
    "(parens)",
    " padded ",
    "tab\there",
    "#1",
    "é",
    "a,b",
    "100%",
    "",
];
const SUFFIXES: &[&str] = &["", "K", "M", "G", "k", "KiB"];

fn filter_name() -> impl Strategy<Value = String> {
    prop_oneof![in_code_name(), "[a-z]{1,4}( [a-z]{1,4})?,[a-z]{1,4}", Just("db::open".to_owned()),]
}

/// One filter of the given kind as text.
fn filter(kind: &'static str) -> BoxedStrategy<String> {
    match kind {
        "path=" => {
            (pick(GLOBS), any::<bool>()).prop_map(|(g, q)| format!("path={}", value(g, q))).boxed()
        }
        "path~" => (pick(REGEXES), any::<bool>())
            .prop_map(|(r, q)| format!("path~{}", value(r, q)))
            .boxed(),
        "fd" => (0..2000i32).prop_map(|n| format!("fd={n}")).boxed(),
        "kind" => prop::collection::vec(pick(KINDS), 1..=3)
            .prop_map(|k| {
                if k.len() == 1 {
                    format!("kind={}", k[0])
                } else {
                    format!("kind=\"{}\"", k.join(","))
                }
            })
            .boxed(),
        "when" => (1..5000u64, 0..5000u64, 0..4u8)
            .prop_map(|(n, m, form)| match form {
                0 => format!("when={n}"),
                1 => format!("when={n}+"),
                2 => format!("when={n}+{}", m + 1),
                _ => format!("when={n}..{}", n + m),
            })
            .boxed(),
        "size" => (pick(&["<", "<=", "=", ">=", ">"]), 0..100_000u64, pick(SUFFIXES))
            .prop_map(|(op, n, s)| format!("size{op}{n}{s}"))
            .boxed(),
        "exe" => (pick(&["sqlite3", "/usr/bin/*", "python*", "my prog", "a,b"]), any::<bool>())
            .prop_map(|(g, q)| format!("exe={}", value(g, q)))
            .boxed(),
        "after" => (filter_name(), any::<bool>())
            .prop_map(|(n, q)| format!("after={}", value(&n, q)))
            .boxed(),
        "within" => (filter_name(), any::<bool>())
            .prop_map(|(n, q)| format!("within={}", value(&n, q)))
            .boxed(),
        "site" => (any::<u64>(), any::<bool>(), any::<bool>())
            .prop_map(|(id, prefix, upper)| {
                let hex = if upper { format!("{id:X}") } else { format!("{id:x}") };
                format!("site={}{hex}", if prefix { "0x" } else { "" })
            })
            .boxed(),
        other => unreachable!("{other}"),
    }
}

fn filter_kinds(profile: Profile) -> &'static [&'static str] {
    match profile {
        Profile::Code => &["when", "after", "within"],
        Profile::Write | Profile::Read => &[
            "path=", "path~", "fd", "kind", "when", "size", "size", "exe", "after", "within",
            "site",
        ],
        Profile::Sync => {
            &["path=", "path~", "fd", "kind", "when", "exe", "after", "within", "site"]
        }
        Profile::Path => &["path=", "path~", "kind", "when", "exe", "after", "within", "site"],
        Profile::Class => &["path=", "path~", "kind", "when", "exe", "after", "within", "site"],
    }
}

/// A random subset of the filters that fit, in random order, or no brackets at all.
fn filters(profile: Profile) -> BoxedStrategy<String> {
    let kinds = filter_kinds(profile);
    prop::collection::vec(any::<bool>(), kinds.len())
        .prop_flat_map(move |chosen| {
            let picked: Vec<BoxedStrategy<String>> =
                kinds.iter().zip(chosen).filter(|(_, c)| *c).map(|(k, _)| filter(k)).collect();
            picked.prop_shuffle()
        })
        .prop_map(|fs| if fs.is_empty() { String::new() } else { format!("[{}]", fs.join(",")) })
        .boxed()
}

fn task(profile: Profile) -> BoxedStrategy<String> {
    let message = || {
        (pick(MESSAGES), any::<bool>()).prop_map(|(m, q)| {
            // Bare messages may not hold what would end the action.
            if m.is_empty() {
                String::new()
            } else {
                format!("({})", value(m, q || m.contains(['>', '\t'])))
            }
        })
    };
    let common = prop_oneof![
        Just("off".to_owned()),
        (0..100_000u64).prop_map(|ms| format!("sleep({ms})")),
        (0..100_000u64).prop_map(|ms| format!("delay({ms})")),
        message().prop_map(|m| format!("print{m}")),
        message().prop_map(|m| format!("panic{m}")),
        Just("pause".to_owned()),
        Just("yield".to_owned()),
        prop::option::of(pick(SIGNALS))
            .prop_map(|s| s.map_or("kill".to_owned(), |s| format!("kill({s})"))),
        (prop::option::of(pick(&["prefix", "any", "torn"])), any::<bool>(), pick(&[512u32, 4096]))
            .prop_map(|(mode, dirs, sector)| {
                let words: Vec<String> = mode
                    .map(str::to_owned)
                    .into_iter()
                    .chain(dirs.then(|| "dirs".to_owned()))
                    .chain((sector != 512).then(|| format!("sector={sector}")))
                    .collect();
                if words.is_empty() {
                    "powercut".into()
                } else {
                    format!("powercut({})", words.join(","))
                }
            }),
    ];
    let error = prop::option::of(pick(ERRNOS))
        .prop_map(|e| e.map_or("error".to_owned(), |e| format!("error({e})")));
    let int_return = (-1000i64..1000).prop_map(|v| format!("return({v})"));
    let short = prop::option::of((1..100_000u64, pick(SUFFIXES)))
        .prop_map(|n| n.map_or("short".to_owned(), |(n, s)| format!("short({n}{s})")));
    let corrupt = prop::option::of(pick(&["flip", "zero", "random"]))
        .prop_map(|m| m.map_or("corrupt".to_owned(), |m| format!("corrupt({m})")));
    let full = (0..100_000u64, pick(SUFFIXES)).prop_map(|(n, s)| format!("full({n}{s})"));
    let lose = prop::option::of(pick(ERRNOS))
        .prop_map(|e| e.map_or("lose".to_owned(), |e| format!("lose({e})")));
    match profile {
        Profile::Code => prop_oneof![
            common,
            Just("return".to_owned()),
            message().prop_map(|m| format!("return{m}")),
        ]
        .boxed(),
        Profile::Write => prop_oneof![common, error, int_return, short, corrupt, full].boxed(),
        Profile::Read => prop_oneof![common, error, int_return, short, corrupt].boxed(),
        Profile::Sync => prop_oneof![common, error, int_return, lose].boxed(),
        Profile::Path => prop_oneof![common, error, int_return].boxed(),
        Profile::Class => prop_oneof![common, error].boxed(),
    }
}

fn action(profile: Profile) -> impl Strategy<Value = String> {
    let percent = prop_oneof![
        Just(String::new()),
        (0..=100u32).prop_map(|p| format!("{p}%")),
        (0..10_000u32).prop_map(|p| format!("{}%", f64::from(p) / 100.0)),
        (0..1000u32).prop_map(|p| format!("0.{p:03}%")),
    ];
    let count =
        prop::option::of(0..1000u64).prop_map(|n| n.map_or(String::new(), |n| format!("{n}*")));
    (percent, count, task(profile)).prop_map(|(p, n, t)| format!("{p}{n}{t}"))
}

/// A valid rule's head (`point[filters]`) and chain.
fn valid_head_and_chain() -> impl Strategy<Value = (String, String)> {
    pick(&[
        Profile::Code,
        Profile::Write,
        Profile::Read,
        Profile::Sync,
        Profile::Path,
        Profile::Class,
    ])
    .prop_flat_map(|profile| {
        (
            point_text(profile),
            filters(profile),
            prop::collection::vec(action(profile), 1..=4),
            pick(&["->", " -> "]),
        )
    })
    .prop_map(|(point, filters, chain, arrow)| (format!("{point}{filters}"), chain.join(arrow)))
}

fn valid_rule() -> impl Strategy<Value = String> {
    valid_head_and_chain().prop_map(|(head, chain)| format!("{head}={chain}"))
}

fn parsed(text: &str) -> Result<Rule, TestCaseError> {
    parse_rule(text).map_err(|e| TestCaseError::fail(format!("{text:?} should parse:\n{e:?}")))
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn printing_a_valid_rule_is_a_fixed_point(text in valid_rule()) {
        let rule = parsed(&text)?;
        round_trips(&rule)?;
        // Printing the printed rule changes nothing either.
        let printed = rule.to_string();
        prop_assert_eq!(parsed(&printed)?.to_string(), printed);
    }

    #[test]
    fn the_key_is_stable_through_printing((head, chain) in valid_head_and_chain()) {
        let rule = parsed(&format!("{head}={chain}"))?;
        prop_assert_eq!(parse_key(&head), Ok(rule.key()));
        // The printed rule replaces the original in a registry: same key, same place.
        let mut registry = Registry::new(1);
        prop_assert_eq!(registry.set(rule.clone()), SetOutcome::Added);
        prop_assert_eq!(registry.set(parsed(&rule.to_string())?), SetOutcome::Replaced);
        prop_assert_eq!(registry.rules().len(), 1);
        prop_assert_eq!(registry.remove(&rule.key()), Ok(true));
    }

    #[test]
    fn several_printed_rules_parse_back_together(
        texts in prop::collection::vec(valid_rule(), 1..6),
        separators in prop::collection::vec(pick(&[";", "\n", " ; ", "\n# a comment\n", ";\n"]), 6),
    ) {
        let printed: Vec<String> =
            texts.iter().map(|t| parsed(t).map(|r| r.to_string())).collect::<Result<_, _>>()?;
        let mut config = String::new();
        for (i, p) in printed.iter().enumerate() {
            if i > 0 {
                config.push_str(separators[i]);
            }
            config.push_str(p);
        }
        let again = parse_rules(&config, "prop")
            .map_err(|e| TestCaseError::fail(format!("{config:?}:\n{e}")))?;
        let again: Vec<String> = again.iter().map(ToString::to_string).collect();
        prop_assert_eq!(again, printed);
    }

    #[test]
    fn explaining_a_valid_rule_says_something(text in valid_rule()) {
        let rule = parsed(&text)?;
        let sentence = rule.explain();
        prop_assert!(sentence.starts_with("On ") && sentence.ends_with('.'), "{}", sentence);
    }
}

// ------------------------------------------------------ errors inside quoted patterns

fn escaped_pattern() -> impl Strategy<Value = (String, String)> {
    // A quoted glob or regex that holds an escape, then a multi-byte letter, then a fault.
    (
        pick(&["path~", "path=", "exe="]),
        prop::collection::vec(pick(&["\\\"", "\\\\", "a", "é", "ß", "€"]), 1..4),
        pick(&["é", "€", "ü"]),
    )
        .prop_map(|(filter, prefix, letter)| {
            let fault = if filter == "path~" { "(" } else { "[" };
            (filter.to_owned(), format!("{}{letter}{fault}", prefix.concat()))
        })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn pattern_errors_display_without_panicking((filter, inner) in escaped_pattern()) {
        let text = format!("sys:write[{filter}\"{inner}\"]=off");
        let err = parse_rule(&text).unwrap_err();
        let shown = std::panic::catch_unwind(|| err.to_string());
        prop_assert!(shown.is_ok(), "Display of {:?} panicked", err);
        // The span lies on character boundaries, inside the quotes.
        prop_assert!(err.rule_text.get(err.span.clone()).is_some(), "{:?}", err);
        let open = text.find('"').unwrap();
        prop_assert!(err.span.start > open && err.span.end < text.rfind('"').unwrap() + 1, "{:?}", err);
    }
}

// --------------------------------------------------- decisions against a reference model

/// One action of a model chain: a count (`None` for unlimited) and what it does (`None` for
/// `off`, else the value a `return(V)` gives).
type ModelAction = (Option<u64>, Option<i64>);

/// One model rule: an optional `when` (as text and as a predicate's parameters) and a chain.
#[derive(Clone, Debug)]
struct ModelRule {
    when: Option<(u8, u64, u64)>,
    chain: Vec<ModelAction>,
}

impl ModelRule {
    fn text(&self, filter: &str) -> String {
        let mut filters: Vec<String> = Vec::new();
        if !filter.is_empty() {
            filters.push(filter.to_owned());
        }
        if let Some((form, a, b)) = self.when {
            filters.push(match form {
                0 => format!("when={a}"),
                1 => format!("when={a}+"),
                2 => format!("when={a}+{b}"),
                _ => format!("when={a}..{}", a + b),
            });
        }
        let head = if filters.is_empty() {
            "sys:write".to_owned()
        } else {
            format!("sys:write[{}]", filters.join(","))
        };
        let chain: Vec<String> = self
            .chain
            .iter()
            .map(|(count, ret)| {
                let count = count.map_or(String::new(), |n| format!("{n}*"));
                let task = ret.map_or("off".to_owned(), |v| format!("return({v})"));
                format!("{count}{task}")
            })
            .collect();
        format!("{head}={}", chain.join("->"))
    }

    fn selects(&self, n: u64) -> bool {
        match self.when {
            None => true,
            Some((0, a, _)) => n == a,
            Some((1, a, _)) => n >= a,
            Some((2, a, s)) => n >= a && (n - a).is_multiple_of(s),
            Some((_, a, len)) => n >= a && n <= a + len,
        }
    }
}

fn model_rule() -> impl Strategy<Value = ModelRule> {
    let action = (prop::option::of(0..4u64), prop::option::of(-3..3i64));
    let when = prop::option::of((0..4u8, 1..8u64, 1..5u64));
    (when, prop::collection::vec(action, 1..=4)).prop_map(|(when, chain)| ModelRule { when, chain })
}

proptest! {
    #![proptest_config(config())]

    /// fail-rs's chain and §3.3's walk, computed by hand, agree with the engine call by call.
    #[test]
    fn decisions_follow_the_reference_model(rules in prop::collection::vec(model_rule(), 1..=3)) {
        // Distinct filters that every call passes give each rule its own key.
        let filters = ["", "fd=5", "size>0"];
        let text: Vec<String> = rules.iter().zip(filters).map(|(r, f)| r.text(f)).collect();
        let mut registry = Registry::new(1);
        registry.configure(&text.join("; "), "model").map_err(|e| TestCaseError::fail(e.to_string()))?;
        let snapshot = registry.snapshot();
        let call = failinject_engine::SysCall {
            fd: Some(5),
            path: Some(b"/d/x"),
            kind: failinject_engine::FileKind::File,
            size: Some(10),
            ..failinject_engine::SysCall::new(failinject_engine::PointId::from_name("write").unwrap())
        };
        let mut seen = vec![0u64; rules.len()];
        let mut left: Vec<Vec<Option<u64>>> =
            rules.iter().map(|r| r.chain.iter().map(|a| a.0).collect()).collect();
        for call_number in 1..=30 {
            // The model: walk the rules until one yields a task other than `off`.
            let mut want = None;
            for (i, rule) in rules.iter().enumerate() {
                seen[i] += 1;
                if !rule.selects(seen[i]) {
                    continue;
                }
                let taken = left[i].iter().position(|c| c.is_none_or(|n| n > 0));
                let Some(a) = taken else { continue };
                if let Some(n) = &mut left[i][a] {
                    *n -= 1;
                }
                if let Some(v) = rule.chain[a].1 {
                    want = Some((i, v));
                    break;
                }
            }
            let got = snapshot.decide_sys(&call, &mut failinject_engine::NoContext).map(|d| {
                match d.effect {
                    failinject_engine::Effect::Return(v) => (d.rule_index, v),
                    other => panic!("{other:?}"),
                }
            });
            prop_assert_eq!(got, want, "call {} of {:?}", call_number, text);
        }
    }
}
