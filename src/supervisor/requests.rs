//! Commands from clients (`proj ps`, `start`, `stop`, `restart`, `logs`, `reload`,
//! `down`, `up -d`, the TUI), answered by the supervisor, which alone knows the
//! instances.
//!
//! A command that changes states is answered once the instances it touched have settled
//! (no longer `starting` or `stopping`, and for a restart, running a new process), so
//! `proj restart web` returns with web's new pid, and `proj stop web` once it is gone.
//! Such pending answers are [`Waiter`]s, checked after every event: no polling.

use super::actor::Supervisor;
use super::clock::now;
use super::command::{Answer, Command, Refusal, Request, Responder, ShutdownMode};
use super::failure::RestartCause;
use super::lifecycle::{Input, State};
use super::snapshot::{
    About, Acted, Did, InstanceStatus, Outcome, Progress, ReloadSummary, Snapshot,
};
use crate::logs::printer::Level;

/// An answer that waits for instances to settle.
pub(super) enum Waiter {
    /// These slots are neither starting nor stopping; for a restart, each has spawned
    /// since (its run number moved past the one recorded).
    Settled {
        slots: Vec<Touched>,
        restart: bool,
        reply: Responder,
    },
    /// What a scale started or stopped has settled: answer with every instance of the
    /// scaled processes.
    Scaled {
        slots: Vec<Touched>,
        processes: Vec<String>,
        reply: Responder,
    },
    /// What a reload restarted or started has settled, as for a restart: answer with the
    /// summary, naming what failed.
    Reloaded {
        slots: Vec<Touched>,
        summary: ReloadSummary,
        reply: Responder,
    },
}

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
    pub(super) fn new(supervisor: &Supervisor, index: usize) -> Touched {
        let slot = &supervisor.slots[index];
        Touched {
            index,
            run: slot.run,
            before: slot.machine.state(),
        }
    }
}

impl Supervisor {
    /// Answer a client's request: at once, or (for what changes instances) once they
    /// settled, through a [`Waiter`].
    pub(super) fn on_command(&mut self, Command { request, reply }: Command) {
        let answer = match request {
            Request::Hello => Ok(Answer::About(About {
                pid: std::process::id(),
                project: self.plan.name.clone(),
                root: self.plan.root.display().to_string(),
                version: env!("CARGO_PKG_VERSION").to_string(),
            })),
            Request::Ps => {
                let rows = self.ps(None);
                Ok(Answer::Instances(super::usage::sample(
                    &mut self.slots,
                    &*self.processes,
                    rows,
                )))
            }
            Request::Start { names } => return self.start_named(names, reply),
            Request::Stop { names } => return self.stop_named(names, reply),
            Request::Restart { names, rolling } => {
                return self.restart_named(names, rolling, reply);
            }
            Request::Signal {
                signal,
                names,
                group,
            } => crate::config::parse_signal(&signal)
                .map_err(Refusal::UnknownSignal)
                .and_then(|signal| self.send_signal(&names, signal, group))
                .map(Answer::Instances),
            Request::Scale { counts } => return self.scale_request(counts, reply),
            Request::Logs {
                names,
                lines,
                follow,
                since_ms,
                grep,
            } => grep
                .map(|pattern| regex::bytes::Regex::new(&pattern))
                .transpose()
                .map_err(|error| Refusal::InvalidPattern(error.to_string()))
                .and_then(|grep| {
                    let since = since_ms.map(|ms| {
                        std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(ms)
                    });
                    let filter = super::log_requests::LineFilter { since, grep };
                    self.logs(&names, lines, follow, filter)
                })
                .map(Answer::Logs),
            Request::Reload => return self.reload_request(reply),
            Request::Down => return self.on_shutdown(ShutdownMode::Graceful, reply),
            Request::Kill => return self.on_shutdown(ShutdownMode::Kill, reply),
            // `up -d` also shows what happened before it asked (the supervisor started
            // first).
            Request::WaitUp { progress } => Ok(self.waiting(&[], None, true, progress)),
            Request::Wait {
                names,
                timeout_ms,
                progress,
            } => {
                let timeout = timeout_ms.map(std::time::Duration::from_millis);
                Ok(self.waiting(&names, timeout, false, progress))
            }
            Request::Events => Ok(Answer::Changes(self.changes.subscribe())),
            Request::Why { name } => self.why(&name).map(|why| Answer::Why(Box::new(why))),
            Request::Watch => Ok(Answer::Snapshots(self.status.subscribe())),
            Request::Connect { name } => self.connect(&name).map(Answer::Terminal),
        };
        let _ = reply.send(answer);
    }

    /// A wait under way; with `progress`, subscribed to the changes first (with
    /// `past`, also those each instance keeps), so none falls between.
    fn waiting(
        &mut self,
        names: &[String],
        timeout: Option<std::time::Duration>,
        ready_deadlines: bool,
        progress: bool,
    ) -> Answer {
        let changes = progress.then(|| {
            let past = if ready_deadlines {
                self.past_changes()
            } else {
                Vec::new()
            };
            (past, self.changes.subscribe())
        });
        let (reply, verdict) = tokio::sync::oneshot::channel();
        self.wait(names, timeout, ready_deadlines, reply);
        Answer::Waiting { changes, verdict }
    }

    fn scale_request(&mut self, counts: std::collections::BTreeMap<String, u32>, reply: Responder) {
        let counts: Vec<(String, u32)> = counts.into_iter().collect();
        match self.scale(&counts) {
            Ok(slots) => {
                let processes = counts.into_iter().map(|(name, _)| name).collect();
                self.waiters.push(Waiter::Scaled {
                    slots,
                    processes,
                    reply,
                });
                self.answer_waiters();
            }
            Err(refusal) => {
                let _ = reply.send(Err(refusal));
            }
        }
    }

    fn reload_request(&mut self, reply: Responder) {
        if self.shutting_down {
            let _ = reply.send(Err(Refusal::ShuttingDown));
            return;
        }
        match self.reload() {
            Ok((summary, slots)) => {
                self.waiters.push(Waiter::Reloaded {
                    slots,
                    summary,
                    reply,
                });
                self.answer_waiters();
            }
            Err(refusal) => {
                let _ = reply.send(Err(refusal));
            }
        }
    }

    /// `proj signal`: `signal` to the main process of each named instance that runs one,
    /// or to every process of it.
    fn send_signal(
        &mut self,
        names: &[String],
        signal: nix::sys::signal::Signal,
        group: bool,
    ) -> Result<Vec<InstanceStatus>, Refusal> {
        let slots = self.slots.resolve(names)?;
        for &index in &slots {
            let Some(pid) = self.slots[index].machine.pid() else {
                continue;
            };
            if group {
                self.processes.signal_all(pid, signal);
            } else {
                self.processes.signal_process(pid, signal);
            }
        }
        Ok(self.ps(Some(&slots)))
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

    /// The instances `names` means for a request that changes them (`restart` with no
    /// name: every instance), or why there are none; `None` once refused.
    fn touch(
        &mut self,
        names: &[String],
        everything_when_empty: bool,
        reply: Responder,
    ) -> Option<(Vec<usize>, Responder)> {
        let resolved = if self.shutting_down {
            Err(Refusal::ShuttingDown)
        } else if names.is_empty() && everything_when_empty {
            Ok(self.slots.live().collect())
        } else if names.is_empty() {
            Err(Refusal::NoNames)
        } else {
            self.slots.resolve(names)
        };
        match resolved {
            Ok(slots) => Some((slots, reply)),
            Err(refusal) => {
                let _ = reply.send(Err(refusal));
                None
            }
        }
    }

    /// `start`: like `proj up NAME`, what they depend on starts too.
    fn start_named(&mut self, names: Vec<String>, reply: Responder) {
        let Some((slots, reply)) = self.touch(&names, false, reply) else {
            return;
        };
        let before: Vec<Touched> = slots.iter().map(|&s| Touched::new(self, s)).collect();
        let names: Vec<String> = slots
            .iter()
            .map(|&s| self.slots[s].instance.name.clone())
            .collect();
        self.start(&names, false);
        self.start_ready_dependants();
        self.answer_when_settled(before, false, reply);
    }

    /// `stop`: each through its stop sequence.
    fn stop_named(&mut self, names: Vec<String>, reply: Responder) {
        let Some((slots, reply)) = self.touch(&names, false, reply) else {
            return;
        };
        let before: Vec<Touched> = slots.iter().map(|&s| Touched::new(self, s)).collect();
        let now = now();
        for &slot in &slots {
            self.slots[slot].wanted = false;
            self.apply(slot, Input::Stop, now);
        }
        self.answer_when_settled(before, false, reply);
    }

    /// `restart`: at once, or one instance at a time per process when `rolling` (or
    /// the process's `rolling = true`) says so.
    fn restart_named(&mut self, names: Vec<String>, rolling: bool, reply: Responder) {
        let Some((slots, reply)) = self.touch(&names, true, reply) else {
            return;
        };
        let before: Vec<Touched> = slots.iter().map(|&s| Touched::new(self, s)).collect();
        let now = now();
        let mut rolled = Vec::new();
        for &slot in &slots {
            if self.slots[slot].machine.state() == State::Pending {
                continue;
            }
            if rolling || super::rolling::rolls_restarts(&self.plan, self.slots[slot].process) {
                rolled.push(slot);
                continue;
            }
            self.report_proj(
                Level::Info,
                format!("{}: restart requested", self.slots[slot].instance.name),
            );
            self.apply(slot, Input::Restart(RestartCause::Request), now);
        }
        if !rolled.is_empty() {
            self.roll(&rolled, "restart requested", RestartCause::Request);
        }
        self.answer_when_settled(before, true, reply);
    }

    fn answer_when_settled(&mut self, slots: Vec<Touched>, restart: bool, reply: Responder) {
        self.waiters.push(Waiter::Settled {
            slots,
            restart,
            reply,
        });
        self.answer_waiters();
    }

    /// Answer every waiter whose condition now holds.
    pub(super) fn answer_waiters(&mut self) {
        if self.waiters.is_empty() {
            return;
        }
        for waiter in std::mem::take(&mut self.waiters) {
            match waiter {
                Waiter::Settled {
                    slots,
                    restart,
                    reply,
                } => {
                    if self.settled(&slots, restart) {
                        let indices: Vec<usize> =
                            slots.iter().map(|touched| touched.index).collect();
                        let _ = reply.send(Ok(Answer::Acted(Acted {
                            instances: self.ps(Some(&indices)),
                            outcomes: slots.iter().map(|touched| self.outcome(touched)).collect(),
                        })));
                    } else {
                        self.waiters.push(Waiter::Settled {
                            slots,
                            restart,
                            reply,
                        });
                    }
                }
                Waiter::Scaled {
                    slots,
                    processes,
                    reply,
                } => {
                    if !self.settled(&slots, true) {
                        self.waiters.push(Waiter::Scaled {
                            slots,
                            processes,
                            reply,
                        });
                        continue;
                    }
                    let instances: Vec<InstanceStatus> = self
                        .ps(None)
                        .into_iter()
                        .filter(|instance| processes.contains(&instance.process))
                        .collect();
                    // Every instance of the scaled processes, and those the scale stopped.
                    let mut outcomes: Vec<Outcome> =
                        slots.iter().map(|touched| self.outcome(touched)).collect();
                    for instance in &instances {
                        if !outcomes.iter().any(|outcome| outcome.name == instance.name) {
                            outcomes.push(Outcome {
                                name: instance.name.clone(),
                                did: Did::Unchanged,
                                reason: None,
                            });
                        }
                    }
                    let _ = reply.send(Ok(Answer::Acted(Acted {
                        instances,
                        outcomes,
                    })));
                }
                Waiter::Reloaded {
                    slots,
                    mut summary,
                    reply,
                } => {
                    if !self.settled(&slots, true) {
                        self.waiters.push(Waiter::Reloaded {
                            slots,
                            summary,
                            reply,
                        });
                        continue;
                    }
                    summary.failed = slots
                        .iter()
                        .map(|touched| self.outcome(touched))
                        .filter(|outcome| outcome.did == Did::Failed)
                        .map(|outcome| match outcome.reason {
                            Some(reason) => format!("{}: {reason}", outcome.name),
                            None => outcome.name,
                        })
                        .collect();
                    let _ = reply.send(Ok(Answer::Reloaded(summary)));
                }
            }
        }
    }

    /// Every slot is neither starting nor stopping nor on its way to start (wanted, or
    /// `pending` on dependencies that are coming); for a restart, each has spawned since
    /// (or gave up).
    fn settled(&self, slots: &[Touched], restart: bool) -> bool {
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

    /// The supervisor is ending: whoever still waits is told so.
    pub(super) fn refuse_waiters(&mut self) {
        for waiter in self.waiters.drain(..) {
            let (Waiter::Settled { reply, .. }
            | Waiter::Reloaded { reply, .. }
            | Waiter::Scaled { reply, .. }) = waiter;
            let _ = reply.send(Err(Refusal::Stopped));
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

    /// The state of every instance and of the whole, for watchers.
    pub(super) fn snapshot(&self) -> Snapshot {
        Snapshot {
            project: self.plan.name.clone(),
            progress: self.progress(),
            instances: self.ps(None),
            taken_ms: Some(crate::logs::clock::unix_millis(std::time::SystemTime::now())),
        }
    }
}
