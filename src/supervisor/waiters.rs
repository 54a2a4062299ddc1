//! Answers that wait for instances to settle: `proj start`, `stop`, `restart`, `scale`
//! and `reload` are answered once what they touched is no longer `starting` or
//! `stopping` (and, for a restart, runs a new process), with what they did to each.
//! The list is checked, against the [`Stack`], after every event: no polling.

use super::command::{Answer, Refusal, Responder};
use super::snapshot::{Acted, Did, InstanceStatus, Outcome, ReloadSummary};
use super::stack::{Stack, Touched};

/// An answer that waits for instances to settle: the instances a request touched, as
/// they were before, and what to answer once they have.
pub(super) struct Waiter {
    pub(super) slots: Vec<Touched>,
    /// Each must also have spawned since (its run number moved past the one recorded),
    /// or given up: a restart, a scale, a reload.
    pub(super) restart: bool,
    pub(super) answer: Then,
    pub(super) reply: Responder,
}

/// What a settled [`Waiter`] answers.
pub(super) enum Then {
    /// The rows and outcomes of the instances touched (`start`, `stop`, `restart`).
    Acted,
    /// Every instance of the scaled processes, and those the scale stopped.
    Scaled { processes: Vec<String> },
    /// The reload's summary, naming what failed.
    Reloaded { summary: ReloadSummary },
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

    /// Answer every waiter whose instances have settled.
    pub(super) fn answer(&mut self, stack: &Stack<'_>) {
        for waiter in std::mem::take(&mut self.list) {
            if stack.settled(&waiter.slots, waiter.restart) {
                let Waiter {
                    slots,
                    answer,
                    reply,
                    ..
                } = waiter;
                let _ = reply.send(Ok(answer.with(&slots, stack)));
            } else {
                self.list.push(waiter);
            }
        }
    }

    /// The supervisor is ending: whoever still waits is told so.
    pub(super) fn refuse_all(&mut self) {
        for waiter in self.list.drain(..) {
            let _ = waiter.reply.send(Err(Refusal::Stopped));
        }
    }
}

impl Then {
    /// The answer, now that `slots` have settled.
    fn with(self, slots: &[Touched], stack: &Stack<'_>) -> Answer {
        let outcomes = || slots.iter().map(|touched| stack.outcome(touched));
        match self {
            Then::Acted => {
                let indices: Vec<usize> = slots.iter().map(|touched| touched.index).collect();
                Answer::Acted(Acted {
                    instances: stack.ps(Some(&indices)),
                    outcomes: outcomes().collect(),
                })
            }
            Then::Scaled { processes } => {
                let instances: Vec<InstanceStatus> = stack
                    .ps(None)
                    .into_iter()
                    .filter(|instance| processes.contains(&instance.process))
                    .collect();
                // Every instance of the scaled processes, and those the scale stopped.
                let mut outcomes: Vec<Outcome> = outcomes().collect();
                for instance in &instances {
                    if !outcomes.iter().any(|outcome| outcome.name == instance.name) {
                        outcomes.push(Outcome {
                            name: instance.name.clone(),
                            did: Did::Unchanged,
                            reason: None,
                        });
                    }
                }
                Answer::Acted(Acted {
                    instances,
                    outcomes,
                })
            }
            Then::Reloaded { mut summary } => {
                summary.failed = outcomes()
                    .filter(|outcome| outcome.did == Did::Failed)
                    .map(|outcome| match outcome.reason {
                        Some(reason) => format!("{}: {reason}", outcome.name),
                        None => outcome.name,
                    })
                    .collect();
                Answer::Reloaded(summary)
            }
        }
    }
}
