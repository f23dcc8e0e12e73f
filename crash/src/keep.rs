//! One named crash state, as `explore --crash`'s search finds it and `powercut(keep=ID)`
//! makes it live: the change after which the power fails, which of the changes not yet
//! durable survive, and which sectors of a torn write do, by their order in the trace.
//!
//! Its ID reads `P42.k3-7,9.e2.t9:0-1,3`: the crash point (after change 42), the data changes
//! kept (3 to 7, and 9), how many of the directory entries not yet durable survive (the first
//! 2), and for each torn write the sectors it keeps (change 9: sectors 0, 1 and 3). `k-` keeps
//! no data change.

use std::fmt;

/// A crash state; see the module documentation.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Keep {
    /// The change after which the power fails (its index in the trace).
    pub point: u64,
    /// The data changes not yet durable that survive, in increasing order.
    pub kept: Vec<u64>,
    /// How many of the directory entries not yet durable survive (a prefix).
    pub entries: u64,
    /// Kept writes that keep only some sectors, in increasing order: which (one flag each).
    pub torn: Vec<(u64, Vec<bool>)>,
}

impl Keep {
    /// The state `id` names; `None` for text that is not one.
    pub fn parse(id: &str) -> Option<Keep> {
        let mut parts = id.split('.');
        let point = parts.next()?.strip_prefix('P')?.parse().ok()?;
        let mut kept = ranges(parts.next()?.strip_prefix('k')?)?;
        let entries = parts.next()?.strip_prefix('e')?.parse().ok()?;
        let mut torn = Vec::new();
        for t in parts {
            let (i, on) = t.strip_prefix('t')?.split_once(':')?;
            let on = ranges(on)?;
            let len = on.iter().max().map_or(0, |m| m + 1);
            let mut mask = vec![false; usize::try_from(len).ok()?];
            for k in on {
                mask[k as usize] = true;
            }
            torn.push((i.parse().ok()?, mask));
        }
        kept.sort_unstable();
        kept.dedup();
        torn.sort_by_key(|(i, _)| *i);
        Some(Keep { point, kept, entries, torn })
    }

    /// Whether data change `i` survives, and if torn, which of its sectors: `None` lost,
    /// `Some(None)` whole, `Some(Some(mask))` torn.
    pub fn fate(&self, i: u64) -> Option<Option<&[bool]>> {
        self.kept.binary_search(&i).ok()?;
        let torn = self.torn.binary_search_by_key(&i, |(j, _)| *j).ok();
        Some(torn.map(|t| self.torn[t].1.as_slice()))
    }
}

/// The ID (`P42.k3-7,9.e2.t9:0-1,3`), written without allocating.
impl fmt::Display for Keep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "P{}.k", self.point)?;
        write_ranges(f, self.kept.iter().copied())?;
        write!(f, ".e{}", self.entries)?;
        for (i, mask) in &self.torn {
            write!(f, ".t{i}:")?;
            let on = mask.iter().enumerate().filter(|(_, b)| **b).map(|(k, _)| k as u64);
            write_ranges(f, on)?;
        }
        Ok(())
    }
}

/// `3-7,9` for 3,4,5,6,7,9 (increasing); `-` for none.
fn write_ranges(f: &mut fmt::Formatter<'_>, items: impl Iterator<Item = u64>) -> fmt::Result {
    let mut run: Option<(u64, u64)> = None;
    let mut first = true;
    let mut flush = |f: &mut fmt::Formatter<'_>, (a, b): (u64, u64)| -> fmt::Result {
        let sep = if std::mem::replace(&mut first, false) { "" } else { "," };
        if a == b { write!(f, "{sep}{a}") } else { write!(f, "{sep}{a}-{b}") }
    };
    for i in items {
        run = match run {
            Some((a, b)) if i == b + 1 => Some((a, i)),
            Some(r) => {
                flush(f, r)?;
                Some((i, i))
            }
            None => Some((i, i)),
        };
    }
    match run {
        Some(r) => flush(f, r),
        None => f.write_str("-"),
    }
}

/// The numbers `3-7,9` lists (`-`: none).
fn ranges(text: &str) -> Option<Vec<u64>> {
    if text == "-" {
        return Some(Vec::new());
    }
    let mut out = Vec::new();
    for piece in text.split(',') {
        match piece.split_once('-') {
            Some((a, b)) => {
                let (a, b): (u64, u64) = (a.parse().ok()?, b.parse().ok()?);
                // A range is a few changes of one trace, not a way to exhaust memory.
                if b < a || b - a > 1 << 24 {
                    return None;
                }
                out.extend(a..=b);
            }
            None => out.push(piece.parse().ok()?),
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_names_the_point_the_kept_changes_the_entries_and_the_torn_sectors() {
        let k = Keep {
            point: 42,
            kept: vec![3, 4, 5, 9],
            entries: 2,
            torn: vec![(9, vec![true, true, false, true])],
        };
        assert_eq!(k.to_string(), "P42.k3-5,9.e2.t9:0-1,3");
        assert_eq!(Keep::parse(&k.to_string()), Some(k.clone()));
        assert_eq!(k.fate(4), Some(None), "kept whole");
        assert_eq!(k.fate(9), Some(Some(&[true, true, false, true][..])), "torn");
        assert_eq!(k.fate(6), None, "lost");
        let none = Keep::parse("P0.k-.e0").unwrap();
        assert_eq!((none.point, none.kept.len(), none.entries), (0, 0, 0));
        assert_eq!(none.to_string(), "P0.k-.e0");
        for bad in ["", "P", "Px.k-.e0", "P1.k3-x.e0", "P1.k-.e0.t2", "P1.e0.k-", "P1.k9-3.e0"] {
            assert_eq!(Keep::parse(bad), None, "{bad}");
        }
        assert_eq!(Keep::parse("P1.k0-99999999999.e0"), None, "no range that exhausts memory");
    }
}
