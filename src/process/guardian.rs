//! The guardian: a tiny process that outlives proj to clean up after it.
//!
//! # Why
//!
//! When proj is killed with SIGKILL it runs no code, so it cannot stop its children.
//! `PR_SET_PDEATHSIG` (set on every child) kills the direct children, but not their
//! children: it is not inherited across `fork`. Process groups do not help either, since
//! nobody is left to signal them.
//!
//! # How
//!
//! At start-up proj spawns `proj __guardian TOKEN` with the read end of a pipe as its
//! stdin; proj keeps the write end (close-on-exec, so no child inherits it). The guardian
//! starts in a process group of its own (so a Ctrl-C aimed at proj's group does not
//! reach it), blocks the usual termination signals, and blocks in `read`.
//! It costs nothing while it waits: no timer, no polling.
//!
//! The kernel closes the write end however proj ends, SIGKILL included, so the guardian's
//! `read` returns end-of-file exactly when proj is gone. It then kills every process that
//! carries `PROJ_SUPERVISOR=TOKEN` in its environment (see [`super::sweep`]), which every
//! descendant of proj inherits, and exits. After a clean shutdown that scan finds nothing.

use std::ffi::OsStr;
use std::io::{self, Read};
use std::os::fd::OwnedFd;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

use nix::fcntl::OFlag;
use nix::sys::signal::{SigSet, SigmaskHow, Signal, sigprocmask};

/// The hidden subcommand that runs the guardian.
pub const SUBCOMMAND: &str = "__guardian";

/// proj's end of the guardian: dropping it (or proj dying) sets the guardian off.
#[derive(Debug)]
pub struct Guardian {
    _lifeline: OwnedFd,
}

impl Guardian {
    /// Start a guardian for the descendants marked with `token`.
    pub fn spawn(token: &str) -> io::Result<Guardian> {
        let (read_end, write_end) = nix::unistd::pipe2(OFlag::O_CLOEXEC)?;
        let exe = std::env::current_exe()?;
        let _reaper_held_back = super::spawn_lock();
        let mut guardian = Command::new(exe)
            .args([OsStr::new(SUBCOMMAND), OsStr::new(token)])
            .env_remove(super::SUPERVISOR_MARKER)
            .stdin(Stdio::from(read_end))
            // Never hold proj's stdout: whoever reads it must see end-of-file when proj
            // exits, not when the guardian does.
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()?;
        // The guardian is reaped by proj's reaper (or by init once proj is gone).
        drop(guardian.stdin.take());
        Ok(Guardian {
            _lifeline: write_end,
        })
    }
}

/// The guardian process itself (`proj __guardian TOKEN`).
pub fn run(token: &str) -> io::Result<()> {
    let mut blocked = SigSet::empty();
    for signal in [
        Signal::SIGINT,
        Signal::SIGTERM,
        Signal::SIGHUP,
        Signal::SIGQUIT,
    ] {
        blocked.add(signal);
    }
    sigprocmask(SigmaskHow::SIG_BLOCK, Some(&blocked), None)?;

    let mut stdin = io::stdin().lock();
    let mut buffer = [0u8; 64];
    loop {
        match stdin.read(&mut buffer) {
            Ok(0) => break,
            Ok(_) => continue,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        }
    }
    super::sweep::kill_marked(token);
    Ok(())
}
