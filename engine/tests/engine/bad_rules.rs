//! Rules that must fail, table-driven: the message, the help and the exact span each bad
//! point, filter, task and action fails with, and how an error names its rule and column.

use failinject_engine::{parse_rule, parse_rules};
use std::ops::Range;

/// One input that must fail: the message fragment, the help fragment (`Some("")` when help
/// must exist but its text is not pinned, `None` when there must be none), and the exact span.
struct Bad {
    input: &'static str,
    message: &'static str,
    help: Option<&'static str>,
    span: Range<usize>,
}

const fn bad(
    input: &'static str,
    message: &'static str,
    help: Option<&'static str>,
    span: Range<usize>,
) -> Bad {
    Bad { input, message, help, span }
}

fn check_bad(table: &[Bad]) {
    for case in table {
        let err = match parse_rules(case.input, "test") {
            Ok(rules) => panic!(
                "{:?} should fail, but parsed as {:?}",
                case.input,
                rules.iter().map(ToString::to_string).collect::<Vec<_>>()
            ),
            Err(e) => e,
        };
        let context = format!("{:?} failed with:\n{err}\n{err:?}", case.input);
        assert!(err.message.contains(case.message), "message of {context}");
        match (case.help, &err.help) {
            (None, None) => {}
            (Some(want), Some(got)) => assert!(got.contains(want), "help of {context}"),
            (want, got) => panic!("help: wanted {want:?}, got {got:?} for {context}"),
        }
        assert_eq!(err.span, case.span, "span of {context}");
        assert_eq!((err.rule_number, err.line), (1, 1), "rule and line of {context}");
        assert_eq!(err.column(), case.span.start + 1, "column of {context}");
        assert_eq!(err.rule_text, case.input.trim(), "rule text of {context}");
        assert_eq!(err.source_name, "test");
        // Every error prints without trouble.
        assert!(err.to_string().contains(&err.message));
    }
}

const TASKS_HELP: &str = "tasks are off, return, sleep";
const ACTIONS_HELP: &str = "actions are off, return, sleep";

#[test]
fn bad_points() {
    check_bad(&[
        bad(
            "sys:wrte=error(EIO)",
            "unknown libc function `wrte`",
            Some("did you mean `write`?"),
            4..8,
        ),
        bad(
            "sys:fsnyc=error(EIO)",
            "unknown libc function `fsnyc`",
            Some("did you mean `fsync`?"),
            4..9,
        ),
        bad("sys:zzzzzzzz=off", "unknown libc function", Some("`failinject points` lists"), 4..12),
        bad("sys:@foo=off", "unknown class `@foo`", Some("the classes are @open"), 4..8),
        bad("sys:@wrte=off", "unknown class `@wrte`", Some("did you mean `@write`?"), 4..9),
        bad("sys:@wirte=off", "unknown class `@wirte`", Some("did you mean `@write`?"), 4..10),
        bad("sys:=off", "expected a libc function name", Some("sys:@write"), 4..5),
        bad("sys:write|=off", "expected a libc function name", Some(""), 10..11),
        bad("=off", "expected a point name before `=`", Some("wal::append"), 0..1),
        bad("[path=x]=off", "expected a point name", Some(""), 0..1),
        bad("a]b=off", "a point name cannot contain this", None, 1..2),
    ]);
}

#[test]
fn tasks_that_do_not_fit_their_point() {
    check_bad(&[
        // The `sys:` prefix forgotten: the name is a libc function's, or a class's.
        bad(
            "write=error(EIO)",
            "`error` applies to libc points only",
            Some("did you mean `sys:write`?"),
            6..16,
        ),
        bad(
            "fsync|fdatasync=error(EIO)",
            "`error` applies to libc points only",
            Some("did you mean `sys:fsync|fdatasync`?"),
            16..26,
        ),
        bad("@write=error(EIO)", "`error` applies", Some("did you mean `sys:@write`?"), 7..17),
        bad("sys:fsync=short", "`short` needs a read/write-like call", None, 10..15),
        bad("sys:fsync=short(10)", "`fsync` moves no data", None, 10..19),
        bad(
            "wal::append=error(EIO)",
            "`error` applies to libc points only",
            Some("an in-code point takes return(V)"),
            12..22,
        ),
        bad("wal::append=short", "`short` applies to libc points only", Some(""), 12..17),
        bad("wal::append=full(1M)", "`full` applies to libc points only", Some(""), 12..20),
        bad("wal::append=lose", "`lose` applies to libc points only", Some(""), 12..16),
        bad("wal::append=corrupt", "`corrupt` applies to libc points only", Some(""), 12..19),
        bad("sys:write=return(abc)", "needs an integer value, not `abc`", None, 10..21),
        bad("sys:write=return", "needs the value to return", None, 10..16),
        bad("sys:write=2*off->return", "`return` on `write` needs the value", None, 17..23),
        bad("sys:write=lose", "`lose` needs a sync call", None, 10..14),
        bad("sys:write=lose(EIO,clean)", "`lose` needs a sync call", None, 10..25),
        bad("sys:sync=error", "`sync` returns nothing and cannot fail", None, 9..14),
        bad("sys:fsync=full(1M)", "`full` needs a call that writes", None, 10..18),
        bad("sys:fsync=corrupt", "`corrupt` needs a call that passes data", None, 10..17),
        bad("sys:fopen=return(0)", "`fopen` returns a pointer, so use `error(E)`", None, 10..19),
        bad("sys:fopen64=return", "returns a pointer", None, 12..18),
        bad("sys:mmap=return(0)", "returns a pointer", None, 9..18),
        bad("sys:fputs=short", "`short` needs a read/write-like call", None, 10..15),
        bad("sys:sendfile=corrupt", "copies inside the kernel", None, 13..20),
        bad("sys:read=full(1M)", "`full` needs a call that writes", None, 9..17),
        bad("sys:write|fsync=short", "`fsync` moves no data", None, 16..21),
        bad("sys:close_range=lose", "`lose` needs a sync call", None, 16..20),
        // A class none of whose members fits.
        bad("sys:@sync=short", "no function of this selection fits", Some(""), 0..9),
    ]);
}

#[test]
fn filters_that_do_not_fit_their_point() {
    check_bad(&[
        bad("sys:rename[size>5]=off", "`size` needs a read/write-like call", None, 11..17),
        bad(
            "wal::append[path=*.db]=off",
            "this filter applies to libc points only",
            Some("in-code points take when=, after= and within="),
            12..21,
        ),
        bad("wal::append[fd=3]=off", "applies to libc points only", Some(""), 12..16),
        bad("wal::append[site=1f]=off", "applies to libc points only", Some(""), 12..19),
        bad("sys:sync[path=*.db]=return", "acts on no file", None, 9..18),
        bad("sys:tmpfile[kind=file]=error(EIO)", "`tmpfile` acts on no file", None, 12..21),
        bad("sys:stat[fd=3]=error(EIO)", "`stat` takes no file descriptor", None, 9..13),
        bad("sys:fopen[fd=3]=error(EIO)", "takes no file descriptor", None, 10..14),
        bad("sys:@sync[size>1]=off", "no function of this selection fits", Some(""), 0..9),
    ]);
}

#[test]
fn bad_filters() {
    check_bad(&[
        bad("sys:write[foo=1]=off", "unknown filter `foo`", Some("filters are path, fd"), 10..13),
        bad("sys:write[pth=x]=off", "unknown filter `pth`", Some("did you mean `path`?"), 10..13),
        bad("sys:write[path]=off", "expected `=` after the filter name `path`", None, 14..15),
        bad("sys:write[path=x=off", "this `[` is never closed with `]`", None, 9..20),
        bad("sys:write[path=*.db", "this `[` is never closed", None, 9..19),
        bad(r#"sys:write[path="abc]=off"#, "this quoted value is never closed", None, 15..24),
        bad("sys:write[]=off", "empty filter list", Some("remove the `[]`"), 9..11),
        bad("sys:write[path>3]=off", "`path` takes `=GLOB` or `~REGEX`, not `>`", None, 14..15),
        bad("sys:write[fd~3]=off", "`fd` takes `=`, not `~`", None, 12..13),
        bad("sys:write[fd=-1]=off", "needs a descriptor number", None, 13..15),
        bad("sys:write[fd=x]=off", "needs a descriptor number", None, 13..14),
        bad(r#"sys:write[path=""]=off"#, "`path=` needs a value", None, 16..17),
        bad("sys:write[when=0]=off", "`when` counts calls from 1", Some("when=N, when=N+"), 15..16),
        bad("sys:write[when=5..3]=off", "`when=5..3` is empty", Some("when=N"), 15..19),
        bad("sys:write[when=2+0]=off", "counts calls from 1", Some(""), 15..18),
        bad("sys:write[when=x]=off", "expected a call number in `when`", Some(""), 15..16),
        bad("sys:write[when=3..]=off", "expected a call number", Some(""), 15..18),
        bad(
            "sys:write[fd=3,fd=4]=off",
            "`fd` is given twice",
            Some("the first `fd` is at column 11"),
            15..19,
        ),
        bad(
            "sys:write[path=*.db,when=3,path=*.wal]=off",
            "`path` is given twice",
            Some("column 11"),
            27..37,
        ),
        bad("sys:write[size>4T]=off", "unknown size suffix `T`", None, 15..17),
        bad("sys:write[size>K]=off", "expected a byte count", None, 15..16),
        bad("sys:write[size=]=off", "`size=` needs a value", None, 15..16),
        bad("sys:write[size>99999999999G]=off", "too large", None, 15..27),
        bad(
            "sys:write[kind=fiel]=off",
            "unknown kind `fiel`",
            Some("did you mean `file`?"),
            15..19,
        ),
        bad(
            r#"sys:write[kind="file,sokcet"]=off"#,
            "unknown kind `sokcet`",
            Some("`socket`"),
            21..27,
        ),
        bad("sys:write[kind=xyzzy]=off", "unknown kind", Some("the kinds are file, dir"), 15..20),
        bad("sys:write[site=0xZZ]=off", "hexadecimal call-site id", None, 15..19),
        bad("sys:write[site=0X1F]=off", "hexadecimal", None, 15..19),
        bad("sys:write[after=sys:write]=off", "`after=` needs an in-code point name", None, 16..25),
        bad(
            r#"sys:write[within="a;b"]=off"#,
            "`within=` needs an in-code point name",
            None,
            18..21,
        ),
        // Pattern errors point inside the pattern.
        bad(r#"sys:write[path~"a(b"]=off"#, "unclosed group", None, 17..18),
        bad("sys:write[path~a(b]=off", "unclosed group", None, 16..17),
        bad(r#"sys:write[path="[abc"]=off"#, "class is never closed", None, 16..20),
        bad(r"sys:write[path=abc\]=off", "lone `\\`", None, 18..19),
        bad(r#"sys:write[exe="x[a"]=off"#, "never closed", None, 16..18),
    ]);
}

#[test]
fn bad_actions() {
    check_bad(&[
        bad("sys:write=errr(EIO)", "unknown task `errr`", Some("did you mean `error`?"), 10..14),
        bad("sys:write=explode", "unknown task `explode`", Some(TASKS_HELP), 10..17),
        bad("sys:write=1.2.3%off", "`1.2.3` is not a percentage", None, 10..15),
        bad("sys:write=1.5*off", "`1.5` is not a whole number of times", None, 10..13),
        bad("sys:write=3*25%off", "expected `%` or `*` after `25`", Some("25%error(EIO)"), 12..14),
        bad("sys:write=3off", "expected `%` or `*` after `3`", Some(""), 10..11),
        bad("sys:write", "expected `=` and an action after the point", Some("POINT=ACTION"), 9..10),
        bad("sys:write error(EIO)", "unknown libc function `write error(EIO)`", Some(""), 4..20),
        bad("sys:write[fd=3] error(EIO)", "expected `=`", Some("POINT=ACTION"), 16..26),
        bad("sys:write=error(EIO", "this `(` is never closed with `)`", None, 15..19),
        bad("sys:write=print(\"abc)", "this quoted value is never closed", None, 16..20),
        bad("sys:write=print(\"a\"b)", "unexpected text after the quoted value", None, 19..20),
        bad(
            "sys:write=error(EIO)x",
            "unexpected text after `)`",
            Some("separate actions with `->`"),
            20..21,
        ),
        bad("sys:write=error(EIO) off", "unexpected text after `)`", Some(""), 20..24),
        bad(
            "sys:write=off off",
            "unexpected text after `off`",
            Some("chain actions with `->`"),
            13..17,
        ),
        bad("sys:write=", "expected an action after `=`", Some(ACTIONS_HELP), 10..11),
        bad("sys:write=  ", "expected an action after `=`", Some(""), 10..11),
        bad("sys:write=off->->off", "empty action in the chain", Some(ACTIONS_HELP), 15..15),
        bad("sys:write=->off", "empty action in the chain", Some(""), 10..10),
        bad("sys:write=off->", "empty action in the chain", Some(""), 15..15),
        bad("sys:write=25%", "expected a task name", Some(TASKS_HELP), 13..14),
        bad("sys:write=(EIO)", "expected a task name", Some(""), 10..11),
        bad(
            "sys:write=error(ENOSPACE)",
            "unknown errno `ENOSPACE`",
            Some("did you mean `ENOSPC`?"),
            16..24,
        ),
        bad(
            "sys:write=error(enospc)",
            "unknown errno `enospc`",
            Some("did you mean `ENOSPC`?"),
            16..22,
        ),
        bad("sys:write=error(0)", "errno 0 is out of range", None, 16..17),
        bad("sys:write=error(4096)", "out of range (1 to 4095)", None, 16..20),
        bad("sys:fsync=lose(EWHAT)", "unknown errno `EWHAT`", None, 15..20),
        bad("sys:write=short(0)", "needs N ≥ 1", None, 16..17),
        bad("sys:write=short(0K)", "needs N ≥ 1", None, 16..18),
        bad("sys:write=short(x)", "unknown size suffix `x`", None, 16..17),
        bad("sys:write=full", "`full` needs a byte count", Some("as in `full(10M)`"), 10..14),
        bad("sys:write=full(1T)", "unknown size suffix `T`", None, 15..17),
        bad(
            "sys:write=sleep",
            "`sleep` needs a time in milliseconds",
            Some("as in `sleep(100)`"),
            10..15,
        ),
        bad(
            "sys:write=delay()",
            "`delay` needs a time in milliseconds",
            Some("delay(100)"),
            15..17,
        ),
        bad("sys:write=sleep(x)", "`x` is not a number of milliseconds", None, 16..17),
        bad("wal::append=pause(3)", "`pause` takes no argument", None, 18..19),
        bad("wal::append=yield(1)", "`yield` takes no argument", None, 18..19),
        bad("wal::append=off(1)", "`off` takes no argument", None, 16..17),
        bad("sys:write=kill(SIGFOO)", "unknown signal `SIGFOO`", None, 15..21),
        bad("sys:write=kill(TREM)", "unknown signal `TREM`", Some("did you mean `TERM`?"), 15..19),
        bad("sys:write=kill(0)", "unknown signal `0`", None, 15..16),
        bad("sys:write=kill(65)", "unknown signal `65`", None, 15..17),
        bad(
            "sys:write=corrupt(flp)",
            "unknown corruption `flp`",
            Some("did you mean `flip`?"),
            18..21,
        ),
        bad(
            "sys:write=corrupt(bits)",
            "unknown corruption",
            Some("corrupt(flip), corrupt(zero)"),
            18..22,
        ),
        bad("sys:write=powercut(x)", "unknown word `x`", None, 19..20),
        bad("sys:fsync=lose(EIO,cleen)", "`lose(E,cleen)`", Some("clean"), 15..24),
        bad("sys:write=powercut(torn,sector=1000)", "a power of two", None, 24..35),
        bad("sys:write=powercut(any,prefix)", "a cut has one mode", None, 23..29),
        bad("sys:write=powercut(tron)", "unknown word", Some("did you mean `torn`"), 19..23),
    ]);
}

#[test]
fn the_bad_rule_of_several_is_named_by_number_and_line() {
    // (input, rule number, line, span within the bad rule, its text)
    let cases: &[(&str, usize, usize, Range<usize>, &str)] = &[
        ("sys:write=off\nsys:wrte=off", 2, 2, 4..8, "sys:wrte=off"),
        ("sys:write=off; sys:wrte=off", 2, 1, 4..8, "sys:wrte=off"),
        ("a=off\n\n# c\n b=bad", 2, 4, 2..5, "b=bad"),
        ("# c\n\na=off;b=off\nc=off; d=off;e=bad", 5, 4, 2..5, "e=bad"),
        ("a=print(\"x;y\"); b=print(x;y); c=bad", 3, 1, 2..5, "c=bad"),
        // A newline ends a rule even inside an unclosed parenthesis, so one bad rule spoils
        // only itself.
        ("a=print(x\nb=bad", 1, 1, 7..9, "a=print(x"),
    ];
    for (input, number, line, span, text) in cases {
        let err = parse_rules(input, "FAILINJECT").unwrap_err();
        assert_eq!(
            (err.rule_number, err.line, &err.span, err.rule_text.as_str()),
            (*number, *line, span, *text),
            "{input:?}: {err}"
        );
    }
}

#[test]
fn an_error_displays_with_its_rule_underlined() {
    let err = parse_rules("sys:write=off\nsys:wrte=error(EIO)", "FAILINJECT").unwrap_err();
    assert_eq!(
        err.to_string(),
        "rule 2 of FAILINJECT (line 2), column 5: unknown libc function `wrte`\n  \
         sys:wrte=error(EIO)\n      ^^^^\n  help: did you mean `write`?"
    );
    // With no source name and no help.
    let err = parse_rule("sys:fsync=short(10)").unwrap_err();
    assert_eq!(
        err.to_string(),
        "rule 1, column 11: `short` needs a read/write-like call; `fsync` moves no data\n  \
         sys:fsync=short(10)\n            ^^^^^^^^^"
    );
    // A span past the end of the rule points just after it.
    let err = parse_rule("sys:write").unwrap_err();
    assert!(err.to_string().ends_with("\n  sys:write\n           ^\n  help: write a rule as POINT=ACTION, as in `sys:write=error(ENOSPC)`"), "{err}");
}

#[test]
fn columns_count_characters_not_bytes() {
    // `ï` takes two bytes: the filter starts at byte 7 but in column 7.
    let err = parse_rule("naïve[path=x]=error(EIO)").unwrap_err();
    assert_eq!(err.span, 7..13);
    assert_eq!(err.column(), 7);
    assert!(err.to_string().contains("\n  naïve[path=x]=error(EIO)\n        ^^^^^^\n"), "{err}");
}

#[test]
fn pattern_errors_in_quoted_values_with_escapes_point_at_the_fault() {
    // The `(` is at byte 19 of the rule; the value holds an escaped quote before it.
    let err = parse_rule(r#"sys:write[path~"a\"(b"]=off"#).unwrap_err();
    assert!(err.message.contains("unclosed group"), "{err:?}");
    assert_eq!(&err.rule_text[err.span.clone()], "(", "{err:?}");
    // The same with a multi-byte character after the escape (a span shifted by the escape
    // would land inside `é`, and printing the error would panic).
    let err = parse_rule(r#"sys:write[path~"\"é("]=off"#).unwrap_err();
    let shown = std::panic::catch_unwind(|| err.to_string());
    assert!(shown.is_ok(), "Display of {err:?} panicked");
    assert_eq!(err.rule_text.get(err.span.clone()), Some("("), "{err:?}");
    let err = parse_rule(r#"sys:write[path="\"é\\"]=off"#).unwrap_err();
    assert!(err.message.contains("lone"), "{err:?}");
    assert!(std::panic::catch_unwind(|| err.column()).is_ok(), "column() of {err:?} panicked");
    assert_eq!(err.rule_text.get(err.span.clone()), Some("\\"), "{err:?}");
    // Escapes before a glob class and a regex repetition.
    let err = parse_rule(r#"sys:write[path~"é\"x{2,1}"]=off"#).unwrap_err();
    assert_eq!(err.rule_text.get(err.span.clone()), Some("{2,1}"), "{err:?}");
    let err = parse_rule(r#"sys:write[exe="\\\"[ab"]=off"#).unwrap_err();
    assert_eq!((err.span.clone(), err.message.contains("never closed")), (19..22, true), "{err:?}");
}
