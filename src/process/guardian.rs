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
//! `read` returns end-of-file exactly when proj is gone. It then ends, with SIGKILL:
//! - every instance cgroup (`proj __guardian TOKEN CGROUP_DIR`, see [`super::cgroup`]),
//!   which it also removes;
//! - every process group proj told it of, and every process in a session one of them
//!   leads (a `tty = true` instance): while proj runs it writes `+PGID` on the pipe for
//!   each group it starts and `-PGID` once that group is gone, so a title-rewriting
//!   program's workers (nginx, redis-server), whose environment no longer carries the
//!   marker, are found by their group;
//! - every process that carries `PROJ_SUPERVISOR=TOKEN` in its environment (see
//!   [`super::sweep`]), which every descendant of proj inherits.
//!
//! After a clean shutdown all of that finds nothing.

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use nix::fcntl::OFlag;
use nix::sys::signal::{SigSet, SigmaskHow, Signal, sigprocmask};

/// The hidden subcommand that runs the guardian.
pub(crate) const SUBCOMMAND: &str = "__guardian";

/// How long the guardian waits for killed cgroups to empty before removing them.
const CGROUP_WAIT: Duration = Duration::from_secs(2);

/// proj's end of the guardian: dropping it (or proj dying) sets the guardian off.
#[derive(Debug)]
pub(crate) struct Guardian {
    /// The pipe's write end, non-blocking: a guardian that stopped reading must never
    /// hold proj up (a record is then lost, not the supervisor).
    lifeline: File,
}

impl Guardian {
    /// Start a guardian for the descendants marked with `token` and, when instances are
    /// cgroups, the cgroup tree `cgroups`.
    pub(crate) fn spawn(token: &str, cgroups: Option<&Path>) -> io::Result<Guardian> {
        let (read_end, write_end) = nix::unistd::pipe2(OFlag::O_CLOEXEC | OFlag::O_NONBLOCK)?;
        // The guardian's end blocks: it waits in read(2).
        nix::fcntl::fcntl(&read_end, nix::fcntl::FcntlArg::F_SETFL(OFlag::empty()))?;
        let exe = std::env::current_exe()?;
        let mut args = vec![OsStr::new(SUBCOMMAND), OsStr::new(token)];
        if let Some(cgroups) = cgroups {
            args.push(cgroups.as_os_str());
        }
        let _reaper_held_back = super::spawn_lock();
        let mut guardian = Command::new(exe)
            .args(args)
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
            lifeline: File::from(write_end),
        })
    }

    /// The process group `pgid` is an instance's: end it if proj dies.
    pub(crate) fn record_group(&self, pgid: i32) {
        self.tell(&format!("+{pgid}\n"));
    }

    /// The process group `pgid` is gone: forget it (its id may be given to another).
    pub(crate) fn forget_group(&self, pgid: i32) {
        self.tell(&format!("-{pgid}\n"));
    }

    fn tell(&self, line: &str) {
        // Shorter than PIPE_BUF: written whole or not at all.
        if let Err(error) = (&self.lifeline).write_all(line.as_bytes()) {
            tracing::debug!(%error, "cannot tell the guardian");
        }
    }
}

/// The guardian process itself (`proj __guardian TOKEN [CGROUP_DIR]`).
pub(crate) fn run(token: &str, cgroups: Option<PathBuf>) -> io::Result<()> {
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
    let mut groups = Groups::default();
    let mut buffer = [0u8; 4096];
    loop {
        match stdin.read(&mut buffer) {
            Ok(0) => break,
            Ok(read) => groups.take(&buffer[..read]),
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        }
    }
    if let Some(cgroups) = cgroups {
        super::cgroup::Tree::at(cgroups).remove_all(CGROUP_WAIT);
    }
    for &pgid in &groups.live {
        super::spawn::signal_group(pgid, Signal::SIGKILL);
    }
    kill_sessions(&groups.live);
    super::sweep::kill_marked(token);
    Ok(())
}

/// SIGKILL every process in a session led by one of `leaders`: a `tty = true` instance
/// leads a session, in which a shell's job control makes process groups of its own.
fn kill_sessions(leaders: &BTreeSet<i32>) {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return;
    };
    for pid in entries.filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<i32>().ok()) {
        if super::proc_stat::read(pid).is_some_and(|stat| leaders.contains(&stat.session)) {
            super::spawn::signal_process(pid, Signal::SIGKILL);
        }
    }
}

/// The process groups proj told of and has not forgotten yet.
#[derive(Debug, Default)]
struct Groups {
    live: BTreeSet<i32>,
    /// The start of a record split across two reads.
    partial: Vec<u8>,
}

impl Groups {
    fn take(&mut self, bytes: &[u8]) {
        self.partial.extend_from_slice(bytes);
        while let Some(end) = self.partial.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.partial.drain(..=end).collect();
            let record = String::from_utf8_lossy(&line[..end]);
            let (add, pgid) = match record.split_at_checked(1) {
                Some(("+", pgid)) => (true, pgid.parse::<i32>()),
                Some(("-", pgid)) => (false, pgid.parse::<i32>()),
                _ => continue,
            };
            match pgid {
                // Never a group id of 0 or below: killpg would reach the guardian's own.
                Ok(pgid) if pgid > 1 && add => drop(self.live.insert(pgid)),
                Ok(pgid) => drop(self.live.remove(&pgid)),
                Err(_) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Groups;

    #[test]
    fn records_add_and_forget_groups_even_when_split_across_reads() {
        let mut groups = Groups::default();
        groups.take(b"+100\n+2");
        groups.take(b"00\n+300\n-100\n");
        groups.take(b"+0\n+-5\nnonsense\n");
        assert_eq!(groups.live.into_iter().collect::<Vec<_>>(), vec![200, 300]);
    }
}
