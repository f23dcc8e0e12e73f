//! The seccomp filter failinject installs, as classic BPF instructions: the trapped system
//! calls of our architecture go to the supervisor (`SECCOMP_RET_USER_NOTIF`), every other
//! call is allowed. Built without allocation into the caller's buffer, so that the preload
//! can build it in a process about to `exec` (even a `vfork` child) and the `failinject`
//! command can build it before it starts one: one program for both.

/// One BPF instruction: `code`, `jt`, `jf`, `k`, laid out as `struct sock_filter` (the
/// preload hands an array of them to the kernel as it is).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[repr(C)]
pub struct Insn {
    /// The operation.
    pub code: u16,
    /// Instructions to skip when a comparison holds.
    pub jt: u8,
    /// Instructions to skip when it does not.
    pub jf: u8,
    /// The operand.
    pub k: u32,
}

/// `BPF_LD | BPF_W | BPF_ABS`.
pub const LD_W_ABS: u16 = 0x20;
/// `BPF_JMP | BPF_JEQ | BPF_K`.
pub const JEQ_K: u16 = 0x15;
/// `BPF_JMP | BPF_JGE | BPF_K`.
pub const JGE_K: u16 = 0x35;
/// `BPF_RET | BPF_K`.
pub const RET_K: u16 = 0x06;
/// `SECCOMP_RET_ALLOW`.
pub const RET_ALLOW: u32 = 0x7fff_0000;
/// `SECCOMP_RET_USER_NOTIF`.
pub const RET_USER_NOTIF: u32 = 0x7fc0_0000;
/// Offset of the call's number in `struct seccomp_data`.
pub const OFF_NR: u32 = 0;
/// Offset of the architecture in `struct seccomp_data`.
pub const OFF_ARCH: u32 = 4;

/// The most calls one filter traps (a jump's offset is a byte).
pub const MAX_TRAPPED: usize = 200;

/// The instructions a filter trapping `n` calls needs.
pub const fn len(n: usize) -> usize {
    n + 7
}

/// Writes into `out` the filter trapping exactly the calls `numbers` (sorted, no duplicates,
/// at most [`MAX_TRAPPED`]) of the architecture `arch` (`AUDIT_ARCH_*`); calls of another
/// architecture's numbering, and x32 calls, are allowed. Returns the instructions written, or
/// `None` when `out` is too small or there are too many numbers.
pub fn build(numbers: &[u32], arch: u32, out: &mut [Insn]) -> Option<usize> {
    let n = numbers.len();
    if n > MAX_TRAPPED || out.len() < len(n) {
        return None;
    }
    let i = |code, k| Insn { code, jt: 0, jf: 0, k };
    out[0] = i(LD_W_ABS, OFF_ARCH);
    out[1] = Insn { code: JEQ_K, jt: 1, jf: 0, k: arch };
    out[2] = i(RET_K, RET_ALLOW);
    out[3] = i(LD_W_ABS, OFF_NR);
    // x32's numbers have bit 30 set; ours never do: past the comparisons, to the ALLOW.
    out[4] = Insn { code: JGE_K, jt: n as u8, jf: 0, k: 0x4000_0000 };
    for (j, nr) in numbers.iter().enumerate() {
        // To the USER_NOTIF return: past the rest of the comparisons and the ALLOW.
        out[5 + j] = Insn { code: JEQ_K, jt: (n - j) as u8, jf: 0, k: *nr };
    }
    out[5 + n] = i(RET_K, RET_ALLOW);
    out[6 + n] = i(RET_K, RET_USER_NOTIF);
    Some(len(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tiny interpreter of the instructions `build` uses, to check its jumps.
    fn run(p: &[Insn], arch: u32, nr: u32) -> u32 {
        let (mut acc, mut pc) = (0u32, 0usize);
        loop {
            let i = p[pc];
            match i.code {
                LD_W_ABS => acc = if i.k == OFF_ARCH { arch } else { nr },
                JEQ_K => pc += usize::from(if acc == i.k { i.jt } else { i.jf }),
                JGE_K => pc += usize::from(if acc >= i.k { i.jt } else { i.jf }),
                RET_K => return i.k,
                c => panic!("unexpected instruction {c:#x}"),
            }
            pc += 1;
        }
    }

    #[test]
    fn traps_exactly_the_given_calls_of_its_architecture() {
        const ARCH: u32 = 0xc000_003e;
        let mut p = [Insn::default(); 16];
        let n = build(&[1, 74, 82], ARCH, &mut p).unwrap();
        let p = &p[..n];
        for nr in [1, 74, 82] {
            assert_eq!(run(p, ARCH, nr), RET_USER_NOTIF, "nr {nr}");
        }
        for nr in [0, 2, 75, 81, 83, 400, 0x4000_0001] {
            assert_eq!(run(p, ARCH, nr), RET_ALLOW, "nr {nr}");
        }
        assert_eq!(run(p, 0x4000_0003, 1), RET_ALLOW, "another architecture");
        let mut none = [Insn::default(); 7];
        let n = build(&[], ARCH, &mut none).unwrap();
        assert_eq!(run(&none[..n], ARCH, 1), RET_ALLOW);
        assert_eq!(build(&[1, 2], ARCH, &mut none), None, "too small a buffer");
    }
}
