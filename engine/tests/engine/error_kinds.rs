//! Every [`ErrorKind`] is what the parser reports for its mistakes, so a program (or a test)
//! can act on the kind of a bad rule without matching its sentence.

use failinject_engine::{ErrorKind, parse_key, parse_rule, parse_rules};

/// (input, kind): at least one per kind, and the kinds whose boundaries are easy to blur.
const CASES: &[(&str, ErrorKind)] = &[
    ("sys:write", ErrorKind::Syntax),
    ("sys:write=", ErrorKind::Syntax),
    ("sys:write[path=x=off", ErrorKind::Syntax),
    ("sys:write[]=off", ErrorKind::Syntax),
    ("a=print(\"x)", ErrorKind::Syntax),
    ("a=off->", ErrorKind::Syntax),
    ("a=3x", ErrorKind::Syntax),
    ("sys:wrte=off", ErrorKind::UnknownPoint),
    ("sys:@wirte=off", ErrorKind::UnknownPoint),
    ("a=errr", ErrorKind::UnknownTask),
    ("sys:write[paht=x]=off", ErrorKind::UnknownFilter),
    ("sys:write=error(ENOSPACE)", ErrorKind::UnknownErrno),
    ("sys:fsync=lose(EWHAT)", ErrorKind::UnknownErrno),
    ("sys:write=error(5000)", ErrorKind::BadValue),
    ("a=sleep(soon)", ErrorKind::BadValue),
    ("a=off(1)", ErrorKind::BadValue),
    ("a=x%off", ErrorKind::Syntax),
    ("a=1.5*off", ErrorKind::BadValue),
    ("sys:write=short(0)", ErrorKind::BadValue),
    ("sys:write=kill(SIGNOPE)", ErrorKind::BadValue),
    ("sys:write[fd=three]=off", ErrorKind::BadValue),
    ("sys:write[kind=fiel]=off", ErrorKind::BadValue),
    ("sys:write[when=0]=off", ErrorKind::BadValue),
    ("sys:write[path~a(]=off", ErrorKind::BadValue),
    ("sys:write[fd~3]=off", ErrorKind::BadOperator),
    ("sys:write[size~3]=off", ErrorKind::BadOperator),
    ("sys:write[path<x]=off", ErrorKind::BadOperator),
    ("sys:write[fd=3,fd=4]=off", ErrorKind::DuplicateFilter),
    ("sys:fsync=short", ErrorKind::Misfit),
    ("sys:sync[path=x]=off", ErrorKind::Misfit),
    ("wal::append=error(EIO)", ErrorKind::Misfit),
    ("wal::append[path=x]=off", ErrorKind::Misfit),
];

#[test]
fn each_mistake_has_its_kind() {
    for &(input, want) in CASES {
        let err = match parse_rules(input, "test") {
            Ok(rules) => panic!("{input:?} should fail, but parsed as {} rule(s)", rules.len()),
            Err(e) => e,
        };
        assert_eq!(err.kind, want, "{input:?} failed with:\n{err}");
    }
}

#[test]
fn every_kind_is_reached() {
    let all = [
        ErrorKind::Syntax,
        ErrorKind::UnknownPoint,
        ErrorKind::UnknownTask,
        ErrorKind::UnknownFilter,
        ErrorKind::UnknownErrno,
        ErrorKind::BadValue,
        ErrorKind::BadOperator,
        ErrorKind::DuplicateFilter,
        ErrorKind::Misfit,
    ];
    for kind in all {
        assert!(CASES.iter().any(|c| c.1 == kind), "no case reaches {kind:?}");
    }
}

#[test]
fn the_entry_points_keep_the_kind() {
    assert_eq!(parse_rule("").unwrap_err().kind, ErrorKind::Syntax);
    assert_eq!(parse_rule("a=off;b=off").unwrap_err().kind, ErrorKind::Syntax);
    assert_eq!(parse_key("sys:wrte").unwrap_err().kind, ErrorKind::UnknownPoint);
    assert_eq!(parse_key("sys:write=off").unwrap_err().kind, ErrorKind::Syntax);
    // A problem inside a quoted value keeps its kind when it is moved onto the rule.
    assert_eq!(parse_rule("a=print(\"x").unwrap_err().kind, ErrorKind::Syntax);
}
