//! The supervisor task and what it owns (see the module docs of [`crate::supervisor`]):
//! the one `impl Supervisor`. Its loop (`run`), how it applies an input to an
//! instance's machine and carries out the actions, the exits it reaps, and the steps
//! the concerns around it return; [`requests`] is its arm for clients' requests.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use tokio::sync::{mpsc, oneshot, watch};
use tokio_util::task::TaskTracker;

mod requests;

use super::clock::now;
use super::command::{Answer, Command, Farewell, Refusal, Responder, ShutdownMode};
use super::edges::{
    Edges, Event, Inputs, Processes, ServiceManager, SignalEvent, SpawnRequest, Watching,
};
use super::failure::{Failure, RestartCause};
use super::lifecycle::{Action, Input, Report, State};
use super::order::Graph;
use super::reload::{Adopt, Adoption};
use super::slot::{Draining, Slot, SlotContext};
use super::snapshot::ReloadSummary;
use super::snapshot::{Progress, Snapshot};
use super::stack::Touched;
use super::step::Step;
use super::table::InstanceTable;
use crate::config::{Plan, StopTarget};
use crate::logs::feed::Feed;
use crate::logs::printer::{Level, Printer};
use crate::logs::reader::OutputSink;
use crate::process::identity::Identity;
use crate::process::reaper::Exit;

/// How long proj waits, once every instance is stopped, for their output to drain.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(2);

/// How long after SIGKILL a process group may still look alive before proj stops
/// waiting for it (see [`Draining::give_up_at`]).
const KILL_GRACE: Duration = Duration::from_secs(1);

/// `stop_target = "main"`: how long what is left of the group may take after SIGTERM,
/// once the main process has exited, before SIGKILL (SPEC: 2 s).
const LEFTOVERS_GRACE: Duration = Duration::from_secs(2);

/// How long the supervisor waits, at the very end, for its farewells to be written.
const FAREWELL_TIMEOUT: Duration = Duration::from_secs(1);

/// What `proj up` asks of the supervisor.
pub(crate) struct Options {
    /// Start only these processes or instances (and what they depend on); empty: every
    /// process with `autostart = true`.
    pub only: Vec<String>,
    pub printer: Printer,
    /// Receives a [`Handle`] once the supervisor runs, for in-process clients (the TUI).
    pub handle: Option<oneshot::Sender<Handle>>,
    /// `--exit-on-failure`: the first instance to become `failed` stops everything.
    pub exit_on_failure: bool,
    /// Where readiness and health probes run; `None`: the supervisor's own runtime
    /// (what the unit tests want: their clock is paused). `proj up` gives them a
    /// single-threaded runtime of their own: an attempt then wakes one thread, not the
    /// work-stealing pool (see `commands::up`).
    pub probes: Option<tokio::runtime::Handle>,
}

/// What an in-process client gets: the channel the control socket's requests go to, and
/// the latest snapshot (a `watch` channel: a slow reader just sees the newest).
#[derive(Clone)]
pub(crate) struct Handle {
    pub commands: mpsc::UnboundedSender<Command>,
    pub status: watch::Receiver<Snapshot>,
}

/// A supervisor that has stopped everything: the callers of `proj down` still wait for
/// their answer, which [`Finished::say_goodbye`] gives once the caller has done what
/// must come first (removing the socket, so a new `proj up` may start at once).
pub(crate) struct Finished {
    farewells: Vec<Responder>,
    /// With `exit_on_failure`: the instance whose failure ended the run, and why
    /// (`web: exited with code 3 …`).
    pub gave_up: Option<String>,
}

impl Finished {
    /// Answer every `down`/`kill` caller and wait (briefly) until each answer is written.
    pub(crate) async fn say_goodbye(self) {
        let mut written = Vec::new();
        for reply in self.farewells {
            let (done, wait) = oneshot::channel();
            if reply
                .send(Ok(Answer::Farewell(Farewell { written: done })))
                .is_ok()
            {
                written.push(wait);
            }
        }
        let all = async {
            for wait in written {
                let _ = wait.await;
            }
        };
        let _ = tokio::time::timeout(FAREWELL_TIMEOUT, all).await;
    }
}

/// Supervise `plan` on the given inputs until a shutdown completes.
pub(crate) async fn run(
    plan: Plan,
    options: Options,
    mut inputs: Inputs,
    edges: Edges,
) -> Finished {
    let (events_sender, mut events) = mpsc::unbounded_channel();
    let mut supervisor = Supervisor::new(plan, &options, edges, events_sender);
    // Watchers live as long as the supervisor (reload brings them in line).
    supervisor
        .watching
        .sync(&supervisor.plan, &supervisor.events, &supervisor.printer);
    if let Some(handle) = options.handle {
        let _ = handle.send(Handle {
            commands: inputs.command_sender.clone(),
            status: supervisor.status.subscribe(),
        });
    }
    supervisor.start(&options.only, true);
    let mut watchdog = watchdog_timer(supervisor.manager.watchdog_interval());
    loop {
        if let Some(failure) = supervisor.failed_first.clone()
            && !supervisor.shutting_down
        {
            supervisor.begin_shutdown(Some(format!(
                "--exit-on-failure: {failure}; stopping every process"
            )));
        }
        supervisor.changed |= super::schedule::arm(&mut supervisor.slots, &supervisor.plan, now());
        supervisor.start_ready_dependants();
        if supervisor.shutting_down {
            supervisor.advance_shutdown();
            if supervisor.all_stopped() {
                supervisor.publish_status();
                break;
            }
        }
        supervisor.advance_rolls();
        supervisor.waiters.answer(&super::stack::stack!(supervisor));
        supervisor
            .waits
            .answer(&super::stack::stack!(supervisor), now());
        supervisor.publish_status();
        let deadline = supervisor.next_deadline();
        tokio::select! {
            Some(exit) = inputs.exits.recv() => supervisor.on_exit(exit),
            Some(event) = events.recv() => supervisor.on_event(event),
            Some(command) = inputs.commands.recv() => supervisor.on_command(command),
            Some(signal) = inputs.signals.recv() => supervisor.on_signal(signal),
            Some(()) = inputs.members.recv() => supervisor.check_draining(now()),
            // From this loop, not a task of its own: a stuck supervisor stops pinging.
            () = watchdog_due(&mut watchdog) => supervisor.manager.watchdog(),
            () = sleep_until(deadline), if deadline.is_some() => supervisor.on_timers(now()),
        }
    }
    supervisor.finish().await
}

/// A timer for the service manager's watchdog, when it wants one.
fn watchdog_timer(period: Option<Duration>) -> Option<tokio::time::Interval> {
    let mut timer = tokio::time::interval(period?.max(Duration::from_millis(1)));
    // After a stall, one ping, not a burst: the manager only needs the latest.
    timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    Some(timer)
}

/// Completes when the next watchdog ping is due; never without a watchdog.
async fn watchdog_due(timer: &mut Option<tokio::time::Interval>) {
    match timer {
        Some(timer) => {
            timer.tick().await;
        }
        None => std::future::pending().await,
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    if let Some(deadline) = deadline {
        tokio::time::sleep_until(deadline.into()).await;
    }
}

/// The supervisor's state. Instances live in the [`InstanceTable`]; the fields here are
/// what surrounds them: the plan they come from, the edges, and the clients waiting for
/// answers.
pub(super) struct Supervisor {
    pub(super) plan: Plan,
    /// The plan's dependency edges, by process index.
    pub(super) graph: Graph,
    /// Per process (plan order): the account its instances run as, resolved once per
    /// plan (or why it cannot be switched to).
    pub(super) accounts: Vec<Result<Option<Identity>, String>>,
    pub(super) slots: InstanceTable,
    pub(super) processes: Arc<dyn Processes>,
    pub(super) printer: Printer,
    pub(super) readers: TaskTracker,
    /// Where probe tasks are spawned (see [`Options::probes`]).
    pub(super) probes: tokio::runtime::Handle,
    /// proj's own environment, the base of every child's.
    pub(super) inherited: Vec<(OsString, OsString)>,
    /// Per process (plan order): the environment its instances share.
    pub(super) shared_env: Vec<crate::config::environment::Shared>,
    pub(super) marker: String,
    pub(super) events: mpsc::UnboundedSender<Event>,
    /// Every instance's output, for `logs -f` and the TUI.
    pub(super) feed: Feed,
    /// proj's own lines: `.proj/logs/proj.log`, their history and the feed
    /// (`proj logs proj`). Every message of [`Self::printer`] goes here too.
    pub(super) proj_lines: Arc<OutputSink>,
    /// Requests answered once instances settle.
    pub(super) waiters: super::waiters::Waiters,
    /// `down`/`kill` callers, answered when the supervisor is done.
    pub(super) farewells: Vec<Responder>,
    /// The latest snapshot, for watchers; refreshed after every event that changed
    /// something (see `changed`).
    pub(super) status: watch::Sender<Snapshot>,
    pub(super) changed: bool,
    pub(super) shutting_down: bool,
    /// The service manager proj reports to (systemd, or nobody).
    pub(super) manager: Box<dyn ServiceManager>,
    /// What watches files for the processes with `watch` (see [`crate::watch`]).
    pub(super) watching: Box<dyn Watching>,
    /// `proj scale` counts that hold for the rest of the run (see [`super::scale`]).
    pub(super) scale: super::scale::Scale,
    /// Rolling restarts under way (see [`super::rolling`]).
    pub(super) rolls: super::rolling::Rolls,
    /// Every state change, for `proj events` and the progress of `up -d`.
    pub(super) changes: tokio::sync::broadcast::Sender<super::snapshot::Change>,
    /// `proj wait` and `up -d` callers (see [`super::answers`]).
    pub(super) waits: super::answers::Waits,
    /// When the supervisor started (the ready deadlines of `up -d` count from it).
    pub(super) started_at: Instant,
    /// `--exit-on-failure`.
    exit_on_failure: bool,
    /// The first instance that failed while `exit_on_failure` holds: `name: reason`.
    failed_first: Option<String>,
}

impl Supervisor {
    fn new(
        plan: Plan,
        options: &Options,
        edges: Edges,
        events: mpsc::UnboundedSender<Event>,
    ) -> Supervisor {
        // proj's own marker, and a socket activation of proj itself (under systemd), are
        // proj's, not its children's.
        let inherited: Vec<(OsString, OsString)> = std::env::vars_os()
            .filter(|(key, _)| {
                key != crate::process::SUPERVISOR_MARKER
                    && !["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"]
                        .map(OsString::from)
                        .contains(key)
            })
            .collect();
        let feed = Feed::new();
        let proj_lines = Arc::new(OutputSink {
            label: crate::logs::printer::Label::new(crate::logs::PROJ_NAME, 0),
            instance: Arc::from(crate::logs::PROJ_NAME),
            file: std::sync::Mutex::new(crate::logs::file::LogFile::new(
                crate::layout::proj_log(&plan.root),
                plan.log_max_size,
                plan.log_backups,
            )),
            printer: None,
            history: std::sync::Mutex::new(crate::logs::history::History::default()),
            feed: feed.clone(),
            delivered: std::sync::atomic::AtomicU64::new(0),
        });
        let (status, _) = watch::channel(Snapshot {
            project: plan.name.clone(),
            taken_ms: None,
            progress: Progress::Starting,
            instances: Vec::new(),
        });
        let shared_env = crate::config::environment::for_plan(&inherited, &plan);
        let scale = super::scale::Scale::new(&plan);
        let mut supervisor = Supervisor {
            status,
            changed: true,
            shared_env,
            graph: Graph::new(&plan),
            accounts: resolve_accounts(&plan),
            plan,
            slots: InstanceTable::default(),
            printer: options.printer.clone().recording(proj_lines.clone()),
            proj_lines,
            readers: TaskTracker::new(),
            probes: options
                .probes
                .clone()
                .unwrap_or_else(tokio::runtime::Handle::current),
            inherited,
            marker: edges.processes.marker().to_string(),
            processes: edges.processes,
            events,
            feed,
            waiters: super::waiters::Waiters::default(),
            farewells: Vec::new(),
            shutting_down: false,
            manager: edges.manager,
            watching: edges.watching,
            scale,
            exit_on_failure: options.exit_on_failure,
            failed_first: None,
            changes: tokio::sync::broadcast::channel(super::answers::CHANGES_CAPACITY).0,
            waits: super::answers::Waits::default(),
            started_at: now(),
            rolls: super::rolling::Rolls::default(),
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

    /// Adopt a new plan (a reload): its dependency edges, environments and accounts.
    pub(super) fn adopt(&mut self, plan: Plan) -> Plan {
        let old = std::mem::replace(&mut self.plan, plan);
        // A socket is kept while its process keeps its address; running instances keep
        // their own copy of one that closes here.
        for process in old.processes.iter().filter(|p| p.socket.is_some()) {
            let kept = self.plan.processes.iter().any(|new| {
                new.name == process.name && new.socket == process.socket && new.port == process.port
            });
            if !kept {
                self.processes.close_listener(&process.name);
            }
        }
        self.graph = Graph::new(&self.plan);
        self.accounts = resolve_accounts(&self.plan);
        self.shared_env = crate::config::environment::for_plan(&self.inherited, &self.plan);
        old
    }

    /// Reload the config file; the answer says what changed (and which instances it
    /// restarted or started, with their run numbers before, for a caller that waits
    /// for them), or why nothing did.
    pub(super) fn reload(&mut self) -> Result<(ReloadSummary, Vec<Touched>), Refusal> {
        self.manager.reloading();
        let plan = match crate::config::load_with(&self.plan.source, &self.plan.options) {
            Ok(plan) => plan,
            Err(error) => {
                self.manager.reload_refused();
                return Err(Refusal::InvalidConfig(error.render(false)));
            }
        };
        let plan = self.scale.keep_runtime(plan);
        let (summary, touched) = self.apply_plan(plan);
        // Even when nothing changed, the next snapshot ends the reload for systemd.
        self.changed = true;
        self.report_proj(Level::Info, super::reload::describe(&summary));
        Ok((summary, touched))
    }

    /// Make `new` the plan: restart what changed, start what is new, stop what is gone
    /// (see [`super::reload`]). Also the instances touched, with their run numbers
    /// before, for a caller that waits until they settle.
    pub(super) fn apply_plan(&mut self, new: Plan) -> (ReloadSummary, Vec<Touched>) {
        let old = self.adopt(new);
        let context = SlotContext {
            plan: &self.plan,
            shared_env: &self.shared_env,
            marker: &self.marker,
            printer: &self.printer,
            feed: &self.feed,
        };
        let Adoption {
            mut summary,
            mut touched,
            actions,
            to_start,
        } = super::reload::adopt(&mut self.slots, &context, &old);
        let now = now();
        for action in actions {
            match action {
                Adopt::Apply(index, input) => self.apply(index, input, now),
                Adopt::Refresh(index) => self.refresh_checks(index, now),
                Adopt::Roll(rolled) => self.roll(&rolled, "reload", RestartCause::Reload),
            }
        }
        // What the new instances depend on starts too: say so, even when it had been
        // stopped on purpose, and wait for it like for them.
        let idle_before: Vec<usize> = self
            .slots
            .live()
            .filter(|&index| !self.slots[index].wanted && !touched.iter().any(|t| t.index == index))
            .collect();
        self.start(&to_start, false);
        for index in idle_before {
            if self.slots[index].wanted {
                summary
                    .started
                    .push(self.slots[index].instance.name.clone());
                touched.push(Touched::new(&self.slots, index));
            }
        }
        self.watching.sync(&self.plan, &self.events, &self.printer);
        (summary, touched)
    }

    /// Add a slot for `instance` of `plan.processes[process]`; returns its index.
    pub(super) fn add_slot(&mut self, process: usize, instance: crate::config::Instance) -> usize {
        let context = SlotContext {
            plan: &self.plan,
            shared_env: &self.shared_env,
            marker: &self.marker,
            printer: &self.printer,
            feed: &self.feed,
        };
        self.slots
            .add(|color| Slot::new(&context, process, instance, color))
    }

    fn on_exit(&mut self, exit: Exit) {
        let Some(index) = self.slots.take_pid(exit.pid) else {
            // An orphaned descendant re-parented to proj (the intermediate of a double
            // fork, the last member of a finishing instance), a stop command, or the
            // guardian.
            tracing::debug!(pid = exit.pid, status = ?exit.status, "reaped a process that is not an instance");
            self.processes.release_group(exit.pid);
            self.check_draining(exit.at);
            return;
        };
        if self.slots[index].machine.state() == State::Stopping {
            // The main process is gone; what left the group got none of the stop
            // sequence: it is told now (and, without cgroups, looked for).
            self.processes.signal_escaped(exit.pid, Signal::SIGTERM);
            if self.processes.alive(exit.pid) {
                // The rest of the instance gets the rest of its stop sequence. With
                // `stop_target = "main"`, the sequence was the main process's alone:
                // everything left is told to stop now, and killed soon.
                let main_only = self.slots[index].process.is_some_and(|process| {
                    self.plan.processes[process].lifecycle.stop_target == StopTarget::Main
                });
                let kill_at = main_only.then(|| {
                    self.processes.signal_group(exit.pid, Signal::SIGTERM);
                    exit.at + LEFTOVERS_GRACE
                });
                self.drain(
                    index,
                    Draining {
                        pgid: exit.pid,
                        leader_exit: exit.status,
                        kill_at,
                        give_up_at: None,
                    },
                );
                return;
            }
        } else {
            let ran = self.slots[index]
                .machine
                .started_at()
                .map_or(Duration::MAX, |at| exit.at.saturating_duration_since(at));
            let tty = self.slots[index]
                .process
                .is_some_and(|process| self.plan.processes[process].tty);
            let hint = super::silence::on_exit(&mut self.slots[index], tty, exit.status, ran);
            self.take_steps(hint.into_iter().collect());
            // The main process ended on its own: the instance is over, and whatever it
            // started ends with it (a daemon it forked lived as long as it did).
            self.processes.end(exit.pid);
            if self.processes.alive(exit.pid) {
                self.drain(
                    index,
                    Draining {
                        pgid: exit.pid,
                        leader_exit: exit.status,
                        kill_at: None,
                        give_up_at: Some(exit.at + KILL_GRACE),
                    },
                );
                return;
            }
        }
        self.processes.release_group(exit.pid);
        self.apply(index, Input::Exited(exit.status), exit.at);
    }

    /// The main process of instance `index` is gone, and the rest of it is finishing.
    fn drain(&mut self, index: usize, draining: Draining) {
        if let Some(run) = &mut self.slots[index].current {
            run.draining = Some(draining);
        }
    }

    /// Finish the stop of every draining instance whose processes are all gone; SIGKILL
    /// the leftovers whose grace ran out.
    pub(super) fn check_draining(&mut self, now: Instant) {
        for index in 0..self.slots.len() {
            if let Some(draining) = self.slots[index].draining_mut()
                && draining.kill_at.is_some_and(|at| at <= now)
            {
                draining.kill_at = None;
                draining.give_up_at = Some(now + KILL_GRACE);
                let pgid = draining.pgid;
                self.processes.end(pgid);
            }
            if let Some(draining) = self.slots[index].draining_mut().copied()
                && (!self.processes.alive(draining.pgid)
                    || draining.give_up_at.is_some_and(|at| at <= now))
            {
                if let Some(run) = &mut self.slots[index].current {
                    run.draining = None;
                }
                self.processes.release_group(draining.pgid);
                self.apply(index, Input::Exited(draining.leader_exit), now);
            }
        }
    }

    fn on_event(&mut self, event: Event) {
        match event {
            Event::Ready { slot, run } => {
                if self.slots[slot].run == run {
                    self.apply(slot, Input::Ready, now());
                }
            }
            Event::ProbeSaid { slot, run, reason } => {
                if self.slots[slot].run == run {
                    self.slots[slot].last_probe = Some(format!("readiness probe: {reason}"));
                    if let Some(run) = &mut self.slots[slot].current {
                        run.last_probe_failure = Some(reason);
                    }
                }
            }
            Event::Health { slot, run, report } => {
                let (changed, step) =
                    super::health::on_report(&mut self.slots[slot], slot, run, report);
                self.changed |= changed;
                self.take_steps(step.into_iter().collect());
            }
            Event::FileChanged { process, path } => self.on_file_changed(&process, &path),
            Event::OutputClosed { slot, run } => {
                let hint = super::silence::on_output_closed(&mut self.slots[slot], run);
                self.take_steps(hint.into_iter().collect());
            }
        }
    }

    /// A watched file changed: a graceful restart of the process's instances, through
    /// the same machine transitions as `proj restart`. A failed or finished instance
    /// starts again (a fix should bring it back); one stopped by request stays stopped.
    fn on_file_changed(&mut self, process: &str, path: &std::path::Path) {
        if self.shutting_down {
            return;
        }
        let now = now();
        let display = path.strip_prefix(&self.plan.root).unwrap_or(path);
        let mut rolled = Vec::new();
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
            if super::rolling::rolls_restarts(&self.plan, slot.process) {
                rolled.push(index);
                continue;
            }
            let text = format!(
                "{}: {} changed: restarting",
                slot.instance.name,
                display.display()
            );
            self.report_proj(Level::Info, text);
            self.apply(index, Input::Restart(RestartCause::FileChange), now);
        }
        if !rolled.is_empty() {
            self.roll(
                &rolled,
                &format!("{} changed", display.display()),
                RestartCause::FileChange,
            );
        }
    }

    fn on_timers(&mut self, now: Instant) {
        self.check_draining(now);
        let steps = super::usage::check_memory(&mut self.slots, &self.plan, &*self.processes, now);
        self.take_steps(steps);
        let (came, steps) =
            super::schedule::due(&mut self.slots, &self.plan, now, self.shutting_down);
        self.changed |= came;
        self.take_steps(steps);
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
            .flat_map(|slot| {
                let draining = slot.current.as_ref().and_then(|run| run.draining.as_ref());
                [
                    slot.timer,
                    draining.and_then(|d| d.give_up_at),
                    draining.and_then(|d| d.kill_at),
                ]
            })
            .flatten()
            .chain(super::usage::memory_deadline(&self.slots))
            .chain(super::schedule::deadline(&self.slots))
            .chain(self.waits.deadline(&self.stack()))
            .min()
    }

    /// Send watchers a new snapshot if anything changed since the last one.
    pub(super) fn publish_status(&mut self) {
        if std::mem::take(&mut self.changed) {
            let snapshot = self.snapshot();
            self.manager.observe(&snapshot);
            self.status.send_if_modified(|current| {
                let modified = *current != snapshot;
                *current = snapshot;
                modified
            });
        }
    }

    fn on_signal(&mut self, signal: SignalEvent) {
        match signal {
            SignalEvent::Hangup => self.on_hangup(),
            SignalEvent::Interrupt | SignalEvent::Terminate => {
                if self.shutting_down {
                    self.kill_all(&format!("{} again", signal.name()));
                } else {
                    self.begin_shutdown(Some(format!(
                        "{}: stopping every process (press Ctrl-C again to kill them now)",
                        signal.name()
                    )));
                }
            }
        }
    }

    /// SIGHUP: reload, as `proj reload` does; ignored while shutting down.
    fn on_hangup(&mut self) {
        if self.shutting_down {
            return;
        }
        // Nobody waits for the answer: systemd hears of the end through READY=1.
        if let Err(refusal) = self.reload() {
            self.report_proj(
                Level::Error,
                format!("SIGHUP: reload refused, nothing changed\n{refusal}"),
            );
        }
    }

    /// `proj down`, `q`, a second Ctrl-C in the TUI: stop (or kill) everything and end.
    pub(super) fn on_shutdown(&mut self, mode: ShutdownMode, reply: Responder) {
        self.farewells.push(reply);
        match mode {
            ShutdownMode::Graceful if !self.shutting_down => {
                self.begin_shutdown(Some("proj down: stopping every process".into()));
            }
            ShutdownMode::Graceful => {}
            ShutdownMode::Kill => {
                if !self.shutting_down {
                    self.begin_shutdown(None);
                }
                self.kill_all("kill");
            }
        }
    }

    /// Stop everything in reverse dependency order: nothing starts again, and each
    /// running instance is asked to stop once nothing that depends on it is active
    /// ([`Self::advance_shutdown`]).
    fn begin_shutdown(&mut self, message: Option<String>) {
        self.shutting_down = true;
        if let Some(message) = message {
            self.report_proj(Level::Info, message);
        }
        let now = now();
        for index in 0..self.slots.len() {
            self.slots[index].wanted = false;
            self.apply(index, Input::Retire, now);
        }
    }

    /// SIGKILL to every process group now.
    fn kill_all(&mut self, cause: &str) {
        self.report_proj(
            Level::Warning,
            format!("{cause}: killing every process now"),
        );
        let now = now();
        for index in 0..self.slots.len() {
            self.apply(index, Input::Kill, now);
        }
    }

    /// Ask each running instance to stop once nothing that depends on it, directly or
    /// through a process in between (an exited oneshot), is active.
    fn advance_shutdown(&mut self) {
        let now = now();
        for index in 0..self.slots.len() {
            if !matches!(
                self.slots[index].machine.state(),
                State::Starting | State::Running
            ) {
                continue;
            }
            let Some(process) = self.slots[index].process else {
                self.apply(index, Input::Stop, now);
                continue;
            };
            let dependants_active = self.graph.downstream[process].iter().any(|&dependant| {
                self.slots
                    .of_process(dependant)
                    .any(|slot| slot.machine.state().is_active())
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
                    Action::Spawn => {
                        let launcher = super::launch::Launcher {
                            plan: &self.plan,
                            accounts: &self.accounts,
                            processes: &*self.processes,
                            events: &self.events,
                            readers: &self.readers,
                            probes: &self.probes,
                        };
                        inputs.extend(launcher.spawn(&mut self.slots, index));
                    }
                    Action::Signal(signal) => self.signal(index, signal, now),
                    Action::SignalMain(signal) => self.signal_main(index, signal),
                    Action::RunStopCommand(command) => self.run_stop_command(index, &command),
                    Action::SetTimer(at) => self.slots[index].timer = Some(at),
                    Action::CancelTimer => self.slots[index].timer = None,
                    Action::Report(report) => self.report(index, &report),
                }
            }
        }
        let after = self.slots[index].machine.state();
        if after != State::Starting
            && let Some(probe) = self.slots[index]
                .current
                .as_mut()
                .and_then(|run| run.probe.take())
        {
            probe.abort();
        }
        self.follow_state(index, before, after, now);
        if before != after {
            let change = self.stack().change_of(index);
            super::answers::note_change(&mut self.slots, &self.changes, index, change);
        }
        if after == State::Failed && before != State::Failed {
            let said =
                (self.slots[index].current.as_mut()).and_then(|run| run.last_probe_failure.take());
            if let (Some(Failure::ReadyTimeout { .. }), Some(said)) =
                (self.slots[index].machine.failure(), said)
            {
                self.report_proj(
                    Level::Error,
                    format!(
                        "{}: the last probe said: {said}",
                        self.slots[index].instance.name
                    ),
                );
            }
            let told = super::dependencies::tell_dependants(&self.stack(), index);
            self.take_steps(told);
            if self.exit_on_failure
                && !self.shutting_down
                && self.failed_first.is_none()
                && let Some(failure) = self.slots[index].machine.failure()
            {
                let name = &self.slots[index].instance.name;
                self.failed_first = Some(format!("{name}: {failure}"));
            }
        }
        // The machine took the exit and started no new process: the run is over.
        if self.slots[index].machine.pid().is_none() {
            self.slots[index].current = None;
        }
    }

    /// Signal an instance's process group (a stop lets the whole group finish, not just
    /// its leader); SIGKILL ends every process of the instance, in its group or not.
    fn signal(&mut self, index: usize, signal: Signal, now: Instant) {
        if let Some(pid) = self.slots[index].machine.pid() {
            self.processes.spare_group(pid);
            if signal == Signal::SIGKILL {
                self.processes.end(pid);
            } else {
                self.processes.signal_group(pid, signal);
            }
            if needs_continue(signal) {
                self.processes.signal_group(pid, Signal::SIGCONT);
            }
        }
        if signal == Signal::SIGKILL
            && let Some(draining) = self.slots[index].draining_mut()
        {
            draining.give_up_at = Some(now + KILL_GRACE);
        }
    }

    /// `stop_target = "main"`: signal the process proj spawned, not its group. The rest
    /// of the group is left to it (the reaper spares the group while it stops), and
    /// whatever is left once it exits gets SIGTERM, then SIGKILL ([`Self::on_exit`]).
    fn signal_main(&mut self, index: usize, signal: Signal) {
        let slot = &self.slots[index];
        if let Some(pid) = slot.machine.pid()
            && slot
                .current
                .as_ref()
                .is_none_or(|run| run.draining.is_none())
        {
            // Only while the main process is unreaped: its pid cannot have been reused.
            self.processes.spare_group(pid);
            self.processes.signal_process(pid, signal);
            if needs_continue(signal) {
                self.processes.signal_process(pid, Signal::SIGCONT);
            }
        }
    }

    /// A stop step's command: `sh -c COMMAND` with the instance's environment and
    /// working directory, its output in the instance's log. It runs to its end: the
    /// reaper collects it like any descendant, and the final sweep kills it if it is
    /// still running when proj ends.
    fn run_stop_command(&mut self, index: usize, command: &str) {
        let Some(process) = self.slots[index].process else {
            return;
        };
        let spec = &self.plan.processes[process];
        let env = self.slots[index].env.to_vec();
        let identity = self.accounts[process]
            .as_ref()
            .ok()
            .and_then(Option::as_ref);
        let request = SpawnRequest {
            instance: &self.slots[index].instance.name,
            main: false,
            socket: None,
            command,
            cwd: &spec.cwd,
            env: &env,
            identity,
            terminal: false,
        };
        match self.processes.spawn(&request) {
            Ok(spawned) => {
                if let Some(output) = spawned.output {
                    let sink = self.slots[index].sink.clone();
                    self.readers
                        .spawn(crate::logs::reader::pump(output, sink, None));
                }
            }
            Err(error) => {
                let name = &self.slots[index].instance.name;
                self.report_proj(
                    Level::Warning,
                    format!("{name}: the stop command `{command}` cannot be run: {error}"),
                );
            }
        }
    }

    pub(super) fn report(&self, index: usize, report: &Report) {
        let level = match report {
            Report::Failed(_) => Level::Error,
            Report::Exited(status) if !status.success() => Level::Warning,
            Report::StopTimedOut { .. } | Report::Trouble(_) => Level::Warning,
            _ => Level::Info,
        };
        let name = &self.slots[index].instance.name;
        tracing::debug!(instance = %name, %report);
        self.printer.message(level, format!("{name}: {report}"));
    }

    /// Mark `only` (and what it depends on) as wanted; [`Self::start_ready_dependants`]
    /// starts them in dependency order.
    pub(super) fn start(&mut self, only: &[String], initial: bool) {
        super::dependencies::mark_wanted(&mut self.slots, &self.plan, &self.graph, only, initial);
    }

    /// Start every wanted instance whose dependencies are satisfied; the others wait in
    /// `pending`, told why.
    pub(super) fn start_ready_dependants(&mut self) {
        if self.shutting_down {
            return;
        }
        for index in 0..self.slots.len() {
            match super::dependencies::readiness(&self.stack(), index) {
                super::dependencies::Readiness::Start => {
                    self.slots[index].wanted = false;
                    self.apply(index, Input::Start, now());
                }
                super::dependencies::Readiness::Wait(said) => {
                    self.apply(index, Input::Wait, now());
                    self.take_steps(said);
                }
                super::dependencies::Readiness::Unchanged => {}
            }
        }
    }

    /// Start or end what watches instance `index` while it runs (its `health` task, its
    /// `max_memory` samples), after a transition from `before` to `after`.
    pub(super) fn follow_state(&mut self, index: usize, before: State, after: State, now: Instant) {
        let spec = self.slots[index]
            .process
            .map(|process| &self.plan.processes[process]);
        let check = super::health::follow_state(&mut self.slots[index], spec, before, after, now);
        self.start_health(index, check);
    }

    /// A reload changed `health` or `max_memory` of instance `index` (and nothing that
    /// needs a restart): apply them as it runs.
    pub(super) fn refresh_checks(&mut self, index: usize, now: Instant) {
        let spec = self.slots[index]
            .process
            .map(|process| &self.plan.processes[process]);
        let check = super::health::refresh(&mut self.slots[index], spec, now);
        self.start_health(index, check);
        self.changed = true;
    }

    fn start_health(&mut self, index: usize, check: Option<crate::config::HealthCheck>) {
        let (Some(check), Some(process)) = (check, self.slots[index].process) else {
            return;
        };
        let identity = self.accounts[process]
            .as_ref()
            .ok()
            .and_then(Option::as_ref);
        let probing = super::health::Probing {
            runtime: &self.probes,
            events: &self.events,
        };
        let cwd = self.plan.processes[process].cwd.clone();
        let said = super::health::start(
            &mut self.slots[index],
            index,
            check,
            cwd,
            identity,
            &probing,
        );
        self.take_steps(said.into_iter().collect());
    }

    /// The instances as the concerns read them.
    pub(super) fn stack(&self) -> super::stack::Stack<'_> {
        super::stack::stack!(self)
    }

    /// Restart `targets` as a rolling restart (see [`super::rolling`]).
    pub(super) fn roll(&mut self, targets: &[usize], cause: &str, why: RestartCause) {
        let steps = self
            .rolls
            .begin(&self.slots, &self.plan, targets, cause, why);
        self.take_steps(steps);
        self.advance_rolls();
    }

    /// Move every roll on as far as the states allow.
    pub(super) fn advance_rolls(&mut self) {
        loop {
            let steps = self.rolls.advance(&mut self.slots, self.shutting_down);
            let moved = steps.iter().any(|step| matches!(step, Step::Apply(..)));
            self.take_steps(steps);
            if !moved {
                return;
            }
        }
    }

    /// Do what a concern asked for.
    pub(super) fn take_steps(&mut self, steps: Vec<Step>) {
        let now = now();
        for step in steps {
            match step {
                Step::Apply(index, input) => self.apply(index, input, now),
                Step::Start(name) => self.start(&[name], false),
                Step::Say(level, text) => self.report_proj(level, text),
            }
        }
    }

    pub(super) fn report_proj(&self, level: Level, text: String) {
        self.printer.message(level, text);
    }

    /// Every instance is stopped: kill descendants that escaped their process groups,
    /// let the output drain, flush the printer, tell the waiters.
    async fn finish(mut self) -> Finished {
        let processes = self.processes.clone();
        let escaped = tokio::task::spawn_blocking(move || processes.sweep())
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
        self.waiters.refuse_all();
        self.waits.refuse_all();
        Finished {
            farewells: std::mem::take(&mut self.farewells),
            gave_up: self.failed_first.take(),
        }
    }
}

/// Each process's `scale`, by name.
/// The account of each process of `plan`, looked up once.
fn resolve_accounts(plan: &Plan) -> Vec<Result<Option<Identity>, String>> {
    plan.processes
        .iter()
        .map(|process| Identity::resolve(process.user.as_deref(), process.group.as_deref()))
        .collect()
}

/// Whether `signal` is followed by SIGCONT, as systemd follows its KillSignal: a process
/// suspended with SIGSTOP (a debugger, `kill -STOP`, a health check's culprit frozen on
/// purpose) cannot act on SIGTERM until it is continued, and would otherwise be killed
/// after the whole stop timeout instead of shutting down cleanly. SIGKILL needs no
/// continuing; a process that runs only sees a SIGCONT, which does nothing by default.
/// Never after a stop signal (SIGTSTP, a `stop_sequence` step that Celery-style workers
/// trap; SIGSTOP, SIGTTIN, SIGTTOU): the kernel discards a pending stop signal when
/// SIGCONT is sent, so the step would never arrive.
fn needs_continue(signal: Signal) -> bool {
    !matches!(
        signal,
        Signal::SIGKILL
            | Signal::SIGCONT
            | Signal::SIGSTOP
            | Signal::SIGTSTP
            | Signal::SIGTTIN
            | Signal::SIGTTOU
    )
}
