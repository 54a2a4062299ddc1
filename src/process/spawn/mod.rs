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
//! reaping it to kill the rest of that process group safely. Why not std's `Command`
//! either: what a child does before its exec (join its cgroup, switch user, ask for a
//! parent-death signal) needs a `pre_exec` hook, with which std forks; [`vfork`] starts
//! the child without copying proj's memory, as posix_spawn(3) does.

use std::ffi::{OsStr, OsString};
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

use nix::fcntl::OFlag;
use nix::sys::signal::Signal;
use nix::unistd::Pid;

mod into_cgroup;
mod vfork;

use vfork::Exec;
pub(crate) use vfork::default_signal_handlers;

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
/// `cgroup`: the instance's cgroup, where the child is born (`clone3` with
/// `CLONE_INTO_CGROUP`) or which it joins by writing `0` (itself) into its
/// `cgroup.procs` before it changes its user: either way everything it ever starts is
/// inside.
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
    cgroup: Option<&super::cgroup::Entry>,
    listener: Option<RawFd>,
) -> io::Result<Child> {
    let target = Target {
        identity,
        cgroup,
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
    cgroup: Option<&'a super::cgroup::Entry>,
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
    let script = super::command_line::exec_if_simple(command);
    let script = match target.listener {
        // The program execed by the shell keeps the shell's pid, `$$`.
        Some(_) => format!("LISTEN_PID=$$; export LISTEN_PID; {script}").into(),
        None => script,
    };
    let terminal = output == Output::Terminal;
    let variable = |name: &str| {
        env.iter()
            .rev()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value)
    };
    let term = (terminal && variable("TERM").is_none())
        .then_some((OsStr::new("TERM"), OsStr::new("xterm-256color")));
    let mut exec = Exec::new(
        "/bin/sh",
        &[OsStr::new("-c"), OsStr::new(script.as_ref())],
        cwd,
        env.iter()
            .map(|(key, value)| (key.as_os_str(), value.as_os_str()))
            .chain(term),
    )?;
    // Without the shell's start, when that changes nothing the program could see: the
    // shell would exec these very words, found along the same PATH, with PWD as proj
    // sets it (dash exports PWD). A listening socket needs the shell for `$$`.
    if target.listener.is_none()
        && variable("PWD").is_some()
        && let Some(path) = variable("PATH")
        && let Some(words) = super::command_line::literal_words(command)
    {
        exec.try_directly(&words, path)?;
    }
    // Held until the child has execed: the descriptors it takes as 0, 1 and 2.
    let null = dev_null()?;
    let (read_end, master, _given) = match output {
        Output::Pipe => {
            let (read_end, write_end) = nix::unistd::pipe2(OFlag::O_CLOEXEC)?;
            exec.stdio = [null, write_end.as_raw_fd(), write_end.as_raw_fd()];
            (Some(read_end), None, Some(write_end))
        }
        Output::Discard => {
            exec.stdio = [null; 3];
            (None, None, None)
        }
        Output::Terminal => {
            let pty = super::pty::open(super::pty::WindowSize::DEFAULT)?;
            exec.stdio = [pty.slave.as_raw_fd(); 3];
            (None, Some(pty.master), Some(pty.slave))
        }
    };
    // A new session (for a terminal) also makes a new process group: setpgid first
    // would make the child a group leader, which setsid refuses.
    exec.process_group = !terminal;
    exec.session = terminal;
    exec.cgroup_procs = target.cgroup.map(|cgroup| cgroup.procs.as_raw_fd());
    exec.cgroup_dir = target
        .cgroup
        .and_then(|cgroup| cgroup.dir.as_ref())
        .map(AsRawFd::as_raw_fd);
    exec.credentials = target.identity.map(|identity| vfork::Credentials {
        uid: identity.uid.as_raw(),
        gid: identity.gid.as_raw(),
        groups: identity.groups.iter().map(|gid| gid.as_raw()).collect(),
    });
    exec.parent = std::process::id().try_into().map_err(io::Error::other)?;
    exec.listener = target.listener;
    exec.descriptor_limit = super::descriptors::inherited_soft_limit();
    let (pid, exit) = {
        let _reaper_held_back = super::spawn_lock();
        let pid = exec.spawn()?;
        super::reaper::lead(pid);
        // Still under the lock: the reaper cannot have seen this child yet.
        (pid, claim.then(|| super::reaper::claim(pid)))
    };
    // `_given` (the pipe's write end, or the terminal's slave) is dropped here, so the
    // reader sees end-of-file once the child and its descendants are done.
    Ok((
        Child {
            pid,
            output: read_end,
            terminal: master,
        },
        exit,
    ))
}

/// /dev/null, opened once for every child's stdin (and a probe's output).
fn dev_null() -> io::Result<RawFd> {
    static DEV_NULL: std::sync::OnceLock<OwnedFd> = std::sync::OnceLock::new();
    if let Some(null) = DEV_NULL.get() {
        return Ok(null.as_raw_fd());
    }
    let null: OwnedFd = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")?
        .into();
    Ok(DEV_NULL.get_or_init(|| null).as_raw_fd())
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
