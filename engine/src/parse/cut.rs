//! The words of a power cut, as `powercut(…)` in a rule and `powercut …` on the control socket
//! take them: a mode (`all`, `prefix`, `any`, `torn`), `dirs`, and `sector=N`, separated by
//! commas or spaces, in any order, each at most once (SPEC §3.5).
#![forbid(unsafe_code)]

use failinject_crash::{Cut, Mode};
use std::ops::Range;

/// Why the words are not a cut: where in the text (a byte range), what is wrong, and the
/// closest known word when one is near.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CutError {
    /// The bad word, as a byte range of the text.
    pub at: Range<usize>,
    /// What is wrong with it.
    pub message: String,
    /// The known word it looks like a misspelling of.
    pub suggestion: Option<&'static str>,
}

/// The words a cut takes, for suggestions.
const WORDS: [&str; 6] = ["all", "prefix", "any", "torn", "dirs", "sector="];

/// Parses a cut from `text`; no words at all is [`Cut::ALL`].
pub fn parse_cut(text: &str) -> Result<Cut, CutError> {
    let mut cut = Cut::ALL;
    let (mut mode_seen, mut sector_seen) = (false, false);
    let mut at = 0;
    let mut words = text.split([',', ' ']).peekable();
    while let Some(word) = words.next() {
        let mut span = at..at + word.len();
        at += word.len() + 1;
        let mut trimmed = word.trim();
        if trimmed.is_empty() {
            continue;
        }
        // A crash state's ID lists changes with commas (`keep=P4.k0,2-4.e0`): the words that
        // go on with a digit are its own.
        if trimmed.starts_with("keep=") {
            while let Some(next) =
                words.peek().filter(|w| w.starts_with(|c: char| c.is_ascii_digit()))
            {
                at += next.len() + 1;
                span.end = span.start + (at - 1 - span.start);
                words.next();
            }
            trimmed = text[span.clone()].trim();
        }
        let bad = |message: String| CutError { at: span.clone(), message, suggestion: None };
        if let Some(n) = trimmed.strip_prefix("sector=") {
            if std::mem::replace(&mut sector_seen, true) {
                return Err(bad("`sector=` is given twice".into()));
            }
            cut.sector = match n.parse::<u32>() {
                Ok(n) if n >= Cut::MIN_SECTOR && n.is_power_of_two() => n,
                _ => {
                    return Err(bad(format!(
                        "`sector={n}`: a sector is a power of two of at least {} bytes \
                         (512, 4096, …)",
                        Cut::MIN_SECTOR
                    )));
                }
            };
        } else if let Some(id) = trimmed.strip_prefix("keep=") {
            if std::mem::replace(&mut mode_seen, true) {
                return Err(bad("`keep=` names the whole crash state: no mode beside it".into()));
            }
            let Some(keep) = failinject_crash::Keep::parse(id) else {
                return Err(bad(format!(
                    "`keep={}`: not a crash state's ID as `explore --crash` prints it \
                     (P42.k3-7,9.e2)",
                    id.chars().take(40).collect::<String>()
                )));
            };
            // A rule's crash state lives as long as the program: the preload never frees
            // published rules either.
            cut.keep = Some(Box::leak(Box::new(keep)));
            cut.mode = Mode::Keep;
            cut.dirs = true;
        } else if trimmed == "dirs" {
            cut.dirs = true;
        } else if let Some(mode) = Mode::ALL_MODES.into_iter().find(|m| m.name() == trimmed) {
            if std::mem::replace(&mut mode_seen, true) {
                return Err(bad(format!("a second mode `{trimmed}`: a cut has one mode")));
            }
            cut.mode = mode;
        } else {
            let shown: String = trimmed.chars().take(40).collect();
            return Err(CutError {
                suggestion: crate::closest(trimmed, WORDS),
                ..bad(format!(
                    "unknown word `{shown}`: a power cut takes a mode (all, prefix, any, torn), \
                     `dirs` and `sector=N`"
                ))
            });
        }
    }
    Ok(cut)
}

/// The cut in the words [`parse_cut`] reads back, defaults left out: empty for [`Cut::ALL`],
/// `dirs` for `all` with directory entries, else `torn,dirs,sector=4096` and the like. A
/// `Display` that allocates nothing (the preload's log writes it).
pub fn cut_words(cut: &Cut) -> impl std::fmt::Display + '_ {
    CutWords(cut)
}

struct CutWords<'a>(&'a Cut);

impl std::fmt::Display for CutWords<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let cut = self.0;
        let mut sep = "";
        if let Some(keep) = cut.keep {
            write!(f, "keep={keep}")?;
            sep = ",";
        } else if cut.mode != Mode::All {
            f.write_str(cut.mode.name())?;
            sep = ",";
        }
        // `keep=` implies the directory entries.
        if cut.dirs && cut.keep.is_none() {
            write!(f, "{sep}dirs")?;
            sep = ",";
        }
        if cut.sector != Cut::SECTOR {
            write!(f, "{sep}sector={}", cut.sector)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_crash_state_reads_back_with_its_commas() {
        let cut = parse_cut("keep=P4.k0,2-4.e1.t2:0-1,3,sector=4096").unwrap();
        assert_eq!(cut.mode, Mode::Keep);
        assert!(cut.dirs, "keep implies the directory entries");
        let keep = cut.keep.unwrap();
        assert_eq!((keep.point, &keep.kept[..], keep.entries), (4, &[0, 2, 3, 4][..], 1));
        assert_eq!(cut.sector, 4096);
        assert_eq!(cut_words(&cut).to_string(), "keep=P4.k0,2-4.e1.t2:0-1,3,sector=4096");
        let e = parse_cut("keep=P4.kx.e0").unwrap_err();
        assert!(e.message.contains("not a crash state's ID"), "{e:?}");
        assert_eq!(e.at, 0..13);
        let e = parse_cut("torn,keep=P4.k-.e0").unwrap_err();
        assert!(e.message.contains("no mode beside it"), "{e:?}");
    }

    #[test]
    fn words_read_back_as_they_were_given() {
        for text in ["", "dirs", "prefix", "any,dirs", "torn,sector=4096", "torn,dirs,sector=1024"]
        {
            assert_eq!(cut_words(&parse_cut(text).unwrap()).to_string(), text);
        }
        assert_eq!(parse_cut("all").unwrap(), Cut::ALL);
        assert_eq!(parse_cut(" dirs  torn ").unwrap().mode, Mode::Torn);
    }

    #[test]
    fn bad_words_are_named_where_they_are() {
        let e = parse_cut("torn,sector=1000").unwrap_err();
        assert_eq!((e.at, e.message.contains("power of two")), (5..16, true));
        assert!(parse_cut("sector=256").unwrap_err().message.contains("at least 512"));
        let e = parse_cut("any,tron").unwrap_err();
        assert_eq!((e.at, e.suggestion), (4..8, Some("torn")));
        assert!(parse_cut("any,prefix").unwrap_err().message.contains("one mode"));
    }
}
