//! What a libc point does, as its table entry says in `does:`.
//!
//! Classes (`Class`, in `points.rs`) are for people writing rules: `sys:@write`. Roles are
//! for the code that must react to a call whatever the rules say: the preload's descriptor
//! table must see every call that creates or releases a descriptor, the crash model every
//! call that changes file data or a directory, the log every exec; `failinject explore`
//! traces the calls that change something. Each of them asks the table through [`Roles`]
//! instead of keeping its own list of function names, so adding a libc function is one
//! table entry.
//!
//! A role in the table may carry a *form*, in parentheses, that says how to read the call's
//! arguments for it (`writes(at, offset)`: the data goes at the argument `offset`, not at the
//! file position); the engine keeps only the role, the preload's wrappers read the forms
//! (`preload/src/wrappers/`). `libc_table.rs` lists every role with its forms.
#![forbid(unsafe_code)]

use std::fmt;

/// One thing a call does. The names are the ones the table writes in `does:`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// Returns a new descriptor (or a stream or directory stream on one).
    Opens,
    /// Makes a descriptor a copy of another.
    Dups,
    /// Releases a descriptor, a stream or a directory stream (or a range of descriptors).
    Closes,
    /// May create a file, or truncate it on opening.
    Creates,
    /// Writes file data, seen (`write`) or through a stdio buffer (`fputs`).
    Writes,
    /// Empties a stdio buffer into its file.
    Flushes,
    /// Changes a file's size.
    Truncates,
    /// Allocates or punches a file's blocks.
    Allocates,
    /// Makes written data or a whole file system durable.
    Syncs,
    /// Renames a directory entry.
    Renames,
    /// Removes a directory entry.
    Removes,
    /// Adds a directory entry: a directory, a hard or a symbolic link.
    Makes,
    /// Maps a file into memory.
    Maps,
    /// Replaces the program.
    Execs,
}

impl Role {
    /// Every role, in the order `failinject points` lists them.
    pub const ALL: [Role; 14] = [
        Role::Opens,
        Role::Dups,
        Role::Closes,
        Role::Creates,
        Role::Writes,
        Role::Flushes,
        Role::Truncates,
        Role::Allocates,
        Role::Syncs,
        Role::Renames,
        Role::Removes,
        Role::Makes,
        Role::Maps,
        Role::Execs,
    ];

    /// The name the table writes.
    pub const fn name(self) -> &'static str {
        match self {
            Role::Opens => "opens",
            Role::Dups => "dups",
            Role::Closes => "closes",
            Role::Creates => "creates",
            Role::Writes => "writes",
            Role::Flushes => "flushes",
            Role::Truncates => "truncates",
            Role::Allocates => "allocates",
            Role::Syncs => "syncs",
            Role::Renames => "renames",
            Role::Removes => "removes",
            Role::Makes => "makes",
            Role::Maps => "maps",
            Role::Execs => "execs",
        }
    }

    /// The role the table calls `name`. In `const` code an unknown name stops the build, so
    /// a misspelt role in the table is a compile error.
    pub const fn named(name: &str) -> Role {
        let mut i = 0;
        while i < Role::ALL.len() {
            if crate::const_str::equal(Role::ALL[i].name(), name) {
                return Role::ALL[i];
            }
            i += 1;
        }
        panic!("unknown role in the libc table")
    }

    const fn bit(self) -> u16 {
        1 << self as u16
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A set of [`Role`]s, as a bit mask.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Roles(u16);

impl Roles {
    /// Calls that change what a descriptor refers to: the preload's descriptor table sees
    /// every one of them, whatever the rules.
    pub const DESCRIPTORS: Roles = Roles::of(&[Role::Opens, Role::Dups, Role::Closes]);
    /// Calls that change a directory's entries.
    pub const DIRECTORIES: Roles = Roles::of(&[Role::Renames, Role::Removes, Role::Makes]);
    /// Calls that change file data, a file's size or a directory, or make changes durable:
    /// what the crash model (`powercut`, `lose`) must see.
    pub const CHANGES: Roles = Roles::of(&[
        Role::Creates,
        Role::Writes,
        Role::Flushes,
        Role::Truncates,
        Role::Allocates,
        Role::Syncs,
        Role::Renames,
        Role::Removes,
        Role::Makes,
        Role::Maps,
    ]);

    /// The set of the given roles.
    pub const fn of(roles: &[Role]) -> Roles {
        let mut bits = 0;
        let mut i = 0;
        while i < roles.len() {
            bits |= roles[i].bit();
            i += 1;
        }
        Roles(bits)
    }

    /// The set of the roles named in `names`, as the table writes them (`const`; an unknown
    /// name stops the build).
    pub const fn named(names: &[&str]) -> Roles {
        let mut bits = 0;
        let mut i = 0;
        while i < names.len() {
            bits |= Role::named(names[i]).bit();
            i += 1;
        }
        Roles(bits)
    }

    /// Whether `role` is in the set.
    pub const fn contains(self, role: Role) -> bool {
        self.0 & role.bit() != 0
    }

    /// Whether the set shares a role with `other`.
    pub const fn meets(self, other: Roles) -> bool {
        self.0 & other.0 != 0
    }

    /// The roles in the set, in [`Role::ALL`] order.
    pub fn iter(self) -> impl Iterator<Item = Role> {
        Role::ALL.into_iter().filter(move |r| self.contains(*r))
    }
}

impl fmt::Debug for Roles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_groups_hold_what_they_say() {
        for r in Role::ALL {
            assert_eq!(Role::named(r.name()), r);
        }
        let set = Roles::named(&["opens", "creates"]);
        assert!(set.contains(Role::Opens) && set.contains(Role::Creates));
        assert!(!set.contains(Role::Writes));
        assert!(set.meets(Roles::DESCRIPTORS) && set.meets(Roles::CHANGES));
        assert!(!set.meets(Roles::DIRECTORIES));
        assert_eq!(format!("{set:?}"), "{Opens, Creates}");
    }
}
