//! The lifecycle of one instance as a pure state machine.
//!
//! # Theory of operation
//!
//! [`Lifecycle::handle`] takes the instance's current state, one [`Input`] (a request such
//! as start or stop, or a fact such as "the process exited with code 3") and the current
//! monotonic time, and returns the [`Action`]s the caller must perform: spawn the command,
//! signal its process group, arm or cancel the instance's single timer, report a message.
//! It never touches a process, a clock or a file, so every transition is unit-tested below
//! with made-up instants and no sleeps.
//!
//! Each instance has at most one timer, whose meaning depends on the state: in `backoff`
//! it is the restart delay, in `stopping` the stop timeout (then SIGKILL), in `starting`
//! the ready timeout. Arming a timer replaces the previous one.
//!
//! Restart policy: after an exit that the policy says to restart, the instance waits the
//! current backoff (starting at `backoff`, doubling up to `backoff_max`, back to `backoff`
//! once a run lasted at least `backoff_max`), unless `max_restarts` restarts already
//! happened within the last `restart_window`, in which case it is `failed`. Every restart
//! counts, whether the process crashed while starting or after it had been running for a
//! while: a service that flaps every few seconds is a crash loop too.

use std::collections::VecDeque;
use std::fmt;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use super::failure::{Failure, RestartCause, SpawnProblem, Trouble};
use crate::config::{Lifecycle as Settings, RestartPolicy, StopAction, StopTarget};
pub(crate) use crate::process::{ExitStatus, signal_name};

/// The SPEC §3 states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Pending,
    Starting,
    Running,
    Backoff,
    Stopping,
    Stopped,
    Exited,
    Failed,
}

impl State {
    /// Every state, in the order a reader cares about them: what works, what is on its
    /// way, what is not working (the TUI's header and systemd's `STATUS=` count them so).
    pub const BY_CONCERN: [State; 8] = [
        State::Running,
        State::Starting,
        State::Pending,
        State::Backoff,
        State::Stopping,
        State::Stopped,
        State::Exited,
        State::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Starting => "starting",
            State::Running => "running",
            State::Backoff => "backoff",
            State::Stopping => "stopping",
            State::Stopped => "stopped",
            State::Exited => "exited",
            State::Failed => "failed",
        }
    }

    /// A process exists (or is about to be respawned) for this instance.
    pub fn is_active(self) -> bool {
        matches!(
            self,
            State::Starting | State::Running | State::Stopping | State::Backoff
        )
    }

    /// A process is alive for this instance.
    pub fn has_process(self) -> bool {
        matches!(self, State::Starting | State::Running | State::Stopping)
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Something that happened to the instance, or that someone asked of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Input {
    /// Its dependencies are not ready yet: wait in `pending`.
    Wait,
    /// Start it (its dependencies are satisfied). Resets the restart budget.
    Start,
    /// Stop it gracefully: its stop sequence, then SIGKILL after the last step's wait.
    Stop,
    /// Stop it if it runs, then start it, for this reason.
    Restart(RestartCause),
    /// SIGKILL now (the second Ctrl-C).
    Kill,
    /// proj is shutting down: never start again. What waits to start is `stopped` now;
    /// a process that exits from here on is `stopped`, not restarted. The process itself
    /// keeps running until its [`Input::Stop`], which comes in dependency order.
    Retire,
    /// The spawn requested by [`Action::Spawn`] succeeded.
    Spawned { pid: i32 },
    /// The spawn requested by [`Action::Spawn`] failed.
    SpawnFailed(SpawnProblem),
    /// The readiness probe passed (or there is none).
    Ready,
    /// The process (its group leader) exited.
    Exited(ExitStatus),
    /// The instance's timer fired.
    Timer,
    /// It runs but is not well (its health check failed, it uses too much memory): a
    /// graceful stop, then a restart as after a crash (backoff, `max_restarts`).
    Trouble(Trouble),
}

/// What the caller must do after a transition, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Action {
    /// Spawn the command; answer with [`Input::Spawned`] or [`Input::SpawnFailed`].
    Spawn,
    /// Send this signal to the instance's process group.
    Signal(Signal),
    /// Send this signal to the instance's main process only (`stop_target = "main"`).
    SignalMain(Signal),
    /// Run this stop command with the instance's environment and working directory.
    RunStopCommand(String),
    /// Fire [`Input::Timer`] at this instant, replacing any armed timer.
    SetTimer(Instant),
    /// Disarm the timer.
    CancelTimer,
    /// Tell the user.
    Report(Report),
}

/// A message for the user about one instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Report {
    Started {
        pid: i32,
    },
    /// The readiness probe passed this long after the spawn.
    Ready {
        after: Duration,
    },
    Exited(ExitStatus),
    Restarting {
        delay: Duration,
    },
    /// The stop sequence began with this step.
    Stopping {
        first: StopAction,
    },
    /// A step's wait ran out; the next step begins.
    StopStepTimedOut {
        waited: Duration,
        previous: StopAction,
        next: StopAction,
    },
    /// The last step's wait ran out: SIGKILL.
    StopTimedOut {
        timeout: Duration,
        last: StopAction,
    },
    Stopped,
    Failed(Failure),
    /// A running instance is stopped to be restarted, for this reason.
    Trouble(Trouble),
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Report::Started { pid } => write!(f, "started pid {pid}"),
            Report::Ready { after } => {
                write!(f, "ready after {}", crate::units::short_duration(*after))
            }
            Report::Exited(status) => write!(f, "{status}"),
            Report::Restarting { delay } => {
                write!(f, "restarting in {}", humantime::format_duration(*delay))
            }
            Report::Stopping { first } => write!(f, "stopping ({})", doing(first)),
            Report::StopStepTimedOut {
                waited,
                previous,
                next,
            } => write!(
                f,
                "still running {} after {}: {}",
                humantime::format_duration(*waited),
                done(previous),
                match next {
                    StopAction::Signal(signal) => format!("sending SIG{}", signal_name(*signal)),
                    StopAction::Command(_) => doing(next),
                }
            ),
            Report::StopTimedOut { timeout, last } => write!(
                f,
                "still running {} after {}: sending SIGKILL",
                humantime::format_duration(*timeout),
                match last {
                    StopAction::Signal(_) => "the stop signal".to_string(),
                    StopAction::Command(_) => done(last),
                }
            ),
            Report::Stopped => f.write_str("stopped"),
            Report::Failed(reason) => write!(f, "failed: {reason}"),
            Report::Trouble(trouble) => write!(f, "{trouble}: restarting"),
        }
    }
}

/// A stop step as it begins: `SIGTERM`, ``running `docker stop web` ``.
fn doing(action: &StopAction) -> String {
    match action {
        StopAction::Signal(signal) => format!("SIG{}", signal_name(*signal)),
        StopAction::Command(command) => format!("running `{command}`"),
    }
}

/// A stop step once it is over: `SIGTSTP`, ```docker stop web` ``.
fn done(action: &StopAction) -> String {
    match action {
        StopAction::Signal(signal) => format!("SIG{}", signal_name(*signal)),
        StopAction::Command(command) => format!("`{command}`"),
    }
}

/// Exit codes with which `sh -c` says the command could not be run at all.
const COMMAND_NOT_FOUND: i32 = 127;
const COMMAND_NOT_EXECUTABLE: i32 = 126;

/// One instance's lifecycle state and the memory its restart policy needs.
#[derive(Debug, Clone)]
pub(crate) struct Lifecycle {
    settings: Settings,
    /// Whether a readiness probe decides `starting` → `running` (else the caller sends
    /// [`Input::Ready`] right after the spawn).
    has_probe: bool,
    state: State,
    pid: Option<i32>,
    started_at: Option<Instant>,
    /// When the restarts inside the current window happened.
    restarts_in_window: VecDeque<Instant>,
    /// Total restarts since the instance was last started by request (`ps` shows it).
    restarts: u32,
    next_backoff: Duration,
    last_exit: Option<ExitStatus>,
    /// While `stopping`: what happens once the process is gone.
    after_stop: AfterStop,
    /// While `stopping`: the step of the stop sequence under way (its index), or `None`
    /// once the sequence ran out and SIGKILL was sent.
    stop_step: Option<usize>,
    /// proj is shutting down (see [`Input::Retire`]): nothing starts again, whatever the
    /// state. Not a state of its own, because a retired instance still goes through
    /// `stopping` in dependency order.
    retired: bool,
    /// Why the instance is `failed`, while it is.
    failure: Option<Failure>,
    /// Why it was last restarted (by proj or on request), if it was.
    last_restart: Option<RestartCause>,
}

/// What a stopping instance does once its process is gone.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
enum AfterStop {
    /// Become `stopped`.
    #[default]
    Rest,
    /// Start again (a restart request).
    Start,
    /// Start again as after a crash: backoff and `max_restarts` apply (it was stopped
    /// because it was in [`Trouble`]).
    Recover,
    /// Become `failed` for this reason (the ready timeout stopped it).
    Fail(Failure),
}

impl Lifecycle {
    pub(crate) fn new(settings: Settings, has_probe: bool) -> Self {
        let next_backoff = settings.backoff;
        Lifecycle {
            settings,
            has_probe,
            state: State::Stopped,
            pid: None,
            started_at: None,
            restarts_in_window: VecDeque::new(),
            restarts: 0,
            next_backoff,
            last_exit: None,
            after_stop: AfterStop::Rest,
            stop_step: None,
            retired: false,
            failure: None,
            last_restart: None,
        }
    }

    /// New settings from a reloaded config; they apply from the next transition on.
    pub(crate) fn set_settings(&mut self, settings: Settings, has_probe: bool) {
        self.next_backoff = self
            .next_backoff
            .min(settings.backoff_max)
            .max(settings.backoff);
        self.settings = settings;
        self.has_probe = has_probe;
    }

    pub(crate) fn state(&self) -> State {
        self.state
    }

    pub(crate) fn pid(&self) -> Option<i32> {
        self.pid
    }

    pub(crate) fn restarts(&self) -> u32 {
        self.restarts
    }

    pub(crate) fn last_exit(&self) -> Option<ExitStatus> {
        self.last_exit
    }

    pub(crate) fn started_at(&self) -> Option<Instant> {
        self.started_at
    }

    /// It is stopping to start again (a restart, by request or after trouble).
    pub(crate) fn restarting(&self) -> bool {
        self.state == State::Stopping
            && matches!(self.after_stop, AfterStop::Start | AfterStop::Recover)
    }

    /// How many restarts happened within the restart window before `now`.
    pub(crate) fn restarts_in_window(&self, now: Instant) -> u32 {
        let window = self.settings.restart_window;
        let recent = self
            .restarts_in_window
            .iter()
            .filter(|&&at| now.saturating_duration_since(at) < window)
            .count();
        u32::try_from(recent).unwrap_or(u32::MAX)
    }

    /// Why it was last restarted, if it was.
    pub(crate) fn last_restart(&self) -> Option<RestartCause> {
        self.last_restart
    }

    /// Why the instance is `failed`, if it is.
    pub(crate) fn failure(&self) -> Option<&Failure> {
        self.failure
            .as_ref()
            .filter(|_| self.state == State::Failed)
    }

    pub(crate) fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Apply one input; return what the caller must do.
    pub(crate) fn handle(&mut self, input: Input, now: Instant) -> Vec<Action> {
        let mut actions = Vec::new();
        match input {
            Input::Wait => self.on_wait(),
            Input::Start => self.on_start(&mut actions),
            Input::Stop => self.on_stop(now, &mut actions),
            Input::Restart(cause) => self.on_restart(cause, now, &mut actions),
            Input::Kill => self.on_kill(&mut actions),
            Input::Retire => self.on_retire(&mut actions),
            Input::Spawned { pid } => self.on_spawned(pid, now, &mut actions),
            Input::SpawnFailed(problem) => {
                if self.state == State::Starting {
                    self.fail(Failure::NotSpawnable(problem), &mut actions);
                }
            }
            Input::Ready => {
                if self.state == State::Starting {
                    self.state = State::Running;
                    if self.has_probe {
                        let after = self
                            .started_at
                            .map_or(Duration::ZERO, |at| now.saturating_duration_since(at));
                        actions.push(Action::CancelTimer);
                        actions.push(Action::Report(Report::Ready { after }));
                    }
                }
            }
            Input::Exited(status) => self.on_exited(status, now, &mut actions),
            Input::Timer => self.on_timer(now, &mut actions),
            Input::Trouble(trouble) => self.on_trouble(trouble, now, &mut actions),
        }
        actions
    }

    fn on_wait(&mut self) {
        if !self.state.is_active() {
            self.state = State::Pending;
        }
    }

    fn on_start(&mut self, actions: &mut Vec<Action>) {
        if self.retired {
            return;
        }
        match self.state {
            State::Pending | State::Stopped | State::Exited | State::Failed => {
                // A start by request gets a fresh restart budget.
                self.restarts_in_window.clear();
                self.restarts = 0;
                self.next_backoff = self.settings.backoff;
                self.spawn(actions);
            }
            State::Backoff => {
                actions.push(Action::CancelTimer);
                self.spawn(actions);
            }
            State::Stopping => self.after_stop = AfterStop::Start,
            State::Starting | State::Running => {}
        }
    }

    fn on_stop(&mut self, now: Instant, actions: &mut Vec<Action>) {
        self.cancel_start_after_stop();
        match self.state {
            State::Starting | State::Running => self.begin_stop(now, actions),
            State::Backoff => {
                actions.push(Action::CancelTimer);
                self.become_stopped(actions);
            }
            State::Pending => self.state = State::Stopped,
            State::Stopping | State::Stopped | State::Exited | State::Failed => {}
        }
    }

    fn on_restart(&mut self, cause: RestartCause, now: Instant, actions: &mut Vec<Action>) {
        if !self.retired {
            self.last_restart = Some(cause);
        }
        match self.state {
            State::Starting | State::Running => {
                self.begin_stop(now, actions);
                self.after_stop = AfterStop::Start;
            }
            State::Stopping => self.after_stop = AfterStop::Start,
            _ => self.on_start(actions),
        }
    }

    fn on_trouble(&mut self, trouble: Trouble, now: Instant, actions: &mut Vec<Action>) {
        // Only a running instance is judged: a starting one has its ready timeout, and
        // one already stopping is on its way out.
        if self.state != State::Running || self.retired {
            return;
        }
        self.last_restart = Some(RestartCause::of_trouble(&trouble));
        actions.push(Action::Report(Report::Trouble(trouble)));
        self.begin_stop(now, actions);
        self.after_stop = AfterStop::Recover;
    }

    fn on_kill(&mut self, actions: &mut Vec<Action>) {
        self.cancel_start_after_stop();
        match self.state {
            State::Starting | State::Running | State::Stopping => {
                self.state = State::Stopping;
                self.stop_step = None;
                actions.push(Action::CancelTimer);
                actions.push(Action::Signal(Signal::SIGKILL));
            }
            State::Backoff => {
                actions.push(Action::CancelTimer);
                self.become_stopped(actions);
            }
            State::Pending => self.state = State::Stopped,
            State::Stopped | State::Exited | State::Failed => {}
        }
    }

    fn on_retire(&mut self, actions: &mut Vec<Action>) {
        self.retired = true;
        self.cancel_start_after_stop();
        match self.state {
            State::Backoff => {
                actions.push(Action::CancelTimer);
                self.become_stopped(actions);
            }
            State::Pending => self.state = State::Stopped,
            _ => {}
        }
    }

    fn on_spawned(&mut self, pid: i32, now: Instant, actions: &mut Vec<Action>) {
        if self.state != State::Starting {
            return;
        }
        self.pid = Some(pid);
        self.started_at = Some(now);
        actions.push(Action::Report(Report::Started { pid }));
        if self.has_probe {
            actions.push(Action::SetTimer(now + self.settings.ready_timeout));
        }
    }

    fn on_exited(&mut self, status: ExitStatus, now: Instant, actions: &mut Vec<Action>) {
        if !self.state.has_process() {
            return;
        }
        let was = self.state;
        let ran_for = self.started_at.map_or(Duration::ZERO, |started| {
            now.saturating_duration_since(started)
        });
        self.pid = None;
        self.last_exit = Some(status);

        if was == State::Stopping {
            actions.push(Action::CancelTimer);
            match std::mem::take(&mut self.after_stop) {
                AfterStop::Fail(failure) => self.fail(failure, actions),
                AfterStop::Start => {
                    self.restarts += 1;
                    actions.push(Action::Report(Report::Stopped));
                    self.spawn(actions);
                }
                AfterStop::Recover => {
                    actions.push(Action::Report(Report::Stopped));
                    self.schedule_restart(ran_for, now, actions);
                }
                AfterStop::Rest => self.become_stopped(actions),
            }
            return;
        }

        if self.has_probe && was == State::Starting {
            actions.push(Action::CancelTimer);
        }
        actions.push(Action::Report(Report::Exited(status)));
        if self.retired {
            self.state = State::Stopped;
            return;
        }
        if let ExitStatus::Code(code @ (COMMAND_NOT_FOUND | COMMAND_NOT_EXECUTABLE)) = status {
            let problem = if code == COMMAND_NOT_FOUND {
                SpawnProblem::CommandNotFound
            } else {
                SpawnProblem::CommandNotExecutable
            };
            self.fail(Failure::NotSpawnable(problem), actions);
            return;
        }

        let restart = match self.settings.restart {
            RestartPolicy::Always => true,
            RestartPolicy::OnFailure => !status.success(),
            RestartPolicy::Never => false,
        };
        if restart {
            self.last_restart = Some(RestartCause::Exit(status));
        }
        if !restart {
            let never_ready = self.has_probe && was == State::Starting && !self.settings.oneshot;
            if never_ready {
                // It cannot satisfy what depends on it, and `exited` would say it had.
                self.fail(Failure::ExitedBeforeReady(status), actions);
            } else if status.success() {
                self.state = State::Exited;
            } else {
                self.fail(Failure::Exited(status), actions);
            }
            return;
        }
        self.schedule_restart(ran_for, now, actions);
    }

    fn schedule_restart(&mut self, ran_for: Duration, now: Instant, actions: &mut Vec<Action>) {
        let window = self.settings.restart_window;
        while self
            .restarts_in_window
            .front()
            .is_some_and(|&at| now.saturating_duration_since(at) >= window)
        {
            self.restarts_in_window.pop_front();
        }
        let max = self.settings.max_restarts;
        if self.restarts_in_window.len() >= max as usize {
            self.fail(Failure::RestartLimit { max, window }, actions);
            return;
        }
        // A run that outlasted the longest delay we would impose was not part of a tight
        // crash loop: start the backoff over.
        if ran_for >= self.settings.backoff_max {
            self.next_backoff = self.settings.backoff;
        }
        let delay = self.next_backoff;
        self.next_backoff = (delay * 2).min(self.settings.backoff_max);
        self.restarts_in_window.push_back(now);
        self.restarts += 1;
        actions.push(Action::Report(Report::Restarting { delay }));
        if delay.is_zero() {
            self.spawn(actions);
        } else {
            self.state = State::Backoff;
            actions.push(Action::SetTimer(now + delay));
        }
    }

    fn on_timer(&mut self, now: Instant, actions: &mut Vec<Action>) {
        match self.state {
            State::Backoff => self.spawn(actions),
            State::Stopping => self.next_stop_step(now, actions),
            State::Starting if self.has_probe => {
                let after = self.settings.ready_timeout;
                self.begin_stop(now, actions);
                self.after_stop = AfterStop::Fail(Failure::ReadyTimeout { after });
            }
            _ => {}
        }
    }

    fn spawn(&mut self, actions: &mut Vec<Action>) {
        self.state = State::Starting;
        self.pid = None;
        self.started_at = None;
        actions.push(Action::Spawn);
    }

    fn begin_stop(&mut self, now: Instant, actions: &mut Vec<Action>) {
        self.state = State::Stopping;
        let Some(first) = self.settings.stop_sequence.first().cloned() else {
            // A plan always has a step; without one there is nothing but SIGKILL.
            self.stop_step = None;
            actions.push(Action::Signal(Signal::SIGKILL));
            return;
        };
        self.stop_step = Some(0);
        actions.push(Action::Report(Report::Stopping {
            first: first.action.clone(),
        }));
        self.take_stop_step(&first.action, actions);
        actions.push(Action::SetTimer(now + first.wait));
    }

    /// The current step's wait ran out: the next step, or SIGKILL after the last.
    fn next_stop_step(&mut self, now: Instant, actions: &mut Vec<Action>) {
        let Some(current) = self.stop_step else {
            return;
        };
        let steps = &self.settings.stop_sequence;
        let Some(step) = steps.get(current).cloned() else {
            return;
        };
        match steps.get(current + 1).cloned() {
            Some(next) => {
                self.stop_step = Some(current + 1);
                actions.push(Action::Report(Report::StopStepTimedOut {
                    waited: step.wait,
                    previous: step.action,
                    next: next.action.clone(),
                }));
                self.take_stop_step(&next.action, actions);
                actions.push(Action::SetTimer(now + next.wait));
            }
            None => {
                self.stop_step = None;
                actions.push(Action::Report(Report::StopTimedOut {
                    timeout: step.wait,
                    last: step.action,
                }));
                actions.push(Action::Signal(Signal::SIGKILL));
            }
        }
    }

    fn take_stop_step(&self, action: &StopAction, actions: &mut Vec<Action>) {
        actions.push(match action {
            StopAction::Signal(signal) => match self.settings.stop_target {
                StopTarget::Group => Action::Signal(*signal),
                StopTarget::Main => Action::SignalMain(*signal),
            },
            StopAction::Command(command) => Action::RunStopCommand(command.clone()),
        });
    }

    fn become_stopped(&mut self, actions: &mut Vec<Action>) {
        self.state = State::Stopped;
        actions.push(Action::Report(Report::Stopped));
    }

    fn fail(&mut self, failure: Failure, actions: &mut Vec<Action>) {
        self.state = State::Failed;
        self.pid = None;
        self.failure = Some(failure.clone());
        actions.push(Action::Report(Report::Failed(failure)));
    }

    /// A stop, kill or shutdown overrides a pending restart (but not a pending failure:
    /// the ready timeout's verdict stands).
    fn cancel_start_after_stop(&mut self) {
        if matches!(self.after_stop, AfterStop::Start | AfterStop::Recover) {
            self.after_stop = AfterStop::Rest;
        }
    }
}

#[cfg(test)]
mod tests;
