//! Descriptor bookkeeping after the real call (`fd/book.rs`), from the roles `opens`, `dups`
//! and `closes` of the table (`does:`). Arms of the `book!` macro, expanded inside each
//! wrapper (`mod.rs`) with the entry's roles; the other roles are passed over.

/// What the descriptor table learns from a call; see the module documentation.
macro_rules! book {
    (@book [] $r:ident $call:ident) => {{
        let _ = (&$r, &$call);
    }};
    // The result is a descriptor (stream, directory stream) for the call's target path.
    (@book [opens () $($rest:tt)*] $r:ident $call:ident) => {
        book::new_fd(Opened::descriptor($r), &$call)
    };
    // The result is a descriptor for a file only the kernel can name (`mkstemp`, `tmpfile`).
    (@book [opens (unnamed) $($rest:tt)*] $r:ident $call:ident) => {
        book::new_fd_unnamed(Opened::descriptor($r))
    };
    (@book [dups ($from:ident) $($rest:tt)*] $r:ident $call:ident) => {
        book::dup($from, $r)
    };
    // `fcntl`: only its duplicating commands make a descriptor.
    // and `F_SETFL` changes the flags the crash model caches (`O_APPEND`).
    (@book [dups ($fd:ident, $cmd:ident) $($rest:tt)*] $r:ident $call:ident) => {
        if $cmd == libc::F_DUPFD || $cmd == libc::F_DUPFD_CLOEXEC {
            book::dup($fd, $r)
        } else if $cmd == libc::F_SETFL {
            crate::fd::table::flags_changed($fd)
        }
    };
    (@book [closes () $($rest:tt)*] $r:ident $call:ident) => {
        book::forget(&$call)
    };
    (@book [closes (range, $first:ident, $last:ident) $($rest:tt)*] $r:ident $call:ident) => {
        if Ret::as_i64($r) == 0 {
            book::forget_range($first, $last)
        }
    };
    // `closefrom` returns nothing: it always closed.
    (@book [closes (from, $low:ident) $($rest:tt)*] $r:ident $call:ident) => {{
        let _ = $r;
        book::forget_range($low.max(0) as u32, u32::MAX)
    }};
    (@book [$other:ident $form:tt $($rest:tt)*] $r:ident $call:ident) => {
        book!(@book [$($rest)*] $r $call)
    };
}
