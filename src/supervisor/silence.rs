//! The silent-exit hint (SPEC §9.5): an instance without a terminal that exits 0 within
//! a second having printed nothing may want one. A Tailwind `--watch`, a REPL, or any
//! program that reads its stdin exits at once, silently and successfully, when its
//! stdin is /dev/null, and `restart = "on-failure"` then never brings it back.
//!
//! Whether a run printed nothing is known only once its output is closed (the reader
//! may still hold the last bytes when the exit is reaped), so the verdict waits for
//! both: the exit, and the end of that run's output.

use std::time::Duration;

use super::actor::Supervisor;
use crate::logs::printer::Level;
use crate::process::ExitStatus;

/// An exit within this long after the start counts as "at once".
const AT_ONCE: Duration = Duration::from_secs(1);

/// What an instance's current run has shown of the two halves of the verdict.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Watch {
    /// The run being watched, and the output bytes its instance had delivered before it.
    run: u64,
    delivered_before: u64,
    /// The run exited 0 at once, without a terminal.
    exited_quietly: bool,
    /// The run's output is closed.
    output_closed: bool,
}

impl Supervisor {
    /// A run of instance `index` starts: its output so far is `delivered`.
    pub(super) fn watch_silence(&mut self, index: usize, run: u64) {
        let delivered = self.slots[index]
            .sink
            .delivered
            .load(std::sync::atomic::Ordering::Relaxed);
        self.slots[index].silence = Watch {
            run,
            delivered_before: delivered,
            ..Watch::default()
        };
    }

    /// The current run of instance `index` exited with `status` after `ran`.
    pub(super) fn silence_on_exit(&mut self, index: usize, status: ExitStatus, ran: Duration) {
        let tty = self.slots[index]
            .process
            .is_some_and(|process| self.plan.processes[process].tty);
        let watch = &mut self.slots[index].silence;
        watch.exited_quietly = status == ExitStatus::Code(0) && ran < AT_ONCE && !tty;
        self.maybe_hint(index);
    }

    /// The output of run `run` of instance `index` is closed.
    pub(super) fn silence_on_output_closed(&mut self, index: usize, run: u64) {
        let watch = &mut self.slots[index].silence;
        if watch.run != run {
            return;
        }
        watch.output_closed = true;
        self.maybe_hint(index);
    }

    fn maybe_hint(&mut self, index: usize) {
        let slot = &mut self.slots[index];
        let watch = slot.silence;
        if !(watch.exited_quietly && watch.output_closed) {
            return;
        }
        let delivered = slot
            .sink
            .delivered
            .load(std::sync::atomic::Ordering::Relaxed);
        // Said once per run.
        slot.silence.exited_quietly = false;
        if delivered != watch.delivered_before {
            return;
        }
        let name = slot.instance.name.clone();
        self.report_proj(
            Level::Warning,
            format!(
                "{name}: exited at once with code 0 and printed nothing; a program that \
                 needs a terminal (a `--watch` mode, a REPL) does that when it has none: \
                 try `tty = true`"
            ),
        );
    }
}
