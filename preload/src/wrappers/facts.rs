//! The facts of a call that rules match on, by the table's description of its arguments:
//! its target (path, descriptor, stream), whether libc would accept its data arguments, and
//! its byte count. Arms of the `facts!` macro, expanded inside each wrapper (`mod.rs`).

/// The facts of a call; see the module documentation.
macro_rules! facts {
    // ---- an mmap whose writes reach the file past every wrapper (`nearmiss.rs`) ---------
    // From the role `maps(prot, flags, length, offset)`.
    (@shared_write [maps ($prot:ident, $flags:ident, $len:ident, $off:ident) $($rest:tt)*]) => {
        $prot & libc::PROT_WRITE != 0 && $flags & libc::MAP_SHARED != 0
    };
    (@shared_write [$role:ident $form:tt $($rest:tt)*]) => { facts!(@shared_write [$($rest)*]) };
    (@shared_write []) => { false };

    // ---- the program an exec names, as given (`log::program`) ----------------------------
    (@exec_name [path ($path:ident)]) => { $path as *const c_char };
    (@exec_name [at ($dirfd:ident, $path:ident)]) => { $path as *const c_char };
    (@exec_name $other:tt) => { std::ptr::null::<c_char>() };

    // ---- the facts of the call, by target kind -------------------------------------------
    (@target $p:ident $b:ident [none ()]) => {{ let _ = &$b; SysCall::new($p) }};
    // The file of the mapping that holds the address, as `/proc/self/maps` names it.
    (@target $p:ident $b:ident [mapping ($addr:ident)]) => {{
        let n = crate::sys::maps::file_at($addr as usize, &mut $b.a);
        SysCall {
            path: n.map(|n| &$b.a[..n]),
            kind: if n.is_some() { failinject_engine::FileKind::File } else { failinject_engine::FileKind::Unknown },
            ..SysCall::new($p)
        }
    }};
    (@target $p:ident $b:ident [stdout ()]) => {{
        let n = fds::path(1, &mut $b.a);
        SysCall { fd: Some(1), kind: fd_kind(1), path: n.map(|n| &$b.a[..n]), ..SysCall::new($p) }
    }};
    (@target $p:ident $b:ident [path ($path:ident)]) => {{
        let n = c_bytes($path as *const c_char)
            .and_then(|s| resolve(libc::AT_FDCWD, s, &mut $b.a, &mut $b.t));
        SysCall { path: n.map(|n| &$b.a[..n]), ..SysCall::new($p) }
    }};
    (@target $p:ident $b:ident [at ($dirfd:ident, $path:ident)]) => {{
        let n = c_bytes($path as *const c_char)
            .and_then(|s| resolve($dirfd as c_int, s, &mut $b.a, &mut $b.t));
        SysCall { path: n.map(|n| &$b.a[..n]), ..SysCall::new($p) }
    }};
    (@target $p:ident $b:ident [fd ($fd:ident)]) => {{
        let fd = $fd as c_int;
        facts!(@on_fd $p $b fd)
    }};
    (@target $p:ident $b:ident [stream ($s:ident)]) => {{
        let fd = stream_fd($s as *mut libc::FILE);
        facts!(@on_fd $p $b fd)
    }};
    (@target $p:ident $b:ident [dir ($d:ident)]) => {{
        let fd = dir_fd($d as *mut libc::DIR);
        facts!(@on_fd $p $b fd)
    }};
    (@target $p:ident $b:ident [paths ($from:ident, $to:ident)]) => {{
        let n2 = c_bytes($from as *const c_char)
            .and_then(|s| resolve(libc::AT_FDCWD, s, &mut $b.b, &mut $b.t));
        let n = c_bytes($to as *const c_char)
            .and_then(|s| resolve(libc::AT_FDCWD, s, &mut $b.a, &mut $b.t));
        SysCall { path: n.map(|n| &$b.a[..n]), path2: n2.map(|n| &$b.b[..n]), ..SysCall::new($p) }
    }};
    (@target $p:ident $b:ident [at2 ($fromdir:ident, $from:ident, $todir:ident, $to:ident)]) => {{
        let n2 = c_bytes($from as *const c_char)
            .and_then(|s| resolve($fromdir as c_int, s, &mut $b.b, &mut $b.t));
        let n = c_bytes($to as *const c_char)
            .and_then(|s| resolve($todir as c_int, s, &mut $b.a, &mut $b.t));
        SysCall { path: n.map(|n| &$b.a[..n]), path2: n2.map(|n| &$b.b[..n]), ..SysCall::new($p) }
    }};
    (@target $p:ident $b:ident [symlinkat ($link:ident, $dirfd:ident, $path:ident)]) => {{
        let n2 = c_bytes($link as *const c_char)
            .and_then(|s| resolve(libc::AT_FDCWD, s, &mut $b.b, &mut $b.t));
        let n = c_bytes($path as *const c_char)
            .and_then(|s| resolve($dirfd as c_int, s, &mut $b.a, &mut $b.t));
        SysCall { path: n.map(|n| &$b.a[..n]), path2: n2.map(|n| &$b.b[..n]), ..SysCall::new($p) }
    }};
    (@target $p:ident $b:ident [copy ($src:ident, $dst:ident)]) => {{
        let (src, dst) = ($src as c_int, $dst as c_int);
        let n = fds::path(dst, &mut $b.a);
        let n2 = fds::path(src, &mut $b.b);
        SysCall {
            fd: Some(dst),
            kind: fd_kind(dst),
            path: n.map(|n| &$b.a[..n]),
            path2: n2.map(|n| &$b.b[..n]),
            ..SysCall::new($p)
        }
    }};
    (@on_fd $p:ident $b:ident $fd:ident) => {{
        if $fd < 0 {
            SysCall::new($p)
        } else {
            let n = fds::path($fd, &mut $b.a);
            SysCall { fd: Some($fd), kind: fd_kind($fd), path: n.map(|n| &$b.a[..n]), ..SysCall::new($p) }
        }
    }};

    (@pure_fd [fd ($fd:ident)]) => { Some($fd as c_int) };
    (@pure_fd $other:tt) => { None::<c_int> };

    (@quick_fd [fd ($fd:ident)]) => { Some($fd as c_int).filter(|fd| *fd >= 0) };
    (@quick_fd [stream ($s:ident)]) => {{
        // `fileno` on a stream without a descriptor (`open_memstream`) sets errno: keep the
        // caller's.
        let e = crate::sys::raw::errno();
        let fd = stream_fd($s as *mut libc::FILE);
        crate::sys::raw::set_errno(e);
        Some(fd).filter(|fd| *fd >= 0)
    }};
    (@quick_fd [dir ($d:ident)]) => { Some(dir_fd($d as *mut libc::DIR)).filter(|fd| *fd >= 0) };
    (@quick_fd $other:tt) => { None };

    (@stream [stream ($s:ident)]) => { $s as *mut libc::FILE };
    (@stream $other:tt) => { std::ptr::null_mut() };

    // ---- whether libc would accept the call's data arguments -----------------------------
    // An iovec array libc would refuse has no size (`iov_total`, already computed for the
    // call's facts): such a call is not decided.
    (@valid [writev ($iov:ident, $cnt:ident)] $call:ident) => { $call.size.is_some() };
    (@valid [readv ($iov:ident, $cnt:ident)] $call:ident) => { $call.size.is_some() };
    (@valid $io:tt $call:ident) => { true };

    // ---- the byte count, by kind of data moved -------------------------------------------
    (@size [none ()]) => { None };
    (@size [write ($buf:ident, $count:ident)]) => { Some($count as u64) };
    (@size [read ($buf:ident, $count:ident)]) => { Some($count as u64) };
    (@size [writev ($iov:ident, $cnt:ident)]) => { iov_total($iov as *const iovec, $cnt as c_int) };
    (@size [readv ($iov:ident, $cnt:ident)]) => { iov_total($iov as *const iovec, $cnt as c_int) };
    (@size [fwrite ($ptr:ident, $size:ident, $n:ident)]) => { Some(($size as u64).saturating_mul($n as u64)) };
    (@size [fread ($ptr:ident, $size:ident, $n:ident)]) => { Some(($size as u64).saturating_mul($n as u64)) };
    (@size [copy ($len:ident)]) => { Some($len as u64) };
}
