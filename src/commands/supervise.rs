//! The supervisor's real edges, wired: the reaper, the guardian, tokio's signal streams,
//! the control socket and the OS spawner. [`supervise`] is what `proj up` runs once the
//! plan is set up; the supervisor itself ([`crate::supervisor::run`]) knows none of
//! these, so its tests can wire fakes instead.

use std::io;
use std::sync::Arc;
use std::time::SystemTime;

use nix::sys::signal::Signal;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;

use crate::config::Plan;
use crate::control::endpoint::Claim;
use crate::control::server;
use crate::process::guardian::Guardian;
use crate::process::{reaper, spawn, sweep};
use crate::supervisor::{self, Inputs, Processes, SignalEvent, SpawnRequest, Spawned};

/// Supervise `plan` until a shutdown completes, with everything real. With
/// `--exit-on-failure`, the answer is the instance that failed and why.
///
/// `claim` is the project's one-supervisor lock; it is held until the end, and the
/// socket is removed before the `proj down` callers get their answer, so that a
/// `proj up` right after `proj down` finds the project free.
pub(super) async fn supervise(
    plan: Plan,
    options: supervisor::Options,
    claim: &Claim,
) -> io::Result<Option<String>> {
    let (inputs, senders) = Inputs::channels();
    reaper::start(senders.exits)?;
    let marker = format!(
        "{}-{:x}",
        std::process::id(),
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos()
    );
    let guardian = Guardian::spawn(&marker)?;
    forward_signals(senders.signals)?;
    server::start(&claim.socket, senders.commands)?;
    let processes = Arc::new(OsProcesses { marker });
    let finished = supervisor::run(plan, options, inputs, processes).await;
    let _ = std::fs::remove_file(&claim.socket);
    let gave_up = finished.gave_up.clone();
    finished.say_goodbye().await;
    drop(guardian);
    Ok(gave_up)
}

/// SIGINT, SIGTERM and SIGHUP as [`SignalEvent`]s.
fn forward_signals(events: mpsc::UnboundedSender<SignalEvent>) -> io::Result<()> {
    for (kind, event) in [
        (SignalKind::interrupt(), SignalEvent::Interrupt),
        (SignalKind::terminate(), SignalEvent::Terminate),
        (SignalKind::hangup(), SignalEvent::Hangup),
    ] {
        // Installed here, before the first child exists, so no signal is missed.
        let mut stream = signal(kind)?;
        let events = events.clone();
        tokio::spawn(async move {
            while stream.recv().await.is_some() {
                if events.send(event).is_err() {
                    return;
                }
            }
        });
    }
    Ok(())
}

/// Processes as the OS has them: [`crate::process`].
struct OsProcesses {
    /// This run's [`crate::process::SUPERVISOR_MARKER`] value.
    marker: String,
}

impl Processes for OsProcesses {
    fn marker(&self) -> &str {
        &self.marker
    }

    fn spawn(&self, request: &SpawnRequest<'_>) -> io::Result<Spawned> {
        let child = spawn::spawn_as(
            request.command,
            request.cwd,
            request.env,
            if request.terminal {
                spawn::Output::Terminal
            } else {
                spawn::Output::Pipe
            },
            request.identity,
        )?;
        Ok(Spawned {
            pid: child.pid,
            output: child.output,
            terminal: child.terminal,
        })
    }

    fn signal_group(&self, pgid: i32, signal: Signal) {
        spawn::signal_group(pgid, signal);
    }

    fn signal_process(&self, pid: i32, signal: Signal) {
        spawn::signal_process(pid, signal);
    }

    fn group_alive(&self, pgid: i32) -> bool {
        reaper::group_alive(pgid)
    }

    fn spare_group(&self, pgid: i32) {
        reaper::drain(pgid);
    }

    fn release_group(&self, pgid: i32) {
        reaper::undrain(pgid);
    }

    fn sweep(&self) -> usize {
        sweep::kill_marked(&self.marker)
    }

    fn usage(
        &self,
        pgids: &[i32],
    ) -> std::collections::HashMap<i32, crate::process::usage::GroupUsage> {
        crate::process::usage::of_groups(pgids)
    }
}
