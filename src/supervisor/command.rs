//! The supervisor's API: what its clients (the control socket, the TUI, signals) may ask
//! of it, and the typed answers.
//!
//! Every [`Command`] carries its own reply channel, so an answer cannot reach the wrong
//! caller and a request that waits (a restart answered once the new process runs) simply
//! holds on to its channel. A refusal is a [`Refusal`], whose [`Refusal::exit_code`] is
//! the one place that decides between "bad usage" (2) and "a runtime failure" (1). How
//! any of this looks on the wire is [`crate::control`]'s business alone.

use std::collections::HashMap;
use std::fmt;
use std::time::SystemTime;

use tokio::sync::{oneshot, watch};

use super::snapshot::{About, Acted, InstanceStatus, LogLine, ReloadSummary, Snapshot};
use super::terminal::Connection;
use crate::logs::feed::Subscription;

/// Where the answer to a [`Command`] goes.
pub type Reply<T> = oneshot::Sender<T>;

/// A request to the supervisor.
#[derive(Debug)]
pub enum Command {
    /// Who is there.
    Hello { reply: Reply<About> },
    /// Every instance, in plan order (`proj ps`).
    Status { reply: Reply<Vec<InstanceStatus>> },
    /// Start these processes or instances and what they depend on; answered once they
    /// settled.
    Start {
        names: Vec<String>,
        reply: Reply<Result<Acted, Refusal>>,
    },
    /// Stop them gracefully; answered once they are gone.
    Stop {
        names: Vec<String>,
        reply: Reply<Result<Acted, Refusal>>,
    },
    /// Stop them if they run, then start them; answered once each runs a new process (or
    /// gave up).
    Restart {
        names: Vec<String>,
        reply: Reply<Result<Acted, Refusal>>,
    },
    /// Run this many instances of these processes now: new ones start (ports by the
    /// usual rule), the highest-numbered ones stop through their stop sequence.
    /// Answered once they settled, with every instance of those processes.
    Scale {
        counts: Vec<(String, u32)>,
        reply: Reply<Result<Acted, Refusal>>,
    },
    /// Restart them one at a time per process, the next once the previous is running
    /// again (as `rolling = true` does for every restart); answered as [`Command::Restart`].
    RollingRestart {
        names: Vec<String>,
        reply: Reply<Result<Acted, Refusal>>,
    },
    /// Send `signal` to these instances' main processes (`group`: to every process of
    /// each); answered at once with those instances (a stopped one has no pid: nothing
    /// was sent to it).
    Signal {
        signal: nix::sys::signal::Signal,
        names: Vec<String>,
        group: bool,
        reply: Reply<Result<Vec<InstanceStatus>, Refusal>>,
    },
    /// Re-read the config file and apply the difference.
    Reload {
        reply: Reply<Result<ReloadSummary, Refusal>>,
    },
    /// Stop everything and end the supervisor. Answered right before it exits.
    Shutdown {
        mode: ShutdownMode,
        reply: Reply<Farewell>,
    },
    /// Recent output of these instances (all when empty), and for `follow` what comes
    /// next.
    Logs {
        names: Vec<String>,
        lines: usize,
        follow: bool,
        /// Only lines read at or after this moment.
        since: Option<SystemTime>,
        /// Only lines matching this.
        grep: Option<regex::bytes::Regex>,
        reply: Reply<Result<Logs, Refusal>>,
    },
    /// Answered once every named instance (none named: every instance `proj up`
    /// started) is running (a oneshot: exited 0), or as soon as one of them failed, or
    /// at the timeout. With `ready_deadlines` (`up -d`), also as soon as one is still
    /// not up once its dependencies' and its own `ready_timeout` have passed.
    Wait {
        names: Vec<String>,
        timeout: Option<std::time::Duration>,
        ready_deadlines: bool,
        reply: Reply<WaitUp>,
    },
    /// Every state change from now on (`proj events`); with `past`, also the changes
    /// each instance keeps (for `proj why`), oldest first: what `up -d` shows of what
    /// happened before it asked.
    Events {
        past: bool,
        reply: Reply<(
            Vec<super::snapshot::Change>,
            tokio::sync::broadcast::Receiver<super::snapshot::Change>,
        )>,
    },
    /// How an instance got where it is (`proj why`).
    Why {
        name: String,
        reply: Reply<Result<super::snapshot::Why, Refusal>>,
    },
    /// The latest snapshot, now and after every change.
    Watch {
        reply: Reply<watch::Receiver<Snapshot>>,
    },
    /// The terminal of a `tty = true` instance (`proj connect`, the TUI's input mode).
    Connect {
        name: String,
        reply: Reply<Result<Connection, Refusal>>,
    },
}

/// How [`Command::Shutdown`] stops the processes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShutdownMode {
    /// Each instance's stop signal and timeout, in reverse dependency order (`proj down`,
    /// `q` in the TUI).
    Graceful,
    /// SIGKILL to every process group now (a second Ctrl-C in the TUI).
    Kill,
}

/// The last answer of a supervisor that is about to exit. Sending on (or dropping)
/// `written` tells it that the caller has passed the answer on, so it may end.
#[derive(Debug)]
pub struct Farewell {
    pub written: oneshot::Sender<()>,
}

/// The answer to [`Command::WaitUp`]: every instance, and whether the stack came up.
#[derive(Debug)]
pub struct WaitUp {
    pub instances: Vec<InstanceStatus>,
    pub outcome: Result<(), Refusal>,
}

/// The answer to [`Command::Logs`].
#[derive(Debug)]
pub struct Logs {
    /// The instances the lines come from (for column widths).
    pub names: Vec<String>,
    /// The recent lines, merged in time order.
    pub backlog: Vec<LogLine>,
    /// For `follow`: what comes next.
    pub follow: Option<Follow>,
}

/// What a follower reads after the backlog.
#[derive(Debug)]
pub struct Follow {
    /// Subscribed before the backlog was taken, so nothing falls in between.
    pub feed: Subscription,
    /// The instances to show, each with the time of its newest batch already in the
    /// backlog: batches up to then came through the feed too and are skipped.
    pub instances: HashMap<String, Option<SystemTime>>,
    /// Only lines matching this.
    pub grep: Option<regex::bytes::Regex>,
}

/// Why the supervisor did not do what it was asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// A command that acts on processes was given none.
    NoNames,
    /// Names that match no process or instance, with the names that would.
    UnknownNames {
        unknown: Vec<String>,
        known: Vec<String>,
    },
    /// Names that match no process (`proj scale` takes processes, not instances).
    UnknownProcesses {
        unknown: Vec<String>,
        known: Vec<String>,
    },
    /// proj is stopping everything.
    ShuttingDown,
    /// The supervisor ended before the request was answered.
    Stopped,
    /// The config file is invalid: its diagnostics, rendered for a terminal without
    /// colour (they begin with `error:` themselves).
    InvalidConfig(String),
    /// The stack did not come up: which instance failed, and why.
    NotUp(String),
    /// `proj connect` to an instance without `tty = true`.
    NoTerminal { name: String },
    /// `proj signal` with a name that is no signal: why.
    UnknownSignal(String),
}

impl Refusal {
    /// SPEC §4: 2 for bad usage or an invalid config, 1 for a runtime failure.
    pub fn exit_code(&self) -> i32 {
        match self {
            Refusal::NoNames
            | Refusal::UnknownNames { .. }
            | Refusal::UnknownProcesses { .. }
            | Refusal::InvalidConfig(_)
            | Refusal::NoTerminal { .. }
            | Refusal::UnknownSignal(_) => 2,
            Refusal::ShuttingDown | Refusal::Stopped | Refusal::NotUp(_) => 1,
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let quoted = |names: &[String]| {
            names
                .iter()
                .map(|name| format!("`{name}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        match self {
            Refusal::NoNames => f.write_str("name at least one process"),
            Refusal::UnknownNames { unknown, known } => write!(
                f,
                "no process or instance named {}; known: {}",
                quoted(unknown),
                quoted(known)
            ),
            Refusal::UnknownProcesses { unknown, known } => write!(
                f,
                "no process named {}; known: {}",
                quoted(unknown),
                quoted(known)
            ),
            Refusal::ShuttingDown => f.write_str("proj is shutting down"),
            Refusal::Stopped => f.write_str("proj stopped"),
            Refusal::InvalidConfig(diagnostics) => f.write_str(diagnostics),
            Refusal::NotUp(reason) => f.write_str(reason),
            Refusal::UnknownSignal(reason) => f.write_str(reason),
            Refusal::NoTerminal { name } => write!(
                f,
                "`{name}` has no terminal to connect to: add `tty = true` to its process in proj.toml"
            ),
        }
    }
}

impl std::error::Error for Refusal {}
