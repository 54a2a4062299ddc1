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
    /// A line of the process's output matches this regex (validated when the plan is built).
    Log(String),
}

/// The restart and stop settings of a process.
#[derive(Debug, Clone, PartialEq)]
pub struct Lifecycle {
    pub restart: RestartPolicy,
    pub backoff: Duration,
    pub backoff_max: Duration,
    pub max_restarts: u32,
    pub restart_window: Duration,
    pub stop_signal: Signal,
    pub stop_timeout: Duration,
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
            stop_signal: Signal::SIGTERM,
            stop_timeout: Duration::from_secs(10),
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
    pub scale: u32,
    pub depends_on: Vec<String>,
    pub ready: Option<ReadyProbe>,
    pub lifecycle: Lifecycle,
    pub watch: Vec<String>,
    pub watch_ignore: Vec<String>,
    pub watch_debounce: Duration,
    pub autostart: bool,
    pub user: Option<String>,
    pub group: Option<String>,
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
                port: self.port.map(|p| p + (index as u16) - 1),
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
