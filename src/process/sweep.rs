//! Finding and killing the descendants of one supervisor run that left its process
//! groups, by the marker variable every child inherits ([`super::SUPERVISOR_MARKER`]).
//!
//! This is the only way to reach a grandchild that called `setsid()` while its parent
//! still lives (it is in no group of ours and not yet our child), and, from the guardian,
//! every descendant once proj itself is gone. It reads `/proc/PID/environ`, which a
//! process can only read for processes of its own user: exactly the ones proj started.
//! A process that cleared its environment (`env -i`) cannot be found this way; the
//! process groups and the subreaper still cover it while proj is alive.

use std::fs;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// Rounds of scanning before giving up on a process that keeps forking.
const MAX_ROUNDS: usize = 20;

/// SIGKILL every process whose environment holds `PROJ_SUPERVISOR=token`, scanning again
/// until a scan finds none (a process may fork while the scan runs). Returns how many
/// were killed.
pub(crate) fn kill_marked(token: &str) -> usize {
    let needle = format!("{}={token}", super::SUPERVISOR_MARKER).into_bytes();
    let own_pid = std::process::id();
    let mut killed = 0;
    for _ in 0..MAX_ROUNDS {
        let found = marked_pids(&needle, own_pid);
        if found.is_empty() {
            break;
        }
        for pid in found {
            if kill(Pid::from_raw(pid), Signal::SIGKILL).is_ok() {
                killed += 1;
            }
        }
    }
    killed
}

/// Pids (other than `own_pid`) whose environment has an entry equal to `needle`.
fn marked_pids(needle: &[u8], own_pid: u32) -> Vec<i32> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| pid != own_pid)
        .filter(|pid| {
            // A zombie's environ reads empty; a process of another user is unreadable.
            fs::read(format!("/proc/{pid}/environ"))
                .is_ok_and(|environ| environ.split(|&b| b == 0).any(|var| var == needle))
        })
        .filter_map(|pid| i32::try_from(pid).ok())
        .collect()
}
