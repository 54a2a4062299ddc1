//! What can go wrong on day one, each with what to do about it. Every variant maps to
//! an exit code (SPEC §4): 2 for a command line that asks for something that does not
//! exist, 1 for everything that failed while doing the work.

use std::io;
use std::path::PathBuf;

/// A clone that could not be made. Nothing is left behind: the partial clone lived in a
/// temporary directory that has been removed.
#[derive(Debug, thiserror::Error)]
pub enum CloneError {
    #[error("cannot clone {url}: {reason}\n  = help: {}", .kind.help())]
    Failed {
        url: String,
        kind: CloneFailure,
        reason: String,
    },
    #[error(
        "{} already exists and {what}, so proj will not clone {url} into it\n  = help: move it away, or clone elsewhere: `proj clone {url} DIR`",
        .dir.display()
    )]
    Occupied {
        dir: PathBuf,
        url: String,
        /// `holds a clone of X`, `is not empty`, …
        what: String,
    },
    #[error(
        "cannot tell a directory name from `{0}`\n  = help: name the directory: `proj clone {0} DIR`"
    )]
    NoName(String),
    #[error("the clone of {0} was interrupted; nothing was left behind")]
    Interrupted(String),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },
}

/// Why libgit2 failed, as far as its error tells: each kind has its own advice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloneFailure {
    Auth,
    UnknownHost,
    HostKey,
    NotFound,
    Branch,
    Network,
    Other,
}

impl CloneFailure {
    fn help(self) -> &'static str {
        match self {
            CloneFailure::Auth => {
                "for ssh URLs load your key into ssh-agent (`ssh-add`) or put it in ~/.ssh; for \
                 https URLs configure a git credential helper or set PROJ_GIT_TOKEN to an access \
                 token"
            }
            CloneFailure::UnknownHost => "check the host name in the URL and your network",
            CloneFailure::HostKey => {
                "the server's ssh host key is not in ~/.ssh/known_hosts: connect once with `ssh` \
                 to check and accept it, then run proj again"
            }
            CloneFailure::NotFound => {
                "check the URL, and that you have access to the repository (some hosts answer \
                 `not found` when you do not)"
            }
            CloneFailure::Branch => {
                "check the branch name (`git ls-remote --heads URL` lists them)"
            }
            CloneFailure::Network => "check your network, then run proj again",
            CloneFailure::Other => "run proj again; `PROJ_LOG=debug` shows more",
        }
    }
}

impl CloneError {
    pub fn io(context: impl Into<String>, source: io::Error) -> CloneError {
        CloneError::Io {
            context: context.into(),
            source,
        }
    }

    pub fn exit_code(&self) -> u8 {
        match self {
            CloneError::NoName(_) => 2,
            _ => 1,
        }
    }
}

/// Setup could not finish. Steps before the failing one are recorded as done.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error(
        "no setup step named {} in {}\n  = help: the steps are: {}",
        quoted(.unknown), .source_file.display(), if .known.is_empty() { "(none)".to_string() } else { quoted(.known) }
    )]
    UnknownSteps {
        unknown: Vec<String>,
        known: Vec<String>,
        source_file: PathBuf,
    },
    #[error(
        "missing required program{}: {} (`requires` in {})\n  = help: install {}, or add {} to PATH, then run proj again; no setup step was run\n  = note: searched PATH={}",
        if .missing.len() == 1 { "" } else { "s" }, .missing.join(", "), .source_file.display(),
        if .missing.len() == 1 { "it" } else { "them" }, if .missing.len() == 1 { "its directory" } else { "their directories" }, .searched
    )]
    MissingPrograms {
        missing: Vec<String>,
        source_file: PathBuf,
        /// The PATH that was searched (the steps' PATH).
        searched: String,
    },
    #[error("{}", render_failure(.step, .command, .status, .tail, .log))]
    StepFailed {
        step: String,
        command: String,
        /// `exit code 3`, `killed by SIGKILL`, …
        status: String,
        /// The last lines of the step's output.
        tail: Vec<String>,
        log: PathBuf,
    },
    #[error("setup interrupted{}; later steps were not run", .step.as_ref().map(|s| format!(" during step `{s}`")).unwrap_or_default())]
    Interrupted { step: Option<String> },
    #[error(
        "another proj is running setup in this project ({} is locked)\n  = help: wait for it to finish, then run proj again",
        .lock.display()
    )]
    Busy { lock: PathBuf },
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },
}

impl SetupError {
    pub fn io(context: impl Into<String>, source: io::Error) -> SetupError {
        SetupError::Io {
            context: context.into(),
            source,
        }
    }

    pub fn exit_code(&self) -> u8 {
        match self {
            SetupError::UnknownSteps { .. } => 2,
            _ => 1,
        }
    }
}

fn quoted(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn render_failure(
    step: &str,
    command: &str,
    status: &str,
    tail: &[String],
    log: &std::path::Path,
) -> String {
    let mut out = format!("setup step `{step}` failed: {status}\n  command: {command}\n");
    if tail.is_empty() {
        out.push_str(&format!("  (no output; log: {})\n", log.display()));
    } else {
        out.push_str(&format!(
            "  last {} line{} of output (all of it in {}):\n",
            tail.len(),
            if tail.len() == 1 { "" } else { "s" },
            log.display()
        ));
        for line in tail {
            out.push_str(&format!("  | {line}\n"));
        }
    }
    out.push_str(
        "  = help: fix it and run proj again: the steps that finished are skipped, this one runs again",
    );
    out
}
