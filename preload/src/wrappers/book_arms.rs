//! Descriptor bookkeeping after the real call (`fd/book.rs`), for the points that create,
//! copy or release descriptors. Arms of the `book!` macro, expanded inside each wrapper
//! (`mod.rs`).

/// What the descriptor table learns from a call; see the module documentation.
macro_rules! book {
    // ---- descriptor bookkeeping, for the points that create or release descriptors -------
    (@book open $r:ident $call:ident ($($a:ident),*)) => {
        book::new_fd(Ret::as_i64($r), &$call)
    };
    (@book openat $r:ident $call:ident ($($a:ident),*)) => {
        book::new_fd(Ret::as_i64($r), &$call)
    };
    (@book creat $r:ident $call:ident ($($a:ident),*)) => {
        book::new_fd(Ret::as_i64($r), &$call)
    };
    (@book mkstemp $r:ident $call:ident ($($a:ident),*)) => {
        book::new_fd_unnamed(Ret::as_i64($r))
    };
    (@book fopen $r:ident $call:ident ($($a:ident),*)) => {
        book::new_fd(i64::from(stream_fd($r)), &$call)
    };
    (@book freopen $r:ident $call:ident ($($a:ident),*)) => {
        book::new_fd(i64::from(stream_fd($r)), &$call)
    };
    (@book tmpfile $r:ident $call:ident ($($a:ident),*)) => {
        book::new_fd_unnamed(i64::from(stream_fd($r)))
    };
    (@book opendir $r:ident $call:ident ($($a:ident),*)) => {
        book::new_fd(i64::from(dir_fd($r)), &$call)
    };
    (@book dup $r:ident $call:ident ($old:ident)) => {
        book::dup($old, $r)
    };
    (@book dup2 $r:ident $call:ident ($old:ident, $new:ident)) => {
        book::dup($old, $r)
    };
    (@book dup3 $r:ident $call:ident ($old:ident, $new:ident, $flags:ident)) => {
        book::dup($old, $r)
    };
    (@book fcntl $r:ident $call:ident ($fd:ident, $cmd:ident, $arg:ident)) => {
        if $cmd == libc::F_DUPFD || $cmd == libc::F_DUPFD_CLOEXEC {
            book::dup($fd, $r)
        }
    };
    (@book close $r:ident $call:ident ($($a:ident),*)) => {
        book::forget(&$call)
    };
    (@book fclose $r:ident $call:ident ($($a:ident),*)) => {
        book::forget(&$call)
    };
    (@book closedir $r:ident $call:ident ($($a:ident),*)) => {
        book::forget(&$call)
    };
    (@book close_range $r:ident $call:ident ($first:ident, $last:ident, $flags:ident)) => {
        if Ret::as_i64($r) == 0 {
            book::forget_range($first, $last)
        }
    };
    (@book closefrom $r:ident $call:ident ($low:ident)) => {{
        let _ = $r;
        book::forget_range($low.max(0) as u32, u32::MAX)
    }};
    (@book $other:ident $r:ident $call:ident ($($a:ident),*)) => {};
}
