//! The supervisor: the one owner of every instance's state.
//!
//! # Theory of operation
//!
//! [`run`] is a single task. It owns a slot per instance (its [`lifecycle::Lifecycle`]
//! machine, its timer, its environment, its output sink) and waits on four sources:
//! exits from the reaper, signals to proj, the earliest instance timer, and (later)
//! commands from the control socket and the TUI. Each event becomes an input to one
//! instance's machine, and the machine's actions are carried out here: spawn, signal the
//! process group, arm or cancel the timer, report. Nothing else mutates process state, so
//! there are no locks around it. When nothing happens the task sleeps: no polling.
//!
//! Output does not pass through this task: each spawn starts a reader task that writes
//! the log file and feeds the printer directly ([`crate::logs::reader`]).
//!
//! Dependencies: an instance starts once every process it depends on is `running` (or,
//! for a oneshot, `exited`); until then it is `pending`. At shutdown the order reverses:
//! an instance is asked to stop once nothing that depends on it is still active, and
//! independent instances stop in parallel.

mod actor;
mod dependencies;
pub use crate::config::environment;
mod launch;
pub mod lifecycle;
pub mod order;
pub mod ready;
mod reload;
mod requests;
mod slot;
mod systemd;

pub use actor::{Event, Handle, Options, run};
