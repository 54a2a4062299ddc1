//! The supervisor's truth as answers scripts and agents can act on (SPEC §9.5): every
//! state change as a typed [`Change`] (`proj events`, the progress of `up -d`), waiting
//! for instances to be up (`proj wait`, `up -d`), and how an instance got where it is
//! (`proj why`).
//!
//! Changes go out on a broadcast channel: a subscriber that reads too slowly misses the
//! oldest (and is told how many), it never holds the supervisor up. Each instance also
//! keeps its last few changes, for `why`.

use std::time::{Duration, Instant};

use super::clock::now;
use super::command::{Refusal, Reply, WaitUp};
use super::lifecycle::State;
use super::snapshot::Change;
use super::stack::Stack;
use super::table::InstanceTable;

/// How many changes a subscriber may fall behind before it misses some.
pub(super) const CHANGES_CAPACITY: usize = 1024;

/// How many changes each instance keeps for `proj why`.
const CHANGES_KEPT: usize = 10;

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

impl Wait {
    /// The instances waited for: those named, or every one `proj up` started.
    fn targets(&self, stack: &Stack<'_>) -> Vec<usize> {
        match &self.targets {
            Some(targets) => targets.clone(),
            None => stack
                .slots
                .live()
                .filter(|&index| stack.slots[index].initial)
                .collect(),
        }
    }
}

/// The `proj wait` and `up -d` callers still waiting.
#[derive(Default)]
pub(super) struct Waits {
    list: Vec<Wait>,
}

impl Waits {
    /// A new `proj wait`; `names` empty: what `proj up` started. Answered at once when
    /// its verdict is in already.
    pub(super) fn add(
        &mut self,
        stack: &Stack<'_>,
        names: &[String],
        timeout: Option<Duration>,
        ready_deadlines: bool,
        reply: Reply<WaitUp>,
    ) {
        let targets = if names.is_empty() {
            None
        } else {
            match stack.slots.resolve(names) {
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
        self.list.push(Wait {
            targets,
            give_up_at: timeout.map(|timeout| now() + timeout),
            ready_deadlines,
            reply,
        });
        self.answer(stack, now());
    }

    /// Answer every wait whose verdict is in.
    pub(super) fn answer(&mut self, stack: &Stack<'_>, now: Instant) {
        for wait in std::mem::take(&mut self.list) {
            match verdict(stack, &wait, now) {
                None => self.list.push(wait),
                Some(outcome) => {
                    let instances = stack.ps(wait.targets.as_deref());
                    let _ = wait.reply.send(WaitUp { instances, outcome });
                }
            }
        }
    }

    /// The earliest instant a wait's verdict may change by time alone.
    pub(super) fn deadline(&self, stack: &Stack<'_>) -> Option<Instant> {
        self.list
            .iter()
            .flat_map(|wait| {
                let ready = wait.ready_deadlines.then(|| {
                    wait.targets(stack)
                        .into_iter()
                        .filter_map(|index| stack.ready_deadline(index))
                        .filter(|&deadline| deadline > now())
                        .min()
                });
                [wait.give_up_at, ready.flatten()]
            })
            .flatten()
            .min()
    }

    /// The supervisor is ending: whoever still waits is told so.
    pub(super) fn refuse_all(&mut self) {
        for wait in self.list.drain(..) {
            let _ = wait.reply.send(WaitUp {
                instances: Vec::new(),
                outcome: Err(Refusal::Stopped),
            });
        }
    }
}

/// `Some(Ok)` once every target is up, `Some(Err)` once one failed or time ran
/// out, `None` while it may still come.
fn verdict(stack: &Stack<'_>, wait: &Wait, now: Instant) -> Option<Result<(), Refusal>> {
    if stack.shutting_down {
        return Some(Err(Refusal::ShuttingDown));
    }
    let targets = wait.targets(stack);
    let mut missing = Vec::new();
    for &index in &targets {
        let slot = &stack.slots[index];
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
            && stack
                .ready_deadline(index)
                .is_some_and(|deadline| deadline <= now)
        {
            return Some(Err(Refusal::NotUp(format!(
                "{}: {}",
                slot.instance.name,
                stack.not_there(index)
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
                    stack.slots[index].instance.name,
                    stack.not_there(index)
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

/// Instance `index` changed: remember the change (the last [`CHANGES_KEPT`], for `proj
/// why`) and tell subscribers.
pub(super) fn note_change(
    slots: &mut InstanceTable,
    changes: &tokio::sync::broadcast::Sender<Change>,
    index: usize,
    change: Change,
) {
    let slot = &mut slots[index];
    if slot.changes.len() == CHANGES_KEPT {
        slot.changes.pop_front();
    }
    slot.changes.push_back(change.clone());
    // Nobody listening is fine.
    let _ = changes.send(change);
}
