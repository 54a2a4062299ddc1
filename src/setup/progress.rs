//! A clone's progress: objects, bytes and rate.
//!
//! On a terminal, one bar redrawn in place (receiving objects, then resolving deltas,
//! then checking out files). Otherwise (a CI log, a pipe) a few plain lines: what is
//! being cloned, a line every [`PLAIN_INTERVAL`] while a long transfer goes on, and a
//! summary. The numbers come from libgit2's transfer callback, which is called often:
//! the plain mode prints from it at most once per interval, the bar rate-limits itself.

use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How often a long clone reports in plain mode.
const PLAIN_INTERVAL: Duration = Duration::from_secs(10);

/// libgit2's transfer numbers at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Transfer {
    pub received_objects: usize,
    pub total_objects: usize,
    pub indexed_deltas: usize,
    pub total_deltas: usize,
    pub received_bytes: usize,
}

impl From<git2::Progress<'_>> for Transfer {
    fn from(progress: git2::Progress<'_>) -> Transfer {
        Transfer {
            received_objects: progress.received_objects(),
            total_objects: progress.total_objects(),
            indexed_deltas: progress.indexed_deltas(),
            total_deltas: progress.total_deltas(),
            received_bytes: progress.received_bytes(),
        }
    }
}

/// The progress display of one clone (and its submodules).
pub(crate) struct CloneProgress {
    bar: Option<ProgressBar>,
    started: Instant,
    last_plain: Instant,
    phase: Phase,
    latest: Transfer,
    /// Bytes of the repositories already finished (the main one, earlier submodules).
    bytes_before: usize,
    objects_before: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Receiving,
    Resolving,
    CheckingOut,
}

impl CloneProgress {
    /// Start reporting the clone of `url` into `dir` (as the user should read it).
    pub(crate) fn start(terminal: bool, url: &str, dir: &str) -> CloneProgress {
        crate::outln!("cloning {url} into {dir}");
        let bar = terminal.then(|| {
            let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stdout());
            bar.set_style(
                ProgressStyle::with_template("  {prefix:18} [{bar:30}] {pos}/{len}  {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            bar.set_prefix("receiving objects");
            bar
        });
        let now = Instant::now();
        CloneProgress {
            bar,
            started: now,
            last_plain: now,
            phase: Phase::Receiving,
            latest: Transfer::default(),
            bytes_before: 0,
            objects_before: 0,
        }
    }

    /// A new repository starts (a submodule): its counters start from zero.
    pub(crate) fn next_repository(&mut self, what: &str) {
        self.bytes_before += self.latest.received_bytes;
        self.objects_before += self.latest.received_objects;
        self.latest = Transfer::default();
        self.phase = Phase::Receiving;
        match &self.bar {
            Some(bar) => {
                bar.set_prefix("receiving objects");
                bar.println(format!("  {what}"));
            }
            None => crate::outln!("  {what}"),
        }
    }

    pub(crate) fn transfer(&mut self, transfer: Transfer) {
        self.latest = transfer;
        let elapsed = self.started.elapsed();
        let bytes = self.bytes_before + transfer.received_bytes;
        let Some(bar) = &self.bar else {
            if self.last_plain.elapsed() >= PLAIN_INTERVAL {
                self.last_plain = Instant::now();
                crate::outln!(
                    "  received {}/{} objects, {}",
                    transfer.received_objects,
                    transfer.total_objects,
                    size_and_rate(bytes, elapsed)
                );
            }
            return;
        };
        let receiving = transfer.received_objects < transfer.total_objects;
        if receiving || transfer.total_deltas == 0 {
            bar.set_length(transfer.total_objects as u64);
            bar.set_position(transfer.received_objects as u64);
        } else {
            if self.phase == Phase::Receiving {
                self.phase = Phase::Resolving;
                bar.set_prefix("resolving deltas");
            }
            bar.set_length(transfer.total_deltas as u64);
            bar.set_position(transfer.indexed_deltas as u64);
        }
        bar.set_message(size_and_rate(bytes, elapsed));
    }

    pub(crate) fn checkout(&mut self, done: usize, total: usize) {
        let Some(bar) = &self.bar else { return };
        if self.phase != Phase::CheckingOut {
            self.phase = Phase::CheckingOut;
            bar.set_prefix("checking out files");
            bar.set_message("");
        }
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    }

    /// The clone is complete: the summary line.
    pub(crate) fn finish(self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        let objects = self.objects_before + self.latest.received_objects;
        let bytes = self.bytes_before + self.latest.received_bytes;
        crate::outln!(
            "cloned {objects} objects, {} in {}",
            size_and_rate(bytes, self.started.elapsed()),
            duration(self.started.elapsed())
        );
    }

    /// The clone failed or was interrupted: take the bar off the screen.
    pub(crate) fn abandon(self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// `12.3 MiB (4.1 MiB/s)`; the rate only once there is enough time to measure.
pub(crate) fn size_and_rate(bytes: usize, elapsed: Duration) -> String {
    let size = bytes_text(bytes as f64);
    if elapsed < Duration::from_millis(200) || bytes == 0 {
        return size;
    }
    format!(
        "{size} ({}/s)",
        bytes_text(bytes as f64 / elapsed.as_secs_f64())
    )
}

/// Bytes in binary units, one decimal from KiB on: `512 B`, `1.5 KiB`, `12.3 MiB`.
pub(crate) fn bytes_text(bytes: f64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024.0 {
        return format!("{bytes:.0} B");
    }
    let mut value = bytes / 1024.0;
    let mut unit = UNITS[0];
    for next in &UNITS[1..] {
        if value < 1024.0 {
            break;
        }
        value /= 1024.0;
        unit = next;
    }
    format!("{value:.1} {unit}")
}

/// A step's or a clone's duration as a person reads it: `4ms`, `2.3s`, `1m05s`.
pub(crate) fn duration(elapsed: Duration) -> String {
    let millis = elapsed.as_millis();
    if millis < 1000 {
        format!("{millis}ms")
    } else if millis < 60_000 {
        format!("{:.1}s", elapsed.as_secs_f64())
    } else {
        let seconds = elapsed.as_secs();
        format!("{}m{:02}s", seconds / 60, seconds % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_use_binary_units() {
        assert_eq!(bytes_text(0.0), "0 B");
        assert_eq!(bytes_text(1023.0), "1023 B");
        assert_eq!(bytes_text(1536.0), "1.5 KiB");
        assert_eq!(bytes_text(12.3 * 1024.0 * 1024.0), "12.3 MiB");
        assert_eq!(bytes_text(3.0 * 1024.0 * 1024.0 * 1024.0), "3.0 GiB");
    }

    #[test]
    fn the_rate_needs_time_to_mean_something() {
        assert_eq!(size_and_rate(2048, Duration::from_millis(10)), "2.0 KiB");
        assert_eq!(
            size_and_rate(4 * 1024 * 1024, Duration::from_secs(2)),
            "4.0 MiB (2.0 MiB/s)"
        );
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration(Duration::from_micros(3400)), "3ms");
        assert_eq!(duration(Duration::from_millis(2340)), "2.3s");
        assert_eq!(duration(Duration::from_secs(65)), "1m05s");
    }
}
