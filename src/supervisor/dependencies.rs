//! Which instances start, when, and what waiting instances are told.
//!
//! `proj up` (or `proj start`) marks instances *wanted*; each loop of the supervisor
//! starts the wanted instances whose dependencies are satisfied (a service `running`, a
//! oneshot `exited` with code 0) and puts the others in `pending`, saying what they wait
//! for, or which dependency failed and why.

use std::collections::BTreeSet;

use super::lifecycle::State;
use super::order::Graph;
use super::stack::Stack;
use super::step::Step;
use super::table::InstanceTable;
use crate::config::Plan;
use crate::logs::printer::Level;

/// Mark as wanted the processes and instances named in `only` (`proj up web db.2`), or
/// every autostart process when `only` is empty, plus everything those depend on.
/// (`initial`: part of what `proj up` started, which `up -d` waits for.)
pub(super) fn mark_wanted(
    slots: &mut InstanceTable,
    plan: &Plan,
    graph: &Graph,
    only: &[String],
    initial: bool,
) {
    let processes = &plan.processes;
    let whole_process =
        |p: usize| only.contains(&processes[p].name) || (only.is_empty() && processes[p].autostart);
    let roots: Vec<usize> = (0..processes.len())
        .filter(|&p| {
            whole_process(p)
                || slots
                    .of_process(p)
                    .any(|slot| only.contains(&slot.instance.name))
        })
        .collect();
    let mut whole: BTreeSet<usize> = roots
        .iter()
        .copied()
        .filter(|&p| whole_process(p))
        .collect();
    whole
        .extend(graph.with_dependencies(roots.iter().flat_map(|&r| graph.dependencies[r].clone())));
    let oneshot = |p: usize| processes[p].lifecycle.oneshot;
    for slot in slots.iter_mut().filter(|slot| !slot.is_removed()) {
        let named = only.contains(&slot.instance.name) || slot.process.is_some_and(&whole_process);
        // A oneshot dependency that already exited 0 under this supervisor has done
        // its work (a migration, a build): starting a dependant does not run it
        // again. Naming it (`proj start migrate`, `proj restart migrate`) does.
        let done_dependency =
            !named && slot.machine.state() == State::Exited && slot.process.is_some_and(oneshot);
        // `proj up web.2` starts web.2 alone, not its siblings.
        if (slot.process.is_some_and(|p| whole.contains(&p)) || only.contains(&slot.instance.name))
            && !done_dependency
        {
            if !slot.machine.state().is_active() {
                slot.wanted = true;
            }
            slot.initial |= initial;
        }
    }
}

/// What a wanted instance does now.
pub(super) enum Readiness {
    /// Its dependencies are satisfied: start it.
    Start,
    /// It waits (`pending`), and is told why.
    Wait(Vec<Step>),
    /// Nothing: not wanted, gone, or already pending.
    Unchanged,
}

/// Whether the instance at `index` may start now.
pub(super) fn readiness(stack: &Stack<'_>, index: usize) -> Readiness {
    let slot = &stack.slots[index];
    if !slot.wanted || slot.is_removed() {
        return Readiness::Unchanged;
    }
    let Some(process) = slot.process else {
        return Readiness::Unchanged;
    };
    let waiting_for = stack.unsatisfied_dependencies(process);
    if waiting_for.is_empty() {
        return Readiness::Start;
    }
    if slot.machine.state() == State::Pending {
        return Readiness::Unchanged;
    }
    let name = &slot.instance.name;
    let (failed, waiting): (Vec<usize>, Vec<usize>) = waiting_for
        .into_iter()
        .partition(|&dependency| stack.failure_of(dependency).is_some());
    let mut said = Vec::new();
    if !waiting.is_empty() {
        let names: Vec<&str> = waiting
            .iter()
            .map(|&d| stack.plan.processes[d].name.as_str())
            .collect();
        said.push(Step::Say(
            Level::Info,
            format!("{name}: waiting for {}", names.join(", ")),
        ));
    }
    for dependency in failed {
        said.push(failed_dependency(stack, index, dependency));
    }
    Readiness::Wait(said)
}

/// "web waits for db, which failed: …", for a pending instance.
fn failed_dependency(stack: &Stack<'_>, index: usize, dependency: usize) -> Step {
    let reason = stack
        .failure_of(dependency)
        .map(ToString::to_string)
        .unwrap_or_default();
    Step::Say(
        Level::Warning,
        format!(
            "{} waits for {}, which failed: {reason}",
            stack.slots[index].instance.name, stack.plan.processes[dependency].name
        ),
    )
}

/// An instance just failed: tell each instance that waits for its process why it
/// cannot start.
pub(super) fn tell_dependants(stack: &Stack<'_>, failed: usize) -> Vec<Step> {
    let Some(process) = stack.slots[failed].process else {
        return Vec::new();
    };
    let mut said = Vec::new();
    for &dependant in &stack.graph.dependants[process] {
        for (index, slot) in stack.slots.iter().enumerate() {
            if slot.process == Some(dependant) && slot.machine.state() == State::Pending {
                said.push(failed_dependency(stack, index, process));
            }
        }
    }
    said
}
