//! Running one command to completion: a setup step or a `skip_if` check.
//!
//! The command is spawned like every child of proj ([`crate::process::spawn`]): `sh -c`
//! in its own process group, SIGKILL if proj dies, stdout and stderr in one pipe. A
//! reader thread hands each output line to a sink while this thread waits for the exit.
//! When the command exits, whatever it left in its group is killed (as the supervisor
//! does for an instance) and it is reaped.
//!
//! The output is read to its end only for a short while after the exit: a step that
//! started a daemon outside its group (`setsid`) may hold the pipe open forever, and
//! setup must not hang on it. The reader then carries on in the background.
//!
//! Setup runs before the supervisor and its reaper exist, so waiting for our own pid is
//! safe: nothing else reaps it.

use std::ffi::OsString;
use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::Signal;
use nix::sys::wait::{Id, WaitPidFlag, WaitStatus, waitid, waitpid};
use nix::unistd::Pid;

use super::interrupt::Interrupts;
use crate::process::spawn::{Output, signal_group, spawn};

/// How long to keep reading output after the command exited.
const DRAIN: Duration = Duration::from_millis(500);

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    Code(i32),
    Signal(Signal),
}

impl Status {
    pub(crate) fn success(self) -> bool {
        self == Status::Code(0)
    }

    /// `exit code 3`, `exit code 127 (command not found)`, `killed by SIGKILL`.
    pub(crate) fn describe(self) -> String {
        match self {
            Status::Code(127) => "exit code 127 (command not found)".to_string(),
            Status::Code(126) => "exit code 126 (not executable)".to_string(),
            Status::Code(code) => format!("exit code {code}"),
            Status::Signal(signal) => format!("killed by {signal}"),
        }
    }
}

/// What ran, how it ended, and how long it took.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Finished {
    pub status: Status,
    pub elapsed: Duration,
}

/// Run `sh -c command` in `cwd` with exactly `env`, feeding each output line (without
/// its newline) to `on_line` from a reader thread.
pub(crate) fn run(
    command: &str,
    cwd: &Path,
    env: &[(OsString, OsString)],
    interrupts: &Interrupts,
    mut on_line: impl FnMut(&[u8]) + Send + 'static,
) -> io::Result<Finished> {
    let started = Instant::now();
    let child = spawn(command, cwd, env, Output::Pipe)?;
    interrupts.watch(child.pid);
    let output = child
        .output
        .ok_or_else(|| io::Error::other("invariant: a piped spawn has an output"))?;
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let output = File::from(output);
    std::thread::Builder::new()
        .name("proj-setup-output".into())
        .spawn(move || {
            let mut reader = BufReader::new(output);
            let mut line = Vec::new();
            loop {
                line.clear();
                match reader.read_until(b'\n', &mut line) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        let text = line.strip_suffix(b"\n").unwrap_or(&line);
                        on_line(text);
                    }
                }
            }
            drop(done_tx);
        })?;
    let status = wait(child.pid);
    interrupts.unwatch();
    let elapsed = started.elapsed();
    if done_rx.recv_timeout(DRAIN) == Err(mpsc::RecvTimeoutError::Timeout) {
        tracing::debug!(
            command,
            "output still open after exit: a process escaped the group"
        );
    }
    Ok(Finished {
        status: status?,
        elapsed,
    })
}

/// Wait for `pid` to exit, kill the rest of its group while it is still a zombie (so the
/// group id cannot have been reused), then reap it.
fn wait(pid: i32) -> io::Result<Status> {
    let peek = WaitPidFlag::WEXITED | WaitPidFlag::WNOWAIT;
    let status = loop {
        match waitid(Id::Pid(Pid::from_raw(pid)), peek) {
            Ok(WaitStatus::Exited(_, code)) => break Status::Code(code),
            Ok(WaitStatus::Signaled(_, signal, _)) => break Status::Signal(signal),
            Ok(_) | Err(Errno::EINTR) => continue,
            Err(error) => return Err(error.into()),
        }
    };
    signal_group(pid, Signal::SIGKILL);
    // Any other error means there is nothing left to reap.
    while let Err(Errno::EINTR) = waitpid(Pid::from_raw(pid), None) {}
    Ok(status)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    fn env() -> Vec<(OsString, OsString)> {
        std::env::vars_os().collect()
    }

    #[test]
    fn lines_status_and_leftovers() {
        let interrupts = Interrupts::install().unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = lines.clone();
        let dir = tempfile::tempdir().unwrap();
        let finished = run(
            "echo one; echo two >&2; sleep 1000 & echo $! > bg.pid; exit 3",
            dir.path(),
            &env(),
            &interrupts,
            move |line| {
                sink.lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(line).into_owned())
            },
        )
        .unwrap();
        assert_eq!(finished.status, Status::Code(3));
        assert_eq!(*lines.lock().unwrap(), ["one", "two"]);
        // The background job was killed with its group: it is gone, not re-parented.
        let pid: i32 = std::fs::read_to_string(dir.path().join("bg.pid"))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while nix::sys::signal::kill(Pid::from_raw(pid), None).is_ok() {
            // Killed but perhaps not yet reaped by init: a zombie is gone enough.
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            if stat.is_empty() || stat.contains(") Z") {
                break;
            }
            assert!(Instant::now() < deadline, "background job {pid} survived");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    #[test]
    fn statuses_are_described_for_people() {
        assert_eq!(Status::Code(1).describe(), "exit code 1");
        assert!(Status::Code(127).describe().contains("command not found"));
        assert_eq!(
            Status::Signal(Signal::SIGKILL).describe(),
            "killed by SIGKILL"
        );
    }
}
