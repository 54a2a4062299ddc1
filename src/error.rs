//! The errors a command can end with, and their exit codes (SPEC §4): 1 for a runtime
//! failure, 2 for bad usage or an invalid config.

use std::io;

use crate::config::ConfigError;
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
    /// A runtime failure, explained (exit 1).
    #[error("{0}")]
    Runtime(String),
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
            Error::Io { .. } | Error::Runtime(_) => 1,
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
