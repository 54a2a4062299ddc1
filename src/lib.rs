//! proj: one command from a git URL to a running, supervised stack.
//!
//! The binary (`src/main.rs`) is a thin shell over this library so that tests can reach
//! the pure parts (config validation, the instance state machine) directly. The flow:
//! `config` turns proj.toml into a validated `Plan`; `supervisor` owns the instances'
//! state and acts through `process` (spawn, reap, guardian); `logs` carries output to the
//! log files and the terminal; `systemd` speaks to systemd (notify socket, journald,
//! unit files); `commands` holds one file per subcommand.

pub mod cli;
pub mod commands;
pub mod config;
pub mod control;
pub mod diagnostics;
pub mod error;
pub mod export;
pub mod import;
pub mod layout;
pub mod logs;
pub mod output;
pub mod process;
pub mod setup;
pub mod supervisor;
pub mod systemd;
pub mod tui;
pub mod units;
pub mod watch;

pub use error::Error;
