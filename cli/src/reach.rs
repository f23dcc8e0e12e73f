//! Can the preload reach a program? `LD_PRELOAD` is honoured only by the dynamic loader, so a
//! statically linked program (no `PT_INTERP`: Go binaries, musl static builds) never loads
//! it, a 32-bit program cannot load a 64-bit library, and the loader ignores `LD_PRELOAD`
//! paths for a setuid or setgid program that changes our identity.
#![forbid(unsafe_code)]

use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

/// Looks `program` up as `execvp` would: a name with a `/` is a path, otherwise each
/// directory of `PATH` in turn. `None` when there is no such file.
pub fn resolve(program: &Path) -> Option<PathBuf> {
    if program.as_os_str().as_encoded_bytes().contains(&b'/') {
        return program.exists().then(|| program.to_path_buf());
    }
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into());
    std::env::split_paths(&path).map(|dir| dir.join(program)).find(|p| p.is_file())
}

/// Why the preload cannot act in the program at `path`, if it cannot.
pub fn unreachable_reason(path: &Path) -> Option<String> {
    let meta = std::fs::metadata(path).ok()?;
    let euid = nix::unistd::geteuid().as_raw();
    let egid = nix::unistd::getegid().as_raw();
    if meta.mode() & 0o4000 != 0 && meta.uid() != euid {
        return Some("it is setuid, so the loader ignores LD_PRELOAD".into());
    }
    if meta.mode() & 0o2000 != 0 && meta.gid() != egid {
        return Some("it is setgid, so the loader ignores LD_PRELOAD".into());
    }
    let head = read_head(path)?;
    match elf_kind(&head)? {
        Elf::Static => Some("it is statically linked, so no preload library reaches it".into()),
        Elf::ThirtyTwoBit => Some("it is a 32-bit program; libfailinject.so is 64-bit".into()),
        Elf::Dynamic => None,
    }
}

/// Whether the program at `path` is a 64-bit ELF program with no dynamic loader.
pub fn is_static(path: &Path) -> bool {
    read_head(path).and_then(|h| elf_kind(&h)) == Some(Elf::Static)
}

/// Whether the program at `path` is a Go program (its build info, `\xff Go buildinf:`, or a
/// `.note.go.buildid` section is in the file): the Go runtime makes its system calls itself,
/// so even a dynamically linked (cgo) Go program loads the preload but shows it only the calls
/// of its C code.
pub fn is_go(path: &Path) -> bool {
    use std::io::Read as _;
    // The build info sits in the data segment, in the first megabytes of any Go binary; a
    // huge program is not read whole for it.
    let mut bytes = Vec::new();
    let read = std::fs::File::open(path).and_then(|f| f.take(64 << 20).read_to_end(&mut bytes));
    read.is_ok() && has_go_buildinfo(&bytes)
}

/// The build info's magic, or the name of the section holding the Go build ID
/// (`.note.go.buildid`, in the section names of every Go binary the linker wrote).
fn has_go_buildinfo(bytes: &[u8]) -> bool {
    const MAGIC: &[u8] = b"\xff Go buildinf:";
    const NOTE: &[u8] = b".note.go.buildid";
    bytes.windows(MAGIC.len()).any(|w| w == MAGIC) || bytes.windows(NOTE.len()).any(|w| w == NOTE)
}

fn read_head(path: &Path) -> Option<Vec<u8>> {
    use std::io::Read as _;
    let mut buf = Vec::new();
    std::fs::File::open(path).ok()?.take(64 * 1024).read_to_end(&mut buf).ok()?;
    Some(buf)
}

#[derive(Debug, PartialEq)]
enum Elf {
    Dynamic,
    Static,
    ThirtyTwoBit,
}

/// Reads the ELF header and program headers from the first bytes of a file; `None` for
/// anything that is not a 64- or 32-bit little-endian ELF file (scripts, for one: their
/// interpreter is what runs).
fn elf_kind(b: &[u8]) -> Option<Elf> {
    if b.get(..4)? != b"\x7fELF" || *b.get(5)? != 1 {
        return None;
    }
    match b.get(4)? {
        1 => return Some(Elf::ThirtyTwoBit),
        2 => {}
        _ => return None,
    }
    const PT_INTERP: u32 = 3;
    let interp = program_headers(b)?.iter().any(|&(kind, _)| kind == PT_INTERP);
    Some(if interp { Elf::Dynamic } else { Elf::Static })
}

/// The type and virtual address of each program header of a 64-bit little-endian ELF file.
fn program_headers(b: &[u8]) -> Option<Vec<(u32, u64)>> {
    if b.get(..4)? != b"\x7fELF" || *b.get(4)? != 2 || *b.get(5)? != 1 {
        return None;
    }
    let u16_at = |o: usize| Some(u16::from_le_bytes(b.get(o..o + 2)?.try_into().ok()?));
    let u32_at = |o: usize| Some(u32::from_le_bytes(b.get(o..o + 4)?.try_into().ok()?));
    let u64_at = |o: usize| Some(u64::from_le_bytes(b.get(o..o + 8)?.try_into().ok()?));
    let phoff = usize::try_from(u64_at(0x20)?).ok()?;
    let (size, count) = (usize::from(u16_at(0x36)?), usize::from(u16_at(0x38)?));
    (0..count)
        .map(|i| {
            let at = phoff.checked_add(i.checked_mul(size)?)?;
            Some((u32_at(at)?, u64_at(at.checked_add(0x10)?)?))
        })
        .collect()
}

/// The lowest `PT_LOAD` address of a 64-bit ELF file, page-aligned: 0 for PIE programs and
/// libraries, the link address (0x400000) for others.
pub fn lowest_load_address(path: &Path) -> Option<u64> {
    const PT_LOAD: u32 = 1;
    let headers = program_headers(&read_head(path)?)?;
    headers.iter().filter(|&&(kind, _)| kind == PT_LOAD).map(|&(_, v)| v & !0xfff).min()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dynamic_programs_are_reachable() {
        let sh = resolve(Path::new("sh")).expect("sh is on PATH");
        assert_eq!(unreachable_reason(&sh), None);
        assert_eq!(
            elf_kind(&read_head(&std::env::current_exe().unwrap()).unwrap()),
            Some(Elf::Dynamic)
        );
    }

    #[test]
    fn scripts_and_garbage_are_not_elf() {
        assert_eq!(elf_kind(b"#!/bin/sh\n"), None);
        assert_eq!(elf_kind(b"\x7fELF"), None);
        assert_eq!(elf_kind(b""), None);
    }

    #[test]
    fn go_programs_are_known_by_their_build_info() {
        let mut go = b"\x7fELF....".to_vec();
        go.extend_from_slice(b"\xff Go buildinf:\x08\x02");
        assert!(has_go_buildinfo(&go));
        assert!(has_go_buildinfo(b"\x7fELF...\0.text\0.note.go.buildid\0"));
        assert!(!has_go_buildinfo(b"\x7fELF plain C"));
        let sh = resolve(Path::new("sh")).expect("sh is on PATH");
        assert!(!is_go(&sh));
    }

    #[test]
    fn missing_programs_do_not_resolve() {
        assert_eq!(resolve(Path::new("no-such-program-failinject")), None);
        assert_eq!(resolve(Path::new("./no/such/path")), None);
    }
}
