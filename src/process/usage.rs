//! What a process group costs right now: its resident memory and the CPU time its
//! members have used, read from `/proc`.
//!
//! One call reads `/proc/*/stat` once and sums by process group, so asking about 300
//! instances costs one pass over the process table, not 300. Nothing here runs unless
//! asked: `proj ps`, the TUI while it is open, and the `max_memory` check of the
//! instances that set one.
//!
//! CPU time counts what the members alive now have used; a member that exited takes its
//! time with it (its parent's `cutime` is not counted, as a shell's would double count).

use std::collections::HashMap;
use std::time::Duration;

/// The cost of one process group at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct GroupUsage {
    /// The sum of its members' resident set sizes.
    pub rss_bytes: u64,
    /// The sum of its members' user and system CPU time.
    pub cpu_time: Duration,
}

/// The usage of each of these process groups (a group with no member left is absent).
pub(crate) fn of_groups(pgids: &[i32]) -> HashMap<i32, GroupUsage> {
    let mut usage = HashMap::new();
    if pgids.is_empty() {
        return usage;
    }
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return usage;
    };
    let page = page_size();
    let tick = Duration::from_secs(1) / clock_ticks_per_second();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        // A process may exit between the listing and the read: skip it.
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let Some(fields) = super::proc_stat::parse(&stat) else {
            continue;
        };
        if !pgids.contains(&fields.pgrp) {
            continue;
        }
        let group = usage.entry(fields.pgrp).or_insert_with(GroupUsage::default);
        group.rss_bytes += fields.rss_pages * page;
        group.cpu_time += tick * u32::try_from(fields.cpu_ticks).unwrap_or(u32::MAX);
    }
    usage
}

/// The resident memory of process `pid` (0 when it is gone), from `/proc/PID/statm`.
pub(crate) fn rss_of(pid: i32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/statm"))
        .ok()
        .and_then(|statm| statm.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * page_size())
}

fn page_size() -> u64 {
    nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE)
        .ok()
        .flatten()
        .and_then(|size| u64::try_from(size).ok())
        .unwrap_or(4096)
}

fn clock_ticks_per_second() -> u32 {
    nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .and_then(|ticks| u32::try_from(ticks).ok())
        .filter(|&ticks| ticks > 0)
        .unwrap_or(100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process_group() {
        let pgid = nix::unistd::getpgrp().as_raw();
        let usage = of_groups(&[pgid]);
        let own = usage.get(&pgid).expect("this test's own group");
        assert!(own.rss_bytes > 1 << 20, "{own:?}");
    }

    #[test]
    fn asks_nothing_of_proc_for_no_groups() {
        assert!(of_groups(&[]).is_empty());
    }
}
