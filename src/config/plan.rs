//! The validated, resolved form of a project's configuration.
//!
//! A [`Plan`] is what every other part of proj works from: the supervisor, `proj check`,
//! the printer. It is built once from `proj.toml` (or a `Procfile`) by
//! [`crate::config::load`], and nothing in it can be invalid: durations are parsed,
//! dependencies exist and form no cycle, instances are expanded with their names, ports
//! and environments.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use nix::sys::signal::Signal;

pub use super::globs::Globs;

/// Environment variables by name. In a [`Plan`] the values are as written: templates
/// that may refer to other variables (`$NAME`, see `config::interpolate`), resolved by
/// [`crate::config::environment`] against proj's own environment.
pub type EnvMap = BTreeMap<String, String>;

/// A whole project, ready to supervise.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// `[project] name`, or the root directory's name.
    pub name: String,
    /// The directory holding the config file; relative paths are resolved against it.
    pub root: PathBuf,
    /// The config file this plan was read from (`proj.toml` or `Procfile`).
    pub source: PathBuf,
    /// Programs that must be on PATH before setup (`[project] requires`).
    pub requires: Vec<String>,
    /// The `env_file`s' variables, in the order read (files in order, lines in order):
    /// each may refer to the ones before it. Values are templates.
    pub dotenv: Vec<(String, String)>,
    /// `[env]`, as written: its values may refer to proj's environment and the env files.
    pub env: EnvMap,
    /// The `env_file`s as written, resolved against `root` (missing ones are skipped).
    pub env_files: Vec<PathBuf>,
    /// `[project] log_max_size` in bytes.
    pub log_max_size: u64,
    /// `[project] log_backups`.
    pub log_backups: u32,
    /// `[[setup]]` steps in order.
    pub setup: Vec<SetupStep>,
    /// Processes in start order: every process comes after all of its dependencies, and
    /// otherwise in the order the file lists them.
    pub processes: Vec<ProcessSpec>,
    /// What is worth saying about the file without refusing it (an unset variable, a
    /// dangling `.env` link): shown by `proj check` and `proj up`.
    pub warnings: Vec<super::Warning>,
    /// The options this plan was loaded with, and the auto ports chosen: `proj reload`
    /// loads the file again with them.
    pub options: super::LoadOptions,
}

/// One `[[setup]]` step.
#[derive(Debug, Clone, PartialEq)]
pub struct SetupStep {
    pub name: String,
    pub command: String,
    pub sources: Vec<String>,
    pub skip_if: Option<String>,
    pub creates: Option<PathBuf>,
}

/// When a process is started again after it exits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestartPolicy {
    Always,
    OnFailure,
    Never,
}

impl RestartPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            RestartPolicy::Always => "always",
            RestartPolicy::OnFailure => "on-failure",
            RestartPolicy::Never => "never",
        }
    }
}

/// How proj decides that a started process is ready.
#[derive(Debug, Clone, PartialEq)]
pub enum ReadyProbe {
    /// A TCP connect to 127.0.0.1 on this port succeeds (the text may be `$PORT`, expanded
    /// per instance).
    Tcp(String),
    /// A GET on this URL answers 2xx or 3xx.
    Http(String),
    /// This command exits 0 (run with the process's environment).
    Exec(String),
    /// A line of the process's output matches this regex (compiled when the plan is built).
    Log(LogPattern),
}

/// A compiled `ready = { log = "…" }` regex. Two are equal when their sources are (a
/// reload compares definitions).
#[derive(Debug, Clone)]
pub struct LogPattern(pub regex::Regex);

impl LogPattern {
    pub fn new(pattern: &str) -> Result<LogPattern, regex::Error> {
        regex::Regex::new(pattern).map(LogPattern)
    }
}

impl PartialEq for LogPattern {
    fn eq(&self, other: &LogPattern) -> bool {
        self.0.as_str() == other.0.as_str()
    }
}

/// `health = { http = "…", interval = "10s", timeout = "2s", retries = 3 }`: a probe run
/// for as long as the instance is `running`; `retries` failures in a row restart it.
#[derive(Debug, Clone, PartialEq)]
pub struct HealthCheck {
    /// A tcp, http or exec probe (never `log`: a line printed once says nothing about
    /// whether the process still answers).
    pub probe: ReadyProbe,
    /// From the start of one attempt to the start of the next.
    pub interval: Duration,
    /// How long one attempt may take; never longer than `interval`, so attempts never
    /// overlap.
    pub timeout: Duration,
    /// Failures in a row that make the instance unhealthy (at least 1).
    pub retries: u32,
}

/// SPEC §2 defaults of a `health` check.
pub const DEFAULT_HEALTH_INTERVAL: Duration = Duration::from_secs(10);
pub const DEFAULT_HEALTH_TIMEOUT: Duration = Duration::from_secs(2);
pub const DEFAULT_HEALTH_RETRIES: u32 = 3;

/// SPEC §2: `stop_timeout = "10s"`.
pub const DEFAULT_STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// One step of a stop sequence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StopStep {
    pub action: StopAction,
    /// How long to wait, after the action, for the instance to be gone.
    pub wait: Duration,
}

/// What a stop step does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopAction {
    /// Send this signal (to the group or the main process, see [`StopTarget`]).
    Signal(Signal),
    /// Run this command (`sh -c`, with the instance's environment and cwd; its output is
    /// logged under the instance's name).
    Command(String),
}

/// Where a stop sequence's signals go. SIGKILL always goes to the whole group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopTarget {
    /// Every process of the instance's process group (the default).
    Group,
    /// The process proj started only (after `sh -c` exec'd it); once it exits, what is
    /// left of its group gets SIGTERM, then SIGKILL after 2 s. For a queue worker whose
    /// main process drains its pool (Celery).
    Main,
}

impl Lifecycle {
    /// The longest a graceful stop may take before the SIGKILL: the sum of the waits.
    pub fn stop_grace(&self) -> Duration {
        self.stop_sequence.iter().map(|step| step.wait).sum()
    }

    /// The first signal the sequence sends, if any step sends one.
    pub fn first_stop_signal(&self) -> Option<Signal> {
        self.stop_sequence
            .iter()
            .find_map(|step| match step.action {
                StopAction::Signal(signal) => Some(signal),
                StopAction::Command(_) => None,
            })
    }
}

/// The restart and stop settings of a process.
#[derive(Debug, Clone, PartialEq)]
pub struct Lifecycle {
    pub restart: RestartPolicy,
    pub backoff: Duration,
    pub backoff_max: Duration,
    pub max_restarts: u32,
    pub restart_window: Duration,
    /// How to stop it: each step signals (or runs a command) and waits up to its `wait`
    /// for the instance to be gone; SIGKILL to the group after the last. Never empty:
    /// `stop_signal`/`stop_timeout` are its one-step form.
    pub stop_sequence: Vec<StopStep>,
    /// Where the sequence's signals go.
    pub stop_target: StopTarget,
    pub ready_timeout: Duration,
    pub oneshot: bool,
}

impl Default for Lifecycle {
    /// The SPEC §2 defaults for a service.
    fn default() -> Self {
        Lifecycle {
            restart: RestartPolicy::OnFailure,
            backoff: Duration::from_millis(100),
            backoff_max: Duration::from_secs(30),
            max_restarts: 10,
            restart_window: Duration::from_secs(60),
            stop_sequence: vec![StopStep {
                action: StopAction::Signal(Signal::SIGTERM),
                wait: DEFAULT_STOP_TIMEOUT,
            }],
            stop_target: StopTarget::Group,
            ready_timeout: Duration::from_secs(60),
            oneshot: false,
        }
    }
}

/// One `[processes.NAME]` entry (or Procfile line), with its instances expanded.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcessSpec {
    pub name: String,
    pub command: String,
    /// Working directory, absolute.
    pub cwd: PathBuf,
    /// The process's own `env` table (applied over the project's env).
    pub env: EnvMap,
    /// The first instance's port: as written, or the Procfile's (SPEC §1), or the one
    /// chosen for `port = "auto"` (None until chosen). Instance i gets `port + i - 1`.
    pub port: Option<u16>,
    /// `port = "auto"`: proj chooses a free port when the run starts.
    pub port_auto: bool,
    /// `socket`: proj listens on this address and `port` itself, before the first
    /// instance starts, and hands the socket to every instance as file descriptor 3
    /// (SPEC §9.3). Every instance's `PORT` is that port.
    pub socket: Option<std::net::IpAddr>,
    pub scale: u32,
    pub depends_on: Vec<String>,
    /// `depends_on` as indices into [`Plan::processes`] (each before this process),
    /// resolved once when the plan is built.
    pub dependencies: Vec<usize>,
    pub ready: Option<ReadyProbe>,
    /// Checked while running (see [`HealthCheck`]).
    pub health: Option<HealthCheck>,
    /// `max_memory`: the most resident memory (bytes) the instance's process group may
    /// use before it is restarted.
    pub max_memory: Option<u64>,
    /// `schedule` (oneshots only): run at each match of this cron expression.
    pub schedule: Option<super::Schedule>,
    /// `rolling = true`: a restart of its instances goes one at a time, the next once the
    /// previous is running (ready) again.
    pub rolling: bool,
    pub lifecycle: Lifecycle,
    pub watch: Globs,
    pub watch_ignore: Globs,
    pub watch_debounce: Duration,
    pub autostart: bool,
    pub user: Option<String>,
    pub group: Option<String>,
    /// `tty = true`: run under a pseudo-terminal that `proj connect` can type into.
    pub tty: bool,
    /// `state`: directories holding the process's data, relative to the project root
    /// and inside it (checked when read). proj creates missing ones before the first
    /// start; exports make each a volume.
    pub state: Vec<PathBuf>,
}

impl ProcessSpec {
    /// The instances of this process: `web` when `scale = 1`, else `web.1`, `web.2`, …
    pub fn instances(&self) -> Vec<Instance> {
        (1..=self.scale)
            .map(|index| Instance {
                name: if self.scale == 1 {
                    self.name.clone()
                } else {
                    format!("{}.{index}", self.name)
                },
                process: self.name.clone(),
                index,
                port: match self.socket {
                    Some(_) => self.port,
                    None => self.port.map(|p| p + (index as u16) - 1),
                },
            })
            .collect()
    }
}

/// One running copy of a process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    /// `web` or `web.2`: the name shown everywhere and used for the log file.
    pub name: String,
    /// The process it belongs to (`web`).
    pub process: String,
    /// 1-based instance number (`PROJ_INSTANCE`).
    pub index: u32,
    /// `PORT` for this instance, if the process has a port.
    pub port: Option<u16>,
}

impl Plan {
    /// Resolve every process's `depends_on` into [`ProcessSpec::dependencies`]; the
    /// names were checked, so one that is missing is left out.
    pub(crate) fn resolve_dependencies(&mut self) {
        let index: std::collections::HashMap<String, usize> = self
            .processes
            .iter()
            .enumerate()
            .map(|(index, process)| (process.name.clone(), index))
            .collect();
        for process in &mut self.processes {
            process.dependencies = process
                .depends_on
                .iter()
                .filter_map(|name| index.get(name).copied())
                .collect();
        }
    }

    /// Every instance of every process, in start order.
    pub fn instances(&self) -> impl Iterator<Item = (&ProcessSpec, Instance)> {
        self.processes
            .iter()
            .flat_map(|p| p.instances().into_iter().map(move |i| (p, i)))
    }

    pub fn process(&self, name: &str) -> Option<&ProcessSpec> {
        self.processes.iter().find(|p| p.name == name)
    }
}
