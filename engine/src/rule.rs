//! The parsed form of a rule: which points, which filters, which chain of actions.
//!
//! A [`Rule`] is what the parser (`parse/`) returns and what the registry (`registry.rs`)
//! stores. It prints back to its canonical text with `Display` (see `render.rs`), and
//! [`Rule::key`] is the `point[filters]` text that identifies it for replacement.

use crate::errno::{Errno, Signal};
use crate::matcher::PathMatcher;
use crate::points::{Class, PointId, PointSet};
pub use failinject_crash::{Cut, Mode as CutMode};

/// One rule: `point[filters]=chain`.
#[derive(Clone, Debug)]
pub struct Rule {
    /// The points the rule applies to.
    pub points: Points,
    /// The filters, in canonical order (see [`Filter::order`]).
    pub filters: Vec<Filter>,
    /// The actions, tried left to right.
    pub chain: Vec<Action>,
}

/// The point part of a rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Points {
    /// An in-code point, named by the programmer: `wal::append`.
    Code(String),
    /// One or more libc points: `sys:fsync|fdatasync`, `sys:@write`.
    Sys(SysPoints),
}

/// A `sys:` selection, as written (for printing) and resolved (for matching).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SysPoints {
    /// The items as written, canonicalised (`pwrite64` becomes `pwrite`).
    pub items: Vec<SysItem>,
    /// The points the rule really applies to: the items' points, less those of a class that
    /// the rule's tasks or filters do not fit (`sys:@write=short` skips `fputs`).
    pub set: PointSet,
}

/// One item of a `sys:` selection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SysItem {
    /// A single function.
    Point(PointId),
    /// A class of functions.
    Class(Class),
    /// Every libc point.
    All,
}

/// A filter of §3.1 of the spec.
#[derive(Clone, Debug)]
pub enum Filter {
    /// `path=GLOB`
    PathGlob(PathMatcher),
    /// `path~REGEX`
    PathRegex(PathMatcher),
    /// `fd=N`
    Fd(i32),
    /// `kind=K` or `kind="K,K"`
    Kind(KindSet),
    /// `when=…`
    When(When),
    /// `size>N` and its siblings
    Size(Cmp, u64),
    /// `exe=GLOB`
    Exe(PathMatcher),
    /// `proc=GLOB`: the process's title (`/proc/self/cmdline`, arguments joined by spaces)
    Proc(PathMatcher),
    /// `after=NAME`
    After(String),
    /// `within=NAME`
    Within(String),
    /// `site=HEX`
    Site(u64),
}

impl Filter {
    /// Where the filter goes in the canonical order of a key, so that
    /// `[when=3,path=*.db]` and `[path=*.db,when=3]` name the same rule.
    pub fn order(&self) -> u8 {
        match self {
            Filter::PathGlob(_) => 0,
            Filter::PathRegex(_) => 1,
            Filter::Fd(_) => 2,
            Filter::Kind(_) => 3,
            Filter::Size(..) => 4,
            Filter::Exe(_) => 5,
            Filter::Proc(_) => 6,
            Filter::After(_) => 7,
            Filter::Within(_) => 8,
            Filter::Site(_) => 9,
            Filter::When(_) => 10,
        }
    }

    /// The full sort key of the canonical order: by [`Filter::order`], then size filters by
    /// operator and bound, so `[size<100,size>=10]` and `[size>=10,size<100]` are one key.
    pub fn sort_key(&self) -> (u8, u8, u64) {
        match self {
            // Lower bounds first: `size>=10,size<100` reads as a range.
            Filter::Size(cmp, n) => {
                let rank = match cmp {
                    Cmp::Gt => 0,
                    Cmp::Ge => 1,
                    Cmp::Eq => 2,
                    Cmp::Le => 3,
                    Cmp::Lt => 4,
                };
                (self.order(), rank, *n)
            }
            _ => (self.order(), 0, 0),
        }
    }

    /// Whether the filter can apply to in-code points (only `when`, `after`, `within`).
    pub fn fits_code_points(&self) -> bool {
        matches!(self, Filter::When(_) | Filter::After(_) | Filter::Within(_))
    }

    /// Whether the filter names the target explicitly, which is what lets a rule reach fds 0,
    /// 1 and 2 (§3.1).
    pub fn names_target(&self) -> bool {
        matches!(self, Filter::PathGlob(_) | Filter::PathRegex(_) | Filter::Fd(_) | Filter::Kind(_))
    }
}

/// A comparison of a `size` filter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cmp {
    /// `size<N`
    Lt,
    /// `size<=N`
    Le,
    /// `size=N`
    Eq,
    /// `size>=N`
    Ge,
    /// `size>N`
    Gt,
}

impl Cmp {
    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        match self {
            Cmp::Lt => "<",
            Cmp::Le => "<=",
            Cmp::Eq => "=",
            Cmp::Ge => ">=",
            Cmp::Gt => ">",
        }
    }

    /// Whether `value <op> bound` holds.
    #[inline]
    pub fn holds(self, value: u64, bound: u64) -> bool {
        match self {
            Cmp::Lt => value < bound,
            Cmp::Le => value <= bound,
            Cmp::Eq => value == bound,
            Cmp::Ge => value >= bound,
            Cmp::Gt => value > bound,
        }
    }
}

/// Which of the matching calls a rule acts on (`when=`), counted from 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum When {
    /// `when=N`: only the N-th.
    Nth(u64),
    /// `when=N+`: the N-th and every later one.
    From(u64),
    /// `when=N+S`: the N-th, then every S-th after it.
    Every(u64, u64),
    /// `when=N..M`: the N-th to the M-th, both included.
    Range(u64, u64),
}

impl When {
    /// Whether the `n`-th matching call (1-based) is selected.
    #[inline]
    pub fn selects(self, n: u64) -> bool {
        match self {
            When::Nth(k) => n == k,
            When::From(k) => n >= k,
            When::Every(k, s) => n >= k && (n - k).is_multiple_of(s),
            When::Range(a, b) => n >= a && n <= b,
        }
    }
}

/// The kind of file a call acts on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FileKind {
    /// A regular file or a block device.
    File,
    /// A directory.
    Dir,
    /// A socket.
    Socket,
    /// A pipe or FIFO.
    Pipe,
    /// A terminal.
    Tty,
    /// Anything else (a character device that is not a terminal, an anonymous inode, …).
    Other,
    /// Not known: a path that may not exist yet. Matches the default `file,dir` and explicit
    /// `file` or `dir` filters.
    Unknown,
}

impl FileKind {
    /// The name used in `kind=`.
    pub fn name(self) -> &'static str {
        match self {
            FileKind::File => "file",
            FileKind::Dir => "dir",
            FileKind::Socket => "socket",
            FileKind::Pipe => "pipe",
            FileKind::Tty => "tty",
            FileKind::Other => "other",
            FileKind::Unknown => "unknown",
        }
    }
}

/// A set of file kinds, for `kind=` filters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct KindSet(u8);

impl KindSet {
    /// The default of a rule with no `kind` filter: regular files and directories.
    pub const DEFAULT: KindSet = KindSet(1 << FileKind::File as u8 | 1 << FileKind::Dir as u8);
    /// `kind=any`.
    pub const ANY: KindSet = KindSet(0xff);
    /// The names accepted in `kind=`.
    pub const NAMES: [&'static str; 7] = ["file", "dir", "socket", "pipe", "tty", "other", "any"];

    /// The empty set.
    pub fn empty() -> KindSet {
        KindSet(0)
    }

    /// Adds the kind called `name` (one of [`KindSet::NAMES`]); false if there is none.
    pub fn add_name(&mut self, name: &str) -> bool {
        let kind = match name {
            "file" => FileKind::File,
            "dir" => FileKind::Dir,
            "socket" => FileKind::Socket,
            "pipe" => FileKind::Pipe,
            "tty" => FileKind::Tty,
            "other" => FileKind::Other,
            "any" => {
                *self = KindSet::ANY;
                return true;
            }
            _ => return false,
        };
        self.0 |= 1 << kind as u8;
        true
    }

    /// Whether a call on a file of `kind` passes. An unknown kind passes when the set holds
    /// files or directories.
    #[inline]
    pub fn matches(self, kind: FileKind) -> bool {
        match kind {
            FileKind::Unknown => self.0 & KindSet::DEFAULT.0 != 0,
            k => self.0 & (1 << k as u8) != 0,
        }
    }

    /// The kinds in the set, by name (`["any"]` for all of them).
    pub fn names(self) -> Vec<&'static str> {
        if self == KindSet::ANY {
            return vec!["any"];
        }
        [FileKind::File, FileKind::Dir, FileKind::Socket, FileKind::Pipe, FileKind::Tty]
            .into_iter()
            .chain([FileKind::Other])
            .filter(|k| self.0 & (1 << *k as u8) != 0)
            .map(FileKind::name)
            .collect()
    }
}

/// One action of a chain: `[P%][N*]task[(arg)]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Action {
    /// The probability in percent (`25%`), if given.
    pub percent: Option<f64>,
    /// How many times the action may be taken (`3*`), if limited.
    pub count: Option<u64>,
    /// What happens.
    pub task: Task,
}

/// What an action does (§3.2 of the spec).
#[derive(Clone, Debug, PartialEq)]
pub enum Task {
    /// The call goes ahead; nothing happens.
    Off,
    /// The call is not made and returns V (libc points), or the `fail_point!` closure gets
    /// `Some(V)` (in-code points).
    Return(Option<String>),
    /// Sleep for this many milliseconds, then go ahead.
    Sleep(u64),
    /// Busy-wait for this many milliseconds, then go ahead.
    Delay(u64),
    /// Print the message and abort (libc points) or panic (in-code points).
    Panic(Option<String>),
    /// Log the message, then go ahead.
    Print(Option<String>),
    /// Block until the rule is changed or removed.
    Pause,
    /// Yield the CPU, then go ahead.
    Yield,
    /// Fail with this errno, or a seeded draw from the function's realistic errnos.
    Error(Option<Errno>),
    /// Make the read or write with at most N bytes, or a seeded count in 1..count-1.
    Short(Option<u64>),
    /// Alter the data on its way to the file or the caller.
    Corrupt(Corruption),
    /// Let this many bytes through, shorten the write that crosses the limit, then ENOSPC.
    Full(u64),
    /// Raise the signal before the call is made.
    Kill(Signal),
    /// Cut the power: roll back un-synced changes but those the cut's mode keeps, then
    /// SIGKILL (`powercut(dirs)` also reverts directory entries whose parent was not synced).
    Powercut(Cut),
    /// Fail a sync with this errno; the un-synced writes are lost as [`Loss`] says.
    Lose(Errno, Loss),
}

/// How a failed sync loses the writes not yet synced (`lose(E,revert)`, `lose(E,clean)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Loss {
    /// The file returns to its synced state at once (Btrfs): `lose(E)` is this.
    #[default]
    Revert,
    /// The new bytes stay readable but are no longer dirty (ext4, XFS): a retried sync
    /// succeeds without writing them, and the next power cut loses them.
    Clean,
}

/// How `corrupt` alters data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Corruption {
    /// One seeded bit flipped.
    Flip,
    /// The data zeroed.
    Zero,
    /// The data replaced by seeded garbage.
    Random,
}

impl Corruption {
    /// The mode as written in `corrupt(MODE)`.
    pub fn name(self) -> &'static str {
        match self {
            Corruption::Flip => "flip",
            Corruption::Zero => "zero",
            Corruption::Random => "random",
        }
    }

    /// Alters `data` in place, from the random `bits` of the decision: one bit flipped, every
    /// byte zeroed, or every byte replaced by garbage drawn from `bits`. Whatever backend
    /// carries out a `corrupt`, the same seed alters the same bytes the same way.
    pub fn alter(self, data: &mut [u8], bits: u64) {
        if data.is_empty() {
            return;
        }
        match self {
            Corruption::Flip => {
                let i = (bits % data.len() as u64) as usize;
                data[i] ^= 1 << ((bits >> 56) % 8);
            }
            Corruption::Zero => data.fill(0),
            Corruption::Random => {
                let mut z = bits;
                for chunk in data.chunks_mut(8) {
                    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
                    let mut x = z;
                    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
                    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
                    x ^= x >> 31;
                    chunk.copy_from_slice(&x.to_ne_bytes()[..chunk.len()]);
                }
            }
        }
    }
}

impl Task {
    /// The task's name as written.
    pub fn name(&self) -> &'static str {
        match self {
            Task::Off => "off",
            Task::Return(_) => "return",
            Task::Sleep(_) => "sleep",
            Task::Delay(_) => "delay",
            Task::Panic(_) => "panic",
            Task::Print(_) => "print",
            Task::Pause => "pause",
            Task::Yield => "yield",
            Task::Error(_) => "error",
            Task::Short(_) => "short",
            Task::Corrupt(_) => "corrupt",
            Task::Full(_) => "full",
            Task::Kill(_) => "kill",
            Task::Powercut { .. } => "powercut",
            Task::Lose(..) => "lose",
        }
    }

    /// Every task name, for suggestions.
    pub const NAMES: [&'static str; 15] = [
        "off", "return", "sleep", "delay", "panic", "print", "pause", "yield", "error", "short",
        "corrupt", "full", "kill", "powercut", "lose",
    ];
}

impl Rule {
    /// Whether the rule is on libc points.
    pub fn is_sys(&self) -> bool {
        matches!(self.points, Points::Sys(_))
    }

    /// The `when` filter, if any.
    pub fn when(&self) -> Option<When> {
        self.filters.iter().find_map(|f| match f {
            Filter::When(w) => Some(*w),
            _ => None,
        })
    }
}
