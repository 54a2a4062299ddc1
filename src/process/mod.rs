//! The operating-system edge of supervision: spawning children into their own process
//! groups (and cgroups), telling which processes are an instance's ([`membership`]),
//! reaping every child (proj is a subreaper), sweeping escaped descendants, and the
//! guardian that cleans up when proj itself is killed.
//!
//! This is the only module with `unsafe` code: the clone that starts a child in
//! [`spawn`], the registration of the cgroup watcher with tokio in `membership`, the
//! terminal ioctls in [`pty`], and the fork of the [`guardian`] with what its child does
//! before it waits.

pub(crate) mod cgroup;
pub(crate) mod command_line;
pub(crate) mod descriptors;
mod exit;
pub(crate) mod guardian;
pub(crate) mod identity;
pub(crate) mod listeners;
pub(crate) mod membership;
pub(crate) mod ports;
pub(crate) mod proc_stat;
pub(crate) mod pty;
pub(crate) mod reaper;
pub(crate) mod spawn;
pub(crate) mod state_dirs;
pub(crate) mod sweep;
pub(crate) mod usage;

pub(crate) use exit::{ExitStatus, signal_name};

/// The environment variable that marks every descendant of one proj supervisor.
///
/// Its value is unique per supervisor run. Process groups and the subreaper cover most
/// descendants, but a grandchild that called `setsid()` and whose parent is still alive
/// is reachable by nothing else: the variable is inherited through `fork`/`exec`, so a
/// scan of `/proc/*/environ` finds it (see [`sweep`]).
pub(crate) const SUPERVISOR_MARKER: &str = "PROJ_SUPERVISOR";

/// Held while a child is being spawned, and by the reaper while it reaps.
///
/// When `exec` fails in the child (or a step before it does), the spawn reaps that child
/// itself; std's `Command::spawn`, which starts the guardian when it cannot be forked,
/// also asserts that it could. The reaper waits for any child, so without this lock it
/// could reap the failed child first. Spawns take well under a millisecond, so the reaper
/// is held back no longer than that.
pub(crate) static SPAWN_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Take [`SPAWN_LOCK`]; a panic elsewhere while it was held does not matter to it.
pub(crate) fn spawn_lock() -> std::sync::MutexGuard<'static, ()> {
    SPAWN_LOCK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
