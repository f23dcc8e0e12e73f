//! What the store reports when it cannot record a change in full, and the sequence that
//! numbers the changes it records.

/// Why a change could not be recorded in full: a power cut will not undo all of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Warning {
    /// A changed file could not be opened for the model.
    Unopenable,
    /// More than [`FILES`](crate::files::FILES) files are changed and not synced.
    TooManyFiles,
    /// The arena is full (or was never given memory).
    ArenaFull,
    /// More than [`ENTRIES`](crate::journal::ENTRIES) directory changes are not synced.
    TooManyEntries,
    /// A path is too long to journal.
    PathTooLong,
    /// More than four ranges of one file are mapped shared and writable.
    TooManyMappings,
}

impl Warning {
    /// What went wrong, in words.
    pub fn text(self) -> &'static str {
        match self {
            Warning::Unopenable => "a file could not be reopened for reading and writing",
            Warning::TooManyFiles => "more than 1024 files are written and not synced",
            Warning::ArenaFull => "the undo arena is full",
            Warning::TooManyEntries => "more than 1024 directory changes are not synced",
            Warning::PathTooLong => "a path is too long to journal",
            Warning::TooManyMappings => {
                "more than 4 ranges of one file are mapped shared and writable"
            }
        }
    }

    /// Whether it concerns the directory journal (rather than file data).
    pub fn about_dirs(self) -> bool {
        matches!(self, Warning::TooManyEntries | Warning::PathTooLong)
    }
}

/// The store's sequence of changes.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Seq(pub u64);
