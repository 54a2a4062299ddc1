//! The supervisor: the one owner of every instance's state.
//!
//! # Theory of operation
//!
//! [`run`] is a single task, the actor (`actor/`). It owns the [instance table](table)
//! (per instance: its [`lifecycle::Lifecycle`] machine, its timer, its environment, its
//! output sink, and while it has a process, that run's state) and waits on what it is
//! given ([`Inputs`]): exits from the reaper, signals to proj, [`Command`]s (a
//! `Request` with its reply channel) from the control socket and the TUI, its helpers'
//! events (probes, health checks, file watchers) and the earliest timer. Each becomes an
//! input to one instance's machine, and the machine's actions are carried out through
//! the [`Processes`] edge: spawn, signal the process group, arm or cancel the timer,
//! report. The concerns around the instances (rolling restarts, schedules, memory and
//! health checks, dependencies, reload, scale, the waiters of requests) own their state
//! and return what to do; only the actor changes instances, so there are no locks
//! around them. When nothing happens the task sleeps: no polling.
//!
//! The edges are injected ([`Edges`]): the binary wires the real reaper, signal streams,
//! control socket, process spawner, file watching and systemd link
//! (`commands::supervise`); the unit tests in `tests/` wire a fake spawner on tokio's
//! paused clock. The supervisor speaks in types (`Request`, `Answer`, [`Refusal`],
//! [`Snapshot`], [`State`], [`Failure`]); turning them into JSON lines is
//! [`crate::control`]'s business.
//!
//! Output does not pass through this task: each spawn starts a reader task that writes
//! the log file and feeds the printer directly ([`crate::logs::reader`]).
//!
//! Dependencies: an instance starts once every process it depends on is `running` (or,
//! for a oneshot, `exited`); until then it is `pending`. At shutdown the order reverses:
//! an instance is asked to stop once nothing that depends on it is still active, and
//! independent instances stop in parallel.

mod actor;
mod answers;
mod clock;
pub(crate) mod command;
mod dependencies;
pub(crate) mod edges;
pub(crate) mod failure;
pub(crate) mod health;
mod launch;
pub(crate) mod lifecycle;
mod log_requests;
pub(crate) mod order;
pub(crate) mod ready;
mod reload;
mod rolling;
mod scale;
mod schedule;
mod silence;
mod slot;
pub(crate) mod snapshot;
mod stack;
mod step;
mod table;
pub(crate) mod terminal;
mod terminal_queries;
#[cfg(test)]
mod tests;
mod usage;
mod waiters;

pub(crate) use actor::{Handle, Options, run};
pub(crate) use command::Refusal;
pub(crate) use edges::Event;
pub(crate) use edges::{
    Edges, Inputs, Processes, ServiceManager, SignalEvent, SpawnRequest, Spawned, Watching,
};
pub(crate) use snapshot::{Health, InstanceStatus, Progress, Snapshot, State};
