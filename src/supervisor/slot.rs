//! One instance as the supervisor holds it: its lifecycle machine, timer, environment,
//! output sink and readiness probe.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::logs::feed::Feed;
use tokio::task::AbortHandle;

use super::lifecycle::{ExitStatus, Lifecycle};
use super::snapshot::{Described, Health, InstanceStatus, LocalTime};
use crate::config::environment::{self, Environment};
use crate::config::{Instance, Plan, ProcessSpec};
use crate::logs::file::LogFile;
use crate::logs::history::History;
use crate::logs::printer::{Label, Printer};
use crate::logs::reader::OutputSink;

pub(super) struct Slot {
    pub(super) instance: Instance,
    /// Index into `plan.processes`; `None` once a reload dropped the instance (the slot
    /// stays as a tombstone, see [`super::table`]).
    pub(super) process: Option<usize>,
    pub(super) machine: Lifecycle,
    pub(super) timer: Option<Instant>,
    pub(super) env: Environment,
    pub(super) sink: Arc<OutputSink>,
    /// Asked to start, waiting for its dependencies.
    pub(super) wanted: bool,
    /// Part of what `proj up` started (what `up -d` waits for).
    pub(super) initial: bool,
    /// Counts spawns, so that a probe's verdict about an earlier run is ignored.
    pub(super) run: u64,
    /// The last thing a readiness probe or health check said (for `proj why`).
    pub(super) last_probe: Option<String>,
    /// Its latest state changes, oldest first (for `proj why`).
    pub(super) changes: std::collections::VecDeque<super::snapshot::Change>,
    /// `tty = true`: the terminal clients connect to, kept across runs (a reload that
    /// turns `tty` on gets one at the next spawn, see [`super::launch`]).
    pub(super) terminal: Option<Arc<super::terminal::Terminal>>,
    /// What its `health` check says; `None` when its process has none.
    pub(super) health: Option<Health>,
    /// Its process's `schedule`: when it runs next.
    pub(super) next_run: Option<NextRun>,
    /// A rolling restart stopped (another instance did not come back) before it
    /// restarted this run: whoever waits for this run to be replaced waits no more.
    pub(super) roll_skipped: Option<u64>,
    /// Whether a run printed nothing and ended at once (see [`super::silence`]; it
    /// outlives the process: its output may close after it exited).
    pub(super) silence: Silence,
    /// The process it runs now, and what exists only while that process does.
    pub(super) current: Option<Run>,
}

/// What exists only while an instance has a process (as watchexec's
/// `CommandState::Running`): made at its spawn, dropped once the lifecycle machine took
/// its exit, which ends the run's probe and health tasks.
#[derive(Debug, Default)]
pub(super) struct Run {
    /// The readiness probe, while the instance is `starting`.
    pub(super) probe: Option<AbortHandle>,
    /// What the probe said when its last attempt failed.
    pub(super) last_probe_failure: Option<String>,
    /// The leader exited, and the rest of the instance is finishing.
    pub(super) draining: Option<Draining>,
    /// The `health` check, while the instance is `running`.
    pub(super) health_task: Option<AbortHandle>,
    /// While running with `max_memory`: when its memory is sampled next.
    pub(super) memory_check_at: Option<Instant>,
    /// The previous CPU sample of the process (for the CPU% since then).
    pub(super) cpu_sample: Option<CpuSample>,
}

impl Drop for Run {
    fn drop(&mut self) {
        for task in [&self.probe, &self.health_task].into_iter().flatten() {
            task.abort();
        }
    }
}

/// The next run of a scheduled instance.
#[derive(Debug, Clone)]
pub(super) struct NextRun {
    /// The expression this was computed from.
    pub(super) expression: String,
    /// The local time it matches.
    pub(super) at: jiff::Zoned,
    /// When that is on the supervisor's clock.
    pub(super) deadline: Instant,
}

/// What an instance's current run has shown of the two halves of the verdict.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Silence {
    /// The run being watched, and the output bytes its instance had delivered before it.
    pub(super) run: u64,
    pub(super) delivered_before: u64,
    /// The run exited 0 at once, without a terminal.
    pub(super) exited_quietly: bool,
    /// The run's output is closed.
    pub(super) output_closed: bool,
}

/// One reading of an instance's group CPU time, and the figures `ps` showed from it.
#[derive(Debug, Clone, Copy)]
pub(super) struct CpuSample {
    pub(super) pid: i32,
    pub(super) at: Instant,
    pub(super) cpu_time: std::time::Duration,
    pub(super) cpu_percent: Option<f64>,
    pub(super) rss_bytes: u64,
}

/// A stopping instance whose main process is gone but whose process group is not yet
/// empty (a `sh -c` leader dies at once on SIGTERM while the real program shuts down).
#[derive(Debug, Clone, Copy)]
pub(super) struct Draining {
    pub(super) pgid: i32,
    pub(super) leader_exit: ExitStatus,
    /// `stop_target = "main"`: when what is left of the group gets SIGKILL (it got
    /// SIGTERM when the leader exited).
    pub(super) kill_at: Option<Instant>,
    /// After SIGKILL, stop waiting at this point even if the group still looks alive
    /// (a member whose parent left the group is reaped by that parent, not by proj).
    pub(super) give_up_at: Option<Instant>,
}

/// What every new slot needs from the supervisor.
pub(super) struct SlotContext<'a> {
    pub(super) plan: &'a Plan,
    /// The variables all instances of each process share (see [`Environment`]).
    pub(super) shared_env: &'a [crate::config::environment::Shared],
    pub(super) marker: &'a str,
    pub(super) printer: &'a Printer,
    pub(super) feed: &'a Feed,
}

impl Slot {
    pub(super) fn new(
        context: &SlotContext<'_>,
        process_index: usize,
        instance: Instance,
        color: usize,
    ) -> Slot {
        let plan = context.plan;
        let process = &plan.processes[process_index];
        Slot {
            env: environment::for_instance(
                context.shared_env[process_index].clone(),
                &instance,
                context.marker,
            ),
            machine: Lifecycle::new(process.lifecycle.clone(), process.ready.is_some()),
            sink: Arc::new(new_sink(context, &instance.name, color)),
            instance,
            process: Some(process_index),
            timer: None,
            wanted: false,
            initial: false,
            run: 0,
            last_probe: None,
            changes: std::collections::VecDeque::new(),
            terminal: process.tty.then(Arc::default),
            health: process.health.as_ref().map(|_| Health::Unknown),
            next_run: None,
            roll_skipped: None,
            silence: Silence::default(),
            current: None,
        }
    }

    /// How the rest of its process is finishing, once the main process is gone.
    pub(super) fn draining_mut(&mut self) -> Option<&mut Draining> {
        self.current.as_mut()?.draining.as_mut()
    }

    /// End what watches the process while it runs: its health task, its memory samples.
    pub(super) fn end_checks(&mut self) {
        if let Some(run) = &mut self.current {
            if let Some(task) = run.health_task.take() {
                task.abort();
            }
            run.memory_check_at = None;
        }
    }

    pub(super) fn is_removed(&self) -> bool {
        self.process.is_none()
    }

    /// The `ps` row of this instance.
    pub(super) fn status(&self, now: Instant) -> InstanceStatus {
        let machine = &self.machine;
        InstanceStatus {
            name: self.instance.name.clone(),
            process: self.instance.process.clone(),
            state: machine.state(),
            pid: machine.pid(),
            restarts: machine.restarts(),
            exit_code: machine.last_exit().map(|status| status.code()),
            port: self.instance.port,
            uptime_ms: machine.pid().and(machine.started_at()).map(|at| {
                u64::try_from(now.saturating_duration_since(at).as_millis()).unwrap_or(u64::MAX)
            }),
            last_exit: machine.last_exit().map(Described::Known),
            last_restart: machine.last_restart().map(Described::Known),
            reason: machine.failure().cloned().map(Described::Known),
            health: self.health,
            cpu_percent: None,
            memory_bytes: None,
            next_run: (self.next_run.as_ref())
                .map(|next| Described::Known(LocalTime(next.at.clone()))),
        }
    }
}

/// Whether what watches a running instance (`health`, `max_memory`) changed: a reload
/// applies that without a restart. (A changed `schedule` is re-armed by
/// `schedule::arm`.)
pub(super) fn checks_changed(old: &ProcessSpec, new: &ProcessSpec) -> bool {
    old.health != new.health || old.max_memory != new.max_memory
}

/// The output sink of instance `name`: its log file, the printer, history and feed.
pub(super) fn new_sink(context: &SlotContext<'_>, name: &str, color: usize) -> OutputSink {
    let plan = context.plan;
    let file = LogFile::new(
        crate::layout::instance_log(&plan.root, name),
        plan.log_max_size,
        plan.log_backups,
    );
    OutputSink {
        label: Label::new(name, color),
        instance: Arc::from(name),
        file: Mutex::new(file),
        printer: Some(context.printer.clone()),
        history: Mutex::new(History::default()),
        feed: context.feed.clone(),
        delivered: std::sync::atomic::AtomicU64::new(0),
    }
}

/// Whether two definitions of a process differ in a way its running instances must be
/// restarted for (everything but `scale`, `autostart` and what only watches a running
/// process: `health`, `max_memory`, see [`checks_changed`]).
pub(super) fn definition_changed(old: &ProcessSpec, new: &ProcessSpec) -> bool {
    let normalize = |spec: &ProcessSpec| ProcessSpec {
        scale: 1,
        autostart: true,
        health: None,
        max_memory: None,
        schedule: None,
        rolling: false,
        ..spec.clone()
    };
    normalize(old) != normalize(new)
}
