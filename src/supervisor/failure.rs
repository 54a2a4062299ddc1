//! Why an instance is `failed`: data, rendered only where a person reads it.
//!
//! The lifecycle machine decides on a [`Failure`]; `ps`, the TUI, systemd's `STATUS=`
//! and the plain printer show its [`Display`](std::fmt::Display) text. Code that needs
//! to know *what* failed (a ready timeout wants the last probe's words next to it)
//! matches the variant, never the text.

use std::fmt;
use std::time::Duration;

use crate::process::ExitStatus;

/// Why an instance gave up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The command could not be started at all.
    NotSpawnable(SpawnProblem),
    /// `max_restarts` restarts happened within `restart_window`, and it exited again.
    RestartLimit { max: u32, window: Duration },
    /// Its readiness probe did not pass within `ready_timeout`.
    ReadyTimeout { after: Duration },
    /// A service whose probe had not passed yet ended, and will not be restarted: it
    /// never became ready, so it cannot satisfy what depends on it.
    ExitedBeforeReady(ExitStatus),
    /// It exited non-zero (or by a signal) and its `restart` policy is `never`.
    Exited(ExitStatus),
}

/// Why a running instance is restarted although it did not exit: it is up but not
/// well. Like a crash, such a restart counts against `max_restarts`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Trouble {
    /// Its `health` check failed `failures` times in a row; `said` is the last reason.
    Unhealthy { said: String, failures: u32 },
    /// Its process group's resident memory went above `max_memory`.
    OverMemory { used: u64, limit: u64 },
}

impl fmt::Display for Trouble {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Trouble::Unhealthy { said, failures: 1 } => write!(f, "unhealthy ({said})"),
            Trouble::Unhealthy { said, failures } => {
                write!(f, "unhealthy ({said}, {failures} times)")
            }
            Trouble::OverMemory { used, limit } => write!(
                f,
                "memory {} above max_memory {}",
                mebibytes(*used),
                mebibytes(*limit)
            ),
        }
    }
}

/// `612 MiB`; below 10 MiB with one decimal, so a small limit still reads right.
pub(crate) fn mebibytes(bytes: u64) -> String {
    let mib = bytes as f64 / f64::from(1u32 << 20);
    if mib < 10.0 {
        format!("{mib:.1} MiB")
    } else {
        format!("{} MiB", mib.round())
    }
}

/// Why an instance was last restarted (SPEC §9.5: `proj ps` says it, `ps --json` has it
/// as `last_restart`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestartCause {
    /// Its `health` check failed `retries` times in a row.
    Health,
    /// Its memory went above `max_memory`.
    MaxMemory,
    /// `proj restart`, the TUI's `r`.
    Request,
    /// A file it watches changed.
    FileChange,
    /// `proj reload` (or SIGHUP) changed its definition or environment.
    Reload,
    /// It exited by itself, so, and its `restart` policy restarted it.
    Exit(ExitStatus),
}

impl RestartCause {
    /// The cause of a restart after this trouble.
    pub(crate) fn of_trouble(trouble: &Trouble) -> RestartCause {
        match trouble {
            Trouble::Unhealthy { .. } => RestartCause::Health,
            Trouble::OverMemory { .. } => RestartCause::MaxMemory,
        }
    }
}

impl fmt::Display for RestartCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RestartCause::Health => f.write_str("health check"),
            RestartCause::MaxMemory => f.write_str("max_memory"),
            RestartCause::Request => f.write_str("request"),
            RestartCause::FileChange => f.write_str("file change"),
            RestartCause::Reload => f.write_str("reload"),
            RestartCause::Exit(status) => status.fmt(f),
        }
    }
}

/// Why a command could not be started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpawnProblem {
    /// The OS refused (a missing `cwd`, too many open files, …); the error's words.
    Os(String),
    /// `sh` exited with 127.
    CommandNotFound,
    /// `sh` exited with 126.
    CommandNotExecutable,
    /// The readiness probe cannot be built for this instance (a `$PORT` that is no port).
    Probe(String),
    /// The `user`/`group` cannot be switched to.
    Account(String),
    /// A reload removed the process while it was being started.
    Removed,
    /// The process's `socket` cannot be listened on.
    Listen {
        address: std::net::SocketAddr,
        error: String,
        /// Who listens there, when someone does.
        holder: Option<crate::process::ports::Holder>,
    },
    /// Something already listens on the instance's port: it would fail to bind.
    PortInUse {
        port: u16,
        holder: crate::process::ports::Holder,
    },
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::NotSpawnable(problem) => problem.fmt(f),
            Failure::RestartLimit { max, window } => write!(
                f,
                "restart limit reached ({max} restarts within {})",
                humantime::format_duration(*window)
            ),
            Failure::ReadyTimeout { after } => write!(
                f,
                "not ready after {} (ready_timeout)",
                humantime::format_duration(*after)
            ),
            Failure::ExitedBeforeReady(status) => match status {
                ExitStatus::Code(code) => {
                    write!(f, "exited before it was ready (exit code {code})")
                }
                ExitStatus::Signal(_) => write!(f, "exited before it was ready ({status})"),
            },
            Failure::Exited(status) => write!(f, "{status} (restart = \"never\")"),
        }
    }
}

impl fmt::Display for SpawnProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpawnProblem::Os(error) => write!(f, "cannot be spawned: {error}"),
            SpawnProblem::CommandNotFound => {
                f.write_str("cannot be spawned: command not found (sh exited with 127)")
            }
            SpawnProblem::CommandNotExecutable => {
                f.write_str("cannot be spawned: command not executable (sh exited with 126)")
            }
            SpawnProblem::Probe(reason) | SpawnProblem::Account(reason) => f.write_str(reason),
            SpawnProblem::Removed => f.write_str("removed from the config"),
            SpawnProblem::Listen {
                address,
                holder: Some(holder),
                ..
            } => write!(f, "cannot listen on {address}: it is in use by {holder}"),
            SpawnProblem::Listen { address, error, .. } => {
                write!(f, "cannot listen on {address}: {error}")
            }
            SpawnProblem::PortInUse { port, holder } => {
                write!(f, "port {port} is in use by {holder}")
            }
        }
    }
}
