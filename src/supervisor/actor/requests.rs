//! Commands from clients (`proj ps`, `start`, `stop`, `restart`, `logs`, `reload`,
//! `down`, `up -d`, the TUI), answered by the supervisor, which alone knows the
//! instances.
//!
//! A command that changes states is answered once the instances it touched have settled
//! (no longer `starting` or `stopping`, and for a restart, running a new process), so
//! `proj restart web` returns with web's new pid, and `proj stop web` once it is gone.
//! Such pending answers are [`Waiter`]s (`waiters.rs`), checked after every event: no
//! polling.

use super::super::clock::now;
use super::super::command::{Answer, Command, Refusal, Request, Responder, ShutdownMode};
use super::super::failure::RestartCause;
use super::super::lifecycle::{Input, State};
use super::super::snapshot::{About, InstanceStatus, Snapshot};
use super::super::stack::Touched;
use super::super::waiters::{Then, Waiter};
use super::Supervisor;

use crate::logs::printer::Level;

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
                let rows = self.stack().ps(None);
                Ok(Answer::Instances(super::super::usage::sample(
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
                    let filter = super::super::log_requests::LineFilter { since, grep };
                    let sources = super::super::log_requests::Sources {
                        slots: &self.slots,
                        proj_lines: &self.proj_lines,
                        feed: &self.feed,
                    };
                    sources.logs(&names, lines, follow, filter)
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
            Request::Why { name } => self
                .stack()
                .why(&name)
                .map(|why| Answer::Why(Box::new(why))),
            Request::Watch => Ok(Answer::Snapshots(self.status.subscribe())),
            Request::Connect { name } => self.stack().connect(&name).map(Answer::Terminal),
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
                self.stack().past_changes()
            } else {
                Vec::new()
            };
            (past, self.changes.subscribe())
        });
        let (reply, verdict) = tokio::sync::oneshot::channel();
        self.waits.add(
            &super::super::stack::stack!(self),
            names,
            timeout,
            ready_deadlines,
            reply,
        );
        Answer::Waiting { changes, verdict }
    }

    fn scale_request(&mut self, counts: std::collections::BTreeMap<String, u32>, reply: Responder) {
        let counts: Vec<(String, u32)> = counts.into_iter().collect();
        let scaled = if self.shutting_down {
            Err(Refusal::ShuttingDown)
        } else {
            self.scale.set(&self.plan, &counts)
        };
        let (plan, said) = match scaled {
            Ok(scaled) => scaled,
            Err(refusal) => {
                let _ = reply.send(Err(refusal));
                return;
            }
        };
        self.report_proj(Level::Info, said);
        let (_, slots) = self.apply_plan(plan);
        let processes = counts.into_iter().map(|(name, _)| name).collect();
        self.answer_when(Waiter {
            slots,
            restart: true,
            answer: Then::Scaled { processes },
            reply,
        });
    }

    fn reload_request(&mut self, reply: Responder) {
        if self.shutting_down {
            let _ = reply.send(Err(Refusal::ShuttingDown));
            return;
        }
        match self.reload() {
            Ok((summary, slots)) => self.answer_when(Waiter {
                slots,
                restart: true,
                answer: Then::Reloaded { summary },
                reply,
            }),
            Err(refusal) => {
                let _ = reply.send(Err(refusal));
            }
        }
    }

    /// Answer `waiter` once what it waits for holds (now, if it does already).
    fn answer_when(&mut self, waiter: Waiter) {
        self.waiters.push(waiter);
        self.waiters.answer(&super::super::stack::stack!(self));
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
        Ok(self.stack().ps(Some(&slots)))
    }

    /// The instances `names` means for a request that changes them (`restart` with no
    /// name: every instance), each also as it is before the request; or, refused,
    /// `None`.
    fn touch(
        &mut self,
        names: &[String],
        everything_when_empty: bool,
        reply: Responder,
    ) -> Option<(Vec<usize>, Vec<Touched>, Responder)> {
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
            Ok(slots) => {
                let before = slots
                    .iter()
                    .map(|&s| Touched::new(&self.slots, s))
                    .collect();
                Some((slots, before, reply))
            }
            Err(refusal) => {
                let _ = reply.send(Err(refusal));
                None
            }
        }
    }

    /// `start`: like `proj up NAME`, what they depend on starts too.
    fn start_named(&mut self, names: Vec<String>, reply: Responder) {
        let Some((slots, before, reply)) = self.touch(&names, false, reply) else {
            return;
        };
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
        let Some((slots, before, reply)) = self.touch(&names, false, reply) else {
            return;
        };
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
        let Some((slots, before, reply)) = self.touch(&names, true, reply) else {
            return;
        };
        let now = now();
        let mut rolled = Vec::new();
        for &slot in &slots {
            if self.slots[slot].machine.state() == State::Pending {
                continue;
            }
            if rolling
                || super::super::rolling::rolls_restarts(&self.plan, self.slots[slot].process)
            {
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
        self.answer_when(Waiter {
            slots,
            restart,
            answer: Then::Acted,
            reply,
        });
    }

    /// The state of every instance and of the whole, for watchers.
    pub(super) fn snapshot(&self) -> Snapshot {
        Snapshot {
            project: self.plan.name.clone(),
            progress: self.stack().progress(),
            instances: self.stack().ps(None),
            taken_ms: Some(crate::logs::clock::unix_millis(std::time::SystemTime::now())),
        }
    }
}
