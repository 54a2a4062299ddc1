//! Plain mode: every line as `HH:MM:SS.mmm NAME | TEXT` on stdout.
//!
//! # Theory of operation
//!
//! The printer is one thread that owns stdout. Output readers and the supervisor hand it
//! items over a channel and never wait for it: a reader checks how many bytes are queued
//! and, past [`QUEUE_LIMIT`], drops the batch for the terminal (the log file already has
//! it) and counts it. So a stopped pager or a slow terminal costs memory up to the limit,
//! never a blocked child. The printer reports the count of dropped lines once it catches
//! up. proj's own messages are never dropped: they are few and small.
//!
//! Formatting happens here, off the readers' path: a batch of lines read together shares
//! one timestamp, formatted once.

use std::io::{self, Write};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, SystemTime};

use super::clock::Clock;
use super::journal;
use super::splitter;

/// Bytes of output that may wait for the terminal before batches are dropped.
pub const QUEUE_LIMIT: usize = 32 * 1024 * 1024;

/// The name proj's own messages appear under.
pub const PROJ_NAME: &str = "proj";

/// How an instance is shown: its name and colour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    pub name: String,
    /// An ANSI foreground colour code (31–36, 91–96).
    pub color: u8,
}

impl Label {
    /// The label for the `index`-th instance: colours cycle through a palette that keeps
    /// neighbours apart.
    pub fn new(name: impl Into<String>, index: usize) -> Arc<Label> {
        const PALETTE: [u8; 10] = [36, 33, 32, 35, 34, 96, 93, 92, 95, 94];
        Arc::new(Label {
            name: name.into(),
            color: PALETTE[index % PALETTE.len()],
        })
    }
}

/// How important a message from proj is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Info,
    Warning,
    Error,
}

/// How the printer writes.
#[derive(Debug, Clone)]
pub struct Style {
    pub color: bool,
    pub clock: Clock,
    /// The widest name known at start (more may come later).
    pub name_width: usize,
}

enum Item {
    Lines {
        label: Arc<Label>,
        at: SystemTime,
        data: Arc<[u8]>,
    },
    Message {
        at: SystemTime,
        level: Level,
        text: String,
    },
    Flush(mpsc::SyncSender<()>),
}

/// A handle to the printer thread; cheap to clone.
#[derive(Clone)]
pub struct Printer {
    items: mpsc::Sender<Item>,
    queued: Arc<AtomicUsize>,
    dropped: Arc<AtomicU64>,
    /// The TUI: proj's messages are also handed to it, and process lines are not
    /// written (the TUI shows them; each instance's log file has them).
    tap: Option<tokio::sync::mpsc::UnboundedSender<Message>>,
    /// proj's own lines also go here: `.proj/logs/proj.log`, the history and the feed
    /// (`proj logs proj`), in every mode.
    record: Option<Arc<crate::logs::reader::OutputSink>>,
}

/// A message from proj, as the TUI receives it.
#[derive(Debug, Clone)]
pub struct Message {
    pub at: SystemTime,
    pub level: Level,
    pub text: String,
}

impl Printer {
    /// Start the printer thread writing to stdout.
    pub fn start(style: Style) -> io::Result<Printer> {
        Printer::start_with(style, io::stdout())
    }

    /// Start the printer thread writing to `out` (tests write to a buffer).
    pub fn start_with<W: Write + Send + 'static>(style: Style, out: W) -> io::Result<Printer> {
        Printer::start_inner(style, out, false)
    }

    /// journald mode (stdout is the journal, see [`super::journal`]): no
    /// timestamps, journald records its own, and each line starts with its priority:
    /// `<6>` for processes' lines and proj's info, `<4>` warnings, `<3>` errors.
    pub fn start_journal<W: Write + Send + 'static>(style: Style, out: W) -> io::Result<Printer> {
        Printer::start_inner(style, out, true)
    }

    fn start_inner<W: Write + Send + 'static>(
        style: Style,
        out: W,
        journal: bool,
    ) -> io::Result<Printer> {
        let (items, receiver) = mpsc::channel();
        let printer = Printer {
            items,
            queued: Arc::new(AtomicUsize::new(0)),
            dropped: Arc::new(AtomicU64::new(0)),
            tap: None,
            record: None,
        };
        let worker = Worker {
            style,
            journal,
            out: io::BufWriter::with_capacity(256 * 1024, out),
            broken: false,
            queued: printer.queued.clone(),
            dropped: printer.dropped.clone(),
            line: Vec::with_capacity(1024),
            batch: Vec::new(),
        };
        std::thread::Builder::new()
            .name("proj-printer".into())
            .spawn(move || worker.run(&receiver))?;
        Ok(printer)
    }

    /// TUI mode: write only proj's messages to `out` (`.proj/logs/proj.log`) and hand
    /// each one to `tap` as well.
    pub fn start_for_tui<W: Write + Send + 'static>(
        style: Style,
        out: W,
        tap: tokio::sync::mpsc::UnboundedSender<Message>,
    ) -> io::Result<Printer> {
        let mut printer = Printer::start_with(style, out)?;
        printer.tap = Some(tap);
        Ok(printer)
    }

    /// This printer, also recording proj's own messages in `sink` (see `record`).
    pub fn recording(mut self, sink: Arc<crate::logs::reader::OutputSink>) -> Printer {
        self.record = Some(sink);
        self
    }

    /// Queue complete lines (as cut by the splitter) from one instance. Never blocks.
    pub fn lines(&self, label: &Arc<Label>, at: SystemTime, data: &Arc<[u8]>) {
        if self.tap.is_some() {
            return;
        }
        if self.queued.load(Ordering::Relaxed) + data.len() > QUEUE_LIMIT {
            let count = memchr::memchr_iter(b'\n', data).count() as u64;
            self.dropped.fetch_add(count, Ordering::Relaxed);
            return;
        }
        self.queued.fetch_add(data.len(), Ordering::Relaxed);
        let item = Item::Lines {
            label: label.clone(),
            at,
            data: data.clone(),
        };
        if self.items.send(item).is_err() {
            self.queued.fetch_sub(data.len(), Ordering::Relaxed);
        }
    }

    /// Queue a message from proj itself.
    pub fn message(&self, level: Level, text: impl Into<String>) {
        let (at, text) = (SystemTime::now(), text.into());
        if let Some(record) = &self.record {
            // A local file write, as each instance's reader does for its own lines.
            let mut line = Vec::with_capacity(text.len() + 1);
            line.extend_from_slice(text.as_bytes());
            line.push(b'\n');
            record.deliver(at, &line);
        }
        if let Some(tap) = &self.tap {
            let message = Message {
                at,
                level,
                text: text.clone(),
            };
            let _ = tap.send(message);
        }
        let _ = self.items.send(Item::Message { at, level, text });
    }

    /// Wait until everything queued so far is written, at most `timeout`.
    pub fn flush(&self, timeout: Duration) {
        let (done, wait) = mpsc::sync_channel(1);
        if self.items.send(Item::Flush(done)).is_ok() {
            let _ = wait.recv_timeout(timeout);
        }
    }
}

struct Worker<W: Write> {
    style: Style,
    /// journald mode: priority prefixes instead of timestamps.
    journal: bool,
    out: io::BufWriter<W>,
    /// stdout is gone (EPIPE): keep draining, stop writing.
    broken: bool,
    queued: Arc<AtomicUsize>,
    dropped: Arc<AtomicU64>,
    /// The formatted prefix of the current batch, reused.
    line: Vec<u8>,
    /// The formatted lines of the current batch, reused.
    batch: Vec<u8>,
}

impl<W: Write> Worker<W> {
    fn run(mut self, items: &mpsc::Receiver<Item>) {
        while let Ok(first) = items.recv() {
            self.handle(first);
            // Write whatever else is waiting before paying for a flush.
            while let Ok(next) = items.try_recv() {
                self.handle(next);
            }
            self.report_dropped();
            self.write_result(|out| out.flush());
        }
    }

    fn handle(&mut self, item: Item) {
        match item {
            Item::Lines { label, at, data } => {
                self.queued.fetch_sub(data.len(), Ordering::Relaxed);
                self.write_lines(&label.name, Some(label.color), at, &data);
            }
            Item::Message { at, level, text } => self.write_message(at, level, &text),
            Item::Flush(done) => {
                self.report_dropped();
                self.write_result(|out| out.flush());
                let _ = done.send(());
            }
        }
    }

    fn report_dropped(&mut self) {
        let dropped = self.dropped.swap(0, Ordering::Relaxed);
        if dropped > 0 {
            let text = format!(
                "{dropped} lines not shown: the terminal was too slow (all are in .proj/logs/)"
            );
            self.write_message(SystemTime::now(), Level::Warning, &text);
        }
    }

    fn write_message(&mut self, at: SystemTime, level: Level, text: &str) {
        let mut data = text.as_bytes().to_vec();
        data.push(b'\n');
        let color = match level {
            Level::Info => None,
            Level::Warning => Some(33),
            Level::Error => Some(31),
        };
        self.style.name_width = self.style.name_width.max(PROJ_NAME.len());
        let priority = match level {
            Level::Info => journal::INFO,
            Level::Warning => journal::WARNING,
            Level::Error => journal::ERROR,
        };
        self.prefix(PROJ_NAME, None, at, priority);
        let prefix_len = self.line.len();
        for text in splitter::lines(&data) {
            self.line.truncate(prefix_len);
            match (self.style.color, color) {
                (true, Some(code)) => {
                    self.line
                        .extend_from_slice(format!("\x1b[{code}m").as_bytes());
                    self.line.extend_from_slice(text);
                    self.line.extend_from_slice(b"\x1b[0m");
                }
                _ => self.line.extend_from_slice(text),
            }
            self.line.push(b'\n');
            self.emit_line();
        }
    }

    /// The hot path of plain mode: one buffer for the whole batch, one UTF-8 check for
    /// the whole batch (per-line lossy decoding only when it fails).
    fn write_lines(&mut self, name: &str, color: Option<u8>, at: SystemTime, data: &[u8]) {
        self.style.name_width = self.style.name_width.max(name.len());
        // One stream carries stdout and stderr: every process line is info.
        self.prefix(name, color, at, journal::INFO);
        let prefix = std::mem::take(&mut self.line);
        let valid = std::str::from_utf8(data).is_ok();
        let count = memchr::memchr_iter(b'\n', data).count();
        let mut batch = std::mem::take(&mut self.batch);
        batch.clear();
        batch.reserve(data.len() + count * (prefix.len() + 1));
        for text in splitter::lines(data) {
            batch.extend_from_slice(&prefix);
            if valid {
                batch.extend_from_slice(text);
            } else {
                batch.extend_from_slice(String::from_utf8_lossy(text).as_bytes());
            }
            batch.push(b'\n');
        }
        self.write_result(|out| out.write_all(&batch));
        self.batch = batch;
        self.line = prefix;
    }

    /// `HH:MM:SS.mmm NAME   | ` into `self.line`, the name padded and coloured; in
    /// journald mode `<N>NAME   | `, with `priority` instead of the time.
    fn prefix(&mut self, name: &str, color: Option<u8>, at: SystemTime, priority: &str) {
        self.line.clear();
        if self.journal {
            self.line.extend_from_slice(priority.as_bytes());
        } else {
            self.style.clock.write_time(at, &mut self.line);
            self.line.push(b' ');
        }
        let padding = self.style.name_width - name.len();
        match (self.style.color, color) {
            (true, Some(code)) => {
                self.line
                    .extend_from_slice(format!("\x1b[{code}m").as_bytes());
                self.line.extend_from_slice(name.as_bytes());
                self.line.extend_from_slice(b"\x1b[0m");
            }
            (true, None) => {
                self.line.extend_from_slice(b"\x1b[1m");
                self.line.extend_from_slice(name.as_bytes());
                self.line.extend_from_slice(b"\x1b[0m");
            }
            (false, _) => self.line.extend_from_slice(name.as_bytes()),
        }
        self.line.extend(std::iter::repeat_n(b' ', padding));
        self.line.extend_from_slice(b" | ");
    }

    fn emit_line(&mut self) {
        let line = std::mem::take(&mut self.line);
        self.write_result(|out| out.write_all(&line));
        self.line = line;
    }

    fn write_result(&mut self, write: impl FnOnce(&mut io::BufWriter<W>) -> io::Result<()>) {
        if self.broken {
            return;
        }
        if let Err(error) = write(&mut self.out) {
            // Nobody reads stdout any more (a closed pipe): supervision goes on, the log
            // files keep everything.
            tracing::debug!(%error, "stdout is gone; plain output stops");
            self.broken = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn printer(color: bool) -> (Printer, Shared) {
        let out = Shared::default();
        let style = Style {
            color,
            clock: Clock::new(jiff::tz::TimeZone::UTC),
            name_width: 6,
        };
        (Printer::start_with(style, out.clone()).unwrap(), out)
    }

    fn text(out: &Shared) -> String {
        String::from_utf8(out.0.lock().unwrap().clone()).unwrap()
    }

    const NOON: Duration = Duration::from_millis(12 * 3600 * 1000 + 5);

    #[test]
    fn lines_are_prefixed_with_time_and_padded_name() {
        let (printer, out) = printer(false);
        let web = Label::new("web", 0);
        printer.lines(
            &web,
            SystemTime::UNIX_EPOCH + NOON,
            &Arc::from(&b"hello\n\xffbytes\n"[..]),
        );
        printer.message(Level::Info, "web: started pid 3");
        printer.flush(Duration::from_secs(5));
        let got = text(&out);
        let lines: Vec<&str> = got.lines().collect();
        assert_eq!(lines[0], "12:00:00.005 web    | hello");
        assert_eq!(lines[1], "12:00:00.005 web    | \u{fffd}bytes");
        assert!(
            lines[2].ends_with(" proj   | web: started pid 3"),
            "{}",
            lines[2]
        );
    }

    #[test]
    fn colour_wraps_names_only_when_asked() {
        let (printer, out) = printer(true);
        printer.lines(
            &Label::new("web", 0),
            SystemTime::UNIX_EPOCH,
            &Arc::from(&b"x\n"[..]),
        );
        printer.message(Level::Error, "web: failed: boom");
        printer.flush(Duration::from_secs(5));
        let got = text(&out);
        assert!(got.contains("\x1b[36mweb\x1b[0m"), "{got:?}");
        assert!(got.contains("\x1b[31mweb: failed: boom\x1b[0m"), "{got:?}");
    }

    #[test]
    fn journald_mode_has_priorities_and_no_time() {
        let out = Shared::default();
        let style = Style {
            color: false,
            clock: Clock::new(jiff::tz::TimeZone::UTC),
            name_width: 6,
        };
        let printer = Printer::start_journal(style, out.clone()).unwrap();
        printer.lines(
            &Label::new("web", 0),
            SystemTime::UNIX_EPOCH,
            &Arc::from(&b"hello\n"[..]),
        );
        printer.message(Level::Info, "web: started pid 3");
        printer.message(Level::Warning, "web: exited with code 1");
        printer.message(Level::Error, "web: failed: boom\nsecond line");
        printer.flush(Duration::from_secs(5));
        let got = text(&out);
        let lines: Vec<&str> = got.lines().collect();
        assert_eq!(
            lines,
            [
                "<6>web    | hello",
                "<6>proj   | web: started pid 3",
                "<4>proj   | web: exited with code 1",
                "<3>proj   | web: failed: boom",
                "<3>proj   | second line",
            ]
        );
    }

    #[test]
    fn a_longer_name_widens_the_column() {
        let (printer, out) = printer(false);
        printer.lines(
            &Label::new("worker.10", 0),
            SystemTime::UNIX_EPOCH,
            &Arc::from(&b"x\n"[..]),
        );
        printer.flush(Duration::from_secs(5));
        assert!(text(&out).contains(" worker.10 | x"));
    }

    #[test]
    fn for_the_tui_only_messages_are_written_and_each_is_handed_on() {
        let out = Shared::default();
        let style = Style {
            color: false,
            clock: Clock::new(jiff::tz::TimeZone::UTC),
            name_width: 4,
        };
        let (tap, mut messages) = tokio::sync::mpsc::unbounded_channel();
        let printer = Printer::start_for_tui(style, out.clone(), tap).unwrap();
        printer.lines(
            &Label::new("web", 0),
            SystemTime::UNIX_EPOCH,
            &Arc::from(&b"process output\n"[..]),
        );
        printer.message(Level::Warning, "web: exited with code 1");
        printer.flush(Duration::from_secs(5));
        let written = text(&out);
        assert!(!written.contains("process output"), "{written}");
        assert!(
            written.contains("proj | web: exited with code 1"),
            "{written}"
        );
        let message = messages.try_recv().unwrap();
        assert_eq!(
            (message.level, message.text.as_str()),
            (Level::Warning, "web: exited with code 1")
        );
    }
}
