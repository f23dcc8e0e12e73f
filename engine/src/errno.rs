//! Linux errno and signal numbers, by name.
//!
//! The engine is plain safe Rust with no dependency on `libc`, so it carries its own table of
//! the Linux (x86-64 and generic) errno and signal numbers. Rules name them (`error(ENOSPC)`,
//! `kill(TERM)`), the libc table lists the realistic ones per function, and the log prints
//! them back by name.

use std::fmt;

/// An errno value, such as `ENOSPC` (28).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Errno(pub i32);

macro_rules! errnos {
    ($($name:ident = $value:literal,)*) => {
        impl Errno {
            $(
                #[doc = concat!("`", stringify!($name), "` (", stringify!($value), ")")]
                pub const $name: Errno = Errno($value);
            )*
        }
        /// Every errno name with its value; the first name listed for a value is its
        /// preferred spelling (`EAGAIN` before `EWOULDBLOCK`).
        pub const ERRNO_NAMES: &[(&str, Errno)] = &[$((stringify!($name), Errno($value)),)*];
    };
}

errnos! {
EPERM = 1,
ENOENT = 2,
ESRCH = 3,
EINTR = 4,
EIO = 5,
ENXIO = 6,
E2BIG = 7,
ENOEXEC = 8,
EBADF = 9,
ECHILD = 10,
EAGAIN = 11,
EWOULDBLOCK = 11,
ENOMEM = 12,
EACCES = 13,
EFAULT = 14,
ENOTBLK = 15,
EBUSY = 16,
EEXIST = 17,
EXDEV = 18,
ENODEV = 19,
ENOTDIR = 20,
EISDIR = 21,
EINVAL = 22,
ENFILE = 23,
EMFILE = 24,
ENOTTY = 25,
ETXTBSY = 26,
EFBIG = 27,
ENOSPC = 28,
ESPIPE = 29,
EROFS = 30,
EMLINK = 31,
EPIPE = 32,
EDOM = 33,
ERANGE = 34,
EDEADLK = 35,
EDEADLOCK = 35,
ENAMETOOLONG = 36,
ENOLCK = 37,
ENOSYS = 38,
ENOTEMPTY = 39,
ELOOP = 40,
ENOMSG = 42,
EIDRM = 43,
ECHRNG = 44,
EL2NSYNC = 45,
EL3HLT = 46,
EL3RST = 47,
ELNRNG = 48,
EUNATCH = 49,
ENOCSI = 50,
EL2HLT = 51,
EBADE = 52,
EBADR = 53,
EXFULL = 54,
ENOANO = 55,
EBADRQC = 56,
EBADSLT = 57,
EBFONT = 59,
ENOSTR = 60,
ENODATA = 61,
ETIME = 62,
ENOSR = 63,
ENONET = 64,
ENOPKG = 65,
EREMOTE = 66,
ENOLINK = 67,
EADV = 68,
ESRMNT = 69,
ECOMM = 70,
EPROTO = 71,
EMULTIHOP = 72,
EDOTDOT = 73,
EBADMSG = 74,
EOVERFLOW = 75,
ENOTUNIQ = 76,
EBADFD = 77,
EREMCHG = 78,
ELIBACC = 79,
ELIBBAD = 80,
ELIBSCN = 81,
ELIBMAX = 82,
ELIBEXEC = 83,
EILSEQ = 84,
ERESTART = 85,
ESTRPIPE = 86,
EUSERS = 87,
ENOTSOCK = 88,
EDESTADDRREQ = 89,
EMSGSIZE = 90,
EPROTOTYPE = 91,
ENOPROTOOPT = 92,
EPROTONOSUPPORT = 93,
ESOCKTNOSUPPORT = 94,
EOPNOTSUPP = 95,
ENOTSUP = 95,
EPFNOSUPPORT = 96,
EAFNOSUPPORT = 97,
EADDRINUSE = 98,
EADDRNOTAVAIL = 99,
ENETDOWN = 100,
ENETUNREACH = 101,
ENETRESET = 102,
ECONNABORTED = 103,
ECONNRESET = 104,
ENOBUFS = 105,
EISCONN = 106,
ENOTCONN = 107,
ESHUTDOWN = 108,
ETOOMANYREFS = 109,
ETIMEDOUT = 110,
ECONNREFUSED = 111,
EHOSTDOWN = 112,
EHOSTUNREACH = 113,
EALREADY = 114,
EINPROGRESS = 115,
ESTALE = 116,
EUCLEAN = 117,
ENOTNAM = 118,
ENAVAIL = 119,
EISNAM = 120,
EREMOTEIO = 121,
EDQUOT = 122,
ENOMEDIUM = 123,
EMEDIUMTYPE = 124,
ECANCELED = 125,
ENOKEY = 126,
EKEYEXPIRED = 127,
EKEYREVOKED = 128,
EKEYREJECTED = 129,
EOWNERDEAD = 130,
ENOTRECOVERABLE = 131,
ERFKILL = 132,
EHWPOISON = 133,}

impl Errno {
    /// The errno called `name` (`"ENOSPC"`), if there is one.
    pub fn from_name(name: &str) -> Option<Errno> {
        ERRNO_NAMES.iter().find(|(n, _)| *n == name).map(|&(_, e)| e)
    }

    /// The preferred name of this errno, or `None` for a number with no name.
    pub fn name(self) -> Option<&'static str> {
        ERRNO_NAMES.iter().find(|(_, e)| *e == self).map(|&(n, _)| n)
    }
}

impl fmt::Display for Errno {
    /// The name (`ENOSPC`), or the bare number for an errno without one.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "{}", self.0),
        }
    }
}

impl fmt::Debug for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

/// A signal number, such as `SIGKILL` (9).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Signal(pub i32);

/// The standard Linux signals by name, without the `SIG` prefix.
pub const SIGNAL_NAMES: &[(&str, Signal)] = &[
    ("HUP", Signal(1)),
    ("INT", Signal(2)),
    ("QUIT", Signal(3)),
    ("ILL", Signal(4)),
    ("TRAP", Signal(5)),
    ("ABRT", Signal(6)),
    ("BUS", Signal(7)),
    ("FPE", Signal(8)),
    ("KILL", Signal(9)),
    ("USR1", Signal(10)),
    ("SEGV", Signal(11)),
    ("USR2", Signal(12)),
    ("PIPE", Signal(13)),
    ("ALRM", Signal(14)),
    ("TERM", Signal(15)),
    ("STKFLT", Signal(16)),
    ("CHLD", Signal(17)),
    ("CONT", Signal(18)),
    ("STOP", Signal(19)),
    ("TSTP", Signal(20)),
    ("TTIN", Signal(21)),
    ("TTOU", Signal(22)),
    ("URG", Signal(23)),
    ("XCPU", Signal(24)),
    ("XFSZ", Signal(25)),
    ("VTALRM", Signal(26)),
    ("PROF", Signal(27)),
    ("WINCH", Signal(28)),
    ("IO", Signal(29)),
    ("PWR", Signal(30)),
    ("SYS", Signal(31)),
];

impl Signal {
    /// `SIGKILL`, the default of the `kill` task.
    pub const KILL: Signal = Signal(9);

    /// The signal called `name`, with or without the `SIG` prefix (`KILL`, `SIGKILL`).
    pub fn from_name(name: &str) -> Option<Signal> {
        let bare = name.strip_prefix("SIG").unwrap_or(name);
        SIGNAL_NAMES.iter().find(|(n, _)| *n == bare).map(|&(_, s)| s)
    }

    /// The name without the `SIG` prefix, or `None` for a real-time or unknown number.
    pub fn name(self) -> Option<&'static str> {
        SIGNAL_NAMES.iter().find(|(_, s)| *s == self).map(|&(n, _)| n)
    }
}

impl fmt::Display for Signal {
    /// `KILL`, `TERM`, … or the bare number.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "{}", self.0),
        }
    }
}

impl fmt::Debug for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SIG{self}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        assert_eq!(Errno::from_name("ENOSPC"), Some(Errno(28)));
        assert_eq!(Errno(28).to_string(), "ENOSPC");
        assert_eq!(Errno::from_name("EWOULDBLOCK"), Some(Errno::EAGAIN));
        assert_eq!(Errno::EAGAIN.to_string(), "EAGAIN");
        assert_eq!(Errno::from_name("ENOTSUP"), Some(Errno::EOPNOTSUPP));
        assert_eq!(Errno(4000).to_string(), "4000");
        assert_eq!(Signal::from_name("SIGTERM"), Some(Signal(15)));
        assert_eq!(Signal::from_name("TERM"), Some(Signal(15)));
        assert_eq!(Signal(9).to_string(), "KILL");
    }
}
