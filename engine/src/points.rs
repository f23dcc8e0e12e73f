//! What the engine knows about each libc point, built from the table in `libc_table.rs`.
//!
//! The table ([`crate::libc_points!`]) is the one description of every intercepted function.
//! This module expands it into [`POINTS`], a static slice of [`PointInfo`] that the parser uses
//! to validate rules, the decision path indexes by [`PointId`], and `failinject points`
//! prints. The preload expands the very same table into its wrappers.

use crate::errno::Errno;
use crate::roles::{Role, Roles};
use std::fmt;

/// A group of libc points that rules can name at once: `sys:@write`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Class {
    /// Calls that open or create a file, a stream or a directory stream.
    Open,
    /// Calls that read file data, directory entries or link contents.
    Read,
    /// Calls that write file data or change a file's size.
    Write,
    /// Calls that flush written data to stable storage.
    Sync,
    /// Calls that release a descriptor, a stream or a directory stream.
    Close,
    /// Calls that change or query names and metadata: rename, unlink, mkdir, link, stat, chmod,
    /// truncate, xattrs, …
    Meta,
    /// Calls that act on directories: opendir, readdir, mkdir, rmdir.
    Dir,
    /// The `FILE*` functions.
    Stdio,
    /// File locks: fcntl, flock, lockf.
    Lock,
    /// Memory mappings of files.
    Mmap,
    /// Descriptor bookkeeping: dup, lseek, close_range, ioctl.
    Fd,
    /// Calls that replace the program: execve and its family.
    Exec,
}

impl Class {
    /// Every class, in the order `failinject points` lists them.
    pub const ALL: [Class; 12] = [
        Class::Open,
        Class::Read,
        Class::Write,
        Class::Sync,
        Class::Close,
        Class::Meta,
        Class::Dir,
        Class::Stdio,
        Class::Lock,
        Class::Mmap,
        Class::Fd,
        Class::Exec,
    ];

    /// The name used after `sys:@`.
    pub fn name(self) -> &'static str {
        match self {
            Class::Open => "open",
            Class::Read => "read",
            Class::Write => "write",
            Class::Sync => "sync",
            Class::Close => "close",
            Class::Meta => "meta",
            Class::Dir => "dir",
            Class::Stdio => "stdio",
            Class::Lock => "lock",
            Class::Mmap => "mmap",
            Class::Fd => "fd",
            Class::Exec => "exec",
        }
    }

    /// The class called `name` (without `@`).
    pub fn from_name(name: &str) -> Option<Class> {
        Class::ALL.into_iter().find(|c| c.name() == name)
    }

    fn bit(self) -> u16 {
        1 << self as u16
    }
}

/// A set of [`Class`]es, as a bit mask.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ClassSet(u16);

impl ClassSet {
    /// The set of the given classes.
    pub const fn of(classes: &[Class]) -> ClassSet {
        let mut bits = 0;
        let mut i = 0;
        while i < classes.len() {
            bits |= 1 << classes[i] as u16;
            i += 1;
        }
        ClassSet(bits)
    }

    /// Whether `class` is in the set.
    pub fn contains(self, class: Class) -> bool {
        self.0 & class.bit() != 0
    }

    /// The set as its bit mask (one bit per class, as [`ClassSet::of`] sets them).
    pub fn bits(self) -> u16 {
        self.0
    }

    /// The classes in the set, in [`Class::ALL`] order.
    pub fn iter(self) -> impl Iterator<Item = Class> {
        Class::ALL.into_iter().filter(move |c| self.contains(*c))
    }
}

/// What the call acts on, and so what a `path=`, `fd=` or `kind=` filter looks at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    /// No file: `sync()`, `tmpfile()`, `munmap()`.
    None,
    /// The program's standard output (`puts`, `printf`).
    Stdout,
    /// A path argument, made absolute against the current directory.
    Path,
    /// A directory descriptor and a path relative to it (`openat`, `unlinkat`).
    At,
    /// A file descriptor; its path is the one it was opened with.
    Fd,
    /// A `FILE*` stream; its path is the one it was opened with.
    Stream,
    /// A `DIR*` directory stream.
    Dir,
    /// Two paths, the second one written (`rename`, `link`, `symlink`).
    Paths,
    /// Two directory descriptors and paths, the second written (`renameat`, `linkat`).
    At2,
    /// A link's contents and a directory descriptor and path for the link (`symlinkat`).
    SymlinkAt,
    /// Two descriptors, data copied from the first into the second (`copy_file_range`).
    Copy,
    /// The file mapped at an address (`msync`): its path is the mapping's, as the kernel
    /// lists it.
    Mapping,
}

impl Target {
    /// A short phrase for `failinject points`: what the call's target is.
    pub fn describe(self) -> &'static str {
        match self {
            Target::None => "none",
            Target::Stdout => "standard output",
            Target::Path => "path argument",
            Target::At => "dirfd + path",
            Target::Fd => "fd",
            Target::Stream => "FILE* stream",
            Target::Dir => "DIR* stream",
            Target::Paths => "two paths (second written)",
            Target::At2 => "two dirfd + path pairs (second written)",
            Target::SymlinkAt => "link contents + dirfd + path",
            Target::Copy => "two fds (copy source and destination)",
            Target::Mapping => "the file mapped at an address",
        }
    }

    /// Whether the call names a file at all, so that `path=` and `kind=` can match it.
    pub fn has_file(self) -> bool {
        !matches!(self, Target::None)
    }
}

/// How the function reports failure, and so what `error(E)` makes it return.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Fail {
    /// Returns -1 and sets errno.
    Neg1,
    /// Returns a null pointer and sets errno.
    Null,
    /// Returns `EOF` (-1), sets errno and the stream's error flag.
    Eof,
    /// Returns a short item count (0 when nothing was done), sets errno and the error flag.
    Items,
    /// Returns the error number itself and leaves errno alone (`posix_fallocate`).
    ErrnoRet,
    /// Returns nothing and cannot fail (`sync()`): only delays and kills fit.
    Void,
    /// Returns `MAP_FAILED` and sets errno.
    MapFailed,
}

impl Fail {
    /// The failure value, as `failinject points` prints it.
    pub fn describe(self) -> &'static str {
        match self {
            Fail::Neg1 => "-1",
            Fail::Null => "NULL",
            Fail::Eof => "EOF",
            Fail::Items => "short item count",
            Fail::ErrnoRet => "the errno",
            Fail::Void => "cannot fail",
            Fail::MapFailed => "MAP_FAILED",
        }
    }

    /// Whether the function returns an integer, so that `return(V)` can be honoured.
    pub fn returns_integer(self) -> bool {
        matches!(self, Fail::Neg1 | Fail::Eof | Fail::Items | Fail::ErrnoRet)
    }
}

/// Which data the call moves, and so whether `short`, `corrupt`, `full` and `size` fit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Io {
    /// No byte count.
    None,
    /// Writes a buffer of `count` bytes.
    Write,
    /// Reads into a buffer of `count` bytes.
    Read,
    /// Writes an iovec array.
    Writev,
    /// Reads into an iovec array.
    Readv,
    /// Writes `nmemb` items of `size` bytes from a buffer (`fwrite`).
    Fwrite,
    /// Reads `nmemb` items of `size` bytes into a buffer (`fread`).
    Fread,
    /// Copies `len` bytes between descriptors inside the kernel.
    Copy,
}

impl Io {
    /// Whether the call has a byte count (`size>N` filters, `short`).
    pub fn has_count(self) -> bool {
        !matches!(self, Io::None)
    }

    /// Whether the call passes file data through a buffer of the caller (`corrupt`).
    pub fn has_buffer(self) -> bool {
        !matches!(self, Io::None | Io::Copy)
    }

    /// Whether the call writes file data (`full`).
    pub fn writes(self) -> bool {
        matches!(self, Io::Write | Io::Writev | Io::Fwrite | Io::Copy)
    }

    /// A short phrase for `failinject points`.
    pub fn describe(self) -> &'static str {
        match self {
            Io::None => "-",
            Io::Write => "writes a buffer",
            Io::Read => "reads into a buffer",
            Io::Writev => "writes an iovec",
            Io::Readv => "reads into an iovec",
            Io::Fwrite => "writes items",
            Io::Fread => "reads items",
            Io::Copy => "copies in the kernel",
        }
    }
}

/// Everything the engine knows about one libc point.
#[derive(Debug)]
pub struct PointInfo {
    /// The canonical name, as written after `sys:`.
    pub name: &'static str,
    /// What the function does, in a few words (from the table's doc comment).
    pub doc: &'static str,
    /// Every exported symbol that is this point, the canonical name first.
    pub spellings: &'static [&'static str],
    /// The same symbols grouped by C signature.
    pub groups: &'static [SymbolGroup],
    /// The classes the point belongs to.
    pub classes: ClassSet,
    /// What the call acts on.
    pub target: Target,
    /// How it reports failure.
    pub fail: Fail,
    /// Which data it moves.
    pub io: Io,
    /// What the call does, from the table's `does:`: which of the preload's bookkeeping
    /// (descriptors, the crash model, the log's exec record) must see it.
    pub roles: Roles,
    /// Each role with its form as the table writes it (`"(fs)"` for `syncs(fs)`, `""` for a
    /// bare role): see [`PointInfo::form`].
    pub does: &'static [(Role, &'static str)],
    /// The errnos the function really returns for reasons outside the program (a full disk,
    /// an I/O error, a quota, a missing file), from which a bare `error` draws.
    pub errnos: &'static [Errno],
    /// The errnos `failinject explore` tries by default: the ones a careful program must handle.
    pub explore: &'static [Errno],
}

impl PointInfo {
    /// The form of `role` without its parentheses (`"fs"` for `syncs(fs)`, `""` for a bare
    /// role, `"at, offset"` for `writes(at, offset)`), or `None` if the point lacks the role.
    pub fn form(&self, role: Role) -> Option<&'static str> {
        let (_, form) = self.does.iter().find(|(r, _)| *r == role)?;
        Some(form.trim_start_matches('(').trim_end_matches(')').trim())
    }

    /// Whether the call syncs more than one file: a whole file system (`syncs(fs)`,
    /// `syncfs`) or everything (`syncs(all)`, `sync`).
    pub fn syncs_many(&self) -> bool {
        matches!(self.form(Role::Syncs), Some("fs" | "all"))
    }

    /// Whether the call releases its own target (`closes` bare: `close`, `fclose`,
    /// `closedir`), rather than a range of descriptors.
    pub fn closes_its_target(&self) -> bool {
        self.form(Role::Closes) == Some("")
    }
}

/// Symbols of one point that share one C signature (`open`, `open64`, `__open`, `__open64`).
#[derive(Debug)]
pub struct SymbolGroup {
    /// The exported names.
    pub names: &'static [&'static str],
    /// Whether C declares them variadic (`open`, `fcntl`, `fprintf`).
    pub variadic: bool,
}

/// The index of a libc point in [`POINTS`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PointId(pub u16);

impl PointId {
    /// The point's description.
    pub fn info(self) -> &'static PointInfo {
        &POINTS[self.0 as usize]
    }

    /// The point called `name`: a canonical name (`pwrite`) or any of its spellings
    /// (`pwrite64`, `__pwrite64`).
    pub fn from_name(name: &str) -> Option<PointId> {
        POINTS
            .iter()
            .position(|p| p.name == name)
            .or_else(|| POINTS.iter().position(|p| p.spellings.contains(&name)))
            .map(|i| PointId(i as u16))
    }

    /// Every point, in table order.
    pub fn all() -> impl Iterator<Item = PointId> {
        (0..POINTS.len() as u16).map(PointId)
    }
}

impl PointId {
    /// The point with this canonical name, found at compile time: the preload's wrappers use
    /// it to know their point without a lookup. Panics (at compile time) for an unknown name.
    pub const fn of(name: &str) -> PointId {
        let mut i = 0;
        while i < POINT_NAMES.len() {
            if names_equal(POINT_NAMES[i], name) {
                return PointId(i as u16);
            }
            i += 1;
        }
        panic!("not a libc point of the table")
    }
}

/// Whether two names are equal, in `const` code (where `==` on `str` is not available yet).
pub use crate::const_str::equal as names_equal;

impl fmt::Display for PointId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.info().name)
    }
}

/// The largest number of libc points the table may hold (the size of [`PointSet`]).
pub const MAX_POINTS: usize = 256;

/// A set of libc points, as a fixed-size bit set (no allocation).
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct PointSet([u64; MAX_POINTS / 64]);

impl PointSet {
    /// The empty set.
    pub const EMPTY: PointSet = PointSet([0; MAX_POINTS / 64]);

    /// Every point of the table.
    pub fn all() -> PointSet {
        PointId::all().collect()
    }

    /// Every point of `class`.
    pub fn class(class: Class) -> PointSet {
        PointId::all().filter(|p| p.info().classes.contains(class)).collect()
    }

    /// Adds a point.
    pub fn insert(&mut self, p: PointId) {
        self.0[p.0 as usize / 64] |= 1 << (p.0 % 64);
    }

    /// Removes a point.
    pub fn remove(&mut self, p: PointId) {
        self.0[p.0 as usize / 64] &= !(1 << (p.0 % 64));
    }

    /// Whether the set holds `p`.
    #[inline]
    pub fn contains(&self, p: PointId) -> bool {
        self.0[p.0 as usize / 64] & (1 << (p.0 % 64)) != 0
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|w| *w == 0)
    }

    /// The number of points in the set.
    pub fn len(&self) -> usize {
        self.0.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// Adds every point of `other`.
    pub fn union_with(&mut self, other: &PointSet) {
        for (a, b) in self.0.iter_mut().zip(other.0) {
            *a |= b;
        }
    }

    /// The points of the set, in table order.
    pub fn iter(&self) -> impl Iterator<Item = PointId> + '_ {
        PointId::all().filter(|p| self.contains(*p))
    }
}

impl FromIterator<PointId> for PointSet {
    fn from_iter<I: IntoIterator<Item = PointId>>(iter: I) -> Self {
        let mut set = PointSet::EMPTY;
        for p in iter {
            set.insert(p);
        }
        set
    }
}

impl fmt::Debug for PointSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter().map(|p| p.info().name)).finish()
    }
}

/// A `&'static [Errno]` from a table's `errnos:` list: errno names and `@set` names (see
/// `libc_table::sets`), spliced in order at compile time.
macro_rules! errno_list {
    (@parts [$($acc:expr),*]) => { [$($acc),*] };
    (@parts [$($acc:expr),*] @ $set:ident $(, $($rest:tt)*)?) => {
        errno_list!(@parts [$($acc,)* crate::libc_table::sets::$set] $($($rest)*)?)
    };
    (@parts [$($acc:expr),*] $errno:ident $(, $($rest:tt)*)?) => {
        errno_list!(@parts [$($acc,)* &[Errno::$errno]] $($($rest)*)?)
    };
    () => { &[] };
    ($($item:tt)+) => {{
        const PARTS: &[&[Errno]] = &errno_list!(@parts [] $($item)+);
        const LIST: [Errno; total(PARTS)] = flatten(PARTS);
        &LIST
    }};
}

/// The number of errnos in `parts`, in `const` code.
const fn total(parts: &[&[Errno]]) -> usize {
    let (mut n, mut i) = (0, 0);
    while i < parts.len() {
        n += parts[i].len();
        i += 1;
    }
    n
}

/// `parts` one after another, in `const` code.
const fn flatten<const N: usize>(parts: &[&[Errno]]) -> [Errno; N] {
    let mut out = [Errno(0); N];
    let (mut n, mut i) = (0, 0);
    while i < parts.len() {
        let mut j = 0;
        while j < parts[i].len() {
            out[n] = parts[i][j];
            n += 1;
            j += 1;
        }
        i += 1;
    }
    out
}

/// The engine's expansion of the table (in its normalized form, see `libc_table.rs`): one
/// [`PointInfo`] per entry. The signatures, which only the preload needs, are dropped.
macro_rules! point_infos {
    ($(
        $point:ident [$($doc:literal)*] [$($class:ident)*] [$target:ident $targs:tt] $fail:ident
        [$io:ident $ioargs:tt] [$($role:ident $form:tt)*] [$($errno:tt)*] [$($xerrno:ident)*]
        [$( [$($attr:ident)*] [$($name:ident)+] $params:tt -> $ret:ty; )+];
    )*) => {
        /// The canonical name of every libc point, in table order (usable in `const` code).
        pub const POINT_NAMES: &[&str] = &[$(stringify!($point)),*];

        /// Every libc point, in table order.
        pub static POINTS: &[PointInfo] = &[$(
            PointInfo {
                name: stringify!($point),
                doc: concat!($($doc),*),
                spellings: &[$($(stringify!($name),)+)+],
                groups: &[$(SymbolGroup {
                    names: &[$(stringify!($name)),+],
                    variadic: point_infos!(@variadic $($attr)*),
                },)+],
                classes: ClassSet::of(&[$(point_infos!(@class $class)),*]),
                target: point_infos!(@target $target),
                fail: point_infos!(@fail $fail),
                io: point_infos!(@io $io),
                roles: Roles::named(&[$(stringify!($role)),*]),
                does: &[$((Role::named(stringify!($role)), stringify!($form))),*],
                errnos: errno_list!($($errno)*),
                explore: &[$(Errno::$xerrno),*],
            },
        )*];
    };
    (@class open) => { Class::Open };
    (@class read) => { Class::Read };
    (@class write) => { Class::Write };
    (@class sync) => { Class::Sync };
    (@class close) => { Class::Close };
    (@class meta) => { Class::Meta };
    (@class dir) => { Class::Dir };
    (@class stdio) => { Class::Stdio };
    (@class lock) => { Class::Lock };
    (@class mmap) => { Class::Mmap };
    (@class fd) => { Class::Fd };
    (@class exec) => { Class::Exec };
    (@variadic) => { false };
    (@variadic variadic) => { true };
    (@target none) => { Target::None };
    (@target stdout) => { Target::Stdout };
    (@target path) => { Target::Path };
    (@target at) => { Target::At };
    (@target fd) => { Target::Fd };
    (@target stream) => { Target::Stream };
    (@target dir) => { Target::Dir };
    (@target paths) => { Target::Paths };
    (@target at2) => { Target::At2 };
    (@target symlinkat) => { Target::SymlinkAt };
    (@target copy) => { Target::Copy };
    (@target mapping) => { Target::Mapping };
    (@fail neg1) => { Fail::Neg1 };
    (@fail null) => { Fail::Null };
    (@fail eof) => { Fail::Eof };
    (@fail items) => { Fail::Items };
    (@fail errno_ret) => { Fail::ErrnoRet };
    (@fail void) => { Fail::Void };
    (@fail map_failed) => { Fail::MapFailed };
    (@io none) => { Io::None };
    (@io write) => { Io::Write };
    (@io read) => { Io::Read };
    (@io writev) => { Io::Writev };
    (@io readv) => { Io::Readv };
    (@io fwrite) => { Io::Fwrite };
    (@io fread) => { Io::Fread };
    (@io copy) => { Io::Copy };
}

crate::libc_points!(point_infos);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn const_ids_match_names() {
        const WRITE: PointId = PointId::of("write");
        assert_eq!(WRITE.info().name, "write");
        assert_eq!(PointId::of("fsync"), PointId::from_name("fsync").unwrap());
        assert_eq!(POINT_NAMES.len(), POINTS.len());
    }
}
