//! The guardian: a tiny process that outlives proj to clean up after it.
//!
//! # Why
//!
//! When proj is killed with SIGKILL it runs no code, so it cannot stop its children.
//! `PR_SET_PDEATHSIG` (set on every child) kills the direct children, but not their
//! children: it is not inherited across `fork`. Process groups do not help either, since
//! nobody is left to signal them.
//!
//! # How
//!
//! At start-up proj makes a pipe and keeps its write end (close-on-exec, so no child
//! inherits it); the guardian gets the read end. The guardian is in a process group of
//! its own (so a Ctrl-C aimed at proj's group does not reach it), blocks the usual
//! termination signals, and blocks in `read`. It costs nothing while it waits: no timer,
//! no polling.
//!
//! The kernel closes the write end however proj ends, SIGKILL included, so the guardian's
//! `read` returns end-of-file exactly when proj is gone. It then ends, with SIGKILL:
//! - every instance cgroup (the tree below [`super::cgroup`]), which it also removes;
//! - every process group proj told it of, and every process in a session one of them
//!   leads (a `tty = true` instance): while proj runs it writes `+PGID` on the pipe for
//!   each group it starts and `-PGID` once that group is gone, so a title-rewriting
//!   program's workers (nginx, redis-server), whose environment no longer carries the
//!   marker, are found by their group;
//! - every process that carries `PROJ_SUPERVISOR=TOKEN` in its environment (see
//!   [`super::sweep`]), which every descendant of proj inherits.
//!
//! After a clean shutdown all of that finds nothing.
//!
//! # A fork of proj
//!
//! The guardian is a `fork` of proj that never `exec`s, taken while proj still has one
//! thread (before the printer, the TUI and the runtimes start): it shares every page
//! with proj copy-on-write and touches only the few its read loop needs, where an exec
//! of `proj __guardian` loaded the whole binary again, relocated its libraries, parsed
//! the command line with clap and grew a heap of its own. In the child, before anything
//! else:
//! - the signals proj handles are back to their default (as an exec would have them),
//!   and the termination signals are blocked;
//! - the pipe is descriptor 3, /dev/null is 0, 1 and 2, and every other descriptor is
//!   closed: the guardian must not hold proj's one-supervisor lock (a `proj up` after a
//!   SIGKILL would find the project taken), nor its output (whoever reads proj's stdout
//!   waits for end-of-file), nor a log file;
//! - `/proc/PID/environ` has no `PROJ_SUPERVISOR` entry, as the exec'd guardian's has
//!   not: an outer supervisor running this proj as one of its processes must not take
//!   it for one of its own descendants (by the marker) and kill it first; and
//!   `/proc/PID/cmdline` (what `ps` shows) says `proj __guardian TOKEN [CGROUP_TREE]`
//!   where the kernel lets a process say so (`PR_SET_MM_MAP`, checkpoint/restore
//!   support: most kernels), rather than a second `proj up`;
//! - malloc gives the heap pages it holds free back to the kernel: proj reuses them,
//!   and each page proj writes would leave the guardian alone with the old copy;
//! - it runs the read loop and `_exit`s: nothing of proj's runs in it, no destructor, no
//!   `atexit` handler, no unwinding into proj's frames.
//!
//! With 300 sleepers (`bench/run.py`, workload c) the exec'd guardian had about 4 MiB of
//! PSS, 1.1 MiB of it private; the fork has 1.3–1.4 MiB, nearly all of it its half of
//! the pages it shares with proj, 0.18 MiB private: proj and its guardian together take
//! 1.5–1.9 MiB less (README, "The guardian as a fork").
//!
//! When proj already has more threads (a setup step's output reader still waiting for a
//! process that escaped the step), forking would copy locks other threads may hold, so
//! proj execs `proj __guardian TOKEN [CGROUP_TREE]` instead, as before; `main` recognises
//! that command before clap builds the whole command line.
//!
//! Either way the guardian is proj's child, reaped by proj's reaper while proj lives
//! (proj is a subreaper), and by init once proj is gone.

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::fd::{FromRawFd, IntoRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::fcntl::OFlag;
use nix::sys::signal::{SigSet, SigmaskHow, Signal, sigprocmask};
use nix::unistd::{ForkResult, Pid};

/// The hidden subcommand that runs the guardian.
pub(crate) const SUBCOMMAND: &str = "__guardian";

/// How long the guardian waits for killed cgroups to empty before removing them.
const CGROUP_WAIT: Duration = Duration::from_secs(2);

/// The descriptor the forked guardian reads its pipe on.
const PIPE_FD: RawFd = 3;

/// How long a thread that was just joined may take to be gone from the kernel's count:
/// `pthread_join` returns when the thread's user-space part is done, a moment before.
const THREADS_SETTLE: Duration = Duration::from_millis(100);

/// proj's end of the guardian: dropping it (or proj dying) sets the guardian off.
#[derive(Debug)]
pub(crate) struct Guardian {
    /// The pipe's write end, non-blocking: a guardian that stopped reading must never
    /// hold proj up (a record is then lost, not the supervisor).
    lifeline: File,
}

impl Guardian {
    /// Start a guardian for the descendants marked with `token` and, when instances are
    /// cgroups, the cgroup tree `cgroups`. Call while proj has one thread: the guardian
    /// is then a fork of proj; otherwise it is an exec of `proj __guardian`.
    pub(crate) fn start(token: &str, cgroups: Option<&Path>) -> io::Result<Guardian> {
        let (read_end, write_end) = nix::unistd::pipe2(OFlag::O_CLOEXEC | OFlag::O_NONBLOCK)?;
        // The guardian's end blocks: it waits in read(2).
        nix::fcntl::fcntl(&read_end, nix::fcntl::FcntlArg::F_SETFL(OFlag::empty()))?;
        let exe = std::env::current_exe()?;
        let mut args = vec![OsStr::new(SUBCOMMAND), OsStr::new(token)];
        if let Some(cgroups) = cgroups {
            args.push(cgroups.as_os_str());
        }
        let ends = (read_end, write_end);
        let write_end = match single_threaded() {
            Ok(()) => fork(ends, command_line(&exe, &args), token, cgroups)?,
            Err(threads) => {
                tracing::debug!(
                    threads,
                    "proj has more than one thread: the guardian is exec'd, not forked"
                );
                exec(ends, &exe, &args)?
            }
        };
        Ok(Guardian {
            lifeline: File::from(write_end),
        })
    }

    /// The process group `pgid` is an instance's: end it if proj dies.
    pub(crate) fn record_group(&self, pgid: i32) {
        self.tell(&format!("+{pgid}\n"));
    }

    /// The process group `pgid` is gone: forget it (its id may be given to another).
    pub(crate) fn forget_group(&self, pgid: i32) {
        self.tell(&format!("-{pgid}\n"));
    }

    fn tell(&self, line: &str) {
        // Shorter than PIPE_BUF: written whole or not at all.
        if let Err(error) = (&self.lifeline).write_all(line.as_bytes()) {
            tracing::debug!(%error, "cannot tell the guardian");
        }
    }
}

/// `Ok` when proj has exactly one thread, which a fork needs; else how many it has (0:
/// unknown). A thread joined just before may still be counted: it is given
/// [`THREADS_SETTLE`] to be gone.
fn single_threaded() -> Result<(), u64> {
    let own = i32::try_from(std::process::id()).map_err(|_| 0u64)?;
    let started = Instant::now();
    loop {
        let threads = super::proc_stat::read(own).map_or(0, |stat| stat.threads);
        if threads == 1 {
            return Ok(());
        }
        if threads == 0 || started.elapsed() >= THREADS_SETTLE {
            return Err(threads);
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// The guardian as a fork of proj (see the module's documentation), given the pipe's
/// two ends; proj's end, the write end, is returned.
fn fork(
    (read_end, write_end): (OwnedFd, OwnedFd),
    command_line: Vec<u8>,
    token: &str,
    cgroups: Option<&Path>,
) -> io::Result<OwnedFd> {
    // SAFETY: proj has one thread (`single_threaded`, just checked; nothing since started
    // one), so no other thread can hold a lock (malloc's, stdio's, std's) that the child
    // would find held forever, and the child may do what any program does: allocate, open
    // and read files. The child never returns into proj's code: `guardian_child` ends in
    // `_exit`, and catches a panic before it could unwind into proj's frames.
    #[allow(unsafe_code)]
    let forked = unsafe { nix::unistd::fork() }?;
    match forked {
        ForkResult::Child => {
            // First of all: a guardian holding a write end would never read end-of-file.
            drop(write_end);
            guardian_child(read_end, command_line, token, cgroups)
        }
        ForkResult::Parent { child } => {
            // The child makes its own group too; whichever runs first, the group is
            // the guardian's own before proj goes on: no signal to proj's group reaches
            // it.
            let _ = nix::unistd::setpgid(child, child);
            drop(read_end);
            tracing::debug!(pid = child.as_raw(), "guardian forked");
            Ok(write_end)
        }
    }
}

/// The guardian as `proj __guardian TOKEN [CGROUP_DIR]`, its stdin the pipe's read end:
/// when proj cannot fork it. The write end (close-on-exec) is returned.
fn exec(
    (read_end, write_end): (OwnedFd, OwnedFd),
    exe: &Path,
    args: &[&OsStr],
) -> io::Result<OwnedFd> {
    let _reaper_held_back = super::spawn_lock();
    let mut guardian = Command::new(exe)
        .args(args)
        .env_remove(super::SUPERVISOR_MARKER)
        .stdin(Stdio::from(read_end))
        // Never hold proj's stdout: whoever reads it must see end-of-file when proj
        // exits, not when the guardian does.
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()?;
    // The guardian is reaped by proj's reaper (or by init once proj is gone).
    drop(guardian.stdin.take());
    Ok(write_end)
}

/// `EXE __guardian TOKEN [CGROUP_DIR]` as `/proc/PID/cmdline` has it: each argument
/// followed by a NUL.
fn command_line(exe: &Path, args: &[&OsStr]) -> Vec<u8> {
    let mut line = Vec::new();
    for arg in std::iter::once(exe.as_os_str()).chain(args.iter().copied()) {
        line.extend_from_slice(arg.as_bytes());
        line.push(0);
    }
    line
}

/// The forked guardian, from its first instruction to its `_exit`.
fn guardian_child(
    read_end: OwnedFd,
    command_line: Vec<u8>,
    token: &str,
    cgroups: Option<&Path>,
) -> ! {
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        block_termination_signals()?;
        // Tokio's handlers are installed once setup ran: an exec would have reset them.
        super::spawn::default_signal_handlers();
        let _ = nix::unistd::setpgid(Pid::from_raw(0), Pid::from_raw(0));
        let pipe = keep_only_the_pipe(read_end)?;
        drop_marker();
        show_command_line(command_line);
        give_back_free_memory();
        watch(pipe, token, cgroups.map(Path::to_path_buf))
    }));
    let code = i32::from(!matches!(outcome, Ok(Ok(()))));
    // SAFETY: `_exit` ends the process at once: no destructor, `atexit` handler or stdio
    // flush of proj's runs in its fork.
    #[allow(unsafe_code)]
    unsafe {
        libc::_exit(code)
    }
}

/// The guardian process itself, exec'd (`proj __guardian TOKEN [CGROUP_DIR]`): the pipe
/// is its stdin.
pub(crate) fn run(token: &str, cgroups: Option<PathBuf>) -> io::Result<()> {
    block_termination_signals()?;
    // What proj inherited without close-on-exec (a careless parent's descriptors) is
    // not the guardian's to keep.
    close_from(3, RawFd::MAX);
    watch(io::stdin().lock(), token, cgroups)
}

fn block_termination_signals() -> io::Result<()> {
    let mut blocked = SigSet::empty();
    for signal in [
        Signal::SIGINT,
        Signal::SIGTERM,
        Signal::SIGHUP,
        Signal::SIGQUIT,
    ] {
        blocked.add(signal);
    }
    sigprocmask(SigmaskHow::SIG_BLOCK, Some(&blocked), None)?;
    Ok(())
}

/// In the forked guardian: the pipe as descriptor 3, /dev/null as 0, 1 and 2, and every
/// other descriptor proj had (its lock file, its terminal or output pipe, whatever proj
/// itself inherited) closed.
///
/// The descriptors are handled by number: the objects of proj's that own them are still
/// in the child's memory, but the child never runs proj's code again (see [`fork`]), so
/// none of them is ever used or dropped.
fn keep_only_the_pipe(read_end: OwnedFd) -> io::Result<File> {
    let pipe = read_end.into_raw_fd();
    if pipe != PIPE_FD {
        // SAFETY: dup2 touches no memory; `pipe` is open, and whatever descriptor 3 was
        // belongs to proj's objects, which the child never uses (see above).
        #[allow(unsafe_code)]
        let moved = unsafe { libc::dup2(pipe, PIPE_FD) };
        if moved == -1 {
            return Err(io::Error::last_os_error());
        }
    }
    // Lands anywhere but 3; whichever of 0, 1, 2 it is not is made a copy of it.
    match OpenOptions::new().read(true).write(true).open("/dev/null") {
        Ok(null) => {
            let null = null.into_raw_fd();
            for standard in (0..=2).filter(|&standard| standard != null) {
                // SAFETY: as above; 0, 1 and 2 are proj's standard streams.
                #[allow(unsafe_code)]
                let copied = unsafe { libc::dup2(null, standard) };
                if copied == -1 {
                    return Err(io::Error::last_os_error());
                }
            }
        }
        // No /dev/null (a bare chroot): closed, then.
        Err(_) => close_from(0, PIPE_FD - 1),
    }
    close_from(PIPE_FD + 1, RawFd::MAX);
    // SAFETY: descriptor 3 is the pipe's read end (moved there above), and nothing else
    // in this process refers to it: the returned file is its only owner.
    #[allow(unsafe_code)]
    Ok(unsafe { File::from_raw_fd(PIPE_FD) })
}

/// Close descriptors `first..=last`: `close_range(2)`, or, on a kernel without it
/// (before 5.9), each one `/proc/self/fd` lists. Best effort: a guardian that keeps a
/// descriptor still does its work, where one that gave up would leave proj unguarded.
fn close_from(first: RawFd, last: RawFd) {
    let (Ok(low), Ok(high)) = (libc::c_uint::try_from(first), libc::c_uint::try_from(last)) else {
        return;
    };
    // SAFETY: close_range touches no memory. The descriptors it closes belong to proj's
    // objects, which the forked guardian never uses (see `keep_only_the_pipe`), or, in
    // the exec'd guardian, to nothing: they were inherited by accident.
    #[allow(unsafe_code)]
    let closed = unsafe { libc::syscall(libc::SYS_close_range, low, high, 0) };
    if closed == 0 {
        return;
    }
    let Ok(listing) = std::fs::read_dir("/proc/self/fd") else {
        return;
    };
    let open: Vec<RawFd> = listing
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
        .filter(|fd| (first..=last).contains(fd))
        .collect();
    for fd in open {
        // SAFETY: as above. The listing's own descriptor is closed already (EBADF).
        #[allow(unsafe_code)]
        let _ = unsafe { libc::close(fd) };
    }
}

/// In the forked guardian: blank out `PROJ_SUPERVISOR=…` in the environment block the
/// kernel shows as `/proc/PID/environ` (proj's own, inherited from whoever started it:
/// an outer supervisor's marker), as the exec'd guardian is started without it. The
/// sweep of that outer supervisor then takes the guardian for none of its own, as it
/// never did. Written through `/proc/self/mem`; best effort.
fn drop_marker() {
    let Ok(environ) = std::fs::read("/proc/self/environ") else {
        return;
    };
    let prefix = format!("{}=", super::SUPERVISOR_MARKER);
    let Some(start) = own_layout([50]).map(|[env_start]| env_start) else {
        return;
    };
    let Ok(memory) = OpenOptions::new().write(true).open("/proc/self/mem") else {
        return;
    };
    let mut offset = 0u64;
    for entry in environ.split(|&b| b == 0) {
        let length = entry.len() as u64;
        if entry.starts_with(prefix.as_bytes()) {
            let blank = vec![0; entry.len()];
            let _ = memory.write_all_at(&blank, start + offset);
        }
        offset += length + 1;
    }
}

/// The numeric fields `wanted` of this process's `/proc/self/stat`.
fn own_layout<const N: usize>(wanted: [usize; N]) -> Option<[u64; N]> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    super::proc_stat::numbers(&stat, wanted)
}

/// `struct prctl_mm_map` of `<linux/prctl.h>`.
#[repr(C)]
struct MemoryMap {
    start_code: u64,
    end_code: u64,
    start_data: u64,
    end_data: u64,
    start_brk: u64,
    brk: u64,
    start_stack: u64,
    arg_start: u64,
    arg_end: u64,
    env_start: u64,
    env_end: u64,
    auxv: *mut u64,
    auxv_size: u32,
    exe_fd: u32,
}

const PR_SET_MM: libc::c_int = 35;
const PR_SET_MM_MAP: libc::c_ulong = 14;

/// In the forked guardian: make `/proc/PID/cmdline` (what `ps` shows) `line`, the
/// command line the exec'd guardian has, rather than proj's `up`: `prctl(PR_SET_MM_MAP)`
/// with every other field of the memory layout as the kernel reports it. Best effort: a
/// kernel without checkpoint/restore support refuses it, and the guardian shows proj's
/// command line.
fn show_command_line(line: Vec<u8>) {
    // Fields 26-28, 45-51 of proc(5): startcode endcode startstack, start_data end_data
    // start_brk arg_start arg_end env_start env_end.
    let Some(
        [
            start_code,
            end_code,
            start_stack,
            start_data,
            end_data,
            start_brk,
            _,
            _,
            env_start,
            env_end,
        ],
    ) = own_layout([26, 27, 28, 45, 46, 47, 48, 49, 50, 51])
    else {
        return;
    };
    // The kernel reads the arguments as anonymous memory (a heap allocation is), for as
    // long as the process lives: never freed.
    let line: &'static [u8] = Vec::leak(line);
    let arg_start = line.as_ptr() as u64;
    // SAFETY: brk(0) changes nothing and returns the current program break.
    #[allow(unsafe_code)]
    let brk = unsafe { libc::syscall(libc::SYS_brk, 0) };
    let map = MemoryMap {
        start_code,
        end_code,
        start_data,
        end_data,
        start_brk,
        brk: brk as u64,
        start_stack,
        arg_start,
        arg_end: arg_start + line.len() as u64,
        env_start,
        env_end,
        auxv: std::ptr::null_mut(),
        auxv_size: 0,
        // Unchanged.
        exe_fd: u32::MAX,
    };
    // SAFETY: the kernel reads `map` (a local, of the size passed) and records its
    // addresses; only the arguments' move, to `line`, which lives as long as the process.
    // The other fields are the kernel's own values, read just before (nothing in between
    // allocates, so the program break is unchanged), so nothing else of the layout moves.
    #[allow(unsafe_code)]
    let set = unsafe {
        libc::prctl(
            PR_SET_MM,
            PR_SET_MM_MAP,
            &raw const map,
            std::mem::size_of::<MemoryMap>() as libc::c_ulong,
            0 as libc::c_ulong,
        )
    };
    if set != 0 {
        tracing::debug!(error = %io::Error::last_os_error(), "guardian keeps proj's command line");
    }
}

/// In the forked guardian: hand back to the kernel the pages of proj's heap that
/// malloc holds free (`malloc_trim`). They are shared with proj copy-on-write; proj
/// reuses them for its own allocations, and each page it writes would otherwise leave
/// the guardian holding the old copy, alone.
#[cfg(target_env = "gnu")]
fn give_back_free_memory() {
    // SAFETY: malloc_trim is glibc's; it releases only memory malloc itself has free, and
    // this process has one thread (see `fork`), so no other thread is inside malloc.
    #[allow(unsafe_code)]
    let _ = unsafe { libc::malloc_trim(0) };
}

#[cfg(not(target_env = "gnu"))]
fn give_back_free_memory() {}

/// Read `pipe` until proj is gone, then end everything of the run that is left.
fn watch(mut pipe: impl Read, token: &str, cgroups: Option<PathBuf>) -> io::Result<()> {
    let mut groups = Groups::default();
    let mut buffer = [0u8; 4096];
    loop {
        match pipe.read(&mut buffer) {
            Ok(0) => break,
            Ok(read) => groups.take(&buffer[..read]),
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        }
    }
    if let Some(cgroups) = cgroups {
        super::cgroup::Tree::at(cgroups).remove_all(CGROUP_WAIT);
    }
    for &pgid in &groups.live {
        super::spawn::signal_group(pgid, Signal::SIGKILL);
    }
    kill_sessions(&groups.live);
    super::sweep::kill_marked(token);
    Ok(())
}

/// SIGKILL every process in a session led by one of `leaders`: a `tty = true` instance
/// leads a session, in which a shell's job control makes process groups of its own.
fn kill_sessions(leaders: &BTreeSet<i32>) {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return;
    };
    for pid in entries.filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<i32>().ok()) {
        if super::proc_stat::read(pid).is_some_and(|stat| leaders.contains(&stat.session)) {
            super::spawn::signal_process(pid, Signal::SIGKILL);
        }
    }
}

/// The process groups proj told of and has not forgotten yet.
#[derive(Debug, Default)]
struct Groups {
    live: BTreeSet<i32>,
    /// The start of a record split across two reads.
    partial: Vec<u8>,
}

impl Groups {
    fn take(&mut self, bytes: &[u8]) {
        self.partial.extend_from_slice(bytes);
        while let Some(end) = self.partial.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.partial.drain(..=end).collect();
            let record = String::from_utf8_lossy(&line[..end]);
            let (add, pgid) = match record.split_at_checked(1) {
                Some(("+", pgid)) => (true, pgid.parse::<i32>()),
                Some(("-", pgid)) => (false, pgid.parse::<i32>()),
                _ => continue,
            };
            match pgid {
                // Never a group id of 0 or below: killpg would reach the guardian's own.
                Ok(pgid) if pgid > 1 && add => drop(self.live.insert(pgid)),
                Ok(pgid) => drop(self.live.remove(&pgid)),
                Err(_) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Groups;

    #[test]
    fn records_add_and_forget_groups_even_when_split_across_reads() {
        let mut groups = Groups::default();
        groups.take(b"+100\n+2");
        groups.take(b"00\n+300\n-100\n");
        groups.take(b"+0\n+-5\nnonsense\n");
        assert_eq!(groups.live.into_iter().collect::<Vec<_>>(), vec![200, 300]);
    }
}
