//! A stop sequence in Compose, with no signal lost (SPEC §9.6).
//!
//! Compose sends one signal (`stop_signal`), waits `stop_grace_period`, then SIGKILL.
//! A sequence of one signal is exactly that. A longer one puts every step before its
//! last signal into a `pre_stop` hook, which Compose runs inside the container before
//! the stop signal: each step signals the main process (and, unless `stop_target =
//! "main"`, every other process of the container) and waits for it to be gone, as the
//! Kubernetes preStop hook does; then the last signal is `stop_signal`, with its own
//! wait as the grace period. A sequence that ends with a command runs it all in the
//! hook; `stop_signal` is then SIGKILL, proj's own last word.
//!
//! `pre_stop` is in the Compose Specification and Docker Compose 2.30+; older Compose
//! v2 and docker-compose 1.x refuse the file (the README says so), which is better
//! than a stop that silently skips a step.

use std::time::Duration;

use crate::config::{ProcessSpec, StopTarget};

use super::super::shell::{self, StopHookStep};
use super::super::{Note, stop_steps};
use super::duration;
use super::objects::Hook;

/// What a service's stop keys are.
pub(super) struct Stop {
    pub signal: String,
    pub grace: String,
    pub hooks: Vec<Hook>,
}

pub(super) fn stop(process: &ProcessSpec, notes: &mut Vec<Note>) -> Stop {
    let steps = stop_steps(process);
    let main_only = process.lifecycle.stop_target == StopTarget::Main;
    // The last wait as written (`1500ms`); the hook's waits are whole seconds.
    let last_wait = process.lifecycle.stop_sequence.last().map(|step| step.wait);
    let (before, signal, grace) = match (steps.split_last(), last_wait) {
        (Some(((StopHookStep::Signal(signal), _), before)), Some(wait)) => {
            (before, format!("SIG{signal}"), wait)
        }
        // Ends with a command (or is empty): everything in the hook, then SIGKILL.
        _ => (
            steps.as_slice(),
            "SIGKILL".to_owned(),
            Duration::from_secs(1),
        ),
    };
    let hooks = if before.is_empty() {
        Vec::new()
    } else {
        notes.push(Note::process(
            process,
            "stop_sequence",
            "→ a pre_stop hook for the steps before the last signal: it needs Docker \
             Compose 2.30 or later (docker-compose 1.x and older Compose v2 refuse the \
             file)",
        ));
        // A failing hook aborts the stop in Compose: this one always succeeds.
        let script = format!("{} exit 0", shell::stop_sequence(before, main_only));
        vec![Hook {
            command: vec!["sh".into(), "-c".into(), super::escape(&script)],
        }]
    };
    Stop {
        signal,
        grace: duration(grace),
        hooks,
    }
}
