//! The table of libc points: every function failinject intercepts, described once.
//!
//! [`libc_points!`](crate::libc_points) hands the whole table to a callback macro of the
//! caller's choosing. The engine's callback (in `points.rs`) turns it into
//! [`POINTS`](crate::points::POINTS); the preload's callback generates one exported wrapper per
//! symbol; `failinject points` prints the engine's expansion. Adding a function here is the
//! only step needed to intercept it.
//!
//! # Entry format
//!
//! ```text
//! /// One line saying what the function does.
//! canonical_name {
//!     classes: [write, stdio],           // Class names (lower case) the point belongs to
//!     target: fd(fd),                    // what it acts on, naming the argument(s):
//!                                        //   none() stdout() path(p) at(dirfd, p) fd(fd)
//!                                        //   stream(fp) dir(dirp) paths(from, to)
//!                                        //   at2(fromdir, from, todir, to)
//!                                        //   symlinkat(target, dirfd, p) copy(fd_in, fd_out)
//!     fail: neg1,                        // neg1 null eof items errno_ret void map_failed
//!     io: write(buf, count),             // none() write(buf, count) read(buf, count)
//!                                        //   writev(iov, iovcnt) readv(iov, iovcnt)
//!                                        //   fwrite(ptr, size, nmemb) fread(ptr, size, nmemb)
//!                                        //   copy(len)
//!     errnos: [ENOSPC, EIO],             // what it really returns for outside reasons
//!     explore: [ENOSPC, EIO],            // what `failinject explore` tries by default
//!     fns: {
//!         // One line per C signature; `|` separates symbols sharing it. `#[variadic]`
//!         // marks C variadics: a trailing fixed argument stands for the one variadic
//!         // argument the wrapper forwards (`open`'s mode), or `...` for true varargs.
//!         fn write | __write (fd: c_int, buf: *const c_void, count: size_t) -> ssize_t;
//!     }
//! }
//! ```
//!
//! Argument names used by `target` and `io` must exist in every signature of the entry.
//! Types are the C types as the `libc` crate spells them, unqualified (`c_int`, `off64_t`,
//! `FILE`, `DIR`, `stat64`); the preload expands the table where `libc::*` is in scope.

/// Invokes `$callback! { …every entry… }` with the whole table. See the module docs.
#[macro_export]
macro_rules! libc_points {
    ($callback:ident) => {
        $callback! {
            // ----------------------------------------------------------------- open
            /// Open or create a file by path.
            open {
                classes: [open],
                target: path(path),
                fail: neg1,
                io: none(),
                errnos: [EACCES, ENOENT, ENOSPC, EMFILE, ENFILE, EROFS, EEXIST, EISDIR, ENOTDIR, ELOOP, ENAMETOOLONG, EDQUOT, EIO, EINTR, EPERM, ETXTBSY, EFBIG, ENOMEM],
                explore: [EACCES, ENOSPC, EMFILE],
                fns: {
                    #[variadic]
                    fn open | open64 | __open | __open64 (path: *const c_char, flags: c_int, mode: c_uint) -> c_int;
                    fn __open_2 | __open64_2 (path: *const c_char, flags: c_int) -> c_int;
                }
            }
            // ---------------------------------------------------------------- write
            /// Write a buffer at the file offset.
            write {
                classes: [write],
                target: fd(fd),
                fail: neg1,
                io: write(buf, count),
                errnos: [ENOSPC, EIO, EDQUOT, EFBIG, EINTR, EAGAIN],
                explore: [ENOSPC, EIO, EDQUOT],
                fns: {
                    fn write | __write (fd: c_int, buf: *const c_void, count: size_t) -> ssize_t;
                }
            }
            /// Write items to a stream.
            fwrite {
                classes: [write, stdio],
                target: stream(stream),
                fail: items,
                io: fwrite(ptr, size, nmemb),
                errnos: [ENOSPC, EIO, EDQUOT, EFBIG, EINTR],
                explore: [ENOSPC, EIO],
                fns: {
                    fn fwrite | fwrite_unlocked (ptr: *const c_void, size: size_t, nmemb: size_t, stream: *mut FILE) -> size_t;
                }
            }
            /// Write formatted output to a stream.
            fprintf {
                classes: [write, stdio],
                target: stream(stream),
                fail: eof,
                io: none(),
                errnos: [ENOSPC, EIO, EDQUOT, EFBIG, EINTR],
                explore: [ENOSPC, EIO],
                fns: {
                    #[variadic]
                    fn fprintf (stream: *mut FILE, format: *const c_char, ...) -> c_int;
                    #[variadic]
                    fn __fprintf_chk (stream: *mut FILE, flag: c_int, format: *const c_char, ...) -> c_int;
                    fn vfprintf (stream: *mut FILE, format: *const c_char, ap: *mut c_void) -> c_int;
                    fn __vfprintf_chk (stream: *mut FILE, flag: c_int, format: *const c_char, ap: *mut c_void) -> c_int;
                }
            }
            // ----------------------------------------------------------------- sync
            /// Flush a file's data and metadata to stable storage.
            fsync {
                classes: [sync],
                target: fd(fd),
                fail: neg1,
                io: none(),
                errnos: [EIO, ENOSPC, EDQUOT, EINTR],
                explore: [EIO],
                fns: {
                    fn fsync (fd: c_int) -> c_int;
                }
            }
            /// Flush a file's data (and the metadata needed to read it) to stable storage.
            fdatasync {
                classes: [sync],
                target: fd(fd),
                fail: neg1,
                io: none(),
                errnos: [EIO, ENOSPC, EDQUOT, EINTR],
                explore: [EIO],
                fns: {
                    fn fdatasync (fd: c_int) -> c_int;
                }
            }
            /// Commit every file system's buffers; returns nothing, so it cannot fail.
            sync {
                classes: [sync],
                target: none(),
                fail: void,
                io: none(),
                errnos: [],
                explore: [],
                fns: {
                    fn sync () -> ();
                }
            }
            // ----------------------------------------------------------------- meta
            /// Rename a file, replacing the destination.
            rename {
                classes: [meta],
                target: paths(oldpath, newpath),
                fail: neg1,
                io: none(),
                errnos: [EIO, ENOSPC, EXDEV, EACCES, EPERM, ENOENT, EROFS, EDQUOT, EBUSY, EMLINK, ENOTEMPTY, EISDIR, ENOTDIR, ELOOP, ENAMETOOLONG],
                explore: [EIO, EXDEV],
                fns: {
                    fn rename (oldpath: *const c_char, newpath: *const c_char) -> c_int;
                }
            }
            // ---------------------------------------------------------------- close
            /// Close a file descriptor; the descriptor is released even when it fails.
            close {
                classes: [close],
                target: fd(fd),
                fail: neg1,
                io: none(),
                errnos: [EIO, ENOSPC, EDQUOT, EINTR],
                explore: [EIO],
                fns: {
                    fn close | __close (fd: c_int) -> c_int;
                }
            }
            /// Flush and close a stream; the stream is freed even when it fails.
            fclose {
                classes: [close, stdio],
                target: stream(stream),
                fail: eof,
                io: none(),
                errnos: [EIO, ENOSPC, EDQUOT, EINTR],
                explore: [EIO, ENOSPC],
                fns: {
                    fn fclose (stream: *mut FILE) -> c_int;
                }
            }
        }
    };
}
