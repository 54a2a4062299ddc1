//! `proj reload` and SIGHUP: re-read the config and apply only the difference.
//!
//! Instances are matched by (process name, instance number). An instance whose process
//! definition changed (anything but `scale` and `autostart`) or whose environment changed
//! (an `[env]` or env file edit) is restarted with the new definition; an instance that
//! is new starts (when its process autostarts, or already runs); an instance that is gone
//! stops, and its slot stays behind as a tombstone so that indices held by probe tasks
//! and waiters stay valid. Everything else is left alone: `scale = 3` → `1` stops `.2`
//! and `.3` only. An invalid file changes nothing.
//!
//! When `scale` goes from 1 to more (or back), an instance's name changes (`web` ↔
//! `web.1`): the running process keeps running under its new name; its output goes to
//! the new name's log file from its next start on.

use std::collections::HashMap;

use super::actor::Supervisor;
use super::clock::now;
use super::command::Refusal;
use super::failure::RestartCause;
use super::lifecycle::Input;
use super::slot;
use super::snapshot::ReloadSummary;
use super::stack::Touched;
use crate::config::environment;
use crate::config::{self, Plan};
use crate::logs::printer::Level;

impl Supervisor {
    /// Reload the config file; the answer says what changed (and which instances it
    /// restarted or started, with their run numbers before, for a caller that waits
    /// for them), or why nothing did.
    pub(super) fn reload(&mut self) -> Result<(ReloadSummary, Vec<Touched>), Refusal> {
        self.manager.reloading();
        let plan = match config::load_with(&self.plan.source, &self.plan.options) {
            Ok(plan) => plan,
            Err(error) => {
                self.manager.reload_refused();
                return Err(Refusal::InvalidConfig(error.render(false)));
            }
        };
        let plan = self.scale.keep_runtime(plan);
        let (summary, touched) = self.apply_plan(plan);
        // Even when nothing changed, the next snapshot ends the reload for systemd.
        self.changed = true;
        self.report_proj(Level::Info, describe(&summary));
        Ok((summary, touched))
    }

    /// Make `new` the plan: restart what changed, start what is new, stop what is gone.
    /// Also the slots touched, with their run numbers before: restarted, started and
    /// stopped ones, for a caller that waits until they settle.
    pub(super) fn apply_plan(&mut self, new: Plan) -> (ReloadSummary, Vec<Touched>) {
        let old = self.adopt(new);
        let now = now();
        let mut summary = ReloadSummary::default();
        let mut live: HashMap<(String, u32), usize> = self
            .slots
            .live()
            .map(|index| {
                let instance = &self.slots[index].instance;
                ((instance.process.clone(), instance.index), index)
            })
            .collect();
        let mut to_start = Vec::new();
        let mut rolled = Vec::new();
        let mut touched = Vec::new();

        for process_index in 0..self.plan.processes.len() {
            let process = self.plan.processes[process_index].clone();
            let changed = old
                .process(&process.name)
                .is_none_or(|previous| slot::definition_changed(previous, &process));
            let checks_changed = old
                .process(&process.name)
                .is_some_and(|previous| slot::checks_changed(previous, &process));
            let process_runs = self.slots.iter().any(|slot| {
                !slot.is_removed()
                    && slot.instance.process == process.name
                    && (slot.machine.state().is_active() || slot.wanted)
            });
            for instance in process.instances() {
                let key = (process.name.clone(), instance.index);
                let Some(index) = live.remove(&key) else {
                    let name = instance.name.clone();
                    let index = self.add_slot(process_index, instance);
                    if process.autostart || process_runs {
                        summary.started.push(name.clone());
                        to_start.push(name);
                        touched.push(Touched::new(&self.slots, index));
                    }
                    continue;
                };
                let env = environment::for_instance(
                    self.shared_env[process_index].clone(),
                    &instance,
                    &self.marker,
                );
                if instance.name != self.slots[index].instance.name {
                    let sink = slot::new_sink(&self.slot_context(), &instance.name, index);
                    self.slots[index].sink = std::sync::Arc::new(sink);
                }
                let restart = changed || env.differs_from(&self.slots[index].env);
                let slot = &mut self.slots[index];
                slot.process = Some(process_index);
                slot.instance = instance;
                slot.env = env;
                if restart {
                    slot.machine
                        .set_settings(process.lifecycle.clone(), process.ready.is_some());
                }
                let name = slot.instance.name.clone();
                if restart && slot.machine.state().is_active() {
                    summary.restarted.push(name);
                    touched.push(Touched::new(&self.slots, index));
                    if process.rolling {
                        rolled.push(index);
                    } else {
                        self.apply(index, Input::Restart(RestartCause::Reload), now);
                    }
                } else if checks_changed && slot.machine.state().is_active() {
                    self.refresh_checks(index, now);
                    summary.updated.push(name);
                } else {
                    if checks_changed {
                        self.refresh_checks(index, now);
                    }
                    summary.unchanged.push(name);
                }
            }
        }
        if !rolled.is_empty() {
            self.roll(&rolled, "reload", RestartCause::Reload);
        }
        let mut removed: Vec<usize> = live.into_values().collect();
        removed.sort_unstable();
        for index in removed {
            let slot = &mut self.slots[index];
            slot.process = None;
            slot.wanted = false;
            if slot.machine.state().is_active() {
                summary.stopped.push(slot.instance.name.clone());
                touched.push(Touched::new(&self.slots, index));
            }
            self.apply(index, Input::Retire, now);
            self.apply(index, Input::Stop, now);
        }
        // What the new instances depend on starts too: say so, even when it had been
        // stopped on purpose, and wait for it like for them.
        let idle_before: Vec<usize> = self
            .slots
            .live()
            .filter(|&index| !self.slots[index].wanted && !touched.iter().any(|t| t.index == index))
            .collect();
        self.start(&to_start, false);
        for index in idle_before {
            if self.slots[index].wanted {
                summary
                    .started
                    .push(self.slots[index].instance.name.clone());
                touched.push(Touched::new(&self.slots, index));
            }
        }
        self.watching.sync(&self.plan, &self.events, &self.printer);
        (summary, touched)
    }
}

/// "reloaded: web restarted; worker.3 started; cron stopped" (or "nothing changed").
fn describe(summary: &ReloadSummary) -> String {
    let parts: Vec<String> = [
        ("restarted", &summary.restarted),
        ("started", &summary.started),
        ("stopped", &summary.stopped),
        ("updated", &summary.updated),
    ]
    .iter()
    .filter(|(_, names)| !names.is_empty())
    .map(|(what, names)| format!("{} {what}", names.join(", ")))
    .collect();
    if parts.is_empty() {
        "reloaded: nothing changed".into()
    } else {
        format!("reloaded: {}", parts.join("; "))
    }
}
