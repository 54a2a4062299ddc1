//! `clone3(2)` with `CLONE_INTO_CGROUP`: the child is born in its instance's cgroup.
//!
//! Why: a child that writes itself into `cgroup.procs` *moves* between cgroups, and a
//! move takes the kernel's cgroup-wide threadgroup lock for writing, which waits for an
//! RCU grace period: about 0.5 ms a spawn, the largest cost of cgroups in starting a
//! stack (README, Performance). Born inside, there is no move.
//!
//! glibc exports no `clone3` wrapper, and the raw system call returns in the child on
//! the new stack, where no Rust frame exists: the child must not return from the call.
//! So the system call is made in assembly, as glibc's own internal `__clone3` does: the
//! child calls the entry point and exits, the parent returns the child's pid or an
//! error. x86-64 only; elsewhere, and wherever the kernel refuses (before Linux 5.7, a
//! seccomp filter that answers ENOSYS, a cgroup the caller may not create processes
//! in), the spawn falls back to `clone(2)` and the child moves itself. So does every
//! child of an instance's second run: see [`crate::process::cgroup::Entry`].

use std::ffi::{c_int, c_void};

/// `struct clone_args` up to `cgroup` (`CLONE_ARGS_SIZE_VER2`, Linux 5.7).
#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

/// Not in the libc crate with its real width.
const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

/// Start `entry(arg)` as a child born in the cgroup whose directory is open as
/// `cgroup`, on the stack `[stack, stack + stack_size)`, with `flags` (`CLONE_*`) and
/// SIGCHLD at its exit. Returns the child's pid, or the errno.
///
/// # Safety
/// As for `clone(2)` with the same flags and stack: with `CLONE_VM` the caller must make
/// sure that the child only touches what stays valid until it execs or exits (with
/// `CLONE_VFORK`, the caller's frame), that nothing else uses the stack meanwhile, and
/// that `entry` never returns into anything but its own `_exit`.
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
pub(super) unsafe fn clone_into(
    flags: c_int,
    cgroup: c_int,
    stack: *mut c_void,
    stack_size: usize,
    entry: extern "C" fn(*mut c_void) -> c_int,
    arg: *mut c_void,
) -> Result<libc::pid_t, c_int> {
    let args = CloneArgs {
        // The flags are bits: their `c_int` pattern widened without sign extension.
        flags: u64::from(flags.cast_unsigned()) | CLONE_INTO_CGROUP,
        exit_signal: libc::SIGCHLD as u64,
        stack: stack as u64,
        stack_size: stack_size as u64,
        cgroup: u64::from(cgroup.cast_unsigned()),
        ..CloneArgs::default()
    };
    let result: i64;
    // SAFETY: the system call reads `args`, alive for the call. In the parent only
    // `syscall` runs (rax, rcx, r11 and the flags change, as declared). In the child the
    // kernel has set the stack pointer to the top of the caller's stack, 16-byte aligned
    // as `call` wants it; it clears the frame pointer, calls `entry(arg)`, and exits with
    // its value should it ever return (it ends in `_exit` itself).
    unsafe {
        std::arch::asm!(
            "syscall",
            "test rax, rax",
            "jnz 2f",
            "xor ebp, ebp",
            "mov rdi, r12",
            "call r13",
            "mov edi, eax",
            "mov eax, {exit}",
            "syscall",
            "ud2",
            "2:",
            exit = const libc::SYS_exit,
            inlateout("rax") libc::SYS_clone3 => result,
            in("rdi") &raw const args,
            in("rsi") size_of::<CloneArgs>(),
            in("r12") arg,
            in("r13") entry,
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack),
        );
    }
    if result < 0 {
        Err(c_int::try_from(-result).unwrap_or(libc::EINVAL))
    } else {
        libc::pid_t::try_from(result).map_err(|_| libc::EINVAL)
    }
}

/// Elsewhere than x86-64: never (the caller falls back to `clone(2)`).
///
/// # Safety
/// None needed; `unsafe` to match the x86-64 version.
#[cfg(not(target_arch = "x86_64"))]
#[allow(unsafe_code)]
pub(super) unsafe fn clone_into(
    _flags: c_int,
    _cgroup: c_int,
    _stack: *mut c_void,
    _stack_size: usize,
    _entry: extern "C" fn(*mut c_void) -> c_int,
    _arg: *mut c_void,
) -> Result<libc::pid_t, c_int> {
    Err(libc::ENOSYS)
}
