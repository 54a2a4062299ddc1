//! `proj scale NAME=N…`: the number of instances of a process, changed at run time.
//!
//! A scale is applied as a reload of the current plan with other counts: the instances
//! a count adds start (ports by the usual rule, `PORT` = `port + i - 1`), the ones it
//! drops (the highest-numbered) stop through their stop sequence, the others are left
//! alone; `web` becomes `web.1` when a second instance comes (and back). The count
//! holds for the rest of the run: a `proj reload` keeps it unless the file's own
//! `scale` of that process changed, which then wins.

use std::collections::HashMap;

use super::command::Refusal;
use crate::config::Plan;

/// The counts `proj scale` set, which hold for the rest of the run.
pub(super) struct Scale {
    /// `proj scale` counts, by process.
    runtime: HashMap<String, u32>,
    /// Each process's `scale` as the config file said it at the last load.
    file: HashMap<String, u32>,
}

impl Scale {
    pub(super) fn new(plan: &Plan) -> Scale {
        Scale {
            runtime: HashMap::new(),
            file: file_counts(plan),
        }
    }

    /// `plan` with `counts` applied, and what to say about it; or why nothing changes.
    pub(super) fn set(
        &mut self,
        plan: &Plan,
        counts: &[(String, u32)],
    ) -> Result<(Plan, String), Refusal> {
        if counts.is_empty() {
            return Err(Refusal::NoNames);
        }
        let unknown: Vec<String> = counts
            .iter()
            .filter(|(name, _)| plan.process(name).is_none())
            .map(|(name, _)| name.clone())
            .collect();
        if !unknown.is_empty() {
            let known = plan.processes.iter().map(|p| p.name.clone()).collect();
            return Err(Refusal::UnknownProcesses { unknown, known });
        }
        let mut plan = plan.clone();
        for (name, count) in counts {
            self.runtime.insert(name.clone(), *count);
            if let Some(process) = plan.processes.iter_mut().find(|p| p.name == *name) {
                process.scale = *count;
            }
        }
        let described: Vec<String> = counts
            .iter()
            .map(|(name, count)| format!("{name}={count}"))
            .collect();
        Ok((plan, format!("scale: {}", described.join(", "))))
    }

    /// A freshly loaded plan with the run-time counts put back, except where the file's
    /// own `scale` changed since the last load (the edit wins, and the count is dropped).
    pub(super) fn keep_runtime(&mut self, mut plan: Plan) -> Plan {
        let file = file_counts(&plan);
        for process in &mut plan.processes {
            let Some(&count) = self.runtime.get(&process.name) else {
                continue;
            };
            if self.file.get(&process.name) == Some(&process.scale) {
                process.scale = count;
            } else {
                self.runtime.remove(&process.name);
            }
        }
        self.file = file;
        plan
    }
}

/// Each process's `scale` in `plan`.
fn file_counts(plan: &Plan) -> HashMap<String, u32> {
    plan.processes
        .iter()
        .map(|process| (process.name.clone(), process.scale))
        .collect()
}
