//! The real call made with fewer bytes or altered data, and how many bytes a result moved:
//! arms of the `data!` macro, expanded inside each wrapper (`mod.rs`), by the table's
//! description of the data a function moves.

/// The data a call moves; see the module documentation.
macro_rules! data {
    // ---- the real call with at most `n` bytes --------------------------------------------
    (@shorter [none ()] $n:ident $info:ident; $call:expr) => {{
        let _ = (&$info, $n);
        let r = $call;
        (r, 0)
    }};
    (@shorter [write ($buf:ident, $count:ident)] $n:ident $info:ident; $call:expr) => {
        data!(@cap $count $n $info; $call)
    };
    (@shorter [read ($buf:ident, $count:ident)] $n:ident $info:ident; $call:expr) => {
        data!(@cap $count $n $info; $call)
    };
    (@shorter [copy ($len:ident)] $n:ident $info:ident; $call:expr) => {
        data!(@cap $len $n $info; $call)
    };
    // The byte count argument `$count` capped at `n`.
    (@cap $count:ident $n:ident $info:ident; $call:expr) => {{
        let _ = &$info;
        let $count = ($n.min($count as u64)) as _;
        let r = $call;
        (r, Ret::as_i64(r).max(0) as u64)
    }};
    // stdio moves bytes, not items: the part that fits is written byte by byte (a partial
    // item included, as glibc's own buffer would), the count of whole items is returned, and
    // since stdio only comes up short on an error, the stream's error flag and errno are set.
    (@shorter [fwrite ($ptr:ident, $size:ident, $nmemb:ident)] $n:ident $info:ident; $call:expr) => {
        data!(@stdio_short $size $nmemb $n $info libc::ENOSPC; $call)
    };
    (@shorter [fread ($ptr:ident, $size:ident, $nmemb:ident)] $n:ident $info:ident; $call:expr) => {
        data!(@stdio_short $size $nmemb $n $info libc::EIO; $call)
    };
    (@stdio_short $size:ident $nmemb:ident $n:ident $info:ident $errno:expr; $call:expr) => {{
        let (item, items) = (($size as u64).max(1), $nmemb as u64);
        let want = $n.min(item.saturating_mul(items));
        let $size = 1 as _;
        let $nmemb = want as _;
        let bytes = Ret::as_i64($call).max(0) as u64;
        if bytes / item < items {
            crate::effect::set_stream_error($info.stream);
            crate::sys::raw::set_errno($errno);
        }
        (Ret::from_i64((bytes / item) as i64), bytes)
    }};
    (@shorter [writev ($iov:ident, $cnt:ident)] $n:ident $info:ident; $call:expr) => {
        data!(@iov_cap $iov $cnt $n $info; $call)
    };
    (@shorter [readv ($iov:ident, $cnt:ident)] $n:ident $info:ident; $call:expr) => {
        data!(@iov_cap $iov $cnt $n $info; $call)
    };
    // The iovec array cut to its first `n` bytes, in a copy on the stack.
    (@iov_cap $iov:ident $cnt:ident $n:ident $info:ident; $call:expr) => {{
        let _ = &$info;
        let mut local = [iovec { iov_base: std::ptr::null_mut(), iov_len: 0 }; 64];
        let k = truncate_iov($iov as *const iovec, $cnt as c_int, $n, &mut local);
        let $iov = local.as_ptr() as _;
        let $cnt = k as _;
        let r = $call;
        (r, Ret::as_i64(r).max(0) as u64)
    }};

    // ---- the real call with its data altered ---------------------------------------------
    (@corrupt [none ()] $m:ident $bits:ident; $call:expr) => {{ let _ = ($m, $bits); $call }};
    (@corrupt [copy ($len:ident)] $m:ident $bits:ident; $call:expr) => {{ let _ = ($m, $bits); $call }};
    (@corrupt [write ($buf:ident, $count:ident)] $m:ident $bits:ident; $call:expr) => {{
        match Scratch::copy($buf as *const u8, ($count as usize).min(isize::MAX as usize)) {
            Some(mut s) => {
                alter(s.bytes(), $m, $bits);
                let $buf = s.ptr() as _;
                $call
            }
            None => $call,
        }
    }};
    (@corrupt [fwrite ($ptr:ident, $size:ident, $nmemb:ident)] $m:ident $bits:ident; $call:expr) => {{
        match Scratch::copy($ptr as *const u8, ($size as usize).saturating_mul($nmemb as usize).min(isize::MAX as usize)) {
            Some(mut s) => {
                alter(s.bytes(), $m, $bits);
                let $ptr = s.ptr() as _;
                $call
            }
            None => $call,
        }
    }};
    (@corrupt [writev ($iov:ident, $cnt:ident)] $m:ident $bits:ident; $call:expr) => {{
        match gather($iov as *const iovec, $cnt as c_int) {
            Some(mut s) => {
                alter(s.bytes(), $m, $bits);
                let one = iovec { iov_base: s.ptr() as *mut libc::c_void, iov_len: s.bytes().len() };
                let $iov = &one as *const iovec as _;
                let $cnt = 1 as _;
                $call
            }
            None => $call,
        }
    }};
    (@corrupt [read ($buf:ident, $count:ident)] $m:ident $bits:ident; $call:expr) => {{
        let r = $call;
        let got = Ret::as_i64(r);
        if got > 0 {
            alter(std::slice::from_raw_parts_mut($buf as *mut u8, got as usize), $m, $bits);
        }
        r
    }};
    (@corrupt [fread ($ptr:ident, $size:ident, $nmemb:ident)] $m:ident $bits:ident; $call:expr) => {{
        let r = $call;
        let got = (Ret::as_i64(r).max(0) as usize).saturating_mul($size as usize);
        if got > 0 {
            alter(std::slice::from_raw_parts_mut($ptr as *mut u8, got), $m, $bits);
        }
        r
    }};
    (@corrupt [readv ($iov:ident, $cnt:ident)] $m:ident $bits:ident; $call:expr) => {{
        let r = $call;
        let got = Ret::as_i64(r);
        if got > 0 {
            alter_iov($iov as *const iovec, $cnt as c_int, got as u64, $m, $bits);
        }
        r
    }};

    // ---- how many bytes a result moved ---------------------------------------------------
    (@moved [fwrite ($ptr:ident, $size:ident, $n:ident)] $r:ident) => {
        (Ret::as_i64($r).max(0) as u64).saturating_mul($size as u64)
    };
    (@moved [fread ($ptr:ident, $size:ident, $n:ident)] $r:ident) => {
        (Ret::as_i64($r).max(0) as u64).saturating_mul($size as u64)
    };
    (@moved [none ()] $r:ident) => {{ let _ = $r; 0 }};
    (@moved $io:tt $r:ident) => { Ret::as_i64($r).max(0) as u64 };
}
