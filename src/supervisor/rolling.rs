//! Rolling restarts: `rolling = true` (or `proj restart --rolling`) restarts a scaled
//! process's instances one at a time, the next only once the previous is `running`
//! (ready) again, so N − 1 instances keep serving throughout.
//!
//! # Theory of operation
//!
//! [`Rolls`] owns the rolls under way: each [`Roll`] is a queue of the instances still
//! to restart and the one under way (with its run number before the restart). It never
//! acts itself: it reads the instances and returns [`Step`]s (an input for an
//! instance, a message), which the actor applies. After every event the actor advances
//! the rolls ([`Rolls::advance`]): once the instance under way runs a new process
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

use super::failure::RestartCause;
use super::lifecycle::{Input, State};
use super::step::Step;
use super::table::InstanceTable;
use crate::config::Plan;
use crate::logs::printer::Level;

/// The rolling restarts under way.
#[derive(Default)]
pub(super) struct Rolls {
    under_way: Vec<Roll>,
}

/// One rolling restart of one process.
struct Roll {
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

/// Whether a restart of this process's instances rolls.
pub(super) fn rolls_restarts(plan: &Plan, process: Option<usize>) -> bool {
    process.is_some_and(|process| plan.processes[process].rolling)
}

impl Rolls {
    /// Restart `targets` (instances of one or more processes), each process's running
    /// instances one at a time: the instances that serve nothing restart at once, the
    /// others queue (then [`Rolls::advance`] begins the first of each process).
    pub(super) fn begin(
        &mut self,
        slots: &InstanceTable,
        plan: &Plan,
        targets: &[usize],
        cause: &str,
        why: RestartCause,
    ) -> Vec<Step> {
        let mut steps = Vec::new();
        let mut by_process: Vec<(usize, Vec<usize>)> = Vec::new();
        for &index in targets {
            let slot = &slots[index];
            let Some(process) = slot.process else {
                continue;
            };
            if !matches!(slot.machine.state(), State::Starting | State::Running) {
                // It serves nothing now: no reason to wait for it, or to make it wait.
                steps.push(Step::Apply(index, Input::Restart(why)));
                continue;
            }
            match by_process.iter_mut().find(|(p, _)| *p == process) {
                Some((_, queue)) => queue.push(index),
                None => by_process.push((process, vec![index])),
            }
        }
        for (process, queue) in by_process {
            let name = plan.processes[process].name.clone();
            // A roll already under way for this process takes the new instances too.
            if let Some(roll) = self.under_way.iter_mut().find(|roll| roll.process == name) {
                for index in queue {
                    if !roll.queue.contains(&index) && roll.current.map(|c| c.0) != Some(index) {
                        roll.queue.push_back(index);
                        roll.total += 1;
                    }
                }
                continue;
            }
            steps.push(Step::Say(
                Level::Info,
                format!(
                    "{name}: {cause}: rolling restart of {} instance{}, one at a time",
                    queue.len(),
                    if queue.len() == 1 { "" } else { "s" }
                ),
            ));
            self.under_way.push(Roll {
                process: name,
                total: queue.len(),
                queue: queue.into(),
                current: None,
                begun: 0,
                why,
            });
        }
        steps
    }

    /// Move every roll on by at most one restart; the actor applies the steps and asks
    /// again until no roll moves. A roll that stops marks the instances it did not
    /// reach (`roll_skipped`), so whoever waits for them is answered.
    pub(super) fn advance(&mut self, slots: &mut InstanceTable, shutting_down: bool) -> Vec<Step> {
        if shutting_down {
            self.under_way.clear();
        }
        let mut steps = Vec::new();
        self.under_way
            .retain_mut(|roll| roll.advance(slots, &mut steps));
        steps
    }
}

impl Roll {
    /// Advance this roll; whether it goes on.
    fn advance(&mut self, slots: &mut InstanceTable, steps: &mut Vec<Step>) -> bool {
        loop {
            if let Some((index, run_before)) = self.current {
                let slot = &slots[index];
                let state = slot.machine.state();
                let renewed = slot.run > run_before;
                match state {
                    State::Running if renewed => self.current = None,
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
                        let left: Vec<String> = self
                            .queue
                            .iter()
                            .map(|&i| slots[i].instance.name.clone())
                            .collect();
                        let text = format!(
                            "{}: rolling restart stopped: {} did not come back ({why}){}",
                            self.process,
                            slot.instance.name,
                            if left.is_empty() {
                                String::new()
                            } else {
                                format!("; {} keep running as they were", left.join(", "))
                            }
                        );
                        for &skipped in &self.queue {
                            let slot = &mut slots[skipped];
                            slot.roll_skipped = Some(slot.run);
                        }
                        steps.push(Step::Say(Level::Error, text));
                        return false;
                    }
                }
            }
            let Some(index) = self.queue.pop_front() else {
                steps.push(Step::Say(
                    Level::Info,
                    format!("{}: rolling restart done", self.process),
                ));
                return false;
            };
            let slot = &slots[index];
            // Stopped (or removed) while it waited its turn: leave it so.
            if slot.is_removed()
                || !matches!(slot.machine.state(), State::Starting | State::Running)
            {
                continue;
            }
            self.begun += 1;
            self.current = Some((index, slot.run));
            let text = format!(
                "{}: restarting ({} of {})",
                slot.instance.name, self.begun, self.total
            );
            steps.push(Step::Say(Level::Info, text));
            steps.push(Step::Apply(index, Input::Restart(self.why)));
            return true;
        }
    }
}
