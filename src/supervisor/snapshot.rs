//! What the supervisor shows of itself: typed views of its instances and of the stack as
//! a whole, at one moment.
//!
//! These are plain data (with serde derives, so the control socket can carry them as they
//! are); the supervisor builds them, the TUI, systemd's `STATUS=` and `proj ps` read them.
//! Nothing here is matched as text: a state is a [`State`], the overall progress a
//! [`Progress`].

use std::fmt;

use serde::{Deserialize, Serialize};

pub(crate) use super::lifecycle::State;

/// Where the stack as a whole stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "phase", rename_all = "snake_case")]
pub enum Progress {
    /// Some instance `proj up` started is not running (or, for a oneshot, exited) yet.
    Starting,
    /// Every instance `proj up` started is running, or exited cleanly.
    Up,
    /// One of them failed.
    Failed { reason: String },
    /// proj is stopping everything.
    Stopping,
}

/// Every instance and the overall progress, at one moment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub project: String,
    pub progress: Progress,
    pub instances: Vec<InstanceStatus>,
    /// When it was taken (ms since the Unix epoch): a watcher that gets it later (`proj
    /// attach` joining a quiet stack) counts uptimes from then, not from when it came.
    #[serde(default)]
    pub taken_ms: Option<u64>,
}

/// One instance in `ps` (SPEC §4: `proj ps --json` prints an array of these).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstanceStatus {
    pub name: String,
    pub process: String,
    pub state: State,
    pub pid: Option<i32>,
    pub restarts: u32,
    pub exit_code: Option<i32>,
    pub port: Option<u16>,
    /// Milliseconds since the current process started, while one runs.
    pub uptime_ms: Option<u64>,
    /// How the last process ended ("exited with code 3" on the wire).
    pub last_exit: Option<Described<crate::process::ExitStatus>>,
    /// Why it was last restarted (`health check`, `max_memory`, `request`, `file change`,
    /// `reload`, or how it exited); `None` when it never was.
    #[serde(default)]
    pub last_restart: Option<Described<super::failure::RestartCause>>,
    /// Why the instance is `failed`, while it is.
    pub reason: Option<Described<super::failure::Failure>>,
    /// `None` when its process has no `health` check.
    #[serde(default)]
    pub health: Option<Health>,
    /// CPU use of its process group, in percent of one core, since the previous sample
    /// (the first sample: since it started). Only in answers that sampled (`ps`);
    /// `None` when not running.
    #[serde(default)]
    pub cpu_percent: Option<f64>,
    /// Resident memory of its process group, when sampled and running.
    #[serde(default)]
    pub memory_bytes: Option<u64>,
    /// When a scheduled process runs next (RFC 3339, local offset, on the wire); `None`
    /// without a `schedule`.
    #[serde(default)]
    pub next_run: Option<Described<LocalTime>>,
}

/// A fact the supervisor knows as a type and people read as words. In process (the
/// TUI of `proj up`, systemd's status) it is the typed value; it becomes words only
/// where it is shown or written on the wire, and what comes back from the wire (`proj
/// ps`, `proj attach`) is those words.
#[derive(Debug, Clone, PartialEq)]
pub enum Described<T> {
    Known(T),
    Text(String),
}

impl<T: fmt::Display> fmt::Display for Described<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Described::Known(value) => value.fmt(f),
            Described::Text(text) => f.write_str(text),
        }
    }
}

/// Words as they came (from the wire, or a test's literal).
impl<T> From<&str> for Described<T> {
    fn from(text: &str) -> Self {
        Described::Text(text.to_string())
    }
}

impl<T: fmt::Display> Serialize for Described<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de, T> Deserialize<'de> for Described<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Described::Text)
    }
}

/// A local time, written as RFC 3339 with its offset (`next_run`).
#[derive(Debug, Clone, PartialEq)]
pub struct LocalTime(pub jiff::Zoned);

impl fmt::Display for LocalTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::config::schedule::rfc3339(&self.0))
    }
}

/// What the last `health` checks of a running instance said.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Health {
    /// The last check passed.
    Healthy,
    /// `retries` checks in a row failed (it is being restarted).
    Unhealthy,
    /// Not checked yet in this run, or not running.
    Unknown,
}

impl Health {
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Healthy => "healthy",
            Health::Unhealthy => "unhealthy",
            Health::Unknown => "unknown",
        }
    }
}

/// Who the supervisor is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct About {
    pub pid: u32,
    pub project: String,
    pub root: String,
    pub version: String,
}

/// What a reload changed, by instance name.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReloadSummary {
    pub started: Vec<String>,
    pub stopped: Vec<String>,
    pub restarted: Vec<String>,
    pub unchanged: Vec<String>,
    /// Running instances whose `health` or `max_memory` changed: applied without a
    /// restart.
    #[serde(default)]
    pub updated: Vec<String>,
    /// What was restarted or started and failed instead of coming up: `name: reason`.
    #[serde(default)]
    pub failed: Vec<String>,
}

/// One line of an instance's recent output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogLine {
    /// Milliseconds since the Unix epoch when proj read the line.
    pub time_ms: u64,
    pub name: String,
    /// The line, decoded lossily (the log file keeps the bytes).
    pub text: String,
}

/// What a `start`, `stop`, `restart`, `scale` or `reload` did to one instance, once it
/// settled (SPEC §9.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Did {
    Started,
    Restarted,
    Stopped,
    Unchanged,
    /// It was to run and does not: `failed`, crashed (in `backoff`), or waiting for a
    /// dependency that failed.
    Failed,
}

impl Did {
    pub fn as_str(self) -> &'static str {
        match self {
            Did::Started => "started",
            Did::Restarted => "restarted",
            Did::Stopped => "stopped",
            Did::Unchanged => "unchanged",
            Did::Failed => "failed",
        }
    }
}

/// One instance's [`Did`], with why when it failed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    pub name: String,
    pub did: Did,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The answer to a request that changed instances: their rows now, and what it did to
/// each.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Acted {
    pub instances: Vec<InstanceStatus>,
    pub outcomes: Vec<Outcome>,
}

impl Acted {
    /// `web.2: exited with code 3; worker: …` for what failed, if anything did.
    pub fn failures(&self) -> Option<String> {
        let failed: Vec<String> = self
            .outcomes
            .iter()
            .filter(|outcome| outcome.did == Did::Failed)
            .map(|outcome| match &outcome.reason {
                Some(reason) => format!("{}: {reason}", outcome.name),
                None => outcome.name.clone(),
            })
            .collect();
        (!failed.is_empty()).then(|| failed.join("; "))
    }
}

/// One state change of one instance (`proj events`; SPEC §9.5).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// When, RFC 3339 (UTC).
    pub time: String,
    pub name: String,
    pub state: State,
    pub pid: Option<i32>,
    /// The exit code of the last process, once there is one (a signal: 128 + its number).
    pub exit_code: Option<i32>,
    /// Why, in words: the failure, how the process exited, what a restart was for, what
    /// a pending instance waits for.
    pub reason: Option<String>,
}

/// `proj why NAME`: the instance now and how it got there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Why {
    pub instance: InstanceStatus,
    /// What a `pending` instance waits for, when it cannot start.
    pub waiting: Option<String>,
    /// The last thing its readiness probe or health check said.
    pub last_probe: Option<String>,
    /// Restarts within the current `restart_window`, and the limit.
    pub restarts_in_window: u32,
    pub max_restarts: u32,
    pub restart_window_secs: u64,
    /// Its latest state changes, oldest first.
    pub changes: Vec<Change>,
    /// Its last lines of output.
    pub lines: Vec<LogLine>,
}
