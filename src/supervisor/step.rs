//! What a concern asks of the actor.
//!
//! The concerns around the instances (rolling restarts, schedules, memory checks)
//! own their state and read the instances, but never act: they return [`Step`]s, and
//! the actor, which alone changes instances, takes them in order.

use super::lifecycle::Input;
use crate::logs::printer::Level;

#[derive(Debug)]
pub(super) enum Step {
    /// Give instance `index` this input.
    Apply(usize, Input),
    /// Start this instance as `proj start` would (with what it depends on).
    Start(String),
    /// Say this on proj's own output.
    Say(Level, String),
}
