//! The operating-system edge of supervision: spawning children into their own process
//! groups, reaping every child (proj is a subreaper), sweeping escaped descendants, and
//! the guardian that cleans up when proj itself is killed.
//!
//! This is the only module with `unsafe` code: the `pre_exec` hook in [`spawn`].

pub mod guardian;
pub mod reaper;
pub mod spawn;
pub mod sweep;

/// The environment variable that marks every descendant of one proj supervisor.
///
/// Its value is unique per supervisor run. Process groups and the subreaper cover most
/// descendants, but a grandchild that called `setsid()` and whose parent is still alive
/// is reachable by nothing else: the variable is inherited through `fork`/`exec`, so a
/// scan of `/proc/*/environ` finds it (see [`sweep`]).
pub const SUPERVISOR_MARKER: &str = "PROJ_SUPERVISOR";
