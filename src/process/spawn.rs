//! Spawning one instance: `sh -c COMMAND` in its own process group, with an explicit
//! environment, stdin from /dev/null and stdout+stderr into one pipe that proj reads;
//! or, for `tty = true`, a pseudo-terminal as stdin, stdout and stderr ([`super::pty`]).
//!
//! Why one pipe for both streams: the order between a process's stdout and stderr lines
//! is kept as the process wrote them, which is what a developer reading a merged log
//! expects (foreman and honcho do the same).
//!
//! Why not `tokio::process`: it reaps its own children, while proj reaps every child
//! itself (it is a subreaper, see [`super::reaper`]), and must peek at an exit before
//! reaping it to kill the rest of that process group safely.

use std::ffi::OsString;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};

use nix::fcntl::OFlag;
use nix::sys::signal::Signal;
use nix::unistd::{Pid, getpid};

/// A spawned child: its pid (also its process group id) and the read end of its output
/// (none when the output was discarded, or went to a terminal).
#[derive(Debug)]
pub(crate) struct Child {
    pub pid: i32,
    pub output: Option<OwnedFd>,
    /// [`Output::Terminal`]: the master side of the child's pseudo-terminal.
    pub terminal: Option<OwnedFd>,
}

/// Where a child's stdout and stderr go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Output {
    /// One pipe for both, read by proj.
    Pipe,
    /// /dev/null (a readiness probe's chatter).
    Discard,
    /// A new pseudo-terminal as stdin, stdout and stderr, the child the leader of a new
    /// session with it as controlling terminal (`tty = true`).
    Terminal,
}

/// Spawn `sh -c command` in `cwd` with exactly `env` as its environment.
///
/// The child:
/// - leads a new process group (`setpgid(0, 0)`), so proj can signal the whole group and
///   the terminal's Ctrl-C reaches proj alone, which then stops children in order;
/// - gets `SIGKILL` when proj dies (`PR_SET_PDEATHSIG`): the first line of defence, the
///   guardian ([`super::guardian`]) is the second;
/// - sees only fds 0, 1 and 2: everything proj opens is close-on-exec already, and the
///   child marks every other descriptor close-on-exec before exec, whatever proj's own
///   parent leaked to it.
pub(crate) fn spawn(
    command: &str,
    cwd: &Path,
    env: &[(OsString, OsString)],
    output: Output,
) -> io::Result<Child> {
    Ok(spawn_inner(command, cwd, env, output, Target::default(), false)?.0)
}

/// [`spawn`] as an instance's process: as `identity` (`user`/`group`, resolved
/// beforehand), the child setting its supplementary groups, group and user in that
/// order, then asking for its parent-death signal, which the kernel clears on a change
/// of credentials (`HOME`, `USER` and `LOGNAME` come with `env`, see
/// [`super::identity::login_environment`]).
///
/// `cgroup_procs`: the instance cgroup's `cgroup.procs`, open for writing; the child
/// writes `0` (itself) into it before it changes its user, so that everything it ever
/// starts is inside.
///
/// `listener`: a listening socket the child gets as descriptor 3 (SPEC §9.3), with
/// `LISTEN_PID` set to its own pid by the shell before it execs the program (`$$` is
/// the pid the program keeps); `LISTEN_FDS` and `LISTEN_FDNAMES` come with `env`.
pub(crate) fn spawn_member(
    command: &str,
    cwd: &Path,
    env: &[(OsString, OsString)],
    output: Output,
    identity: Option<&super::identity::Identity>,
    cgroup_procs: Option<&OwnedFd>,
    listener: Option<RawFd>,
) -> io::Result<Child> {
    let target = Target {
        identity,
        cgroup_procs,
        listener,
    };
    Ok(spawn_inner(command, cwd, env, output, target, false)?.0)
}

/// [`spawn`] as `identity`, with the exit delivered to the returned receiver instead of
/// the supervisor (a probe waits for it). The claim is registered before the reaper can see
/// the child.
pub(crate) fn spawn_claimed(
    command: &str,
    cwd: &Path,
    env: &[(OsString, OsString)],
    output: Output,
    identity: Option<&super::identity::Identity>,
) -> io::Result<(Child, tokio::sync::oneshot::Receiver<super::reaper::Exit>)> {
    let target = Target {
        identity,
        ..Target::default()
    };
    let (child, exit) = spawn_inner(command, cwd, env, output, target, true)?;
    let exit = exit.ok_or_else(|| io::Error::other("invariant: a claimed spawn has a receiver"))?;
    Ok((child, exit))
}

type Spawned = (
    Child,
    Option<tokio::sync::oneshot::Receiver<super::reaper::Exit>>,
);

/// Who the child becomes and where it lives.
#[derive(Default, Clone, Copy)]
struct Target<'a> {
    identity: Option<&'a super::identity::Identity>,
    cgroup_procs: Option<&'a OwnedFd>,
    /// A listening socket, passed as descriptor 3.
    listener: Option<RawFd>,
}

fn spawn_inner(
    command: &str,
    cwd: &Path,
    env: &[(OsString, OsString)],
    output: Output,
    target: Target<'_>,
    claim: bool,
) -> io::Result<Spawned> {
    if !cwd.is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("working directory {} does not exist", cwd.display()),
        ));
    }
    super::descriptors::check_room_to_spawn()?;
    let parent = getpid();
    let mut cmd = Command::new("/bin/sh");
    let script = super::command_line::exec_if_simple(command);
    let script = match target.listener {
        // The program execed by the shell keeps the shell's pid, `$$`.
        Some(_) => format!("LISTEN_PID=$$; export LISTEN_PID; {script}").into(),
        None => script,
    };
    cmd.arg("-c")
        .arg(script.as_ref())
        .current_dir(cwd)
        .env_clear()
        .envs(env.iter().map(|(key, value)| (key, value)));
    let terminal = output == Output::Terminal;
    if terminal {
        // The new session (in pre_exec) also makes a new process group: setpgid here
        // would make the child a group leader, which setsid refuses.
        if !env.iter().any(|(key, _)| key == "TERM") {
            cmd.env("TERM", "xterm-256color");
        }
    } else {
        cmd.stdin(Stdio::null()).process_group(0);
    }
    let (read_end, master) = match output {
        Output::Pipe => {
            let (read_end, write_end) = nix::unistd::pipe2(OFlag::O_CLOEXEC)?;
            let stderr = write_end.try_clone()?;
            cmd.stdout(Stdio::from(write_end))
                .stderr(Stdio::from(stderr));
            (Some(read_end), None)
        }
        Output::Discard => {
            cmd.stdout(Stdio::null()).stderr(Stdio::null());
            (None, None)
        }
        Output::Terminal => {
            let pty = super::pty::open(super::pty::WindowSize::DEFAULT)?;
            cmd.stdin(Stdio::from(pty.slave.try_clone()?))
                .stdout(Stdio::from(pty.slave.try_clone()?))
                .stderr(Stdio::from(pty.slave));
            (None, Some(pty.master))
        }
    };
    // Moved into the closure whole, so the child never allocates to read it.
    let identity = target.identity.cloned();
    let cgroup_procs = target.cgroup_procs.map(AsRawFd::as_raw_fd);
    let listener = target.listener;
    // SAFETY: the closure runs in the forked child before exec, where only
    // async-signal-safe functions may be called. It makes plain system calls only
    // (write(2) into cgroup.procs, setsid(2) and ioctl(2) TIOCSCTTY for a terminal,
    // setgroups(2), setgid(2), setuid(2) on data prepared before the fork, prctl(2),
    // getppid(2), close_range(2), dup2(2) or fcntl(2) for the listening socket,
    // getrlimit(2)/setrlimit(2)), allocates nothing and takes no lock.
    #[allow(unsafe_code)]
    unsafe {
        cmd.pre_exec(move || {
            // First: whatever the child does next, it is already in its cgroup; and
            // before the switch of user, which may take the right to move away.
            if let Some(procs) = cgroup_procs {
                join_cgroup(procs)?;
            }
            if terminal {
                // Before the switch of user: the terminal belongs to proj's user.
                super::pty::become_session_leader()?;
            }
            if let Some(identity) = &identity {
                identity.switch()?;
            }
            // After the switch: changing credentials clears the parent-death signal.
            die_with_parent(parent)?;
            close_other_fds_on_exec();
            // After: the copy at descriptor 3 is the one descriptor that survives exec.
            if let Some(listener) = listener {
                pass_listener(listener)?;
            }
            super::descriptors::restore_limit_in_child();
            Ok(())
        });
    }
    let (pid, exit) = {
        let _reaper_held_back = super::spawn_lock();
        let child = cmd.spawn()?;
        let pid = i32::try_from(child.id()).map_err(io::Error::other)?;
        super::reaper::lead(pid);
        // Still under the lock: the reaper cannot have seen this child yet.
        (pid, claim.then(|| super::reaper::claim(pid)))
    };
    // `cmd` still holds the pipe's write ends; dropping it here closes them in proj so the
    // reader sees end-of-file once the child and its descendants are done.
    drop(cmd);
    Ok((
        Child {
            pid,
            output: read_end,
            terminal: master,
        },
        exit,
    ))
}

/// Replace proj with `command` (`proj run`): one argument is a shell command line
/// (`sh -c`), several are the program and its arguments. Runs in `cwd` with exactly
/// `env`, as `identity` when given; stdin, stdout and stderr stay proj's, so the
/// command has the terminal. Returns only when the exec failed.
pub(crate) fn exec_foreground(
    command: &[String],
    cwd: &Path,
    env: &[(OsString, OsString)],
    identity: Option<&super::identity::Identity>,
) -> io::Error {
    let mut cmd = match command {
        [line] => {
            let mut shell = Command::new("/bin/sh");
            shell.arg("-c").arg(line);
            shell
        }
        [program, args @ ..] => {
            let mut direct = Command::new(program);
            direct.args(args);
            direct
        }
        [] => return io::Error::new(io::ErrorKind::InvalidInput, "no command given"),
    };
    cmd.current_dir(cwd)
        .env_clear()
        .envs(env.iter().map(|(key, value)| (key, value)));
    let identity = identity.cloned();
    if let Some(identity) = identity {
        // SAFETY: the closure runs in the process about to exec (std forks nothing for
        // `exec`, but the same rules hold): setgroups(2), setgid(2) and setuid(2) on
        // data prepared before, no allocation, no lock.
        #[allow(unsafe_code)]
        unsafe {
            cmd.pre_exec(move || identity.switch());
        }
    }
    cmd.exec()
}

/// In the child, before exec: make `listener` descriptor 3, open across exec.
fn pass_listener(listener: RawFd) -> io::Result<()> {
    let passed = super::listeners::FIRST_PASSED_FD;
    // SAFETY: dup2(2) and fcntl(2) on descriptor numbers: no memory is read or written.
    // Descriptor 3 is held by proj itself (see `listeners`), so it is neither the
    // listener's original nor std's exec-error pipe, and replacing it in the child
    // closes nothing the child needs.
    #[allow(unsafe_code)]
    let result = unsafe {
        if listener == passed {
            libc::fcntl(passed, libc::F_SETFD, 0)
        } else {
            libc::dup2(listener, passed)
        }
    };
    if result == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// In the child, before exec: move itself into the cgroup whose `cgroup.procs` is open
/// as `procs` (writing `0` moves the writer).
fn join_cgroup(procs: RawFd) -> io::Result<()> {
    // SAFETY: write(2) of one byte from a static buffer to a descriptor proj opened for
    // this child (it stays open until after the spawn); no memory is written.
    #[allow(unsafe_code)]
    let written = unsafe { libc::write(procs, b"0".as_ptr().cast(), 1) };
    if written == 1 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// In the child, before exec: ask for SIGKILL when proj dies, and close the race where
/// proj died between fork and prctl (then the parent is already someone else).
///
/// `PR_SET_PDEATHSIG` fires when the *thread* that forked exits, not the process. proj
/// spawns only from the thread that runs the supervisor, which lives as long as proj.
fn die_with_parent(parent: Pid) -> io::Result<()> {
    nix::sys::prctl::set_pdeathsig(Signal::SIGKILL)?;
    if nix::unistd::getppid() != parent {
        // proj exited while starting this process. An OS error, not a message: building
        // one would allocate in the forked child, and std passes only the errno back.
        return Err(io::Error::from_raw_os_error(libc::ESRCH));
    }
    Ok(())
}

/// In the child, before exec: mark every descriptor above stderr close-on-exec
/// (`close_range(3, ~0, CLOSE_RANGE_CLOEXEC)`, Linux 5.11). Close-on-exec rather than
/// close, because std's own exec-error pipe must stay open until exec. On an older
/// kernel this does nothing, and only descriptors inherited without close-on-exec leak.
fn close_other_fds_on_exec() {
    // SAFETY: close_range(2) with CLOSE_RANGE_CLOEXEC only changes descriptor flags; it
    // reads and writes no memory of ours.
    #[allow(unsafe_code)]
    unsafe {
        libc::syscall(
            libc::SYS_close_range,
            3u32,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        );
    }
}

/// Send `signal` to the process group `pgid`. A group that is already gone is not an
/// error: the exit is on its way to the reaper.
pub(crate) fn signal_group(pgid: i32, signal: Signal) {
    match nix::sys::signal::killpg(Pid::from_raw(pgid), signal) {
        Ok(()) | Err(nix::errno::Errno::ESRCH) => {}
        Err(error) => tracing::warn!(pgid, %signal, %error, "cannot signal process group"),
    }
}

/// Send `signal` to the process `pid` alone; a process that is already gone is fine.
pub(crate) fn signal_process(pid: i32, signal: Signal) {
    match nix::sys::signal::kill(Pid::from_raw(pid), signal) {
        Ok(()) | Err(nix::errno::Errno::ESRCH) => {}
        Err(error) => tracing::warn!(pid, %signal, %error, "cannot signal process"),
    }
}
