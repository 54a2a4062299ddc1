//! proj: one command from a git URL to a running, supervised stack.
//!
//! The binary (`src/main.rs`) is a thin shell over this library so that tests can reach
//! the pure parts (config validation, the instance state machine) directly. The flow:
//! `config` turns proj.toml into a validated `Plan`; `supervisor` owns the instances'
//! state and acts through `process` (spawn, reap, guardian); `logs` carries output to the
//! log files and the terminal; `systemd` speaks to systemd (notify socket, journald,
//! unit files); `commands` holds one file per subcommand.

// What `main.rs`, `tests/` and `fuzz/` use is public; the rest is the crate's own, so
// that the compiler finds what nothing uses.
pub mod cli;
pub mod commands;
pub mod config;
pub mod control;
pub mod diagnostics;
mod error;
mod export;
mod import;
mod layout;
pub mod logs;
mod output;
mod process;
mod setup;
mod supervisor;
mod systemd;
mod tui;
mod units;
mod watch;

pub use error::Error;
