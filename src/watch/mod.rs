//! `watch`: restart a process when its files change.
//!
//! # Theory of operation
//!
//! Each process with a `watch` list gets a [`watcher::Watcher`]: an inotify instance
//! (through `notify`) and a thread that sleeps on it. The thread decides which
//! directories to watch ([`filter`]: the globs' areas, `watch_ignore`, the always-ignored
//! `.git`, `.proj`, `target`, `node_modules`; [`gitignore`]: git's ignore files), turns
//! each event on a wanted file into a change, and debounces changes ([`debounce`]):
//! once nothing wanted has changed for `watch_debounce`, it sends one
//! [`crate::supervisor::Event::FileChanged`] naming the first changed file. The
//! supervisor does the rest, as for `proj restart`: graceful stop, start, a failed
//! process started again, a change during a restart adding at most one more.
//!
//! Nothing polls: the kernel queues events, notify's thread wakes on them, the watch
//! thread wakes on notify's, and a timer exists only while a burst is pending. An idle
//! tree costs nothing, however large.
//!
//! proj's own log files are in `.proj/`, which is never watched, so a process's output
//! cannot restart it.
//!
//! Why not `notify-debouncer-full`: its thread wakes every quarter of the debounce
//! period forever, changes or not, and it stats every file of the tree up front to
//! track renames by file id. proj needs neither rename tracking (both names of a rename
//! are checked against the globs) nor a per-file event stream, only "something wanted
//! changed, and then it was quiet", which [`debounce`] does without a ticking thread.
//!
//! [`Watches`] holds the watchers for the supervisor and brings them in line with the
//! plan at start and on every reload: a process whose watch settings are unchanged
//! keeps its watcher (and inotify watches).

mod debounce;
mod filter;
mod gitignore;
mod watcher;

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::mpsc::UnboundedSender;

use crate::config::Plan;
use crate::logs::printer::{Level, Printer};
use crate::supervisor::Event;

/// What a watcher is built from; a change of any of it on reload replaces the watcher.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Settings {
    process: String,
    /// The process's working directory: globs are relative to it.
    cwd: PathBuf,
    /// The project root: `.gitignore` files up to it apply when there is no repository.
    root: PathBuf,
    watch: crate::config::Globs,
    watch_ignore: crate::config::Globs,
    debounce: Duration,
}

/// The running watchers, by process name.
#[derive(Default)]
pub(crate) struct Watches {
    running: HashMap<String, (Settings, watcher::Watcher)>,
}

impl crate::supervisor::Watching for Watches {
    /// Watch what `plan` says: start the watchers of processes whose `watch` is new or
    /// changed, stop those of processes that no longer watch (or are gone), keep the
    /// rest. Failures (no inotify instance left) are reported and leave that process
    /// unwatched; the supervisor carries on.
    fn sync(&mut self, plan: &Plan, events: &UnboundedSender<Event>, printer: &Printer) {
        let wanted: HashMap<String, Settings> = plan
            .processes
            .iter()
            .filter(|process| !process.watch.is_empty())
            .map(|process| {
                let settings = Settings {
                    process: process.name.clone(),
                    cwd: process.cwd.clone(),
                    root: plan.root.clone(),
                    watch: process.watch.clone(),
                    watch_ignore: process.watch_ignore.clone(),
                    debounce: process.watch_debounce,
                };
                (process.name.clone(), settings)
            })
            .collect();
        // Dropping a watcher stops it.
        self.running
            .retain(|name, (settings, _)| wanted.get(name) == Some(settings));
        for (name, settings) in wanted {
            if self.running.contains_key(&name) {
                continue;
            }
            match watcher::start(settings.clone(), events.clone(), printer.clone()) {
                Ok(watcher) => {
                    self.running.insert(name, (settings, watcher));
                }
                Err(error) => {
                    let hint = if error.raw_os_error() == Some(libc::EMFILE) {
                        ": too many inotify instances in use; raise the limit with \
                         sudo sysctl fs.inotify.max_user_instances=1024"
                    } else {
                        ""
                    };
                    printer.message(
                        Level::Warning,
                        format!("{name}: file watching is off: {error}{hint}"),
                    );
                }
            }
        }
    }
}
