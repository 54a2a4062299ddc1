//! Running under systemd: the notify protocol, journald's stream, and unit files.
//!
//! # Theory of operation
//!
//! proj is meant to be the one supervisor of a project in production too, as the main
//! process of one `Type=notify` service. systemd then sees one process that says when
//! the whole stack is ready, pings a watchdog while it is healthy, and logs through one
//! journal stream; proj keeps doing what systemd cannot (readiness probes, dependency
//! order, per-process restart budgets, log files).
//!
//! - [`notify`]: the `sd_notify(3)` datagrams, written here rather than through
//!   libsystemd (the protocol is declared stable and reimplementing it is supported):
//!   one `SOCK_DGRAM` message of `KEY=VALUE` lines to `$NOTIFY_SOCKET`, a path or an
//!   abstract `@name`. The supervisor sends `READY=1` when the stack is up, `STATUS=`
//!   when the counts of states change, `RELOADING=1` + `MONOTONIC_USEC=` then `READY=1`
//!   around a reload, `STOPPING=1` at shutdown, and `WATCHDOG=1` from its own event
//!   loop, so a stuck supervisor stops pinging and systemd restarts it. The variables
//!   are kept from the children ([`crate::config::environment::PRIVATE_VARIABLES`]): a
//!   child that found `NOTIFY_SOCKET` could tell systemd it is ready on proj's behalf.
//! - [`status`]: the one-line `STATUS=` summary ("5 running, 1 backoff").
//! - [`crate::logs::journal`]: whether stdout is the journal (`$JOURNAL_STREAM` names its device and
//!   inode; the variable's presence alone is not enough, stdout may have been redirected
//!   since). Then the printer drops its timestamps (journald records its own) and starts
//!   each line with a `<N>` priority prefix, which journald strips and turns into the
//!   entry's priority.
//! - [`crate::export::systemd`]: `proj export systemd`, the unit files: one `Type=notify` service that
//!   runs `proj up`, or foreman-style one unit per instance plus a target.
//!
//! Everything here is advisory to supervision: a notification that cannot be sent is
//! logged at debug level and supervision goes on, as `sd_notify(3)` recommends.

pub(crate) mod link;
pub(crate) mod notify;
pub(crate) mod status;
