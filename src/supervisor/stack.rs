//! A read-only view of the instances and what they come from: the questions every
//! concern asks (what blocks an instance, has it settled, is the stack up, what is its
//! `ps` row, how did it get here), answered in one place.
//!
//! The actor makes one from its own fields (`stack!`), so that a concern that owns its
//! state (the waiters of requests, the waits of `proj wait`) can read the instances while
//! the actor lends it its own state mutably.

use std::time::{Duration, Instant};

use super::clock::now;
use super::command::Refusal;
use super::failure::Failure;
use super::lifecycle::State;
use super::order::Graph;
use super::snapshot::{Change, Did, InstanceStatus, LogLine, Outcome, Progress, Why};
use super::table::InstanceTable;
use super::terminal::Connection;
use crate::config::Plan;

/// How many lines of output `proj why` shows.
const WHY_LINES: usize = 20;

/// An instance a request acted on, as it was before: what its answer waits for and
/// compares with.
#[derive(Debug, Clone, Copy)]
pub(super) struct Touched {
    pub(super) index: usize,
    /// Its run number before: a restart waits until it moved on.
    pub(super) run: u64,
    /// Its state before: a stop of a running instance `stopped` it, of a stopped one
    /// left it `unchanged`.
    pub(super) before: State,
}

impl Touched {
    pub(super) fn new(slots: &InstanceTable, index: usize) -> Touched {
        let slot = &slots[index];
        Touched {
            index,
            run: slot.run,
            before: slot.machine.state(),
        }
    }
}

/// The instances, their plan and dependency graph, and the supervisor's phase.
pub(super) struct Stack<'a> {
    pub(super) plan: &'a Plan,
    pub(super) graph: &'a Graph,
    pub(super) slots: &'a InstanceTable,
    pub(super) shutting_down: bool,
    /// When the supervisor started (the ready deadlines of `up -d` count from it).
    pub(super) started_at: Instant,
}

/// The [`Stack`] of a supervisor, borrowing only the fields it reads.
macro_rules! stack {
    ($supervisor:expr) => {
        $crate::supervisor::stack::Stack {
            plan: &$supervisor.plan,
            graph: &$supervisor.graph,
            slots: &$supervisor.slots,
            shutting_down: $supervisor.shutting_down,
            started_at: $supervisor.started_at,
        }
    };
}
pub(super) use stack;

impl Stack<'_> {
    /// The dependencies of `process` that are not satisfied yet: a service must be
    /// `running` (ready), a oneshot must have `exited` with code 0. A service that has
    /// ended satisfies nothing, however it ended.
    pub(super) fn unsatisfied_dependencies(&self, process: usize) -> Vec<usize> {
        self.graph.dependencies[process]
            .iter()
            .filter(|&&dependency| {
                let oneshot = self.plan.processes[dependency].lifecycle.oneshot;
                self.slots
                    .of_process(dependency)
                    .any(|slot| match slot.machine.state() {
                        State::Exited => !oneshot,
                        State::Running => oneshot,
                        _ => true,
                    })
            })
            .copied()
            .collect()
    }

    /// Why `process` is failed (the reason of its first failed instance), if it is.
    pub(super) fn failure_of(&self, process: usize) -> Option<&Failure> {
        self.slots
            .of_process(process)
            .find_map(|slot| slot.machine.failure())
    }

    /// `ps`: every instance (or those at `slots`), in plan order.
    pub(super) fn ps(&self, slots: Option<&[usize]>) -> Vec<InstanceStatus> {
        let now = now();
        match slots {
            Some(slots) => slots.iter().map(|&s| self.slots[s].status(now)).collect(),
            None => {
                // Plan order, also for instances a reload added at the end of the slots.
                let mut live: Vec<_> = self.slots.live().map(|s| &self.slots[s]).collect();
                live.sort_by_key(|slot| (slot.process, slot.instance.index));
                live.into_iter().map(|slot| slot.status(now)).collect()
            }
        }
    }

    /// Every slot is neither starting nor stopping nor on its way to start (wanted, or
    /// `pending` on dependencies that are coming); for a restart, each has spawned since
    /// (or gave up).
    pub(super) fn settled(&self, slots: &[Touched], restart: bool) -> bool {
        slots.iter().all(|touched| {
            let slot = &self.slots[touched.index];
            let state = slot.machine.state();
            let on_its_way = (slot.wanted || state == State::Pending)
                && !self.shutting_down
                && self.blocked(touched.index).is_none();
            let moving = matches!(state, State::Starting | State::Stopping) || on_its_way;
            let respawned = slot.run > touched.run
                || matches!(state, State::Failed | State::Pending | State::Stopped)
                || slot.roll_skipped == Some(touched.run);
            !moving && (!restart || respawned)
        })
    }

    /// Why a pending (or wanted) instance cannot start for now: a dependency failed, is
    /// crashing (`backoff`), or is not on its way at all.
    pub(super) fn blocked(&self, index: usize) -> Option<String> {
        let process = self.slots[index].process?;
        for dependency in self.unsatisfied_dependencies(process) {
            let name = &self.plan.processes[dependency].name;
            if let Some(failure) = self.failure_of(dependency) {
                return Some(format!("waits for {name}, which failed: {failure}"));
            }
            let instances = || self.slots.of_process(dependency);
            if instances().any(|slot| slot.machine.state() == State::Backoff) {
                return Some(format!("waits for {name}, which keeps crashing (backoff)"));
            }
            // A oneshot that runs is on its way to exiting 0; a stopping instance may be
            // restarting (once it is stopped, this is asked again).
            let coming = instances().any(|slot| {
                slot.wanted
                    || matches!(
                        slot.machine.state(),
                        State::Starting | State::Pending | State::Running | State::Stopping
                    )
            });
            if !coming {
                return Some(format!("waits for {name}, which is not running"));
            }
        }
        None
    }

    /// What a request did to a settled instance (SPEC §9.5's words).
    pub(super) fn outcome(&self, touched: &Touched) -> Outcome {
        let slot = &self.slots[touched.index];
        let state = slot.machine.state();
        let moved = slot.run > touched.run;
        let (did, reason) = match state {
            State::Failed if moved || touched.before != State::Failed => {
                (Did::Failed, slot.machine.failure().map(ToString::to_string))
            }
            State::Backoff if moved => (
                Did::Failed,
                Some(match slot.machine.last_exit() {
                    Some(exit) => format!("{exit}; restarting (backoff)"),
                    None => "crashed; restarting (backoff)".to_string(),
                }),
            ),
            State::Pending => match self.blocked(touched.index) {
                Some(why) => (Did::Failed, Some(why)),
                None => (Did::Unchanged, None),
            },
            _ if moved && touched.before.is_active() => (Did::Restarted, None),
            _ if moved => (Did::Started, None),
            State::Stopped if touched.before.has_process() || touched.before == State::Backoff => {
                (Did::Stopped, None)
            }
            _ => (Did::Unchanged, None),
        };
        Outcome {
            name: slot.instance.name.clone(),
            did,
            reason,
        }
    }

    /// Where the stack stands: what `up -d`, the TUI and systemd's READY=1 wait for.
    pub(super) fn progress(&self) -> Progress {
        if self.shutting_down {
            return Progress::Stopping;
        }
        let initial = || {
            self.slots
                .iter()
                .filter(|slot| slot.initial && !slot.is_removed())
        };
        if let Some(failed) = initial().find(|slot| slot.machine.state() == State::Failed) {
            let reason = failed
                .machine
                .failure()
                .map_or_else(|| "failed".to_string(), ToString::to_string);
            return Progress::Failed {
                reason: format!("{}: {reason}", failed.instance.name),
            };
        }
        let up = initial().all(|slot| {
            matches!(slot.machine.state(), State::Running | State::Exited) && !slot.wanted
        });
        if up { Progress::Up } else { Progress::Starting }
    }

    pub(super) fn change_of(&self, index: usize) -> Change {
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

    /// Why an instance is not up, in words: its state and what explains it.
    pub(super) fn not_there(&self, index: usize) -> String {
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
    pub(super) fn ready_deadline(&self, index: usize) -> Option<Instant> {
        let process = self.slots[index].process?;
        Some(self.started_at + self.chain_timeout(process, 0))
    }

    pub(super) fn chain_timeout(&self, process: usize, depth: usize) -> Duration {
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

    /// `proj connect NAME`: the terminal of the instance `name` (a process name means
    /// its first instance), or why there is none.
    pub(super) fn connect(&self, name: &str) -> Result<Connection, Refusal> {
        let slots = self.slots.resolve(&[name.to_string()])?;
        let of = slots.len();
        let Some(&index) = slots.iter().min_by_key(|&&s| self.slots[s].instance.index) else {
            return Err(Refusal::NoNames);
        };
        let slot = &self.slots[index];
        let tty = slot
            .process
            .is_some_and(|process| self.plan.processes[process].tty);
        match (&slot.terminal, tty) {
            (Some(terminal), true) => Ok(Connection {
                instance: slot.instance.name.clone(),
                of,
                terminal: terminal.clone(),
            }),
            _ => Err(Refusal::NoTerminal {
                name: slot.instance.name.clone(),
            }),
        }
    }
}
