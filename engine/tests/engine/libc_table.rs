//! Checks of the libc table (`libc_points!`) against itself, against SURFACE.md §5 and
//! against the system glibc.

use failinject_engine::errno::Errno;
use failinject_engine::points::{Class, Fail, Io, POINTS, PointId, Target};
use failinject_engine::{Role, Roles};
use std::collections::{BTreeSet, HashMap};
use std::process::Command;

/// Every symbol named in SURFACE.md §5.1, less the network calls, `syscall`, `madvise`,
/// `euidaccess`, `pipe`/`pipe2` and `fileno`.
const SURFACE_MINIMUM: &[&str] = &[
    // open / create
    "open",
    "open64",
    "openat",
    "openat64",
    "__open_2",
    "__open64_2",
    "__openat_2",
    "__openat64_2",
    "creat",
    "creat64",
    "fopen",
    "fopen64",
    "freopen",
    "freopen64",
    "fdopen",
    "opendir",
    "fdopendir",
    "mkstemp64",
    "mkstemp",
    "mkostemp",
    "mkostemp64",
    "mkstemps",
    "mkstemps64",
    "mkostemps",
    "mkostemps64",
    "tmpfile",
    "tmpfile64",
    "dup",
    "dup2",
    "dup3",
    // write
    "write",
    "pwrite64",
    "pwrite",
    "__pwrite64",
    "writev",
    "pwritev",
    "pwritev64",
    "pwritev2",
    "pwritev64v2",
    "copy_file_range",
    "sendfile64",
    "sendfile",
    "splice",
    "ftruncate",
    "ftruncate64",
    "truncate",
    "truncate64",
    "fallocate",
    "fallocate64",
    "posix_fallocate",
    "posix_fallocate64",
    "lseek",
    "lseek64",
    "__lseek",
    // stdio output
    "fwrite",
    "fwrite_unlocked",
    "fputs",
    "fputs_unlocked",
    "fputc",
    "putc",
    "_IO_putc",
    "fputc_unlocked",
    "putc_unlocked",
    "__overflow",
    "puts",
    "putchar",
    "fprintf",
    "vfprintf",
    "__fprintf_chk",
    "__vfprintf_chk",
    "printf",
    "__printf_chk",
    "vprintf",
    "dprintf",
    "vdprintf",
    "fflush",
    "fflush_unlocked",
    "fclose",
    // read
    "read",
    "__read",
    "__read_chk",
    "pread64",
    "pread",
    "__pread_chk",
    "__pread64_chk",
    "readv",
    "preadv",
    "preadv64",
    "preadv2",
    "preadv64v2",
    "fread",
    "fread_unlocked",
    "fgets",
    "fgets_unlocked",
    "getc",
    "fgetc",
    "_IO_getc",
    "getdelim",
    "__getdelim",
    "getline",
    "__uflow",
    "readdir",
    "readdir64",
    "getdents64",
    "readlink",
    "readlinkat",
    "__readlink_chk",
    // sync
    "fsync",
    "fdatasync",
    "sync_file_range",
    "syncfs",
    "msync",
    "sync",
    // metadata / directory ops
    "rename",
    "renameat",
    "renameat2",
    "unlink",
    "unlinkat",
    "rmdir",
    "remove",
    "mkdir",
    "mkdirat",
    "link",
    "linkat",
    "symlink",
    "symlinkat",
    "stat",
    "stat64",
    "lstat",
    "lstat64",
    "fstat",
    "fstat64",
    "fstatat",
    "fstatat64",
    "statx",
    "__xstat",
    "__xstat64",
    "__lxstat",
    "__lxstat64",
    "__fxstat",
    "__fxstat64",
    "__fxstatat",
    "__fxstatat64",
    "fchmod",
    "chmod",
    "fchmodat",
    "fchown",
    "chown",
    "lchown",
    "fchownat",
    "utimensat",
    "futimens",
    "utime",
    "utimes",
    "fsetxattr",
    "setxattr",
    "lsetxattr",
    "statfs",
    "statfs64",
    "fstatfs",
    "fstatfs64",
    "access",
    "faccessat",
    // locks
    "fcntl",
    "fcntl64",
    "flock",
    "lockf",
    "lockf64",
    // close
    "close",
    "__close",
    "closedir",
    "close_range",
    "closefrom",
    // mmap
    "mmap",
    "mmap64",
    "munmap",
];

/// Spellings whose point is fixed by the design (SPEC §2 and the alias decisions): each
/// spelling must belong to the named canonical point.
const ALIASES: &[(&str, &[&str])] = &[
    ("open", &["open", "open64", "__open", "__open64", "__open_2", "__open64_2"]),
    ("openat", &["openat", "openat64", "__openat_2", "__openat64_2"]),
    ("creat", &["creat", "creat64"]),
    ("fopen", &["fopen", "fopen64"]),
    ("freopen", &["freopen", "freopen64"]),
    ("pwrite", &["pwrite", "pwrite64", "__pwrite64"]),
    ("pread", &["pread", "pread64", "__pread64", "__pread_chk", "__pread64_chk"]),
    ("read", &["read", "__read", "__read_chk"]),
    ("pwritev", &["pwritev", "pwritev64"]),
    ("pwritev2", &["pwritev2", "pwritev64v2"]),
    ("preadv", &["preadv", "preadv64"]),
    ("preadv2", &["preadv2", "preadv64v2"]),
    ("sendfile", &["sendfile", "sendfile64"]),
    ("ftruncate", &["ftruncate", "ftruncate64"]),
    ("truncate", &["truncate", "truncate64"]),
    ("fallocate", &["fallocate", "fallocate64"]),
    ("posix_fallocate", &["posix_fallocate", "posix_fallocate64"]),
    ("posix_fadvise", &["posix_fadvise", "posix_fadvise64"]),
    ("lseek", &["lseek", "lseek64", "__lseek"]),
    ("lockf", &["lockf", "lockf64"]),
    ("mmap", &["mmap", "mmap64"]),
    ("tmpfile", &["tmpfile", "tmpfile64"]),
    ("readdir", &["readdir", "readdir64"]),
    ("statfs", &["statfs", "statfs64"]),
    ("fstatfs", &["fstatfs", "fstatfs64"]),
    (
        "mkstemp",
        &[
            "mkstemp",
            "mkstemp64",
            "mkostemp",
            "mkostemp64",
            "mkstemps",
            "mkstemps64",
            "mkostemps",
            "mkostemps64",
        ],
    ),
    ("stat", &["stat", "stat64", "__xstat", "__xstat64"]),
    ("lstat", &["lstat", "lstat64", "__lxstat", "__lxstat64"]),
    ("fstat", &["fstat", "fstat64", "__fxstat", "__fxstat64"]),
    ("fstatat", &["fstatat", "fstatat64", "__fxstatat", "__fxstatat64"]),
    ("readlink", &["readlink", "__readlink_chk"]),
    ("readlinkat", &["readlinkat", "__readlinkat_chk"]),
    ("fcntl", &["fcntl", "fcntl64", "__fcntl"]),
    ("fflush", &["fflush", "fflush_unlocked"]),
    ("fputs", &["fputs", "fputs_unlocked"]),
    ("fputc", &["fputc", "putc", "_IO_putc", "fputc_unlocked", "putc_unlocked", "__overflow"]),
    ("putchar", &["putchar", "putchar_unlocked"]),
    ("printf", &["printf", "vprintf", "__printf_chk", "__vprintf_chk"]),
    ("fprintf", &["fprintf", "vfprintf", "__fprintf_chk", "__vfprintf_chk"]),
    ("dprintf", &["dprintf", "vdprintf"]),
    ("fwrite", &["fwrite", "fwrite_unlocked"]),
    ("fread", &["fread", "fread_unlocked"]),
    ("fgets", &["fgets", "fgets_unlocked"]),
    ("fgetc", &["fgetc", "getc", "_IO_getc", "fgetc_unlocked", "getc_unlocked", "__uflow"]),
    ("getdelim", &["getdelim", "__getdelim", "getline"]),
    ("close", &["close", "__close"]),
];

/// Points that only keep descriptors in order: failing them is allowed but not explored, and
/// they may have no realistic errno at all.
const BOOKKEEPING: &[&str] = &["dup", "dup2", "dup3", "lseek", "close_range", "munmap"];

fn point(name: &str) -> &'static failinject_engine::points::PointInfo {
    POINTS.iter().find(|p| p.name == name).unwrap_or_else(|| panic!("no point `{name}`"))
}

// ------------------------------------------------------------------------------ glibc exports

/// The path of the C library the system's programs load.
fn system_libc() -> String {
    let fallback = "/lib/x86_64-linux-gnu/libc.so.6".to_string();
    let Ok(out) = Command::new("ldd").arg("/bin/true").output() else {
        return fallback;
    };
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains("libc.so"))
        .find_map(|l| l.split("=>").nth(1)?.split_whitespace().next().map(str::to_string))
        .unwrap_or(fallback)
}

/// The public (not `GLIBC_PRIVATE`) defined dynamic symbols of the system glibc, or `None`
/// when `nm` is not installed (the test then fails with the line that installs it).
fn glibc_exports() -> Option<BTreeSet<String>> {
    let libc = system_libc();
    let out = match Command::new("nm").args(["-D", "--defined-only", &libc]).output() {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => panic!("running nm on {libc}: {e}"),
    };
    assert!(out.status.success(), "nm -D {libc} failed: {}", String::from_utf8_lossy(&out.stderr));
    let exports: BTreeSet<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| line.split_whitespace().nth(2))
        .filter(|sym| !sym.ends_with("@GLIBC_PRIVATE"))
        .map(|sym| sym.split('@').next().unwrap_or(sym).to_string())
        .collect();
    assert!(exports.contains("write"), "nm -D {libc} listed no `write`: not glibc?");
    Some(exports)
}

#[test]
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn every_spelling_is_exported_by_glibc() {
    let exports = glibc_exports().expect(
        "nm is needed for the glibc export check: apt-get install binutils (.ci/run installs it)",
    );
    let missing: Vec<&str> = POINTS
        .iter()
        .flat_map(|p| p.spellings.iter().copied())
        .filter(|s| !exports.contains(*s))
        .collect();
    assert!(missing.is_empty(), "not exported by {}: {missing:?}", system_libc());
}

// ------------------------------------------------------------------------------- uniqueness

#[test]
fn names_and_spellings_are_unique() {
    let mut canonical = BTreeSet::new();
    for p in POINTS {
        assert!(canonical.insert(p.name), "canonical name `{}` repeats", p.name);
    }
    let mut owner: HashMap<&str, &str> = HashMap::new();
    for p in POINTS {
        let grouped: Vec<&str> = p.groups.iter().flat_map(|g| g.names.iter().copied()).collect();
        assert_eq!(grouped, p.spellings, "{}: groups and spellings disagree", p.name);
        for s in p.spellings {
            if let Some(other) = owner.insert(s, p.name) {
                panic!("spelling `{s}` is in both `{other}` and `{}`", p.name);
            }
        }
    }
}

#[test]
fn canonical_name_is_the_first_spelling() {
    for p in POINTS {
        assert_eq!(p.spellings.first(), Some(&p.name), "{}: canonical name not first", p.name);
    }
}

// --------------------------------------------------------------------------------- coverage

#[test]
fn surface_minimum_is_covered() {
    let missing: Vec<&str> = SURFACE_MINIMUM
        .iter()
        .copied()
        .filter(|s| PointId::from_name(s).is_none_or(|id| !id.info().spellings.contains(s)))
        .collect();
    assert!(missing.is_empty(), "SURFACE.md §5.1 symbols not in the table: {missing:?}");
}

#[test]
fn aliases_belong_to_their_canonical_point() {
    for (canonical, spellings) in ALIASES {
        let p = point(canonical);
        for s in *spellings {
            assert!(p.spellings.contains(s), "`{s}` should be a spelling of `{canonical}`");
        }
    }
}

#[test]
fn every_class_has_points() {
    for class in Class::ALL {
        assert!(
            POINTS.iter().any(|p| p.classes.contains(class)),
            "class @{} has no point",
            class.name()
        );
    }
    for p in POINTS {
        assert!(p.classes.iter().next().is_some(), "{}: no class", p.name);
        assert!(!p.doc.trim().is_empty(), "{}: no doc line", p.name);
    }
}

#[test]
fn failure_kinds_match_the_decisions() {
    let expect: &[(Fail, &[&str])] = &[
        (
            Fail::Null,
            &["fopen", "freopen", "fdopen", "opendir", "fdopendir", "tmpfile", "readdir", "fgets"],
        ),
        (
            Fail::Eof,
            &[
                "fputs", "fputc", "puts", "putchar", "fprintf", "printf", "fflush", "fclose",
                "fgetc",
            ],
        ),
        (Fail::Items, &["fwrite", "fread"]),
        (Fail::ErrnoRet, &["posix_fallocate", "posix_fadvise"]),
        (Fail::Void, &["sync", "closefrom"]),
        (Fail::MapFailed, &["mmap"]),
    ];
    for (fail, names) in expect {
        for name in *names {
            assert_eq!(point(name).fail, *fail, "{name}: wrong failure kind");
        }
        let listed: BTreeSet<&str> = names.iter().copied().collect();
        for p in POINTS.iter().filter(|p| p.fail == *fail) {
            assert!(listed.contains(p.name), "{}: unexpected failure kind {fail:?}", p.name);
        }
    }
}

// ------------------------------------------------------------------- signatures (callback)

/// One signature line of an entry, as written in the table.
struct Sig {
    names: &'static [&'static str],
    attrs: &'static [&'static str],
    /// The tokens between the parentheses, stringified.
    params: &'static str,
    ret: &'static str,
}

/// One entry of the table, as written.
struct Entry {
    name: &'static str,
    target: &'static str,
    target_args: &'static [&'static str],
    fail: &'static str,
    io: &'static str,
    io_args: &'static [&'static str],
    /// `does:` as written: each role with its form's tokens, stringified.
    roles: &'static [(&'static str, &'static str)],
    sigs: &'static [Sig],
}

/// A second expansion of the table (its normalized form), keeping what the engine drops: the
/// signatures and the roles' forms.
macro_rules! table_entries {
    ($(
        $point:ident $docs:tt $classes:tt [$target:ident ($($targ:ident),*)] $fail:ident
        [$io:ident ($($ioarg:ident),*)] [$($role:ident ($($form:tt)*))*] $errnos:tt $explore:tt
        [$( [$($attr:ident)*] [$($name:ident)+] ($($param:tt)*) -> $ret:ty; )+];
    )*) => {
        static ENTRIES: &[Entry] = &[$(
            Entry {
                name: stringify!($point),
                target: stringify!($target),
                target_args: &[$(stringify!($targ)),*],
                fail: stringify!($fail),
                io: stringify!($io),
                io_args: &[$(stringify!($ioarg)),*],
                roles: &[$((stringify!($role), stringify!($($form)*))),*],
                sigs: &[$(Sig {
                    names: &[$(stringify!($name)),+],
                    attrs: &[$(stringify!($attr)),*],
                    params: stringify!($($param)*),
                    ret: stringify!($ret),
                },)+],
            },
        )*];
    };
}

failinject_engine::libc_points!(table_entries);

/// A signature's parameters as (name, type) pairs, and whether it ends in `...`.
fn params(sig: &Sig) -> (Vec<(String, String)>, bool) {
    let mut args = Vec::new();
    let mut dots = false;
    for piece in sig.params.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        assert!(!dots, "{:?}: `...` is not last", sig.names);
        if piece == "..." {
            dots = true;
            continue;
        }
        let (name, ty) =
            piece.split_once(':').unwrap_or_else(|| panic!("{:?}: bad param `{piece}`", sig.names));
        // Normalise the token spacing of `stringify!` (`* mut FILE` vs `*mut FILE`).
        let ty: String = ty.split_whitespace().collect::<Vec<_>>().join(" ").replace("* ", "*");
        args.push((name.trim().to_string(), ty));
    }
    (args, dots)
}

#[test]
fn callback_sees_the_same_table_as_the_engine() {
    assert_eq!(ENTRIES.len(), POINTS.len());
    for (e, p) in ENTRIES.iter().zip(POINTS) {
        assert_eq!(e.name, p.name);
        let names: Vec<&str> = e.sigs.iter().flat_map(|s| s.names.iter().copied()).collect();
        assert_eq!(names, p.spellings, "{}", e.name);
    }
}

#[test]
fn target_and_io_arguments_exist_in_every_signature() {
    for e in ENTRIES {
        for sig in e.sigs {
            let (args, _) = params(sig);
            let names: Vec<&str> = args.iter().map(|(n, _)| n.as_str()).collect();
            for used in e.target_args.iter().chain(e.io_args) {
                assert!(
                    names.contains(used),
                    "{}: `{used}` (used by target/io) is not an argument of {:?} {names:?}",
                    e.name,
                    sig.names
                );
            }
        }
    }
}

#[test]
fn target_and_io_arguments_have_fitting_types_and_counts() {
    for e in ENTRIES {
        let (want_target, target_types): (usize, &[&str]) = match e.target {
            "none" | "stdout" => (0, &[]),
            "path" => (1, &["path"]),
            "at" => (2, &["fd", "path"]),
            "fd" => (1, &["fd"]),
            "stream" => (1, &["*mut FILE"]),
            "dir" => (1, &["*mut DIR"]),
            "paths" => (2, &["path", "path"]),
            "at2" => (4, &["fd", "path", "fd", "path"]),
            "symlinkat" => (3, &["path", "fd", "path"]),
            "copy" => (2, &["fd", "fd"]),
            "mapping" => (1, &["*mut c_void"]),
            other => panic!("{}: unknown target kind `{other}`", e.name),
        };
        assert_eq!(e.target_args.len(), want_target, "{}: target argument count", e.name);
        let want_io = match e.io {
            "none" => 0,
            "copy" => 1,
            "write" | "read" | "writev" | "readv" => 2,
            "fwrite" | "fread" => 3,
            other => panic!("{}: unknown io kind `{other}`", e.name),
        };
        assert_eq!(e.io_args.len(), want_io, "{}: io argument count", e.name);
        for sig in e.sigs {
            let (args, _) = params(sig);
            let ty_of = |name: &str| {
                args.iter().find(|(n, _)| n == name).map(|(_, t)| t.clone()).unwrap_or_default()
            };
            for (arg, kind) in e.target_args.iter().zip(target_types) {
                let ty = ty_of(arg);
                let ok = match *kind {
                    "fd" => ty == "c_int",
                    "path" => ty == "*const c_char" || ty == "*mut c_char",
                    exact => ty == exact,
                };
                assert!(ok, "{} {:?}: target `{arg}: {ty}` is not a {kind}", e.name, sig.names);
            }
            for (i, arg) in e.io_args.iter().enumerate() {
                let ty = ty_of(arg);
                let ok = match (e.io, i) {
                    ("write" | "fwrite", 0) => ty == "*const c_void",
                    ("read" | "fread", 0) => ty == "*mut c_void",
                    ("writev" | "readv", 0) => ty == "*const iovec",
                    ("writev" | "readv", 1) => ty == "c_int",
                    _ => ty == "size_t",
                };
                assert!(ok, "{} {:?}: io argument `{arg}: {ty}`", e.name, sig.names);
            }
        }
    }
}

#[test]
fn variadic_signatures_are_marked_and_well_formed() {
    for e in ENTRIES {
        for sig in e.sigs {
            let (args, dots) = params(sig);
            for attr in sig.attrs {
                assert_eq!(*attr, "variadic", "{:?}: unknown attribute", sig.names);
            }
            let variadic = sig.attrs.contains(&"variadic");
            if !variadic {
                assert!(!dots, "{:?}: `...` without #[variadic]", sig.names);
                continue;
            }
            if dots {
                continue;
            }
            // A fixed trailing argument stands for the one variadic argument.
            let last = args.last().map(|(n, t)| (n.as_str(), t.as_str()));
            let ok = matches!(last, Some(("mode", "c_uint")) | Some(("arg", "c_ulong")));
            assert!(ok, "{:?}: #[variadic] needs `...` or a trailing mode/arg", sig.names);
        }
    }
    // The C variadics of glibc must all be marked.
    for name in ["open", "open64", "openat", "openat64", "fcntl", "fcntl64", "__fcntl", "ioctl"] {
        let sig = ENTRIES.iter().flat_map(|e| e.sigs).find(|s| s.names.contains(&name)).unwrap();
        assert!(sig.attrs.contains(&"variadic"), "{name} must be #[variadic]");
    }
}

#[test]
fn void_points_move_no_data() {
    for e in ENTRIES {
        if e.fail == "void" {
            assert_eq!(e.io, "none", "{}: fail: void needs io: none()", e.name);
            for sig in e.sigs {
                assert_eq!(sig.ret, "()", "{:?}: fail: void must return ()", sig.names);
            }
        } else {
            for sig in e.sigs {
                assert_ne!(sig.ret, "()", "{:?}: returns nothing but can fail", sig.names);
            }
        }
    }
    for p in POINTS.iter().filter(|p| p.fail == Fail::Void) {
        assert_eq!(p.io, Io::None, "{}", p.name);
        assert_eq!(p.target, Target::None, "{}", p.name);
    }
}

// ------------------------------------------------------------------------------------ roles

/// The forms each role may take, as the preload's wrappers read them (`wrappers/*_arms.rs`):
/// keywords as written, `_` for an argument name of the entry, `=` for a constant.
const FORMS: &[(&str, &[&str])] = &[
    ("opens", &["", "unnamed"]),
    ("dups", &["_", "_ , _"]),
    ("closes", &["", "range , _ , _", "from , _"]),
    ("creates", &["_", "=", "stdio , _", "stdio , _ , _", "unnamed"]),
    ("writes", &["cursor", "at , _", "at , _ , _", "at_ptr , _", "stdio"]),
    ("flushes", &[""]),
    ("truncates", &["_"]),
    ("allocates", &["_ , _", "0 , _"]),
    ("syncs", &["file", "range , _ , _ , _", "fs", "all", "mapping , _ , _ , _"]),
    ("renames", &[""]),
    ("removes", &[""]),
    ("makes", &[""]),
    ("maps", &["_ , _ , _ , _"]),
    ("execs", &[""]),
];

/// The keywords of [`FORMS`].
const KEYWORDS: &[&str] = &[
    "unnamed", "range", "from", "stdio", "cursor", "at", "at_ptr", "file", "fs", "all", "mapping",
];

/// A role's form with argument names as `_` and constants (`O_CREAT | …`) as `=`.
fn shape(form: &str) -> String {
    if form.contains("O_") {
        return "=".into();
    }
    let pieces: Vec<&str> = form
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| if KEYWORDS.contains(&p) || p == "0" { p } else { "_" })
        .collect();
    pieces.join(" , ")
}

#[test]
fn roles_have_known_forms_naming_real_arguments() {
    for e in ENTRIES {
        let names: Vec<&str> = e.roles.iter().map(|(r, _)| *r).collect();
        for (role, form) in e.roles {
            let known = FORMS.iter().find(|(r, _)| r == role);
            let Some((_, shapes)) = known else { panic!("{}: unknown role `{role}`", e.name) };
            let got = shape(form);
            assert!(shapes.contains(&got.as_str()), "{}: {role}({form}) has no known form", e.name);
            for arg in form.split(',').map(str::trim).filter(|a| shape(a) == "_") {
                for sig in e.sigs {
                    let (args, _) = params(sig);
                    assert!(
                        args.iter().any(|(n, _)| n == arg),
                        "{}: `{arg}` (used by {role}) is not an argument of {:?}",
                        e.name,
                        sig.names
                    );
                }
            }
        }
        // The preload's crash arms act on the first role that changes files: there is one.
        let changes = names.iter().filter(|r| Roles::CHANGES.contains(Role::named(r))).count();
        assert!(changes <= 1, "{}: {changes} roles that change files", e.name);
        // The engine read the same roles.
        assert_eq!(point(e.name).roles, Roles::named(&names), "{}", e.name);
    }
    assert_eq!(FORMS.len(), Role::ALL.len(), "every role has its forms listed");
}

/// Roles and classes say the same thing from two sides: a role implies its class, and a
/// class implies its role but for the exceptions named here, each with its reason.
#[test]
fn roles_and_classes_agree() {
    let implies = [
        (Role::Opens, Class::Open),
        (Role::Creates, Class::Open),
        (Role::Closes, Class::Close),
        (Role::Writes, Class::Write),
        (Role::Flushes, Class::Stdio),
        (Role::Truncates, Class::Write),
        (Role::Allocates, Class::Write),
        (Role::Syncs, Class::Sync),
        (Role::Renames, Class::Meta),
        (Role::Removes, Class::Meta),
        (Role::Makes, Class::Meta),
        (Role::Maps, Class::Mmap),
        (Role::Execs, Class::Exec),
    ];
    for p in POINTS {
        for (role, class) in implies {
            if p.roles.contains(role) {
                assert!(p.classes.contains(class), "{}: {role} without @{}", p.name, class.name());
            }
        }
    }
    // Wrap a descriptor the program already has: the table knows its path.
    let opens_nothing = ["fdopen", "fdopendir"];
    let converse: [(Class, Roles, &[&str]); 5] = [
        (Class::Open, Roles::of(&[Role::Opens]), &opens_nothing),
        (Class::Close, Roles::of(&[Role::Closes]), &[]),
        (Class::Exec, Roles::of(&[Role::Execs]), &[]),
        (Class::Sync, Roles::of(&[Role::Syncs]), &[]),
        (
            Class::Write,
            Roles::of(&[Role::Writes, Role::Flushes, Role::Truncates, Role::Allocates]),
            &[],
        ),
    ];
    for (class, roles, except) in converse {
        for p in POINTS.iter().filter(|p| p.classes.contains(class)) {
            let has = p.roles.meets(roles);
            assert_eq!(
                has,
                !except.contains(&p.name),
                "{}: @{} vs {roles:?}",
                p.name,
                class.name()
            );
        }
    }
    // Every point that changes a directory entry says so.
    for name in ["rename", "renameat", "renameat2", "unlink", "unlinkat", "remove", "rmdir"] {
        assert!(point(name).roles.meets(Roles::DIRECTORIES), "{name}");
    }
    for name in ["mkdir", "mkdirat", "link", "linkat", "symlink", "symlinkat"] {
        assert!(point(name).roles.contains(Role::Makes), "{name}");
    }
    // The two questions asked of the forms.
    let many: Vec<&str> = POINTS.iter().filter(|p| p.syncs_many()).map(|p| p.name).collect();
    assert_eq!(many, ["syncfs", "sync"]);
    let own: Vec<&str> = POINTS.iter().filter(|p| p.closes_its_target()).map(|p| p.name).collect();
    assert_eq!(own, ["close", "fclose", "closedir"]);
}

// ----------------------------------------------------------------------------------- errnos

#[test]
fn errno_lists_are_filled_and_consistent() {
    for p in POINTS {
        let bookkeeping = BOOKKEEPING.contains(&p.name);
        if p.fail == Fail::Void {
            assert!(p.errnos.is_empty() && p.explore.is_empty(), "{}: void with errnos", p.name);
            continue;
        }
        if !bookkeeping {
            assert!(!p.errnos.is_empty(), "{}: no realistic errno", p.name);
            assert!(!p.explore.is_empty(), "{}: nothing to explore", p.name);
        }
        for x in p.explore {
            assert!(p.errnos.contains(x), "{}: explores {x} which is not in its errnos", p.name);
        }
        for list in [p.errnos, p.explore] {
            let distinct: BTreeSet<Errno> = list.iter().copied().collect();
            assert_eq!(distinct.len(), list.len(), "{}: an errno repeats in {list:?}", p.name);
        }
    }
}

#[test]
fn programming_errors_are_not_listed() {
    // EINVAL stays only where Linux answers it for an unsupported file system.
    let einval_ok = ["copy_file_range", "sendfile", "splice", "fallocate", "posix_fallocate"];
    for p in POINTS {
        for e in p.errnos {
            assert!(
                *e != Errno::EBADF && *e != Errno::EFAULT,
                "{}: {e} is a programming error",
                p.name
            );
            if *e == Errno::EINVAL {
                assert!(
                    einval_ok.contains(&p.name) || p.name == "renameat2",
                    "{}: EINVAL is a programming error here",
                    p.name
                );
            }
        }
    }
}
