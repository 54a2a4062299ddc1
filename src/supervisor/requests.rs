//! Control requests (`proj ps`, `start`, `stop`, `restart`, `logs`, `down`, `up -d`),
//! answered by the supervisor, which alone knows the instances.
//!
//! A request that changes states is answered once the instances it touched have settled
//! (no longer `starting` or `stopping`, and for a restart, running a new process), so
//! `proj restart web` returns with web's new pid, and `proj stop web` once it is gone.
//! Such pending answers are [`Waiter`]s, checked after every event: no polling.

use std::collections::HashMap;
use std::time::Instant;

use super::actor::Supervisor;
use super::lifecycle::{Input, State};
use crate::control::protocol::{
    Hello, InstanceStatus, LogLine, Progress, Refusal, Request, Response, Snapshot,
};
use crate::control::server::{self, Answer, Call, Follow};
use crate::logs::printer::Level;

/// An answer that waits for instances to settle.
pub(super) struct Waiter {
    kind: WaitFor,
    reply: tokio::sync::oneshot::Sender<Answer>,
}

enum WaitFor {
    /// These slots are neither starting nor stopping; for a restart, each has spawned
    /// since (its run number moved past the one recorded).
    Settled {
        slots: Vec<(usize, u64)>,
        restart: bool,
    },
    /// Every instance `proj up` started is running (or exited cleanly), or one failed.
    Up,
}

impl Supervisor {
    pub(super) fn on_call(&mut self, call: Call) {
        let Call { request, reply } = call;
        let answer = match request {
            Request::Hello => Response {
                hello: Some(Hello {
                    pid: std::process::id(),
                    project: self.plan.name.clone(),
                    root: self.plan.root.display().to_string(),
                    version: env!("CARGO_PKG_VERSION").to_string(),
                    protocol: crate::control::protocol::VERSION,
                }),
                ..Response::ok()
            },
            Request::Ps => self.ps(None),
            Request::Start { names } => return self.act(names, reply, Action::Start),
            Request::Stop { names } => return self.act(names, reply, Action::Stop),
            Request::Restart { names } => return self.act(names, reply, Action::Restart),
            Request::Logs {
                names,
                lines,
                follow,
            } => {
                let answer = self.logs(&names, lines, follow);
                let _ = reply.send(answer);
                return;
            }
            Request::Reload => {
                if self.shutting_down {
                    Response::error(1, "proj is shutting down")
                } else {
                    self.reload()
                }
            }
            Request::Down => {
                self.down_replies.push(reply);
                if !self.shutting_down {
                    self.on_stop_request("proj down");
                }
                return;
            }
            Request::Kill => {
                self.down_replies.push(reply);
                // The first stop request retires everything, the second kills.
                if !self.shutting_down {
                    self.on_stop_request("kill");
                }
                self.on_stop_request("kill");
                return;
            }
            Request::Watch => {
                let _ = reply.send(Answer::Watch(self.status.subscribe()));
                return;
            }
            Request::WaitUp => {
                self.waiters.push(Waiter {
                    kind: WaitFor::Up,
                    reply,
                });
                return;
            }
        };
        let _ = reply.send(Answer::Done(answer));
    }

    /// `ps`: every instance (or those at `slots`), in plan order.
    fn ps(&self, slots: Option<&[usize]>) -> Response {
        let now = Instant::now();
        let instances: Vec<InstanceStatus> = match slots {
            Some(slots) => slots.iter().map(|&s| self.slots[s].status(now)).collect(),
            None => {
                // Plan order, also for instances a reload added at the end of the slots.
                let mut live: Vec<_> = self
                    .slots
                    .iter()
                    .filter(|slot| !slot.is_removed())
                    .collect();
                live.sort_by_key(|slot| (slot.process, slot.instance.index));
                live.into_iter().map(|slot| slot.status(now)).collect()
            }
        };
        Response {
            instances: Some(instances),
            ..Response::ok()
        }
    }

    /// The slots `names` mean: a process name means all its instances. Unknown names are
    /// an error (exit 2) that lists the known ones.
    fn resolve(&self, names: &[String]) -> Result<Vec<usize>, Refusal> {
        let mut chosen = Vec::new();
        let mut unknown = Vec::new();
        for name in names {
            let matching: Vec<usize> = self
                .slots
                .iter()
                .enumerate()
                .filter(|(_, slot)| {
                    !slot.is_removed()
                        && (slot.instance.name == *name || slot.instance.process == *name)
                })
                .map(|(index, _)| index)
                .collect();
            if matching.is_empty() {
                unknown.push(format!("`{name}`"));
            }
            for index in matching {
                if !chosen.contains(&index) {
                    chosen.push(index);
                }
            }
        }
        if unknown.is_empty() {
            return Ok(chosen);
        }
        let mut known: Vec<String> = Vec::new();
        for slot in self.slots.iter().filter(|slot| !slot.is_removed()) {
            for name in [&slot.instance.process, &slot.instance.name] {
                let quoted = format!("`{name}`");
                if !known.contains(&quoted) {
                    known.push(quoted);
                }
            }
        }
        Err(Refusal::new(
            2,
            format!(
                "no process or instance named {}; known: {}",
                unknown.join(", "),
                known.join(", ")
            ),
        ))
    }

    fn act(
        &mut self,
        names: Vec<String>,
        reply: tokio::sync::oneshot::Sender<Answer>,
        action: Action,
    ) {
        if names.is_empty() {
            let _ = reply.send(Answer::Done(Response::error(
                2,
                "name at least one process",
            )));
            return;
        }
        if self.shutting_down {
            let _ = reply.send(Answer::Done(Response::error(1, "proj is shutting down")));
            return;
        }
        let slots = match self.resolve(&names) {
            Ok(slots) => slots,
            Err(refusal) => {
                let _ = reply.send(Answer::Done(refusal.into()));
                return;
            }
        };
        let now = Instant::now();
        let before: Vec<(usize, u64)> = slots.iter().map(|&s| (s, self.slots[s].run)).collect();
        match action {
            Action::Start => {
                // Like `proj up NAME`: what they depend on starts too.
                let names: Vec<String> = slots
                    .iter()
                    .map(|&s| self.slots[s].instance.name.clone())
                    .collect();
                self.start(&names, false);
                self.start_ready_dependants();
            }
            Action::Stop => {
                for &slot in &slots {
                    self.slots[slot].wanted = false;
                    self.apply(slot, Input::Stop, now);
                }
            }
            Action::Restart => {
                for &slot in &slots {
                    if self.slots[slot].machine.state() == State::Pending {
                        continue;
                    }
                    self.report_proj(
                        Level::Info,
                        format!("{}: restart requested", self.slots[slot].instance.name),
                    );
                    self.apply(slot, Input::Restart, now);
                }
            }
        }
        self.waiters.push(Waiter {
            kind: WaitFor::Settled {
                slots: before,
                restart: action == Action::Restart,
            },
            reply,
        });
        self.answer_waiters();
    }

    /// Answer every waiter whose condition now holds.
    pub(super) fn answer_waiters(&mut self) {
        if self.waiters.is_empty() {
            return;
        }
        let waiters = std::mem::take(&mut self.waiters);
        for waiter in waiters {
            match self.verdict(&waiter.kind) {
                Some(response) => {
                    let _ = waiter.reply.send(Answer::Done(response));
                }
                None => self.waiters.push(waiter),
            }
        }
    }

    fn verdict(&self, kind: &WaitFor) -> Option<Response> {
        match kind {
            WaitFor::Settled { slots, restart } => {
                let settled = slots.iter().all(|&(index, run_before)| {
                    let slot = &self.slots[index];
                    let state = slot.machine.state();
                    let moving = matches!(state, State::Starting | State::Stopping);
                    let respawned = slot.run > run_before
                        || matches!(state, State::Failed | State::Pending | State::Stopped);
                    !moving && (!restart || respawned)
                });
                let indices: Vec<usize> = slots.iter().map(|&(index, _)| index).collect();
                settled.then(|| self.ps(Some(&indices)))
            }
            WaitFor::Up => match self.progress() {
                Progress::Starting => None,
                Progress::Up => Some(self.ps(None)),
                Progress::Stopping => Some(Response::error(1, "proj is shutting down")),
                Progress::Failed { reason } => Some(Response {
                    error: Some(reason),
                    exit_code: Some(1),
                    ok: false,
                    ..self.ps(None)
                }),
            },
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
            let reason = failed.machine.failure().unwrap_or("failed");
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
            instances: self.ps(None).instances.unwrap_or_default(),
        }
    }

    /// `down`: answer the callers right before the supervisor exits, and wait (briefly)
    /// until the answers are written.
    pub(super) async fn answer_down(&mut self) {
        let mut written = Vec::new();
        for reply in self.down_replies.drain(..) {
            let (done, wait) = tokio::sync::oneshot::channel();
            if reply.send(Answer::Final(Response::ok(), done)).is_ok() {
                written.push(wait);
            }
        }
        for waiter in self.waiters.drain(..) {
            let _ = waiter
                .reply
                .send(Answer::Done(Response::error(1, "proj stopped")));
        }
        let all = async {
            for wait in written {
                let _ = wait.await;
            }
        };
        let _ = tokio::time::timeout(std::time::Duration::from_secs(1), all).await;
    }

    /// `logs`: the last `count` lines of the named instances (all when empty), merged in
    /// time order, and for `follow` a subscription to what comes next.
    fn logs(&self, names: &[String], count: usize, follow: bool) -> Answer {
        let slots = if names.is_empty() {
            (0..self.slots.len())
                .filter(|&s| !self.slots[s].is_removed())
                .collect()
        } else {
            match self.resolve(names) {
                Ok(slots) => slots,
                Err(refusal) => return Answer::Done(refusal.into()),
            }
        };
        // Subscribe before reading the history: a batch delivered in between is then in
        // both, and the follower skips it by time, instead of being in neither.
        let feed = follow.then(|| self.feed.subscribe());
        let mut backlog: Vec<LogLine> = Vec::new();
        let mut seen_until = HashMap::new();
        for &slot in &slots {
            let name = self.slots[slot].instance.name.clone();
            let history = self.slots[slot]
                .sink
                .history
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let lines = history.last_lines(count);
            seen_until.insert(name.clone(), lines.last().map(|(at, _)| *at));
            backlog.extend(lines.into_iter().map(|(at, line)| LogLine {
                time_ms: server::millis(at),
                name: name.clone(),
                text: String::from_utf8_lossy(line).into_owned(),
            }));
        }
        // A stable sort keeps each instance's own order among equal timestamps.
        backlog.sort_by_key(|line| line.time_ms);
        let skip = backlog.len().saturating_sub(count);
        backlog.drain(..skip);
        let names: Vec<String> = slots
            .iter()
            .map(|&s| self.slots[s].instance.name.clone())
            .collect();
        Answer::Logs {
            header: Response {
                names: Some(names),
                ..Response::ok()
            },
            backlog,
            follow: feed.map(|feed| Follow {
                feed,
                instances: seen_until,
            }),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Start,
    Stop,
    Restart,
}
