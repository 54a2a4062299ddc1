//! `up` (when no supervisor runs) and `run`: this same binary as a child, `proj up -d`
//! or `proj run`, its output captured instead of printed. Running the commands
//! themselves, rather than a copy of what they do, is what makes the tool's answer the
//! CLI's: setup, the detached supervisor, the environment of `run --in`, exit codes.
//!
//! The child gets no stdin (the MCP server's stdin is the protocol) and a process group
//! of its own, so that a timeout, or a cancelled call, ends it and whatever it started
//! (not the supervisor `up -d` leaves running: that one calls `setsid`).

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::io::{AsyncRead, AsyncReadExt};

use crate::Error;

/// The most of each stream kept: the end of it, where the verdict usually is.
const KEPT_BYTES: usize = 256 * 1024;

/// `proj ARGS`, as the CLI would run it from the MCP server's directory.
pub(super) struct ProjCommand {
    args: Vec<OsString>,
    /// stdout and stderr into one pipe, in the order they were written, as a terminal
    /// shows them (`up -d`'s state changes on stderr, its table on stdout).
    merged: bool,
}

impl ProjCommand {
    /// `proj [--file FILE] --color never ARGS...`.
    pub(super) fn new(file: Option<&PathBuf>, args: impl IntoIterator<Item = OsString>) -> Self {
        let mut all: Vec<OsString> = Vec::new();
        if let Some(file) = file {
            all.extend([OsString::from("--file"), file.clone().into_os_string()]);
        }
        all.extend(["--color", "never"].map(OsString::from));
        all.extend(args);
        ProjCommand {
            args: all,
            merged: false,
        }
    }

    /// stdout and stderr as one stream, in [`Finished::stdout`].
    pub(super) fn merged(mut self) -> Self {
        self.merged = true;
        self
    }

    /// Run it to the end, or until `timeout` passes (then it is killed, with its group).
    pub(super) async fn output(self, timeout: Option<Duration>) -> Result<Finished, Error> {
        let exe = std::env::current_exe()
            .map_err(|error| Error::io("cannot find the proj binary", error))?;
        let mut command = tokio::process::Command::new(exe);
        command
            .args(&self.args)
            .env_remove("NO_COLOR")
            .stdin(Stdio::null())
            .process_group(0);
        let merged = if self.merged {
            let failed = |error| Error::io("cannot make a pipe", error);
            let (reader, writer) = std::io::pipe().map_err(failed)?;
            command
                .stdout(writer.try_clone().map_err(failed)?)
                .stderr(writer);
            let reader =
                tokio::net::unix::pipe::Receiver::from_owned_fd(reader.into()).map_err(failed)?;
            Some(reader)
        } else {
            command.stdout(Stdio::piped()).stderr(Stdio::piped());
            None
        };
        let mut child = command
            .spawn()
            .map_err(|error| Error::io("cannot start proj", error))?;
        // The command holds the pipe's writing end too: without it, the child's exit is
        // the end of the stream.
        drop(command);
        let group = child.id().and_then(|pid| i32::try_from(pid).ok());
        // Until it is reaped: a dropped call (the client cancelled it) ends the group.
        let mut guard = GroupGuard(group);
        let (stdout, stderr) = match merged {
            Some(reader) => (
                tokio::spawn(tail(Some(reader))),
                tokio::spawn(tail(None::<tokio::process::ChildStderr>)),
            ),
            None => (
                tokio::spawn(tail(child.stdout.take())),
                tokio::spawn(tail(child.stderr.take())),
            ),
        };
        let waited = match timeout {
            Some(timeout) => tokio::time::timeout(timeout, child.wait()).await.ok(),
            None => Some(child.wait().await),
        };
        let (status, timed_out) = match waited {
            Some(status) => (status, false),
            None => {
                guard.kill();
                (child.wait().await, true)
            }
        };
        guard.0 = None;
        let status = status.map_err(|error| Error::io("cannot wait for proj", error))?;
        // A grandchild that kept a pipe open would hold these forever: once the child
        // ended, its group is ended too, so they see end-of-file.
        if let Some(group) = group {
            let _ = killpg(Pid::from_raw(group), Signal::SIGKILL);
        }
        let stdout = stdout.await.unwrap_or_default();
        let stderr = stderr.await.unwrap_or_default();
        Ok(Finished {
            status,
            timed_out,
            stdout,
            stderr,
        })
    }
}

/// A child that ran.
pub(super) struct Finished {
    pub status: ExitStatus,
    /// It was killed at the timeout.
    pub timed_out: bool,
    pub stdout: Captured,
    pub stderr: Captured,
}

/// The end of an output stream, and how much of it came before that and was dropped.
#[derive(Debug, Default)]
pub(super) struct Captured {
    pub text: String,
    pub dropped_bytes: usize,
}

impl Captured {
    /// The text, with a first line saying how much was cut, if anything was.
    pub(super) fn shown(&self) -> String {
        if self.dropped_bytes == 0 {
            self.text.clone()
        } else {
            format!(
                "[… the first {} bytes are left out]\n{}",
                self.dropped_bytes, self.text
            )
        }
    }
}

/// Read a stream to its end, keeping its last [`KEPT_BYTES`].
async fn tail(stream: Option<impl AsyncRead + Unpin>) -> Captured {
    let Some(mut stream) = stream else {
        return Captured::default();
    };
    let mut kept: Vec<u8> = Vec::new();
    let mut dropped = 0;
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        match stream.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(read) => {
                kept.extend_from_slice(&buffer[..read]);
                if kept.len() > KEPT_BYTES {
                    let excess = kept.len() - KEPT_BYTES;
                    kept.drain(..excess);
                    dropped += excess;
                }
            }
        }
    }
    Captured {
        text: String::from_utf8_lossy(&kept).into_owned(),
        dropped_bytes: dropped,
    }
}

/// Kills the process group when dropped, until it is disarmed (`.0 = None`).
struct GroupGuard(Option<i32>);

impl GroupGuard {
    fn kill(&mut self) {
        if let Some(group) = self.0 {
            let _ = killpg(Pid::from_raw(group), Signal::SIGKILL);
        }
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        self.kill();
    }
}
