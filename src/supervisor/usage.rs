//! What each instance costs (CPU and memory of its whole process group), read only
//! when someone asks, and `max_memory`, the one setting that asks on its own.
//!
//! # Theory of operation
//!
//! `proj ps` (and the TUI, at most once a second while it is open) sends
//! `ps`; its answer is sampled then: one pass over `/proc` for every
//! running instance ([`crate::process::usage`]). Snapshots published to watchers carry
//! no figures, so nothing is sampled while nobody asks.
//!
//! CPU% is a rate, so it needs two readings. Each instance keeps its previous reading
//! (time and CPU time of its current process); the figure is the CPU used since then,
//! as `top` shows it. The first time, with no earlier reading, it is the average since
//! the process started, as `ps(1)` shows it: no second reading is waited for, so `ps`
//! answers at once. 100% is one core. Asks less than 250 ms apart share one sample.
//!
//! `max_memory`: an instance that sets it and is `running` has a sample time, folded
//! into the supervisor's earliest deadline; every [`MEMORY_SAMPLE_INTERVAL`] its group's
//! resident memory is read, and above the limit it gets [`Input::Trouble`]: a graceful
//! restart counted against `max_restarts`.

use std::time::{Duration, Instant};

use super::clock::now;
use super::edges::Processes;
use super::failure::Trouble;
use super::lifecycle::{Input, State};
use super::slot::CpuSample;
use super::snapshot::InstanceStatus;
use super::step::Step;
use super::table::InstanceTable;
use crate::config::Plan;

/// Asks closer together than this share one sample: a client that sends `ps` in a loop
/// costs one pass over `/proc` per this interval, not one per request.
const FRESH_FOR: Duration = Duration::from_millis(250);

/// How often the memory of an instance with `max_memory` is sampled.
pub(super) const MEMORY_SAMPLE_INTERVAL: Duration = Duration::from_secs(5);

/// Fill `rows` (`ps`) with CPU% and memory, sampled now.
pub(super) fn sample(
    slots: &mut InstanceTable,
    processes: &dyn Processes,
    mut rows: Vec<InstanceStatus>,
) -> Vec<InstanceStatus> {
    {
        let pgids: Vec<i32> = rows.iter().filter_map(|row| row.pid).collect();
        if pgids.is_empty() {
            return rows;
        }
        let now = now();
        if reuse_fresh_sample(slots, &mut rows, now) {
            return rows;
        }
        let usage = processes.usage(&pgids);
        for row in &mut rows {
            let Some(pid) = row.pid else {
                continue;
            };
            let Some(group) = usage.get(&pid) else {
                continue;
            };
            let Some(index) = slots.index_of_pid(pid) else {
                continue;
            };
            let slot = &mut slots[index];
            let Some(current) = &mut slot.current else {
                continue;
            };
            let since = match current.cpu_sample {
                Some(previous) if previous.pid == pid && previous.at < now => {
                    Some((previous.at, previous.cpu_time))
                }
                _ => slot.machine.started_at().map(|at| (at, Duration::ZERO)),
            };
            row.cpu_percent = since.map(|(at, cpu_before)| {
                let wall = now.saturating_duration_since(at).as_secs_f64();
                let used = group.cpu_time.saturating_sub(cpu_before).as_secs_f64();
                if wall > 0.0 {
                    (used / wall * 1000.0).round() / 10.0
                } else {
                    0.0
                }
            });
            row.memory_bytes = Some(group.rss_bytes);
            current.cpu_sample = Some(CpuSample {
                pid,
                at: now,
                cpu_time: group.cpu_time,
                cpu_percent: row.cpu_percent,
                rss_bytes: group.rss_bytes,
            });
        }
        rows
    }
}

/// Fill `rows` from the previous sample when every running instance has one taken
/// less than [`FRESH_FOR`] ago (of its current process); whether it did.
fn reuse_fresh_sample(slots: &InstanceTable, rows: &mut [InstanceStatus], now: Instant) -> bool {
    {
        let mut samples = Vec::with_capacity(rows.len());
        for row in rows.iter() {
            let Some(pid) = row.pid else {
                samples.push(None);
                continue;
            };
            let sample = slots
                .index_of_pid(pid)
                .and_then(|index| slots[index].current.as_ref()?.cpu_sample)
                .filter(|s| s.pid == pid && now.saturating_duration_since(s.at) < FRESH_FOR);
            match sample {
                Some(sample) => samples.push(Some(sample)),
                None => return false,
            }
        }
        for (row, sample) in rows.iter_mut().zip(samples) {
            if let Some(sample) = sample {
                row.cpu_percent = sample.cpu_percent;
                row.memory_bytes = Some(sample.rss_bytes);
            }
        }
        true
    }
}

/// The earliest `max_memory` sample due.
pub(super) fn memory_deadline(slots: &InstanceTable) -> Option<Instant> {
    {
        slots
            .iter()
            .filter_map(|slot| slot.current.as_ref()?.memory_check_at)
            .min()
    }
}

/// Sample the memory of every instance whose turn it is: those above their limit get
/// [`Trouble::OverMemory`].
pub(super) fn check_memory(
    slots: &mut InstanceTable,
    plan: &Plan,
    processes: &dyn Processes,
    now: Instant,
) -> Vec<Step> {
    {
        let mut due: Vec<(usize, i32, u64)> = Vec::new();
        for index in 0..slots.len() {
            let slot = &slots[index];
            let check_at = slot.current.as_ref().and_then(|run| run.memory_check_at);
            if check_at.is_none_or(|at| at > now) {
                continue;
            }
            let limit = slot
                .process
                .and_then(|process| plan.processes[process].max_memory);
            match (limit, slot.machine.pid(), slot.machine.state()) {
                (Some(limit), Some(pid), State::Running) => due.push((index, pid, limit)),
                // Nothing to sample any more: a deadline left in the past would wake the
                // supervisor again and again.
                _ => {
                    if let Some(run) = &mut slots[index].current {
                        run.memory_check_at = None;
                    }
                }
            }
        }
        if due.is_empty() {
            return Vec::new();
        }
        let pgids: Vec<i32> = due.iter().map(|&(_, pid, _)| pid).collect();
        let usage = processes.usage(&pgids);
        let mut steps = Vec::new();
        for (index, pid, limit) in due {
            if let Some(run) = &mut slots[index].current {
                run.memory_check_at = Some(now + MEMORY_SAMPLE_INTERVAL);
            }
            let used = usage.get(&pid).map_or(0, |group| group.rss_bytes);
            if used > limit {
                let trouble = Trouble::OverMemory { used, limit };
                steps.push(Step::Apply(index, Input::Trouble(trouble)));
            }
        }
        steps
    }
}
