//! Turning the log's frames (`module+0xoffset [symbol]`) into functions and source lines,
//! with the module's debug info where it has some (`addr2line`).
//!
//! The log names modules by file name only; the program is found from the command line and
//! libraries in the usual library directories. A frame that cannot be improved is kept as
//! the log wrote it (it has the nearest exported symbol when the loader knew one).
#![forbid(unsafe_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};

const LIBRARY_DIRS: [&str; 6] = [
    "/lib/x86_64-linux-gnu",
    "/usr/lib/x86_64-linux-gnu",
    "/lib64",
    "/usr/lib64",
    "/usr/lib",
    "/usr/local/lib",
];

/// Symbolizes frames; caches each module's debug info.
pub struct Symbolizer {
    program: Option<PathBuf>,
    modules: HashMap<String, Option<Module>>,
}

struct Module {
    loader: addr2line::Loader,
    /// The file's function symbols (`.symtab`, else `.dynsym`): start, size, name, sorted.
    symbols: Vec<(u64, u64, String)>,
    /// The lowest load address of the file: the log's offsets are relative to where the
    /// module was mapped, which is this address for a non-PIE program and 0 otherwise.
    base: u64,
}

impl Symbolizer {
    /// `program` is the command's executable.
    pub fn new(program: Option<PathBuf>) -> Symbolizer {
        Symbolizer { program, modules: HashMap::new() }
    }

    /// `prog+0x1234 [sym]` → `prog+0x1234 save_file (save.c:42)` when debug info or the
    /// symbol table says so; otherwise the loader's symbol is kept and marked as what it is,
    /// the nearest exported symbol below the address (`[near sym]`), which for a stripped
    /// library is often another function altogether.
    pub fn frame(&mut self, frame: &str) -> String {
        let improved = self.resolve(frame);
        improved.unwrap_or_else(|| match frame.split_once(' ') {
            Some((head, sym)) => format!("{head} [near {sym}]"),
            None => frame.to_string(),
        })
    }

    fn resolve(&mut self, frame: &str) -> Option<String> {
        let head = frame.split_whitespace().next().unwrap_or(frame);
        let (module, offset) = head.rsplit_once("+0x")?;
        let offset = u64::from_str_radix(offset, 16).ok()?;
        if !self.modules.contains_key(module) {
            let path = self.locate(module);
            let loaded = path.and_then(|p| {
                let loader = addr2line::Loader::new(&p).ok()?;
                let symbols = function_symbols(&p);
                let base = crate::reach::lowest_load_address(&p).unwrap_or(0);
                Some(Module { loader, symbols, base })
            });
            self.modules.insert(module.to_string(), loaded);
        }
        let m = self.modules.get(module)?.as_ref()?;
        // A return address points after the call; the call is the byte before.
        let probe = (m.base + offset).saturating_sub(1);
        let function = m.loader.find_frames(probe).ok().and_then(|mut frames| {
            let mut last = None;
            while let Ok(Some(f)) = frames.next() {
                last = Some(f);
            }
            let f = last?;
            let name = f.function.as_ref()?.demangle().ok()?.into_owned();
            let at = f.location.and_then(|l| {
                let file = Path::new(l.file?).file_name()?.to_string_lossy().into_owned();
                Some(format!(" ({file}:{})", l.line?))
            });
            Some(format!("{name}{}", at.unwrap_or_default()))
        });
        let function = function.or_else(|| symbol_at(&m.symbols, probe))?;
        Some(format!("{head} {function}"))
    }

    fn locate(&self, module: &str) -> Option<PathBuf> {
        if let Some(p) = &self.program
            && p.file_name().is_some_and(|n| n == module)
        {
            return Some(p.clone());
        }
        LIBRARY_DIRS.iter().map(|d| Path::new(d).join(module)).find(|p| p.is_file())
    }
}

/// The function symbols of the ELF file at `path`, with their sizes, sorted by address.
fn function_symbols(path: &Path) -> Vec<(u64, u64, String)> {
    use object::{Object, ObjectSymbol, SymbolKind};
    let Ok(data) = std::fs::read(path) else { return Vec::new() };
    let Ok(file) = object::File::parse(&*data) else { return Vec::new() };
    let table: Vec<_> = if file.symbols().next().is_some() {
        file.symbols().collect()
    } else {
        file.dynamic_symbols().collect()
    };
    let mut out: Vec<(u64, u64, String)> = table
        .into_iter()
        .filter(|s| s.kind() == SymbolKind::Text && s.address() != 0)
        .filter_map(|s| Some((s.address(), s.size(), s.name().ok()?.to_string())))
        .collect();
    out.sort();
    out
}

/// The symbol containing `addr`, or the nearest one below it marked as such (`[near f]`):
/// in a library without its full symbol table an internal function has no name, and the
/// exported one before it is another function altogether.
fn symbol_at(symbols: &[(u64, u64, String)], addr: u64) -> Option<String> {
    let i = symbols.partition_point(|(start, _, _)| *start <= addr).checked_sub(1)?;
    let (start, size, name) = &symbols[i];
    let name = addr2line::demangle_auto(std::borrow::Cow::from(name.as_str()), None).into_owned();
    Some(if addr < start + size { name } else { format!("[near {name}]") })
}

/// The first frame in the program rather than in libc, the loader, the preload or the
/// `failinject` crate linked into it (an in-code point's lookup): where the program made the
/// call. A frame reads `module+0xOFFSET symbol (file:line)`.
pub fn top_frame(frames: &[String]) -> Option<&str> {
    let ours = |f: &str| {
        let symbol = f.split_once(' ').map_or("", |(_, s)| s.trim_start_matches('<'));
        f.starts_with("libc.so")
            || f.starts_with("ld-linux")
            || f.starts_with("libfailinject")
            || f.starts_with("libpthread")
            || symbol.starts_with("failinject::")
            || symbol.starts_with("failinject_engine::")
    };
    frames.iter().map(String::as_str).find(|f| !ours(f)).or(frames.first().map(String::as_str))
}

#[cfg(test)]
mod tests {
    use super::top_frame;

    #[test]
    fn the_top_frame_skips_libc_the_preload_and_the_failinject_crate() {
        let frames = [
            "libfailinject.so+0x1234",
            "wal+0x8ccee failinject::backend::Backend::lookup (backend.rs:403)",
            "wal+0x8c000 <failinject::Point as core::fmt::Debug>::fmt (lib.rs:1)",
            "wal+0x1200 wal_points::append (wal_points.rs:20)",
            "libc.so.6+0x2a1ca",
        ]
        .map(String::from);
        assert_eq!(top_frame(&frames), Some("wal+0x1200 wal_points::append (wal_points.rs:20)"));
        assert_eq!(top_frame(&frames[..1]), Some("libfailinject.so+0x1234"), "all ours: the first");
        assert_eq!(top_frame(&[]), None);
    }
}
