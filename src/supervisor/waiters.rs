//! Answers that wait for instances to settle: `proj start`, `stop`, `restart`, `scale`
//! and `reload` are answered once what they touched is no longer `starting` or
//! `stopping` (and, for a restart, runs a new process), with what they did to each.
//! The list is checked, against the [`Stack`], after every event: no polling.

use super::command::{Answer, Refusal, Responder};
use super::snapshot::{Acted, Did, InstanceStatus, Outcome, ReloadSummary};
use super::stack::{Stack, Touched};

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

/// The answers that wait for instances to settle.
#[derive(Default)]
pub(super) struct Waiters {
    list: Vec<Waiter>,
}

impl Waiters {
    pub(super) fn push(&mut self, waiter: Waiter) {
        self.list.push(waiter);
    }

    /// Answer every waiter whose condition now holds.
    pub(super) fn answer(&mut self, stack: &Stack<'_>) {
        if self.list.is_empty() {
            return;
        }
        for waiter in std::mem::take(&mut self.list) {
            match waiter {
                Waiter::Settled {
                    slots,
                    restart,
                    reply,
                } => {
                    if stack.settled(&slots, restart) {
                        let indices: Vec<usize> =
                            slots.iter().map(|touched| touched.index).collect();
                        let _ = reply.send(Ok(Answer::Acted(Acted {
                            instances: stack.ps(Some(&indices)),
                            outcomes: slots.iter().map(|touched| stack.outcome(touched)).collect(),
                        })));
                    } else {
                        self.list.push(Waiter::Settled {
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
                    if !stack.settled(&slots, true) {
                        self.list.push(Waiter::Scaled {
                            slots,
                            processes,
                            reply,
                        });
                        continue;
                    }
                    let instances: Vec<InstanceStatus> = stack
                        .ps(None)
                        .into_iter()
                        .filter(|instance| processes.contains(&instance.process))
                        .collect();
                    // Every instance of the scaled processes, and those the scale stopped.
                    let mut outcomes: Vec<Outcome> =
                        slots.iter().map(|touched| stack.outcome(touched)).collect();
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
                    if !stack.settled(&slots, true) {
                        self.list.push(Waiter::Reloaded {
                            slots,
                            summary,
                            reply,
                        });
                        continue;
                    }
                    summary.failed = slots
                        .iter()
                        .map(|touched| stack.outcome(touched))
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

    /// The supervisor is ending: whoever still waits is told so.
    pub(super) fn refuse_all(&mut self) {
        for waiter in self.list.drain(..) {
            let (Waiter::Settled { reply, .. }
            | Waiter::Reloaded { reply, .. }
            | Waiter::Scaled { reply, .. }) = waiter;
            let _ = reply.send(Err(Refusal::Stopped));
        }
    }
}
