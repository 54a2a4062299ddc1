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

use super::failure::RestartCause;
use super::lifecycle::Input;
use super::slot::{self, Slot, SlotContext};
use super::snapshot::ReloadSummary;
use super::stack::Touched;
use super::table::InstanceTable;
use crate::config::Plan;
use crate::config::environment;

/// What adopting a new plan decided, for the actor to carry out.
pub(super) struct Adoption {
    pub(super) summary: ReloadSummary,
    /// The instances restarted, started and stopped, with their run numbers before, for
    /// a caller that waits until they settle.
    pub(super) touched: Vec<Touched>,
    /// What to do to existing instances, in the order it was decided.
    pub(super) actions: Vec<Adopt>,
    /// The new instances to start (with what they depend on).
    pub(super) to_start: Vec<String>,
}

/// One thing adopting a plan does to an existing instance.
pub(super) enum Adopt {
    /// Give it this input (a restart with the new definition; a retire and a stop of
    /// one that is gone).
    Apply(usize, Input),
    /// Its `health` or `max_memory` changed: its checks start over as it runs.
    Refresh(usize),
    /// Restart these instances of `rolling` processes one at a time.
    Roll(Vec<usize>),
}

/// Bring the instance table in line with the plan of `context` (`old` is the one
/// before): each instance matched by (process, number) takes its new definition and
/// environment, new instances get a slot, gone ones are retired; what must be restarted,
/// refreshed, stopped or started is returned, not done.
pub(super) fn adopt(slots: &mut InstanceTable, context: &SlotContext<'_>, old: &Plan) -> Adoption {
    let plan = context.plan;
    let mut summary = ReloadSummary::default();
    let mut live: HashMap<(String, u32), usize> = slots
        .live()
        .map(|index| {
            let instance = &slots[index].instance;
            ((instance.process.clone(), instance.index), index)
        })
        .collect();
    let mut to_start = Vec::new();
    let mut rolled = Vec::new();
    let mut touched = Vec::new();
    let mut actions = Vec::new();

    for (process_index, process) in plan.processes.iter().enumerate() {
        let changed = old
            .process(&process.name)
            .is_none_or(|previous| slot::definition_changed(previous, process));
        let checks_changed = old
            .process(&process.name)
            .is_some_and(|previous| slot::checks_changed(previous, process));
        let process_runs = slots.iter().any(|slot| {
            !slot.is_removed()
                && slot.instance.process == process.name
                && (slot.machine.state().is_active() || slot.wanted)
        });
        for instance in process.instances() {
            let key = (process.name.clone(), instance.index);
            let Some(index) = live.remove(&key) else {
                let name = instance.name.clone();
                let index = slots.add(|color| Slot::new(context, process_index, instance, color));
                if process.autostart || process_runs {
                    summary.started.push(name.clone());
                    to_start.push(name);
                    touched.push(Touched::new(slots, index));
                }
                continue;
            };
            let env = environment::for_instance(
                context.shared_env[process_index].clone(),
                &instance,
                context.marker,
            );
            if instance.name != slots[index].instance.name {
                let sink = slot::new_sink(context, &instance.name, index);
                slots[index].sink = std::sync::Arc::new(sink);
            }
            let restart = changed || env.differs_from(&slots[index].env);
            let slot = &mut slots[index];
            slot.process = Some(process_index);
            slot.instance = instance;
            slot.env = env;
            if restart {
                slot.machine
                    .set_settings(process.lifecycle.clone(), process.ready.is_some());
            }
            let name = slot.instance.name.clone();
            let active = slot.machine.state().is_active();
            if restart && active {
                summary.restarted.push(name);
                touched.push(Touched::new(slots, index));
                if process.rolling {
                    rolled.push(index);
                } else {
                    actions.push(Adopt::Apply(index, Input::Restart(RestartCause::Reload)));
                }
            } else {
                if checks_changed {
                    actions.push(Adopt::Refresh(index));
                }
                if checks_changed && active {
                    summary.updated.push(name);
                } else {
                    summary.unchanged.push(name);
                }
            }
        }
    }
    if !rolled.is_empty() {
        actions.push(Adopt::Roll(rolled));
    }
    let mut removed: Vec<usize> = live.into_values().collect();
    removed.sort_unstable();
    for index in removed {
        let slot = &mut slots[index];
        slot.process = None;
        slot.wanted = false;
        if slot.machine.state().is_active() {
            summary.stopped.push(slot.instance.name.clone());
            touched.push(Touched::new(slots, index));
        }
        actions.push(Adopt::Apply(index, Input::Retire));
        actions.push(Adopt::Apply(index, Input::Stop));
    }
    Adoption {
        summary,
        touched,
        actions,
        to_start,
    }
}

/// "reloaded: web restarted; worker.3 started; cron stopped" (or "nothing changed").
pub(super) fn describe(summary: &ReloadSummary) -> String {
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
