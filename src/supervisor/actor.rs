//! The supervisor task and the slots it owns (see the module docs in `mod.rs`).

use std::collections::{HashMap, VecDeque};
use std::ffi::OsString;
use std::io;
use std::sync::PoisonError;
use std::time::{Duration, Instant, SystemTime};

use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio_util::task::TaskTracker;

use super::lifecycle::{Action, Input, Report, State};
use super::order::Graph;
use super::requests::Waiter;
use super::slot::{Draining, Slot, SlotContext};
use crate::config::Plan;
use crate::control::endpoint::Claim;
use crate::control::protocol::{Progress, Snapshot};
use crate::control::server::{self, Answer, Call};
use crate::logs::history::{Batch, FEED_CAPACITY};
use crate::logs::printer::{Level, Printer};
use crate::process::guardian::Guardian;
use crate::process::reaper::{self, Exit};
use crate::process::{spawn, sweep};

/// How long proj waits, once every instance is stopped, for their output to drain.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(2);

/// How long after SIGKILL a process group may still look alive before proj stops
/// waiting for it (see [`Draining::give_up_at`]).
const KILL_GRACE: Duration = Duration::from_secs(1);

/// What `proj up` asks of the supervisor.
pub struct Options {
    /// Start only these processes or instances (and what they depend on); empty: every
    /// process with `autostart = true`.
    pub only: Vec<String>,
    pub printer: Printer,
    /// The project, claimed for this supervisor (see [`crate::control::endpoint`]).
    pub claim: Claim,
    /// Receives a [`Handle`] once the supervisor runs, for in-process clients (the TUI,
    /// systemd notifications).
    pub handle: Option<oneshot::Sender<Handle>>,
}

/// What an in-process client gets: the same requests the control socket serves, the
/// latest snapshot (a `watch` channel: a slow reader just sees the newest), and the
/// output feed.
#[derive(Clone)]
pub struct Handle {
    pub calls: mpsc::UnboundedSender<Call>,
    pub status: watch::Receiver<Snapshot>,
    pub feed: broadcast::Sender<Batch>,
}

/// Supervise `plan` until a shutdown completes.
pub async fn run(plan: Plan, options: Options) -> io::Result<()> {
    let (exits_sender, mut exits) = mpsc::unbounded_channel();
    reaper::start(exits_sender)?;
    let marker = format!(
        "{}-{:x}",
        std::process::id(),
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos()
    );
    let guardian = Guardian::spawn(&marker)?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    let mut hangup = signal(SignalKind::hangup())?;
    let (calls_sender, mut calls) = mpsc::unbounded_channel();
    server::start(&options.claim.socket, calls_sender.clone())?;

    let (events_sender, mut events) = mpsc::unbounded_channel();
    let mut supervisor = Supervisor::new(plan, &options, marker, events_sender);
    // Watchers live as long as the supervisor (reload brings them in line).
    supervisor
        .watches
        .sync(&supervisor.plan, &supervisor.events, &supervisor.printer);
    if let Some(handle) = options.handle {
        let _ = handle.send(Handle {
            calls: calls_sender,
            status: supervisor.status.subscribe(),
            feed: supervisor.feed.clone(),
        });
    }
    supervisor.start(&options.only, true);
    let mut watchdog = supervisor.systemd.watchdog_timer();
    loop {
        supervisor.start_ready_dependants();
        if supervisor.shutting_down {
            supervisor.advance_shutdown();
            if supervisor.all_stopped() {
                supervisor.publish_status();
                break;
            }
        }
        supervisor.answer_waiters();
        supervisor.publish_status();
        let deadline = supervisor.next_deadline();
        tokio::select! {
            Some(exit) = exits.recv() => supervisor.on_exit(exit),
            Some(event) = events.recv() => supervisor.on_event(event),
            Some(call) = calls.recv() => supervisor.on_call(call),
            Some(()) = interrupt.recv() => supervisor.on_stop_request("SIGINT"),
            Some(()) = terminate.recv() => supervisor.on_stop_request("SIGTERM"),
            Some(()) = hangup.recv() => supervisor.on_hangup(),
            // From this loop, not a task of its own: a stuck supervisor stops pinging.
            () = super::systemd::watchdog_due(&mut watchdog) => supervisor.systemd.watchdog(),
            () = sleep_until(deadline), if deadline.is_some() => {
                supervisor.on_timers(Instant::now());
            }
        }
    }
    supervisor.finish().await;
    let _ = std::fs::remove_file(&options.claim.socket);
    supervisor.answer_down().await;
    drop(guardian);
    Ok(())
}

async fn sleep_until(deadline: Option<Instant>) {
    if let Some(deadline) = deadline {
        tokio::time::sleep_until(deadline.into()).await;
    }
}

/// What the supervisor's own helpers (probe tasks, file watchers) tell it.
#[derive(Debug)]
pub enum Event {
    /// The readiness probe of `slot`'s run number `run` passed.
    Ready { slot: usize, run: u64 },
    /// A file that `process` watches changed: restart it (or start it again when it
    /// failed or finished).
    FileChanged {
        process: String,
        path: std::path::PathBuf,
    },
}

pub(super) struct Supervisor {
    pub(super) plan: Plan,
    pub(super) graph: Graph,
    pub(super) slots: Vec<Slot>,
    pub(super) by_pid: HashMap<i32, usize>,
    pub(super) printer: Printer,
    pub(super) readers: TaskTracker,
    /// proj's own environment, the base of every child's.
    pub(super) inherited: Vec<(OsString, OsString)>,
    /// Per process (plan order): the environment its instances share.
    pub(super) shared_env: Vec<crate::config::environment::Shared>,
    pub(super) marker: String,
    pub(super) events: mpsc::UnboundedSender<Event>,
    /// Every instance's output, for `logs -f` and (later) the TUI.
    pub(super) feed: broadcast::Sender<Batch>,
    /// Control requests answered once instances settle.
    pub(super) waiters: Vec<Waiter>,
    /// `proj down` callers, answered when the supervisor is done.
    pub(super) down_replies: Vec<oneshot::Sender<Answer>>,
    /// The latest snapshot, for watchers; refreshed after every event that changed
    /// something (see `changed`).
    pub(super) status: watch::Sender<Snapshot>,
    pub(super) changed: bool,
    pub(super) shutting_down: bool,
    /// Slots created so far (colours keep cycling across reloads).
    pub(super) created: usize,
    /// What systemd has been told (nothing happens when proj is not under systemd).
    pub(super) systemd: super::systemd::Link,
    /// The file watchers of processes with `watch` (see [`crate::watch`]).
    pub(super) watches: crate::watch::Watches,
}

impl Supervisor {
    fn new(
        plan: Plan,
        options: &Options,
        marker: String,
        events: mpsc::UnboundedSender<Event>,
    ) -> Supervisor {
        let inherited: Vec<(OsString, OsString)> = std::env::vars_os()
            .filter(|(key, _)| key != crate::process::SUPERVISOR_MARKER)
            .collect();
        let (feed, _) = broadcast::channel(FEED_CAPACITY);
        let (status, _) = watch::channel(Snapshot {
            project: plan.name.clone(),
            progress: Progress::Starting,
            instances: Vec::new(),
        });
        let shared_env = super::environment::for_plan(&inherited, &plan);
        let mut supervisor = Supervisor {
            status,
            changed: true,
            shared_env,
            graph: Graph::new(&plan),
            plan,
            slots: Vec::new(),
            by_pid: HashMap::new(),
            printer: options.printer.clone(),
            readers: TaskTracker::new(),
            inherited,
            marker,
            events,
            feed,
            waiters: Vec::new(),
            down_replies: Vec::new(),
            shutting_down: false,
            systemd: super::systemd::Link::from_env(),
            created: 0,
            watches: crate::watch::Watches::default(),
        };
        let instances: Vec<_> = supervisor
            .plan
            .processes
            .iter()
            .enumerate()
            .flat_map(|(index, process)| process.instances().into_iter().map(move |i| (index, i)))
            .collect();
        for (process, instance) in instances {
            supervisor.add_slot(process, instance);
        }
        supervisor
    }

    /// What a new slot (or a renamed one's sink) is made from.
    pub(super) fn slot_context(&self) -> SlotContext<'_> {
        SlotContext {
            plan: &self.plan,
            shared_env: &self.shared_env,
            marker: &self.marker,
            printer: &self.printer,
            feed: &self.feed,
        }
    }

    /// Add a slot for `instance` of `plan.processes[process]`; returns its index.
    pub(super) fn add_slot(&mut self, process: usize, instance: crate::config::Instance) -> usize {
        let slot = Slot::new(&self.slot_context(), process, instance, self.created);
        self.created += 1;
        self.slots.push(slot);
        self.slots.len() - 1
    }

    fn on_exit(&mut self, exit: Exit) {
        let Some(index) = self.by_pid.remove(&exit.pid) else {
            // An orphaned descendant re-parented to proj (perhaps the last member of a
            // draining group), or the guardian.
            tracing::debug!(pid = exit.pid, status = ?exit.status, "reaped a process that is not an instance");
            self.check_draining(exit.at);
            return;
        };
        if self.slots[index].machine.state() == State::Stopping && reaper::group_alive(exit.pid) {
            // The leader is gone; the rest of the group gets its stop timeout.
            self.slots[index].draining = Some(Draining {
                pgid: exit.pid,
                leader_exit: exit.status,
                give_up_at: None,
            });
            return;
        }
        reaper::undrain(exit.pid);
        self.apply(index, Input::Exited(exit.status), exit.at);
    }

    /// Finish the stop of every draining instance whose group is now empty.
    fn check_draining(&mut self, now: Instant) {
        for index in 0..self.slots.len() {
            if let Some(draining) = self.slots[index].draining
                && (!reaper::group_alive(draining.pgid)
                    || draining.give_up_at.is_some_and(|at| at <= now))
            {
                self.slots[index].draining = None;
                reaper::undrain(draining.pgid);
                self.apply(index, Input::Exited(draining.leader_exit), now);
            }
        }
    }

    fn on_event(&mut self, event: Event) {
        match event {
            Event::Ready { slot, run } => {
                if self.slots[slot].run == run {
                    self.apply(slot, Input::Ready, Instant::now());
                }
            }
            Event::FileChanged { process, path } => self.on_file_changed(&process, &path),
        }
    }

    /// A watched file changed: a graceful restart of the process's instances, through
    /// the same machine transitions as `proj restart`. A failed or finished instance
    /// starts again (a fix should bring it back); one stopped by request stays stopped.
    fn on_file_changed(&mut self, process: &str, path: &std::path::Path) {
        if self.shutting_down {
            return;
        }
        let now = Instant::now();
        let display = path.strip_prefix(&self.plan.root).unwrap_or(path);
        for index in 0..self.slots.len() {
            let slot = &self.slots[index];
            if slot.is_removed() || slot.instance.process != process {
                continue;
            }
            if matches!(
                slot.machine.state(),
                State::Stopped | State::Stopping | State::Pending
            ) {
                continue;
            }
            let text = format!(
                "{}: {} changed: restarting",
                slot.instance.name,
                display.display()
            );
            self.report_proj(Level::Info, text);
            self.apply(index, Input::Restart, now);
        }
    }

    fn on_timers(&mut self, now: Instant) {
        self.check_draining(now);
        for index in 0..self.slots.len() {
            if self.slots[index].timer.is_some_and(|at| at <= now) {
                self.slots[index].timer = None;
                self.apply(index, Input::Timer, now);
            }
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        self.slots
            .iter()
            .flat_map(|slot| [slot.timer, slot.draining.and_then(|d| d.give_up_at)])
            .flatten()
            .min()
    }

    /// Send watchers a new snapshot if anything changed since the last one.
    pub(super) fn publish_status(&mut self) {
        if std::mem::take(&mut self.changed) {
            let snapshot = self.snapshot();
            self.systemd.observe(&snapshot);
            self.status.send_if_modified(|current| {
                let modified = *current != snapshot;
                *current = snapshot;
                modified
            });
        }
    }

    /// SIGHUP: reload, as `proj reload` does; ignored while shutting down.
    fn on_hangup(&mut self) {
        if self.shutting_down {
            return;
        }
        let response = self.reload();
        if let Some(error) = response.error {
            self.report_proj(
                Level::Error,
                format!("SIGHUP: reload refused, nothing changed\n{error}"),
            );
        }
    }

    /// SIGINT or SIGTERM: the first stops everything in order, the next kills.
    pub(super) fn on_stop_request(&mut self, signal: &str) {
        let now = Instant::now();
        if self.shutting_down {
            self.report_proj(
                Level::Warning,
                format!("{signal} again: killing every process now"),
            );
            for index in 0..self.slots.len() {
                self.apply(index, Input::Kill, now);
            }
            return;
        }
        self.shutting_down = true;
        self.report_proj(
            Level::Info,
            format!("{signal}: stopping every process (press Ctrl-C again to kill them now)"),
        );
        for index in 0..self.slots.len() {
            self.slots[index].wanted = false;
            self.apply(index, Input::Retire, now);
        }
    }

    /// Ask each running instance to stop once nothing that depends on it is active.
    fn advance_shutdown(&mut self) {
        let now = Instant::now();
        for index in 0..self.slots.len() {
            if !matches!(
                self.slots[index].machine.state(),
                State::Starting | State::Running
            ) {
                continue;
            }
            let process = self.slots[index].process;
            if process == super::slot::REMOVED {
                self.apply(index, Input::Stop, now);
                continue;
            }
            let dependants_active = self.graph.dependants[process].iter().any(|&dependant| {
                self.slots
                    .iter()
                    .any(|slot| slot.process == dependant && slot.machine.state().is_active())
            });
            if !dependants_active {
                self.apply(index, Input::Stop, now);
            }
        }
    }

    fn all_stopped(&self) -> bool {
        !self
            .slots
            .iter()
            .any(|slot| slot.machine.state().is_active())
    }

    /// Feed `input` to an instance's machine and carry out the actions, including those
    /// that follow from the facts the actions produce (a spawn gives a pid).
    pub(super) fn apply(&mut self, index: usize, input: Input, now: Instant) {
        self.changed = true;
        let before = self.slots[index].machine.state();
        let mut inputs = VecDeque::from([input]);
        while let Some(input) = inputs.pop_front() {
            let actions = self.slots[index].machine.handle(input, now);
            for action in actions {
                match action {
                    Action::Spawn => inputs.extend(self.spawn(index)),
                    Action::Signal(signal) => {
                        if let Some(pid) = self.slots[index].machine.pid() {
                            // A stop: let the whole group finish, not just its leader.
                            reaper::drain(pid);
                            spawn::signal_group(pid, signal);
                        }
                        if signal == nix::sys::signal::Signal::SIGKILL
                            && let Some(draining) = &mut self.slots[index].draining
                        {
                            draining.give_up_at = Some(now + KILL_GRACE);
                        }
                    }
                    Action::SetTimer(at) => self.slots[index].timer = Some(at),
                    Action::CancelTimer => self.slots[index].timer = None,
                    Action::Report(report) => self.report(index, &report),
                }
            }
        }
        let after = self.slots[index].machine.state();
        if after != State::Starting
            && let Some(probe) = self.slots[index].probe.take()
        {
            probe.abort();
        }
        if after == State::Failed && before != State::Failed {
            if let Some(reason) = self.slots[index]
                .last_probe_failure
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take()
                .filter(|_| {
                    self.slots[index]
                        .machine
                        .failure()
                        .is_some_and(|f| f.contains("ready_timeout"))
                })
            {
                self.report_proj(
                    Level::Error,
                    format!(
                        "{}: the last probe said: {reason}",
                        self.slots[index].instance.name
                    ),
                );
            }
            self.report_to_dependants(index);
        }
    }

    pub(super) fn report(&self, index: usize, report: &Report) {
        let level = match report {
            Report::Failed(_) => Level::Error,
            Report::Exited(status) if !status.success() => Level::Warning,
            Report::StopTimedOut { .. } => Level::Warning,
            _ => Level::Info,
        };
        let name = &self.slots[index].instance.name;
        tracing::debug!(instance = %name, %report);
        self.printer.message(level, format!("{name}: {report}"));
    }

    pub(super) fn report_proj(&self, level: Level, text: String) {
        self.printer.message(level, text);
    }

    /// Every instance is stopped: kill descendants that escaped their process groups,
    /// let the output drain, flush the printer.
    async fn finish(&mut self) {
        let marker = self.marker.clone();
        let escaped = tokio::task::spawn_blocking(move || sweep::kill_marked(&marker))
            .await
            .unwrap_or(0);
        // Processes still dying from their group's SIGKILL are counted too: this is a
        // diagnostic, not a user message.
        tracing::debug!(escaped, "swept marked descendants");
        self.readers.close();
        if tokio::time::timeout(DRAIN_TIMEOUT, self.readers.wait())
            .await
            .is_err()
        {
            tracing::warn!("output still open after every process stopped");
        }
        self.report_proj(Level::Info, "all processes stopped".into());
        let printer = self.printer.clone();
        let _ = tokio::task::spawn_blocking(move || printer.flush(DRAIN_TIMEOUT)).await;
    }
}
