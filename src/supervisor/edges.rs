//! What the supervisor is given rather than builds: its inputs and its hands.
//!
//! The supervisor decides; the edges do. It reads exits, signals and commands from the
//! channels in [`Inputs`], acts on processes only through a [`Processes`], has files
//! watched through a [`Watching`] and tells a [`ServiceManager`] (systemd) how the stack
//! is. The binary wires the real ones (`commands::supervise`: the reaper, tokio's signal
//! streams, the control socket, [`crate::process`], [`crate::watch`],
//! [`crate::systemd`]); the actor's unit tests wire a fake that records spawns and
//! signals and lets the test decide when a process exits, on tokio's paused clock (see
//! [`super::clock`]), and nothing for the other two.

use std::collections::HashMap;
use std::ffi::OsString;
use std::io;
use std::os::fd::OwnedFd;
use std::path::Path;

use nix::sys::signal::Signal;
use tokio::sync::mpsc;

use super::command::Command;
use crate::process::identity::Identity;
use crate::process::reaper::Exit;
use crate::process::usage::GroupUsage;

/// The edges the supervisor acts through ([`super::run`]'s hands).
pub(crate) struct Edges {
    pub processes: std::sync::Arc<dyn Processes>,
    pub watching: Box<dyn Watching>,
    pub manager: Box<dyn ServiceManager>,
}

/// File watching: what turns a changed file into [`super::Event::FileChanged`].
pub(crate) trait Watching: Send {
    /// Watch what `plan` says (at start and after every reload); a change of a process's
    /// files is sent on `events`. A watcher that cannot start is reported on `printer`.
    fn sync(
        &mut self,
        plan: &crate::config::Plan,
        events: &mpsc::UnboundedSender<super::Event>,
        printer: &crate::logs::printer::Printer,
    );
}

/// Nothing watches files (the supervisor's unit tests send the events themselves).
impl Watching for () {
    fn sync(
        &mut self,
        _: &crate::config::Plan,
        _: &mpsc::UnboundedSender<super::Event>,
        _: &crate::logs::printer::Printer,
    ) {
    }
}

/// The service manager proj runs under (systemd's notify protocol): told of every
/// published snapshot, of reloads, and pinged from the supervisor's own loop.
pub(crate) trait ServiceManager: Send {
    /// A new snapshot was published.
    fn observe(&mut self, snapshot: &super::Snapshot);
    /// A reload begins.
    fn reloading(&mut self);
    /// The reload was refused: nothing changed, it is over.
    fn reload_refused(&mut self);
    /// How often the manager wants to hear that proj is alive, if at all.
    fn watchdog_interval(&self) -> Option<std::time::Duration>;
    /// proj is alive.
    fn watchdog(&self);
}

/// No service manager is listening.
impl ServiceManager for () {
    fn observe(&mut self, _: &super::Snapshot) {}
    fn reloading(&mut self) {}
    fn reload_refused(&mut self) {}
    fn watchdog_interval(&self) -> Option<std::time::Duration> {
        None
    }
    fn watchdog(&self) {}
}

/// What the supervisor's own helpers (probe tasks, file watchers) tell it.
#[derive(Debug)]
pub(crate) enum Event {
    /// The readiness probe of `slot`'s run number `run` passed.
    Ready { slot: usize, run: u64 },
    /// An attempt of that probe failed, for a reason other than the last one's.
    ProbeSaid {
        slot: usize,
        run: u64,
        reason: String,
    },
    /// The `health` check of `slot`'s run number `run` passed or failed.
    Health {
        slot: usize,
        run: u64,
        report: HealthReport,
    },
    /// The output of `slot`'s run number `run` is closed (its last byte was delivered).
    OutputClosed { slot: usize, run: u64 },
    /// A file that `process` watches changed: restart it (or start it again when it
    /// failed or finished).
    FileChanged {
        process: String,
        path: std::path::PathBuf,
    },
}

/// What a health task says about its run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum HealthReport {
    /// A check passed, after none had yet or after failures.
    Passed,
    /// A check failed: `in_a_row` failures so far, out of the `retries` allowed.
    Failed {
        said: String,
        in_a_row: u32,
        retries: u32,
    },
}

/// A signal to proj itself, as the supervisor sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SignalEvent {
    /// SIGINT (Ctrl-C): stop everything; a second one kills.
    Interrupt,
    /// SIGTERM: the same.
    Terminate,
    /// SIGHUP: reload.
    Hangup,
}

impl SignalEvent {
    /// The name proj's messages use (`SIGINT: stopping every process …`).
    pub(crate) fn name(self) -> &'static str {
        match self {
            SignalEvent::Interrupt => "SIGINT",
            SignalEvent::Terminate => "SIGTERM",
            SignalEvent::Hangup => "SIGHUP",
        }
    }
}

/// Everything that reaches the supervisor from outside.
pub(crate) struct Inputs {
    /// Every child that exited, reaped.
    pub exits: mpsc::UnboundedReceiver<Exit>,
    /// Signals to proj.
    pub signals: mpsc::UnboundedReceiver<SignalEvent>,
    /// Requests from the control socket and in-process clients.
    pub commands: mpsc::UnboundedReceiver<Command>,
    /// The sending end of `commands`, for the [`super::Handle`] of in-process clients.
    pub command_sender: mpsc::UnboundedSender<Command>,
    /// The membership of some instance changed (the last process of a cgroup ended):
    /// look again at the instances whose processes are finishing.
    pub members: mpsc::UnboundedReceiver<()>,
}

/// The senders that feed an [`Inputs`].
pub(crate) struct InputSenders {
    pub exits: mpsc::UnboundedSender<Exit>,
    pub signals: mpsc::UnboundedSender<SignalEvent>,
    pub commands: mpsc::UnboundedSender<Command>,
    pub members: mpsc::UnboundedSender<()>,
}

impl Inputs {
    /// A fresh set of input channels and their senders.
    pub(crate) fn channels() -> (Inputs, InputSenders) {
        let (exits_sender, exits) = mpsc::unbounded_channel();
        let (signals_sender, signals) = mpsc::unbounded_channel();
        let (commands_sender, commands) = mpsc::unbounded_channel();
        let (members_sender, members) = mpsc::unbounded_channel();
        let inputs = Inputs {
            exits,
            signals,
            commands,
            command_sender: commands_sender.clone(),
            members,
        };
        let senders = InputSenders {
            exits: exits_sender,
            signals: signals_sender,
            commands: commands_sender,
            members: members_sender,
        };
        (inputs, senders)
    }
}

/// What one spawn needs.
#[derive(Debug)]
pub(crate) struct SpawnRequest<'a> {
    /// The instance whose processes it joins (`web.1`): its own, or the one a stop
    /// command stops.
    pub instance: &'a str,
    /// The instance's main process (a new run, which starts in an empty cgroup), not a
    /// helper that joins a running one (a stop command).
    pub main: bool,
    /// The process whose listening socket it gets as descriptor 3 (see
    /// [`Processes::listen`]).
    pub socket: Option<&'a str>,
    pub command: &'a str,
    pub cwd: &'a Path,
    pub env: &'a [(OsString, OsString)],
    pub identity: Option<&'a Identity>,
    /// `tty = true`: a pseudo-terminal as stdin, stdout and stderr instead of
    /// /dev/null and a pipe.
    pub terminal: bool,
}

/// A spawned instance: its pid (which is also its process group id) and the read end of
/// its output, if it has one: a pipe, or for a `terminal` request the pty's master.
#[derive(Debug)]
pub(crate) struct Spawned {
    pub pid: i32,
    pub output: Option<OwnedFd>,
    /// The master side of the instance's pseudo-terminal (a `terminal` spawn).
    pub terminal: Option<OwnedFd>,
}

/// The supervisor's hands on processes. Every method is quick and never blocks on a
/// child, except [`Processes::sweep`], which the supervisor runs on a blocking thread.
///
/// An instance's processes are named by its *leader*, the process spawned for it (whose
/// pid is also its process group id); which processes are its is the edge's business
/// ([`crate::process::membership`]: a cgroup, or its group and what left it).
pub(crate) trait Processes: Send + Sync + 'static {
    /// The value of [`crate::process::SUPERVISOR_MARKER`] every child gets, unique to
    /// this run: descendants that escape their process group are found by it.
    fn marker(&self) -> &str;
    /// Start `sh -c COMMAND` as the leader of a new process group, one of the processes
    /// of `request.instance`.
    fn spawn(&self, request: &SpawnRequest<'_>) -> io::Result<Spawned>;
    /// Who listens on TCP `port` now, if anyone (checked before an instance with a port
    /// is spawned).
    fn port_holder(&self, port: u16) -> Option<crate::process::ports::Holder>;
    /// Hold a listening socket for `process` on `address` (bound now, or the one held
    /// already on that address).
    fn listen(&self, process: &str, address: std::net::SocketAddr) -> io::Result<()>;
    /// Close `process`'s listening socket, if one is held.
    fn close_listener(&self, process: &str);
    /// Send `signal` to the process group `pgid`.
    fn signal_group(&self, pgid: i32, signal: Signal);
    /// Send `signal` to the process `pid` alone (a child proj has not reaped yet).
    fn signal_process(&self, pid: i32, signal: Signal);
    /// Send `signal` to every process of `leader`'s instance.
    fn signal_all(&self, leader: i32, signal: Signal);
    /// Send `signal` to the processes of `leader`'s instance that left its group.
    fn signal_escaped(&self, leader: i32, signal: Signal);
    /// SIGKILL every process of `leader`'s instance.
    fn end(&self, leader: i32);
    /// Whether any process of `leader`'s instance is left.
    fn alive(&self, leader: i32) -> bool;
    /// The group `pgid` is being stopped: when its leader exits, leave the rest of the
    /// group to finish (the reaper would otherwise kill it at once).
    fn spare_group(&self, pgid: i32);
    /// The instance `pgid` led is over: its processes are gone (or given up on).
    fn release_group(&self, pgid: i32);
    /// Kill every descendant that escaped its process group (found by the marker); the
    /// number killed.
    fn sweep(&self) -> usize;
    /// What each of these process groups costs now (memory, CPU time); one pass over
    /// the process table for all of them. Asked only by `ps`, the TUI and `max_memory`.
    fn usage(&self, pgids: &[i32]) -> HashMap<i32, GroupUsage>;
}
