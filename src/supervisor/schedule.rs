//! `schedule`: a oneshot that runs at each match of its cron expression.
//!
//! # Theory of operation
//!
//! Each instance of a scheduled process holds its next run: the local time it matches
//! next (what `ps` shows as `next_run`) and the monotonic instant that is, folded into
//! the supervisor's earliest deadline like any instance timer. Nothing wakes in between.
//! When the instant comes, the wall clock is asked again: if it is still early (the
//! machine slept, or the clock was set back) the timer is armed again for what is left;
//! otherwise the instance is started as `proj start` would (with what it depends on),
//! or, when its previous run is still going, the run is skipped with a message, as cron
//! and systemd timers do. Then the next match after that one is armed.
//!
//! Instances are (re)armed whenever their process's expression differs from the one
//! armed, so a reload that changes `schedule` takes effect without restarting anything.

use std::time::{Duration, Instant};

use super::slot::NextRun;
use super::step::Step;
use super::table::InstanceTable;
use crate::config::Plan;
use crate::config::schedule::Schedule;
use crate::logs::printer::Level;

/// The next match of `schedule` after `after`, and when that is from `now` on.
fn next_run(schedule: &Schedule, after: &jiff::Zoned, now: Instant) -> Option<NextRun> {
    let at = schedule.next_after(after)?;
    let wall = jiff::Zoned::now();
    Some(NextRun {
        expression: schedule.expression.clone(),
        deadline: now + until(&wall, &at),
        at,
    })
}

/// How long from `now` to `at` (zero when `at` is past).
fn until(now: &jiff::Zoned, at: &jiff::Zoned) -> Duration {
    let nanos = at.timestamp().as_nanosecond() - now.timestamp().as_nanosecond();
    Duration::from_nanos(u64::try_from(nanos.max(0)).unwrap_or(u64::MAX))
}

/// Arm the instances whose schedule changed (or is new); disarm those without one.
/// Whether any changed (`ps` shows the next run).
pub(super) fn arm(slots: &mut InstanceTable, plan: &Plan, now: Instant) -> bool {
    let mut changed = false;
    for slot in slots.iter_mut() {
        let schedule = slot
            .process
            .and_then(|process| plan.processes[process].schedule.as_ref());
        match (schedule, &slot.next_run) {
            (None, None) => {}
            (None, Some(_)) => {
                slot.next_run = None;
                changed = true;
            }
            (Some(schedule), Some(armed)) if armed.expression == schedule.expression => {}
            (Some(schedule), _) => {
                slot.next_run = next_run(schedule, &jiff::Zoned::now(), now);
                changed = true;
            }
        }
    }
    changed
}

/// The earliest scheduled run.
pub(super) fn deadline(slots: &InstanceTable) -> Option<Instant> {
    slots
        .iter()
        .filter_map(|slot| slot.next_run.as_ref().map(|next| next.deadline))
        .min()
}

/// The instances whose time has come start (or are skipped, when their previous run
/// is still going); each is armed for its next run. Whether one came due, and the steps.
pub(super) fn due(
    slots: &mut InstanceTable,
    plan: &Plan,
    now: Instant,
    shutting_down: bool,
) -> (bool, Vec<Step>) {
    let mut came = false;
    let mut steps = Vec::new();
    for slot in slots.iter_mut() {
        let Some(next) = slot.next_run.clone() else {
            continue;
        };
        if next.deadline > now {
            continue;
        }
        let wall = jiff::Zoned::now();
        let early = until(&wall, &next.at);
        if !early.is_zero() {
            slot.next_run = Some(NextRun {
                deadline: now + early,
                ..next
            });
            continue;
        }
        let schedule = slot
            .process
            .and_then(|process| plan.processes[process].schedule.clone());
        let Some(schedule) = schedule else {
            // No deadline may stay in the past: it would wake the supervisor at once.
            slot.next_run = None;
            continue;
        };
        came = true;
        // The match after this one, or after now when the machine slept through some.
        let after = if next.at > wall { &next.at } else { &wall };
        slot.next_run = next_run(&schedule, after, now);
        if shutting_down {
            continue;
        }
        let name = slot.instance.name.clone();
        let time = next.at.strftime("%H:%M");
        if slot.machine.state().has_process() {
            steps.push(Step::Say(
                Level::Warning,
                format!("{name}: the {time} run is skipped: the previous run is still going"),
            ));
            continue;
        }
        steps.push(Step::Say(
            Level::Info,
            format!("{name}: the {time} run of `{}` begins", schedule.expression),
        ));
        steps.push(Step::Start(name));
    }
    (came, steps)
}
