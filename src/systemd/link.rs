//! What proj tells systemd, and when: the supervisor's [`ServiceManager`] under systemd
//! (the protocol itself is [`super::notify`]).
//!
//! Everything is driven from the supervisor's own task, never from a helper task:
//!
//! - [`Link::observe`] runs on every published snapshot, so `READY=1` leaves in the same
//!   loop turn as the event that made the last instance ready (no polling, no extra
//!   hop), `STATUS=` whenever the counts of states change, `STOPPING=1` when the
//!   shutdown begins.
//! - `WATCHDOG=1` is a branch of the supervisor's `select!`: if the
//!   loop is stuck, the pings stop and systemd restarts proj, which is the point of a
//!   watchdog. A timer task would keep pinging for a dead supervisor.
//! - A reload sends `RELOADING=1` (with `MONOTONIC_USEC=`) as it starts and `READY=1`
//!   once the stack has settled again: every instance `proj up` started is running
//!   (the restarted ones included), or one failed, which ends the reload too (systemd
//!   would otherwise wait for a `READY=1` that may never come). A refused reload (an
//!   invalid file) ends at once.
//!
//! `READY=1` is sent once, when the stack is first up. If an instance fails before that,
//! proj keeps supervising and `STATUS=` says so, but readiness is not claimed: systemd's
//! `TimeoutStartSec=` decides, as for any service that does not come up. A fix (a
//! `proj restart`, a file change) that brings the stack up sends `READY=1` then.

use std::time::Duration;

use super::notify::{self, Notifier};
use super::status;
use crate::supervisor::{Progress, ServiceManager, Snapshot};

/// What proj has told systemd so far.
#[derive(Debug, Default)]
pub(crate) struct Link {
    notifier: Option<Notifier>,
    ready_sent: bool,
    reloading: bool,
    stopping_sent: bool,
    last_status: String,
}

impl Link {
    /// The link `NOTIFY_SOCKET` asks for; a silent one when proj is not under systemd.
    pub(crate) fn from_env() -> Link {
        Link {
            notifier: Notifier::from_env(),
            ..Link::default()
        }
    }
}

impl ServiceManager for Link {
    fn watchdog_interval(&self) -> Option<Duration> {
        self.notifier.as_ref()?.watchdog_interval()
    }

    fn watchdog(&self) {
        if let Some(notifier) = &self.notifier {
            notifier.watchdog();
        }
    }

    /// A reload begins. Before the first `READY=1` there is nothing to announce: the
    /// start is still in progress and its `READY=1` covers the reload too.
    fn reloading(&mut self) {
        if let Some(notifier) = &self.notifier
            && self.ready_sent
            && !self.stopping_sent
        {
            notifier.reloading();
            self.reloading = true;
        }
    }

    /// The reload was refused (an invalid file): nothing changed, it is over.
    fn reload_refused(&mut self) {
        if let Some(notifier) = &self.notifier
            && std::mem::take(&mut self.reloading)
        {
            notifier.ready();
        }
    }

    /// A new snapshot was published: tell systemd what changed for it.
    fn observe(&mut self, snapshot: &Snapshot) {
        let Some(notifier) = &self.notifier else {
            return;
        };
        let mut message = Vec::new();
        match &snapshot.progress {
            Progress::Stopping if !self.stopping_sent => {
                self.stopping_sent = true;
                self.reloading = false;
                message.push("STOPPING=1".to_string());
            }
            Progress::Up if !self.ready_sent || self.reloading => {
                self.ready_sent = true;
                self.reloading = false;
                message.push("READY=1".to_string());
            }
            Progress::Failed { .. } if self.reloading => {
                self.reloading = false;
                message.push("READY=1".to_string());
            }
            _ => {}
        }
        let summary = status::summary(snapshot);
        if summary != self.last_status {
            message.push(notify::status_line(&summary));
            self.last_status = summary;
        }
        if !message.is_empty() {
            notifier.send(&message.join("\n"));
        }
    }
}
