//! The seccomp filter: a classic BPF program that sends the trapped system calls to the
//! supervisor (`SECCOMP_RET_USER_NOTIF`) and lets every other call through. It is fixed once
//! installed, so what it traps is decided before the program starts (`plan.rs`).
#![forbid(unsafe_code)]

use super::kernel::AUDIT_ARCH;

const BPF_LD_W_ABS: u16 = (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16;
const BPF_JEQ_K: u16 = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;
const BPF_JGE_K: u16 = (libc::BPF_JMP | libc::BPF_JGE | libc::BPF_K) as u16;
const BPF_RET_K: u16 = (libc::BPF_RET | libc::BPF_K) as u16;

/// Offsets into `struct seccomp_data`.
const NR: u32 = 0;
const ARCH: u32 = 4;

fn stmt(code: u16, k: u32) -> libc::sock_filter {
    libc::sock_filter { code, jt: 0, jf: 0, k }
}

fn jump(code: u16, k: u32, jt: u8, jf: u8) -> libc::sock_filter {
    libc::sock_filter { code, jt, jf, k }
}

/// The program trapping exactly the system calls `numbers` (at most 200 of them) of our
/// architecture. Calls of another architecture's numbering, and x32 calls on x86-64, pass.
pub fn program(numbers: &[i64]) -> Vec<libc::sock_filter> {
    let mut numbers: Vec<u32> = numbers.iter().map(|&n| n as u32).collect();
    numbers.sort_unstable();
    numbers.dedup();
    assert!(numbers.len() <= 200, "a filter trapping {} calls", numbers.len());
    let n = numbers.len();
    let mut p = vec![
        stmt(BPF_LD_W_ABS, ARCH),
        jump(BPF_JEQ_K, AUDIT_ARCH, 1, 0),
        stmt(BPF_RET_K, libc::SECCOMP_RET_ALLOW),
        stmt(BPF_LD_W_ABS, NR),
        // x32's numbers have bit 30 set; ours never do.
        jump(BPF_JGE_K, 0x4000_0000, n as u8, 0),
    ];
    for (i, nr) in numbers.iter().enumerate() {
        // To the USER_NOTIF return: past the rest of the comparisons and the ALLOW.
        p.push(jump(BPF_JEQ_K, *nr, (n - i) as u8, 0));
    }
    p.push(stmt(BPF_RET_K, libc::SECCOMP_RET_ALLOW));
    p.push(stmt(BPF_RET_K, libc::SECCOMP_RET_USER_NOTIF));
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tiny interpreter of the instructions `program` uses, to check its jumps.
    fn run(p: &[libc::sock_filter], arch: u32, nr: u32) -> u32 {
        let (mut acc, mut pc) = (0u32, 0usize);
        loop {
            let i = p[pc];
            match i.code {
                BPF_LD_W_ABS => acc = if i.k == ARCH { arch } else { nr },
                BPF_JEQ_K => pc += usize::from(if acc == i.k { i.jt } else { i.jf }),
                BPF_JGE_K => pc += usize::from(if acc >= i.k { i.jt } else { i.jf }),
                BPF_RET_K => return i.k,
                c => panic!("unexpected instruction {c:#x}"),
            }
            pc += 1;
        }
    }

    #[test]
    fn traps_exactly_the_given_calls_of_our_architecture() {
        let p = program(&[74, 1, 82, 1]);
        for nr in [1, 74, 82] {
            assert_eq!(run(&p, AUDIT_ARCH, nr), libc::SECCOMP_RET_USER_NOTIF, "nr {nr}");
        }
        for nr in [0, 2, 75, 81, 83, 400, 0x4000_0001] {
            assert_eq!(run(&p, AUDIT_ARCH, nr), libc::SECCOMP_RET_ALLOW, "nr {nr}");
        }
        assert_eq!(run(&p, 0x4000_0003, 1), libc::SECCOMP_RET_ALLOW, "another architecture");
        assert_eq!(run(&program(&[]), AUDIT_ARCH, 1), libc::SECCOMP_RET_ALLOW);
    }
}
