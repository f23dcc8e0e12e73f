//! The rule language and the decision engine of failinject.
//!
//! failinject injects faults into programs: a full disk, a failing `fsync`, a torn write, a
//! crash at a chosen call. *Where* and *how* is said by **rules**. This crate parses rules,
//! keeps them in a [`Registry`], and decides, for each call a program makes, whether a rule
//! applies and what it does. It is plain safe Rust; `libfailinject.so`, the `failinject`
//! crate's `fail_point!` and the `failinject` command all build on it.
//!
//! # Rules
//!
//! A rule names a **point**, optional **filters**, and a **chain** of actions:
//!
//! ```text
//! sys:write[path=*.db]=2*off->1*error(ENOSPC)
//! └──┬────┘└────┬────┘ └───────────┬────────┘
//!   point    filters              chain
//! ```
//!
//! - A point is `sys:` and a libc function (`sys:fsync`, `sys:fsync|fdatasync`, a class such
//!   as `sys:@write`), or the name of an in-code point (`wal::append`, from `fail_point!`).
//! - Filters narrow the calls: `path=GLOB`, `path~REGEX`, `fd=N`, `kind=K`, `when=N`,
//!   `size>N`, `exe=GLOB`, `after=NAME`, `within=NAME`, `site=HEX`.
//! - The chain is fail-rs's: actions `[P%][N*]task[(arg)]` joined by `->`, tried left to
//!   right; the first whose count is not used up and whose probability roll passes is taken.
//!
//! The example lets two writes to a `.db` file through, fails the third with `ENOSPC`, and lets
//! every later one through.
//!
//! # Parsing
//!
//! ```
//! use failinject_engine::parse_rules;
//!
//! let rules = parse_rules("sys:fsync[path=*.wal]=error(EIO); wal::append=1%return", "example")?;
//! assert_eq!(rules.len(), 2);
//! assert_eq!(rules[0].to_string(), "sys:fsync[path=*.wal]=error(EIO)");
//! assert_eq!(rules[1].key(), "wal::append");
//! # Ok::<(), failinject_engine::ParseError>(())
//! ```
//!
//! A bad rule is a [`ParseError`] that says which rule, where, why, and what was probably
//! meant:
//!
//! ```
//! let err = failinject_engine::parse_rules("sys:fsync=short(10)", "FAILINJECT").unwrap_err();
//! assert_eq!(err.to_string(), "\
//! rule 1 of FAILINJECT, column 11: `short` needs a read/write-like call; `fsync` moves no data
//!   sys:fsync=short(10)
//!             ^^^^^^^^^");
//! ```
//!
//! # Deciding
//!
//! Rules go into a [`Registry`], which compiles them into a [`Snapshot`]. The snapshot
//! decides without locks or allocation, so the preload can ask it from inside any libc call:
//!
//! ```
//! use failinject_engine::{Effect, NoContext, PointId, Registry, SysCall, FileKind, Errno};
//!
//! let mut registry = Registry::new(42);
//! registry.configure("sys:write[path=*.db]=2*off->1*error(ENOSPC)", "example")?;
//! let snapshot = registry.snapshot();
//!
//! let write = PointId::from_name("write").unwrap();
//! let call = SysCall {
//!     fd: Some(5),
//!     path: Some(b"/data/app.db"),
//!     kind: FileKind::File,
//!     size: Some(4096),
//!     ..SysCall::new(write)
//! };
//! let effects: Vec<_> = (0..4)
//!     .map(|_| snapshot.decide_sys(&call, &mut NoContext).map(|d| d.effect))
//!     .collect();
//! assert_eq!(effects, [None, None, Some(Effect::Error(Errno::ENOSPC)), None]);
//! # Ok::<(), failinject_engine::ParseError>(())
//! ```
//!
//! Every random choice (a `25%` roll, the errno of a bare `error`, the length of a bare
//! `short`) is a pure function of the registry's seed, the rule and how many times it was
//! evaluated: the same seed and the same calls give the same faults.
//!
//! # The libc points
//!
//! [`points::POINTS`] describes every libc function failinject intercepts: its spellings,
//! class, failure value, realistic errnos and target. It comes from one table,
//! [`libc_points!`], which the preload expands into its wrappers as well.
#![forbid(unsafe_code)]

pub mod abi;
mod const_str;
pub mod control;
mod counters;
mod decide;
pub mod env_config;
pub mod errno;
mod error;
mod explain;
mod fit;
mod libc_table;
mod matcher;
mod parse;
mod path;
pub mod points;
mod random;
mod reached;
mod registry;
mod render;
pub mod roles;
mod rule;
pub mod run_files;
pub mod run_state;
pub mod seccomp_filter;

pub use control::{Command, ControlError};
pub use counters::{RuleState, SharedBudgets, share_budgets};
pub use decide::{CodePoint, Context, Decision, Effect, NearMiss, NoContext, Snapshot, SysCall};
pub use env_config::{EnvConfig, EnvProblem, EnvSources, FileSource, env_config};
pub use errno::{Errno, Signal};
pub use error::{ErrorKind, ParseError, ParseErrorDetails, closest};
pub use fit::{Misfit, filter_fits, libc_spelling_hint, task_fits};
pub use matcher::{PathMatcher, PatternError, file_name};
pub use parse::cut::{CutError, cut_words, parse_cut};
pub use parse::{parse_key, parse_rule, parse_rules, parse_rules_all};
pub use path::absolute_into;
pub use points::{Class, PointId, PointInfo, PointSet};
pub use random::name_hash;
pub use reached::ReachedSet;
pub use registry::{Registry, RuleStatus, SetOutcome};
pub use render::Bytes;
pub use roles::{Role, Roles};
pub use rule::{
    Action, Cmp, Corruption, Cut, CutMode, FileKind, Filter, KindSet, Loss, Points, Rule, SysItem,
    SysPoints, Task, When,
};
