//! How a child process ended, as the reaper saw it.

use std::fmt;

use nix::sys::signal::Signal;

/// How a process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    Code(i32),
    Signal(Signal),
}

impl ExitStatus {
    pub(crate) fn success(self) -> bool {
        self == ExitStatus::Code(0)
    }

    /// The code a shell would report: the exit code, or 128 + the signal number.
    pub(crate) fn code(self) -> i32 {
        match self {
            ExitStatus::Code(code) => code,
            ExitStatus::Signal(signal) => 128 + signal as i32,
        }
    }
}

impl fmt::Display for ExitStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExitStatus::Code(code) => write!(f, "exited with code {code}"),
            ExitStatus::Signal(signal) => {
                write!(f, "killed by signal {}", signal_name(*signal))
            }
        }
    }
}

/// `SIGTERM` → `TERM`.
pub(crate) fn signal_name(signal: Signal) -> &'static str {
    let name = signal.as_str();
    name.strip_prefix("SIG").unwrap_or(name)
}
