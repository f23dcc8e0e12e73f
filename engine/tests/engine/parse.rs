//! The rule parser, table-driven in fail-rs's style: inputs that parse with the canonical text
//! they print, and the entry points around them (`parse_rules_all`, `parse_key`,
//! `parse_rule`). Inputs that must fail are in `bad_rules.rs`, their kinds in
//! `error_kinds.rs`.

use failinject_engine::{ParseError, Points, parse_key, parse_rule, parse_rules, parse_rules_all};

/// Parses `input` and returns each rule's canonical text, panicking with the error otherwise.
fn printed(input: &str) -> Vec<String> {
    match parse_rules(input, "test") {
        Ok(rules) => rules.iter().map(ToString::to_string).collect(),
        Err(e) => panic!("{input:?} should parse, but:\n{e}"),
    }
}

/// Checks a table of (input, canonical form) for one-rule inputs, and that the canonical form
/// is a fixed point of print→parse.
fn check_canonical(table: &[(&str, &str)]) {
    for &(input, want) in table {
        assert_eq!(printed(input), [want], "printing {input:?}");
        assert_eq!(printed(want), [want], "re-parsing the canonical form of {input:?}");
    }
}

#[test]
fn points_print_canonically() {
    check_canonical(&[
        // In-code points: any name without `=`, `;`, `[`, `]` or a newline.
        ("wal::append=off", "wal::append=off"),
        ("  wal::append = off  ", "wal::append=off"),
        ("db/commit phase 2=off", "db/commit phase 2=off"),
        ("sys=off", "sys=off"),
        ("Sys:write=return", "Sys:write=return"),
        ("a|b=off", "a|b=off"),
        ("naïve=off", "naïve=off"),
        // libc points by canonical name.
        ("sys:write=error(EIO)", "sys:write=error(EIO)"),
        ("sys:fsync=error(EIO)", "sys:fsync=error(EIO)"),
        ("sys:rename=error(EXDEV)", "sys:rename=error(EXDEV)"),
        // Other glibc spellings become the canonical name.
        ("sys:__write=error(EIO)", "sys:write=error(EIO)"),
        ("sys:open64=error(EACCES)", "sys:open=error(EACCES)"),
        ("sys:__open_2=error(EACCES)", "sys:open=error(EACCES)"),
        ("sys:__open64_2=error(EACCES)", "sys:open=error(EACCES)"),
        ("sys:fwrite_unlocked=short", "sys:fwrite=short"),
        ("sys:__close=error(EIO)", "sys:close=error(EIO)"),
        // `|` lists, with `sys:` repeated or spaces around the names.
        ("sys:fsync|fdatasync=error(EIO)", "sys:fsync|fdatasync=error(EIO)"),
        ("sys:fsync|sys:fdatasync=error(EIO)", "sys:fsync|fdatasync=error(EIO)"),
        ("sys: fsync | fdatasync =error(EIO)", "sys:fsync|fdatasync=error(EIO)"),
        ("sys:write|__write=off", "sys:write=off"),
        // Classes and @all.
        ("sys:@write=short", "sys:@write=short"),
        ("sys:@open=error(EACCES)", "sys:@open=error(EACCES)"),
        ("sys:@sync=error(EIO)", "sys:@sync=error(EIO)"),
        ("sys:@close=error(EIO)", "sys:@close=error(EIO)"),
        ("sys:@meta=error(EIO)", "sys:@meta=error(EIO)"),
        ("sys:@stdio=error(EIO)", "sys:@stdio=error(EIO)"),
        ("sys:@sync|write=error(EIO)", "sys:write|@sync=error(EIO)"),
        ("sys:@all=error", "sys:@all=error"),
        ("sys:@all[path=*.db]=error(EIO)", "sys:@all[path=*.db]=error(EIO)"),
    ]);
}

#[test]
fn libc_spellings_canonicalise() {
    // §2: `sys:open` is open, open64, __open_2, __open64_2; `sys:pwrite` is pwrite, pwrite64
    // and __pwrite64; `sys:stat` includes stat64 and the legacy __xstat/__xstat64.
    check_canonical(&[
        ("sys:pwrite64=error(EIO)", "sys:pwrite=error(EIO)"),
        ("sys:__pwrite64=short", "sys:pwrite=short"),
        ("sys:stat64=error(ENOENT)", "sys:stat=error(ENOENT)"),
        ("sys:__xstat=error(ENOENT)", "sys:stat=error(ENOENT)"),
        ("sys:__xstat64=error(ENOENT)", "sys:stat=error(ENOENT)"),
        ("sys:lstat64=error(ENOENT)", "sys:lstat=error(ENOENT)"),
        ("sys:openat64=error(EMFILE)", "sys:openat=error(EMFILE)"),
        ("sys:__openat_2=error(EMFILE)", "sys:openat=error(EMFILE)"),
        ("sys:fopen64=error(ENOENT)", "sys:fopen=error(ENOENT)"),
        ("sys:readdir64=error(EIO)", "sys:readdir=error(EIO)"),
        ("sys:sendfile64=short", "sys:sendfile=short"),
        ("sys:__read_chk=corrupt(zero)", "sys:read=corrupt(zero)"),
        ("sys:ftruncate64|fallocate64=error(EFBIG)", "sys:ftruncate|fallocate=error(EFBIG)"),
        ("sys:pwrite64|pwrite|__pwrite64=off", "sys:pwrite=off"),
    ]);
}

#[test]
fn every_class_parses() {
    // The classes of §2 and those the engine adds (@lock, @mmap, @fd).
    for class in [
        "open", "read", "write", "sync", "close", "meta", "dir", "stdio", "lock", "mmap", "fd",
        "all",
    ] {
        for text in [format!("sys:@{class}=off"), format!("sys:@{class}[when=2]=sleep(1)")] {
            assert_eq!(printed(&text), [text]);
        }
    }
}

#[test]
fn filters_print_canonically() {
    check_canonical(&[
        // path=GLOB and path~REGEX.
        ("sys:write[path=*.db]=off", "sys:write[path=*.db]=off"),
        ("sys:write[path=/data/*]=off", "sys:write[path=/data/*]=off"),
        ("sys:write[path=tmp_obj_*]=off", "sys:write[path=tmp_obj_*]=off"),
        // Spaces are accepted unquoted and printed quoted.
        ("sys:write[path=a b]=off", r#"sys:write[path="a b"]=off"#),
        ("sys:write[path~^/tmp/]=off", "sys:write[path~^/tmp/]=off"),
        (r"sys:write[path~\.(wal|log)$]=off", r#"sys:write[path~"\\.(wal|log)$"]=off"#),
        // Quoted values: quotes kept only where needed.
        (r#"sys:write[path~"a,b"]=off"#, r#"sys:write[path~"a,b"]=off"#),
        (r#"sys:write[path="x]y"]=off"#, r#"sys:write[path="x]y"]=off"#),
        (r#"sys:write[path="my file.db"]=off"#, r#"sys:write[path="my file.db"]=off"#),
        (r#"sys:write[path="[a-c]x"]=off"#, r#"sys:write[path="[a-c]x"]=off"#),
        (r#"sys:write[path="plain.db"]=off"#, "sys:write[path=plain.db]=off"),
        (r#"sys:write[path="a\"b"]=off"#, r#"sys:write[path="a\"b"]=off"#),
        (r"sys:write[path=a\*b]=off", r#"sys:write[path="a\\*b"]=off"#),
        // fd.
        ("sys:write[fd=3]=off", "sys:write[fd=3]=off"),
        ("sys:write[fd=+3]=off", "sys:write[fd=3]=off"),
        // kind: one, a quoted list (printed in a fixed order), any.
        ("sys:write[kind=socket]=off", "sys:write[kind=socket]=off"),
        (r#"sys:write[kind="socket,file"]=off"#, r#"sys:write[kind="file,socket"]=off"#),
        (r#"sys:write[kind=" pipe , tty "]=off"#, r#"sys:write[kind="pipe,tty"]=off"#),
        ("sys:write[kind=any]=off", "sys:write[kind=any]=off"),
        (r#"sys:write[kind="any,file"]=off"#, "sys:write[kind=any]=off"),
        // when, in its four forms.
        ("sys:write[when=3]=off", "sys:write[when=3]=off"),
        ("sys:write[when=3+]=off", "sys:write[when=3+]=off"),
        ("sys:write[when=3+2]=off", "sys:write[when=3+2]=off"),
        ("sys:write[when=3..5]=off", "sys:write[when=3..5]=off"),
        // size with every operator, suffixes expanded, and two of them together.
        ("sys:write[size>4096]=off", "sys:write[size>4096]=off"),
        ("sys:write[size<4K]=off", "sys:write[size<4096]=off"),
        ("sys:write[size=1]=off", "sys:write[size=1]=off"),
        ("sys:write[size>=1M]=off", "sys:write[size>=1048576]=off"),
        ("sys:write[size<=2G]=off", "sys:write[size<=2147483648]=off"),
        ("sys:write[size>=10,size<100]=off", "sys:write[size>=10,size<100]=off"),
        // exe, after, within.
        ("sys:write[exe=sqlite3]=off", "sys:write[exe=sqlite3]=off"),
        (r#"sys:write[exe="/usr/bin/*"]=off"#, "sys:write[exe=/usr/bin/*]=off"),
        ("sys:write[after=db::open]=off", "sys:write[after=db::open]=off"),
        ("sys:write[within=wal::commit]=off", "sys:write[within=wal::commit]=off"),
        (r#"sys:write[after="a,b"]=off"#, r#"sys:write[after="a,b"]=off"#),
        // site, in hex with and without 0x.
        ("sys:write[site=1f]=off", "sys:write[site=1f]=off"),
        ("sys:write[site=0x1F]=off", "sys:write[site=1f]=off"),
        ("sys:write[site=0xDEADbeef]=off", "sys:write[site=deadbeef]=off"),
        // In-code points take when, after and within.
        ("wal::append[when=2]=return", "wal::append[when=2]=return"),
        (
            "wal::append[when=2,within=tx,after=db::open]=return(x)",
            "wal::append[after=db::open,within=tx,when=2]=return(x)",
        ),
        // Whitespace around filters.
        ("sys:write [ path = *.db , when = 3 ] = off", "sys:write[path=*.db,when=3]=off"),
    ]);
}

#[test]
fn filters_in_any_order_print_in_canonical_order() {
    let canonical = "sys:write[path=*.db,path~x,fd=3,kind=file,size>1,exe=e,after=a,within=w,\
                     site=1f,when=3]=off";
    let scrambled = "sys:write[when=3,site=1f,within=w,after=a,exe=e,size>1,kind=file,fd=3,\
                     path~x,path=*.db]=off";
    let reversed_pairs = "sys:write[path~x,path=*.db,kind=file,fd=3,exe=e,size>1,within=w,\
                          after=a,when=3,site=1f]=off";
    for input in [canonical, scrambled, reversed_pairs] {
        assert_eq!(printed(input), [canonical], "{input}");
    }
    // The key is the same too, so either order replaces the other.
    let a = parse_rule(scrambled).unwrap();
    let b = parse_rule(canonical).unwrap();
    assert_eq!(a.key(), b.key());
}

#[test]
fn the_order_of_two_size_filters_does_not_change_the_key() {
    let a = parse_key("sys:write[size<100,size>=10]").unwrap();
    let b = parse_key("sys:write[size>=10,size<100]").unwrap();
    assert_eq!(a, b, "one rule, two keys: setting one does not replace the other");
    assert_eq!(
        printed("sys:write[size<100,when=2,size>=10]=off"),
        printed("sys:write[size>=10,size<100,when=2]=off")
    );
}

#[test]
fn tasks_print_canonically() {
    check_canonical(&[
        // fail-rs's tasks.
        ("sys:write=off", "sys:write=off"),
        ("sys:write=return(0)", "sys:write=return(0)"),
        ("sys:write=return(-1)", "sys:write=return(-1)"),
        ("sys:write=return( 5 )", "sys:write=return(5)"),
        ("sys:write=return(\"7\")", "sys:write=return(7)"),
        ("sys:sync=return", "sys:sync=return"),
        ("wal::append=return", "wal::append=return"),
        ("wal::append=return(some value)", "wal::append=return(some value)"),
        ("wal::append=return()", "wal::append=return(\"\")"),
        ("wal::append=return(a->b)", "wal::append=return(\"a->b\")"),
        ("sys:write=sleep(100)", "sys:write=sleep(100)"),
        ("sys:write=delay(5)", "sys:write=delay(5)"),
        ("sys:write=panic", "sys:write=panic"),
        ("wal::append=panic(boom)", "wal::append=panic(boom)"),
        ("sys:write=print", "sys:write=print"),
        ("sys:write=print()", "sys:write=print"),
        ("sys:write=print(hello world)", "sys:write=print(hello world)"),
        ("sys:write=print(\"plain\")", "sys:write=print(plain)"),
        // Messages with `;` and `->`, quoted or not.
        ("sys:write=print(\"a;b -> c\")", "sys:write=print(\"a;b -> c\")"),
        ("sys:write=print(a;b)", "sys:write=print(\"a;b\")"),
        ("sys:write=print(a->b)", "sys:write=print(\"a->b\")"),
        ("sys:write=print(\"say \\\"hi\\\"\")", "sys:write=print(\"say \\\"hi\\\"\")"),
        ("sys:write=print(\"a)b\")", "sys:write=print(\"a)b\")"),
        ("sys:write=print(\" padded \")", "sys:write=print(\" padded \")"),
        ("wal::append=pause", "wal::append=pause"),
        ("wal::append=yield", "wal::append=yield"),
        // error: names, numbers (printed by name when there is one), aliases, bare.
        ("sys:write=error(ENOSPC)", "sys:write=error(ENOSPC)"),
        ("sys:write=error(28)", "sys:write=error(ENOSPC)"),
        ("sys:write=error(4095)", "sys:write=error(4095)"),
        ("sys:write=error(EWOULDBLOCK)", "sys:write=error(EAGAIN)"),
        ("sys:write=error( EIO )", "sys:write=error(EIO)"),
        ("sys:write=error", "sys:write=error"),
        ("sys:write=error()", "sys:write=error"),
        // short: bare and with sizes.
        ("sys:write=short", "sys:write=short"),
        ("sys:write=short(1)", "sys:write=short(1)"),
        ("sys:write=short(1024)", "sys:write=short(1K)"),
        ("sys:write=short(4K)", "sys:write=short(4K)"),
        ("sys:write=short(1M)", "sys:write=short(1M)"),
        ("sys:write=short(1000)", "sys:write=short(1000)"),
        // corrupt: every mode, flip by default.
        ("sys:write=corrupt", "sys:write=corrupt(flip)"),
        ("sys:write=corrupt(flip)", "sys:write=corrupt(flip)"),
        ("sys:write=corrupt(zero)", "sys:write=corrupt(zero)"),
        ("sys:fwrite=corrupt(random)", "sys:fwrite=corrupt(random)"),
        // full: K, M, G and plain counts.
        ("sys:write=full(10M)", "sys:write=full(10M)"),
        ("sys:write=full(1048576)", "sys:write=full(1M)"),
        ("sys:write=full(2G)", "sys:write=full(2G)"),
        ("sys:write=full(10k)", "sys:write=full(10K)"),
        ("sys:write=full(5KiB)", "sys:write=full(5K)"),
        ("sys:write=full(1536)", "sys:write=full(1536)"),
        ("sys:write=full(0)", "sys:write=full(0)"),
        // kill: default KILL, names with and without SIG, numbers.
        ("sys:write=kill", "sys:write=kill"),
        ("sys:write=kill(KILL)", "sys:write=kill"),
        ("sys:write=kill(9)", "sys:write=kill"),
        ("sys:write=kill(TERM)", "sys:write=kill(TERM)"),
        ("sys:write=kill(SIGTERM)", "sys:write=kill(TERM)"),
        ("sys:write=kill(15)", "sys:write=kill(TERM)"),
        ("sys:write=kill(SIGUSR1)", "sys:write=kill(USR1)"),
        ("sys:write=kill(34)", "sys:write=kill(34)"),
        ("wal::append=kill(ABRT)", "wal::append=kill(ABRT)"),
        // powercut, with dirs, and on in-code points.
        ("sys:fsync=powercut", "sys:fsync=powercut"),
        ("sys:fsync=powercut(dirs)", "sys:fsync=powercut(dirs)"),
        ("sys:fsync=lose(EIO,revert)", "sys:fsync=lose(EIO)"),
        ("sys:fsync=lose(5, clean)", "sys:fsync=lose(EIO,clean)"),
        ("wal::append=powercut", "wal::append=powercut"),
        // lose: EIO by default.
        ("sys:fsync=lose", "sys:fsync=lose(EIO)"),
        ("sys:fdatasync=lose(ENOSPC)", "sys:fdatasync=lose(ENOSPC)"),
        ("sys:fsync=lose(28)", "sys:fsync=lose(ENOSPC)"),
    ]);
}

#[test]
fn chains_print_canonically() {
    check_canonical(&[
        ("sys:write=25%error(EIO)", "sys:write=25%error(EIO)"),
        ("sys:write=12.5%error(EIO)", "sys:write=12.5%error(EIO)"),
        ("sys:write=0.01%error(EIO)", "sys:write=0.01%error(EIO)"),
        ("sys:write=.5%off", "sys:write=0.5%off"),
        ("sys:write=100%off", "sys:write=100%off"),
        ("sys:write=0%off", "sys:write=0%off"),
        // Above 100% means always, as in fail-rs; kept as written.
        ("sys:write=125%2*error(EIO)", "sys:write=125%2*error(EIO)"),
        ("wal::append=100.5%return", "wal::append=100.5%return"),
        ("sys:write=3*error(EIO)", "sys:write=3*error(EIO)"),
        ("sys:write=0*error(EIO)", "sys:write=0*error(EIO)"),
        ("sys:write=25%3*error(EIO)", "sys:write=25%3*error(EIO)"),
        (
            "sys:write[path=*.db]=2*off->1*error(ENOSPC)",
            "sys:write[path=*.db]=2*off->1*error(ENOSPC)",
        ),
        ("sys:write= 2*off -> error(EIO) ", "sys:write=2*off->error(EIO)"),
        (
            "sys:write=1*off->50%2*short(100)->print(\"x -> y\")->corrupt",
            "sys:write=1*off->50%2*short(100)->print(\"x -> y\")->corrupt(flip)",
        ),
        ("wal::append=1*off->2*return(x)->sleep(1)", "wal::append=1*off->2*return(x)->sleep(1)"),
    ]);
}

#[test]
fn several_rules_comments_and_blanks() {
    let cases: &[(&str, &[&str])] = &[
        ("a=off;b=off", &["a=off", "b=off"]),
        ("a=off\nb=off", &["a=off", "b=off"]),
        ("a=off\r\nb=off\r\n", &["a=off", "b=off"]),
        ("  a=off ; ;; b = off  ", &["a=off", "b=off"]),
        ("# a comment\na=off\n# another; with=semicolons\nb=off", &["a=off", "b=off"]),
        ("a=off; # trailing comment; c=off\nb=off", &["a=off", "b=off"]),
        ("   # indented comment\na=off", &["a=off"]),
        ("a=print(x;y);b=off", &["a=print(\"x;y\")", "b=off"]),
        ("sys:write[path~\"x;y\"]=off;b=off", &["sys:write[path~\"x;y\"]=off", "b=off"]),
        ("a=print(\"#not a comment\")", &["a=print(\"#not a comment\")"]),
        ("", &[]),
        (" \n ; ;\n# only a comment\n\n", &[]),
        // The same key twice is two rules here; the registry replaces one with the other.
        ("sys:write=off;sys:__write=error(EIO)", &["sys:write=off", "sys:write=error(EIO)"]),
    ];
    for &(input, want) in cases {
        assert_eq!(printed(input), want, "{input:?}");
    }
}

#[test]
fn in_code_names_may_hold_quotes_and_parentheses() {
    // §2: an in-code point's name is anything without `=`, `;`, `[`, `]` or a newline, so
    // quotes and parentheses in it do not protect a `;`.
    assert_eq!(printed("a\"b=off;c=off"), ["a\"b=off", "c=off"]);
    assert_eq!(printed("f(x=off;c=off"), ["f(x=off", "c=off"]);
    assert_eq!(printed("f(x)[when=2]=return;c=off"), ["f(x)[when=2]=return", "c=off"]);
    assert_eq!(printed("a)b=print(x;y);c=off"), ["a)b=print(\"x;y\")", "c=off"]);
    // In the filters, quotes still protect.
    assert_eq!(
        printed("sys:write[path=\"x;y\"]=off;c=off"),
        ["sys:write[path=\"x;y\"]=off", "c=off"]
    );
}

#[test]
fn parse_rules_all_reports_every_bad_rule() {
    let text = "sys:wrte=off\nsys:write=error(EIO); b=bad\n# comment\nsys:fsync=short;c=off";
    let (rules, errors) = parse_rules_all(text, "rules.txt");
    let printed: Vec<String> = rules.iter().map(ToString::to_string).collect();
    assert_eq!(printed, ["sys:write=error(EIO)", "c=off"]);
    let found: Vec<(usize, usize, &str)> =
        errors.iter().map(|e| (e.rule_number, e.line, e.rule_text.as_str())).collect();
    assert_eq!(
        found,
        [(1, 1, "sys:wrte=off"), (3, 2, "b=bad"), (4, 4, "sys:fsync=short")],
        "{errors:#?}"
    );
    assert!(errors.iter().all(|e| e.source_name == "rules.txt"));
    assert!(errors[0].help.as_deref() == Some("did you mean `write`?"));
    // With nothing wrong, nothing is reported; parse_rules agrees with it.
    let (rules, errors) = parse_rules_all("a=off;b=off", "x");
    assert_eq!((rules.len(), errors.len()), (2, 0));
    // parse_rules stops at the first error, the same one.
    let first: ParseError = parse_rules(text, "rules.txt").unwrap_err();
    assert_eq!(first, parse_rules_all(text, "rules.txt").1[0]);
}

#[test]
fn parse_key_canonicalises() {
    let cases = [
        ("sys:write", "sys:write"),
        ("  sys:__write  ", "sys:write"),
        ("sys:fsync|sys:fdatasync", "sys:fsync|fdatasync"),
        ("sys:write[when=3, path=*.db]", "sys:write[path=*.db,when=3]"),
        ("sys:write[site=0x1F,kind=\"socket,file\"]", "sys:write[kind=\"file,socket\",site=1f]"),
        ("sys:write [size<4K]", "sys:write[size<4096]"),
        ("wal::append", "wal::append"),
        ("wal::append[within=tx,when=2]", "wal::append[within=tx,when=2]"),
        ("sys:@all", "sys:@all"),
    ];
    for (input, want) in cases {
        assert_eq!(parse_key(input).as_deref(), Ok(want), "{input:?}");
    }
    // The key of a parsed rule is what parse_key gives for its head.
    let rule = parse_rule("sys:__write[when=3,path=*.db]=error(EIO)").unwrap();
    assert_eq!(parse_key("sys:write[path=*.db,when=3]").unwrap(), rule.key());

    let err = parse_key("sys:write=off").unwrap_err();
    assert!(err.message.contains("nothing after it"), "{err:?}");
    assert_eq!(err.span, 9..13);
    let err = parse_key("sys:wrte").unwrap_err();
    assert_eq!(err.help.as_deref(), Some("did you mean `write`?"));
    assert_eq!(err.span, 4..8);
    assert!(parse_key("").is_err());
    assert!(parse_key("sys:write[path=x").is_err());
    assert!(parse_key("a;b").is_err());
}

#[test]
fn parse_rule_takes_exactly_one_rule() {
    let rule = parse_rule("  sys:write=error(EIO);  ").unwrap();
    assert_eq!(rule.to_string(), "sys:write=error(EIO)");
    assert!(
        matches!(parse_rule("# comment\nwal::x=off").unwrap().points, Points::Code(ref n) if n == "wal::x")
    );

    let err = parse_rule("a=off;b=off").unwrap_err();
    assert!(err.message.contains("expected one rule, found a second one"), "{err:?}");
    assert_eq!((err.rule_number, err.rule_text.as_str(), err.span.clone()), (2, "b=off", 0..5));
    let err = parse_rule("a=off\nb=off\nc=off").unwrap_err();
    assert_eq!((err.rule_number, err.line), (2, 2));

    for nothing in ["", "   ", "# only a comment", ";;"] {
        let err = parse_rule(nothing).unwrap_err();
        assert!(err.message.contains("expected a rule, found nothing"), "{nothing:?}: {err:?}");
    }
    // A single bad rule reports its own error.
    let err = parse_rule("sys:write=errr").unwrap_err();
    assert_eq!(err.help.as_deref(), Some("did you mean `error`?"));
}

#[test]
fn parsed_rules_expose_their_parts() {
    use failinject_engine::{Action, Cmp, Errno, Filter, SysItem, Task, When};
    let rule = parse_rule("sys:__write|@sync[size>=2,when=3..4]=25%2*error(28)->off").unwrap();
    let Points::Sys(sys) = &rule.points else { panic!("not sys: {rule:?}") };
    assert_eq!(sys.items.len(), 2);
    assert!(matches!(sys.items[0], SysItem::Point(p) if p.info().name == "write"));
    assert!(matches!(sys.items[1], SysItem::Class(c) if c.name() == "sync"));
    assert!(matches!(
        rule.filters[..],
        [Filter::Size(Cmp::Ge, 2), Filter::When(When::Range(3, 4))]
    ));
    assert_eq!(
        rule.chain,
        [
            Action { percent: Some(25.0), count: Some(2), task: Task::Error(Some(Errno::ENOSPC)) },
            Action { percent: None, count: None, task: Task::Off },
        ]
    );
    assert_eq!(rule.when(), Some(When::Range(3, 4)));
    assert!(rule.is_sys());
    assert_eq!(rule.chain_text(), "25%2*error(ENOSPC)->off");
}

#[test]
fn explain_says_what_a_rule_does() {
    let rule = parse_rule("sys:write[path=*.db]=2*off->error(ENOSPC)").unwrap();
    assert_eq!(
        rule.explain(),
        "On calls to write on a file named like `*.db`: \
         for 2 calls, let the call go ahead; then fail with ENOSPC."
    );
    let rule = parse_rule("wal::append[when=2]=1*return(x)").unwrap();
    assert_eq!(
        rule.explain(),
        "On the in-code point `wal::append`, only the 2nd such call: for 1 call, return early \
         with `x`; after that, calls go ahead."
    );
}
