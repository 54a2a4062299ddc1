//! One process's watch: the inotify watches (through `notify`), the walk that decides
//! which directories get one, and the thread that turns events into
//! [`Event::FileChanged`].
//!
//! Each watch has a thread that blocks on one channel, fed by notify's own inotify
//! thread; it wakes for an event, or at the debounce deadline when a burst is pending,
//! and at no other time. Directories are watched one by one (`NonRecursive`), never
//! with notify's recursive mode: that would put a watch on every directory of
//! `node_modules`, `target` and whatever `.gitignore` excludes, and inotify watches are
//! a limited, per-user resource. The walk skips what is ignored instead, and reads each
//! `.gitignore` before it looks at its directory's entries.
//!
//! New directories (a `mkdir`, a `git checkout`, a directory moved in) are walked when
//! their creation is seen: they get watches, and wanted files already inside them
//! (created before the watch existed) count as changes. A removed or moved-away
//! directory loses its watches. A `.gitignore` edit re-reads that file and walks the
//! whole tree again, adding and dropping watches to match. An inotify queue overflow
//! (events were lost) does the same and counts as a change.

use std::collections::BTreeSet;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Instant;

use notify::event::{AccessKind, AccessMode, CreateKind, RemoveKind};
use notify::{EventKind, RecommendedWatcher, RecursiveMode, Watcher as _};
use tokio::sync::mpsc::UnboundedSender;

use super::Settings;
use super::debounce::Debounce;
use super::filter::Filter;
use super::gitignore::IgnoreFiles;
use crate::logs::printer::{Level, Printer};
use crate::supervisor::Event;

/// The inotify watch limit is a per-user setting shared by every watch of every
/// program: say so once per proj, not once per directory or process.
static LIMIT_REPORTED: AtomicBool = AtomicBool::new(false);

/// What the watch thread waits for.
enum Message {
    Notify(notify::Result<notify::Event>),
    Stop,
}

/// A running watch; dropping it stops the thread and removes its inotify watches.
pub(super) struct Watcher {
    messages: mpsc::Sender<Message>,
}

impl Drop for Watcher {
    fn drop(&mut self) {
        let _ = self.messages.send(Message::Stop);
    }
}

/// Start watching for `settings.process`: changes are sent to the supervisor as
/// [`Event::FileChanged`]; what proj has to say (what is watched, limits) goes to
/// `printer`.
pub(super) fn start(
    settings: Settings,
    events: UnboundedSender<Event>,
    printer: Printer,
) -> io::Result<Watcher> {
    let filter = Filter::new(&settings.watch, &settings.watch_ignore);
    let (messages, receiver) = mpsc::channel();
    let from_notify = messages.clone();
    // notify calls this on its own thread; the channel hands events to ours.
    let notify = notify::recommended_watcher(move |event| {
        let _ = from_notify.send(Message::Notify(event));
    })
    .map_err(|error| match error.kind {
        notify::ErrorKind::Io(error) => error,
        _ => io::Error::other(error),
    })?;
    let ignores = IgnoreFiles::new(&settings.cwd, &settings.root);
    let tree = Tree {
        debounce: Debounce::new(settings.debounce),
        settings,
        filter,
        ignores,
        notify,
        watched: BTreeSet::new(),
        unwatched: 0,
        events,
        printer,
    };
    std::thread::Builder::new()
        .name(format!("proj-watch-{}", tree.settings.process))
        .spawn(move || tree.run(&receiver))?;
    Ok(Watcher { messages })
}

/// The watch thread's state.
struct Tree {
    settings: Settings,
    filter: Filter,
    ignores: IgnoreFiles,
    notify: RecommendedWatcher,
    /// The directories holding an inotify watch.
    watched: BTreeSet<PathBuf>,
    /// Wanted directories left without a watch by the last walk (the limit was hit).
    unwatched: usize,
    debounce: Debounce,
    events: UnboundedSender<Event>,
    printer: Printer,
}

impl Tree {
    fn run(mut self, receiver: &mpsc::Receiver<Message>) {
        let started = Instant::now();
        self.resync();
        tracing::debug!(
            process = %self.settings.process,
            directories = self.watched.len(),
            took = ?started.elapsed(),
            "watching"
        );
        self.printer.message(Level::Info, self.describe());
        loop {
            // Sleep until a message, or until the pending burst is over. `None`: the
            // burst is over, or (with nothing pending) every sender is gone.
            let message = match self.debounce.deadline() {
                None => receiver.recv().ok(),
                Some(at) => {
                    match receiver.recv_timeout(at.saturating_duration_since(Instant::now())) {
                        Ok(message) => Some(message),
                        Err(mpsc::RecvTimeoutError::Timeout) => None,
                        Err(mpsc::RecvTimeoutError::Disconnected) => Some(Message::Stop),
                    }
                }
            };
            match message {
                Some(Message::Notify(Ok(event))) => self.on_event(event),
                Some(Message::Notify(Err(error))) => self.on_error(error),
                Some(Message::Stop) => return,
                None if self.debounce.deadline().is_none() => return,
                None => {}
            }
            if let Some(path) = self.debounce.take_due(Instant::now()) {
                let event = Event::FileChanged {
                    process: self.settings.process.clone(),
                    path,
                };
                if self.events.send(event).is_err() {
                    // The supervisor is gone.
                    return;
                }
            }
        }
    }

    /// "web: watching src/**/*.py (12 directories)".
    fn describe(&self) -> String {
        let unwatched = if self.unwatched > 0 {
            format!(", {} not watched", self.unwatched)
        } else {
            String::new()
        };
        format!(
            "{}: watching {} ({} director{}{unwatched})",
            self.settings.process,
            self.settings.watch.patterns().join(", "),
            self.watched.len(),
            if self.watched.len() == 1 { "y" } else { "ies" }
        )
    }

    fn on_event(&mut self, event: notify::Event) {
        let now = Instant::now();
        if event.need_rescan() {
            // The kernel's queue overflowed: events were lost, so anything may have
            // changed, directories included. There is no one file to name; a relative
            // path is shown as it is ("web: many files changed: restarting").
            self.resync();
            self.debounce.record(PathBuf::from("many files"), now);
            return;
        }
        if !counts(event.kind) {
            return;
        }
        let mut gitignore_changed = false;
        for path in &event.paths {
            let is_dir = match event.kind {
                EventKind::Create(CreateKind::Folder) | EventKind::Remove(RemoveKind::Folder) => {
                    true
                }
                _ => path.symlink_metadata().is_ok_and(|m| m.is_dir()),
            };
            if path.file_name().is_some_and(|name| name == ".gitignore")
                && let Some(dir) = path.parent()
                && self.watched.contains(dir)
            {
                self.ignores.load_dir(dir);
                gitignore_changed = true;
            }
            if self.watched.contains(path) && !path.is_dir() {
                self.forget(path);
            } else if is_dir
                && !self.watched.contains(path)
                && self.wants_dir(path)
                && let Some(found) = self.watch_new(path)
            {
                self.debounce.record(found, now);
            }
            if self.wants_file(path, is_dir) {
                self.debounce.record(path.clone(), now);
            }
        }
        if gitignore_changed {
            self.resync();
        }
    }

    fn on_error(&mut self, error: notify::Error) {
        if let notify::ErrorKind::MaxFilesWatch = error.kind {
            self.report_limit(1);
        } else {
            tracing::debug!(process = %self.settings.process, %error, "watch error");
        }
    }

    /// Walk the whole tree: watch every wanted directory, drop the watches of those no
    /// longer wanted (a `.gitignore` now excludes them).
    fn resync(&mut self) {
        let mut wanted = BTreeSet::new();
        let cwd = self.settings.cwd.clone();
        let (_, missed) = self.walk(&cwd, &mut wanted);
        let stale: Vec<PathBuf> = self.watched.difference(&wanted).cloned().collect();
        for dir in stale {
            let _ = self.notify.unwatch(&dir);
            self.watched.remove(&dir);
        }
        self.unwatched = missed;
    }

    /// A directory appeared: watch it and what is wanted below it; return a wanted
    /// file already inside, which was created before the watch could see it.
    fn watch_new(&mut self, dir: &Path) -> Option<PathBuf> {
        let (found, missed) = self.walk(dir, &mut BTreeSet::new());
        self.unwatched += missed;
        found
    }

    /// A watched directory is gone (removed, or moved away: its watch would follow it
    /// and report its new place under the old name): drop it and those below it.
    fn forget(&mut self, dir: &Path) {
        let below: Vec<PathBuf> = self
            .watched
            .range(dir.to_path_buf()..)
            .take_while(|path| path.starts_with(dir))
            .cloned()
            .collect();
        for path in below {
            let _ = self.notify.unwatch(&path);
            self.watched.remove(&path);
        }
    }

    /// Watch `from` (a wanted directory) and the wanted directories below it, collect
    /// them into `wanted`, and read each `.gitignore` on the way. Returns the first
    /// wanted file seen and how many directories could not be watched (the inotify
    /// limit is reached; that is reported once).
    fn walk(&mut self, from: &Path, wanted: &mut BTreeSet<PathBuf>) -> (Option<PathBuf>, usize) {
        let mut found = None;
        let mut missed = 0;
        let mut stack = vec![from.to_path_buf()];
        while let Some(dir) = stack.pop() {
            // Watch before reading: a file created meanwhile is then either read here
            // or reported by the watch.
            let watched = if missed > 0 {
                self.watched.contains(&dir)
            } else {
                self.watch(&dir)
            };
            if !watched {
                missed += 1;
            }
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            // `file_type` comes from the directory entry: no stat per file.
            let entries: Vec<(PathBuf, bool)> = entries
                .filter_map(Result::ok)
                .map(|entry| {
                    let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
                    (entry.path(), is_dir)
                })
                .collect();
            if entries
                .iter()
                .any(|(path, _)| path.file_name().is_some_and(|n| n == ".gitignore"))
            {
                self.ignores.load_dir(&dir);
            }
            for (path, is_dir) in entries {
                if is_dir {
                    if self.wants_dir(&path) {
                        stack.push(path);
                    }
                } else if found.is_none() && self.wants_file(&path, false) {
                    found = Some(path);
                }
            }
            wanted.insert(dir);
        }
        if missed > 0 {
            self.report_limit(missed);
        }
        (found, missed)
    }

    /// Add an inotify watch on `dir` unless it has one; false when the limit of
    /// watches is reached (then every further one would fail the same way).
    fn watch(&mut self, dir: &Path) -> bool {
        if self.watched.contains(dir) {
            return true;
        }
        match self.notify.watch(dir, RecursiveMode::NonRecursive) {
            Ok(()) => {
                self.watched.insert(dir.to_path_buf());
                true
            }
            Err(error) if matches!(error.kind, notify::ErrorKind::MaxFilesWatch) => false,
            // Gone meanwhile, or unreadable: nothing to watch there.
            Err(error) => {
                tracing::debug!(dir = %dir.display(), %error, "not watched");
                true
            }
        }
    }

    fn report_limit(&self, missed: usize) {
        if LIMIT_REPORTED.swap(true, Ordering::Relaxed) {
            return;
        }
        self.printer.message(
            Level::Warning,
            format!(
                "{}: the system's limit of inotify watches is reached: {missed} \
                 director{} not watched, changes there do not restart it (the rest is \
                 watched). Raise the limit: sudo sysctl fs.inotify.max_user_watches=524288 \
                 (and add it to /etc/sysctl.d/ to keep it)",
                self.settings.process,
                if missed == 1 { "y is" } else { "ies are" }
            ),
        );
    }

    fn relative<'p>(&self, path: &'p Path) -> Option<&'p Path> {
        path.strip_prefix(&self.settings.cwd).ok()
    }

    fn wants_dir(&self, dir: &Path) -> bool {
        self.relative(dir).is_some_and(|relative| {
            self.filter.wants_dir(relative)
                && (self.filter.named(relative) || !self.ignores.is_ignored(dir, true))
        })
    }

    fn wants_file(&self, path: &Path, is_dir: bool) -> bool {
        self.relative(path).is_some_and(|relative| {
            self.filter.wants_file(relative)
                && (self.filter.named(relative) || !self.ignores.is_ignored(path, is_dir))
        })
    }
}

/// Whether an event is a change: content, names, metadata (`touch` restarts, as it
/// does for many reloaders), creation, removal. Opening and reading a file is not
/// (notify asks inotify for opens too); closing a file written to is.
fn counts(kind: EventKind) -> bool {
    match kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) | EventKind::Other => false,
        EventKind::Any | EventKind::Create(_) | EventKind::Modify(_) | EventKind::Remove(_) => true,
    }
}
