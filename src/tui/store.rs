//! The TUI's scrollback: every instance's recent lines, and the merged view of them all.
//!
//! Lines are stored once (`Arc<Entry>`) and referenced from two bounded deques: the
//! instance's own (at most `scrollback` lines, in arrival order) and the merged one (at
//! most `scrollback` times the number of instances, proj's own messages included), kept
//! in time order. Arrival order is nearly time order (the feed delivers batches as the
//! readers read them), but proj's messages come on another channel and two readers race
//! by microseconds, so a line is inserted after the last line not newer than it, which is
//! almost always the end. Pushing is O(lines) and eviction O(1) per line, so memory stays
//! flat whatever the processes print.
//!
//! Each line gets a sequence number, so a position ("the current search match") can be
//! found again after lines were added or evicted: an instance's deque is sorted by it,
//! the merged one by time and then by it.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::SystemTime;

use crate::logs::printer::Level;
use crate::logs::splitter;

/// Who wrote a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    /// The instance with this index in [`Store::names`].
    Instance(usize),
    /// proj itself (its messages, shown in the merged view only).
    Proj(Level),
}

/// One line of output.
#[derive(Debug)]
pub(crate) struct Entry {
    pub seq: u64,
    pub at: SystemTime,
    pub origin: Origin,
    /// As the process wrote it (ANSI sequences included), without the newline.
    pub text: Box<str>,
}

/// Which lines the log pane shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum View {
    /// Every instance (and proj's messages), in time order.
    Merged,
    /// One instance, by index in [`Store::names`].
    Instance(usize),
}

#[derive(Debug)]
pub(crate) struct Store {
    scrollback: usize,
    names: Vec<Arc<str>>,
    index: HashMap<Arc<str>, usize>,
    lines: Vec<VecDeque<Arc<Entry>>>,
    merged: VecDeque<Arc<Entry>>,
    next_seq: u64,
    /// Lines received in total (for the frame statistics).
    pub received: u64,
}

impl Store {
    pub(crate) fn new(scrollback: usize) -> Store {
        Store {
            scrollback: scrollback.max(1),
            names: Vec::new(),
            index: HashMap::new(),
            lines: Vec::new(),
            merged: VecDeque::new(),
            next_seq: 0,
            received: 0,
        }
    }

    pub(crate) fn names(&self) -> &[Arc<str>] {
        &self.names
    }

    /// The index of instance `name`, added if it is new.
    pub(crate) fn instance(&mut self, name: &str) -> usize {
        if let Some(&index) = self.index.get(name) {
            return index;
        }
        let name: Arc<str> = Arc::from(name);
        self.names.push(name.clone());
        self.lines.push(VecDeque::new());
        self.index.insert(name, self.names.len() - 1);
        self.names.len() - 1
    }

    pub(crate) fn find(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }

    /// Store complete lines (`\n`-terminated, as the feed delivers them); returns how
    /// many were added.
    pub(crate) fn push_batch(&mut self, instance: &str, at: SystemTime, data: &[u8]) -> usize {
        let index = self.instance(instance);
        let mut count = 0;
        for line in splitter::lines(data) {
            let text: Box<str> = match std::str::from_utf8(line) {
                Ok(text) => text.into(),
                Err(_) => String::from_utf8_lossy(line).into(),
            };
            self.push(at, Origin::Instance(index), text);
            count += 1;
        }
        count
    }

    /// A message from proj (one entry per line of it).
    pub(crate) fn push_message(&mut self, at: SystemTime, level: Level, text: &str) {
        for line in text.lines() {
            self.push(at, Origin::Proj(level), line.into());
        }
    }

    fn push(&mut self, at: SystemTime, origin: Origin, text: Box<str>) {
        let entry = Arc::new(Entry {
            seq: self.next_seq,
            at,
            origin,
            text,
        });
        self.next_seq += 1;
        self.received += 1;
        if let Origin::Instance(index) = origin {
            let own = &mut self.lines[index];
            own.push_back(entry.clone());
            if own.len() > self.scrollback {
                own.pop_front();
            }
        }
        // After the last line that is not newer (usually: at the end).
        let mut index = self.merged.len();
        while index > 0 && self.merged[index - 1].at > entry.at {
            index -= 1;
        }
        self.merged.insert(index, entry);
        let cap = self.scrollback * self.names.len().max(1);
        while self.merged.len() > cap {
            self.merged.pop_front();
        }
    }

    /// The lines of `view`, oldest first.
    pub(crate) fn view(&self, view: View) -> &VecDeque<Arc<Entry>> {
        match view {
            View::Instance(index) if index < self.lines.len() => &self.lines[index],
            _ => &self.merged,
        }
    }

    /// Forget the lines of `view` (of every instance for the merged view).
    pub(crate) fn clear(&mut self, view: View) {
        match view {
            View::Merged => {
                self.merged.clear();
                self.lines.iter_mut().for_each(VecDeque::clear);
            }
            View::Instance(index) => {
                if let Some(lines) = self.lines.get_mut(index) {
                    lines.clear();
                }
                self.merged
                    .retain(|entry| entry.origin != Origin::Instance(index));
            }
        }
    }

    /// Where the line `(at, seq)` is in `view`, if it is still there.
    pub(crate) fn position(&self, view: View, at: SystemTime, seq: u64) -> Option<usize> {
        let lines = self.view(view);
        let found = match view {
            View::Merged => lines.binary_search_by_key(&(at, seq), |entry| (entry.at, entry.seq)),
            View::Instance(_) => lines.binary_search_by_key(&seq, |entry| entry.seq),
        };
        found.ok()
    }

    /// The widest instance name (for the merged view's name column).
    pub(crate) fn name_width(&self) -> usize {
        self.names
            .iter()
            .map(|name| unicode_width::UnicodeWidthStr::width(&**name))
            .chain([crate::logs::printer::PROJ_NAME.len()])
            .max()
            .unwrap_or(4)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(store: &Store, view: View) -> Vec<String> {
        store
            .view(view)
            .iter()
            .map(|e| e.text.to_string())
            .collect()
    }

    #[test]
    fn each_instance_keeps_its_newest_lines_and_the_merged_view_all_of_them() {
        let mut store = Store::new(2);
        let at = SystemTime::UNIX_EPOCH;
        store.push_batch("web", at, b"1\n2\n3\n");
        store.push_batch("db", at, b"a\n");
        assert_eq!(texts(&store, View::Instance(0)), ["2", "3"]);
        assert_eq!(texts(&store, View::Instance(1)), ["a"]);
        // Two instances, two lines each at most.
        assert_eq!(texts(&store, View::Merged), ["2", "3", "a"]);
        store.push_batch("web", at, b"4\n5\n");
        // The merged view holds 2 × 2 lines: the oldest one left.
        assert_eq!(texts(&store, View::Merged), ["3", "a", "4", "5"]);
    }

    #[test]
    fn the_merged_view_is_in_time_order_whatever_the_arrival_order() {
        let mut store = Store::new(10);
        let second = |s| SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(s);
        store.push_batch("web", second(1), b"one\n");
        store.push_batch("web", second(3), b"three\n");
        store.push_message(second(2), Level::Info, "two");
        assert_eq!(texts(&store, View::Merged), ["one", "two", "three"]);
        let two = &store.view(View::Merged)[1];
        assert_eq!(store.position(View::Merged, two.at, two.seq), Some(1));
    }

    #[test]
    fn clearing_one_instance_leaves_the_others() {
        let mut store = Store::new(10);
        let at = SystemTime::UNIX_EPOCH;
        store.push_batch("web", at, b"w\n");
        store.push_batch("db", at, b"d\n");
        store.clear(View::Instance(0));
        assert_eq!(texts(&store, View::Merged), ["d"]);
        assert!(texts(&store, View::Instance(0)).is_empty());
    }

    #[test]
    fn invalid_utf8_is_replaced_not_dropped() {
        let mut store = Store::new(10);
        store.push_batch("web", SystemTime::UNIX_EPOCH, b"\xffok\n");
        assert_eq!(texts(&store, View::Instance(0)), ["\u{fffd}ok"]);
    }
}
