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

use super::actor::Supervisor;
use crate::config::schedule::{Schedule, rfc3339};
use crate::logs::printer::Level;

/// The next run of a scheduled instance.
#[derive(Debug, Clone)]
pub(super) struct NextRun {
    /// The expression this was computed from.
    pub(super) expression: String,
    /// The local time it matches.
    pub(super) at: jiff::Zoned,
    /// When that is on the supervisor's clock.
    pub(super) deadline: Instant,
}

impl NextRun {
    /// RFC 3339, for `ps`.
    pub(super) fn rfc3339(&self) -> String {
        rfc3339(&self.at)
    }
}

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

impl Supervisor {
    /// Arm the instances whose schedule changed (or is new); disarm those without one.
    pub(super) fn arm_schedules(&mut self, now: Instant) {
        for index in 0..self.slots.len() {
            let schedule = self.slots[index]
                .process
                .and_then(|process| self.plan.processes[process].schedule.as_ref());
            let slot = &mut self.slots[index];
            match (schedule, &slot.next_run) {
                (None, None) => {}
                (None, Some(_)) => {
                    slot.next_run = None;
                    self.changed = true;
                }
                (Some(schedule), Some(armed)) if armed.expression == schedule.expression => {}
                (Some(schedule), _) => {
                    slot.next_run = next_run(schedule, &jiff::Zoned::now(), now);
                    self.changed = true;
                }
            }
        }
    }

    /// The earliest scheduled run.
    pub(super) fn schedule_deadline(&self) -> Option<Instant> {
        self.slots
            .iter()
            .filter_map(|slot| slot.next_run.as_ref().map(|next| next.deadline))
            .min()
    }

    /// Start every instance whose time has come (or skip it, when its previous run is
    /// still going) and arm its next run.
    pub(super) fn run_schedules(&mut self, now: Instant) {
        for index in 0..self.slots.len() {
            let Some(next) = self.slots[index].next_run.clone() else {
                continue;
            };
            if next.deadline > now {
                continue;
            }
            let wall = jiff::Zoned::now();
            let early = until(&wall, &next.at);
            if !early.is_zero() {
                self.slots[index].next_run = Some(NextRun {
                    deadline: now + early,
                    ..next
                });
                continue;
            }
            let schedule = self.slots[index]
                .process
                .and_then(|process| self.plan.processes[process].schedule.clone());
            let Some(schedule) = schedule else {
                // No deadline may stay in the past: it would wake the supervisor at once.
                self.slots[index].next_run = None;
                continue;
            };
            self.changed = true;
            // The match after this one, or after now when the machine slept through some.
            let after = if next.at > wall { &next.at } else { &wall };
            self.slots[index].next_run = next_run(&schedule, after, now);
            if self.shutting_down {
                continue;
            }
            let name = self.slots[index].instance.name.clone();
            let time = next.at.strftime("%H:%M");
            if self.slots[index].machine.state().has_process() {
                self.report_proj(
                    Level::Warning,
                    format!("{name}: the {time} run is skipped: the previous run is still going"),
                );
                continue;
            }
            self.report_proj(
                Level::Info,
                format!("{name}: the {time} run of `{}` begins", schedule.expression),
            );
            self.start(&[name], false);
        }
    }
}
