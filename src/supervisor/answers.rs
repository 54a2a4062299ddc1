//! The supervisor's truth as answers scripts and agents can act on (SPEC §9.5): every
//! state change as a typed [`Change`] (`proj events`, the progress of `up -d`), waiting
//! for instances to be up (`proj wait`, `up -d`), and how an instance got where it is
//! (`proj why`).
//!
//! Changes go out on a broadcast channel: a subscriber that reads too slowly misses the
//! oldest (and is told how many), it never holds the supervisor up. Each instance also
//! keeps its last few changes, for `why`.

use std::time::{Duration, Instant};

use super::actor::Supervisor;
use super::clock::now;
use super::command::{Refusal, Reply, WaitUp};
use super::lifecycle::State;
use super::snapshot::{Change, LogLine, Why};

/// How many changes a subscriber may fall behind before it misses some.
pub(super) const CHANGES_CAPACITY: usize = 1024;

/// How many changes each instance keeps for `proj why`.
const CHANGES_KEPT: usize = 10;

/// How many lines of output `proj why` shows.
const WHY_LINES: usize = 20;

/// A `proj wait` (or `up -d`) that waits for instances to be up.
pub(super) struct Wait {
    /// The instances waited for; `None`: every instance `proj up` started.
    pub(super) targets: Option<Vec<usize>>,
    /// `--timeout`: give up then.
    pub(super) give_up_at: Option<Instant>,
    /// `up -d`: give up on an instance still not up once its dependencies' and its own
    /// `ready_timeout` have passed since the supervisor started.
    pub(super) ready_deadlines: bool,
    pub(super) reply: Reply<WaitUp>,
}

impl Supervisor {
    /// The instance at `index` changed from `before`: tell subscribers, and remember it.
    pub(super) fn note_change(&mut self, index: usize) {
        let change = self.change_of(index);
        let slot = &mut self.slots[index];
        if slot.changes.len() == CHANGES_KEPT {
            slot.changes.pop_front();
        }
        slot.changes.push_back(change.clone());
        // Nobody listening is fine.
        let _ = self.changes.send(change);
    }

    fn change_of(&self, index: usize) -> Change {
        let slot = &self.slots[index];
        let machine = &slot.machine;
        let state = machine.state();
        let reason = match state {
            State::Failed => machine.failure().map(ToString::to_string),
            State::Backoff => machine.last_exit().map(|exit| exit.to_string()),
            State::Pending => Some(self.blocked(index).unwrap_or_else(|| {
                let names: Vec<&str> = slot.process.map_or_else(Vec::new, |process| {
                    self.unsatisfied_dependencies(process)
                        .into_iter()
                        .map(|dependency| self.plan.processes[dependency].name.as_str())
                        .collect()
                });
                format!("waits for {}", names.join(", "))
            })),
            State::Stopping if machine.restarting() => machine
                .last_restart()
                .map(|cause| format!("restart: {cause}")),
            State::Starting if machine.restarts() > 0 => machine
                .last_restart()
                .map(|cause| format!("restart: {cause}")),
            _ => None,
        };
        Change {
            time: jiff::Timestamp::now().to_string(),
            name: slot.instance.name.clone(),
            state,
            pid: machine.pid(),
            // The exit of the process that ended, not of one before a running one.
            exit_code: (!state.has_process())
                .then(|| machine.last_exit().map(|exit| exit.code()))
                .flatten(),
            reason,
        }
    }

    /// The changes every instance keeps, in time order.
    pub(super) fn past_changes(&self) -> Vec<Change> {
        let mut past: Vec<(jiff::Timestamp, Change)> = self
            .slots
            .iter()
            .flat_map(|slot| slot.changes.iter())
            .map(|change| {
                let at = change.time.parse().unwrap_or(jiff::Timestamp::UNIX_EPOCH);
                (at, change.clone())
            })
            .collect();
        past.sort_by_key(|(at, _)| *at);
        past.into_iter().map(|(_, change)| change).collect()
    }

    /// A new `proj wait`; `names` empty: what `proj up` started.
    pub(super) fn wait(
        &mut self,
        names: &[String],
        timeout: Option<Duration>,
        ready_deadlines: bool,
        reply: Reply<WaitUp>,
    ) {
        let targets = if names.is_empty() {
            None
        } else {
            match self.slots.resolve(names) {
                Ok(slots) => Some(slots),
                Err(refusal) => {
                    let _ = reply.send(WaitUp {
                        instances: Vec::new(),
                        outcome: Err(refusal),
                    });
                    return;
                }
            }
        };
        self.waits.push(Wait {
            targets,
            give_up_at: timeout.map(|timeout| now() + timeout),
            ready_deadlines,
            reply,
        });
        self.answer_waits(now());
    }

    /// Answer every wait whose verdict is in.
    pub(super) fn answer_waits(&mut self, now: Instant) {
        for wait in std::mem::take(&mut self.waits) {
            match self.verdict(&wait, now) {
                None => self.waits.push(wait),
                Some(outcome) => {
                    let instances = match &wait.targets {
                        Some(targets) => self.ps(Some(targets)),
                        None => self.ps(None),
                    };
                    let _ = wait.reply.send(WaitUp { instances, outcome });
                }
            }
        }
    }

    /// `Some(Ok)` once every target is up, `Some(Err)` once one failed or time ran
    /// out, `None` while it may still come.
    fn verdict(&self, wait: &Wait, now: Instant) -> Option<Result<(), Refusal>> {
        if self.shutting_down {
            return Some(Err(Refusal::ShuttingDown));
        }
        let targets: Vec<usize> = match &wait.targets {
            Some(targets) => targets.clone(),
            None => self
                .slots
                .live()
                .filter(|&index| self.slots[index].initial)
                .collect(),
        };
        let mut missing = Vec::new();
        for &index in &targets {
            let slot = &self.slots[index];
            let state = slot.machine.state();
            if let Some(failure) = slot.machine.failure() {
                return Some(Err(Refusal::NotUp(format!(
                    "{}: {failure}",
                    slot.instance.name
                ))));
            }
            let up = match state {
                State::Running => true,
                State::Exited => slot.machine.last_exit().is_some_and(|exit| exit.success()),
                _ => false,
            } && !slot.wanted;
            if up {
                continue;
            }
            if wait.ready_deadlines
                && self
                    .ready_deadline(index)
                    .is_some_and(|deadline| deadline <= now)
            {
                return Some(Err(Refusal::NotUp(format!(
                    "{}: {}",
                    slot.instance.name,
                    self.not_there(index)
                ))));
            }
            missing.push(index);
        }
        if missing.is_empty() {
            return Some(Ok(()));
        }
        if wait.give_up_at.is_some_and(|at| at <= now) {
            let named: Vec<String> = missing
                .iter()
                .map(|&index| {
                    format!(
                        "{}: {}",
                        self.slots[index].instance.name,
                        self.not_there(index)
                    )
                })
                .collect();
            return Some(Err(Refusal::NotUp(format!(
                "timed out waiting; {}",
                named.join("; ")
            ))));
        }
        None
    }

    /// Why an instance is not up, in words: its state and what explains it.
    fn not_there(&self, index: usize) -> String {
        let slot = &self.slots[index];
        let machine = &slot.machine;
        let state = machine.state();
        let mut text = format!("still {state}");
        if state == State::Pending {
            if let Some(blocked) = self.blocked(index) {
                text = format!("still pending: {blocked}");
            }
        } else if machine.restarts() > 0 {
            let exit = machine
                .last_exit()
                .map_or_else(String::new, |exit| format!(", last {exit}"));
            let restarts = machine.restarts();
            let plural = if restarts == 1 { "" } else { "s" };
            text.push_str(&format!(" after {restarts} restart{plural}{exit}"));
        } else if let Some(said) = &slot.last_probe {
            text.push_str(&format!(" ({said})"));
        }
        text
    }

    /// When an instance of `up -d` should be up at the latest: the supervisor's start
    /// plus the longest chain of `ready_timeout`s through its dependencies.
    fn ready_deadline(&self, index: usize) -> Option<Instant> {
        let process = self.slots[index].process?;
        Some(self.started_at + self.chain_timeout(process, 0))
    }

    fn chain_timeout(&self, process: usize, depth: usize) -> Duration {
        let own = self.plan.processes[process].lifecycle.ready_timeout;
        // The graph is acyclic (validated); the depth bound only guards the recursion.
        if depth > self.plan.processes.len() {
            return own;
        }
        let before = self.graph.dependencies[process]
            .iter()
            .map(|&dependency| self.chain_timeout(dependency, depth + 1))
            .max()
            .unwrap_or_default();
        own + before
    }

    /// The earliest instant a wait's verdict may change by time alone.
    pub(super) fn waits_deadline(&self) -> Option<Instant> {
        self.waits
            .iter()
            .flat_map(|wait| {
                let ready = wait.ready_deadlines.then(|| {
                    let targets: Vec<usize> = match &wait.targets {
                        Some(targets) => targets.clone(),
                        None => self
                            .slots
                            .live()
                            .filter(|&index| self.slots[index].initial)
                            .collect(),
                    };
                    targets
                        .into_iter()
                        .filter_map(|index| self.ready_deadline(index))
                        .filter(|&deadline| deadline > now())
                        .min()
                });
                [wait.give_up_at, ready.flatten()]
            })
            .flatten()
            .min()
    }

    /// The supervisor is ending: whoever still waits is told so.
    pub(super) fn refuse_waits(&mut self) {
        for wait in self.waits.drain(..) {
            let _ = wait.reply.send(WaitUp {
                instances: Vec::new(),
                outcome: Err(Refusal::Stopped),
            });
        }
    }

    /// `proj why NAME`.
    pub(super) fn why(&self, name: &str) -> Result<Why, Refusal> {
        let slots = self.slots.resolve(&[name.to_string()])?;
        let index = slots[0];
        let slot = &self.slots[index];
        let now = now();
        let settings = slot.machine.settings();
        let history = slot
            .sink
            .history
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let lines = history
            .last_lines(WHY_LINES)
            .into_iter()
            .map(|(at, line)| LogLine {
                time_ms: crate::logs::clock::unix_millis(at),
                name: slot.instance.name.clone(),
                text: String::from_utf8_lossy(line).into_owned(),
            })
            .collect();
        Ok(Why {
            instance: slot.status(now),
            waiting: (slot.machine.state() == State::Pending)
                .then(|| self.blocked(index))
                .flatten(),
            last_probe: slot.last_probe.clone(),
            restarts_in_window: slot.machine.restarts_in_window(now),
            max_restarts: settings.max_restarts,
            restart_window_secs: settings.restart_window.as_secs(),
            changes: slot.changes.iter().cloned().collect(),
            lines,
        })
    }
}
