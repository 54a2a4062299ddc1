//! One file per subcommand; [`run`] dispatches.

mod answers;
mod check;
mod clone;
mod completions;
mod connect;
mod control;
mod detach;
mod export;
mod export_manifests;
mod init;
mod logs;
pub mod man;
mod mcp;
mod run;
mod setup;
mod supervise;
mod up;

use std::ffi::{OsStr, OsString};
use std::io::IsTerminal;
use std::path::PathBuf;

use crate::Error;
use crate::cli::{Cli, ColorChoice, Command};
use crate::config::{self, Plan};
use crate::control::protocol::Request;

/// `proj __guardian TOKEN [CGROUP_DIR]`, exactly (`args` are those after the program's
/// name), run without clap: the guardian proj execs when it cannot fork it should cost
/// as little as it can, and clap would build every subcommand's parser first. `None` for
/// any other command line, which clap parses (and may still find to be the guardian).
pub fn guardian(args: &[OsString]) -> Option<Result<(), Error>> {
    let [subcommand, token, cgroups @ ..] = args else {
        return None;
    };
    if subcommand != crate::process::guardian::SUBCOMMAND || cgroups.len() > 1 {
        return None;
    }
    let token = token.to_str()?;
    let cgroups = cgroups.first().map(PathBuf::from);
    Some(
        crate::process::guardian::run(token, cgroups).map_err(|error| Error::io("guardian", error)),
    )
}

pub fn run(cli: Cli) -> Result<(), Error> {
    let file = cli.command.config_file().or(cli.config.file.clone());
    let context = Context {
        file,
        color: cli.color,
    };
    match cli.command {
        Command::Up(args) => up::run(&context, args),
        Command::Clone(args) => clone::run(&context, args),
        Command::Setup(args) => setup::run(&context, args),
        Command::Init(args) => init::run(&context, args),
        Command::Check { run, .. } => check::run(&context, &run.load_options()),
        Command::Ps { json, .. } => control::ps(&context, json),
        Command::Start { names, .. } => control::act(&context, Request::Start { names }),
        Command::Stop { names, .. } => control::act(&context, Request::Stop { names }),
        Command::Restart { names, rolling, .. } => {
            control::act(&context, Request::Restart { names, rolling })
        }
        Command::Run {
            within, command, ..
        } => run::run(&context, within, command),
        Command::Signal {
            group,
            signal,
            names,
            ..
        } => control::signal(&context, signal, names, group),
        Command::Scale { counts, .. } => control::act(
            &context,
            Request::Scale {
                counts: counts.into_iter().collect(),
            },
        ),
        Command::Logs {
            follow,
            lines,
            names,
            since,
            grep,
            json,
            ..
        } => logs::run(
            &context,
            logs::Query {
                names,
                lines,
                follow,
                since,
                grep,
                json,
            },
        ),
        Command::Wait { names, timeout, .. } => answers::wait(&context, names, timeout),
        Command::Why { name, .. } => answers::why(&context, name),
        Command::Events { json, .. } => answers::events(&context, json),
        Command::Reload { .. } => control::reload(&context),
        Command::Down { .. } => control::down(&context),
        Command::Attach { scrollback, .. } => attach(&context, scrollback),
        Command::Connect { name, .. } => connect::run(&context, name),
        Command::Mcp { .. } => mcp::run(&context),
        Command::Export(args) => export::run(&context, args),
        Command::Completions { shell } => completions::run(shell),
        Command::Man { output } => man::run(output),
        Command::Guardian { token, cgroups } => crate::process::guardian::run(&token, cgroups)
            .map_err(|error| Error::io("guardian", error)),
    }
}

/// `proj attach`: the TUI on the running supervisor; `q` detaches.
fn attach(context: &Context, scrollback: usize) -> Result<(), Error> {
    let root = context.project_root()?;
    if crate::tui::attach(&root, scrollback)? == crate::tui::Outcome::SupervisorGone {
        crate::outln!("proj stopped");
    }
    Ok(())
}

impl Command {
    /// The `-f/--file` given after the subcommand, if any.
    fn config_file(&self) -> Option<PathBuf> {
        match self {
            Command::Up(args) => args.config.file.clone(),
            Command::Clone(args) => args.config.file.clone(),
            Command::Setup(args) => args.config.file.clone(),
            Command::Export(args) => args.config_file(),
            Command::Check { config, .. }
            | Command::Ps { config, .. }
            | Command::Start { config, .. }
            | Command::Stop { config, .. }
            | Command::Restart { config, .. }
            | Command::Scale { config, .. }
            | Command::Signal { config, .. }
            | Command::Run { config, .. }
            | Command::Reload { config }
            | Command::Down { config }
            | Command::Attach { config, .. }
            | Command::Connect { config, .. }
            | Command::Mcp { config }
            | Command::Wait { config, .. }
            | Command::Why { config, .. }
            | Command::Events { config, .. } => config.file.clone(),
            Command::Logs { config, .. } => config.file.clone(),
            Command::Init(args) => args.file.clone(),
            Command::Completions { .. } | Command::Man { .. } | Command::Guardian { .. } => None,
        }
    }
}

/// What every command gets from the global options.
pub struct Context {
    pub file: Option<PathBuf>,
    pub color: ColorChoice,
}

impl Context {
    /// Find and load the config, starting the walk up at `start` (default: the current
    /// directory).
    pub fn load_plan(&self, start: Option<PathBuf>) -> Result<Plan, Error> {
        self.load_plan_with(start, &config::LoadOptions::default())
    }

    /// [`Context::load_plan`] for one run (`-m`, `-p`, auto ports); the plan's warnings
    /// go to stderr.
    pub fn load_plan_with(
        &self,
        start: Option<PathBuf>,
        options: &config::LoadOptions,
    ) -> Result<Plan, Error> {
        let cwd = std::env::current_dir()
            .map_err(|error| Error::io("cannot read the current directory", error))?;
        let start = start.unwrap_or_else(|| cwd.clone());
        let path = config::discover(&start, self.file.as_deref())?;
        // Messages name the file as the user would: `proj.toml:3:1` when it is here.
        let path = path.strip_prefix(&cwd).map(PathBuf::from).unwrap_or(path);
        let plan = config::load_with(&path, options)?;
        let color = stderr_color(self.color);
        for warning in &plan.warnings {
            eprintln!("{}\n", warning.render(color));
        }
        Ok(plan)
    }

    /// The root of the project (the config file's directory), without validating the
    /// config: `proj ps` must work while proj.toml is being edited. Without `-f`, the
    /// nearest directory with `.proj/` or a config file (SPEC §9.4: a supervisor
    /// started from any file is found from any subdirectory).
    pub fn project_root(&self) -> Result<PathBuf, Error> {
        let cwd = std::env::current_dir()
            .map_err(|error| Error::io("cannot read the current directory", error))?;
        if self.file.is_none() {
            let root = config::discover::project_root(&cwd)?;
            return root
                .canonicalize()
                .map_err(|error| Error::io(format!("cannot resolve {}", root.display()), error));
        }
        let path = config::discover(&cwd, self.file.as_deref())?;
        let dir = path
            .parent()
            .filter(|dir| !dir.as_os_str().is_empty())
            .unwrap_or(std::path::Path::new("."));
        dir.canonicalize()
            .map_err(|error| Error::io(format!("cannot resolve {}", dir.display()), error))
    }

    /// Whether stdout gets colours.
    pub fn stdout_color(&self) -> bool {
        use_color(
            self.color,
            std::io::stdout().is_terminal(),
            std::env::var_os("NO_COLOR").as_deref(),
        )
    }
}

/// Whether stderr gets colours.
pub fn stderr_color(choice: ColorChoice) -> bool {
    use_color(
        choice,
        std::io::stderr().is_terminal(),
        std::env::var_os("NO_COLOR").as_deref(),
    )
}

/// `--color always|never` decide; `auto` means a terminal and no `NO_COLOR` (any
/// non-empty value, per no-color.org).
fn use_color(choice: ColorChoice, is_terminal: bool, no_color: Option<&OsStr>) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => is_terminal && no_color.is_none_or(OsStr::is_empty),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_colours_a_terminal_unless_no_color_is_set() {
        assert!(use_color(ColorChoice::Auto, true, None));
        assert!(use_color(ColorChoice::Auto, true, Some(OsStr::new(""))));
        assert!(!use_color(ColorChoice::Auto, true, Some(OsStr::new("1"))));
        assert!(!use_color(ColorChoice::Auto, false, None));
    }

    #[test]
    fn always_and_never_win() {
        assert!(use_color(ColorChoice::Always, false, Some(OsStr::new("1"))));
        assert!(!use_color(ColorChoice::Never, true, None));
    }
}
