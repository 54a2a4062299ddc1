//! Trailing-edge debounce: a burst of changes becomes one restart, once the tree has
//! been quiet for `watch_debounce`.
//!
//! Pure state, driven by the watcher thread: it records each wanted change and sleeps
//! until [`Debounce::deadline`] (or, with nothing pending, until the next event). No
//! timer runs while nothing changes. The first changed path is kept, so proj names the
//! file that started the burst.

use std::path::PathBuf;
use std::time::{Duration, Instant};

#[derive(Debug)]
pub(super) struct Debounce {
    quiet: Duration,
    /// The first path of the current burst and when the burst counts as over.
    pending: Option<(PathBuf, Instant)>,
}

impl Debounce {
    pub(super) fn new(quiet: Duration) -> Debounce {
        Debounce {
            quiet,
            pending: None,
        }
    }

    /// A wanted change at `now`: start a burst or extend the current one.
    pub(super) fn record(&mut self, path: PathBuf, now: Instant) {
        let first = match self.pending.take() {
            Some((first, _)) => first,
            None => path,
        };
        self.pending = Some((first, now + self.quiet));
    }

    /// When the current burst is over, if there is one.
    pub(super) fn deadline(&self) -> Option<Instant> {
        self.pending.as_ref().map(|(_, at)| *at)
    }

    /// The burst's first path, once the burst is over at `now`.
    pub(super) fn take_due(&mut self, now: Instant) -> Option<PathBuf> {
        if self.deadline()? <= now {
            self.pending.take().map(|(path, _)| path)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const QUIET: Duration = Duration::from_millis(200);

    #[test]
    fn nothing_pending_means_no_deadline() {
        let mut debounce = Debounce::new(QUIET);
        assert_eq!(debounce.deadline(), None);
        assert_eq!(debounce.take_due(Instant::now()), None);
    }

    #[test]
    fn a_burst_gives_one_trigger_after_the_last_change() {
        let mut debounce = Debounce::new(QUIET);
        let start = Instant::now();
        for i in 0..1000u64 {
            let at = start + Duration::from_micros(i * 100);
            debounce.record(PathBuf::from(format!("f{i}.py")), at);
            assert_eq!(debounce.take_due(at), None);
        }
        let last = start + Duration::from_micros(999 * 100);
        assert_eq!(debounce.deadline(), Some(last + QUIET));
        assert_eq!(debounce.take_due(last + QUIET / 2), None);
        assert_eq!(
            debounce.take_due(last + QUIET),
            Some(PathBuf::from("f0.py"))
        );
        assert_eq!(debounce.deadline(), None);
    }

    #[test]
    fn a_change_after_the_trigger_starts_a_new_burst() {
        let mut debounce = Debounce::new(QUIET);
        let start = Instant::now();
        debounce.record("a.py".into(), start);
        assert!(debounce.take_due(start + QUIET).is_some());
        debounce.record("b.py".into(), start + QUIET * 2);
        assert_eq!(
            debounce.take_due(start + QUIET * 3),
            Some(PathBuf::from("b.py"))
        );
    }
}
