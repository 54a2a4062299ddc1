//! Where cgroups are not available: finding the processes of an instance that left its
//! process group, from the process table.
//!
//! An instance's process group is where its processes start. A process that leaves it
//! (`setsid`, `setpgid`: RQ's work horse, a double-forking daemon) is still the
//! instance's when
//! - it descends (by parent pid) from a member of the group, or
//! - its environment carries this run's marker and this instance's name
//!   (`PROJ_SUPERVISOR`, `PROJ_INSTANCE`): a daemon whose parent exited was re-parented
//!   to proj, so its lineage is gone, but its environment is inherited;
//! - or it descends from such a process.
//!
//! A process that both rewrote its environment block (setproctitle) and lost its
//! parent is found by none of this: that is what cgroups are for. The table is read
//! only when an instance stops or ends, never in a loop.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::time::{Duration, Instant};

use crate::process::proc_stat;

/// One process of the table: who it descends from and which group it is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Entry {
    pub(super) pid: i32,
    pub(super) ppid: i32,
    pub(super) pgrp: i32,
    /// Clock ticks after boot at which it started: with the pid, a name no later process
    /// can take.
    pub(super) start_time: u64,
}

/// A process found outside its instance's group: its pid and start time.
pub(super) type Escapee = (i32, u64);

/// How long one reading of the process table answers for: a shutdown stops many
/// instances within a few milliseconds, and one pass over `/proc` serves them all.
const FRESH_FOR: Duration = Duration::from_millis(20);

/// The process table and who carries the run's marker, as of one moment.
#[derive(Default)]
pub(super) struct Snapshot {
    taken: Option<Instant>,
    pub(super) entries: Vec<Entry>,
    /// `PROJ_PROCESS` and `PROJ_INSTANCE` of each process whose environment holds the
    /// run's marker.
    pub(super) instances: HashMap<i32, Identity>,
}

impl Snapshot {
    /// Forget this reading: proj just started a process, and a reading from before it
    /// would miss everything that process starts (a work horse forked a moment later).
    pub(super) fn invalidate(&mut self) {
        self.taken = None;
    }

    /// This snapshot, read again first unless it is younger than [`FRESH_FOR`].
    /// `marker` is the run's `PROJ_SUPERVISOR=TOKEN` entry.
    pub(super) fn fresh(&mut self, marker: &[u8]) -> &Snapshot {
        if self.taken.is_none_or(|taken| taken.elapsed() >= FRESH_FOR) {
            self.entries = table();
            self.instances = self
                .entries
                .iter()
                .filter_map(|entry| Some((entry.pid, marked_instance(entry.pid, marker)?)))
                .collect();
            self.taken = Some(Instant::now());
        }
        self
    }
}

/// Which instance a process says it is: `PROJ_PROCESS` and `PROJ_INSTANCE` (`web`, `2`).
pub(super) type Identity = (Vec<u8>, Vec<u8>);

/// The instance `environment` (`NAME=value` entries) names; `None` without either.
pub(super) fn identity_in<'a>(
    environment: impl Iterator<Item = (&'a [u8], &'a [u8])>,
) -> Option<Identity> {
    let (mut process, mut instance) = (None, None);
    for (name, value) in environment {
        match name {
            b"PROJ_PROCESS" => process = Some(value.to_vec()),
            b"PROJ_INSTANCE" => instance = Some(value.to_vec()),
            _ => {}
        }
    }
    Some((process?, instance?))
}

/// The instance of `pid` when its environment holds `marker`. A process of another
/// user, a zombie, or one that wrote over its environment reads as unmarked.
fn marked_instance(pid: i32, marker: &[u8]) -> Option<Identity> {
    let environ = fs::read(format!("/proc/{pid}/environ")).ok()?;
    let mut vars = environ.split(|&b| b == 0);
    if !vars.clone().any(|var| var == marker) {
        return None;
    }
    identity_in(vars.by_ref().filter_map(|var| {
        let at = var.iter().position(|&b| b == b'=')?;
        Some((&var[..at], &var[at + 1..]))
    }))
}

/// Every process now, but proj itself.
pub(super) fn table() -> Vec<Entry> {
    let own = i32::try_from(std::process::id()).unwrap_or(0);
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| pid != own)
        .filter_map(|pid| {
            let stat = proc_stat::read(pid)?;
            Some(Entry {
                pid,
                ppid: stat.ppid,
                pgrp: stat.pgrp,
                start_time: stat.start_time,
            })
        })
        .collect()
}

/// The processes of the instance whose group is `leader` that are outside that group:
/// descendants of its members, and processes marked as the instance's (see the module
/// docs), with their descendants.
pub(super) fn escaped(table: &[Entry], leader: i32, marked: impl Fn(i32) -> bool) -> Vec<Escapee> {
    let mut children: HashMap<i32, Vec<&Entry>> = HashMap::new();
    for entry in table {
        children.entry(entry.ppid).or_default().push(entry);
    }
    let mut found: HashSet<i32> = HashSet::new();
    let mut queue: Vec<&Entry> = table
        .iter()
        .filter(|entry| entry.pgrp == leader || marked(entry.pid))
        .collect();
    while let Some(entry) = queue.pop() {
        if !found.insert(entry.pid) {
            continue;
        }
        queue.extend(children.get(&entry.pid).into_iter().flatten().copied());
    }
    table
        .iter()
        .filter(|entry| entry.pgrp != leader && found.contains(&entry.pid))
        .map(|entry| (entry.pid, entry.start_time))
        .collect()
}

/// Whether the process `pid` that started at `start_time` is still there (not a later
/// process that was given the same pid, nor a zombie waiting to be reaped).
pub(super) fn still_running(escapee: Escapee) -> bool {
    let (pid, start_time) = escapee;
    proc_stat::read(pid).is_some_and(|stat| !stat.is_zombie() && stat.start_time == start_time)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(pid: i32, ppid: i32, pgrp: i32) -> Entry {
        Entry {
            pid,
            ppid,
            pgrp,
            start_time: u64::try_from(pid).unwrap() * 10,
        }
    }

    #[test]
    fn descendants_that_left_the_group_are_found_with_their_own_children() {
        let table = [
            entry(100, 1, 100),   // the leader
            entry(101, 100, 100), // a worker in the group
            entry(102, 101, 102), // left the group (setsid)
            entry(103, 102, 102), // its child
            entry(200, 1, 200),   // another instance
            entry(201, 200, 201), // that one's escapee
        ];
        let mut found = escaped(&table, 100, |_| false);
        found.sort_unstable();
        assert_eq!(found, vec![(102, 1020), (103, 1030)]);
    }

    #[test]
    fn an_orphaned_daemon_is_found_by_its_marker() {
        // 300 double-forked: its parent is gone, it was re-parented to proj (pid 1 here).
        let table = [entry(100, 1, 100), entry(300, 1, 299), entry(301, 300, 299)];
        let mut found = escaped(&table, 100, |pid| pid == 300);
        found.sort_unstable();
        assert_eq!(found, vec![(300, 3000), (301, 3010)]);
    }

    #[test]
    fn this_process_is_running_and_a_wrong_start_time_is_not() {
        let own = i32::try_from(std::process::id()).unwrap();
        let me = proc_stat::read(own).unwrap();
        assert!(still_running((own, me.start_time)));
        assert!(!still_running((own, me.start_time + 1)));
    }
}
