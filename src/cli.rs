//! The command line: the one source of `--help`, the completions and (later) the man page.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "proj",
    version,
    about = "One command from a git URL to a running, supervised stack",
    propagate_version = true
)]
pub struct Cli {
    /// The config file (default: proj.toml or Procfile, found by walking up)
    #[arg(short = 'f', long = "file", global = true, value_name = "PATH")]
    pub file: Option<PathBuf>,

    /// When to use colours
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,

    #[command(subcommand)]
    pub command: Command,
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
    /// Start the project's processes and supervise them in the foreground
    Up(UpArgs),
    /// Validate the config and print the plan: instances, start order, ports, commands
    Check,
    /// Print shell completions
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// The guardian that cleans up if proj is killed (internal)
    #[command(name = "__guardian", hide = true)]
    Guardian { token: String },
}

#[derive(Debug, Args)]
pub struct UpArgs {
    /// A project directory (default: found from the current directory), then the
    /// processes or instances to start (default: every autostart process)
    #[arg(value_name = "DIR|NAME")]
    pub targets: Vec<String>,

    /// Print plain prefixed lines (the TUI is not available yet: this is the only mode)
    #[arg(long)]
    pub no_tui: bool,

    /// Skip the setup steps
    #[arg(long)]
    pub no_setup: bool,
}
