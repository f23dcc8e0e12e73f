//! Write tracking around the real call (`crash.rs`): what a call tells the crash model before
//! and after it, from its roles in the table (`does:` — `creates`, `writes`, `flushes`,
//! `truncates`, `allocates`, `syncs`, `renames`, `removes`, `makes`). Arms of the `crash!`
//! macro, expanded inside each wrapper (`mod.rs`) with the entry's roles and target; the
//! descriptor or path comes from the target, the byte count from the call's facts. The other
//! roles are passed over. A point has at most one of these roles (the table's tests check).
//! C pointers are turned into safe types here, at the edge.

/// The crash model's view of a call; see the module documentation.
macro_rules! crash {
    // ---- before the call: what to save --------------------------------------------------
    (@pre [] $t:tt $call:ident) => {
        crate::crash::Pre::none()
    };
    (@pre [creates (unnamed) $($rest:tt)*] $t:tt $call:ident) => {
        crate::crash::Pre::none()
    };
    // `open` flags, an argument or a constant (`creat`).
    (@pre [creates ($($flag:ident)|+) $($rest:tt)*] $t:tt $call:ident) => {
        crate::crash::before_open(crash!(@dir $t), crash!(@path $t), $($flag)|+)
    };
    (@pre [creates (stdio, $mode:ident) $($rest:tt)*] $t:tt $call:ident) => {
        crate::crash::before_fopen(crash!(@path $t), c_str($mode))
    };
    // `freopen`: the old stream's buffer reaches its file as it closes.
    (@pre [creates (stdio, $mode:ident, $old:ident) $($rest:tt)*] $t:tt $call:ident) => {{
        let _ = crate::crash::before_unseen_writes(stream_fd_quiet($old));
        crate::crash::before_fopen(crash!(@path $t), c_str($mode))
    }};
    (@pre [writes (cursor) $($rest:tt)*] $t:tt $call:ident) => {
        crate::crash::before_write(crash!(@written $t), None, $call.size.unwrap_or(0))
    };
    (@pre [writes (at, $off:ident) $($rest:tt)*] $t:tt $call:ident) => {
        crate::crash::before_write(crash!(@written $t), Some($off as u64), $call.size.unwrap_or(0))
    };
    // `pwritev2`: an offset of -1, or RWF_APPEND, writes at the file position (or end).
    (@pre [writes (at, $off:ident, $flags:ident) $($rest:tt)*] $t:tt $call:ident) => {
        crate::crash::before_write(
            crash!(@written $t),
            (($off as i64) >= 0 && $flags & libc::RWF_APPEND == 0).then_some($off as u64),
            $call.size.unwrap_or(0),
        )
    };
    // The offset pointer is read through the kernel: a bad one gets libc's EFAULT, not a
    // crash; a null one means the file position.
    (@pre [writes (at_ptr, $ptr:ident) $($rest:tt)*] $t:tt $call:ident) => {
        crate::crash::before_write(
            crash!(@written $t),
            crate::sys::raw::read_i64($ptr.cast()).map(|o| o as u64),
            $call.size.unwrap_or(0),
        )
    };
    // Bytes that reach the kernel from inside glibc, unseen: the file is saved whole.
    (@pre [writes (stdio) $($rest:tt)*] $t:tt $call:ident) => {
        crate::crash::before_unseen_writes(crash!(@unseen $t))
    };
    (@pre [flushes () $($rest:tt)*] $t:tt $call:ident) => {
        crate::crash::before_unseen_writes(crash!(@unseen $t))
    };
    (@pre [truncates ($len:ident) $($rest:tt)*] [fd ($fd:ident)] $call:ident) => {
        crate::crash::before_truncate($fd, ($len as i64).max(0) as u64)
    };
    (@pre [truncates ($len:ident) $($rest:tt)*] $t:tt $call:ident) => {
        crate::crash::before_truncate_path(crash!(@dir $t), crash!(@path $t), ($len as i64).max(0) as u64)
    };
    (@pre [allocates ($mode:tt, $off:ident) $($rest:tt)*] [fd ($fd:ident)] $call:ident) => {
        crate::crash::before_allocate($fd, $mode, ($off as i64).max(0) as u64)
    };
    // Whatever a rename or removal replaces is kept (a file's data; an empty directory is
    // noted, to be made again).
    (@pre [renames () $($rest:tt)*] $t:tt $call:ident) => {
        crate::crash::before_replace(crash!(@dir $t), crash!(@path $t))
    };
    (@pre [removes () $($rest:tt)*] $t:tt $call:ident) => {
        crate::crash::before_replace(crash!(@dir $t), crash!(@path $t))
    };
    (@pre [syncs $form:tt $($rest:tt)*] $t:tt $call:ident) => {
        crate::crash::Pre::none()
    };
    (@pre [makes () $($rest:tt)*] $t:tt $call:ident) => {
        crate::crash::Pre::none()
    };
    (@pre [$other:ident $form:tt $($rest:tt)*] $t:tt $call:ident) => {
        crash!(@pre [$($rest)*] $t $call)
    };

    // ---- after the call: what was created, became durable or changed a directory --------
    (@post [] $r:ident $pre:ident $call:ident $t:tt) => {{
        let _ = (&$r, &$pre, &$call);
    }};
    (@post [creates (unnamed) $($rest:tt)*] $r:ident $pre:ident $call:ident $t:tt) => {
        crate::crash::created_named(Ret::as_i64($r), None)
    };
    (@post [creates $form:tt $($rest:tt)*] $r:ident $pre:ident $call:ident $t:tt) => {
        crate::crash::after_open(&$pre, Opened::descriptor($r), &$call)
    };
    (@post [syncs (file) $($rest:tt)*] $r:ident $pre:ident $call:ident [fd ($fd:ident)]) => {
        if Ret::as_i64($r) == 0 {
            crate::crash::synced($fd)
        }
    };
    (@post [syncs (range, $off:ident, $n:ident, $flags:ident) $($rest:tt)*] $r:ident $pre:ident $call:ident [fd ($fd:ident)]) => {
        if Ret::as_i64($r) == 0 {
            crate::crash::synced_range(
                $fd,
                ($off as i64).max(0) as u64,
                ($n as i64).max(0) as u64,
                $flags as u32,
            )
        }
    };
    (@post [syncs (fs) $($rest:tt)*] $r:ident $pre:ident $call:ident [fd ($fd:ident)]) => {
        if Ret::as_i64($r) == 0 {
            crate::crash::synced_fs($fd)
        }
    };
    // `sync` returns nothing: it always synced.
    (@post [syncs (all) $($rest:tt)*] $r:ident $pre:ident $call:ident $t:tt) => {{
        let _ = $r;
        crate::crash::synced_all()
    }};
    (@post [renames () $($rest:tt)*] $r:ident $pre:ident $call:ident $t:tt) => {
        crate::crash::renamed(&mut $pre, Ret::as_i64($r), &$call)
    };
    (@post [removes $form:tt $($rest:tt)*] $r:ident $pre:ident $call:ident $t:tt) => {
        crate::crash::removed(&mut $pre, Ret::as_i64($r), &$call)
    };
    (@post [makes () $($rest:tt)*] $r:ident $pre:ident $call:ident $t:tt) => {
        crate::crash::made(Ret::as_i64($r), &$call)
    };
    // A file mapped shared and writable: the crash model keeps its synced content.
    (@post [maps ($prot:ident, $flags:ident, $len:ident, $off:ident) $($rest:tt)*] $r:ident $pre:ident $call:ident [fd ($fd:ident)]) => {
        crate::crash::mapped($r as usize, $len as u64, $prot, $flags, $fd, $off as i64)
    };
    // `msync`: with MS_SYNC the range is durable (MS_ASYNC persists nothing on Linux).
    (@post [syncs (mapping, $addr:ident, $len:ident, $flags:ident) $($rest:tt)*] $r:ident $pre:ident $call:ident $t:tt) => {
        if Ret::as_i64($r) == 0 && $flags & libc::MS_SYNC != 0 {
            crate::crash::msynced($addr as usize, $len as usize)
        }
    };
    // What a write or truncation left, for cuts that keep changes.
    (@post [writes $form:tt $($rest:tt)*] $r:ident $pre:ident $call:ident $t:tt) => {
        crate::crash::after_change(&$pre, Ret::as_i64($r))
    };
    (@post [truncates $form:tt $($rest:tt)*] $r:ident $pre:ident $call:ident $t:tt) => {
        crate::crash::after_change(&$pre, Ret::as_i64($r))
    };
    // What an allocation left, for the record of changes.
    (@post [allocates $form:tt $($rest:tt)*] $r:ident $pre:ident $call:ident $t:tt) => {
        crate::crash::after_change(&$pre, Ret::as_i64($r))
    };
    // The other data roles have nothing to do after the call.
    (@post [$role:ident $form:tt $($rest:tt)*] $r:ident $pre:ident $call:ident $t:tt) => {
        crash!(@post [$($rest)*] $r $pre $call $t)
    };

    // ---- the target's parts, as the crash model takes them -------------------------------
    // The directory a path is relative to, and the path: the new name of a rename or link.
    (@dir [path ($p:ident)]) => { libc::AT_FDCWD };
    (@dir [at ($d:ident, $p:ident)]) => { $d };
    (@dir [paths ($from:ident, $to:ident)]) => { libc::AT_FDCWD };
    (@dir [at2 ($fd:ident, $from:ident, $d:ident, $to:ident)]) => { $d };
    (@path [path ($p:ident)]) => { c_str($p) };
    (@path [at ($d:ident, $p:ident)]) => { c_str($p) };
    (@path [paths ($from:ident, $to:ident)]) => { c_str($to) };
    (@path [at2 ($fd:ident, $from:ident, $d:ident, $to:ident)]) => { c_str($to) };
    // The descriptor data is written to.
    (@written [fd ($fd:ident)]) => { $fd };
    (@written [copy ($src:ident, $dst:ident)]) => { $dst };
    // The descriptor behind a stdio call's buffer.
    (@unseen [fd ($fd:ident)]) => { $fd };
    (@unseen [stdout ()]) => { 1 };
    (@unseen [stream ($s:ident)]) => { stream_fd_quiet($s as *mut libc::FILE) };
}
