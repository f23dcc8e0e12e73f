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
    /// The lowest load address of the file: the log's offsets are relative to where the
    /// module was mapped, which is this address for a non-PIE program and 0 otherwise.
    base: u64,
}

impl Symbolizer {
    /// `program` is the command's executable.
    pub fn new(program: Option<PathBuf>) -> Symbolizer {
        Symbolizer { program, modules: HashMap::new() }
    }

    /// `prog+0x1234 [sym]` → `prog+0x1234 save_file (save.c:42)` when debug info says so.
    pub fn frame(&mut self, frame: &str) -> String {
        let head = frame.split_whitespace().next().unwrap_or(frame);
        let Some((module, offset)) = head.rsplit_once("+0x") else { return frame.into() };
        let Ok(offset) = u64::from_str_radix(offset, 16) else { return frame.into() };
        if !self.modules.contains_key(module) {
            let path = self.locate(module);
            let loaded = path.and_then(|p| {
                let loader = addr2line::Loader::new(&p).ok()?;
                Some(Module { loader, base: crate::reach::lowest_load_address(&p).unwrap_or(0) })
            });
            self.modules.insert(module.to_string(), loaded);
        }
        let Some(Some(m)) = self.modules.get(module) else { return frame.into() };
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
        let function = function.or_else(|| m.loader.find_symbol(probe).map(str::to_string));
        match function {
            Some(f) => format!("{head} {f}"),
            None => frame.into(),
        }
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

/// The first frame in the program rather than in libc, the loader or the preload: where the
/// program made the call.
pub fn top_frame(frames: &[String]) -> Option<&str> {
    let system = |f: &str| {
        f.starts_with("libc.so")
            || f.starts_with("ld-linux")
            || f.starts_with("libfailinject")
            || f.starts_with("libpthread")
    };
    frames.iter().map(String::as_str).find(|f| !system(f)).or(frames.first().map(String::as_str))
}
