//! Call sites: which place in the program made an intercepted call.
//!
//! A site id is a hash of the top return addresses above our wrapper, each made relative to
//! the object that contains it (`module+offset`), so address-space randomisation does not
//! change it and the same build of a program gives the same ids run after run. It is only
//! computed when a rule has `site=` or the log records an injection.
//!
//! Frames come from glibc's `backtrace()` (libgcc's unwinder, loaded once at start-up when
//! sites may be needed, so the hook path never loads it) and `dladdr`. Neither allocates once
//! warmed up; `dladdr` takes the loader's lock, which is why sites are never computed unless
//! asked for (see `docs/HAZARDS.md`).

use failinject_engine::name_hash;
use libc::c_void;
use std::ffi::CStr;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Frames kept for the log.
pub const MAX_FRAMES: usize = 8;
/// Frames hashed into the site id.
const SITE_FRAMES: usize = 4;
/// Return addresses captured (ours included).
const CAPTURE: usize = 24;

/// Our own object's base address, to skip our frames.
static SELF_BASE: AtomicUsize = AtomicUsize::new(0);

/// One frame: the object's file name and the offset in it.
#[derive(Clone, Copy)]
pub struct Frame {
    /// The object's path, as the loader knows it (a C string owned by the loader).
    pub module: &'static [u8],
    /// The return address relative to the object's load address.
    pub offset: usize,
    /// The nearest exported symbol, when `dladdr` finds one.
    pub symbol: Option<&'static [u8]>,
}

/// The frames above the intercepted call.
pub struct Frames {
    frames: [Option<Frame>; MAX_FRAMES],
    len: usize,
}

impl Frames {
    /// The frames, innermost first.
    pub fn iter(&self) -> impl Iterator<Item = &Frame> {
        self.frames[..self.len].iter().flatten()
    }

    /// The site id: a hash of the top frames' modules and offsets.
    pub fn id(&self) -> u64 {
        let mut h = name_hash(b"site");
        for f in self.iter().take(SITE_FRAMES) {
            h = name_hash(&(h ^ name_hash(base_name(f.module))).to_le_bytes());
            h = name_hash(&(h ^ f.offset as u64).to_le_bytes());
        }
        h
    }
}

fn base_name(path: &[u8]) -> &[u8] {
    failinject_engine::file_name(path)
}

/// Loads the unwinder and notes our own load address, so that later captures neither load
/// a library nor allocate. Called once, from the constructor.
pub fn warm_up() {
    let mut pcs = [std::ptr::null_mut::<c_void>(); 2];
    // SAFETY: `pcs` has room for the 2 addresses asked for.
    unsafe { libc::backtrace(pcs.as_mut_ptr(), 2) };
    if let Some((base, _, _)) = lookup(warm_up as *const () as usize) {
        SELF_BASE.store(base, Ordering::Relaxed);
    }
}

/// The object containing an address: its base, its path and the nearest symbol.
type Place = (usize, &'static [u8], Option<&'static [u8]>);

/// The object containing `addr`.
fn lookup(addr: usize) -> Option<Place> {
    // SAFETY: an all-zero Dl_info is valid to be filled in.
    let mut info: libc::Dl_info = unsafe { std::mem::zeroed() };
    // SAFETY: dladdr only reads `addr` as a number and fills `info`.
    if unsafe { libc::dladdr(addr as *const c_void, &mut info) } == 0 || info.dli_fname.is_null() {
        return None;
    }
    // SAFETY: the loader keeps these strings for as long as the object is loaded; objects
    // with frames on our stack cannot be unloaded under us.
    let module = unsafe { CStr::from_ptr(info.dli_fname) }.to_bytes();
    let symbol = (!info.dli_sname.is_null())
        // SAFETY: as above.
        .then(|| unsafe { CStr::from_ptr(info.dli_sname) }.to_bytes());
    Some((info.dli_fbase as usize, module, symbol))
}

/// Captures the frames of the program above our own.
pub fn capture() -> Frames {
    let mut pcs = [std::ptr::null_mut::<c_void>(); CAPTURE];
    // SAFETY: `pcs` has room for CAPTURE addresses.
    let n = unsafe { libc::backtrace(pcs.as_mut_ptr(), CAPTURE as libc::c_int) }.max(0) as usize;
    let own = SELF_BASE.load(Ordering::Relaxed);
    let mut out = Frames { frames: [None; MAX_FRAMES], len: 0 };
    for &pc in &pcs[..n] {
        // A return address points after the call; step back into the call instruction.
        let addr = (pc as usize).saturating_sub(1);
        let Some((base, module, symbol)) = lookup(addr) else { continue };
        if base == own && out.len == 0 {
            continue;
        }
        if out.len == MAX_FRAMES {
            break;
        }
        out.frames[out.len] = Some(Frame { module, offset: addr - base, symbol });
        out.len += 1;
    }
    out
}
