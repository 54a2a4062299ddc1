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
use crate::process::listeners::Listeners;
use crate::process::membership::{self, Membership, Tracking};
use crate::process::{ports, reaper, spawn};
use crate::supervisor::{self, Inputs, Processes, SignalEvent, SpawnRequest, Spawned};

/// What a run needs before proj has a second thread: its marker, how its instances are
/// tracked, and its guardian, which is then a fork of proj that costs almost no memory
/// (see [`crate::process::guardian`]).
pub(super) struct Grounds {
    /// This run's [`crate::process::SUPERVISOR_MARKER`] value.
    marker: String,
    tracking: Tracking,
    guardian: Guardian,
}

impl Grounds {
    /// Call while proj has one thread: before the printer, the TUI and the runtimes
    /// start. Should proj stop before [`supervise`], dropping these sets the guardian
    /// off, which removes the cgroup tree.
    pub(super) fn prepare() -> io::Result<Grounds> {
        let tracking = Tracking::choose();
        tracing::debug!(?tracking, "process tracking");
        let marker = format!(
            "{}-{:x}",
            std::process::id(),
            SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap_or_default()
                .as_nanos()
        );
        let cgroups = match &tracking {
            Tracking::Cgroups(tree) => Some(tree.dir()),
            Tracking::Groups => None,
        };
        let guardian = Guardian::start(&marker, cgroups)?;
        Ok(Grounds {
            marker,
            tracking,
            guardian,
        })
    }
}

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
    grounds: Grounds,
) -> io::Result<Option<String>> {
    let (inputs, senders) = Inputs::channels();
    reaper::start(senders.exits)?;
    let Grounds {
        marker,
        tracking,
        guardian,
    } = grounds;
    let membership = Membership::new(tracking, &marker, guardian, senders.members)?;
    forward_signals(senders.signals)?;
    server::start(&claim.socket, senders.commands)?;
    // Kept beyond the supervisor: the guardian it holds must outlive every answer.
    let processes = Arc::new(OsProcesses {
        marker,
        membership,
        listeners: Listeners::new(),
    });
    let edges = supervisor::Edges {
        processes: processes.clone(),
        watching: Box::new(crate::watch::Watches::default()),
        manager: Box::new(crate::systemd::link::Link::from_env()),
    };
    let finished = supervisor::run(plan, options, inputs, edges).await;
    let _ = std::fs::remove_file(&claim.socket);
    let gave_up = finished.gave_up.clone();
    finished.say_goodbye().await;
    drop(processes);
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
    membership: Membership,
    listeners: Listeners,
}

impl Processes for OsProcesses {
    fn marker(&self) -> &str {
        &self.marker
    }

    fn spawn(&self, request: &SpawnRequest<'_>) -> io::Result<Spawned> {
        let child = self.membership.spawn(&membership::Spawn {
            command: request.command,
            cwd: request.cwd,
            env: request.env,
            identity: request.identity,
            output: if request.terminal {
                spawn::Output::Terminal
            } else {
                spawn::Output::Pipe
            },
            instance: request.instance,
            main: request.main,
            listener: request
                .socket
                .and_then(|process| self.listeners.get(process)),
        })?;
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

    fn listen(&self, process: &str, address: std::net::SocketAddr) -> io::Result<()> {
        self.listeners.listen(process, address).map(drop)
    }

    fn close_listener(&self, process: &str) {
        self.listeners.close(process);
    }

    fn port_holder(&self, port: u16) -> Option<ports::Holder> {
        ports::listener(port)
    }

    fn signal_all(&self, leader: i32, signal: Signal) {
        self.membership.signal_all(leader, signal);
    }

    fn signal_escaped(&self, leader: i32, signal: Signal) {
        self.membership.signal_escaped(leader, signal);
    }

    fn end(&self, leader: i32) {
        self.membership.end(leader);
    }

    fn alive(&self, leader: i32) -> bool {
        self.membership.alive(leader)
    }

    fn spare_group(&self, pgid: i32) {
        reaper::drain(pgid);
    }

    fn release_group(&self, pgid: i32) {
        reaper::undrain(pgid);
        self.membership.release(pgid);
    }

    fn sweep(&self) -> usize {
        self.membership.sweep()
    }

    fn usage(
        &self,
        pgids: &[i32],
    ) -> std::collections::HashMap<i32, crate::process::usage::GroupUsage> {
        self.membership.usage(pgids)
    }
}
