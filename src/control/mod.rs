//! The control socket: how `proj ps`, `start`, `stop`, `restart`, `logs`, `reload`,
//! `down` and `up -d` talk to a running supervisor.
//!
//! [`endpoint`] finds the socket and keeps it to one supervisor per project,
//! [`protocol`] is the wire format (versioned, newline-delimited JSON, documented in the
//! README so other tools can script proj), [`server`] is the supervisor's side and
//! [`client`] the commands' side; [`terminal_stream`] is what a connection carries after
//! `connect` (`proj connect`).

pub mod client;
pub mod endpoint;
pub mod protocol;
pub mod request_line;
pub mod server;
pub mod terminal_stream;
