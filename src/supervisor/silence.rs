//! The silent-exit hint (SPEC §9.5): an instance without a terminal that exits 0 within
//! a second having printed nothing may want one. A Tailwind `--watch`, a REPL, or any
//! program that reads its stdin exits at once, silently and successfully, when its
//! stdin is /dev/null, and `restart = "on-failure"` then never brings it back.
//!
//! Whether a run printed nothing is known only once its output is closed (the reader
//! may still hold the last bytes when the exit is reaped), so the verdict waits for
//! both: the exit, and the end of that run's output.

use std::sync::atomic::Ordering;
use std::time::Duration;

use super::slot::{Silence, Slot};
use super::step::Step;
use crate::logs::printer::Level;
use crate::process::ExitStatus;

/// An exit within this long after the start counts as "at once".
const AT_ONCE: Duration = Duration::from_secs(1);

/// A run of `slot` starts: what it had delivered so far is the baseline.
pub(super) fn watch(slot: &mut Slot, run: u64) {
    let delivered = slot.sink.delivered.load(Ordering::Relaxed);
    slot.silence = Silence {
        run,
        delivered_before: delivered,
        ..Silence::default()
    };
}

/// The current run of `slot` exited with `status` after `ran` (`tty`: it has a
/// terminal, and is never hinted at).
pub(super) fn on_exit(
    slot: &mut Slot,
    tty: bool,
    status: ExitStatus,
    ran: Duration,
) -> Option<Step> {
    slot.silence.exited_quietly = status == ExitStatus::Code(0) && ran < AT_ONCE && !tty;
    hint(slot)
}

/// The output of run `run` of `slot` is closed.
pub(super) fn on_output_closed(slot: &mut Slot, run: u64) -> Option<Step> {
    if slot.silence.run != run {
        return None;
    }
    slot.silence.output_closed = true;
    hint(slot)
}

/// The hint, once both halves of the verdict are in and the run printed nothing.
fn hint(slot: &mut Slot) -> Option<Step> {
    let watch = slot.silence;
    if !(watch.exited_quietly && watch.output_closed) {
        return None;
    }
    // Said once per run.
    slot.silence.exited_quietly = false;
    if slot.sink.delivered.load(Ordering::Relaxed) != watch.delivered_before {
        return None;
    }
    let name = &slot.instance.name;
    Some(Step::Say(
        Level::Warning,
        format!(
            "{name}: exited at once with code 0 and printed nothing; a program that \
             needs a terminal (a `--watch` mode, a REPL) does that when it has none: \
             try `tty = true`"
        ),
    ))
}
