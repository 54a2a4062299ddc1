//! The errors a command can end with, and their exit codes (SPEC §4): 1 for a runtime
//! failure, 2 for bad usage or an invalid config.

use std::io;

use crate::config::ConfigError;
use crate::control::client::ClientError;
use crate::control::endpoint::ClaimError;
use crate::setup::{CloneError, SetupError};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The command line asks for something that cannot be (an unknown process name).
    #[error("{0}")]
    Usage(String),
    /// A clone that failed (exit 1) or cannot be asked for (exit 2).
    #[error(transparent)]
    Clone(#[from] CloneError),
    /// Setup that failed (exit 1) or names an unknown step (exit 2).
    #[error(transparent)]
    Setup(#[from] SetupError),
    /// A config's diagnostics, rendered elsewhere (by the supervisor, for `proj reload`):
    /// printed as they are (exit 2).
    #[error("{0}")]
    Diagnostics(String),
    /// The running supervisor cannot be reached or understood (`no proj running for …`).
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The supervisor answered, but not as the request expects (`proj answered …`).
    #[error("proj answered {0}")]
    UnexpectedAnswer(&'static str),
    /// The supervisor refused a request for a runtime reason (exit 1; a usage refusal is
    /// [`Error::Usage`]).
    #[error("{0}")]
    Refused(String),
    /// What was asked for did not come up, or failed: which instance, and why.
    #[error("{0}")]
    NotUp(String),
    /// `proj signal`: no named instance had a process to send the signal to.
    #[error("{0} was sent to nobody: no named instance is running")]
    NothingSignalled(String),
    /// `proj up -d`: the supervisor it started did not get as far as answering.
    #[error("{0}")]
    Detach(String),
    /// Another supervisor already runs this project, or its runtime directory is unusable.
    #[error(transparent)]
    Claim(#[from] ClaimError),
    /// A process's `user`/`group` cannot be switched to.
    #[error("process `{process}`: {reason}")]
    Account { process: String, reason: String },
    /// `proj init --from`: the converted file would not load.
    #[error("{0}")]
    Import(String),
    /// The supervisor went away while a terminal was attached to it.
    #[error("the connection to proj closed (proj stopped)")]
    SupervisorGone,
    /// The terminal UI failed.
    #[error("{0}")]
    Tui(String),
    /// `proj mcp`: the MCP session itself failed.
    #[error("{0}")]
    Mcp(String),
    /// A one-off command (`run`) failed or ran out of time.
    #[error("{0}")]
    CommandFailed(String),
    /// A value proj produced cannot be written as JSON.
    #[error("cannot write JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// Something failed at run time.
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },
}

impl Error {
    pub fn io(context: impl Into<String>, source: io::Error) -> Error {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Config(_) | Error::Usage(_) | Error::Diagnostics(_) => 2,
            Error::Clone(error) => error.exit_code(),
            Error::Setup(error) => error.exit_code(),
            Error::Io { .. }
            | Error::Client(_)
            | Error::UnexpectedAnswer(_)
            | Error::Refused(_)
            | Error::NotUp(_)
            | Error::NothingSignalled(_)
            | Error::Detach(_)
            | Error::Claim(_)
            | Error::Account { .. }
            | Error::Import(_)
            | Error::SupervisorGone
            | Error::Tui(_)
            | Error::Mcp(_)
            | Error::CommandFailed(_)
            | Error::Json(_) => 1,
        }
    }

    /// The message for stderr.
    pub fn render(&self, color: bool) -> String {
        match self {
            Error::Config(error) => error.render(color),
            Error::Diagnostics(text) => text.trim_end().to_string(),
            other => {
                let label = if color {
                    "\x1b[1;31merror\x1b[0m"
                } else {
                    "error"
                };
                format!("{label}: {other}")
            }
        }
    }
}
