//! [`ParseError`]: what is wrong with a rule, where, and what was probably meant.

use std::fmt;
use std::ops::Range;

/// A rule that could not be parsed or does not make sense.
///
/// It names the source (`FAILINJECT`, a file name, …), the rule by number, the exact byte
/// span at fault, the reason, and a suggestion where one exists. `Display` prints all of it,
/// with the rule and the span underlined:
///
/// ```text
/// rule 1 of FAILINJECT, column 5: unknown libc function `wrte`
///   sys:wrte=error(EIO)
///       ^^^^
///   help: did you mean `write`?
/// ```
///
/// The details are boxed so that `Result<_, ParseError>` stays one word wide; read them
/// through `Deref` (`err.message`, `err.span`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(Box<ParseErrorDetails>);

impl ParseError {
    /// Wraps the details.
    pub fn new(details: ParseErrorDetails) -> ParseError {
        ParseError(Box::new(details))
    }
}

impl std::ops::Deref for ParseError {
    type Target = ParseErrorDetails;
    fn deref(&self) -> &ParseErrorDetails {
        &self.0
    }
}

/// What kind of mistake a [`ParseError`] reports, for programs and tests that act on the
/// kind rather than the sentence (which may be reworded).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The rule's shape is wrong: a missing `=`, an unclosed bracket, quote or parenthesis,
    /// an empty action or filter list, text where none may be, two rules where one was asked.
    Syntax,
    /// `sys:NAME` or `sys:@CLASS` names no libc function or class.
    UnknownPoint,
    /// The action names no task.
    UnknownTask,
    /// A filter name that is not a filter.
    UnknownFilter,
    /// `error(E)` or `lose(E)` with an errno name that does not exist.
    UnknownErrno,
    /// A task's argument or a filter's value is wrong: not a number, out of range, missing,
    /// unexpected, or a pattern that does not compile.
    BadValue,
    /// A filter written with an operator it does not take (`fd~3`, `size~1K`).
    BadOperator,
    /// One filter given twice in one rule.
    DuplicateFilter,
    /// The rule is well formed but cannot apply: a task or filter that does not fit the
    /// point (`short` on `fsync`, `path=` on `getpid`, `error` on an in-code point).
    Misfit,
}

/// What a [`ParseError`] says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseErrorDetails {
    /// What kind of mistake it is.
    pub kind: ErrorKind,
    /// Where the text came from (`FAILINJECT`, `rules.txt`, `-r`); empty when unnamed.
    pub source_name: String,
    /// The rule's number in its source, from 1.
    pub rule_number: usize,
    /// The line of the source the rule starts on, from 1.
    pub line: usize,
    /// The rule as written.
    pub rule_text: String,
    /// The part at fault, as byte offsets into [`ParseErrorDetails::rule_text`].
    pub span: Range<usize>,
    /// What is wrong.
    pub message: String,
    /// What was probably meant, when there is a good guess.
    pub help: Option<String>,
}

impl ParseErrorDetails {
    /// The column of the span's start in the rule's first line, from 1, in characters.
    pub fn column(&self) -> usize {
        self.rule_text[..self.span.start.min(self.rule_text.len())].chars().count() + 1
    }
}

impl fmt::Display for ParseErrorDetails {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "rule {}", self.rule_number)?;
        if !self.source_name.is_empty() {
            write!(f, " of {}", self.source_name)?;
        }
        if self.line > 1 {
            write!(f, " (line {})", self.line)?;
        }
        writeln!(f, ", column {}: {}", self.column(), self.message)?;
        writeln!(f, "  {}", self.rule_text)?;
        let pad = self.column() - 1;
        let width = self.rule_text.get(self.span.clone()).map_or(1, |s| s.chars().count().max(1));
        write!(f, "  {}{}", " ".repeat(pad), "^".repeat(width))?;
        if let Some(help) = &self.help {
            write!(f, "\n  help: {help}")?;
        }
        Ok(())
    }
}

/// An error found inside one rule, before it is placed in its source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    pub kind: ErrorKind,
    pub span: Range<usize>,
    pub message: String,
    pub help: Option<String>,
}

impl Problem {
    pub fn new(kind: ErrorKind, span: Range<usize>, message: impl Into<String>) -> Problem {
        Problem { kind, span, message: message.into(), help: None }
    }

    pub fn help(mut self, help: impl Into<String>) -> Problem {
        self.help = Some(help.into());
        self
    }

    /// Adds "did you mean `x`?" when `word` is close to one of `candidates`.
    pub fn suggest<'a>(
        mut self,
        word: &str,
        candidates: impl IntoIterator<Item = &'a str>,
    ) -> Problem {
        if let Some(best) = closest(word, candidates) {
            self.help = Some(format!("did you mean `{best}`?"));
        }
        self
    }
}

/// The candidate closest to `word` by edit distance (adjacent swaps count as one edit), if it
/// is close enough to be a likely typo.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).max(1);
    let lower = word.to_ascii_lowercase();
    candidates
        .into_iter()
        .map(|c| (distance(&lower, &c.to_ascii_lowercase()), c))
        .filter(|&(d, _)| d <= limit)
        .min_by_key(|&(d, c)| (d, c.len()))
        .map(|(_, c)| c)
}

/// Optimal string alignment distance: insertions, deletions, substitutions and swaps of two
/// adjacent characters each cost one.
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1).min(d[i][j - 1] + 1).min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions() {
        let names = ["write", "pwrite", "writev", "fsync", "fdatasync"];
        assert_eq!(closest("wrte", names), Some("write"));
        assert_eq!(closest("fsnyc", names), Some("fsync"));
        assert_eq!(closest("fdatsync", names), Some("fdatasync"));
        assert_eq!(closest("zzzzzz", names), None);
        assert_eq!(closest("ENOSPACE", ["ENOSPC", "ENOENT"]), Some("ENOSPC"));
    }

    #[test]
    fn display_underlines_the_span() {
        let e = ParseError::new(ParseErrorDetails {
            kind: ErrorKind::UnknownPoint,
            source_name: "FAILINJECT".into(),
            rule_number: 2,
            line: 1,
            rule_text: "sys:wrte=error(EIO)".into(),
            span: 4..8,
            message: "unknown libc function `wrte`".into(),
            help: Some("did you mean `write`?".into()),
        });
        assert_eq!(
            e.to_string(),
            "rule 2 of FAILINJECT, column 5: unknown libc function `wrte`\n  \
             sys:wrte=error(EIO)\n      ^^^^\n  help: did you mean `write`?"
        );
    }
}
