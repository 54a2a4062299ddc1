//! File descriptors as a budget: proj must never spend its last ones on children.
//!
//! Every instance costs proj two descriptors for as long as it runs (the read end of its
//! output pipe and its log file), and a spawn briefly needs a few more (the pipe's write
//! ends, /dev/null, std's exec-error pipe). When the table is full, the damage is not
//! the spawn that fails but what fails after it: log files that cannot be opened (lines
//! lost) and a control socket that cannot accept (`proj ps` hangs). So a spawn is
//! refused while fewer than [`RESERVE`] descriptors are free, with a message that says
//! so, and the soft limit is raised to the hard one at start (as systemd and Go do):
//! under systemd the soft limit is 1024, fewer than 600 instances need.

use std::io;
use std::sync::OnceLock;

use nix::sys::resource::{Resource, getrlimit, setrlimit};

/// Descriptors a spawn leaves free: this instance's log file and pipe, the spawn's own
/// temporaries, accepted control connections and readiness probes.
pub(crate) const RESERVE: u64 = 16;

/// The soft limit proj was started with, restored in children: a program that uses
/// `select(2)` breaks on descriptors above 1024, so children keep what they would have
/// had without proj.
static INHERITED_SOFT_LIMIT: OnceLock<u64> = OnceLock::new();

/// Raise the soft `RLIMIT_NOFILE` to the hard limit, remembering the old one for
/// children. Best effort: failing leaves the limit as it was.
pub(crate) fn raise_limit() {
    let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) else {
        return;
    };
    if INHERITED_SOFT_LIMIT.set(soft).is_err() || soft >= hard {
        return;
    }
    if let Err(error) = setrlimit(Resource::RLIMIT_NOFILE, hard, hard) {
        tracing::debug!(%error, soft, hard, "cannot raise the descriptor limit");
    }
}

/// The soft limit proj was started with, to give back to its children: a program that
/// uses `select(2)` breaks on descriptors above 1024. `None` when proj never raised it.
pub(crate) fn inherited_soft_limit() -> Option<u64> {
    INHERITED_SOFT_LIMIT.get().copied()
}

/// `Err` with the reason when a spawn now would leave fewer than [`RESERVE`]
/// descriptors free.
pub(crate) fn check_room_to_spawn() -> io::Result<()> {
    let (limit, _) = getrlimit(Resource::RLIMIT_NOFILE).map_err(io::Error::from)?;
    // Counting costs a directory read; far from the limit it is not worth it.
    if limit > 65_536 {
        return Ok(());
    }
    // The kernel's descriptor table is never smaller than the number of descriptors
    // open: while it leaves room, there is no need to count them (one small read
    // instead of listing /proc/self/fd, which costs O(n) per spawn and O(n²) for a
    // stack of n instances).
    if fd_table_size().is_some_and(|size| size + RESERVE <= limit) {
        return Ok(());
    }
    let open = open_descriptors()?;
    if open + RESERVE <= limit {
        return Ok(());
    }
    Err(io::Error::other(format!(
        "too many open files: {open} of the {limit} descriptors proj may open are in use \
         (raise `ulimit -n`; proj keeps {RESERVE} free for its logs and control socket)"
    )))
}

/// `FDSize` of /proc/self/status: the size of proj's descriptor table.
fn fd_table_size() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("FDSize:"))?
        .trim()
        .parse()
        .ok()
}

/// How many descriptors proj has open now.
fn open_descriptors() -> io::Result<u64> {
    // The directory's own descriptor is in the listing too.
    let entries = std::fs::read_dir("/proc/self/fd")?.count() as u64;
    Ok(entries.saturating_sub(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_descriptor_table_is_never_smaller_than_what_is_open() {
        let size = fd_table_size().expect("FDSize in /proc/self/status");
        let open = open_descriptors().unwrap();
        assert!(size >= open, "table {size}, open {open}");
    }
}
