//! `proj logs`: the recent lines of instances (and proj's own, under `proj`), filtered
//! by time and pattern, and for `-f` a subscription to what comes next.

use std::collections::HashMap;
use std::sync::Arc;

use super::command::{Follow, Logs, Refusal};
use super::table::InstanceTable;
use crate::logs::PROJ_NAME;
use crate::logs::feed::Feed;
use crate::logs::history::Batch;
use crate::logs::reader::OutputSink;

/// Where `logs` reads from: every instance's output sink, proj's own lines, the feed.
pub(super) struct Sources<'a> {
    pub(super) slots: &'a InstanceTable,
    pub(super) proj_lines: &'a Arc<OutputSink>,
    pub(super) feed: &'a Feed,
}

impl Sources<'_> {
    /// `logs`: the last `count` lines of the named instances (all when empty; proj's own
    /// under `proj`), merged in time order, and for `follow` a subscription to what comes next.
    pub(super) fn logs(
        &self,
        names: &[String],
        count: usize,
        follow: bool,
        filter: LineFilter,
    ) -> Result<Logs, Refusal> {
        // proj's own lines when asked for by name: `proj logs` alone is the processes'.
        let with_proj = names.iter().any(|name| name == PROJ_NAME);
        let instances: Vec<String> = names
            .iter()
            .filter(|name| *name != PROJ_NAME)
            .cloned()
            .collect();
        let slots: Vec<usize> = if names.is_empty() {
            self.slots.live().collect()
        } else if instances.is_empty() {
            Vec::new()
        } else {
            self.slots
                .resolve(&instances)
                .map_err(|refusal| match refusal {
                    Refusal::UnknownNames { unknown, mut known } => {
                        known.push(PROJ_NAME.to_string());
                        Refusal::UnknownNames { unknown, known }
                    }
                    other => other,
                })?
        };
        let mut sinks: Vec<&Arc<OutputSink>> = slots.iter().map(|&s| &self.slots[s].sink).collect();
        if with_proj {
            sinks.push(self.proj_lines);
        }
        // Subscribe before reading the history: a batch delivered in between is then in
        // both, and the follower skips it by time, instead of being in neither.
        let feed = follow.then(|| self.feed.subscribe());
        let mut backlog: Vec<Batch> = Vec::new();
        let mut seen_until = HashMap::new();
        for sink in &sinks {
            let name = sink.instance.to_string();
            let history = sink
                .history
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            // What the follower skips is every batch up to the newest one seen, kept or
            // not.
            seen_until.insert(
                name.clone(),
                history.last_lines(1).last().map(|(at, _)| *at),
            );
            let lines = history.last_matching(count, |at, line| filter.keeps(at, line));
            // One batch per line: merged with the other instances' lines below.
            backlog.extend(lines.into_iter().map(|(at, line)| Batch {
                instance: Arc::clone(&sink.instance),
                at,
                lines: Arc::from([line, b"\n"].concat()),
            }));
        }
        // A stable sort keeps each instance's own order among equal timestamps; the
        // wire's millisecond times sort the same way.
        backlog.sort_by_key(|line| crate::logs::clock::unix_millis(line.at));
        let skip = backlog.len().saturating_sub(count);
        backlog.drain(..skip);
        Ok(Logs {
            names: sinks.iter().map(|sink| sink.instance.to_string()).collect(),
            backlog,
            follow: feed.map(|feed| Follow {
                feed,
                instances: seen_until,
                grep: filter.grep,
            }),
        })
    }
}

/// `proj logs --since --grep`: which lines to show.
pub(super) struct LineFilter {
    pub(super) since: Option<std::time::SystemTime>,
    pub(super) grep: Option<regex::bytes::Regex>,
}

impl LineFilter {
    fn keeps(&self, at: std::time::SystemTime, line: &[u8]) -> bool {
        self.since.is_none_or(|since| at >= since)
            && self.grep.as_ref().is_none_or(|grep| grep.is_match(line))
    }
}
