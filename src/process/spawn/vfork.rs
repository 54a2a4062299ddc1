//! Starting a child the way posix_spawn(3) does: `clone(2)` with `CLONE_VM |
//! CLONE_VFORK`, the child borrowing proj's memory until it execs.
//!
//! # Why not fork
//!
//! A fork copies proj's page tables, and then every page that either side writes before
//! the exec costs a copy-on-write fault. For 300 instances that was 44 % of the time to
//! start them (29 % in fork itself, 15 % in those faults: `perf` on `bench/run.py`'s
//! workload c). With `CLONE_VM` nothing is copied; `CLONE_VFORK` holds the spawning
//! thread until the child has execed or exited, so the child can use the memory that
//! thread prepared, and write its failure into it.
//!
//! # What the child may do
//!
//! It runs on a stack of its own ([`ChildStack`]) but in proj's memory, with the spawning
//! thread's thread-local storage, while proj's other threads keep running. So:
//! - it only reads what [`Exec`] prepared before the clone: it allocates nothing, takes
//!   no lock, and calls only plain system-call wrappers;
//! - it switches credentials with raw system calls: glibc's setuid(3) would see proj's
//!   thread list and ask every thread of *proj* to switch (its "setxid broadcast");
//! - none of proj's signal handlers may run in it: the spawning thread blocks every
//!   signal before the clone, and the child resets every handled signal to its default
//!   before it unblocks them, just before the exec;
//! - it never panics or aborts: glibc's abort(3) signals the thread whose id it finds in
//!   thread-local storage, which is proj's spawning thread.

use std::collections::BTreeMap;
use std::ffi::{CString, OsStr, OsString, c_char, c_int, c_void};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::ptr;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

use super::into_cgroup;

/// Everything the child does between the clone and the exec, prepared by proj.
pub(super) struct Exec {
    program: CString,
    /// `argv`'s strings; `argv` points into them.
    _args: Vec<CString>,
    argv: Vec<*const c_char>,
    /// `envp`'s `KEY=VALUE` strings; `envp` points into them.
    _env: Vec<CString>,
    envp: Vec<*const c_char>,
    cwd: CString,
    /// A program to try before `program`, when the command is literal words.
    direct: Option<Direct>,
    /// The descriptors that become the child's 0, 1 and 2.
    pub stdio: [RawFd; 3],
    /// Lead a new process group (`setpgid(0, 0)`).
    pub process_group: bool,
    /// Lead a new session with descriptor 0, a terminal, as its controlling terminal.
    pub session: bool,
    /// An instance cgroup's `cgroup.procs`, open for writing: the child joins it first,
    /// unless it was born there.
    pub cgroup_procs: Option<RawFd>,
    /// That cgroup's directory: where the child is born, where the system allows it
    /// ([`super::into_cgroup`]).
    pub cgroup_dir: Option<RawFd>,
    /// Set by `spawn` while it tries to start the child in `cgroup_dir`.
    born_in_cgroup: bool,
    pub credentials: Option<Credentials>,
    /// proj's pid: the child asks for SIGKILL when proj dies, and gives up if its parent
    /// is already someone else.
    pub parent: libc::pid_t,
    /// A listening socket to pass as descriptor 3, open across the exec (SPEC §9.3).
    pub listener: Option<RawFd>,
    /// The soft `RLIMIT_NOFILE` proj was started with, given back to the child.
    pub descriptor_limit: Option<libc::rlim_t>,
    /// Set by `spawn` when the child shares proj's descriptor table at first: it then
    /// makes its own, of descriptors below this number only (see [`Slots`]).
    own_table_below: Option<c_int>,
    /// The errno of the step that failed in the child; 0 when it execed.
    failure: AtomicI32,
}

/// A literal simple command executed without the shell: the paths to try, in `PATH`'s
/// order, with the same `argv`. The shell stays the fallback: if no path can be
/// executed, `sh -c` runs the command and says why in its own words.
struct Direct {
    candidates: Vec<CString>,
    /// `argv`'s strings; `argv` points into them.
    _args: Vec<CString>,
    argv: Vec<*const c_char>,
}

/// Who the child becomes, as the numbers the system calls take.
pub(super) struct Credentials {
    pub uid: libc::uid_t,
    pub gid: libc::gid_t,
    pub groups: Vec<libc::gid_t>,
}

impl Exec {
    /// `program` with `args` (`argv[0]` is `program`), in `cwd`, with exactly `env`
    /// (a key given twice keeps its last value, as with std's `Command::envs`).
    pub(super) fn new<'a>(
        program: &str,
        args: &[&OsStr],
        cwd: &Path,
        env: impl IntoIterator<Item = (&'a OsStr, &'a OsStr)>,
    ) -> io::Result<Exec> {
        let program = c_string(program.as_bytes())?;
        let mut all_args = vec![program.clone()];
        for arg in args {
            all_args.push(c_string(arg.as_bytes())?);
        }
        let env: BTreeMap<&OsStr, &OsStr> = env.into_iter().collect();
        let env = env
            .into_iter()
            .map(|(key, value)| {
                let mut pair = OsString::with_capacity(key.len() + value.len() + 1);
                pair.push(key);
                pair.push("=");
                pair.push(value);
                c_string(pair.as_bytes())
            })
            .collect::<io::Result<Vec<_>>>()?;
        Ok(Exec {
            argv: null_terminated(&all_args),
            _args: all_args,
            envp: null_terminated(&env),
            _env: env,
            program,
            cwd: c_string(cwd.as_os_str().as_bytes())?,
            direct: None,
            stdio: [-1; 3],
            process_group: false,
            session: false,
            cgroup_procs: None,
            cgroup_dir: None,
            born_in_cgroup: false,
            credentials: None,
            parent: 0,
            listener: None,
            descriptor_limit: None,
            own_table_below: None,
            failure: AtomicI32::new(0),
        })
    }

    /// Try `words` (a literal simple command, see
    /// [`super::super::command_line::literal_words`]) as `sh` would find it, along
    /// `path` (the child's `PATH`), before the shell.
    pub(super) fn try_directly(&mut self, words: &[String], path: &OsStr) -> io::Result<()> {
        let Some(program) = words.first() else {
            return Ok(());
        };
        let candidates = if program.contains('/') {
            vec![c_string(program.as_bytes())?]
        } else {
            // An empty entry is the working directory, as for `sh`.
            path.as_bytes()
                .split(|&byte| byte == b':')
                .map(|dir| match dir {
                    b"" => c_string(program.as_bytes()),
                    dir => c_string(&[dir, b"/", program.as_bytes()].concat()),
                })
                .collect::<io::Result<Vec<_>>>()?
        };
        let args = words
            .iter()
            .map(|word| c_string(word.as_bytes()))
            .collect::<io::Result<Vec<_>>>()?;
        self.direct = Some(Direct {
            candidates,
            argv: null_terminated(&args),
            _args: args,
        });
        Ok(())
    }

    /// Start the child; returns its pid once it has execed. Call with the reaper held
    /// back ([`super::super::spawn_lock`]), which also keeps spawns from sharing the
    /// [`Slots`] at once; a child that failed before its exec is reaped here.
    pub(super) fn spawn(&mut self) -> io::Result<i32> {
        self.spawn_with(Slots::get())
    }

    /// [`Exec::spawn`], the child sharing proj's descriptor table through `slots` or,
    /// without, copying it.
    fn spawn_with(&mut self, slots: Option<&'static Slots>) -> io::Result<i32> {
        let lent = match slots {
            Some(slots) => Some(slots.lend(self)?),
            None => None,
        };
        let shared_table = if lent.is_some() { libc::CLONE_FILES } else { 0 };
        let flags = libc::CLONE_VM | libc::CLONE_VFORK | shared_table;
        let pid = CHILD_STACK.with(|stack| -> io::Result<libc::pid_t> {
            let top = stack.top()?;
            let _blocked = BlockedSignals::all()?;
            if let Some(cgroup) = self.cgroup_dir
                && !CLONE3_REFUSED.load(Ordering::Relaxed)
            {
                self.born_in_cgroup = true;
                // SAFETY: as for `clone` below; `clone_into` calls `child` the same way,
                // on the same stack, given as its lowest usable address and size.
                #[allow(unsafe_code)]
                let born = unsafe {
                    into_cgroup::clone_into(
                        flags,
                        cgroup,
                        top.wrapping_byte_sub(CHILD_STACK_SIZE),
                        CHILD_STACK_SIZE,
                        child,
                        ptr::from_mut(self).cast(),
                    )
                };
                match born {
                    Ok(pid) => return Ok(pid),
                    // No clone3, or a filter that forbids it: not again.
                    Err(libc::ENOSYS | libc::EPERM) => {
                        CLONE3_REFUSED.store(true, Ordering::Relaxed)
                    }
                    // Anything else (a cgroup it may not be born in, say): this once,
                    // the child moves itself, and says why if that fails too.
                    Err(errno) => tracing::debug!(errno, "clone3 into the cgroup refused"),
                }
                self.born_in_cgroup = false;
            }
            // SAFETY: `child` only reads `self`, which outlives the call: CLONE_VFORK
            // keeps this thread (and so this frame) waiting until the child has execed
            // or exited. It runs on `top`, the top of this thread's child stack, which
            // no one else uses meanwhile (this thread is the only one that spawns on
            // it, and it is waiting). All signals are blocked in this thread, so the
            // child starts with them blocked and no handler of proj's runs in it. With
            // CLONE_FILES its first act is to leave proj's descriptor table. The child
            // obeys the rules in the module's documentation.
            #[allow(unsafe_code)]
            let pid = unsafe {
                libc::clone(
                    child,
                    top,
                    flags | libc::SIGCHLD,
                    ptr::from_mut(self).cast(),
                )
            };
            if pid == -1 {
                return Err(io::Error::last_os_error());
            }
            Ok(pid)
        });
        // Before anything else: the slots must not keep the pipe's write end open.
        drop(lent);
        let pid = pid?;
        match self.failure.load(Ordering::SeqCst) {
            0 => Ok(pid),
            errno => {
                reap_failed(pid);
                Err(io::Error::from_raw_os_error(errno))
            }
        }
    }
}

/// Low descriptor numbers through which a child receives its own.
///
/// A child that got a copy of proj's descriptor table (as after fork, or clone without
/// `CLONE_FILES`) copies every descriptor proj holds, two per instance (its pipe and
/// its log file), and its exec then closes each of them again: the n-th spawn costs
/// O(n), 300 instances O(n²) (`perf`: `dup_fd`, `do_close_on_exec`, `filp_flush`, a
/// third of proj's own time starting 300 sleepers). Instead, the child shares proj's
/// table for an instant and leaves it at once with `close_range(LOW, ~0,
/// CLOSE_RANGE_UNSHARE)`, which copies only the descriptors below `LOW`; what it needs
/// is lent to it on these slots, made at the first spawn while proj holds few
/// descriptors (copies of /dev/null in between, so that the slots hold nothing).
struct Slots {
    /// stdin, stdout, stderr, cgroup.procs, the listening socket.
    fds: [OwnedFd; 5],
    /// proj's /dev/null ([`super::dev_null`]), put back on a slot after each spawn.
    null: RawFd,
}

impl Slots {
    /// The slots, made on the first call; `None` if they could not be (then each child
    /// copies proj's table, which is only slower).
    fn get() -> Option<&'static Slots> {
        static SLOTS: OnceLock<Option<Slots>> = OnceLock::new();
        SLOTS
            .get_or_init(|| match Slots::open() {
                Ok(slots) => Some(slots),
                Err(error) => {
                    tracing::debug!(%error, "no low descriptors for spawns");
                    None
                }
            })
            .as_ref()
    }

    fn open() -> io::Result<Slots> {
        let null = super::dev_null()?;
        // Above 3, which a child gets its listening socket as.
        let slot = || -> io::Result<OwnedFd> {
            // SAFETY: fcntl(2) F_DUPFD_CLOEXEC of proj's /dev/null, open for good.
            #[allow(unsafe_code)]
            let fd = unsafe { libc::fcntl(null, libc::F_DUPFD_CLOEXEC, 4) };
            if fd == -1 {
                return Err(io::Error::last_os_error());
            }
            // SAFETY: F_DUPFD_CLOEXEC returned a new descriptor that nothing else owns.
            #[allow(unsafe_code)]
            Ok(unsafe { OwnedFd::from_raw_fd(fd) })
        };
        // close_range(2) (Linux 5.9, with CLOSE_RANGE_UNSHARE from the start) may be
        // missing, or refused by a seccomp filter (an older container runtime's), and
        // a child that cannot leave proj's table must not start sharing it: tried here
        // on a descriptor of our own, closing it.
        let probe = slot()?;
        let fd = probe.as_raw_fd();
        // SAFETY: close_range(2) of the one descriptor `probe` owns, which is then
        // released without a second close.
        #[allow(unsafe_code)]
        if unsafe { libc::syscall(libc::SYS_close_range, fd, fd, 0) } == -1 {
            return Err(io::Error::last_os_error());
        }
        let _closed: RawFd = probe.into_raw_fd();
        Ok(Slots {
            fds: [slot()?, slot()?, slot()?, slot()?, slot()?],
            null,
        })
    }

    /// Put what `exec` gives its child on the slots, and point `exec` at them.
    fn lend(&'static self, exec: &mut Exec) -> io::Result<Lent> {
        let mut lent = Lent {
            slots: self,
            used: [false; 5],
        };
        let [stdin, stdout, stderr] = exec.stdio;
        let sources = [
            stdin,
            stdout,
            stderr,
            exec.cgroup_procs.unwrap_or(-1),
            exec.listener.unwrap_or(-1),
        ];
        let mut moved = sources;
        for (index, source) in sources.into_iter().enumerate() {
            if source < 0 {
                continue;
            }
            let slot = self.fds[index].as_raw_fd();
            // SAFETY: dup3(2) of a descriptor `exec`'s owner holds open for the spawn
            // onto a slot this module owns; reads no memory.
            #[allow(unsafe_code)]
            if unsafe { libc::dup3(source, slot, libc::O_CLOEXEC) } == -1 {
                return Err(io::Error::last_os_error());
            }
            lent.used[index] = true;
            moved[index] = slot;
        }
        exec.stdio = [moved[0], moved[1], moved[2]];
        exec.cgroup_procs = exec.cgroup_procs.map(|_| moved[3]);
        exec.listener = exec.listener.map(|_| moved[4]);
        exec.own_table_below = self
            .fds
            .iter()
            .map(AsRawFd::as_raw_fd)
            .max()
            .map(|fd| fd + 1);
        Ok(lent)
    }
}

/// The slots in use for one spawn: given back (/dev/null again) when dropped.
struct Lent {
    slots: &'static Slots,
    used: [bool; 5],
}

impl Drop for Lent {
    fn drop(&mut self) {
        for (slot, _) in self
            .slots
            .fds
            .iter()
            .zip(self.used)
            .filter(|(_, used)| *used)
        {
            // SAFETY: dup3(2) onto a slot this module owns; reads no memory.
            #[allow(unsafe_code)]
            let result = unsafe { libc::dup3(self.slots.null, slot.as_raw_fd(), libc::O_CLOEXEC) };
            if result == -1 {
                tracing::warn!(error = %io::Error::last_os_error(), "cannot clear a spawn slot");
            }
        }
    }
}

fn c_string(bytes: &[u8]) -> io::Result<CString> {
    CString::new(bytes).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "a NUL byte in `{}`: commands, directories and environment variables cannot hold one",
                String::from_utf8_lossy(bytes).replace('\0', "\\0")
            ),
        )
    })
}

fn null_terminated(strings: &[CString]) -> Vec<*const c_char> {
    strings
        .iter()
        .map(|string| string.as_ptr())
        .chain([ptr::null()])
        .collect()
}

/// Reap a child that exited before its exec (the reaper is held back meanwhile).
fn reap_failed(pid: libc::pid_t) {
    loop {
        // SAFETY: waitpid(2) with a null status pointer writes nothing.
        #[allow(unsafe_code)]
        let reaped = unsafe { libc::waitpid(pid, ptr::null_mut(), 0) };
        if reaped != -1 || io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
            return;
        }
    }
}

/// Every signal blocked in this thread until dropped (then the mask is as it was).
struct BlockedSignals {
    previous: libc::sigset_t,
}

impl BlockedSignals {
    fn all() -> io::Result<BlockedSignals> {
        // SAFETY: sigfillset(3) and pthread_sigmask(3) write only into the two local
        // sigset_t values, which are valid for writes; zeroed is a valid sigset_t.
        #[allow(unsafe_code)]
        unsafe {
            let mut all: libc::sigset_t = std::mem::zeroed();
            let mut previous: libc::sigset_t = std::mem::zeroed();
            libc::sigfillset(&raw mut all);
            let error = libc::pthread_sigmask(libc::SIG_SETMASK, &raw const all, &raw mut previous);
            if error != 0 {
                return Err(io::Error::from_raw_os_error(error));
            }
            Ok(BlockedSignals { previous })
        }
    }
}

impl Drop for BlockedSignals {
    fn drop(&mut self) {
        // SAFETY: restores the mask saved by `all`; reads only `self.previous`.
        #[allow(unsafe_code)]
        unsafe {
            libc::pthread_sigmask(libc::SIG_SETMASK, &raw const self.previous, ptr::null_mut());
        }
    }
}

/// Set once `clone3` turned out to be missing or forbidden: children then move
/// themselves into their cgroups.
static CLONE3_REFUSED: AtomicBool = AtomicBool::new(false);

/// How much stack the child gets: it makes a few dozen system calls from shallow frames,
/// so 64 KiB is ample; a guard page below it turns an overflow into the child's
/// SIGSEGV instead of a write into proj's memory.
const CHILD_STACK_SIZE: usize = 64 * 1024;

thread_local! {
    /// Each spawning thread's stack for its children, mapped at its first spawn and
    /// reused: a thread waits while its child runs, so one stack per thread is enough.
    static CHILD_STACK: ChildStack = const { ChildStack { base: std::cell::Cell::new(None) } };
}

struct ChildStack {
    /// The mapping's start (its lowest page is the guard), once mapped.
    base: std::cell::Cell<Option<ptr::NonNull<c_void>>>,
}

impl ChildStack {
    fn page_size() -> usize {
        // SAFETY: sysconf(3) reads nothing of ours.
        #[allow(unsafe_code)]
        let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        usize::try_from(size).unwrap_or(4096)
    }

    /// The top of the stack (it grows down), mapping it first if needed.
    fn top(&self) -> io::Result<*mut c_void> {
        let page = Self::page_size();
        let base = match self.base.get() {
            Some(base) => base,
            None => {
                // SAFETY: a fresh anonymous mapping, not overlapping anything (the
                // kernel chooses where); mprotect(2) then changes only its first page.
                #[allow(unsafe_code)]
                let base = unsafe {
                    let base = libc::mmap(
                        ptr::null_mut(),
                        CHILD_STACK_SIZE + page,
                        libc::PROT_READ | libc::PROT_WRITE,
                        libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_STACK,
                        -1,
                        0,
                    );
                    if base == libc::MAP_FAILED {
                        return Err(io::Error::last_os_error());
                    }
                    if libc::mprotect(base, page, libc::PROT_NONE) == -1 {
                        let error = io::Error::last_os_error();
                        libc::munmap(base, CHILD_STACK_SIZE + page);
                        return Err(error);
                    }
                    base
                };
                let base = ptr::NonNull::new(base)
                    .ok_or_else(|| io::Error::other("mmap gave a null mapping"))?;
                self.base.set(Some(base));
                base
            }
        };
        // The mapping's end: page-aligned, so aligned as the ABI wants a stack top.
        Ok(base.as_ptr().wrapping_byte_add(CHILD_STACK_SIZE + page))
    }
}

impl Drop for ChildStack {
    fn drop(&mut self) {
        if let Some(base) = self.base.get() {
            // SAFETY: unmaps the mapping `top` made, which no child uses any more: a
            // thread's locals are dropped when it exits, and it waited for each child.
            #[allow(unsafe_code)]
            unsafe {
                libc::munmap(base.as_ptr(), CHILD_STACK_SIZE + Self::page_size());
            }
        }
    }
}

/// The child: every step of [`Exec`], then the exec. It returns only by `_exit`.
extern "C" fn child(exec: *mut c_void) -> c_int {
    // SAFETY: `exec` is the `&Exec` that `Exec::spawn` passed, alive while this runs.
    #[allow(unsafe_code)]
    let exec = unsafe { &*exec.cast_const().cast::<Exec>() };
    let errno = match prepare(exec) {
        Ok(()) => {
            // SAFETY: execve(2) with NUL-terminated strings and null-terminated pointer
            // arrays that `Exec::new` and `Exec::try_directly` built; it returns only on
            // failure, and a direct attempt that fails leaves the shell to try.
            #[allow(unsafe_code)]
            unsafe {
                if let Some(direct) = &exec.direct {
                    for candidate in &direct.candidates {
                        libc::execve(candidate.as_ptr(), direct.argv.as_ptr(), exec.envp.as_ptr());
                    }
                }
                libc::execve(
                    exec.program.as_ptr(),
                    exec.argv.as_ptr(),
                    exec.envp.as_ptr(),
                );
            }
            last_errno()
        }
        Err(errno) => errno,
    };
    exec.failure.store(errno.max(1), Ordering::SeqCst);
    // SAFETY: _exit(2) ends the child without running anything of proj's.
    #[allow(unsafe_code)]
    unsafe {
        libc::_exit(127)
    }
}

/// The steps before the exec, in the order std's `Command` takes them (descriptors,
/// directory, process group) followed by proj's own: cgroup first, so that whatever
/// the child does is inside; the session before the switch of user, since the terminal
/// is proj's; the parent-death signal after it, since a change of credentials clears
/// it; the signal mask last.
fn prepare(exec: &Exec) -> Result<(), c_int> {
    // SAFETY: each call is a plain system call on numbers and on
    // pointers into `exec` or locals, valid for the call: close_range or unshare,
    // rt_sigaction, dup2, fcntl,
    // chdir, setpgid, write, setsid, ioctl(TIOCSCTTY), setgroups, setgid, setuid, prctl,
    // getppid, close_range, getrlimit, setrlimit, rt_sigprocmask. None allocates, locks
    // or touches proj's memory beyond those pointers.
    #[allow(unsafe_code)]
    unsafe {
        if let Some(below) = exec.own_table_below {
            // First, before any descriptor changes: a table of its own, with only the
            // descriptors below the slots' end. Before Linux 5.9, a copy of all.
            if libc::syscall(
                libc::SYS_close_range,
                below as libc::c_uint,
                libc::c_uint::MAX,
                libc::CLOSE_RANGE_UNSHARE,
            ) == -1
            {
                check(libc::unshare(libc::CLONE_FILES))?;
            }
        }
        default_signal_handlers();
        // SIGPIPE too: Rust ignores it, programs expect its default.
        let mut default: libc::sigaction = std::mem::zeroed();
        default.sa_sigaction = libc::SIG_DFL;
        libc::sigaction(libc::SIGPIPE, &raw const default, ptr::null_mut());
        for (target, &source) in exec.stdio.iter().enumerate() {
            let target = target as c_int;
            if source < 0 {
                continue;
            }
            if source == target {
                check(libc::fcntl(source, libc::F_SETFD, 0))?;
            } else {
                check(libc::dup2(source, target))?;
            }
        }
        check(libc::chdir(exec.cwd.as_ptr()))?;
        if exec.process_group {
            check(libc::setpgid(0, 0))?;
        }
        if let Some(procs) = exec.cgroup_procs
            && !exec.born_in_cgroup
        {
            // Writing `0` moves the writer.
            if libc::write(procs, b"0".as_ptr().cast(), 1) != 1 {
                return Err(last_errno());
            }
        }
        if exec.session {
            check(libc::setsid())?;
            // 0: do not steal a terminal that is another session's.
            check(libc::ioctl(0, libc::TIOCSCTTY, 0))?;
        }
        if let Some(credentials) = &exec.credentials {
            check_raw(libc::syscall(
                libc::SYS_setgroups,
                credentials.groups.len(),
                credentials.groups.as_ptr(),
            ))?;
            check_raw(libc::syscall(libc::SYS_setgid, credentials.gid))?;
            check_raw(libc::syscall(libc::SYS_setuid, credentials.uid))?;
        }
        check(libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL))?;
        if libc::getppid() != exec.parent {
            // proj exited while starting this process.
            return Err(libc::ESRCH);
        }
        // Close-on-exec rather than close: what the child needs is already at 0, 1, 2
        // (and 3 below). Linux 5.11; on an older kernel only descriptors inherited
        // without close-on-exec leak.
        libc::syscall(
            libc::SYS_close_range,
            3u32,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        );
        if let Some(listener) = exec.listener {
            let passed = super::super::listeners::FIRST_PASSED_FD;
            if listener == passed {
                check(libc::fcntl(passed, libc::F_SETFD, 0))?;
            } else {
                check(libc::dup2(listener, passed))?;
            }
        }
        if let Some(soft) = exec.descriptor_limit {
            let mut limit = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            if libc::getrlimit(libc::RLIMIT_NOFILE, &raw mut limit) == 0 {
                limit.rlim_cur = soft.min(limit.rlim_max);
                libc::setrlimit(libc::RLIMIT_NOFILE, &raw const limit);
            }
        }
        let mut none: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&raw mut none);
        check(libc::sigprocmask(
            libc::SIG_SETMASK,
            &raw const none,
            ptr::null_mut(),
        ))?;
    }
    Ok(())
}

/// In a child of proj's (a spawned process before its exec, the forked guardian): every
/// signal proj handles back to its default action, as an exec would have it (proj's
/// handlers live in proj's memory, and would run there). Signals proj's own parent had
/// ignored stay ignored, as across an exec. Plain rt_sigaction(2) calls: safe in the
/// spawned child, which must not allocate.
pub(crate) fn default_signal_handlers() {
    // SAFETY: rt_sigaction(2) on locals, installing no function of ours (SIG_DFL); a
    // signal that cannot be changed (SIGKILL, SIGSTOP, glibc's own) is refused with
    // EINVAL and left alone.
    #[allow(unsafe_code)]
    unsafe {
        let mut default: libc::sigaction = std::mem::zeroed();
        default.sa_sigaction = libc::SIG_DFL;
        for signal in 1..=libc::SIGRTMAX() {
            let mut current: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(signal, ptr::null(), &raw mut current) != 0 {
                continue;
            }
            if current.sa_sigaction != libc::SIG_DFL && current.sa_sigaction != libc::SIG_IGN {
                libc::sigaction(signal, &raw const default, ptr::null_mut());
            }
        }
    }
}

fn check(result: c_int) -> Result<(), c_int> {
    if result == -1 {
        Err(last_errno())
    } else {
        Ok(())
    }
}

fn check_raw(result: libc::c_long) -> Result<(), c_int> {
    if result == -1 {
        Err(last_errno())
    } else {
        Ok(())
    }
}

/// errno, read without building an `io::Error`.
fn last_errno() -> c_int {
    // SAFETY: __errno_location(3) returns this thread's errno, always valid to read.
    #[allow(unsafe_code)]
    unsafe {
        *libc::__errno_location()
    }
}

#[cfg(test)]
mod tests {
    use std::ffi::OsStr;
    use std::fs::File;
    use std::os::fd::AsRawFd;
    use std::path::Path;

    use super::{Exec, Slots};

    /// Both ways a child gets its descriptors: through the slots, sharing proj's table
    /// for an instant, and with a copy of proj's table.
    fn both_ways() -> [Option<&'static Slots>; 2] {
        let slots = Slots::get();
        assert!(slots.is_some(), "close_range(2) works on this machine");
        [slots, None]
    }

    /// Start `program ARGS` in `cwd` with `env`, its stdout and stderr into a file, wait
    /// for it, and return what it wrote; or the spawn's error.
    fn output_of(
        program: &str,
        args: &[&str],
        cwd: &Path,
        env: &[(&str, &str)],
        slots: Option<&'static Slots>,
    ) -> std::io::Result<String> {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("out");
        let out = File::create(&path).expect("output file");
        let null = File::open("/dev/null").expect("/dev/null");
        let args: Vec<&OsStr> = args.iter().map(OsStr::new).collect();
        let env = env
            .iter()
            .map(|(key, value)| (OsStr::new(key), OsStr::new(value)));
        let mut exec = Exec::new(program, &args, cwd, env)?;
        exec.stdio = [null.as_raw_fd(), out.as_raw_fd(), out.as_raw_fd()];
        exec.parent = libc::pid_t::try_from(std::process::id()).expect("pid");
        let pid = {
            let _held = crate::process::spawn_lock();
            exec.spawn_with(slots)?
        };
        let mut status = 0;
        // SAFETY: waitpid(2) for the child just started, writing into a local.
        #[allow(unsafe_code)]
        let waited = unsafe { libc::waitpid(pid, &raw mut status, 0) };
        assert_eq!(waited, pid);
        Ok(std::fs::read_to_string(path).expect("output"))
    }

    #[test]
    fn a_child_holds_only_stdin_stdout_and_stderr_either_way() {
        // proj's own descriptors are close-on-exec; an inherited one may not be.
        let held: Vec<File> = (0..8)
            .map(|_| File::open("/dev/null").expect("open"))
            .collect();
        let inherited = nix::unistd::dup(&held[0]).expect("dup");
        for slots in both_ways() {
            // The shell's own descriptors, while `ls` runs.
            let listed = output_of(
                "/bin/sh",
                &["-c", "ls /proc/$$/fd"],
                Path::new("/"),
                &[("PATH", "/usr/bin:/bin")],
                slots,
            );
            assert_eq!(
                listed.expect("spawned"),
                "0\n1\n2\n",
                "slots: {}",
                slots.is_some()
            );
        }
        drop(inherited);
    }

    #[test]
    fn the_environment_is_exactly_the_one_given_the_last_value_of_a_key_winning() {
        for slots in both_ways() {
            let env = [("B", "1"), ("A", "two words"), ("B", "3")];
            let printed = output_of("/usr/bin/env", &[], Path::new("/"), &env, slots);
            assert_eq!(printed.expect("spawned"), "A=two words\nB=3\n");
        }
    }

    #[test]
    fn a_child_that_cannot_be_born_in_its_cgroup_moves_itself_there() {
        // Not a cgroup: clone3 refuses to start a child in it, and the child writes
        // itself (`0`) into what stands for its cgroup.procs instead.
        let not_a_cgroup = tempfile::tempdir().expect("temp dir");
        let dir = File::open(not_a_cgroup.path()).expect("directory");
        let procs_path = not_a_cgroup.path().join("cgroup.procs");
        let procs = File::create(&procs_path).expect("procs");
        let null = File::open("/dev/null").expect("/dev/null");
        let mut exec = Exec::new("/bin/true", &[], Path::new("/"), []).expect("exec");
        exec.stdio = [null.as_raw_fd(); 3];
        exec.parent = libc::pid_t::try_from(std::process::id()).expect("pid");
        exec.cgroup_dir = Some(dir.as_raw_fd());
        exec.cgroup_procs = Some(procs.as_raw_fd());
        let pid = {
            let _held = crate::process::spawn_lock();
            exec.spawn_with(Slots::get()).expect("spawned")
        };
        let mut status = 0;
        // SAFETY: waitpid(2) for the child just started, writing into a local.
        #[allow(unsafe_code)]
        let waited = unsafe { libc::waitpid(pid, &raw mut status, 0) };
        assert_eq!((waited, status), (pid, 0));
        assert_eq!(std::fs::read_to_string(procs_path).expect("procs"), "0");
    }

    #[test]
    fn a_step_that_fails_in_the_child_is_the_spawn_s_error() {
        for slots in both_ways() {
            let missing = Path::new("/nonexistent-directory-of-proj");
            let error = output_of("/bin/true", &[], missing, &[], slots).expect_err("no such cwd");
            assert_eq!(error.raw_os_error(), Some(libc::ENOENT), "{error}");
            let error = output_of(
                "/nonexistent-program-of-proj",
                &[],
                Path::new("/"),
                &[],
                slots,
            )
            .expect_err("no such program");
            assert_eq!(error.raw_os_error(), Some(libc::ENOENT), "{error}");
        }
    }
}
