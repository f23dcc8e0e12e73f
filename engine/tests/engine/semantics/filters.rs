//! Every filter of §3.1: when, kinds and fds, paths, sizes, after, within, site, exe and proc.

use super::*;

#[test]
fn every_form_of_when() {
    let cases: &[(&str, &[usize])] = &[
        ("3", &[3]),
        ("3+", &[3, 4, 5, 6, 7, 8, 9, 10]),
        ("3+2", &[3, 5, 7, 9]),
        ("1+3", &[1, 4, 7, 10]),
        ("3..5", &[3, 4, 5]),
        ("4..4", &[4]),
        ("11", &[]),
    ];
    for &(when, want) in cases {
        let registry = registry(1, &format!("sys:write[when={when}]=error(EIO)"));
        let snapshot = registry.snapshot();
        let hits: Vec<usize> =
            (1..=10).filter(|_| effect(&snapshot, &write_call()).is_some()).collect();
        assert_eq!(hits, want, "when={when}");
        let matches = registry.list()[0].matches;
        assert_eq!(matches, want.len() as u64, "when={when}: only selected calls are matches");
    }
}

#[test]
fn when_counts_only_calls_that_pass_the_other_filters() {
    let registry = registry(1, "sys:write[path=*.db,when=2]=error(EIO)");
    let snapshot = registry.snapshot();
    let paths: [&[u8]; 6] = [b"/a.txt", b"/b.db", b"/c.txt", b"/d.db", b"/e.db", b"/f.txt"];
    let got: Vec<bool> =
        paths.iter().map(|p| effect(&snapshot, &file_call("write", p)).is_some()).collect();
    assert_eq!(got, [false, false, false, true, false, false]);
}

#[test]
fn when_does_not_count_calls_an_earlier_rule_took() {
    let registry = registry(1, "sys:write[size>100]=error(EIO); sys:write[when=2]=error(ENOSPC)");
    let snapshot = registry.snapshot();
    let sized = |size| SysCall { size: Some(size), ..write_call() };
    assert_eq!(effect(&snapshot, &sized(200)), EIO);
    assert_eq!(effect(&snapshot, &sized(10)), None);
    assert_eq!(effect(&snapshot, &sized(200)), EIO);
    assert_eq!(effect(&snapshot, &sized(10)), ENOSPC);
}

#[test]
fn when_on_in_code_points() {
    let registry = registry(1, "wal::append[when=2..3]=return(x)");
    let snapshot = registry.snapshot();
    let point = snapshot.code_point("wal::append").unwrap();
    let got: Vec<bool> =
        (0..5).map(|_| snapshot.decide_code(point, &mut NoContext).is_some()).collect();
    assert_eq!(got, [false, true, true, false, false]);
}

#[test]
fn decisions_number_their_hits_from_one() {
    let registry = registry(1, "sys:write[when=2+]=error(EIO)");
    let snapshot = registry.snapshot();
    assert!(snapshot.decide_sys(&write_call(), &mut NoContext).is_none());
    let hits: Vec<u64> =
        (0..3).map(|_| snapshot.decide_sys(&write_call(), &mut NoContext).unwrap().hit).collect();
    assert_eq!(hits, [1, 2, 3]);
}

// ------------------------------------------------------------------------ kinds and fds

const KINDS: [FileKind; 7] = [
    FileKind::File,
    FileKind::Dir,
    FileKind::Unknown,
    FileKind::Socket,
    FileKind::Pipe,
    FileKind::Tty,
    FileKind::Other,
];

#[test]
fn kind_filters_and_their_default() {
    // Matches for File, Dir, Unknown, Socket, Pipe, Tty, Other.
    let cases: &[(&str, [bool; 7])] = &[
        ("sys:write=error(EIO)", [true, true, true, false, false, false, false]),
        ("sys:write[size>0]=error(EIO)", [true, true, true, false, false, false, false]),
        ("sys:write[kind=file]=error(EIO)", [true, false, true, false, false, false, false]),
        ("sys:write[kind=dir]=error(EIO)", [false, true, true, false, false, false, false]),
        ("sys:write[kind=socket]=error(EIO)", [false, false, false, true, false, false, false]),
        (
            "sys:write[kind=\"pipe,tty\"]=error(EIO)",
            [false, false, false, false, true, true, false],
        ),
        ("sys:write[kind=other]=error(EIO)", [false, false, false, false, false, false, true]),
        (
            "sys:write[kind=\"file,socket\"]=error(EIO)",
            [true, false, true, true, false, false, false],
        ),
        ("sys:write[kind=any]=error(EIO)", [true; 7]),
    ];
    for (rule, want) in cases {
        let got = KINDS.map(|kind| fires(rule, &SysCall { kind, ..write_call() }));
        assert_eq!(got, *want, "{rule} for {KINDS:?}");
    }
}

#[test]
fn fds_0_1_and_2_need_a_rule_that_names_the_target() {
    let on = |fd, kind| SysCall { fd: Some(fd), kind, ..write_call() };
    // A plain rule, or one with filters that do not name the target, never touches them.
    for rule in [
        "sys:write=error(EIO)",
        "sys:write[when=1+]=error(EIO)",
        "sys:write[size>0]=error(EIO)",
        "sys:write[exe=*]=error(EIO)",
        "sys:@all=error(EIO)",
    ] {
        let mut registry = registry(1, rule);
        registry.set_exe(b"/bin/prog");
        let snapshot = registry.snapshot();
        for fd in 0..3 {
            assert_eq!(effect(&snapshot, &on(fd, FileKind::File)), None, "{rule} on fd {fd}");
        }
        assert_eq!(effect(&snapshot, &on(3, FileKind::File)), EIO, "{rule} on fd 3");
        // No fd at all (a path call) is not a standard stream.
        let open = SysCall { fd: None, ..file_call("write", b"/x") };
        assert_eq!(effect(&snapshot, &open), EIO, "{rule} with no fd");
    }
    // path, fd and kind filters reach them.
    assert!(fires("sys:write[fd=1]=error(EIO)", &on(1, FileKind::File)));
    assert!(!fires("sys:write[fd=1]=error(EIO)", &on(2, FileKind::File)));
    assert!(fires("sys:write[path=*]=error(EIO)", &on(2, FileKind::File)));
    assert!(fires(
        "sys:write[path~log]=error(EIO)",
        &SysCall { path: Some(b"/var/log/x"), ..on(2, FileKind::File) }
    ));
    assert!(fires("sys:write[kind=tty]=error(EIO)", &on(1, FileKind::Tty)));
    assert!(fires("sys:write[kind=any]=error(EIO)", &on(0, FileKind::Pipe)));
    assert!(fires("sys:write[kind=file]=error(EIO)", &on(1, FileKind::File)));
    // A rule that names its target by fd or path matches it whatever its kind: `fd=1` reaches
    // a terminal or a pipe on fd 1. `kind=` still narrows it.
    assert!(fires("sys:write[fd=1]=error(EIO)", &on(1, FileKind::Tty)));
    assert!(fires("sys:write[fd=1]=error(EIO)", &on(1, FileKind::Pipe)));
    assert!(!fires("sys:write[fd=1,kind=file]=error(EIO)", &on(1, FileKind::Tty)));
    assert!(fires("sys:write[fd=1,kind=any]=error(EIO)", &on(1, FileKind::Tty)));
    // A path filter needs a path.
    assert!(!fires(
        "sys:write[path=*]=error(EIO)",
        &SysCall { path: None, ..on(2, FileKind::File) }
    ));
}

// ------------------------------------------------------------------------------- paths

#[test]
fn path_globs_and_regexes() {
    let cases: &[(&str, &str, bool)] = &[
        // Without `/`, a glob matches the file name.
        ("path=*.db", "/a/b/x.db", true),
        ("path=*.db", "/a/x.db/y", false),
        ("path=*.db", "/a/b/x.db.old", false),
        ("path=db", "/x/db", true),
        ("path=db", "/x/db2", false),
        ("path=db", "/db/x", false),
        ("path=x*", "/x/y", false),
        ("path=tmp_obj_*", "/r/.git/objects/ab/tmp_obj_XyZ", true),
        ("path=a?c", "/d/abc", true),
        ("path=a?c", "/d/ac", false),
        ("path=\"[a-c]x\"", "/d/bx", true),
        ("path=\"[a-c]x\"", "/d/dx", false),
        ("path=\"[!a-c]x\"", "/d/dx", true),
        // With `/`, the whole absolute path; `*` crosses `/`.
        ("path=/data/*", "/data/a/b/c", true),
        ("path=/data/*", "/database", false),
        ("path=*/db.sqlite", "/home/u/db.sqlite", true),
        ("path=*/db.sqlite", "/home/u/xdb.sqlite", false),
        ("path=/d/*/x*.db", "/d/1/2/xyz.db", true),
        ("path=/d/*/x*.db", "/d/1/2/yz.db", false),
        // Regexes are unanchored and see the whole path.
        ("path~wal", "/a/wal/b", true),
        ("path~wal", "/a/log/b", false),
        ("path~^/tmp/", "/tmp/x", true),
        ("path~^/tmp/", "/var/tmp/x", false),
        ("path~\"\\.(wal|log)$\"", "/db/0001.wal", true),
        ("path~\"\\.(wal|log)$\"", "/db/x.log.1", false),
    ];
    for &(filter, path, want) in cases {
        let rule = format!("sys:write[{filter}]=error(EIO)");
        assert_eq!(fires(&rule, &file_call("write", path.as_bytes())), want, "{filter} on {path}");
    }
    // Paths are bytes, not necessarily UTF-8.
    assert!(fires("sys:write[path=*.db]=error(EIO)", &file_call("write", b"/\xfe\xff.db")));
    assert!(fires("sys:write[path~\"\\xff\"]=error(EIO)", &file_call("write", b"/a\xffb")));
}

#[test]
fn two_file_calls_match_when_either_path_does() {
    let rename = |from: Option<&'static [u8]>, to: Option<&'static [u8]>| SysCall {
        path: to,
        path2: from,
        kind: FileKind::File,
        ..SysCall::new(point("rename"))
    };
    let rule = "sys:rename[path=*.tmp]=error(EIO)";
    assert!(fires(rule, &rename(Some(b"/d/a.tmp"), Some(b"/d/a"))));
    assert!(fires(rule, &rename(Some(b"/d/a"), Some(b"/d/a.tmp"))));
    assert!(fires(rule, &rename(Some(b"/d/a.tmp"), None)));
    assert!(!fires(rule, &rename(Some(b"/d/a"), Some(b"/d/b"))));
    assert!(!fires(rule, &rename(None, None)));
    // Each path filter may be satisfied by either file.
    let both = "sys:rename[path=*.tmp,path~^/d/]=error(EIO)";
    assert!(fires(both, &rename(Some(b"/e/a.tmp"), Some(b"/d/a"))));
    assert!(!fires(both, &rename(Some(b"/e/a.tmp"), Some(b"/e/a"))));
    // The same for a copy.
    let copy = SysCall {
        fd: Some(7),
        path: Some(b"/dst/out"),
        path2: Some(b"/src/in.db"),
        size: Some(100),
        ..write_call()
    };
    let copy = SysCall { point: point("copy_file_range"), ..copy };
    assert!(fires("sys:copy_file_range[path=*.db]=error(EIO)", &copy));
    assert!(fires("sys:copy_file_range[path=/dst/*]=short(10)", &copy));
}

// -------------------------------------------------------------------------------- sizes

#[test]
fn size_comparisons() {
    let cases: &[(&str, u64, bool)] = &[
        ("size>100", 100, false),
        ("size>100", 101, true),
        ("size>=100", 99, false),
        ("size>=100", 100, true),
        ("size<100", 99, true),
        ("size<100", 100, false),
        ("size<=100", 100, true),
        ("size<=100", 101, false),
        ("size=100", 100, true),
        ("size=100", 101, false),
        ("size=0", 0, true),
        ("size>=1K", 1024, true),
        ("size>=1K", 1023, false),
        ("size>=10,size<100", 9, false),
        ("size>=10,size<100", 10, true),
        ("size>=10,size<100", 99, true),
        ("size>=10,size<100", 100, false),
    ];
    for &(filter, size, want) in cases {
        let rule = format!("sys:write[{filter}]=error(EIO)");
        let call = SysCall { size: Some(size), ..write_call() };
        assert_eq!(fires(&rule, &call), want, "{filter} with {size} bytes");
    }
    // A call with no byte count never passes a size filter.
    assert!(!fires("sys:write[size>=0]=error(EIO)", &SysCall { size: None, ..write_call() }));
}

// ------------------------------------------------------------ after, within, site, exe

/// A context with a fixed call site, scopes and reached points, that counts site lookups.
#[derive(Default)]
struct Ctx {
    site: u64,
    scopes: Vec<u64>,
    reached: Vec<u64>,
    site_lookups: usize,
}

impl Ctx {
    fn within(names: &[&str]) -> Ctx {
        Ctx { scopes: names.iter().map(|n| name_hash(n.as_bytes())).collect(), ..Ctx::default() }
    }
    fn reached(names: &[&str]) -> Ctx {
        Ctx { reached: names.iter().map(|n| name_hash(n.as_bytes())).collect(), ..Ctx::default() }
    }
    fn at_site(site: u64) -> Ctx {
        Ctx { site, ..Ctx::default() }
    }
}

impl Context for Ctx {
    fn site(&mut self) -> u64 {
        self.site_lookups += 1;
        self.site
    }
    fn within(&self, name_hash: u64) -> bool {
        self.scopes.contains(&name_hash)
    }
    fn reached(&self, name_hash: u64) -> bool {
        self.reached.contains(&name_hash)
    }
}

fn fires_in(rules: &str, call: &SysCall<'_>, ctx: &mut Ctx) -> bool {
    let registry = registry(1, rules);
    let snapshot = registry.snapshot();
    snapshot.decide_sys(call, ctx).is_some()
}

#[test]
fn after_within_and_site() {
    let call = write_call();
    let after = "sys:write[after=db::open]=error(EIO)";
    assert!(!fires_in(after, &call, &mut Ctx::default()));
    assert!(!fires_in(after, &call, &mut Ctx::reached(&["db::close"])));
    assert!(fires_in(after, &call, &mut Ctx::reached(&["db::close", "db::open"])));
    // `within` looks at scopes, `after` at reached points: they are not interchangeable.
    assert!(!fires_in(after, &call, &mut Ctx::within(&["db::open"])));

    let within = "sys:write[within=wal::commit]=error(EIO)";
    assert!(!fires_in(within, &call, &mut Ctx::default()));
    assert!(fires_in(within, &call, &mut Ctx::within(&["wal::commit"])));
    assert!(!fires_in(within, &call, &mut Ctx::reached(&["wal::commit"])));

    let site = "sys:write[site=0x1F]=error(EIO)";
    assert!(fires_in(site, &call, &mut Ctx::at_site(0x1f)));
    assert!(!fires_in(site, &call, &mut Ctx::at_site(0x20)));
    assert!(!fires_in(site, &call, &mut Ctx::default()));

    // In-code points take after and within, both required.
    let registry = registry(1, "wal::append[after=db::open,within=tx]=return");
    let snapshot = registry.snapshot();
    let point = snapshot.code_point("wal::append").unwrap();
    let mut both = Ctx { scopes: vec![name_hash(b"tx")], ..Ctx::reached(&["db::open"]) };
    assert!(snapshot.decide_code(point, &mut Ctx::reached(&["db::open"])).is_none());
    assert!(snapshot.decide_code(point, &mut Ctx::within(&["tx"])).is_none());
    assert!(snapshot.decide_code(point, &mut both).is_some());
}

#[test]
fn the_call_site_is_asked_for_only_when_needed() {
    // No site filter: never asked.
    let mut ctx = Ctx::at_site(0x1f);
    assert!(fires_in("sys:write=error(EIO)", &write_call(), &mut ctx));
    assert_eq!(ctx.site_lookups, 0);
    // A site filter behind a path filter that fails: not asked either.
    let mut ctx = Ctx::at_site(0x1f);
    let rule = "sys:write[path=*.wal,site=1f]=error(EIO)";
    assert!(!fires_in(rule, &write_call(), &mut ctx));
    assert_eq!(ctx.site_lookups, 0);
    // When everything else passes, it is.
    let mut ctx = Ctx::at_site(0x1f);
    assert!(fires_in(rule, &file_call("write", b"/x/0001.wal"), &mut ctx));
    assert!(ctx.site_lookups >= 1);
}

#[test]
fn exe_filters() {
    let rules = "sys:write[exe=sqlite3]=error(EIO); sys:write=error(ENOSPC)";
    let mut registry = registry(1, rules);
    // No executable known: the exe rule never decides.
    let snapshot = registry.snapshot();
    assert_eq!(effect(&snapshot, &write_call()), ENOSPC);

    registry.set_exe(b"/usr/bin/sqlite3");
    assert_eq!(registry.exe(), b"/usr/bin/sqlite3");
    let matching = registry.snapshot();
    let decision = matching.decide_sys(&write_call(), &mut NoContext).unwrap();
    assert_eq!((decision.rule_index, decision.effect), (0, Effect::Error(Errno::EIO)));
    // A snapshot compiled earlier keeps the exe it was compiled with.
    assert_eq!(effect(&snapshot, &write_call()), ENOSPC);

    registry.set_exe(b"/usr/bin/python3");
    let other = registry.snapshot();
    assert_eq!(effects(&other, &write_call(), 3), [ENOSPC; 3]);
    assert_eq!(counts(&registry)[0], counted("sys:write[exe=sqlite3]", 1, 1));

    // A glob with `/` matches the whole path, one without the base name.
    let cases: &[(&str, &[u8], bool)] = &[
        ("exe=/usr/bin/*", b"/usr/bin/sqlite3", true),
        ("exe=/usr/bin/*", b"/opt/bin/sqlite3", false),
        ("exe=sqlite*", b"/usr/bin/sqlite3", true),
        ("exe=bin", b"/usr/bin/sqlite3", false),
        ("exe=*", b"/anything", true),
    ];
    for &(filter, exe, want) in cases {
        let mut registry = self::registry(1, &format!("sys:write[{filter}]=error(EIO)"));
        registry.set_exe(exe);
        let snapshot = registry.snapshot();
        assert_eq!(effect(&snapshot, &write_call()).is_some(), want, "{filter}");
    }
}

/// `proc=GLOB` matches the whole process title the context gives (none: no match), and is
/// explained, rendered and keyed like any filter.
#[test]
fn proc_filters_match_the_title_whole() {
    struct Titled(&'static [u8]);
    impl failinject_engine::Context for Titled {
        fn proc_title(&mut self) -> Option<&[u8]> {
            Some(self.0)
        }
    }
    let rule = parse_rule(r#"sys:write[proc="postgres: checkpointer*"]=error(EIO)"#).unwrap();
    assert_eq!(rule.to_string(), r#"sys:write[proc="postgres: checkpointer*"]=error(EIO)"#);
    assert!(rule.explain().contains("in processes titled like `postgres: checkpointer*`"));
    let reg = registry(1, r#"sys:write[proc="postgres: checkpointer*"]=error(EIO)"#);
    let snap = reg.snapshot();
    let call = file_call("write", b"/data/base/1");
    let decide = |title: &'static [u8]| snap.decide_sys(&call, &mut Titled(title)).is_some();
    assert!(decide(b"postgres: checkpointer "));
    assert!(!decide(b"postgres: walwriter"));
    // A title with a `/` is still matched whole, not by its last part.
    assert!(!decide(b"/usr/lib/postgresql/15/bin/postgres: checkpointer"));
    assert!(snap.decide_sys(&call, &mut failinject_engine::NoContext).is_none());
    // Libc points only.
    assert!(parse_rule(r#"wal::append[proc="x"]=return"#).is_err());
}
