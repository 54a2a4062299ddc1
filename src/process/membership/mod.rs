//! Which processes are an instance's: one tracker that answers "who is in it", "are they
//! all gone" and "end them", so that the supervisor never knows how.
//!
//! Two ways, chosen once per run ([`Tracking`]):
//! - **cgroups** ([`super::cgroup`]): each instance is a cgroup of its own; the child
//!   joins it between fork and exec, so everything it ever starts is inside. Exact.
//! - **process groups** elsewhere (not root and no delegated subtree, or
//!   `PROJ_CGROUPS=0`): the instance's group, plus what left it, found in the process
//!   table ([`scan`]) when the instance stops or ends; the guardian is told of every
//!   group, so title-rewriting workers are ended even after a SIGKILL of proj.
//!
//! In both, graceful stop signals go where `stop_target` says (the instance's group, or
//! its main process): a program that put a process outside its group did so to keep it
//! from the group's signals (RQ's work horse finishes its job while the worker waits for
//! it). What left the group is told to stop (SIGTERM) once the main process is gone,
//! waited for like the rest, and SIGKILLed with everything else at the end.

mod scan;
mod watch;

use std::collections::HashMap;
use std::ffi::OsString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

use nix::sys::signal::Signal;
use tokio::sync::mpsc::UnboundedSender;

use super::cgroup::{self, Tree, Unavailable};
use super::guardian::Guardian;
use super::identity::Identity;
use super::spawn::{self, Child, Output};
use super::usage::GroupUsage;

/// How this run tells which processes are an instance's.
#[derive(Debug)]
pub(crate) enum Tracking {
    /// A cgroup per instance, in this tree.
    Cgroups(Tree),
    /// Process groups, sessions, lineage and the marker, because cgroups are not
    /// available (`proj check` says why).
    Groups,
}

impl Tracking {
    /// Cgroups where the system allows them, process groups elsewhere.
    pub(crate) fn choose() -> Tracking {
        match Tree::create() {
            Ok(tree) => Tracking::Cgroups(tree),
            Err(_) => Tracking::Groups,
        }
    }

    /// One line for `proj check` and the debug log: which, and why.
    pub(crate) fn describe(result: &Result<PathBuf, Unavailable>) -> String {
        match result {
            Ok(cgroup) => format!(
                "cgroups (a cgroup v2 per instance, below {})",
                cgroup.display()
            ),
            Err(why) => format!("process groups and sessions ({why})"),
        }
    }
}

/// What one spawn of an instance's process needs.
pub(crate) struct Spawn<'a> {
    pub command: &'a str,
    pub cwd: &'a Path,
    pub env: &'a [(OsString, OsString)],
    pub identity: Option<&'a Identity>,
    pub output: Output,
    /// The instance whose processes it joins (`web.1`).
    pub instance: &'a str,
    /// The instance's main process: a new run, which starts with nothing of an earlier
    /// one left (a helper, such as a stop command, joins the running one).
    pub main: bool,
    /// A listening socket to pass as descriptor 3 (`socket`, SPEC §9.3).
    pub listener: Option<std::os::fd::RawFd>,
}

/// The tracker: the instances' cgroups or groups, and what the guardian is told.
pub(crate) struct Membership {
    tracking: Tracking,
    /// The run's marker value, and its environment entry `PROJ_SUPERVISOR=TOKEN`.
    token: String,
    marker: Vec<u8>,
    guardian: Guardian,
    /// Every spawned leader (instance main processes and their stop commands) and the
    /// instance it belongs to.
    leaders: Mutex<HashMap<i32, Leader>>,
    /// Announces changes of the instances' cgroups (cgroups only).
    watcher: Option<watch::Watcher>,
    /// The last reading of the process table (process groups only).
    snapshot: Mutex<scan::Snapshot>,
}

/// A spawned leader's instance, and what was found outside its group.
struct Leader {
    instance: String,
    /// What its descendants' environments say they are (`PROJ_PROCESS`, `PROJ_INSTANCE`).
    identity: Option<scan::Identity>,
    escaped: Vec<scan::Escapee>,
}

impl Membership {
    /// Track with `tracking`; `changed` hears of every change of an instance cgroup's
    /// population. Call inside the runtime.
    pub(crate) fn new(
        tracking: Tracking,
        token: &str,
        guardian: Guardian,
        changed: UnboundedSender<()>,
    ) -> io::Result<Membership> {
        let watcher = match tracking {
            Tracking::Cgroups(_) => Some(watch::Watcher::start(changed)?),
            Tracking::Groups => None,
        };
        Ok(Membership {
            tracking,
            token: token.to_string(),
            marker: format!("{}={token}", super::SUPERVISOR_MARKER).into_bytes(),
            guardian,
            leaders: Mutex::new(HashMap::new()),
            watcher,
            snapshot: Mutex::new(scan::Snapshot::default()),
        })
    }

    fn leaders(&self) -> MutexGuard<'_, HashMap<i32, Leader>> {
        self.leaders.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The cgroup of `instance`, when instances are cgroups.
    fn cgroup_of(&self, instance: &str) -> Option<PathBuf> {
        match &self.tracking {
            Tracking::Cgroups(tree) => Some(tree.instance(instance)),
            Tracking::Groups => None,
        }
    }

    fn cgroup_of_leader(&self, leader: i32) -> Option<PathBuf> {
        let instance = self.leaders().get(&leader)?.instance.clone();
        self.cgroup_of(&instance)
    }

    /// Start a process of `spawn.instance`: in its cgroup, or recorded with the guardian.
    pub(crate) fn spawn(&self, spawn: &Spawn<'_>) -> io::Result<Child> {
        let cgroup = match &self.tracking {
            Tracking::Cgroups(tree) => {
                let cgroup = tree.prepare(spawn.instance, spawn.main)?;
                if let Some(watcher) = &self.watcher {
                    watcher.watch(&tree.instance(spawn.instance));
                }
                Some(cgroup)
            }
            Tracking::Groups => None,
        };
        let child = spawn::spawn_member(
            spawn.command,
            spawn.cwd,
            spawn.env,
            spawn.output,
            spawn.identity,
            cgroup.as_ref(),
            spawn.listener,
        )?;
        self.guardian.record_group(child.pid);
        self.snapshot
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .invalidate();
        self.leaders().insert(
            child.pid,
            Leader {
                instance: spawn.instance.to_string(),
                identity: scan::identity_in(
                    spawn
                        .env
                        .iter()
                        .map(|(name, value)| (name.as_bytes(), value.as_bytes())),
                ),
                escaped: Vec::new(),
            },
        );
        Ok(child)
    }

    /// Whether any process of the instance `leader` started is left.
    pub(crate) fn alive(&self, leader: i32) -> bool {
        if let Some(cgroup) = self.cgroup_of_leader(leader) {
            return cgroup::populated(&cgroup);
        }
        super::reaper::group_alive(leader)
            || self.leaders().get(&leader).is_some_and(|found| {
                found
                    .escaped
                    .iter()
                    .any(|&escapee| scan::still_running(escapee))
            })
    }

    /// Send `signal` to the processes of `leader`'s instance that are outside its process
    /// group (the group's signal did not reach them). Without cgroups they are looked
    /// for now and remembered, so that [`Membership::alive`] waits for them.
    pub(crate) fn signal_escaped(&self, leader: i32, signal: Signal) {
        if let Some(cgroup) = self.cgroup_of_leader(leader) {
            cgroup::signal_members(&cgroup, signal, |pid| {
                nix::unistd::getpgid(Some(nix::unistd::Pid::from_raw(pid)))
                    .is_ok_and(|pgid| pgid.as_raw() != leader)
            });
            return;
        }
        for (pid, _) in self.find_escaped(leader) {
            spawn::signal_process(pid, signal);
        }
    }

    /// Send `signal` to every process of `leader`'s instance (`proj signal --group`).
    pub(crate) fn signal_all(&self, leader: i32, signal: Signal) {
        if let Some(cgroup) = self.cgroup_of_leader(leader) {
            cgroup::signal_members(&cgroup, signal, |_| true);
            return;
        }
        spawn::signal_group(leader, signal);
        for (pid, _) in self.find_escaped(leader) {
            spawn::signal_process(pid, signal);
        }
    }

    /// SIGKILL every process of `leader`'s instance.
    pub(crate) fn end(&self, leader: i32) {
        if let Some(cgroup) = self.cgroup_of_leader(leader) {
            // The cgroup alone: its members are exactly the instance's, while a group id
            // may have been given to someone else once its leader was reaped.
            cgroup::kill_all(&cgroup);
            return;
        }
        spawn::signal_group(leader, Signal::SIGKILL);
        for (pid, _) in self.find_escaped(leader) {
            spawn::signal_process(pid, Signal::SIGKILL);
        }
    }

    /// Look through the process table for what left `leader`'s group, and remember it.
    fn find_escaped(&self, leader: i32) -> Vec<scan::Escapee> {
        let Some(identity) = self.leaders().get(&leader).and_then(|l| l.identity.clone()) else {
            return Vec::new();
        };
        let found = {
            let mut snapshot = self.snapshot.lock().unwrap_or_else(PoisonError::into_inner);
            let table = snapshot.fresh(&self.marker);
            scan::escaped(&table.entries, leader, |pid| {
                table.instances.get(&pid) == Some(&identity)
            })
        };
        if let Some(record) = self.leaders().get_mut(&leader) {
            for escapee in &found {
                if !record.escaped.contains(escapee) {
                    record.escaped.push(*escapee);
                }
            }
        }
        found
    }

    /// The instance `leader` started is over and all its processes are gone.
    pub(crate) fn release(&self, leader: i32) {
        if self.leaders().remove(&leader).is_some() {
            self.guardian.forget_group(leader);
        }
    }

    /// What each of these leaders' instances costs now.
    pub(crate) fn usage(&self, leaders: &[i32]) -> HashMap<i32, GroupUsage> {
        if matches!(self.tracking, Tracking::Groups) {
            return super::usage::of_groups(leaders);
        }
        leaders
            .iter()
            .filter_map(|&leader| {
                let cgroup = self.cgroup_of_leader(leader)?;
                Some((leader, cgroup::usage(&cgroup)?))
            })
            .collect()
    }

    /// The end of the run: kill what is left anywhere (the marker's sweep, and every
    /// instance cgroup, which are removed). Blocks briefly; the number of marked
    /// processes killed.
    pub(crate) fn sweep(&self) -> usize {
        let killed = super::sweep::kill_marked(&self.token);
        if let Tracking::Cgroups(tree) = &self.tracking {
            tree.remove_all(std::time::Duration::from_secs(1));
        }
        killed
    }
}
