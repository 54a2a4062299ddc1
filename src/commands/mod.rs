//! One file per subcommand; [`run`] dispatches.

mod check;
mod completions;
mod up;

use std::ffi::OsStr;
use std::io::IsTerminal;
use std::path::PathBuf;

use crate::Error;
use crate::cli::{Cli, ColorChoice, Command};
use crate::config::{self, Plan};

pub fn run(cli: Cli) -> Result<(), Error> {
    let context = Context {
        file: cli.file,
        color: cli.color,
    };
    match cli.command {
        Command::Up(args) => up::run(&context, args),
        Command::Check => check::run(&context),
        Command::Completions { shell } => completions::run(shell),
        Command::Guardian { token } => {
            crate::process::guardian::run(&token).map_err(|error| Error::io("guardian", error))
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
        let cwd = std::env::current_dir()
            .map_err(|error| Error::io("cannot read the current directory", error))?;
        let start = start.unwrap_or_else(|| cwd.clone());
        let path = config::discover(&start, self.file.as_deref())?;
        // Messages name the file as the user would: `proj.toml:3:1` when it is here.
        let path = path.strip_prefix(&cwd).map(PathBuf::from).unwrap_or(path);
        Ok(config::load(&path)?)
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
