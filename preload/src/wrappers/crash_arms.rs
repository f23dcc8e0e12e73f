//! Write tracking around the real call (`crash.rs`): what each tracked point tells the
//! crash model before and after it. Arms of the `crash!` macro, expanded inside each wrapper
//! (`mod.rs`). C pointers are turned into safe types here, at the edge.

/// The crash model's view of a call; see the module documentation.
macro_rules! crash {
    // ---- write tracking before the call (`crash.rs`) -------------------------------------
    (@pre open $t:tt ($path:ident, $flags:ident $(, $mode:ident)?)) => {
        crate::crash::before_open(libc::AT_FDCWD, c_str($path), $flags)
    };
    (@pre openat $t:tt ($dirfd:ident, $path:ident, $flags:ident $(, $mode:ident)?)) => {
        crate::crash::before_open($dirfd, c_str($path), $flags)
    };
    (@pre creat $t:tt ($path:ident, $mode:ident)) => {
        crate::crash::before_open(
            libc::AT_FDCWD,
            c_str($path),
            libc::O_CREAT | libc::O_WRONLY | libc::O_TRUNC,
        )
    };
    (@pre fopen $t:tt ($path:ident, $mode:ident)) => {
        crate::crash::before_fopen(c_str($path), c_str($mode))
    };
    (@pre freopen $t:tt ($path:ident, $mode:ident, $s:ident)) => {{
        let _ = crate::crash::before_unseen_writes(stream_fd_quiet($s));
        crate::crash::before_fopen(c_str($path), c_str($mode))
    }};
    (@pre write $t:tt ($fd:ident, $buf:ident, $count:ident)) => {
        crate::crash::before_write($fd, None, $count as u64)
    };
    (@pre pwrite $t:tt ($fd:ident, $buf:ident, $count:ident, $off:ident)) => {
        crate::crash::before_write($fd, Some($off as u64), $count as u64)
    };
    (@pre writev $t:tt ($fd:ident, $iov:ident, $cnt:ident)) => {
        crate::crash::before_write($fd, None, iov_total($iov, $cnt).unwrap_or(0))
    };
    (@pre pwritev $t:tt ($fd:ident, $iov:ident, $cnt:ident, $off:ident)) => {
        crate::crash::before_write($fd, Some($off as u64), iov_total($iov, $cnt).unwrap_or(0))
    };
    (@pre pwritev2 $t:tt ($fd:ident, $iov:ident, $cnt:ident, $off:ident, $flags:ident)) => {
        crate::crash::before_write(
            $fd,
            (($off as i64) >= 0 && $flags & libc::RWF_APPEND == 0).then_some($off as u64),
            iov_total($iov, $cnt).unwrap_or(0),
        )
    };
    // The offset pointer is read through the kernel: a bad one gets libc's EFAULT, not a crash.
    (@pre copy_file_range $t:tt ($fin:ident, $oin:ident, $fout:ident, $oout:ident, $len:ident, $flags:ident)) => {
        crate::crash::before_write(
            $fout,
            crate::sys::raw::read_i64($oout.cast()).map(|o| o as u64),
            $len as u64,
        )
    };
    (@pre splice $t:tt ($fin:ident, $oin:ident, $fout:ident, $oout:ident, $len:ident, $flags:ident)) => {
        crate::crash::before_write(
            $fout,
            crate::sys::raw::read_i64($oout.cast()).map(|o| o as u64),
            $len as u64,
        )
    };
    (@pre sendfile $t:tt ($out:ident, $in:ident, $off:ident, $count:ident)) => {
        crate::crash::before_write($out, None, $count as u64)
    };
    (@pre ftruncate $t:tt ($fd:ident, $len:ident)) => {
        crate::crash::before_truncate($fd, ($len as i64).max(0) as u64)
    };
    (@pre truncate $t:tt ($path:ident, $len:ident)) => {
        crate::crash::before_truncate_path(
            libc::AT_FDCWD,
            c_str($path),
            ($len as i64).max(0) as u64,
        )
    };
    (@pre fallocate $t:tt ($fd:ident, $mode:ident, $off:ident, $len:ident)) => {
        crate::crash::before_allocate($fd, $mode, ($off as i64).max(0) as u64)
    };
    (@pre posix_fallocate $t:tt ($fd:ident, $off:ident, $len:ident)) => {
        crate::crash::before_allocate($fd, 0, ($off as i64).max(0) as u64)
    };
    (@pre dprintf $t:tt ($fd:ident, $($rest:ident),*)) => {
        crate::crash::before_unseen_writes($fd)
    };
    (@pre rename $t:tt ($old:ident, $new:ident)) => {
        crate::crash::before_replace(libc::AT_FDCWD, c_str($new))
    };
    (@pre renameat $t:tt ($od:ident, $old:ident, $nd:ident, $new:ident)) => {
        crate::crash::before_replace($nd, c_str($new))
    };
    (@pre renameat2 $t:tt ($od:ident, $old:ident, $nd:ident, $new:ident, $flags:ident)) => {
        crate::crash::before_replace($nd, c_str($new))
    };
    (@pre unlink $t:tt ($path:ident)) => {
        crate::crash::before_replace(libc::AT_FDCWD, c_str($path))
    };
    (@pre remove $t:tt ($path:ident)) => {
        crate::crash::before_replace(libc::AT_FDCWD, c_str($path))
    };
    (@pre unlinkat $t:tt ($dirfd:ident, $path:ident, $flags:ident)) => {
        crate::crash::before_replace($dirfd, c_str($path))
    };
    (@pre $point:ident [stdout ()] $args:tt) => {
        crate::crash::before_unseen_writes(1)
    };
    (@pre $point:ident [stream ($s:ident)] $args:tt) => {
        crate::crash::before_unseen_writes(stream_fd_quiet($s as *mut libc::FILE))
    };
    (@pre $point:ident $t:tt $args:tt) => {
        crate::crash::Pre::none()
    };

    // ---- write tracking after the call ----------------------------------------------------
    (@post open $r:ident $pre:ident $call:ident $args:tt) => {
        crate::crash::after_open(&$pre, Ret::as_i64($r), &$call)
    };
    (@post openat $r:ident $pre:ident $call:ident $args:tt) => {
        crate::crash::after_open(&$pre, Ret::as_i64($r), &$call)
    };
    (@post creat $r:ident $pre:ident $call:ident $args:tt) => {
        crate::crash::after_open(&$pre, Ret::as_i64($r), &$call)
    };
    (@post fopen $r:ident $pre:ident $call:ident $args:tt) => {
        if !$r.is_null() {
            crate::crash::after_open(&$pre, i64::from(stream_fd($r)), &$call)
        }
    };
    (@post freopen $r:ident $pre:ident $call:ident $args:tt) => {
        if !$r.is_null() {
            crate::crash::after_open(&$pre, i64::from(stream_fd($r)), &$call)
        }
    };
    (@post mkstemp $r:ident $pre:ident $call:ident $args:tt) => {
        crate::crash::created_named(Ret::as_i64($r), None)
    };
    (@post fsync $r:ident $pre:ident $call:ident ($fd:ident)) => {
        if Ret::as_i64($r) == 0 {
            crate::crash::synced($fd)
        }
    };
    (@post fdatasync $r:ident $pre:ident $call:ident ($fd:ident)) => {
        if Ret::as_i64($r) == 0 {
            crate::crash::synced($fd)
        }
    };
    (@post sync_file_range $r:ident $pre:ident $call:ident ($fd:ident, $off:ident, $n:ident, $flags:ident)) => {
        if Ret::as_i64($r) == 0 {
            crate::crash::synced_range(
                $fd,
                ($off as i64).max(0) as u64,
                ($n as i64).max(0) as u64,
                $flags as u32,
            )
        }
    };
    (@post syncfs $r:ident $pre:ident $call:ident ($fd:ident)) => {
        if Ret::as_i64($r) == 0 {
            crate::crash::synced_fs($fd)
        }
    };
    (@post sync $r:ident $pre:ident $call:ident ()) => {{
        let _ = $r;
        crate::crash::synced_all()
    }};
    (@post rename $r:ident $pre:ident $call:ident $args:tt) => {
        crate::crash::renamed(&mut $pre, Ret::as_i64($r), &$call)
    };
    (@post renameat $r:ident $pre:ident $call:ident $args:tt) => {
        crate::crash::renamed(&mut $pre, Ret::as_i64($r), &$call)
    };
    (@post renameat2 $r:ident $pre:ident $call:ident $args:tt) => {
        crate::crash::renamed(&mut $pre, Ret::as_i64($r), &$call)
    };
    (@post unlink $r:ident $pre:ident $call:ident $args:tt) => {
        crate::crash::removed(&mut $pre, Ret::as_i64($r), &$call)
    };
    (@post unlinkat $r:ident $pre:ident $call:ident $args:tt) => {
        crate::crash::removed(&mut $pre, Ret::as_i64($r), &$call)
    };
    (@post remove $r:ident $pre:ident $call:ident $args:tt) => {
        crate::crash::removed(&mut $pre, Ret::as_i64($r), &$call)
    };
    (@post rmdir $r:ident $pre:ident $call:ident $args:tt) => {
        crate::crash::removed(&mut $pre, Ret::as_i64($r), &$call)
    };
    (@post mkdir $r:ident $pre:ident $call:ident $args:tt) => {
        crate::crash::made(Ret::as_i64($r), &$call)
    };
    (@post mkdirat $r:ident $pre:ident $call:ident $args:tt) => {
        crate::crash::made(Ret::as_i64($r), &$call)
    };
    (@post link $r:ident $pre:ident $call:ident $args:tt) => {
        crate::crash::made(Ret::as_i64($r), &$call)
    };
    (@post linkat $r:ident $pre:ident $call:ident $args:tt) => {
        crate::crash::made(Ret::as_i64($r), &$call)
    };
    (@post symlink $r:ident $pre:ident $call:ident $args:tt) => {
        crate::crash::made(Ret::as_i64($r), &$call)
    };
    (@post symlinkat $r:ident $pre:ident $call:ident $args:tt) => {
        crate::crash::made(Ret::as_i64($r), &$call)
    };
    (@post $point:ident $r:ident $pre:ident $call:ident $args:tt) => {{
        let _ = (&$r, &$pre, &$call);
    }};
}
