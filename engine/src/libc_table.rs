//! The table of libc points: every function failinject intercepts, described once.
//!
//! [`libc_points!`](crate::libc_points) hands the whole table to a callback macro of the
//! caller's choosing, in one normalized form (below). The engine's callback (in `points.rs`)
//! turns it into `POINTS`; the preload's callback generates one
//! exported wrapper per symbol, and reacts to what each call does from its roles;
//! `failinject points` prints the engine's expansion; the table's own tests expand it a third
//! time. Adding a function here is the only step needed to intercept it
//! (`docs/ARCHITECTURE.md` walks through one).
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
//!                                        //   mapping(addr)
//!     fail: neg1,                        // neg1 null eof items errno_ret void map_failed
//!     io: write(buf, count),             // none() write(buf, count) read(buf, count)
//!                                        //   writev(iov, iovcnt) readv(iov, iovcnt)
//!                                        //   fwrite(ptr, size, nmemb) fread(ptr, size, nmemb)
//!                                        //   copy(len)
//!     does: [writes(cursor)],            // its roles (optional, see below)
//!     errnos: [@write_data, EAGAIN],     // what it really returns for outside reasons; `@name`
//!                                        //   is a shared list of `sets` below, spliced in
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
//! Argument names used by `target`, `io` and `does` must exist in every signature of the
//! entry. Types are the C types as the `libc` crate spells them, unqualified (`c_int`,
//! `off64_t`, `FILE`, `DIR`, `stat64`); the preload expands the table where `libc::*` is in
//! scope.
//!
//! # Roles
//!
//! `does:` says what the call changes, so that the code that must see such calls whatever
//! the rules say finds them here (`Role`, in `roles.rs`). A role's form, in
//! parentheses, tells the preload how to read the arguments for it; the descriptor, path or
//! stream comes from `target`, the byte count from `io`.
//!
//! | role | forms | the preload then |
//! |---|---|---|
//! | `opens` | bare: the result is a descriptor (or stream, directory stream) for the target's path; `(unnamed)`: for a file the kernel names | records the descriptor's path |
//! | `dups` | `(from)`: the result copies descriptor `from`; `(fd, cmd)`: when `cmd` is `F_DUPFD*` | copies its path |
//! | `closes` | bare: the target; `(range, first, last)`; `(from, low)` | forgets the descriptors |
//! | `creates` | `(flags)`, `(O_CREAT \| …)`: `open` flags; `(stdio, mode)`, `(stdio, mode, old)`: an `fopen` mode (and a stream reopened); `(unnamed)` | registers a created or truncated file with the crash model |
//! | `writes` | `(cursor)`, `(at, off)`, `(at, off, flags)` (`pwritev2`), `(at_ptr, off_ptr)`: where the data goes; `(stdio)`: through a buffer the wrappers cannot see | saves the bytes it overwrites |
//! | `flushes` | bare: a stdio buffer reaches the file | saves the stream's file |
//! | `truncates` | `(len)` | saves what a shrink drops |
//! | `allocates` | `(mode, off)` | saves what a hole punch drops |
//! | `syncs` | `(file)`, `(range, off, n, flags)`, `(fs)`, `(all)`, `(mapping, addr, len, flags)` (`msync`) | forgets what became durable |
//! | `renames`, `removes`, `makes` | bare | journals the entry (`powercut(dirs)`), keeping what a rename or removal replaces |
//! | `maps` | `(prot, flags, length, offset)` | notes a writable shared mapping (writes unseen), whose synced content the crash model keeps |
//! | `execs` | bare | writes the exit record first |
//!
//! # The normalized form
//!
//! Callbacks receive one line per entry, every field a single token tree, in this order:
//!
//! ```text
//! name [docs…] [classes…] [target (args)] fail [io (args)] [role (form) …] [errnos…] [explore…]
//!     [ [attrs…] [symbol aliases…] (params) -> ret ; … ] ;
//! ```
//!
//! so the shape of an entry is parsed once, by `libc_points!` itself.

/// The errno lists several entries share, spliced into `errnos:` as `@name`. A list keeps its
/// order: a seeded `error` without an errno draws from the function's list by position.
#[allow(non_upper_case_globals)]
pub(crate) mod sets {
    use crate::errno::Errno as E;

    /// Path resolution: a component is not a directory, a loop, a name too long.
    pub const path: &[E] = &[E::ENOTDIR, E::ELOOP, E::ENAMETOOLONG];
    /// Looking a path up to read it (`stat`, `readlink`).
    pub const lookup: &[E] =
        &[E::EACCES, E::ENOENT, E::EIO, E::ENOTDIR, E::ELOOP, E::ENAMETOOLONG, E::ENOMEM];
    /// Writing file data: a full disk or quota, a failed device, a file too large, a signal.
    pub const write_data: &[E] = &[E::ENOSPC, E::EIO, E::EDQUOT, E::EFBIG, E::EINTR];
    /// Making data durable (and `close`, which may report a deferred write error).
    pub const sync_data: &[E] = &[E::EIO, E::ENOSPC, E::EDQUOT, E::EINTR];
    /// Opening by path with `open` flags.
    pub const open_path: &[E] = &[
        E::EACCES,
        E::ENOENT,
        E::ENOSPC,
        E::EMFILE,
        E::ENFILE,
        E::EROFS,
        E::EEXIST,
        E::EISDIR,
        E::ENOTDIR,
        E::ELOOP,
        E::ENAMETOOLONG,
        E::EDQUOT,
        E::EIO,
        E::EINTR,
        E::EPERM,
        E::ETXTBSY,
        E::EFBIG,
        E::ENOMEM,
    ];
    /// Opening by path with an `fopen` mode.
    pub const fopen_path: &[E] = &[
        E::EACCES,
        E::ENOENT,
        E::ENOSPC,
        E::EMFILE,
        E::ENFILE,
        E::EROFS,
        E::EISDIR,
        E::ENOTDIR,
        E::EDQUOT,
        E::ELOOP,
        E::ENAMETOOLONG,
        E::EIO,
        E::EINTR,
        E::EPERM,
        E::ETXTBSY,
        E::EEXIST,
        E::ENOMEM,
    ];
    /// Replacing the program.
    pub const exec: &[E] = &[
        E::ENOENT,
        E::EACCES,
        E::ENOEXEC,
        E::E2BIG,
        E::ENOMEM,
        E::ETXTBSY,
        E::ELOOP,
        E::ENOTDIR,
        E::EPERM,
    ];
}

/// Invokes `$callback! { …every entry, normalized… }` with the whole table. See the module
/// docs.
#[macro_export]
macro_rules! libc_points {
    ($callback:ident) => {
        $crate::__libc_normalize! {
            $callback;
            // ----------------------------------------------------------------- open
            /// Open or create a file by path.
            open {
                classes: [open],
                target: path(path),
                fail: neg1,
                io: none(),
                does: [opens, creates(flags)],
                errnos: [@open_path],
                explore: [EACCES, ENOSPC, EMFILE],
                fns: {
                    #[variadic]
                    fn open | open64 | __open | __open64 (path: *const c_char, flags: c_int, mode: c_uint) -> c_int;
                    fn __open_2 | __open64_2 (path: *const c_char, flags: c_int) -> c_int;
                }
            }
            /// Open or create a file by path relative to a directory descriptor.
            openat {
                classes: [open],
                target: at(dirfd, path),
                fail: neg1,
                io: none(),
                does: [opens, creates(flags)],
                errnos: [@open_path],
                explore: [EACCES, ENOSPC, EMFILE],
                fns: {
                    #[variadic]
                    fn openat | openat64 (dirfd: c_int, path: *const c_char, flags: c_int, mode: c_uint) -> c_int;
                    fn __openat_2 | __openat64_2 (dirfd: c_int, path: *const c_char, flags: c_int) -> c_int;
                }
            }
            /// Create a file (or truncate an existing one) and open it for writing.
            creat {
                classes: [open],
                target: path(path),
                fail: neg1,
                io: none(),
                does: [opens, creates(O_CREAT | O_WRONLY | O_TRUNC)],
                errnos: [EACCES, ENOSPC, ENOENT, EMFILE, ENFILE, EROFS, EDQUOT, EISDIR, @path, EIO, EINTR, EPERM, ETXTBSY, ENOMEM],
                explore: [EACCES, ENOSPC, EMFILE],
                fns: {
                    fn creat | creat64 (path: *const c_char, mode: mode_t) -> c_int;
                }
            }
            /// Open a file by path as a stdio stream.
            fopen {
                classes: [open, stdio],
                target: path(path),
                fail: null,
                io: none(),
                does: [opens, creates(stdio, mode)],
                errnos: [@fopen_path],
                explore: [EACCES, ENOSPC, EMFILE],
                fns: {
                    fn fopen | fopen64 | _IO_fopen (path: *const c_char, mode: *const c_char) -> *mut FILE;
                }
            }
            /// Reopen an existing stdio stream on a file (or with a new mode).
            freopen {
                classes: [open, stdio],
                target: path(path),
                fail: null,
                io: none(),
                does: [opens, creates(stdio, mode, stream)],
                errnos: [@fopen_path],
                explore: [EACCES, ENOSPC, EMFILE],
                fns: {
                    fn freopen | freopen64 (path: *const c_char, mode: *const c_char, stream: *mut FILE) -> *mut FILE;
                }
            }
            /// Wrap an open file descriptor in a stdio stream.
            fdopen {
                classes: [open, stdio],
                target: fd(fd),
                fail: null,
                io: none(),
                errnos: [ENOMEM],
                explore: [ENOMEM],
                fns: {
                    fn fdopen | _IO_fdopen (fd: c_int, mode: *const c_char) -> *mut FILE;
                }
            }
            /// Open a directory by path as a directory stream.
            opendir {
                classes: [open, dir],
                target: path(path),
                fail: null,
                io: none(),
                does: [opens],
                errnos: [EACCES, ENOENT, EMFILE, ENFILE, ENOTDIR, ENOMEM, ELOOP, ENAMETOOLONG, EIO, EINTR],
                explore: [EACCES, EMFILE],
                fns: {
                    fn opendir (path: *const c_char) -> *mut DIR;
                }
            }
            /// Wrap an open directory descriptor in a directory stream.
            fdopendir {
                classes: [open, dir],
                target: fd(fd),
                fail: null,
                io: none(),
                errnos: [ENOMEM],
                explore: [ENOMEM],
                fns: {
                    fn fdopendir (fd: c_int) -> *mut DIR;
                }
            }
            /// Create and open a uniquely named temporary file from a `XXXXXX` template.
            mkstemp {
                classes: [open],
                target: path(template),
                fail: neg1,
                io: none(),
                does: [opens(unnamed), creates(unnamed)],
                errnos: [EACCES, ENOSPC, EMFILE, ENFILE, ENOENT, EROFS, EDQUOT, EIO, @path, EEXIST, EINTR, ENOMEM],
                explore: [EACCES, ENOSPC, EMFILE],
                fns: {
                    fn mkstemp | mkstemp64 (template: *mut c_char) -> c_int;
                    fn mkostemp | mkostemp64 (template: *mut c_char, flags: c_int) -> c_int;
                    fn mkstemps | mkstemps64 (template: *mut c_char, suffixlen: c_int) -> c_int;
                    fn mkostemps | mkostemps64 (template: *mut c_char, suffixlen: c_int, flags: c_int) -> c_int;
                }
            }
            /// Create and open an anonymous temporary file as a stdio stream.
            tmpfile {
                classes: [open, stdio],
                target: none(),
                fail: null,
                io: none(),
                does: [opens(unnamed)],
                errnos: [ENOSPC, EMFILE, ENFILE, EACCES, EROFS, EDQUOT, EIO, EINTR, EEXIST, ENOMEM],
                explore: [ENOSPC, EMFILE],
                fns: {
                    fn tmpfile | tmpfile64 () -> *mut FILE;
                }
            }
            // ---------------------------------------------------------------- write
            /// Write a buffer at the file offset.
            write {
                classes: [write],
                target: fd(fd),
                fail: neg1,
                io: write(buf, count),
                does: [writes(cursor)],
                errnos: [@write_data, EAGAIN],
                explore: [ENOSPC, EIO, EDQUOT],
                fns: {
                    fn write | __write (fd: c_int, buf: *const c_void, count: size_t) -> ssize_t;
                }
            }
            /// Write a buffer at a given offset, leaving the file offset alone.
            pwrite {
                classes: [write],
                target: fd(fd),
                fail: neg1,
                io: write(buf, count),
                does: [writes(at, offset)],
                errnos: [@write_data],
                explore: [ENOSPC, EIO, EDQUOT],
                fns: {
                    fn pwrite (fd: c_int, buf: *const c_void, count: size_t, offset: off_t) -> ssize_t;
                    fn pwrite64 | __pwrite64 (fd: c_int, buf: *const c_void, count: size_t, offset: off64_t) -> ssize_t;
                }
            }
            /// Write an array of buffers at the file offset.
            writev {
                classes: [write],
                target: fd(fd),
                fail: neg1,
                io: writev(iov, iovcnt),
                does: [writes(cursor)],
                errnos: [@write_data, EAGAIN],
                explore: [ENOSPC, EIO, EDQUOT],
                fns: {
                    fn writev (fd: c_int, iov: *const iovec, iovcnt: c_int) -> ssize_t;
                }
            }
            /// Write an array of buffers at a given offset.
            pwritev {
                classes: [write],
                target: fd(fd),
                fail: neg1,
                io: writev(iov, iovcnt),
                does: [writes(at, offset)],
                errnos: [@write_data],
                explore: [ENOSPC, EIO, EDQUOT],
                fns: {
                    fn pwritev (fd: c_int, iov: *const iovec, iovcnt: c_int, offset: off_t) -> ssize_t;
                    fn pwritev64 (fd: c_int, iov: *const iovec, iovcnt: c_int, offset: off64_t) -> ssize_t;
                }
            }
            /// Write an array of buffers at a given offset, with per-call flags (RWF_*).
            pwritev2 {
                classes: [write],
                target: fd(fd),
                fail: neg1,
                io: writev(iov, iovcnt),
                does: [writes(at, offset, flags)],
                errnos: [@write_data, EAGAIN, EOPNOTSUPP],
                explore: [ENOSPC, EIO, EDQUOT],
                fns: {
                    fn pwritev2 (fd: c_int, iov: *const iovec, iovcnt: c_int, offset: off_t, flags: c_int) -> ssize_t;
                    fn pwritev64v2 (fd: c_int, iov: *const iovec, iovcnt: c_int, offset: off64_t, flags: c_int) -> ssize_t;
                }
            }
            /// Copy a range of bytes from one file to another inside the kernel.
            copy_file_range {
                classes: [write],
                target: copy(fd_in, fd_out),
                fail: neg1,
                io: copy(len),
                does: [writes(at_ptr, off_out)],
                errnos: [EIO, ENOSPC, EXDEV, EDQUOT, EFBIG, EOPNOTSUPP, ENOSYS, EINVAL, ETXTBSY, EPERM, ENOMEM],
                explore: [EIO, ENOSPC, EXDEV],
                fns: {
                    fn copy_file_range (fd_in: c_int, off_in: *mut off64_t, fd_out: c_int, off_out: *mut off64_t, len: size_t, flags: c_uint) -> ssize_t;
                }
            }
            /// Copy bytes from one descriptor to another inside the kernel.
            sendfile {
                classes: [write],
                target: copy(in_fd, out_fd),
                fail: neg1,
                io: copy(count),
                does: [writes(cursor)],
                errnos: [EIO, ENOSPC, EDQUOT, EFBIG, EINVAL, ENOSYS, EAGAIN, EINTR, ENOMEM],
                explore: [EIO, ENOSPC, EINVAL],
                fns: {
                    fn sendfile (out_fd: c_int, in_fd: c_int, offset: *mut off_t, count: size_t) -> ssize_t;
                    fn sendfile64 (out_fd: c_int, in_fd: c_int, offset: *mut off64_t, count: size_t) -> ssize_t;
                }
            }
            /// Move bytes between a pipe and another descriptor inside the kernel.
            splice {
                classes: [write],
                target: copy(fd_in, fd_out),
                fail: neg1,
                io: copy(len),
                does: [writes(at_ptr, off_out)],
                errnos: [EIO, ENOSPC, EDQUOT, EFBIG, EINVAL, EAGAIN, EINTR, ENOMEM],
                explore: [EIO, ENOSPC],
                fns: {
                    fn splice (fd_in: c_int, off_in: *mut off64_t, fd_out: c_int, off_out: *mut off64_t, len: size_t, flags: c_uint) -> ssize_t;
                }
            }
            /// Set the size of an open file, cutting or extending it.
            ftruncate {
                classes: [write, meta],
                target: fd(fd),
                fail: neg1,
                io: none(),
                does: [truncates(length)],
                errnos: [EIO, ENOSPC, EDQUOT, EFBIG, EPERM, ETXTBSY, EINTR],
                explore: [EIO, ENOSPC],
                fns: {
                    fn ftruncate (fd: c_int, length: off_t) -> c_int;
                    fn ftruncate64 (fd: c_int, length: off64_t) -> c_int;
                }
            }
            /// Set the size of a file by path, cutting or extending it.
            truncate {
                classes: [write, meta],
                target: path(path),
                fail: neg1,
                io: none(),
                does: [truncates(length)],
                errnos: [EIO, EACCES, ENOENT, ENOSPC, EDQUOT, EFBIG, EPERM, EROFS, ETXTBSY, EISDIR, @path, EINTR],
                explore: [EIO, ENOSPC],
                fns: {
                    fn truncate (path: *const c_char, length: off_t) -> c_int;
                    fn truncate64 (path: *const c_char, length: off64_t) -> c_int;
                }
            }
            /// Allocate, punch or zero a range of a file's disk space.
            fallocate {
                classes: [write],
                target: fd(fd),
                fail: neg1,
                io: none(),
                does: [allocates(mode, offset)],
                errnos: [ENOSPC, EOPNOTSUPP, EIO, EDQUOT, EFBIG, EINVAL, EPERM, ETXTBSY, EINTR],
                explore: [ENOSPC, EOPNOTSUPP],
                fns: {
                    fn fallocate (fd: c_int, mode: c_int, offset: off_t, len: off_t) -> c_int;
                    fn fallocate64 (fd: c_int, mode: c_int, offset: off64_t, len: off64_t) -> c_int;
                }
            }
            /// Make sure disk space is allocated for a range of a file; returns the error number.
            posix_fallocate {
                classes: [write],
                target: fd(fd),
                fail: errno_ret,
                io: none(),
                does: [allocates(0, offset)],
                errnos: [@write_data, EINVAL],
                explore: [ENOSPC, EIO],
                fns: {
                    fn posix_fallocate (fd: c_int, offset: off_t, len: off_t) -> c_int;
                    fn posix_fallocate64 (fd: c_int, offset: off64_t, len: off64_t) -> c_int;
                }
            }
            /// Tell the kernel how a file range will be accessed; returns the error number.
            posix_fadvise {
                classes: [meta],
                target: fd(fd),
                fail: errno_ret,
                io: none(),
                errnos: [ESPIPE],
                explore: [ESPIPE],
                fns: {
                    fn posix_fadvise (fd: c_int, offset: off_t, len: off_t, advice: c_int) -> c_int;
                    fn posix_fadvise64 (fd: c_int, offset: off64_t, len: off64_t, advice: c_int) -> c_int;
                }
            }
            /// Write items to a stream.
            fwrite {
                classes: [write, stdio],
                target: stream(stream),
                fail: items,
                io: fwrite(ptr, size, nmemb),
                does: [writes(stdio)],
                errnos: [@write_data, ENOMEM],
                explore: [ENOSPC, EIO],
                fns: {
                    fn fwrite | fwrite_unlocked | _IO_fwrite (ptr: *const c_void, size: size_t, nmemb: size_t, stream: *mut FILE) -> size_t;
                }
            }
            /// Write a string to a stream.
            fputs {
                classes: [write, stdio],
                target: stream(stream),
                fail: eof,
                io: none(),
                does: [writes(stdio)],
                errnos: [@write_data, ENOMEM],
                explore: [ENOSPC, EIO],
                fns: {
                    fn fputs | fputs_unlocked | _IO_fputs (s: *const c_char, stream: *mut FILE) -> c_int;
                }
            }
            /// Write one character to a stream (`__overflow` is the inline `putc`'s slow path).
            fputc {
                classes: [write, stdio],
                target: stream(stream),
                fail: eof,
                io: none(),
                does: [writes(stdio)],
                errnos: [@write_data, ENOMEM],
                explore: [ENOSPC, EIO],
                fns: {
                    fn fputc | putc | _IO_putc | fputc_unlocked | putc_unlocked (c: c_int, stream: *mut FILE) -> c_int;
                    fn __overflow (stream: *mut FILE, c: c_int) -> c_int;
                }
            }
            /// Write a string and a newline to standard output.
            puts {
                classes: [write, stdio],
                target: stdout(),
                fail: eof,
                io: none(),
                does: [writes(stdio)],
                errnos: [@write_data, ENOMEM],
                explore: [ENOSPC, EIO],
                fns: {
                    fn puts | _IO_puts (s: *const c_char) -> c_int;
                }
            }
            /// Write one character to standard output.
            putchar {
                classes: [write, stdio],
                target: stdout(),
                fail: eof,
                io: none(),
                does: [writes(stdio)],
                errnos: [@write_data, ENOMEM],
                explore: [ENOSPC, EIO],
                fns: {
                    fn putchar | putchar_unlocked (c: c_int) -> c_int;
                }
            }
            /// Write formatted output to a stream.
            fprintf {
                classes: [write, stdio],
                target: stream(stream),
                fail: eof,
                io: none(),
                does: [writes(stdio)],
                errnos: [@write_data, ENOMEM],
                explore: [ENOSPC, EIO],
                fns: {
                    #[variadic]
                    fn fprintf | _IO_fprintf (stream: *mut FILE, format: *const c_char, ...) -> c_int;
                    #[variadic]
                    fn __fprintf_chk (stream: *mut FILE, flag: c_int, format: *const c_char, ...) -> c_int;
                    fn vfprintf | _IO_vfprintf (stream: *mut FILE, format: *const c_char, ap: *mut c_void) -> c_int;
                    fn __vfprintf_chk (stream: *mut FILE, flag: c_int, format: *const c_char, ap: *mut c_void) -> c_int;
                }
            }
            /// Write formatted output to standard output.
            printf {
                classes: [write, stdio],
                target: stdout(),
                fail: eof,
                io: none(),
                does: [writes(stdio)],
                errnos: [@write_data, ENOMEM],
                explore: [ENOSPC, EIO],
                fns: {
                    #[variadic]
                    fn printf | _IO_printf (format: *const c_char, ...) -> c_int;
                    #[variadic]
                    fn __printf_chk (flag: c_int, format: *const c_char, ...) -> c_int;
                    fn vprintf (format: *const c_char, ap: *mut c_void) -> c_int;
                    fn __vprintf_chk (flag: c_int, format: *const c_char, ap: *mut c_void) -> c_int;
                }
            }
            /// Write formatted output to a file descriptor.
            dprintf {
                classes: [write],
                target: fd(fd),
                fail: neg1,
                io: none(),
                does: [writes(stdio)],
                errnos: [@write_data, ENOMEM],
                explore: [ENOSPC, EIO],
                fns: {
                    #[variadic]
                    fn dprintf (fd: c_int, format: *const c_char, ...) -> c_int;
                    #[variadic]
                    fn __dprintf_chk (fd: c_int, flag: c_int, format: *const c_char, ...) -> c_int;
                    fn vdprintf (fd: c_int, format: *const c_char, ap: *mut c_void) -> c_int;
                    fn __vdprintf_chk (fd: c_int, flag: c_int, format: *const c_char, ap: *mut c_void) -> c_int;
                }
            }
            /// Write a stream's buffered output to its file.
            fflush {
                classes: [write, stdio],
                target: stream(stream),
                fail: eof,
                io: none(),
                does: [flushes],
                errnos: [@write_data],
                explore: [ENOSPC, EIO],
                fns: {
                    fn fflush | fflush_unlocked | _IO_fflush (stream: *mut FILE) -> c_int;
                }
            }
            // ----------------------------------------------------------------- read
            /// Read into a buffer from the file offset.
            read {
                classes: [read],
                target: fd(fd),
                fail: neg1,
                io: read(buf, count),
                errnos: [EIO, EINTR, EAGAIN],
                explore: [EIO],
                fns: {
                    fn read | __read (fd: c_int, buf: *mut c_void, count: size_t) -> ssize_t;
                    fn __read_chk (fd: c_int, buf: *mut c_void, count: size_t, buflen: size_t) -> ssize_t;
                }
            }
            /// Read into a buffer from a given offset, leaving the file offset alone.
            pread {
                classes: [read],
                target: fd(fd),
                fail: neg1,
                io: read(buf, count),
                errnos: [EIO, EINTR],
                explore: [EIO],
                fns: {
                    fn pread (fd: c_int, buf: *mut c_void, count: size_t, offset: off_t) -> ssize_t;
                    fn pread64 | __pread64 (fd: c_int, buf: *mut c_void, count: size_t, offset: off64_t) -> ssize_t;
                    fn __pread_chk (fd: c_int, buf: *mut c_void, count: size_t, offset: off_t, buflen: size_t) -> ssize_t;
                    fn __pread64_chk (fd: c_int, buf: *mut c_void, count: size_t, offset: off64_t, buflen: size_t) -> ssize_t;
                }
            }
            /// Read into an array of buffers from the file offset.
            readv {
                classes: [read],
                target: fd(fd),
                fail: neg1,
                io: readv(iov, iovcnt),
                errnos: [EIO, EINTR, EAGAIN],
                explore: [EIO],
                fns: {
                    fn readv (fd: c_int, iov: *const iovec, iovcnt: c_int) -> ssize_t;
                }
            }
            /// Read into an array of buffers from a given offset.
            preadv {
                classes: [read],
                target: fd(fd),
                fail: neg1,
                io: readv(iov, iovcnt),
                errnos: [EIO, EINTR],
                explore: [EIO],
                fns: {
                    fn preadv (fd: c_int, iov: *const iovec, iovcnt: c_int, offset: off_t) -> ssize_t;
                    fn preadv64 (fd: c_int, iov: *const iovec, iovcnt: c_int, offset: off64_t) -> ssize_t;
                }
            }
            /// Read into an array of buffers from a given offset, with per-call flags (RWF_*).
            preadv2 {
                classes: [read],
                target: fd(fd),
                fail: neg1,
                io: readv(iov, iovcnt),
                errnos: [EIO, EINTR, EAGAIN, EOPNOTSUPP],
                explore: [EIO],
                fns: {
                    fn preadv2 (fd: c_int, iov: *const iovec, iovcnt: c_int, offset: off_t, flags: c_int) -> ssize_t;
                    fn preadv64v2 (fd: c_int, iov: *const iovec, iovcnt: c_int, offset: off64_t, flags: c_int) -> ssize_t;
                }
            }
            /// Read items from a stream.
            fread {
                classes: [read, stdio],
                target: stream(stream),
                fail: items,
                io: fread(ptr, size, nmemb),
                errnos: [EIO, EINTR, ENOMEM],
                explore: [EIO],
                fns: {
                    fn fread | fread_unlocked | _IO_fread (ptr: *mut c_void, size: size_t, nmemb: size_t, stream: *mut FILE) -> size_t;
                    fn __fread_chk | __fread_unlocked_chk (ptr: *mut c_void, ptrlen: size_t, size: size_t, nmemb: size_t, stream: *mut FILE) -> size_t;
                }
            }
            /// Read a line (at most a given length) from a stream.
            fgets {
                classes: [read, stdio],
                target: stream(stream),
                fail: null,
                io: none(),
                errnos: [EIO, EINTR, ENOMEM],
                explore: [EIO],
                fns: {
                    fn fgets | fgets_unlocked | _IO_fgets (s: *mut c_char, n: c_int, stream: *mut FILE) -> *mut c_char;
                    fn __fgets_chk | __fgets_unlocked_chk (s: *mut c_char, size: size_t, n: c_int, stream: *mut FILE) -> *mut c_char;
                }
            }
            /// Read one character from a stream (`__uflow` is the inline `getc`'s slow path).
            fgetc {
                classes: [read, stdio],
                target: stream(stream),
                fail: eof,
                io: none(),
                errnos: [EIO, EINTR, ENOMEM],
                explore: [EIO],
                fns: {
                    fn fgetc | getc | _IO_getc | fgetc_unlocked | getc_unlocked (stream: *mut FILE) -> c_int;
                    fn __uflow (stream: *mut FILE) -> c_int;
                }
            }
            /// Read a delimited record (a line, for `getline`) from a stream into a growing buffer.
            getdelim {
                classes: [read, stdio],
                target: stream(stream),
                fail: neg1,
                io: none(),
                errnos: [EIO, ENOMEM, EINTR],
                explore: [EIO],
                fns: {
                    fn getdelim | __getdelim (lineptr: *mut *mut c_char, n: *mut size_t, delim: c_int, stream: *mut FILE) -> ssize_t;
                    fn getline (lineptr: *mut *mut c_char, n: *mut size_t, stream: *mut FILE) -> ssize_t;
                }
            }
            /// Read the next entry of a directory stream.
            readdir {
                classes: [read, dir],
                target: dir(dirp),
                fail: null,
                io: none(),
                errnos: [EIO, ENOENT],
                explore: [EIO],
                fns: {
                    fn readdir (dirp: *mut DIR) -> *mut dirent;
                    fn readdir64 (dirp: *mut DIR) -> *mut dirent64;
                }
            }
            /// Read raw directory entries from a directory descriptor.
            getdents64 {
                classes: [read, dir],
                target: fd(fd),
                fail: neg1,
                io: none(),
                errnos: [EIO, ENOENT],
                explore: [EIO],
                fns: {
                    fn getdents64 (fd: c_int, buf: *mut c_void, count: size_t) -> ssize_t;
                }
            }
            /// Read the contents of a symbolic link by path.
            readlink {
                classes: [read, meta],
                target: path(path),
                fail: neg1,
                io: none(),
                errnos: [@lookup],
                explore: [EACCES, EIO],
                fns: {
                    fn readlink (path: *const c_char, buf: *mut c_char, bufsiz: size_t) -> ssize_t;
                    fn __readlink_chk (path: *const c_char, buf: *mut c_char, bufsiz: size_t, buflen: size_t) -> ssize_t;
                }
            }
            /// Read the contents of a symbolic link relative to a directory descriptor.
            readlinkat {
                classes: [read, meta],
                target: at(dirfd, path),
                fail: neg1,
                io: none(),
                errnos: [@lookup],
                explore: [EACCES, EIO],
                fns: {
                    fn readlinkat (dirfd: c_int, path: *const c_char, buf: *mut c_char, bufsiz: size_t) -> ssize_t;
                    fn __readlinkat_chk (dirfd: c_int, path: *const c_char, buf: *mut c_char, bufsiz: size_t, buflen: size_t) -> ssize_t;
                }
            }
            // ----------------------------------------------------------------- sync
            /// Flush a file's data and metadata to stable storage.
            fsync {
                classes: [sync],
                target: fd(fd),
                fail: neg1,
                io: none(),
                does: [syncs(file)],
                errnos: [@sync_data],
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
                does: [syncs(file)],
                errnos: [@sync_data],
                explore: [EIO],
                fns: {
                    fn fdatasync (fd: c_int) -> c_int;
                }
            }
            /// Start or wait for writeback of a byte range of a file.
            sync_file_range {
                classes: [sync],
                target: fd(fd),
                fail: neg1,
                io: none(),
                does: [syncs(range, offset, nbytes, flags)],
                errnos: [EIO, ENOSPC, ENOMEM],
                explore: [EIO],
                fns: {
                    fn sync_file_range (fd: c_int, offset: off64_t, nbytes: off64_t, flags: c_uint) -> c_int;
                }
            }
            /// Commit the buffers of the file system holding a file to stable storage.
            syncfs {
                classes: [sync],
                target: fd(fd),
                fail: neg1,
                io: none(),
                does: [syncs(fs)],
                errnos: [EIO, ENOSPC, EDQUOT],
                explore: [EIO],
                fns: {
                    fn syncfs (fd: c_int) -> c_int;
                }
            }
            /// Commit every file system's buffers; returns nothing, so it cannot fail.
            sync {
                classes: [sync],
                target: none(),
                fail: void,
                io: none(),
                does: [syncs(all)],
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
                does: [renames],
                errnos: [EIO, ENOSPC, EXDEV, EACCES, EPERM, ENOENT, EROFS, EDQUOT, EBUSY, EMLINK, ENOTEMPTY, EISDIR, @path, ENOMEM],
                explore: [EIO, EXDEV],
                fns: {
                    fn rename (oldpath: *const c_char, newpath: *const c_char) -> c_int;
                }
            }
            /// Rename a file, each name relative to a directory descriptor.
            renameat {
                classes: [meta],
                target: at2(olddirfd, oldpath, newdirfd, newpath),
                fail: neg1,
                io: none(),
                does: [renames],
                errnos: [EIO, ENOSPC, EXDEV, EACCES, EPERM, ENOENT, EROFS, EDQUOT, EBUSY, EMLINK, ENOTEMPTY, EISDIR, @path, ENOMEM],
                explore: [EIO, EXDEV],
                fns: {
                    fn renameat (olddirfd: c_int, oldpath: *const c_char, newdirfd: c_int, newpath: *const c_char) -> c_int;
                }
            }
            /// Rename a file relative to directory descriptors, with flags (no-replace, exchange).
            renameat2 {
                classes: [meta],
                target: at2(olddirfd, oldpath, newdirfd, newpath),
                fail: neg1,
                io: none(),
                does: [renames],
                errnos: [EIO, ENOSPC, EXDEV, EACCES, EPERM, ENOENT, EEXIST, EROFS, EDQUOT, EBUSY, EMLINK, ENOTEMPTY, EISDIR, @path, EINVAL, ENOSYS, ENOMEM],
                explore: [EIO, EXDEV],
                fns: {
                    fn renameat2 (olddirfd: c_int, oldpath: *const c_char, newdirfd: c_int, newpath: *const c_char, flags: c_uint) -> c_int;
                }
            }
            /// Remove a name (a file) by path.
            unlink {
                classes: [meta],
                target: path(path),
                fail: neg1,
                io: none(),
                does: [removes],
                errnos: [EACCES, EIO, EPERM, ENOENT, EBUSY, EROFS, EISDIR, @path, ENOMEM],
                explore: [EIO, EACCES],
                fns: {
                    fn unlink (path: *const c_char) -> c_int;
                }
            }
            /// Remove a file (or, with AT_REMOVEDIR, a directory) relative to a directory fd.
            unlinkat {
                classes: [meta],
                target: at(dirfd, path),
                fail: neg1,
                io: none(),
                does: [removes],
                errnos: [EACCES, EIO, EPERM, ENOENT, EBUSY, EROFS, ENOTEMPTY, EISDIR, @path, ENOMEM],
                explore: [EIO, EACCES],
                fns: {
                    fn unlinkat (dirfd: c_int, path: *const c_char, flags: c_int) -> c_int;
                }
            }
            /// Remove an empty directory.
            rmdir {
                classes: [meta, dir],
                target: path(path),
                fail: neg1,
                io: none(),
                does: [removes],
                errnos: [EACCES, EIO, ENOTEMPTY, EPERM, ENOENT, EBUSY, EROFS, @path, ENOMEM],
                explore: [EIO, EACCES],
                fns: {
                    fn rmdir (path: *const c_char) -> c_int;
                }
            }
            /// Remove a file or an empty directory by path.
            remove {
                classes: [meta],
                target: path(path),
                fail: neg1,
                io: none(),
                does: [removes],
                errnos: [EACCES, EIO, EPERM, ENOENT, EBUSY, EROFS, ENOTEMPTY, @path, ENOMEM],
                explore: [EIO, EACCES],
                fns: {
                    fn remove (path: *const c_char) -> c_int;
                }
            }
            /// Create a directory.
            mkdir {
                classes: [meta, dir],
                target: path(path),
                fail: neg1,
                io: none(),
                does: [makes],
                errnos: [EACCES, ENOSPC, EEXIST, EIO, ENOENT, EDQUOT, EROFS, EPERM, EMLINK, @path, ENOMEM],
                explore: [EIO, ENOSPC],
                fns: {
                    fn mkdir (path: *const c_char, mode: mode_t) -> c_int;
                }
            }
            /// Create a directory relative to a directory descriptor.
            mkdirat {
                classes: [meta, dir],
                target: at(dirfd, path),
                fail: neg1,
                io: none(),
                does: [makes],
                errnos: [EACCES, ENOSPC, EEXIST, EIO, ENOENT, EDQUOT, EROFS, EPERM, EMLINK, @path, ENOMEM],
                explore: [EIO, ENOSPC],
                fns: {
                    fn mkdirat (dirfd: c_int, path: *const c_char, mode: mode_t) -> c_int;
                }
            }
            /// Make a new hard link to a file.
            link {
                classes: [meta],
                target: paths(oldpath, newpath),
                fail: neg1,
                io: none(),
                does: [makes],
                errnos: [EIO, EXDEV, ENOSPC, EACCES, EPERM, EEXIST, ENOENT, EMLINK, EDQUOT, EROFS, @path, ENOMEM],
                explore: [EIO, EXDEV],
                fns: {
                    fn link (oldpath: *const c_char, newpath: *const c_char) -> c_int;
                }
            }
            /// Make a new hard link, each name relative to a directory descriptor.
            linkat {
                classes: [meta],
                target: at2(olddirfd, oldpath, newdirfd, newpath),
                fail: neg1,
                io: none(),
                does: [makes],
                errnos: [EIO, EXDEV, ENOSPC, EACCES, EPERM, EEXIST, ENOENT, EMLINK, EDQUOT, EROFS, @path, ENOMEM],
                explore: [EIO, EXDEV],
                fns: {
                    fn linkat (olddirfd: c_int, oldpath: *const c_char, newdirfd: c_int, newpath: *const c_char, flags: c_int) -> c_int;
                }
            }
            /// Make a symbolic link holding a target string.
            symlink {
                classes: [meta],
                target: paths(target, linkpath),
                fail: neg1,
                io: none(),
                does: [makes],
                errnos: [EACCES, ENOSPC, EIO, EEXIST, EPERM, ENOENT, EDQUOT, EROFS, @path, ENOMEM],
                explore: [EIO, ENOSPC],
                fns: {
                    fn symlink (target: *const c_char, linkpath: *const c_char) -> c_int;
                }
            }
            /// Make a symbolic link relative to a directory descriptor.
            symlinkat {
                classes: [meta],
                target: symlinkat(target, newdirfd, linkpath),
                fail: neg1,
                io: none(),
                does: [makes],
                errnos: [EACCES, ENOSPC, EIO, EEXIST, EPERM, ENOENT, EDQUOT, EROFS, @path, ENOMEM],
                explore: [EIO, ENOSPC],
                fns: {
                    fn symlinkat (target: *const c_char, newdirfd: c_int, linkpath: *const c_char) -> c_int;
                }
            }
            /// Get a file's status by path, following symbolic links.
            stat {
                classes: [meta],
                target: path(path),
                fail: neg1,
                io: none(),
                errnos: [@lookup],
                explore: [EACCES, EIO],
                fns: {
                    fn stat (path: *const c_char, buf: *mut stat) -> c_int;
                    fn stat64 (path: *const c_char, buf: *mut stat64) -> c_int;
                    fn __xstat (ver: c_int, path: *const c_char, buf: *mut stat) -> c_int;
                    fn __xstat64 (ver: c_int, path: *const c_char, buf: *mut stat64) -> c_int;
                }
            }
            /// Get a file's status by path, without following a final symbolic link.
            lstat {
                classes: [meta],
                target: path(path),
                fail: neg1,
                io: none(),
                errnos: [@lookup],
                explore: [EACCES, EIO],
                fns: {
                    fn lstat (path: *const c_char, buf: *mut stat) -> c_int;
                    fn lstat64 (path: *const c_char, buf: *mut stat64) -> c_int;
                    fn __lxstat (ver: c_int, path: *const c_char, buf: *mut stat) -> c_int;
                    fn __lxstat64 (ver: c_int, path: *const c_char, buf: *mut stat64) -> c_int;
                }
            }
            /// Get the status of an open file.
            fstat {
                classes: [meta],
                target: fd(fd),
                fail: neg1,
                io: none(),
                errnos: [EIO, ENOMEM],
                explore: [EIO],
                fns: {
                    fn fstat (fd: c_int, buf: *mut stat) -> c_int;
                    fn fstat64 (fd: c_int, buf: *mut stat64) -> c_int;
                    fn __fxstat (ver: c_int, fd: c_int, buf: *mut stat) -> c_int;
                    fn __fxstat64 (ver: c_int, fd: c_int, buf: *mut stat64) -> c_int;
                }
            }
            /// Get a file's status by path relative to a directory descriptor.
            fstatat {
                classes: [meta],
                target: at(dirfd, path),
                fail: neg1,
                io: none(),
                errnos: [@lookup],
                explore: [EACCES, EIO],
                fns: {
                    fn fstatat (dirfd: c_int, path: *const c_char, buf: *mut stat, flags: c_int) -> c_int;
                    fn fstatat64 (dirfd: c_int, path: *const c_char, buf: *mut stat64, flags: c_int) -> c_int;
                    fn __fxstatat (ver: c_int, dirfd: c_int, path: *const c_char, buf: *mut stat, flags: c_int) -> c_int;
                    fn __fxstatat64 (ver: c_int, dirfd: c_int, path: *const c_char, buf: *mut stat64, flags: c_int) -> c_int;
                }
            }
            /// Get a file's extended status by path relative to a directory descriptor.
            statx {
                classes: [meta],
                target: at(dirfd, path),
                fail: neg1,
                io: none(),
                errnos: [EACCES, ENOENT, EIO, @path, ENOMEM, EPERM, ENOSYS],
                explore: [EACCES, EIO],
                fns: {
                    fn statx (dirfd: c_int, path: *const c_char, flags: c_int, mask: c_uint, buf: *mut statx) -> c_int;
                }
            }
            /// Change a file's permission bits by path.
            chmod {
                classes: [meta],
                target: path(path),
                fail: neg1,
                io: none(),
                errnos: [EPERM, EACCES, EROFS, EIO, ENOENT, @path, ENOMEM],
                explore: [EPERM, EIO],
                fns: {
                    fn chmod (path: *const c_char, mode: mode_t) -> c_int;
                }
            }
            /// Change an open file's permission bits.
            fchmod {
                classes: [meta],
                target: fd(fd),
                fail: neg1,
                io: none(),
                errnos: [EPERM, EROFS, EIO],
                explore: [EPERM, EIO],
                fns: {
                    fn fchmod (fd: c_int, mode: mode_t) -> c_int;
                }
            }
            /// Change a file's permission bits by path relative to a directory descriptor.
            fchmodat {
                classes: [meta],
                target: at(dirfd, path),
                fail: neg1,
                io: none(),
                errnos: [EPERM, EACCES, EROFS, EIO, ENOENT, @path, EOPNOTSUPP, ENOMEM],
                explore: [EPERM, EIO],
                fns: {
                    fn fchmodat (dirfd: c_int, path: *const c_char, mode: mode_t, flags: c_int) -> c_int;
                }
            }
            /// Change a file's owner and group by path, following symbolic links.
            chown {
                classes: [meta],
                target: path(path),
                fail: neg1,
                io: none(),
                errnos: [EPERM, EACCES, EROFS, EIO, EDQUOT, ENOENT, @path, ENOMEM],
                explore: [EPERM, EIO],
                fns: {
                    fn chown (path: *const c_char, owner: uid_t, group: gid_t) -> c_int;
                }
            }
            /// Change a file's owner and group by path, without following a final symbolic link.
            lchown {
                classes: [meta],
                target: path(path),
                fail: neg1,
                io: none(),
                errnos: [EPERM, EACCES, EROFS, EIO, EDQUOT, ENOENT, @path, ENOMEM],
                explore: [EPERM, EIO],
                fns: {
                    fn lchown (path: *const c_char, owner: uid_t, group: gid_t) -> c_int;
                }
            }
            /// Change an open file's owner and group.
            fchown {
                classes: [meta],
                target: fd(fd),
                fail: neg1,
                io: none(),
                errnos: [EPERM, EROFS, EIO, EDQUOT],
                explore: [EPERM, EIO],
                fns: {
                    fn fchown (fd: c_int, owner: uid_t, group: gid_t) -> c_int;
                }
            }
            /// Change a file's owner and group by path relative to a directory descriptor.
            fchownat {
                classes: [meta],
                target: at(dirfd, path),
                fail: neg1,
                io: none(),
                errnos: [EPERM, EACCES, EROFS, EIO, EDQUOT, ENOENT, @path, ENOMEM],
                explore: [EPERM, EIO],
                fns: {
                    fn fchownat (dirfd: c_int, path: *const c_char, owner: uid_t, group: gid_t, flags: c_int) -> c_int;
                }
            }
            /// Set a file's access and modification times (ns) relative to a directory descriptor.
            utimensat {
                classes: [meta],
                target: at(dirfd, path),
                fail: neg1,
                io: none(),
                errnos: [EPERM, EACCES, EROFS, EIO, ENOENT, @path],
                explore: [EPERM, EIO],
                fns: {
                    fn utimensat (dirfd: c_int, path: *const c_char, times: *const timespec, flags: c_int) -> c_int;
                }
            }
            /// Set an open file's access and modification times (nanoseconds).
            futimens {
                classes: [meta],
                target: fd(fd),
                fail: neg1,
                io: none(),
                errnos: [EPERM, EACCES, EROFS, EIO],
                explore: [EPERM, EIO],
                fns: {
                    fn futimens (fd: c_int, times: *const timespec) -> c_int;
                }
            }
            /// Set a file's access and modification times (seconds) by path.
            utime {
                classes: [meta],
                target: path(path),
                fail: neg1,
                io: none(),
                errnos: [EPERM, EACCES, EROFS, EIO, ENOENT, @path],
                explore: [EPERM, EIO],
                fns: {
                    fn utime (path: *const c_char, times: *const utimbuf) -> c_int;
                }
            }
            /// Set a file's access and modification times (microseconds) by path.
            utimes {
                classes: [meta],
                target: path(path),
                fail: neg1,
                io: none(),
                errnos: [EPERM, EACCES, EROFS, EIO, ENOENT, @path],
                explore: [EPERM, EIO],
                fns: {
                    fn utimes (path: *const c_char, times: *const timeval) -> c_int;
                }
            }
            /// Set an extended attribute by path, following symbolic links.
            setxattr {
                classes: [meta],
                target: path(path),
                fail: neg1,
                io: none(),
                errnos: [EOPNOTSUPP, ENOSPC, EDQUOT, EPERM, EACCES, EIO, EEXIST, ENODATA, E2BIG, ERANGE, EROFS, ENOENT, @path, ENOMEM],
                explore: [EOPNOTSUPP, ENOSPC],
                fns: {
                    fn setxattr (path: *const c_char, name: *const c_char, value: *const c_void, size: size_t, flags: c_int) -> c_int;
                }
            }
            /// Set an extended attribute by path, without following a final symbolic link.
            lsetxattr {
                classes: [meta],
                target: path(path),
                fail: neg1,
                io: none(),
                errnos: [EOPNOTSUPP, ENOSPC, EDQUOT, EPERM, EACCES, EIO, EEXIST, ENODATA, E2BIG, ERANGE, EROFS, ENOENT, @path, ENOMEM],
                explore: [EOPNOTSUPP, ENOSPC],
                fns: {
                    fn lsetxattr (path: *const c_char, name: *const c_char, value: *const c_void, size: size_t, flags: c_int) -> c_int;
                }
            }
            /// Set an extended attribute of an open file.
            fsetxattr {
                classes: [meta],
                target: fd(fd),
                fail: neg1,
                io: none(),
                errnos: [EOPNOTSUPP, ENOSPC, EDQUOT, EPERM, EACCES, EIO, EEXIST, ENODATA, E2BIG, ERANGE, EROFS, ENOMEM],
                explore: [EOPNOTSUPP, ENOSPC],
                fns: {
                    fn fsetxattr (fd: c_int, name: *const c_char, value: *const c_void, size: size_t, flags: c_int) -> c_int;
                }
            }
            /// Read an extended attribute by path, following symbolic links.
            getxattr {
                classes: [meta],
                target: path(path),
                fail: neg1,
                io: none(),
                errnos: [ENODATA, EOPNOTSUPP, EACCES, EIO, ERANGE, E2BIG, ENOENT, @path, ENOMEM],
                explore: [EOPNOTSUPP, EIO],
                fns: {
                    fn getxattr (path: *const c_char, name: *const c_char, value: *mut c_void, size: size_t) -> ssize_t;
                }
            }
            /// Read an extended attribute by path, without following a final symbolic link.
            lgetxattr {
                classes: [meta],
                target: path(path),
                fail: neg1,
                io: none(),
                errnos: [ENODATA, EOPNOTSUPP, EACCES, EIO, ERANGE, E2BIG, ENOENT, @path, ENOMEM],
                explore: [EOPNOTSUPP, EIO],
                fns: {
                    fn lgetxattr (path: *const c_char, name: *const c_char, value: *mut c_void, size: size_t) -> ssize_t;
                }
            }
            /// Read an extended attribute of an open file.
            fgetxattr {
                classes: [meta],
                target: fd(fd),
                fail: neg1,
                io: none(),
                errnos: [ENODATA, EOPNOTSUPP, EIO, ERANGE, E2BIG, ENOMEM],
                explore: [EOPNOTSUPP, EIO],
                fns: {
                    fn fgetxattr (fd: c_int, name: *const c_char, value: *mut c_void, size: size_t) -> ssize_t;
                }
            }
            /// Remove an extended attribute by path, following symbolic links.
            removexattr {
                classes: [meta],
                target: path(path),
                fail: neg1,
                io: none(),
                errnos: [ENODATA, EOPNOTSUPP, EPERM, EACCES, EROFS, EIO, ENOENT, @path, ENOMEM],
                explore: [EOPNOTSUPP, EIO],
                fns: {
                    fn removexattr (path: *const c_char, name: *const c_char) -> c_int;
                }
            }
            /// Remove an extended attribute by path, without following a final symbolic link.
            lremovexattr {
                classes: [meta],
                target: path(path),
                fail: neg1,
                io: none(),
                errnos: [ENODATA, EOPNOTSUPP, EPERM, EACCES, EROFS, EIO, ENOENT, @path, ENOMEM],
                explore: [EOPNOTSUPP, EIO],
                fns: {
                    fn lremovexattr (path: *const c_char, name: *const c_char) -> c_int;
                }
            }
            /// Remove an extended attribute of an open file.
            fremovexattr {
                classes: [meta],
                target: fd(fd),
                fail: neg1,
                io: none(),
                errnos: [ENODATA, EOPNOTSUPP, EPERM, EROFS, EIO, ENOMEM],
                explore: [EOPNOTSUPP, EIO],
                fns: {
                    fn fremovexattr (fd: c_int, name: *const c_char) -> c_int;
                }
            }
            /// Get the statistics (free space, type) of the file system holding a path.
            statfs {
                classes: [meta],
                target: path(path),
                fail: neg1,
                io: none(),
                errnos: [EACCES, ENOENT, EIO, ENOSYS, EINTR, @path, ENOMEM],
                explore: [EACCES, EIO],
                fns: {
                    fn statfs | __statfs (path: *const c_char, buf: *mut statfs) -> c_int;
                    fn statfs64 (path: *const c_char, buf: *mut statfs64) -> c_int;
                }
            }
            /// Get the statistics (free space, type) of the file system holding an open file.
            fstatfs {
                classes: [meta],
                target: fd(fd),
                fail: neg1,
                io: none(),
                errnos: [EIO, ENOSYS, EINTR, ENOMEM],
                explore: [EIO],
                fns: {
                    fn fstatfs (fd: c_int, buf: *mut statfs) -> c_int;
                    fn fstatfs64 (fd: c_int, buf: *mut statfs64) -> c_int;
                }
            }
            /// Check whether the real user may access a file by path.
            access {
                classes: [meta],
                target: path(path),
                fail: neg1,
                io: none(),
                errnos: [EACCES, ENOENT, EROFS, ETXTBSY, EIO, @path, ENOMEM],
                explore: [EACCES, ENOENT],
                fns: {
                    fn access (path: *const c_char, mode: c_int) -> c_int;
                }
            }
            /// Check whether the user may access a file relative to a directory descriptor.
            faccessat {
                classes: [meta],
                target: at(dirfd, path),
                fail: neg1,
                io: none(),
                errnos: [EACCES, ENOENT, EROFS, ETXTBSY, EIO, @path, ENOMEM],
                explore: [EACCES, ENOENT],
                fns: {
                    fn faccessat (dirfd: c_int, path: *const c_char, mode: c_int, flags: c_int) -> c_int;
                }
            }
            // ----------------------------------------------------------------- lock
            /// Control an open file: record locks, descriptor and status flags, duplication.
            fcntl {
                classes: [lock, fd],
                target: fd(fd),
                fail: neg1,
                io: none(),
                does: [dups(fd, cmd)],
                errnos: [EAGAIN, EACCES, ENOLCK, EDEADLK, EINTR, EMFILE, EPERM, EBUSY],
                explore: [EAGAIN, ENOLCK],
                fns: {
                    #[variadic]
                    fn fcntl | fcntl64 | __fcntl (fd: c_int, cmd: c_int, arg: c_ulong) -> c_int;
                }
            }
            /// Apply or remove a whole-file advisory lock.
            flock {
                classes: [lock],
                target: fd(fd),
                fail: neg1,
                io: none(),
                errnos: [EAGAIN, ENOLCK, EINTR],
                explore: [EAGAIN, ENOLCK],
                fns: {
                    fn flock (fd: c_int, operation: c_int) -> c_int;
                }
            }
            /// Apply, test or remove a POSIX lock on a section of a file.
            lockf {
                classes: [lock],
                target: fd(fd),
                fail: neg1,
                io: none(),
                errnos: [EAGAIN, EACCES, ENOLCK, EDEADLK, EINTR],
                explore: [EAGAIN, ENOLCK],
                fns: {
                    fn lockf (fd: c_int, cmd: c_int, len: off_t) -> c_int;
                    fn lockf64 (fd: c_int, cmd: c_int, len: off64_t) -> c_int;
                }
            }
            // ---------------------------------------------------------------- close
            /// Close a file descriptor; the descriptor is released even when it fails.
            close {
                classes: [close],
                target: fd(fd),
                fail: neg1,
                io: none(),
                does: [closes],
                errnos: [@sync_data],
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
                does: [flushes, closes],
                errnos: [EIO, ENOSPC, EDQUOT, EFBIG, EINTR],
                explore: [EIO, ENOSPC],
                fns: {
                    fn fclose | _IO_fclose (stream: *mut FILE) -> c_int;
                }
            }
            /// Close a directory stream; the stream is freed even when it fails.
            closedir {
                classes: [close, dir],
                target: dir(dirp),
                fail: neg1,
                io: none(),
                does: [closes],
                errnos: [EIO, EINTR],
                explore: [EIO],
                fns: {
                    fn closedir (dirp: *mut DIR) -> c_int;
                }
            }
            /// Close every descriptor in a range (descriptor bookkeeping; not worth failing).
            close_range {
                classes: [close, fd],
                target: none(),
                fail: neg1,
                io: none(),
                does: [closes(range, first, last)],
                errnos: [],
                explore: [],
                fns: {
                    fn close_range (first: c_uint, last: c_uint, flags: c_int) -> c_int;
                }
            }
            /// Close every descriptor from a number up; returns nothing.
            closefrom {
                classes: [close, fd],
                target: none(),
                fail: void,
                io: none(),
                does: [closes(from, lowfd)],
                errnos: [],
                explore: [],
                fns: {
                    fn closefrom (lowfd: c_int) -> ();
                }
            }
            // ----------------------------------------------------------------- mmap
            /// Map a file (or anonymous memory) into the address space.
            mmap {
                classes: [mmap],
                target: fd(fd),
                fail: map_failed,
                io: none(),
                does: [maps(prot, flags, length, offset)],
                errnos: [ENOMEM, ENODEV, EACCES, EAGAIN, EPERM, ENFILE],
                explore: [ENOMEM, ENODEV],
                fns: {
                    fn mmap (addr: *mut c_void, length: size_t, prot: c_int, flags: c_int, fd: c_int, offset: off_t) -> *mut c_void;
                    fn mmap64 (addr: *mut c_void, length: size_t, prot: c_int, flags: c_int, fd: c_int, offset: off64_t) -> *mut c_void;
                }
            }
            /// Remove a memory mapping.
            munmap {
                classes: [mmap],
                target: none(),
                fail: neg1,
                io: none(),
                errnos: [ENOMEM],
                explore: [],
                fns: {
                    fn munmap (addr: *mut c_void, length: size_t) -> c_int;
                }
            }
            /// Write a shared file mapping's dirty pages back to the file.
            msync {
                classes: [mmap, sync],
                target: mapping(addr),
                fail: neg1,
                io: none(),
                does: [syncs(mapping, addr, length, flags)],
                errnos: [EIO, ENOSPC, EDQUOT],
                explore: [EIO],
                fns: {
                    fn msync (addr: *mut c_void, length: size_t, flags: c_int) -> c_int;
                }
            }
            // ------------------------------------------------------------------- fd
            /// Duplicate a descriptor onto the lowest free number.
            dup {
                classes: [fd],
                target: fd(oldfd),
                fail: neg1,
                io: none(),
                does: [dups(oldfd)],
                errnos: [EMFILE],
                explore: [],
                fns: {
                    fn dup (oldfd: c_int) -> c_int;
                }
            }
            /// Duplicate a descriptor onto a chosen number, closing what was there.
            dup2 {
                classes: [fd],
                target: fd(oldfd),
                fail: neg1,
                io: none(),
                does: [dups(oldfd)],
                errnos: [EBUSY, EINTR],
                explore: [],
                fns: {
                    fn dup2 | __dup2 (oldfd: c_int, newfd: c_int) -> c_int;
                }
            }
            /// Duplicate a descriptor onto a chosen number, with flags (O_CLOEXEC).
            dup3 {
                classes: [fd],
                target: fd(oldfd),
                fail: neg1,
                io: none(),
                does: [dups(oldfd)],
                errnos: [EBUSY, EINTR],
                explore: [],
                fns: {
                    fn dup3 (oldfd: c_int, newfd: c_int, flags: c_int) -> c_int;
                }
            }
            /// Move a descriptor's file offset (or find data and holes).
            lseek {
                classes: [fd],
                target: fd(fd),
                fail: neg1,
                io: none(),
                errnos: [ESPIPE],
                explore: [],
                fns: {
                    fn lseek | __lseek (fd: c_int, offset: off_t, whence: c_int) -> off_t;
                    fn lseek64 (fd: c_int, offset: off64_t, whence: c_int) -> off64_t;
                }
            }
            /// Send a device- or file-system-specific request on a descriptor (FICLONE, TCGETS…).
            ioctl {
                classes: [fd],
                target: fd(fd),
                fail: neg1,
                io: none(),
                errnos: [EOPNOTSUPP, ENOTTY, EXDEV, EIO, EPERM, EACCES, ENOSPC, EINTR],
                explore: [EOPNOTSUPP, EIO],
                fns: {
                    #[variadic]
                    fn ioctl (fd: c_int, request: c_ulong, arg: c_ulong) -> c_int;
                }
            }
            // ----------------------------------------------------------------- exec
            /// Replace the program with another, with an explicit environment.
            execve {
                classes: [exec],
                target: path(path),
                fail: neg1,
                io: none(),
                does: [execs],
                errnos: [@exec],
                explore: [ENOENT, EACCES],
                fns: {
                    fn execve (path: *const c_char, argv: *const *const c_char, envp: *const *const c_char) -> c_int;
                    #[variadic]
                    fn execle (path: *const c_char, arg: *const c_char, ...) -> c_int;
                }
            }
            /// Replace the program with another, keeping the environment.
            execv {
                classes: [exec],
                target: path(path),
                fail: neg1,
                io: none(),
                does: [execs],
                errnos: [@exec],
                explore: [ENOENT, EACCES],
                fns: {
                    fn execv (path: *const c_char, argv: *const *const c_char) -> c_int;
                    #[variadic]
                    fn execl (path: *const c_char, arg: *const c_char, ...) -> c_int;
                }
            }
            /// Replace the program with another found on PATH.
            execvp {
                classes: [exec],
                target: path(path),
                fail: neg1,
                io: none(),
                does: [execs],
                errnos: [@exec],
                explore: [ENOENT, EACCES],
                fns: {
                    fn execvp (path: *const c_char, argv: *const *const c_char) -> c_int;
                    fn execvpe (path: *const c_char, argv: *const *const c_char, envp: *const *const c_char) -> c_int;
                    #[variadic]
                    fn execlp (path: *const c_char, arg: *const c_char, ...) -> c_int;
                }
            }
            /// Replace the program with the one an open descriptor refers to.
            fexecve {
                classes: [exec],
                target: fd(fd),
                fail: neg1,
                io: none(),
                does: [execs],
                errnos: [ENOENT, EACCES, ENOEXEC, E2BIG, ENOMEM, ETXTBSY, ENOSYS],
                explore: [EACCES],
                fns: {
                    fn fexecve (fd: c_int, argv: *const *const c_char, envp: *const *const c_char) -> c_int;
                }
            }
            /// Replace the program with another, relative to a directory descriptor.
            execveat {
                classes: [exec],
                target: at(dirfd, path),
                fail: neg1,
                io: none(),
                does: [execs],
                errnos: [@exec],
                explore: [ENOENT, EACCES],
                fns: {
                    fn execveat (dirfd: c_int, path: *const c_char, argv: *const *const c_char, envp: *const *const c_char, flags: c_int) -> c_int;
                }
            }
        }
    };
}

/// Parses the table's entries (the one place their shape is written) and hands them to the
/// callback in the normalized form of the module docs.
#[doc(hidden)]
#[macro_export]
macro_rules! __libc_normalize {
    ($callback:ident; $(
        $(#[doc = $doc:literal])*
        $point:ident {
            classes: [$($class:ident),* $(,)?],
            target: $target:ident ( $($targ:ident),* ),
            fail: $fail:ident,
            io: $io:ident ( $($ioarg:ident),* ),
            $(does: [$($role:ident $(( $($form:tt)* ))?),* $(,)?],)?
            errnos: [$($errno:tt)*],
            explore: [$($xerrno:ident),* $(,)?],
            fns: {
                $(
                    $(#[$attr:ident])*
                    fn $fname:ident $(| $falias:ident)* ( $($param:tt)* ) -> $ret:ty;
                )+
            }
        }
    )*) => {
        $callback! { $(
            $point [$($doc)*] [$($class)*] [$target ($($targ),*)] $fail [$io ($($ioarg),*)]
            [$($($role ($($($form)*)?))*)?] [$($errno)*] [$($xerrno)*]
            [$( [$($attr)*] [$fname $($falias)*] ($($param)*) -> $ret; )+];
        )* }
    };
}
