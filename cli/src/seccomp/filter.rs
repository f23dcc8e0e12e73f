//! The seccomp filter of the command `failinject run` starts: the engine's program
//! (`failinject_engine::seccomp_filter`, which the preload builds too when it hands a static
//! program over at `exec`), as the kernel's `sock_filter`s.
#![forbid(unsafe_code)]

use super::kernel::AUDIT_ARCH;
use failinject_engine::seccomp_filter::{Insn, MAX_TRAPPED, build, len};

/// The program trapping exactly the system calls `numbers` of our architecture.
pub fn program(numbers: &[i64]) -> Vec<libc::sock_filter> {
    let mut numbers: Vec<u32> = numbers.iter().map(|&n| n as u32).collect();
    numbers.sort_unstable();
    numbers.dedup();
    assert!(numbers.len() <= MAX_TRAPPED, "a filter trapping {} calls", numbers.len());
    let mut out = vec![Insn::default(); len(numbers.len())];
    let n = build(&numbers, AUDIT_ARCH, &mut out).expect("room for every instruction");
    out[..n]
        .iter()
        .map(|i| libc::sock_filter { code: i.code, jt: i.jt, jf: i.jf, k: i.k })
        .collect()
}
