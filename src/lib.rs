//! proj: one command from a git URL to a running, supervised stack.
//!
//! The binary (`src/main.rs`) is a thin shell over this library so that tests can reach
//! the pure parts (config validation, the instance state machine) directly.

pub mod config;
