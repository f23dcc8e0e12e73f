//! Return values: what a wrapper returns for `return(V)` and for a failure, per C return type.

use failinject_engine::points::Fail;
use libc::{DIR, FILE, c_char, c_int, c_void, dirent, dirent64};

/// A C return type a wrapper can produce on its own.
pub trait Ret: Copy {
    /// The value for `return(V)`.
    fn from_i64(v: i64) -> Self;
    /// The failure value of a function that fails with `fail`, given errno `e` (already set,
    /// except for [`Fail::ErrnoRet`], which returns it).
    fn failure(fail: Fail, e: c_int) -> Self;
    /// The result as a number, for counts (bytes or items moved); pointers give 0 or 1.
    fn as_i64(self) -> i64;
}

macro_rules! integer_ret {
    ($($t:ty),*) => {$(
        impl Ret for $t {
            fn from_i64(v: i64) -> Self {
                v as $t
            }
            fn failure(fail: Fail, e: c_int) -> Self {
                match fail {
                    Fail::Items => 0 as $t,
                    Fail::ErrnoRet => e as $t,
                    _ => (-1i64) as $t,
                }
            }
            fn as_i64(self) -> i64 {
                self as i64
            }
        }
    )*};
}
integer_ret!(i32, i64, isize, usize);

macro_rules! pointer_ret {
    ($($t:ty),*) => {$(
        impl Ret for *mut $t {
            fn from_i64(v: i64) -> Self {
                v as usize as *mut $t
            }
            fn failure(fail: Fail, _e: c_int) -> Self {
                match fail {
                    // MAP_FAILED is (void *) -1.
                    Fail::MapFailed => usize::MAX as *mut $t,
                    _ => std::ptr::null_mut(),
                }
            }
            fn as_i64(self) -> i64 {
                i64::from(!self.is_null())
            }
        }
    )*};
}
pointer_ret!(FILE, DIR, c_char, c_void, dirent, dirent64);

impl Ret for () {
    fn from_i64(_: i64) -> Self {}
    fn failure(_: Fail, _: c_int) -> Self {}
    fn as_i64(self) -> i64 {
        0
    }
}
