//! Matching paths against `path=GLOB`, `path~REGEX` and `exe=GLOB`, without allocating.
//!
//! Most globs people write are a literal, a prefix (`/data/*`), a suffix (`*.wal`) or both
//! (`tmp_obj_*.pack`): those compare bytes directly. Everything else, and every regex, is
//! compiled once into a dense DFA from `regex-automata`, whose search walks a transition table
//! and never allocates or keeps a per-thread cache, so a hook may run it anywhere, even in a
//! signal handler.

use memchr::memmem::Finder;
use regex_automata::dfa::{Automaton, StartKind, dense};
use regex_automata::nfa::thompson;
use regex_automata::util::syntax;
use regex_automata::{Anchored, Input};
use std::fmt;
use std::sync::Arc;

/// A compiled `path=`, `path~` or `exe=` pattern.
#[derive(Clone)]
pub struct PathMatcher {
    source: String,
    whole_path: bool,
    how: How,
}

#[derive(Clone)]
enum How {
    Any,
    Exact(Box<[u8]>),
    Prefix(Box<[u8]>),
    Suffix(Box<[u8]>),
    PrefixSuffix(Box<[u8]>, Box<[u8]>),
    /// `pre*mid*…*suf`: the literal ends, then each middle piece found in order.
    Pieces(Box<[u8]>, Arc<[Finder<'static>]>, Box<[u8]>),
    /// A DFA, and for globs the literal start and end every match must have (checked first:
    /// paths usually differ there).
    Dfa(Arc<dense::DFA<Vec<u32>>>, Anchored, Box<[u8]>, Box<[u8]>),
}

/// Why a pattern could not be compiled: the message and the byte range of the pattern it
/// points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternError {
    /// What is wrong.
    pub message: String,
    /// Where, as byte offsets into the pattern.
    pub span: std::ops::Range<usize>,
}

/// The most memory one pattern's DFA may take.
const DFA_SIZE_LIMIT: usize = 4 << 20;

enum GlobPart {
    Lit(u8),
    Star,
    Question,
    Class(String),
}

impl PathMatcher {
    /// Compiles a glob: `*` matches any run of bytes (`/` included), `?` one byte, `[a-z]` a
    /// class (`[!a-z]` or `[^a-z]` its complement), `\x` the byte `x`. A glob that contains `/`
    /// is matched against the whole path, one without against the file name alone.
    pub fn glob(glob: &str) -> Result<PathMatcher, PatternError> {
        let parts = parse_glob(glob)?;
        let whole_path = glob.contains('/');
        let how = glob_fast_path(&parts).map(Ok).unwrap_or_else(|| {
            let mut re = String::from("(?s-u)^");
            for part in &parts {
                match part {
                    GlobPart::Lit(b) => push_byte_literal(&mut re, *b),
                    GlobPart::Star => re.push_str(".*"),
                    GlobPart::Question => re.push('.'),
                    GlobPart::Class(c) => re.push_str(c),
                }
            }
            re.push('$');
            let literal = |ps: &mut dyn Iterator<Item = &GlobPart>| -> Box<[u8]> {
                ps.map_while(|p| match p {
                    GlobPart::Lit(b) => Some(*b),
                    _ => None,
                })
                .collect()
            };
            let prefix = literal(&mut parts.iter());
            let mut suffix = literal(&mut parts.iter().rev()).into_vec();
            suffix.reverse();
            let dfa = build_dfa(&re, Anchored::Yes)
                .map_err(|e| PatternError { message: e.message, span: 0..glob.len() })?;
            Ok(How::Dfa(dfa, Anchored::Yes, prefix, suffix.into()))
        })?;
        Ok(PathMatcher { source: glob.to_owned(), whole_path, how })
    }

    /// [`PathMatcher::glob`] matched against the whole text whatever it holds (a process
    /// title, not a path: `proc="postgres: checkpointer*"`).
    pub fn glob_whole(glob: &str) -> Result<PathMatcher, PatternError> {
        let mut m = PathMatcher::glob(glob)?;
        if !m.whole_path {
            // The suffix fast path ignores the file-name rule already; every other form
            // needs the whole text.
            m.whole_path = true;
        }
        Ok(m)
    }

    /// Compiles a regular expression, matched unanchored against the whole path, byte by byte
    /// (`.` matches any byte but `\n`; classes are ASCII).
    pub fn regex(regex: &str) -> Result<PathMatcher, PatternError> {
        let dfa = build_dfa(regex, Anchored::No)?;
        let how = How::Dfa(dfa, Anchored::No, Box::default(), Box::default());
        Ok(PathMatcher { source: regex.to_owned(), whole_path: true, how })
    }

    /// The pattern as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Whether the pattern is matched against the whole path (else the file name).
    pub fn matches_whole_path(&self) -> bool {
        self.whole_path
    }

    /// Whether `path` (absolute) matches.
    #[inline]
    pub fn is_match(&self, path: &[u8]) -> bool {
        // A file-name suffix holds no '/', so it is a suffix of the whole path too: no need
        // to find the file name first.
        if let How::Suffix(s) = &self.how {
            return path.ends_with(s);
        }
        let hay = if self.whole_path { path } else { file_name(path) };
        match &self.how {
            How::Any => true,
            How::Exact(lit) => hay == &**lit,
            How::Prefix(p) => hay.starts_with(p),
            How::Suffix(s) => hay.ends_with(s),
            How::PrefixSuffix(p, s) => {
                hay.len() >= p.len() + s.len() && hay.starts_with(p) && hay.ends_with(s)
            }
            How::Pieces(pre, mids, suf) => {
                if hay.len() < pre.len() + suf.len() || !hay.starts_with(pre) || !hay.ends_with(suf)
                {
                    return false;
                }
                let mut rest = &hay[pre.len()..hay.len() - suf.len()];
                for m in mids.iter() {
                    match m.find(rest) {
                        Some(i) => rest = &rest[i + m.needle().len()..],
                        None => return false,
                    }
                }
                true
            }
            How::Dfa(dfa, anchored, pre, suf) => {
                // Only a glob has literal ends; a regex skips the check entirely (an empty
                // comparison here made the regex search three times slower, measured).
                let has_ends = !pre.is_empty() || !suf.is_empty();
                if has_ends && !(hay.starts_with(pre) && hay.ends_with(suf)) {
                    return false;
                }
                let input = Input::new(hay).anchored(*anchored).earliest(true);
                matches!(dfa.try_search_fwd(&input), Ok(Some(_)))
            }
        }
    }
}

impl fmt::Debug for PathMatcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let how = match self.how {
            How::Any => "any",
            How::Exact(_) => "exact",
            How::Prefix(_) => "prefix",
            How::Suffix(_) => "suffix",
            How::PrefixSuffix(..) => "prefix+suffix",
            How::Pieces(..) => "pieces",
            How::Dfa(..) => "dfa",
        };
        write!(f, "PathMatcher({:?}, {how})", self.source)
    }
}

impl PartialEq for PathMatcher {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source && self.whole_path == other.whole_path
    }
}

/// The bytes after the last `/`.
#[inline]
pub fn file_name(path: &[u8]) -> &[u8] {
    match memchr::memrchr(b'/', path) {
        Some(i) => &path[i + 1..],
        None => path,
    }
}

fn parse_glob(glob: &str) -> Result<Vec<GlobPart>, PatternError> {
    let bytes = glob.as_bytes();
    let mut parts = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'*' => {
                if !matches!(parts.last(), Some(GlobPart::Star)) {
                    parts.push(GlobPart::Star);
                }
            }
            b'?' => parts.push(GlobPart::Question),
            b'\\' => {
                i += 1;
                let Some(&b) = bytes.get(i) else {
                    return Err(PatternError {
                        message: "the glob ends with a lone `\\`".into(),
                        span: i - 1..i,
                    });
                };
                parts.push(GlobPart::Lit(b));
            }
            b'[' => {
                let start = i;
                let mut class = String::from("[");
                i += 1;
                if matches!(bytes.get(i), Some(b'!' | b'^')) {
                    class.push('^');
                    i += 1;
                }
                let first = i;
                loop {
                    match bytes.get(i) {
                        None => {
                            return Err(PatternError {
                                message: "this `[` class is never closed with `]`".into(),
                                span: start..glob.len(),
                            });
                        }
                        Some(b']') if i > first => break,
                        Some(&b) => {
                            if b == b'-' && i > first && bytes.get(i + 1) != Some(&b']') {
                                class.push('-');
                            } else {
                                push_byte_literal(&mut class, b);
                            }
                        }
                    }
                    i += 1;
                }
                class.push(']');
                parts.push(GlobPart::Class(class));
            }
            b => parts.push(GlobPart::Lit(b)),
        }
        i += 1;
    }
    Ok(parts)
}

/// Literal, prefix, suffix and prefix+suffix globs, matched without a DFA.
fn glob_fast_path(parts: &[GlobPart]) -> Option<How> {
    let literal = |ps: &[GlobPart]| -> Option<Box<[u8]>> {
        ps.iter()
            .map(|p| match p {
                GlobPart::Lit(b) => Some(*b),
                _ => None,
            })
            .collect::<Option<Vec<u8>>>()
            .map(Vec::into_boxed_slice)
    };
    let stars: Vec<usize> = parts
        .iter()
        .enumerate()
        .filter(|(_, p)| matches!(p, GlobPart::Star))
        .map(|(i, _)| i)
        .collect();
    match stars[..] {
        [] => literal(parts).map(How::Exact),
        [first, .., last] if stars.len() > 1 => {
            let pre = literal(&parts[..first])?;
            let suf = literal(&parts[last + 1..])?;
            let mids = stars
                .windows(2)
                .map(|w| literal(&parts[w[0] + 1..w[1]]).map(|m| Finder::new(&m).into_owned()))
                .collect::<Option<Vec<_>>>()?;
            Some(How::Pieces(pre, mids.into(), suf))
        }
        [s] => {
            let (pre, suf) = (literal(&parts[..s])?, literal(&parts[s + 1..])?);
            Some(match (pre.is_empty(), suf.is_empty()) {
                (true, true) => How::Any,
                (false, true) => How::Prefix(pre),
                (true, false) => How::Suffix(suf),
                (false, false) => How::PrefixSuffix(pre, suf),
            })
        }
        _ => None,
    }
}

fn push_byte_literal(re: &mut String, b: u8) {
    if b.is_ascii_alphanumeric() || b == b'/' || b == b'_' {
        re.push(b as char);
    } else {
        re.push_str(&format!("\\x{b:02x}"));
    }
}

fn build_dfa(pattern: &str, anchored: Anchored) -> Result<Arc<dense::DFA<Vec<u32>>>, PatternError> {
    let start_kind = match anchored {
        Anchored::No => StartKind::Unanchored,
        _ => StartKind::Anchored,
    };
    let dfa = dense::Builder::new()
        .configure(
            dense::DFA::config()
                .start_kind(start_kind)
                // Acceleration calls memchr from states that loop on most bytes: a gain on an
                // unanchored search, a loss on an anchored glob over a short path.
                .accelerate(anchored == Anchored::No)
                .dfa_size_limit(Some(DFA_SIZE_LIMIT))
                .determinize_size_limit(Some(4 * DFA_SIZE_LIMIT)),
        )
        .syntax(syntax::Config::new().unicode(false).utf8(false))
        .thompson(thompson::Config::new().utf8(false))
        .build(pattern)
        .map_err(|e| regex_error(pattern, &e))?;
    Ok(Arc::new(dfa))
}

fn regex_error(pattern: &str, err: &dense::BuildError) -> PatternError {
    use std::error::Error;
    // A syntax error carries its own kind and offset; a size error has neither.
    let syntax = err
        .source()
        .and_then(|s| s.source().or(Some(s)))
        .and_then(|s| s.downcast_ref::<regex_syntax::Error>());
    match syntax {
        Some(regex_syntax::Error::Parse(e)) => PatternError {
            message: format!("invalid regex: {}", e.kind()),
            span: clamp(e.span().start.offset..e.span().end.offset, pattern.len()),
        },
        Some(regex_syntax::Error::Translate(e)) => PatternError {
            message: format!("invalid regex: {}", e.kind()),
            span: clamp(e.span().start.offset..e.span().end.offset, pattern.len()),
        },
        _ => PatternError {
            message: format!(
                "this pattern needs a DFA larger than {} MiB; simplify it",
                DFA_SIZE_LIMIT >> 20
            ),
            span: 0..pattern.len(),
        },
    }
}

fn clamp(span: std::ops::Range<usize>, len: usize) -> std::ops::Range<usize> {
    let start = span.start.min(len);
    start..span.end.clamp(start, len)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(m: &PathMatcher) -> String {
        format!("{m:?}")
    }

    #[test]
    fn globs_pick_their_fast_path() {
        assert!(kind(&PathMatcher::glob("*.wal").unwrap()).contains("suffix"));
        assert!(kind(&PathMatcher::glob("/data/*").unwrap()).contains("prefix"));
        assert!(kind(&PathMatcher::glob("db").unwrap()).contains("exact"));
        assert!(kind(&PathMatcher::glob("tmp_*.pack").unwrap()).contains("prefix+suffix"));
        assert!(kind(&PathMatcher::glob("*").unwrap()).contains("any"));
        assert!(kind(&PathMatcher::glob("/d/*/x*.db").unwrap()).contains("pieces"));
        assert!(kind(&PathMatcher::glob("/d/?/x*.db").unwrap()).contains("dfa"));
        assert!(kind(&PathMatcher::glob("a?c").unwrap()).contains("dfa"));
    }

    #[test]
    fn glob_semantics() {
        let cases: &[(&str, &str, bool)] = &[
            ("*.wal", "/var/db/000001.wal", true),
            ("*.wal", "/var/db/000001.wal.old", false),
            ("*.wal", "/var/x.wal/db", false),
            ("/data/*", "/data/a/b/c", true),
            ("/data/*", "/database", false),
            ("*/db.sqlite", "/home/u/db.sqlite", true),
            ("*/db.sqlite", "/home/u/xdb.sqlite", false),
            ("tmp_obj_*", "/r/.git/objects/ab/tmp_obj_XyZ", true),
            ("db", "/x/db", true),
            ("db", "/x/db2", false),
            ("a?c", "/abc", true),
            ("a?c", "/ac", false),
            ("[a-c]x", "/bx", true),
            ("[a-c]x", "/dx", false),
            ("[!a-c]x", "/dx", true),
            ("[!a-c]x", "/ax", false),
            ("/d/*/x*.db", "/d/1/2/xyz.db", true),
            ("/d/*/x*.db", "/d/1/2/yz.db", false),
            ("/d/*/x*.db", "/d/x.db", false),
            ("/d/*/x*.db", "/d//x.db", true),
            ("*a*b*", "/xaxbx", true),
            ("*a*b*", "/xbxax", false),
            ("*ab*ab*", "/abab", true),
            ("*ab*ab*", "/aba", false),
            ("a*a*a", "/aa", false),
            ("a*a*a", "/aaa", true),
            ("/d/?/x*.db", "/d/1/xyz.db", true),
            ("/d/?/x*.db", "/d/12/xyz.db", false),
            ("/d/?/x*.db", "/e/1/xyz.db", false),
            ("*.[ch]", "/src/a.c", true),
            ("*.[ch]", "/src/a.o", false),
            ("ab*ab", "/ab", false),
            ("ab*ab", "/abab", true),
            ("\\*", "/*", true),
            ("\\*", "/a", false),
            ("[]]", "/]", true),
            ("a.b", "/a.b", true),
            ("a.b", "/axb", false),
        ];
        for &(glob, path, want) in cases {
            let m = PathMatcher::glob(glob).unwrap();
            assert_eq!(m.is_match(path.as_bytes()), want, "{glob} vs {path}");
        }
    }

    #[test]
    fn regex_semantics() {
        let m = PathMatcher::regex(r"\.(wal|log)$").unwrap();
        assert!(m.is_match(b"/db/0001.wal"));
        assert!(m.is_match(b"/db/x.log"));
        assert!(!m.is_match(b"/db/x.log.1"));
        let m = PathMatcher::regex("^/tmp/").unwrap();
        assert!(m.is_match(b"/tmp/x"));
        assert!(!m.is_match(b"/var/tmp/x"));
        // Not UTF-8: matched byte by byte.
        let m = PathMatcher::regex(r"\xff").unwrap();
        assert!(m.is_match(b"/a\xffb"));
        assert!(PathMatcher::glob("*.db").unwrap().is_match(b"/\xfe\xff.db"));
    }

    #[test]
    fn bad_patterns_say_where() {
        let e = PathMatcher::regex("a(b").unwrap_err();
        assert!(e.message.contains("unclosed group"), "{e:?}");
        assert_eq!(e.span.start, 1);
        let e = PathMatcher::glob("[abc").unwrap_err();
        assert!(e.message.contains("never closed"));
        let e = PathMatcher::glob("abc\\").unwrap_err();
        assert_eq!(e.span, 3..4);
        let e = PathMatcher::regex("[ab]*a[ab]{24}").unwrap_err();
        assert!(e.message.contains("larger than"), "{e:?}");
    }
}
