//! Reaping every child of proj, known or not.
//!
//! proj makes itself a child subreaper (`PR_SET_CHILD_SUBREAPER`, see prctl(2)): when a
//! descendant's parent dies, the orphan is re-parented to proj instead of init, so proj
//! can wait for it and, at shutdown, kill it. The reaper therefore sees exits of pids it
//! never spawned; those are reaped and logged at debug level, never an error.
//!
//! Each exit is first *peeked* with `waitid(WNOWAIT)`: while the exited child is still a
//! zombie its pid cannot be reused, so when it led a group proj started ([`lead`]),
//! `killpg(pid, SIGKILL)` reaches exactly the rest of that group (an instance's leftover
//! background jobs) and nothing else. Only then is the child reaped and its exit handed
//! to the supervisor. A group that is being stopped gracefully is spared (see [`drain`]):
//! its other members get their stop timeout.
//!
//! An orphan, a descendant whose parent exited, is reaped and nothing else: it may be
//! the intermediate of a double fork (`epmd -daemon`, `ssh-agent`), whose daemon lives
//! in the group or session the intermediate led, and must live as long as its instance
//! does (the supervisor ends it with its instance, see [`super::membership`]).
//! No timers, no polling: the loop runs on SIGCHLD.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::sync::{Mutex, PoisonError};
use std::time::Instant;

use nix::errno::Errno;
use nix::sys::signal::Signal;
use nix::sys::wait::{Id, WaitPidFlag, WaitStatus, waitid, waitpid};
use nix::unistd::Pid;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::oneshot;

use super::ExitStatus;
use super::spawn::signal_group;

/// A child that exited, reaped.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Exit {
    pub pid: i32,
    pub status: ExitStatus,
    pub at: Instant,
}

/// Children whose exit someone other than the supervisor waits for (readiness probes).
static CLAIMS: Mutex<BTreeMap<i32, oneshot::Sender<Exit>>> = Mutex::new(BTreeMap::new());

/// Deliver the exit of `pid` to the returned receiver rather than to the supervisor.
/// Call with [`super::SPAWN_LOCK`] held, right after spawning, so the exit cannot be
/// reaped before the claim exists.
pub(crate) fn claim(pid: i32) -> oneshot::Receiver<Exit> {
    let (sender, receiver) = oneshot::channel();
    CLAIMS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(pid, sender);
    receiver
}

/// The children proj spawned as leaders of their own groups (instances, their stop
/// commands, probes), until reaped: only their exit ends the rest of their group.
static LEADERS: Mutex<BTreeSet<i32>> = Mutex::new(BTreeSet::new());

/// `pid` leads a process group proj started. Call with [`super::SPAWN_LOCK`] held.
pub(crate) fn lead(pid: i32) {
    LEADERS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(pid);
}

/// Process groups being stopped gracefully: when their leader exits, the rest of the
/// group is left to finish its own shutdown (the supervisor waits for it, up to the stop
/// timeout) instead of being killed at once.
static DRAINING: Mutex<BTreeSet<i32>> = Mutex::new(BTreeSet::new());

/// Leave the group `pgid` alone when its leader exits (see [`DRAINING`]).
pub(crate) fn drain(pgid: i32) {
    DRAINING
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(pgid);
}

/// The group `pgid` is gone or no longer being stopped.
pub(crate) fn undrain(pgid: i32) {
    DRAINING
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .remove(&pgid);
}

/// Whether any process is left in the group `pgid`.
pub(crate) fn group_alive(pgid: i32) -> bool {
    !matches!(
        nix::sys::signal::killpg(Pid::from_raw(pgid), None),
        Err(Errno::ESRCH)
    )
}

/// Become a subreaper and start reaping. Call before spawning anything, inside the
/// runtime: the SIGCHLD handler must exist before the first child can exit.
pub(crate) fn start(exits: UnboundedSender<Exit>) -> io::Result<()> {
    nix::sys::prctl::set_child_subreaper(true)?;
    // Children spawned before (setup steps) were reaped by whoever spawned them.
    LEADERS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clear();
    let mut sigchld = signal(SignalKind::child())?;
    tokio::spawn(async move {
        // Children may have exited before the handler was installed.
        loop {
            if reap_all(&exits).is_err() {
                return;
            }
            if sigchld.recv().await.is_none() {
                return;
            }
        }
    });
    Ok(())
}

/// Reap every child that has exited. SIGCHLD coalesces, so one signal may stand for many
/// exits: loop until none is left. Errs only once the supervisor has stopped listening.
fn reap_all(exits: &UnboundedSender<Exit>) -> Result<(), ()> {
    let peek = WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT;
    loop {
        // No spawn is in flight while this is held (see `SPAWN_LOCK`).
        let spawn_guard = super::spawn_lock();
        let status = match waitid(Id::All, peek) {
            Ok(WaitStatus::Exited(pid, code)) => (pid, ExitStatus::Code(code)),
            Ok(WaitStatus::Signaled(pid, signal, _)) => (pid, ExitStatus::Signal(signal)),
            Ok(WaitStatus::StillAlive) | Err(Errno::ECHILD) => return Ok(()),
            Ok(other) => {
                tracing::debug!(?other, "unexpected wait status");
                return Ok(());
            }
            Err(Errno::EINTR) => continue,
            Err(error) => {
                tracing::warn!(%error, "waitid failed");
                return Ok(());
            }
        };
        let (pid, status) = status;
        let at = Instant::now();
        let led = LEADERS
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&pid.as_raw());
        let draining = DRAINING
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(&pid.as_raw());
        if led && !draining {
            signal_group(pid.as_raw(), Signal::SIGKILL);
        }
        reap(pid);
        drop(spawn_guard);
        let exit = Exit {
            pid: pid.as_raw(),
            status,
            at,
        };
        let claimed = CLAIMS
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&exit.pid);
        match claimed {
            // The claimant may have given up waiting (an aborted probe): fine.
            Some(claimant) => drop(claimant.send(exit)),
            None => exits.send(exit).map_err(|_| ())?,
        }
    }
}

fn reap(pid: Pid) {
    loop {
        match waitpid(pid, Some(nix::sys::wait::WaitPidFlag::WNOHANG)) {
            Err(Errno::EINTR) => continue,
            Ok(_) | Err(_) => return,
        }
    }
}
