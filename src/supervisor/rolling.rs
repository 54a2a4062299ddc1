//! Rolling restarts: `rolling = true` (or `proj restart --rolling`) restarts a scaled
//! process's instances one at a time, the next only once the previous is `running`
//! (ready) again, so N − 1 instances keep serving throughout.
//!
//! # Theory of operation
//!
//! A [`Roll`] is a queue of the instances still to restart and the one under way (with
//! its run number before the restart). After every event the supervisor advances each
//! roll ([`Supervisor::advance_rolls`]): once the instance under way runs a new process
//! and is `running`, the next one gets [`Input::Restart`] (the graceful stop sequence,
//! then the start). If the instance under way ends up anything else than starting again
//! (`failed`: its ready timeout or restart limit; stopped by someone meanwhile), the
//! roll stops there and says so (a crash before it was ready, `backoff`, counts: its
//! restart policy takes that instance from there), leaving the rest running their old processes: a new
//! version that does not come up takes down one instance, not all of them. The instances
//! it did not reach are marked, so a `proj restart` or `reload` waiting for them
//! answers.
//!
//! Instances that are not running when the roll begins serve nothing: they are
//! restarted (started) at once, outside the queue. Which restarts roll: `proj restart`,
//! `proj reload` and `watch`. A `health` or `max_memory` restart concerns one instance
//! and is not held back.

use std::collections::VecDeque;

use super::actor::Supervisor;
use super::clock::now;
use super::failure::RestartCause;
use super::lifecycle::{Input, State};
use crate::logs::printer::Level;

/// One rolling restart of one process.
pub(super) struct Roll {
    process: String,
    /// Instances still to restart, in order.
    queue: VecDeque<usize>,
    /// The instance being restarted and its run number before.
    current: Option<(usize, u64)>,
    /// How many instances the roll restarts, and how many it began.
    total: usize,
    begun: usize,
    /// What each restart of the roll is for (`ps` shows it).
    why: RestartCause,
}

impl Supervisor {
    /// Restart `slots` (instances of one or more processes), each process's running
    /// instances one at a time.
    pub(super) fn roll(&mut self, slots: &[usize], cause: &str, why: RestartCause) {
        let now = now();
        let mut by_process: Vec<(usize, Vec<usize>)> = Vec::new();
        for &index in slots {
            let slot = &self.slots[index];
            let Some(process) = slot.process else {
                continue;
            };
            if !matches!(slot.machine.state(), State::Starting | State::Running) {
                // It serves nothing now: no reason to wait for it, or to make it wait.
                self.apply(index, Input::Restart(why), now);
                continue;
            }
            match by_process.iter_mut().find(|(p, _)| *p == process) {
                Some((_, queue)) => queue.push(index),
                None => by_process.push((process, vec![index])),
            }
        }
        for (process, queue) in by_process {
            let name = self.plan.processes[process].name.clone();
            // A roll already under way for this process takes the new instances too.
            if let Some(roll) = self.rolls.iter_mut().find(|roll| roll.process == name) {
                for index in queue {
                    if !roll.queue.contains(&index) && roll.current.map(|c| c.0) != Some(index) {
                        roll.queue.push_back(index);
                        roll.total += 1;
                    }
                }
                continue;
            }
            self.report_proj(
                Level::Info,
                format!(
                    "{name}: {cause}: rolling restart of {} instance{}, one at a time",
                    queue.len(),
                    if queue.len() == 1 { "" } else { "s" }
                ),
            );
            self.rolls.push(Roll {
                process: name,
                total: queue.len(),
                queue: queue.into(),
                current: None,
                begun: 0,
                why,
            });
        }
        self.advance_rolls();
    }

    /// Move every roll on as far as the states allow.
    pub(super) fn advance_rolls(&mut self) {
        if self.rolls.is_empty() {
            return;
        }
        if self.shutting_down {
            self.rolls.clear();
            return;
        }
        for mut roll in std::mem::take(&mut self.rolls) {
            if self.advance(&mut roll) {
                self.rolls.push(roll);
            }
        }
    }

    /// Advance one roll; whether it goes on.
    fn advance(&mut self, roll: &mut Roll) -> bool {
        loop {
            if let Some((index, run_before)) = roll.current {
                let slot = &self.slots[index];
                let state = slot.machine.state();
                let renewed = slot.run > run_before;
                match state {
                    State::Running if renewed => roll.current = None,
                    State::Stopping | State::Starting | State::Running => return true,
                    _ => {
                        // Crashed before it was ready (`backoff`: its restart policy
                        // takes it from here), failed, or stopped by someone.
                        let why = match (state, slot.machine.failure(), slot.machine.last_exit()) {
                            (_, Some(failure), _) => failure.to_string(),
                            (State::Backoff, None, Some(exit)) => {
                                format!("{exit} before it was ready; restarting as its policy says")
                            }
                            _ => state.to_string(),
                        };
                        let left: Vec<String> = roll
                            .queue
                            .iter()
                            .map(|&i| self.slots[i].instance.name.clone())
                            .collect();
                        let text = format!(
                            "{}: rolling restart stopped: {} did not come back ({why}){}",
                            roll.process,
                            slot.instance.name,
                            if left.is_empty() {
                                String::new()
                            } else {
                                format!("; {} keep running as they were", left.join(", "))
                            }
                        );
                        for &skipped in &roll.queue {
                            let slot = &mut self.slots[skipped];
                            slot.roll_skipped = Some(slot.run);
                        }
                        self.report_proj(Level::Error, text);
                        return false;
                    }
                }
            }
            let Some(index) = roll.queue.pop_front() else {
                self.report_proj(
                    Level::Info,
                    format!("{}: rolling restart done", roll.process),
                );
                return false;
            };
            let slot = &self.slots[index];
            // Stopped (or removed) while it waited its turn: leave it so.
            if slot.is_removed()
                || !matches!(slot.machine.state(), State::Starting | State::Running)
            {
                continue;
            }
            roll.begun += 1;
            roll.current = Some((index, slot.run));
            let text = format!(
                "{}: restarting ({} of {})",
                slot.instance.name, roll.begun, roll.total
            );
            self.report_proj(Level::Info, text);
            self.apply(index, Input::Restart(roll.why), now());
        }
    }

    /// Whether a restart of this process's instances rolls.
    pub(super) fn rolls_restarts(&self, process: Option<usize>) -> bool {
        process.is_some_and(|process| self.plan.processes[process].rolling)
    }
}
