//! Recent output, kept in memory for `proj logs` and the TUI, and the live feed that
//! `proj logs -f` and the TUI follow.
//!
//! Output arrives in batches: the complete lines one read from one pipe produced, with the
//! moment they were read. A batch is stored once (`Arc<[u8]>`) and shared by the history,
//! the feed and the printer. Each instance keeps its newest batches up to a line and byte
//! budget, so memory stays flat whatever a process prints; the log file has everything.
//!
//! The feed ([`super::feed`]) gives each subscriber its own queue, bounded in bytes: one
//! that falls behind loses the oldest batches (and is told how many), it never slows
//! the readers down.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::SystemTime;

use super::splitter;

/// Lines kept per instance.
pub const MAX_LINES: usize = 10_000;
/// Bytes kept per instance, counting each batch's bookkeeping (`BATCH_OVERHEAD`).
pub const MAX_BYTES: usize = 2 * 1024 * 1024;
/// What a kept batch costs beyond its bytes: its entry in the queue and the header and
/// slack of its allocation. Counted in the byte budget, so that a quiet instance's
/// thousands of one-line batches are bounded by what they really take.
const BATCH_OVERHEAD: usize = 96;

/// Complete lines (each ending in `\n`) that one instance wrote, read at `at`.
#[derive(Debug, Clone)]
pub struct Batch {
    pub instance: Arc<str>,
    pub at: SystemTime,
    pub lines: Arc<[u8]>,
}

impl Batch {
    pub fn line_count(&self) -> usize {
        memchr::memchr_iter(b'\n', &self.lines).count()
    }
}

/// The newest output of one instance.
#[derive(Debug)]
pub struct History {
    batches: VecDeque<(Batch, usize)>,
    lines: usize,
    bytes: usize,
    max_lines: usize,
    max_bytes: usize,
}

impl Default for History {
    fn default() -> Self {
        History::new(MAX_LINES, MAX_BYTES)
    }
}

impl History {
    pub fn new(max_lines: usize, max_bytes: usize) -> History {
        History {
            batches: VecDeque::new(),
            lines: 0,
            bytes: 0,
            max_lines,
            max_bytes,
        }
    }

    pub fn push(&mut self, batch: Batch) {
        let lines = batch.line_count();
        self.lines += lines;
        self.bytes += batch.lines.len() + BATCH_OVERHEAD;
        self.batches.push_back((batch, lines));
        // Whole batches leave; the newest one always stays, whatever its size.
        while self.batches.len() > 1 && (self.lines > self.max_lines || self.bytes > self.max_bytes)
        {
            if let Some((old, old_lines)) = self.batches.pop_front() {
                self.lines -= old_lines;
                self.bytes -= old.lines.len() + BATCH_OVERHEAD;
            }
        }
    }

    /// The last `count` lines, oldest first, each with the moment it was read.
    pub fn last_lines(&self, count: usize) -> Vec<(SystemTime, &[u8])> {
        self.last_matching(count, |_, _| true)
    }

    /// The last `count` lines that `keep` keeps, oldest first.
    pub fn last_matching(
        &self,
        count: usize,
        keep: impl Fn(SystemTime, &[u8]) -> bool,
    ) -> Vec<(SystemTime, &[u8])> {
        let mut out = Vec::new();
        for (batch, _) in self.batches.iter().rev() {
            let lines: Vec<&[u8]> = splitter::lines(&batch.lines).collect();
            for line in lines.into_iter().rev() {
                if out.len() == count {
                    out.reverse();
                    return out;
                }
                if keep(batch.at, line) {
                    out.push((batch.at, line));
                }
            }
        }
        out.reverse();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn batch(text: &str, second: u64) -> Batch {
        Batch {
            instance: Arc::from("web"),
            at: SystemTime::UNIX_EPOCH + Duration::from_secs(second),
            lines: Arc::from(text.as_bytes()),
        }
    }

    fn texts(history: &History, count: usize) -> Vec<String> {
        history
            .last_lines(count)
            .into_iter()
            .map(|(_, line)| String::from_utf8_lossy(line).into_owned())
            .collect()
    }

    #[test]
    fn the_last_lines_come_oldest_first_across_batches() {
        let mut history = History::new(100, 1000);
        history.push(batch("a\nb\n", 1));
        history.push(batch("c\n", 2));
        assert_eq!(texts(&history, 2), vec!["b", "c"]);
        assert_eq!(texts(&history, 10), vec!["a", "b", "c"]);
        let times: Vec<SystemTime> = history.last_lines(3).iter().map(|(at, _)| *at).collect();
        assert_eq!(times[0], times[1]);
        assert!(times[1] < times[2]);
    }

    #[test]
    fn old_batches_leave_when_the_line_budget_is_spent() {
        let mut history = History::new(3, 1000);
        history.push(batch("1\n2\n", 1));
        history.push(batch("3\n4\n", 2));
        assert_eq!(texts(&history, 10), vec!["3", "4"]);
    }

    #[test]
    fn old_batches_leave_when_the_byte_budget_is_spent_but_the_newest_stays() {
        let mut history = History::new(100, 4);
        history.push(batch("aa\n", 1));
        history.push(batch("bbbbbbbb\n", 2));
        assert_eq!(texts(&history, 10), vec!["bbbbbbbb"]);
    }
}
