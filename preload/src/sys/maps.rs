//! The file mapped at an address, as `/proc/self/maps` lists it: the target of `msync`, whose
//! only argument that names a file is an address. Raw system calls, and the caller's buffer.

use super::kfile::{close, open_proc};
use libc::c_long;

/// The path of the file mapped at `addr` into `out` (its length), or `None` for an address
/// no file is mapped at (anonymous memory, or none) or a path longer than `out` can hold
/// with its line. Each line of `/proc/self/maps` is gathered in `out` and read when complete:
/// `START-END PERMS OFFSET DEV INODE PATH`.
pub fn file_at(addr: usize, out: &mut [u8]) -> Option<usize> {
    let fd = open_proc(c"/proc/self/maps");
    if fd < 0 {
        return None;
    }
    let mut chunk = [0u8; 256];
    let (mut len, mut too_long, mut found) = (0usize, false, None);
    'read: loop {
        // SAFETY: reading into our own stack buffer, its length passed.
        let n = unsafe {
            libc::syscall(libc::SYS_read, fd as c_long, chunk.as_mut_ptr(), chunk.len() as c_long)
        };
        if n <= 0 {
            break;
        }
        for &b in &chunk[..n as usize] {
            if b != b'\n' {
                match out.get_mut(len) {
                    Some(slot) => *slot = b,
                    None => too_long = true,
                }
                len += 1;
                continue;
            }
            if !too_long && let Some((start, at)) = path_if_holds(&out[..len], addr) {
                out.copy_within(start..len, 0);
                found = Some(at);
                break 'read;
            }
            (len, too_long) = (0, false);
        }
    }
    close(fd);
    found
}

/// Where the path starts in `line`, and its length, if the line's range holds `addr` and it
/// maps a file (an absolute path; a deleted file's ` (deleted)` is left on).
fn path_if_holds(line: &[u8], addr: usize) -> Option<(usize, usize)> {
    let dash = line.iter().position(|b| *b == b'-')?;
    let space = line.iter().position(|b| *b == b' ')?;
    let start = hex(&line[..dash])?;
    let end = hex(line.get(dash + 1..space)?)?;
    if !(start..end).contains(&addr) {
        return None;
    }
    let path = line.iter().position(|b| *b == b'/')?;
    Some((path, line.len() - path))
}

fn hex(digits: &[u8]) -> Option<usize> {
    digits.iter().try_fold(0usize, |n, d| {
        let v = (*d as char).to_digit(16)? as usize;
        n.checked_mul(16)?.checked_add(v)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_names_its_file_when_it_holds_the_address() {
        let line = b"7f00a000-7f00c000 rw-s 00000000 08:01 1234                       /data/x.mdb";
        let (at, n) = path_if_holds(line, 0x7f00b000).unwrap();
        assert_eq!(&line[at..at + n], b"/data/x.mdb");
        assert_eq!(path_if_holds(line, 0x7f00c000), None, "the end is not in the range");
        assert_eq!(path_if_holds(b"7f00a000-7f00c000 rw-p 00000000 00:00 0 ", 0x7f00a000), None);
    }

    #[test]
    fn this_process_finds_the_file_it_mapped() {
        let exe = std::fs::File::open("/proc/self/exe").unwrap();
        use std::os::fd::AsRawFd as _;
        // SAFETY: a read-only private mapping of a file we hold open, unmapped below.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                4096,
                libc::PROT_READ,
                libc::MAP_PRIVATE,
                exe.as_raw_fd(),
                0,
            )
        };
        assert_ne!(p, libc::MAP_FAILED);
        let mut out = [0u8; 4096];
        let n = file_at(p as usize + 100, &mut out);
        let me = std::fs::read_link("/proc/self/exe").unwrap();
        assert_eq!(n.map(|n| &out[..n]), Some(me.as_os_str().as_encoded_bytes()));
        // SAFETY: the mapping made above.
        unsafe { libc::munmap(p, 4096) };
        assert_eq!(file_at(8, &mut out), None);
    }
}
