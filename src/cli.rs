//! The command line: the one source of `--help`, the completions and the man pages.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Lines of output the TUI keeps per instance unless `--scrollback` says otherwise.
pub const DEFAULT_SCROLLBACK: usize = 10_000;

#[derive(Debug, Parser)]
#[command(
    name = "proj",
    version,
    about = "One command from a git URL to a running, supervised stack",
    propagate_version = true
)]
pub struct Cli {
    #[command(flatten)]
    pub config: ConfigFile,

    /// When to use colours
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,

    #[command(subcommand)]
    pub command: Command,
}

/// `-f, --file PATH`, accepted before or after the subcommand (SPEC §4). It is repeated
/// in each subcommand rather than marked global, because `proj logs -f` means follow:
/// there only the long form names the file.
#[derive(Debug, Clone, Default, Args)]
pub struct ConfigFile {
    /// The config file (default: proj.toml or Procfile, found by walking up)
    #[arg(short = 'f', long = "file", value_name = "PATH")]
    pub file: Option<PathBuf>,
}

/// `--file PATH` alone, for `proj logs`, whose `-f` is `--follow`.
#[derive(Debug, Clone, Default, Args)]
pub struct ConfigFileLong {
    /// The config file (default: proj.toml or Procfile, found by walking up)
    #[arg(long = "file", value_name = "PATH")]
    pub file: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Colours when stdout is a terminal and NO_COLOR is not set
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the project's processes and supervise them in the foreground (cloning and
    /// setting up first when given a git URL)
    Up(UpArgs),
    /// Clone a project and set it up; start nothing
    Clone(CloneArgs),
    /// Run the setup steps (each skipped while its rule says it is done)
    Setup(SetupArgs),
    /// Write proj.toml from another tool's config: a Procfile, supervisord.conf,
    /// process-compose.yaml or a pm2 ecosystem file (JSON or YAML)
    Init(InitArgs),
    /// Validate the config and print the plan: instances, start order, ports, commands
    Check {
        #[command(flatten)]
        config: ConfigFile,
        #[command(flatten)]
        run: RunShape,
    },
    /// The running supervisor's instances and their states
    Ps {
        #[command(flatten)]
        config: ConfigFile,
        /// One JSON array (fields: name, process, state, pid, restarts, exit_code, port, ...)
        #[arg(long)]
        json: bool,
    },
    /// Start processes of the running supervisor (a name without `.N` means all its instances)
    Start {
        #[command(flatten)]
        config: ConfigFile,
        #[arg(value_name = "NAME", required = true)]
        names: Vec<String>,
    },
    /// Stop processes of the running supervisor
    Stop {
        #[command(flatten)]
        config: ConfigFile,
        #[arg(value_name = "NAME", required = true)]
        names: Vec<String>,
    },
    /// Restart processes of the running supervisor (every instance when no name is given)
    Restart {
        #[command(flatten)]
        config: ConfigFile,
        /// One instance at a time, the next once the previous is ready again (as
        /// `rolling = true` does for every restart of the process)
        #[arg(long)]
        rolling: bool,
        #[arg(value_name = "NAME")]
        names: Vec<String>,
    },
    /// Change how many instances of processes run now (the highest-numbered stop first,
    /// through their stop sequence)
    Scale {
        #[command(flatten)]
        config: ConfigFile,
        /// NAME=COUNT, e.g. `worker=3` (0 stops them all)
        #[arg(value_name = "NAME=N", required = true, value_parser = parse_count)]
        counts: Vec<(String, u32)>,
    },
    /// Send a signal to processes of the running supervisor: to each instance's main
    /// process, or with --group to every process of the instance (`proj signal HUP web`
    /// reloads gunicorn without a restart)
    Signal {
        #[command(flatten)]
        config: ConfigFile,
        /// Every process of each instance, not only its main process
        #[arg(long)]
        group: bool,
        /// HUP, SIGHUP, USR2, or a number such as 1
        #[arg(value_name = "SIGNAL", value_parser = parse_signal_argument)]
        signal: nix::sys::signal::Signal,
        #[arg(value_name = "NAME", required = true)]
        names: Vec<String>,
    },
    /// Run a one-off command with the stack's environment, in the foreground, outside
    /// supervision (as `heroku run`, `docker compose run`); exits with its exit code
    Run {
        #[command(flatten)]
        config: ConfigFile,
        /// Take the environment, working directory and user of this instance (or of the
        /// first instance of this process); default: the project's `[env]` and env files
        #[arg(long = "in", value_name = "NAME")]
        within: Option<String>,
        /// The command: one argument is run by `sh -c`, several are the program and its
        /// arguments
        #[arg(
            value_name = "COMMAND",
            required = true,
            trailing_var_arg = true,
            allow_hyphen_values = true
        )]
        command: Vec<String>,
    },
    /// Recent output of the running supervisor's processes, merged in time order
    Logs {
        #[command(flatten)]
        config: ConfigFileLong,
        /// Keep printing new lines as they come
        #[arg(short, long)]
        follow: bool,
        /// How many recent lines to print
        #[arg(short = 'n', long = "lines", value_name = "N", default_value_t = 100)]
        lines: usize,
        /// Only lines since then: a duration back from now (`5m`, `1h`) or an RFC 3339 time
        #[arg(long, value_name = "DURATION|TIME", value_parser = parse_since)]
        since: Option<std::time::SystemTime>,
        /// Only lines matching this regular expression
        #[arg(long, value_name = "REGEX")]
        grep: Option<regex::Regex>,
        /// One JSON object per line: {"time": RFC 3339, "name": INSTANCE, "line": TEXT}
        #[arg(long)]
        json: bool,
        /// Only these processes or instances (default: all)
        #[arg(value_name = "NAME")]
        names: Vec<String>,
    },
    /// Wait until instances are running (a oneshot: exited 0); exit 1 as soon as one
    /// failed, or at the timeout, naming what is not there
    Wait {
        #[command(flatten)]
        config: ConfigFile,
        /// Give up after this long (`30s`, `2m`; default: wait as long as it takes)
        #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
        timeout: Option<std::time::Duration>,
        /// The processes or instances (default: every instance `proj up` started)
        #[arg(value_name = "NAME")]
        names: Vec<String>,
    },
    /// Why an instance is in its state: its failure or last exit and its cause, the last
    /// probe answer, restarts in the window, its last state changes and lines
    Why {
        #[command(flatten)]
        config: ConfigFile,
        /// The process or instance
        #[arg(value_name = "NAME")]
        name: String,
    },
    /// One line per state change of any instance, until the supervisor ends
    Events {
        #[command(flatten)]
        config: ConfigFile,
        /// One JSON object per line: time, name, state, pid, exit_code, reason
        #[arg(long)]
        json: bool,
    },
    /// Re-read proj.toml: restart what changed, start what is new, stop what is gone
    Reload {
        #[command(flatten)]
        config: ConfigFile,
    },
    /// Stop everything (reverse dependency order) and end the supervisor
    Down {
        #[command(flatten)]
        config: ConfigFile,
    },
    /// The TUI on the running supervisor (`q` detaches, the processes keep running)
    Attach {
        #[command(flatten)]
        config: ConfigFile,
        /// Lines of output the TUI keeps per instance
        #[arg(long, value_name = "LINES", default_value_t = DEFAULT_SCROLLBACK)]
        scrollback: usize,
    },
    /// Type into a `tty = true` process: your terminal becomes its terminal (`Ctrl-]` detaches)
    Connect {
        #[command(flatten)]
        config: ConfigFile,
        /// The process or instance (`web`, `web.2`; a process name means its first instance)
        #[arg(value_name = "NAME")]
        name: String,
    },
    /// A Model Context Protocol server on stdin/stdout, for coding agents: tools to start,
    /// watch, restart and question the running supervisor (see the README for the
    /// Claude Code, Cursor and Codex settings)
    Mcp {
        #[command(flatten)]
        config: ConfigFile,
    },
    /// Write what runs the project elsewhere: systemd units, Kubernetes manifests, a
    /// Compose file
    Export(ExportArgs),
    /// Print shell completions
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Write the man pages: proj(1) and one per subcommand (without -o: proj(1) on stdout)
    Man {
        /// The directory to write proj.1, proj-up.1, ... into
        #[arg(short, long, value_name = "DIR")]
        output: Option<PathBuf>,
    },
    /// The guardian that cleans up if proj is killed (internal)
    #[command(name = "__guardian", hide = true)]
    Guardian {
        token: String,
        /// proj's cgroup tree, when instances are cgroups
        cgroups: Option<std::path::PathBuf>,
    },
}

#[derive(Debug, Args)]
pub struct UpArgs {
    #[command(flatten)]
    pub config: ConfigFile,

    /// A git URL to clone into ./REPO-NAME, or a project directory (default: found from
    /// the current directory), then the processes or instances to start (default: every
    /// autostart process)
    #[arg(value_name = "URL|DIR|NAME")]
    pub targets: Vec<String>,

    /// The branch to check out when cloning a URL
    #[arg(short, long, value_name = "BRANCH")]
    pub branch: Option<String>,

    /// Show the TUI even when stdout is not a terminal (default: when it is)
    #[arg(long, conflicts_with = "no_tui")]
    pub tui: bool,

    /// Print plain prefixed lines even on a terminal
    #[arg(long)]
    pub no_tui: bool,

    /// Lines of output the TUI keeps per instance
    #[arg(long, value_name = "LINES", default_value_t = DEFAULT_SCROLLBACK)]
    pub scrollback: usize,

    /// Skip the setup steps
    #[arg(long)]
    pub no_setup: bool,

    /// Return once everything is running and leave the supervisor in the background
    #[arg(short, long)]
    pub detach: bool,

    #[command(flatten)]
    pub run: RunShape,

    /// Leave an existing clone as it is: do not fetch or fast-forward it
    #[arg(long)]
    pub no_pull: bool,

    /// (internal) A port already chosen for `port = "auto"`: NAME=PORT (from `up -d`)
    #[arg(long = "auto-port", hide = true, value_name = "NAME=PORT")]
    pub auto_ports: Vec<String>,

    /// When any instance becomes `failed`, stop everything and exit 1 naming it (for CI
    /// smoke tests of a stack)
    #[arg(long)]
    pub exit_on_failure: bool,

    /// (internal) This is the background supervisor that `up -d` started
    #[arg(long, hide = true)]
    pub detached_child: bool,
}

/// `-m` and `-p`: what this run looks like, beyond the file (`proj up`, `proj check`).
#[derive(Debug, Clone, Default, Args)]
pub struct RunShape {
    /// Instances per process for this run, over the file's `scale`: `web=2,worker=3`;
    /// `all=N` for every process; `NAME=0` runs none of it
    #[arg(short = 'm', long, value_name = "NAME=N,...")]
    pub formation: Option<crate::config::Formation>,

    /// The base port in Procfile mode: the first line's process gets it, the next line's
    /// PORT + 100, ... (default: $PORT, else PORT in .env, else 5000)
    #[arg(short = 'p', long, value_name = "PORT", value_parser = clap::value_parser!(u16).range(1..))]
    pub port: Option<u16>,
}

impl RunShape {
    /// The config load options these flags ask for.
    pub fn load_options(&self) -> crate::config::LoadOptions {
        crate::config::LoadOptions {
            formation: self.formation.clone(),
            port_base: self.port,
            ..Default::default()
        }
    }
}

/// `30s`, `2m` for `--timeout`.
pub(crate) fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    humantime::parse_duration(text).map_err(|error| error.to_string())
}

/// `--since`: `5m` back from now, or an RFC 3339 time.
pub(crate) fn parse_since(text: &str) -> Result<std::time::SystemTime, String> {
    if let Ok(back) = humantime::parse_duration(text) {
        return std::time::SystemTime::now()
            .checked_sub(back)
            .ok_or_else(|| format!("`{text}` reaches back before 1970"));
    }
    let at: jiff::Timestamp = text
        .parse()
        .map_err(|_| format!("`{text}` is neither a duration (`5m`) nor an RFC 3339 time"))?;
    Ok(std::time::SystemTime::from(at))
}

/// `worker=3` for `proj scale`.
/// `HUP`, `SIGHUP`, `hup` or a number (`1`), as `kill -s` and `kill -1` take them.
pub(crate) fn parse_signal_argument(text: &str) -> Result<nix::sys::signal::Signal, String> {
    match text.trim().parse::<i32>() {
        Ok(number) => nix::sys::signal::Signal::try_from(number)
            .map_err(|_| format!("{number} is not a signal on this system")),
        Err(_) => crate::config::parse_signal(text),
    }
}

fn parse_count(text: &str) -> Result<(String, u32), String> {
    let (name, count) = text
        .split_once('=')
        .ok_or_else(|| format!("`{text}` is not NAME=N (e.g. `worker=3`)"))?;
    if name.is_empty() {
        return Err(format!("`{text}` names no process (e.g. `worker=3`)"));
    }
    let count = count.parse::<u32>().map_err(|_| {
        format!(
            "`{count}` is not a number of instances: write a whole number from 0, e.g. `{name}=3`"
        )
    })?;
    Ok((name.to_string(), count))
}

/// `proj init`.
#[derive(Debug, Clone, Default, Args)]
pub struct InitArgs {
    /// The proj.toml to write (default: proj.toml in the current directory)
    #[arg(short = 'f', long = "file", value_name = "PATH")]
    pub file: Option<PathBuf>,
    /// The file to convert (default: the first of Procfile.dev, Procfile,
    /// supervisord.conf, process-compose.yaml, ecosystem.config.json, … found here)
    #[arg(long, value_name = "FILE")]
    pub from: Option<PathBuf>,
    /// Overwrite an existing proj.toml
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct CloneArgs {
    #[command(flatten)]
    pub config: ConfigFile,

    /// The repository: https://, ssh://, git@host:path, file:// or a local path
    #[arg(value_name = "URL")]
    pub url: String,

    /// Where to clone (default: ./REPO-NAME); reused when it already holds a clone of URL
    #[arg(value_name = "DIR")]
    pub dir: Option<PathBuf>,

    /// The branch to check out (default: the remote's default branch)
    #[arg(short, long, value_name = "BRANCH")]
    pub branch: Option<String>,

    /// Clone only; skip the setup steps
    #[arg(long)]
    pub no_setup: bool,
}

#[derive(Debug, Args)]
pub struct SetupArgs {
    #[command(flatten)]
    pub config: ConfigFile,

    /// Run every step (or every named one), whatever its rules say
    #[arg(long)]
    pub force: bool,

    /// Run only these steps, whatever their rules say (default: every step, by its rules)
    #[arg(value_name = "STEP")]
    pub steps: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// `proj export -f PATH TARGET`, as before targets were subcommands.
    #[command(flatten)]
    pub config: ConfigFile,

    #[command(subcommand)]
    pub target: ExportTarget,
}

impl ExportArgs {
    /// `-f, --file`: after the target (`proj export kubernetes -f PATH`), else before it.
    pub fn config_file(&self) -> Option<PathBuf> {
        let after = match &self.target {
            ExportTarget::Systemd(args) => &args.config,
            ExportTarget::Kubernetes(args) => &args.config,
            ExportTarget::Compose(args) => &args.config,
        };
        after.file.clone().or_else(|| self.config.file.clone())
    }
}

#[derive(Debug, Subcommand)]
pub enum ExportTarget {
    /// systemd unit(s): PROJECT.service running `proj up`, or one unit per instance
    Systemd(SystemdExportArgs),
    /// Kubernetes manifests: PROJECT.k8s.yaml (Deployments, Services, Jobs, a ConfigMap
    /// and a Secret)
    Kubernetes(KubernetesExportArgs),
    /// A Compose file: compose.yaml, one service per process
    Compose(ComposeExportArgs),
}

#[derive(Debug, Args)]
pub struct SystemdExportArgs {
    #[command(flatten)]
    pub config: ConfigFile,

    /// The directory to write the files into (default: the current directory)
    #[arg(short, long, value_name = "DIR")]
    pub output: Option<PathBuf>,

    /// One unit per instance plus PROJECT.target (foreman's layout): systemd runs each
    /// process itself, without proj's probes, dependency gating or log files
    #[arg(long)]
    pub per_process: bool,

    /// WatchdogSec=: systemd restarts proj when its supervisor stops answering for this
    /// long (e.g. 30s)
    #[arg(long, value_name = "DURATION")]
    pub watchdog: Option<String>,

    /// User=: the account proj itself runs as (with --per-process: every process without
    /// its own `user`)
    #[arg(long, value_name = "NAME")]
    pub user: Option<String>,

    /// Type= of PROJECT.service (default: notify-reload when this machine's systemd has
    /// it, version 253 or later; notify otherwise)
    #[arg(long = "type", value_enum, value_name = "TYPE")]
    pub service_type: Option<ServiceTypeArg>,
}

#[derive(Debug, Args)]
pub struct KubernetesExportArgs {
    #[command(flatten)]
    pub config: ConfigFile,

    /// The container image every process runs in (the project built into an image,
    /// with `sh`), e.g. registry.example.com/shop:1.4
    #[arg(long, value_name = "IMAGE")]
    pub image: String,

    /// The directory to write PROJECT.k8s.yaml into (default: the current directory)
    #[arg(short, long, value_name = "DIR")]
    pub output: Option<PathBuf>,

    /// metadata.namespace of every object (default: none, so kubectl's current namespace)
    #[arg(long, value_name = "NS")]
    pub namespace: Option<String>,

    /// Do not hold the pods of the processes that depend on a oneshot until its Job has
    /// completed (no init container, service account or Role for it)
    #[arg(long)]
    pub no_init_oneshots: bool,

    /// The project's directory in the image (its WORKDIR): every process's working
    /// directory (or its `cwd` inside it) and PROJ_ROOT
    #[arg(long, value_name = "DIR", default_value = "/app")]
    pub workdir: String,
}

#[derive(Debug, Args)]
pub struct ComposeExportArgs {
    #[command(flatten)]
    pub config: ConfigFile,

    /// The image every service runs (default: each service builds the project directory,
    /// `build: .`)
    #[arg(long, value_name = "IMAGE")]
    pub image: Option<String>,

    /// The directory to write compose.yaml into (default: the current directory)
    #[arg(short, long, value_name = "DIR")]
    pub output: Option<PathBuf>,

    /// The project's directory in the image (its WORKDIR): every process's working
    /// directory (or its `cwd` inside it) and PROJ_ROOT
    #[arg(long, value_name = "DIR", default_value = "/app")]
    pub workdir: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ServiceTypeArg {
    /// Type=notify, ExecReload= sends SIGHUP (any systemd)
    Notify,
    /// Type=notify-reload: `systemctl reload` waits until the reload is done (systemd 253+)
    NotifyReload,
}
