//! The supervisor's API: what its clients (the control socket, the TUI, tests) may ask
//! of it, and the typed answers.
//!
//! There is one vocabulary: a [`Request`] is what `proj restart web` sends over the
//! socket and what the TUI sends in process, and the supervisor matches on it itself. A
//! [`Command`] is a request with its own reply channel, so an answer cannot reach the
//! wrong caller and a request that waits (a restart answered once the new process runs)
//! simply holds on to its channel. The [`Answer`] is typed by *kind* (instances, what a
//! request did, a stream of changes, ...), not by request: the control socket turns each
//! kind into wire lines once, so a new request that answers with a known kind needs no
//! code there. A refusal is a [`Refusal`], whose [`Refusal::exit_code`] is the one place
//! that decides between "bad usage" (2) and "a runtime failure" (1).
//!
//! Adding a control command: a [`Request`] arm here (its wire form comes with it), its
//! arm in the supervisor's `on_command`, and its CLI definition.

use std::collections::HashMap;
use std::fmt;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, mpsc, oneshot, watch};

use super::snapshot::{About, Acted, Change, InstanceStatus, ReloadSummary, Snapshot, Why};
use super::terminal::Connection;
use crate::logs::feed::Subscription;

/// Where the answer to a [`Command`] goes.
pub(crate) type Reply<T> = oneshot::Sender<T>;

/// Where the answer to a [`Request`] goes.
pub(crate) type Responder = Reply<Result<Answer, Refusal>>;

/// A request with the channel its answer goes to.
#[derive(Debug)]
pub struct Command {
    pub request: Request,
    pub reply: Responder,
}

/// Send `request` to the supervisor behind `commands` and wait for its answer; `None`
/// once the supervisor is gone.
pub(crate) async fn ask(
    commands: &mpsc::UnboundedSender<Command>,
    request: Request,
) -> Option<Result<Answer, Refusal>> {
    let (reply, answer) = oneshot::channel();
    commands.send(Command { request, reply }).ok()?;
    answer.await.ok()
}

/// A request to the supervisor, as clients send it (on the wire:
/// `{"v":1,"command":"…",…}`, see [`crate::control::protocol`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum Request {
    /// Who is there: pid, project, version.
    Hello,
    /// The state of every instance.
    Ps,
    Start {
        names: Vec<String>,
    },
    Stop {
        names: Vec<String>,
    },
    /// Restart these (every instance when `names` is empty).
    Restart {
        #[serde(default)]
        names: Vec<String>,
        /// One instance at a time per process (`proj restart --rolling`).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        rolling: bool,
    },
    /// Send `signal` (`SIGHUP`) to the named instances' main processes, or with
    /// `group` to every process of each.
    Signal {
        signal: String,
        names: Vec<String>,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        group: bool,
    },
    /// Run this many instances of each named process.
    Scale {
        counts: std::collections::BTreeMap<String, u32>,
    },
    /// The last `lines` lines of the named instances (all when empty), merged in time
    /// order; with `follow`, then every new line.
    Logs {
        #[serde(default)]
        names: Vec<String>,
        #[serde(default = "default_log_lines")]
        lines: usize,
        #[serde(default)]
        follow: bool,
        /// Only lines read at or after this moment (milliseconds since the Unix epoch).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        since_ms: Option<u64>,
        /// Only lines matching this regular expression.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        grep: Option<String>,
    },
    /// Re-read the config file and apply the difference.
    Reload,
    /// Stop everything and end the supervisor; answered when it is done.
    Down,
    /// Like `down`, but kill every process group now (SIGKILL) instead of stopping it
    /// gracefully: what a second Ctrl-C does. Answered when the supervisor is done.
    Kill,
    /// Answered once every instance `proj up` started is running (or exited, for a
    /// oneshot), or as soon as one of them failed or is still not up once its
    /// dependencies' and its own `ready_timeout` have passed (`proj up -d` waits with
    /// this). With `progress`, every state change comes first as an `event` line.
    WaitUp {
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        progress: bool,
    },
    /// `proj wait`: answered once every named instance (none: what `proj up` started)
    /// is running or exited 0; `ok: false` as soon as one failed, or at the timeout.
    Wait {
        #[serde(default)]
        names: Vec<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        timeout_ms: Option<u64>,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        progress: bool,
    },
    /// `proj events`: one `event` line per state change, until the client hangs up or
    /// the supervisor ends.
    Events,
    /// `proj why NAME`: the instance's state and how it got there.
    Why {
        name: String,
    },
    /// A stream of snapshots: every instance and the overall progress, now and after
    /// every change (the TUI of `proj attach` follows this).
    Watch,
    /// Become the terminal of a `tty = true` instance: answered with `connect`, after
    /// which the connection carries the terminal's bytes (see `control::terminal_stream`).
    Connect {
        name: String,
    },
}

fn default_log_lines() -> usize {
    100
}

/// What the supervisor answers, by kind.
#[derive(Debug)]
pub enum Answer {
    /// `hello`: who is there.
    About(About),
    /// Instances' rows (`ps`; `signal`: the instances signalled).
    Instances(Vec<InstanceStatus>),
    /// What a request that changes instances did (`start`, `stop`, `restart`, `scale`).
    Acted(Acted),
    /// `reload`: what changed.
    Reloaded(ReloadSummary),
    /// `why`: the instance and how it got there.
    Why(Box<Why>),
    /// `logs`: the backlog, and for `follow` what comes next.
    Logs(Logs),
    /// `watch`: the latest snapshot, now and after every change.
    Snapshots(watch::Receiver<Snapshot>),
    /// `events`: every state change from now on.
    Changes(broadcast::Receiver<Change>),
    /// `wait`, `wait_up`: a wait under way. With `progress`, the state changes until
    /// then (subscribed before the wait began, so none falls between); then the verdict.
    Waiting {
        changes: Option<(Vec<Change>, broadcast::Receiver<Change>)>,
        verdict: oneshot::Receiver<WaitUp>,
    },
    /// `connect`: the instance's terminal.
    Terminal(Connection),
    /// `down`, `kill`: the last answer of a supervisor about to exit.
    Farewell(Farewell),
}

/// How `down` (graceful) and `kill` stop the processes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ShutdownMode {
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

/// The verdict of a wait: every instance, and whether the stack came up.
#[derive(Debug)]
pub struct WaitUp {
    pub instances: Vec<InstanceStatus>,
    pub outcome: Result<(), Refusal>,
}

/// The answer to `logs`.
#[derive(Debug)]
pub struct Logs {
    /// The instances the lines come from (for column widths).
    pub names: Vec<String>,
    /// The recent lines, one batch each, merged in time order.
    pub backlog: Vec<crate::logs::history::Batch>,
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

impl Follow {
    /// The next batch of a followed instance that the backlog did not already have.
    pub async fn next(
        &mut self,
    ) -> Result<crate::logs::history::Batch, crate::logs::feed::RecvError> {
        loop {
            let batch = self.feed.recv().await?;
            let Some(seen_until) = self.instances.get(&*batch.instance) else {
                continue;
            };
            if seen_until.is_none_or(|until| batch.at > until) {
                return Ok(batch);
            }
        }
    }
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
    /// `proj logs --grep` with a pattern that is no regular expression: why.
    InvalidPattern(String),
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
            | Refusal::UnknownSignal(_)
            | Refusal::InvalidPattern(_) => 2,
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
            Refusal::InvalidPattern(reason) => write!(f, "invalid --grep: {reason}"),
            Refusal::NoTerminal { name } => write!(
                f,
                "`{name}` has no terminal to connect to: add `tty = true` to its process in proj.toml"
            ),
        }
    }
}

impl std::error::Error for Refusal {}
