//! Which instances start, when, and what waiting instances are told.
//!
//! `proj up` (or `proj start`) marks instances *wanted*; each loop of the supervisor
//! starts the wanted instances whose dependencies are satisfied (a service `running`, a
//! oneshot `exited` with code 0) and puts the others in `pending`, saying what they wait
//! for, or which dependency failed and why.

use std::collections::BTreeSet;

use super::actor::Supervisor;
use super::clock::now;
use super::lifecycle::{Input, State};
use crate::logs::printer::Level;

impl Supervisor {
    /// Mark the initial instances as wanted: the processes and instances named in `only`
    /// (`proj up web db.2`), or every autostart process when `only` is empty, plus
    /// everything those depend on.
    pub(super) fn start(&mut self, only: &[String], initial: bool) {
        let processes = &self.plan.processes;
        let whole_process = |p: usize| {
            only.contains(&processes[p].name) || (only.is_empty() && processes[p].autostart)
        };
        let roots: Vec<usize> = (0..processes.len())
            .filter(|&p| {
                whole_process(p)
                    || self
                        .slots
                        .of_process(p)
                        .any(|slot| only.contains(&slot.instance.name))
            })
            .collect();
        let mut whole: BTreeSet<usize> = roots
            .iter()
            .copied()
            .filter(|&p| whole_process(p))
            .collect();
        whole.extend(
            self.graph.with_dependencies(
                roots
                    .iter()
                    .flat_map(|&r| self.graph.dependencies[r].clone()),
            ),
        );
        let oneshot = |p: usize| processes[p].lifecycle.oneshot;
        for slot in self.slots.iter_mut().filter(|slot| !slot.is_removed()) {
            let named =
                only.contains(&slot.instance.name) || slot.process.is_some_and(&whole_process);
            // A oneshot dependency that already exited 0 under this supervisor has done
            // its work (a migration, a build): starting a dependant does not run it
            // again. Naming it (`proj start migrate`, `proj restart migrate`) does.
            let done_dependency = !named
                && slot.machine.state() == State::Exited
                && slot.process.is_some_and(oneshot);
            // `proj up web.2` starts web.2 alone, not its siblings.
            if (slot.process.is_some_and(|p| whole.contains(&p))
                || only.contains(&slot.instance.name))
                && !done_dependency
            {
                if !slot.machine.state().is_active() {
                    slot.wanted = true;
                }
                slot.initial |= initial;
            }
        }
    }

    /// Start every wanted instance whose dependencies are satisfied; put the others in
    /// `pending`, saying what they wait for.
    pub(super) fn start_ready_dependants(&mut self) {
        if self.shutting_down {
            return;
        }
        for index in 0..self.slots.len() {
            if !self.slots[index].wanted || self.slots[index].is_removed() {
                continue;
            }
            let Some(process) = self.slots[index].process else {
                continue;
            };
            let waiting_for = self.stack().unsatisfied_dependencies(process);
            if waiting_for.is_empty() {
                self.slots[index].wanted = false;
                self.apply(index, Input::Start, now());
            } else if self.slots[index].machine.state() != State::Pending {
                self.apply(index, Input::Wait, now());
                let name = &self.slots[index].instance.name;
                let (failed, waiting): (Vec<usize>, Vec<usize>) = waiting_for
                    .into_iter()
                    .partition(|&dependency| self.stack().failure_of(dependency).is_some());
                if !waiting.is_empty() {
                    let names: Vec<&str> = waiting
                        .iter()
                        .map(|&d| self.plan.processes[d].name.as_str())
                        .collect();
                    self.report_proj(
                        Level::Info,
                        format!("{name}: waiting for {}", names.join(", ")),
                    );
                }
                for dependency in failed {
                    self.report_failed_dependency(index, dependency);
                }
            }
        }
    }

    /// "web waits for db, which failed: …", for a pending instance.
    fn report_failed_dependency(&self, index: usize, dependency: usize) {
        let reason = self
            .stack()
            .failure_of(dependency)
            .map(ToString::to_string)
            .unwrap_or_default();
        self.report_proj(
            Level::Warning,
            format!(
                "{} waits for {}, which failed: {reason}",
                self.slots[index].instance.name, self.plan.processes[dependency].name
            ),
        );
    }

    /// An instance just failed: tell each instance that waits for its process why it
    /// will keep waiting (until the process is started again and becomes ready).
    pub(super) fn report_to_dependants(&self, failed: usize) {
        let Some(process) = self.slots[failed].process else {
            return;
        };
        for &dependant in &self.graph.dependants[process] {
            for (index, slot) in self.slots.iter().enumerate() {
                if slot.process == Some(dependant) && slot.machine.state() == State::Pending {
                    self.report_failed_dependency(index, process);
                }
            }
        }
    }
}
