//! The operating-system edge of supervision: spawning children into their own process
//! groups (and cgroups), telling which processes are an instance's ([`membership`]),
//! reaping every child (proj is a subreaper), sweeping escaped descendants, and the
//! guardian that cleans up when proj itself is killed.
//!
//! This is the only module with `unsafe` code: the `pre_exec` hook in [`spawn`], the
//! registration of the cgroup watcher with tokio in `membership`, and
//! the terminal ioctls in [`pty`].

pub mod cgroup;
pub mod command_line;
pub mod descriptors;
mod exit;
pub mod guardian;
pub mod identity;
pub mod listeners;
pub mod membership;
pub mod ports;
pub mod proc_stat;
pub mod pty;
pub mod reaper;
pub mod spawn;
pub mod state_dirs;
pub mod sweep;
pub mod usage;

pub use exit::{ExitStatus, signal_name};

/// The environment variable that marks every descendant of one proj supervisor.
///
/// Its value is unique per supervisor run. Process groups and the subreaper cover most
/// descendants, but a grandchild that called `setsid()` and whose parent is still alive
/// is reachable by nothing else: the variable is inherited through `fork`/`exec`, so a
/// scan of `/proc/*/environ` finds it (see [`sweep`]).
pub const SUPERVISOR_MARKER: &str = "PROJ_SUPERVISOR";

/// Held while a child is being spawned, and by the reaper while it reaps.
///
/// When `exec` fails in the child (or the `pre_exec` hook does), std's `Command::spawn`
/// reaps that child itself and asserts that it could. The reaper waits for any child, so
/// without this lock it could reap the failed child first and make std panic. Spawns
/// take about a millisecond, so the reaper is held back no longer than that.
pub static SPAWN_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Take [`SPAWN_LOCK`]; a panic elsewhere while it was held does not matter to it.
pub fn spawn_lock() -> std::sync::MutexGuard<'static, ()> {
    SPAWN_LOCK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
