//! A cgroup (v2) per instance, below one of proj's own, where the system delegates one.
//!
//! # Why
//!
//! Process groups, sessions and an environment marker are conventions a program can
//! leave: `setsid()` (RQ's work horse), a double fork (`epmd -daemon`), a rewritten
//! process title that overwrites the environment block (nginx, redis-server, postgres).
//! A cgroup cannot be left: every process forked inside one stays inside, and the kernel
//! says when the last one is gone. systemd tracks a unit the same way.
//!
//! # Where
//!
//! proj's own cgroup is the `0::PATH` line of `/proc/self/cgroup`, below the mount of
//! the `cgroup2` file system (`/sys/fs/cgroup`, or `/sys/fs/cgroup/unified` on a hybrid
//! layout). proj makes `proj-PID` there (the [`Tree`]) and one cgroup per instance in it
//! (`proj-PID/web.1`). That needs write access to proj's own cgroup: root on a writable
//! hierarchy, or a subtree systemd delegated (`Delegate=yes`, which `proj export
//! systemd` sets). proj itself stays where it is; no controller is enabled, so the
//! "no internal processes" rule does not apply and nothing is asked of the parent.
//!
//! # What it answers
//!
//! - membership: `cgroup.procs`;
//! - "all gone": `populated 0` in `cgroup.events`, which the kernel announces to
//!   inotify ([`super::membership`] watches it: no polling);
//! - ending: `cgroup.kill` (Linux 5.14) SIGKILLs every member at once, forks racing
//!   included; on an older kernel, SIGKILL to each member until none is left;
//! - cost: `memory.current` when the memory controller is enabled (else the members'
//!   resident memory from `/proc`), and `usage_usec` of `cpu.stat`, which counts the CPU
//!   of members that already exited too.

use std::fs;
use std::io::{self, Write};
use std::os::fd::OwnedFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use super::usage::GroupUsage;

/// The environment variable that turns cgroups off (`PROJ_CGROUPS=0`).
pub(crate) const SWITCH: &str = "PROJ_CGROUPS";

/// The prefix of the cgroup proj makes for itself: `proj-PID`.
const TREE_PREFIX: &str = "proj-";

/// Why instances are not cgroups on this system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Unavailable {
    /// `PROJ_CGROUPS=0`.
    TurnedOff,
    /// No cgroup2 file system is mounted, or proj's cgroup in it is unknown.
    NoUnifiedHierarchy,
    /// proj's cgroup is there but proj may not make cgroups in it.
    NotDelegated { cgroup: PathBuf, error: String },
}

impl std::fmt::Display for Unavailable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unavailable::TurnedOff => write!(f, "{SWITCH}=0 turns cgroups off"),
            Unavailable::NoUnifiedHierarchy => {
                f.write_str("no cgroup2 hierarchy is mounted (or proj's place in it is unknown)")
            }
            Unavailable::NotDelegated { cgroup, error } => write!(
                f,
                "proj cannot make cgroups in its own, {} ({error}); run proj as root, or \
                 under systemd with Delegate=yes",
                cgroup.display()
            ),
        }
    }
}

/// The cgroup proj's own cgroup is: `MOUNT/PATH`, or why there is none to use.
pub(crate) fn own_cgroup() -> Result<PathBuf, Unavailable> {
    if std::env::var_os(SWITCH).is_some_and(|value| value == "0") {
        return Err(Unavailable::TurnedOff);
    }
    let membership =
        fs::read_to_string("/proc/self/cgroup").map_err(|_| Unavailable::NoUnifiedHierarchy)?;
    let path = membership
        .lines()
        .find_map(|line| line.strip_prefix("0::"))
        .ok_or(Unavailable::NoUnifiedHierarchy)?;
    let mount = unified_mount().ok_or(Unavailable::NoUnifiedHierarchy)?;
    // A process in a cgroup the mount cannot see (another namespace) reads `/..`.
    if path.contains("/..") {
        return Err(Unavailable::NoUnifiedHierarchy);
    }
    Ok(mount.join(path.trim_start_matches('/')))
}

/// Where the cgroup2 file system is mounted (`/proc/self/mountinfo`, field 5, for the
/// first entry whose type after the ` - ` separator is `cgroup2`).
fn unified_mount() -> Option<PathBuf> {
    let mountinfo = fs::read_to_string("/proc/self/mountinfo").ok()?;
    mountinfo.lines().find_map(|line| {
        let (before, after) = line.split_once(" - ")?;
        if after.split_whitespace().next()? != "cgroup2" {
            return None;
        }
        let mount_point = before.split_whitespace().nth(4)?;
        Some(PathBuf::from(unescape_mount_path(mount_point)))
    })
}

/// mountinfo escapes space, tab, newline and backslash as `\040`-style octal.
fn unescape_mount_path(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\'
            && i + 3 < bytes.len()
            && let Ok(code) = u8::from_str_radix(&text[i + 1..i + 4], 8)
        {
            out.push(char::from(code));
            i += 4;
        } else {
            out.push(char::from(bytes[i]));
            i += 1;
        }
    }
    out
}

/// proj's own subtree, `proj-PID` in its cgroup, with a cgroup per instance in it.
#[derive(Debug)]
pub(crate) struct Tree {
    dir: PathBuf,
}

impl Tree {
    /// Make `proj-PID` in proj's own cgroup (after removing what earlier runs that were
    /// killed left there), or say why instances cannot be cgroups here.
    pub(crate) fn create() -> Result<Tree, Unavailable> {
        let own = own_cgroup()?;
        remove_stale_trees(&own);
        let dir = own.join(format!("{TREE_PREFIX}{}", std::process::id()));
        match fs::create_dir(&dir) {
            Ok(()) => {}
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {}
            Err(error) => {
                return Err(Unavailable::NotDelegated {
                    cgroup: own,
                    error: error.to_string(),
                });
            }
        }
        // cgroup.kill and cgroup.events exist in every non-root cgroup of a kernel that
        // has them; without cgroup.events nothing could say "all gone".
        if !dir.join("cgroup.events").exists() {
            let _ = fs::remove_dir(&dir);
            return Err(Unavailable::NoUnifiedHierarchy);
        }
        Ok(Tree { dir })
    }

    /// Whether instances can be cgroups here, as [`Tree::create`] would find, without
    /// leaving anything behind (for `proj check`).
    pub(crate) fn probe() -> Result<PathBuf, Unavailable> {
        let tree = Tree::create()?;
        let dir = tree.dir.clone();
        tree.remove_all(Duration::ZERO);
        Ok(dir.parent().map(Path::to_path_buf).unwrap_or(dir))
    }

    /// Adopt an existing tree (the guardian, cleaning up after proj).
    pub(crate) fn at(dir: PathBuf) -> Tree {
        Tree { dir }
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// The cgroup of instance `name`.
    pub(crate) fn instance(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Make the cgroup of instance `name` ready for a new member and open it for the
    /// child to be born in, or to write itself into (close-on-exec). For a `fresh`
    /// run, what an earlier run left (a process that would not die in time) is killed
    /// first; a helper joins the processes that are there.
    pub(crate) fn prepare(&self, name: &str, fresh: bool) -> io::Result<Entry> {
        let dir = self.instance(name);
        let created = match fs::create_dir(&dir) {
            Ok(()) => true,
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {
                if fresh && populated(&dir) {
                    kill_all(&dir);
                }
                false
            }
            Err(error) => return Err(error),
        };
        let procs = fs::OpenOptions::new()
            .write(true)
            .open(dir.join("cgroup.procs"))?;
        // Only a cgroup made just now is one to be born in: on Linux 6.18 a child that
        // clone3 starts in a cgroup where `cgroup.kill` was ever written is SIGKILLed at
        // birth (strace: `cgroup.kill`, then `clone3(CLONE_INTO_CGROUP)`, then `+++
        // killed by SIGKILL +++`), and proj kills an instance's cgroup after each run.
        let dir = if created {
            let dir = fs::OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_DIRECTORY)
                .open(&dir)?;
            Some(dir.into())
        } else {
            None
        };
        Ok(Entry {
            dir,
            procs: procs.into(),
        })
    }

    /// SIGKILL every member of every instance, wait up to `wait` for them to be gone,
    /// and remove the cgroups (what is still populated stays, and is reported).
    pub(crate) fn remove_all(&self, wait: Duration) {
        remove_tree(&self.dir, wait);
    }
}

/// An instance's cgroup, open for its next member: its directory (for `clone3`'s
/// `CLONE_INTO_CGROUP`), when it was made for this member, and its `cgroup.procs` (for
/// a child that moves itself).
#[derive(Debug)]
pub(crate) struct Entry {
    pub dir: Option<OwnedFd>,
    pub procs: OwnedFd,
}

/// Whether any process is left in the cgroup `dir` (a missing cgroup has none).
pub(crate) fn populated(dir: &Path) -> bool {
    fs::read_to_string(dir.join("cgroup.events")).is_ok_and(|events| {
        events
            .lines()
            .any(|line| line.split_whitespace().eq(["populated", "1"]))
    })
}

/// The pids in the cgroup `dir` (not those of its child cgroups).
pub(crate) fn members(dir: &Path) -> Vec<i32> {
    fs::read_to_string(dir.join("cgroup.procs"))
        .map(|procs| procs.lines().filter_map(|pid| pid.parse().ok()).collect())
        .unwrap_or_default()
}

/// SIGKILL every process in the cgroup `dir` and its children: `cgroup.kill`, or, on a
/// kernel without it, each member until a listing finds none.
pub(crate) fn kill_all(dir: &Path) {
    let killed = fs::OpenOptions::new()
        .write(true)
        .open(dir.join("cgroup.kill"))
        .and_then(|mut file| file.write_all(b"1"));
    if killed.is_ok() {
        return;
    }
    for _ in 0..20 {
        let found = members(dir);
        if found.is_empty() {
            break;
        }
        for pid in found {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
    }
}

/// Send `signal` to each process in the cgroup `dir` for which `select` holds.
pub(crate) fn signal_members(dir: &Path, signal: Signal, select: impl Fn(i32) -> bool) {
    for pid in members(dir).into_iter().filter(|&pid| select(pid)) {
        let _ = kill(Pid::from_raw(pid), signal);
    }
}

/// What the cgroup `dir` costs now: `memory.current` when the memory controller is on
/// (else the sum of its members' resident memory), and the CPU time of every process
/// that ran in it.
pub(crate) fn usage(dir: &Path) -> Option<GroupUsage> {
    let cpu = fs::read_to_string(dir.join("cpu.stat")).ok()?;
    let usage_usec = cpu
        .lines()
        .find_map(|line| line.strip_prefix("usage_usec "))
        .and_then(|value| value.trim().parse::<u64>().ok())
        .unwrap_or(0);
    let rss_bytes = match fs::read_to_string(dir.join("memory.current")) {
        Ok(current) => current.trim().parse().unwrap_or(0),
        Err(_) => members(dir).into_iter().map(super::usage::rss_of).sum(),
    };
    Some(GroupUsage {
        rss_bytes,
        cpu_time: Duration::from_micros(usage_usec),
    })
}

/// Remove the cgroup `dir` and its children, killing what is in them, waiting up to
/// `wait` for the kill to take (an exit takes a moment after SIGKILL).
fn remove_tree(dir: &Path, wait: Duration) {
    kill_all(dir);
    let deadline = std::time::Instant::now() + wait;
    if let Ok(children) = fs::read_dir(dir) {
        for child in children.flatten() {
            if child.file_type().is_ok_and(|kind| kind.is_dir()) {
                remove_tree(
                    &child.path(),
                    deadline.saturating_duration_since(std::time::Instant::now()),
                );
            }
        }
    }
    // Teardown only: a short, bounded wait for the kernel to finish the kill.
    while populated(dir) && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    if let Err(error) = fs::remove_dir(dir)
        && error.kind() != io::ErrorKind::NotFound
    {
        tracing::debug!(dir = %dir.display(), %error, "cannot remove a cgroup");
    }
}

/// Remove the `proj-PID` trees in `own` whose proj is gone (killed together with its
/// guardian): the next `proj up` cleans up.
fn remove_stale_trees(own: &Path) {
    let Ok(entries) = fs::read_dir(own) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|name| name.strip_prefix(TREE_PREFIX))
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if pid != std::process::id() && !alive(pid) {
            remove_tree(&entry.path(), Duration::from_secs(1));
        }
    }
}

/// Whether any process has the pid `pid`. A tree is left alone while it does: a pid
/// given to another program since only leaves an empty tree behind, while taking a
/// running proj (installed under another name, say) for a dead one would kill its
/// instances.
fn alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_paths_are_unescaped() {
        assert_eq!(unescape_mount_path("/sys/fs/cgroup"), "/sys/fs/cgroup");
        assert_eq!(unescape_mount_path("/mnt/a\\040b"), "/mnt/a b");
    }

    #[test]
    fn a_missing_cgroup_is_empty() {
        let dir = Path::new("/nonexistent/cgroup");
        assert!(!populated(dir));
        assert!(members(dir).is_empty());
        assert!(usage(dir).is_none());
    }
}
