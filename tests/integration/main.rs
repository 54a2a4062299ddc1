//! proj's integration tests: one test crate, so the `proj` library and binary are
//! linked into one test executable instead of one per file. Each module is what was a
//! file of its own; `support` holds what they share (a project in a temp dir, a running
//! `proj up`, polling with deadlines, the tmux harness).
//!
//! Run one module's tests with `cargo test --test integration membership::` or
//! `cargo nextest run -E 'test(/^membership::/)'`. Under `cargo test` every test runs on
//! a thread of this one process, so nothing here may change process-wide state (the
//! environment, the working directory, signal dispositions, resource limits): children
//! get their environment through `Command`.

mod support;

mod answers;
mod cli;
mod clone;
mod config_errors;
mod control;
mod examples;
mod export;
mod export_signals;
mod faults;
mod guardian;
mod health;
mod init;
mod interpolation;
mod jobs;
mod layers;
mod logs;
mod man;
mod mcp;
mod membership;
mod plain_output;
mod procfile;
mod readiness;
mod real_programs;
mod rolling;
mod scale;
mod schedule;
mod setup;
mod shutdown;
mod socket;
mod state;
mod stop_sequence;
mod supervision;
mod systemd;
mod tty;
mod tui;
mod watch;
mod without_shell;
mod working;
