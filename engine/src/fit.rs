//! Whether a rule's tasks and filters fit the points it names.
//!
//! A task that cannot happen at a point is an error when the rule is parsed, never a silent
//! no-op: `short` on `fsync`, `error` on an in-code point, `size>N` on `rename`. A function
//! named on its own must fit every task and filter; a class (`sys:@write`) keeps the members
//! that fit and drops the others, and is an error only when none is left.

use crate::error::{ErrorKind, Problem};
use crate::parse::lex::Spanned;
use crate::points::{Class, Fail, PointInfo, PointSet, Target};
use crate::rule::{Action, Filter, Points, SysItem, Task};

/// Checks the rule and narrows its class items to the points that fit.
pub(crate) fn check(
    points: &mut Spanned<Points>,
    filters: &[Spanned<Filter>],
    chain: &[Spanned<Action>],
) -> Result<(), Problem> {
    let sys = match &mut points.value {
        Points::Code(name) => return check_code(name, filters, chain),
        Points::Sys(sys) => sys,
    };
    let mut set = PointSet::EMPTY;
    for item in &sys.items {
        match *item {
            SysItem::Point(p) => {
                let info = p.info();
                for f in filters {
                    if let Err(why) = filter_fits(info, &f.value) {
                        return Err(Problem::new(
                            ErrorKind::Misfit,
                            f.span.clone(),
                            why.to_string(),
                        ));
                    }
                }
                for a in chain {
                    if let Err(why) = task_fits(info, &a.value.task) {
                        return Err(Problem::new(
                            ErrorKind::Misfit,
                            a.span.clone(),
                            why.to_string(),
                        ));
                    }
                }
                set.insert(p);
            }
            SysItem::Class(_) | SysItem::All => {
                for p in item.points().iter() {
                    let info = p.info();
                    let fits = filters.iter().all(|f| filter_fits(info, &f.value).is_ok())
                        && chain.iter().all(|a| task_fits(info, &a.value.task).is_ok());
                    if fits {
                        set.insert(p);
                    }
                }
            }
        }
    }
    if set.is_empty() {
        let what = chain.iter().map(|a| a.value.task.name()).collect::<Vec<_>>().join(", ");
        return Err(Problem::new(
            ErrorKind::Misfit,
            points.span.clone(),
            format!("no function of this selection fits this rule's tasks ({what}) and filters"),
        )
        .help("`failinject points` shows which tasks fit each function"));
    }
    sys.set = set;
    Ok(())
}

fn check_code(
    name: &str,
    filters: &[Spanned<Filter>],
    chain: &[Spanned<Action>],
) -> Result<(), Problem> {
    for f in filters {
        if !f.value.fits_code_points() {
            return Err(Problem::new(
                ErrorKind::Misfit,
                f.span.clone(),
                format!("this filter applies to libc points only; `{name}` is an in-code point"),
            )
            .help("in-code points take when=, after= and within="));
        }
    }
    for a in chain {
        let task = &a.value.task;
        if matches!(
            task,
            Task::Error(_) | Task::Short(_) | Task::Corrupt(_) | Task::Full(_) | Task::Lose(..)
        ) {
            let problem = Problem::new(
                ErrorKind::Misfit,
                a.span.clone(),
                format!(
                    "`{}` applies to libc points only; `{name}` is an in-code point",
                    task.name()
                ),
            );
            return Err(match libc_spelling_hint(name) {
                Some(hint) => problem.help(hint),
                None => problem.help(
                    "an in-code point takes return(V), panic, print, sleep, delay, pause, \
                     yield, kill or powercut",
                ),
            });
        }
    }
    Ok(())
}

/// "did you mean `sys:write`?" for an in-code point named like a libc function or class
/// (`write`, `fsync|fdatasync`, `@write`): the `sys:` prefix was most likely forgotten.
pub fn libc_spelling_hint(name: &str) -> Option<String> {
    let libc = |item: &str| {
        let item = item.trim();
        match item.strip_prefix('@') {
            Some(class) => class == "all" || Class::from_name(class).is_some(),
            None => crate::points::PointId::from_name(item).is_some(),
        }
    };
    name.split('|').all(libc).then(|| {
        format!("did you mean `sys:{name}`? libc points start with `sys:`; `{name}` is read as an in-code point")
    })
}

/// Why a task or a filter cannot apply to a libc point; its text is the parser's message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Misfit {
    /// `return` on a function that returns a pointer.
    #[error(
        "`return` needs a function that returns an integer; `{0}` returns a pointer, so use `error(E)`"
    )]
    ReturnNeedsInteger(&'static str),
    /// `return(V)` with a value that is not an integer.
    #[error("`return` on a libc point needs an integer value, not `{0}`")]
    ReturnValueNotInteger(String),
    /// `return` without the value to return.
    #[error("`return` on `{0}` needs the value to return, as in `return(0)`")]
    ReturnNeedsValue(&'static str),
    /// `error` on a function that returns nothing.
    #[error("`{0}` returns nothing and cannot fail; only delays and kills fit")]
    CannotFail(&'static str),
    /// `short` on a call that moves no data.
    #[error("`short` needs a read/write-like call; `{0}` moves no data")]
    ShortNeedsCount(&'static str),
    /// `corrupt` on a call with no buffer.
    #[error("`corrupt` needs a call that passes data through a buffer; `{0}` {1}")]
    CorruptNeedsBuffer(&'static str, &'static str),
    /// `full` on a call that writes no file data.
    #[error("`full` needs a call that writes file data; `{0}` does not")]
    FullNeedsWrite(&'static str),
    /// `lose` on a call that is not a sync.
    #[error("`lose` needs a sync call (fsync, fdatasync, …); `{0}` is not one")]
    LoseNeedsSync(&'static str),
    /// `size` on a call with no byte count.
    #[error("`size` needs a read/write-like call; `{0}` has no byte count")]
    SizeNeedsCount(&'static str),
    /// `path` or `kind` on a call that acts on no file.
    #[error("`{0}` acts on no file, so it has no path or kind")]
    NoFile(&'static str),
    /// `fd` on a call that takes no descriptor.
    #[error("`{0}` takes no file descriptor; filter it by `path=` instead")]
    NoDescriptor(&'static str),
}

/// Why `task` cannot happen at the point, if it cannot.
pub fn task_fits(p: &PointInfo, task: &Task) -> Result<(), Misfit> {
    let name = p.name;
    match task {
        Task::Return(v) => {
            if !(p.fail.returns_integer() || p.fail == Fail::Void) {
                return Err(Misfit::ReturnNeedsInteger(name));
            }
            match v.as_deref().map(str::trim) {
                Some(v) if v.parse::<i64>().is_ok() => Ok(()),
                Some(v) if !v.is_empty() => Err(Misfit::ReturnValueNotInteger(v.to_string())),
                _ if p.fail == Fail::Void => Ok(()),
                _ => Err(Misfit::ReturnNeedsValue(name)),
            }
        }
        Task::Error(_) if p.fail == Fail::Void => Err(Misfit::CannotFail(name)),
        Task::Short(_) if !p.io.has_count() => Err(Misfit::ShortNeedsCount(name)),
        Task::Corrupt(_) if !p.io.has_buffer() => Err(Misfit::CorruptNeedsBuffer(
            name,
            if p.io.has_count() { "copies inside the kernel" } else { "moves no data" },
        )),
        Task::Full(_) if !p.io.writes() => Err(Misfit::FullNeedsWrite(name)),
        Task::Lose(..) if !(p.classes.contains(Class::Sync) && p.fail != Fail::Void) => {
            Err(Misfit::LoseNeedsSync(name))
        }
        _ => Ok(()),
    }
}

/// Why `filter` cannot apply to the point, if it cannot.
pub fn filter_fits(p: &PointInfo, filter: &Filter) -> Result<(), Misfit> {
    let name = p.name;
    match filter {
        Filter::Size(..) if !p.io.has_count() => Err(Misfit::SizeNeedsCount(name)),
        Filter::PathGlob(_) | Filter::PathRegex(_) | Filter::Kind(_) if !p.target.has_file() => {
            Err(Misfit::NoFile(name))
        }
        Filter::Fd(_)
            if !matches!(
                p.target,
                Target::Fd | Target::Stream | Target::Dir | Target::Copy | Target::Stdout
            ) =>
        {
            Err(Misfit::NoDescriptor(name))
        }
        _ => Ok(()),
    }
}
