//! `proj scale NAME=N…`: the number of instances of a process, changed at run time.
//!
//! A scale is applied as a reload of the current plan with other counts: the instances
//! a count adds start (ports by the usual rule, `PORT` = `port + i - 1`), the ones it
//! drops (the highest-numbered) stop through their stop sequence, the others are left
//! alone; `web` becomes `web.1` when a second instance comes (and back). The count
//! holds for the rest of the run: a `proj reload` keeps it unless the file's own
//! `scale` of that process changed, which then wins.

use std::collections::HashMap;

use super::actor::Supervisor;
use super::command::Refusal;
use crate::config::Plan;
use crate::logs::printer::Level;

impl Supervisor {
    /// Apply `counts`; the slots to wait for (as for a restart: each has spawned again,
    /// or settled without), or why nothing changed.
    pub(super) fn scale(
        &mut self,
        counts: &[(String, u32)],
    ) -> Result<Vec<super::requests::Touched>, Refusal> {
        if self.shutting_down {
            return Err(Refusal::ShuttingDown);
        }
        if counts.is_empty() {
            return Err(Refusal::NoNames);
        }
        let unknown: Vec<String> = counts
            .iter()
            .filter(|(name, _)| self.plan.process(name).is_none())
            .map(|(name, _)| name.clone())
            .collect();
        if !unknown.is_empty() {
            let known = self.plan.processes.iter().map(|p| p.name.clone()).collect();
            return Err(Refusal::UnknownProcesses { unknown, known });
        }
        let mut plan = self.plan.clone();
        for (name, count) in counts {
            self.runtime_scale.insert(name.clone(), *count);
            if let Some(process) = plan.processes.iter_mut().find(|p| p.name == *name) {
                process.scale = *count;
            }
        }
        let described: Vec<String> = counts
            .iter()
            .map(|(name, count)| format!("{name}={count}"))
            .collect();
        self.report_proj(Level::Info, format!("scale: {}", described.join(", ")));
        let (_, touched) = self.apply_plan(plan);
        Ok(touched)
    }

    /// A freshly loaded plan with the run-time counts put back, except where the file's
    /// own `scale` changed since the last load (the edit wins, and the count is dropped).
    pub(super) fn keep_runtime_scale(&mut self, mut plan: Plan) -> Plan {
        let file_scale: HashMap<String, u32> = plan
            .processes
            .iter()
            .map(|process| (process.name.clone(), process.scale))
            .collect();
        for process in &mut plan.processes {
            let Some(&count) = self.runtime_scale.get(&process.name) else {
                continue;
            };
            if self.file_scale.get(&process.name) == Some(&process.scale) {
                process.scale = count;
            } else {
                self.runtime_scale.remove(&process.name);
            }
        }
        self.file_scale = file_scale;
        plan
    }
}
