//! Quoting for command lines a user pastes into a POSIX shell.
#![forbid(unsafe_code)]

/// `s` as one shell word: bare when it holds only safe characters, else single-quoted.
pub fn quote(s: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "-_./=:,+%@".contains(c);
    if !s.is_empty() && s.chars().all(safe) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// Words joined into one command line.
pub fn join<'a>(words: impl IntoIterator<Item = &'a str>) -> String {
    words.into_iter().map(quote).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_only_what_needs_it() {
        assert_eq!(quote("./save"), "./save");
        assert_eq!(
            quote("sys:write[site=ab,when=1]=error(EIO)"),
            "'sys:write[site=ab,when=1]=error(EIO)'"
        );
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote(""), "''");
        assert_eq!(join(["a b", "c"]), "'a b' c");
    }
}
