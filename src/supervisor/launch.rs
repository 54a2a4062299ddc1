//! Spawning an instance's process, with its output reader and readiness probe.
//!
//! The child is spawned by [`crate::process::spawn`] in its own process group; its
//! output pipe goes to a reader task ([`crate::logs::reader`]); a probe, when the process
//! has one, runs as a task that reports `Event::Ready` for this run (a `log` probe is
//! checked by the reader itself, with no polling).

use tokio::sync::oneshot;

use tokio::sync::mpsc;
use tokio_util::task::TaskTracker;

use super::edges::{Event, Processes, SpawnRequest};
use super::failure::SpawnProblem;
use super::lifecycle::Input;
use super::ready;
use super::table::InstanceTable;
use crate::config::Plan;
use crate::logs::reader;
use crate::process::identity::Identity;

/// How a probe task learns that its instance is ready.
enum ProbeTask {
    /// The output reader saw a matching line.
    Seen(oneshot::Receiver<()>),
    /// Poll a tcp, http or exec probe.
    Poll(ready::Probe),
}

/// What spawning needs besides the instance: its plan and accounts, and the edges the
/// child, its reader and its probe are handed to.
pub(super) struct Launcher<'a> {
    pub(super) plan: &'a Plan,
    /// Per process: the account its instances run as (or why it cannot be switched to).
    pub(super) accounts: &'a [Result<Option<Identity>, String>],
    pub(super) processes: &'a dyn Processes,
    pub(super) events: &'a mpsc::UnboundedSender<Event>,
    /// Where output readers run (the supervisor waits for them at the end).
    pub(super) readers: &'a TaskTracker,
    /// Where probe tasks run.
    pub(super) probes: &'a tokio::runtime::Handle,
}

impl Launcher<'_> {
    /// Spawn the command of the instance at `index`; answer with the inputs that report
    /// the outcome.
    pub(super) fn spawn(&self, slots: &mut InstanceTable, index: usize) -> Vec<Input> {
        let Some(process_index) = slots[index].process else {
            return vec![Input::SpawnFailed(SpawnProblem::Removed)];
        };
        let process = &self.plan.processes[process_index];
        // Built for this spawn and dropped after it: slots keep the shared form.
        let env = slots[index].env.to_vec();
        let identity = match &self.accounts[process_index] {
            Ok(identity) => identity.as_ref(),
            Err(reason) => return vec![Input::SpawnFailed(SpawnProblem::Account(reason.clone()))],
        };
        // `state` directories exist before the program looks for its data (SPEC §9.2).
        let root = &self.plan.root;
        if let Err(reason) = crate::process::state_dirs::prepare(root, &process.state, identity) {
            return vec![Input::SpawnFailed(SpawnProblem::Os(reason))];
        }
        let probe = match &process.ready {
            None => None,
            Some(probe) => match ready::resolve(probe, &env, process.cwd.clone(), identity) {
                Ok(probe) => Some(probe),
                Err(error) => {
                    return vec![Input::SpawnFailed(SpawnProblem::Probe(
                        error.under("ready"),
                    ))];
                }
            },
        };
        let mut env = env;
        if let (Some(address), Some(port)) = (process.socket, process.port) {
            // Bound before the first instance starts, kept for the next ones.
            let address = std::net::SocketAddr::new(address, port);
            if let Err(error) = self.processes.listen(&process.name, address) {
                let holder = self.processes.port_holder(port);
                return vec![Input::SpawnFailed(SpawnProblem::Listen {
                    address,
                    error: error.to_string(),
                    holder,
                })];
            }
            env.push(("LISTEN_FDS".into(), "1".into()));
            env.push(("LISTEN_FDNAMES".into(), process.name.clone().into()));
        } else if let Some(port) = slots[index].instance.port
            && let Some(holder) = self.processes.port_holder(port)
        {
            return vec![Input::SpawnFailed(SpawnProblem::PortInUse { port, holder })];
        }
        let request = SpawnRequest {
            instance: &slots[index].instance.name,
            main: true,
            socket: process.socket.map(|_| process.name.as_str()),
            command: &process.command,
            cwd: &process.cwd,
            env: &env,
            identity,
            terminal: process.tty,
        };
        let child = match self.processes.spawn(&request) {
            Ok(child) => child,
            Err(error) => return vec![Input::SpawnFailed(SpawnProblem::Os(error.to_string()))],
        };
        slots.note_pid(child.pid, index);
        let run = slots[index].run + 1;
        super::silence::watch(&mut slots[index], run);
        let slot = &mut slots[index];
        slot.run = run;
        let current = slot.current.insert(super::slot::Run::default());
        let (watch, probe) = match probe {
            Some(ready::Probe::Log(pattern)) => {
                let (matched, seen) = oneshot::channel();
                let watch = reader::LineWatch { pattern, matched };
                (Some(watch), Some(ProbeTask::Seen(seen)))
            }
            Some(probe) => (None, Some(ProbeTask::Poll(probe))),
            None => (None, None),
        };
        if let Some(output) = child.output {
            let (events, pump) = (
                self.events.clone(),
                reader::pump(output, slot.sink.clone(), watch),
            );
            self.readers.spawn(async move {
                pump.await;
                let _ = events.send(Event::OutputClosed { slot: index, run });
            });
        } else if let Some(master) = child.terminal {
            let terminal = slot.terminal.get_or_insert_default().clone();
            let sink = slot.sink.clone();
            match super::terminal::read(master, terminal, sink, watch) {
                Ok(pump) => drop(self.readers.spawn(pump)),
                Err(error) => tracing::error!(%error, "cannot read a terminal"),
            }
        }
        let Some(probe) = probe else {
            return vec![Input::Spawned { pid: child.pid }, Input::Ready];
        };
        let (events, run) = (self.events.clone(), slot.run);
        let task = self.probes.spawn(async move {
            let passed = match probe {
                ProbeTask::Seen(seen) => seen.await.is_ok(),
                ProbeTask::Poll(probe) => {
                    let said = |reason| {
                        let _ = events.send(Event::ProbeSaid {
                            slot: index,
                            run,
                            reason,
                        });
                    };
                    ready::wait_until_ready(probe, said).await;
                    true
                }
            };
            if passed {
                let _ = events.send(Event::Ready { slot: index, run });
            }
        });
        current.probe = Some(task.abort_handle());
        vec![Input::Spawned { pid: child.pid }]
    }
}
