//! One task per output pipe: read, cut into lines, write the log file, hand on.
//!
//! The task reads as fast as the child writes: the log file write is a plain `write(2)`
//! to a local file (page cache), and every other consumer gets the batch without being
//! waited for (see [`super::printer`]). So the pipe never fills because of a slow viewer,
//! and the child never blocks on proj. At end-of-file (the child and every descendant
//! holding the pipe are gone) the last partial line is written too. A `tty = true`
//! instance's terminal is read the same way ([`pump_terminal`]).

use std::os::fd::OwnedFd;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use crate::logs::feed::Feed;
use nix::fcntl::{FcntlArg, fcntl};
use tokio::io::AsyncReadExt;
use tokio::net::unix::pipe;

use super::file::LogFile;
use super::history::{Batch, History};
use super::printer::{Label, Level, Printer};
use super::splitter::LineBuffer;
use crate::process::pty::Master;

/// Bytes asked of the pipe per read: a quiet process costs little memory (hundreds of
/// idle instances are common), a chatty one gets large reads and few system calls.
const FIRST_READ_SIZE: usize = 4 * 1024;
const MAX_READ_SIZE: usize = 256 * 1024;

/// The pipe capacity a chatty process gets (Linux gives 64 KiB): the child can run
/// further ahead of proj before a write blocks, which on a busy machine means fewer
/// context switches. Asked for only once a read finds the pipe full (the child was, or
/// was about to be, blocked on proj), so quiet instances do not use up the per-user
/// pipe memory.
const CHATTY_PIPE_SIZE: i32 = 1024 * 1024;

/// What a new pipe holds when the kernel does not say (`F_GETPIPE_SZ`).
const DEFAULT_PIPE_SIZE: usize = 64 * 1024;

/// Where an instance's output goes. Shared by the readers of its successive runs, which
/// can overlap while an old process's descendants still drain.
pub struct OutputSink {
    pub label: Arc<Label>,
    /// The instance's name as every batch carries it: one allocation shared by all of
    /// them (the history keeps up to 10,000 batches per instance).
    pub instance: Arc<str>,
    pub file: Mutex<LogFile>,
    pub printer: Option<Printer>,
    pub history: Mutex<History>,
    pub feed: Feed,
    /// Bytes delivered so far, over every run: whether a run printed anything at all.
    pub delivered: std::sync::atomic::AtomicU64,
}

impl OutputSink {
    /// Deliver a batch of complete lines.
    pub(crate) fn deliver(&self, at: SystemTime, lines: &[u8]) {
        if lines.is_empty() {
            return;
        }
        self.delivered.fetch_add(
            u64::try_from(lines.len()).unwrap_or(u64::MAX),
            std::sync::atomic::Ordering::Relaxed,
        );
        let batch = Batch {
            instance: Arc::clone(&self.instance),
            at,
            lines: Arc::from(lines),
        };
        self.write_file(|file| file.write(lines));
        if let Some(printer) = &self.printer {
            printer.lines(&self.label, at, &batch.lines);
        }
        self.feed.publish(&batch);
        self.history
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(batch);
    }
}

impl OutputSink {
    /// Do `write` on the log file, and report its failure (once in a row, see
    /// [`LogFile::write`]).
    fn write_file(&self, write: impl FnOnce(&mut LogFile) -> std::io::Result<()>) {
        let Ok(mut file) = self.file.lock() else {
            return;
        };
        let Err(error) = write(&mut file) else {
            return;
        };
        if let Some(printer) = &self.printer {
            printer.message(
                Level::Warning,
                format!(
                    "{}: cannot write {}: {error} (further errors are not shown; supervision goes on)",
                    self.label.name,
                    file.path().display()
                ),
            );
        }
    }
}

/// A regex the reader tests each line against until one matches (a `log` readiness
/// probe), then says so once.
pub struct LineWatch {
    pub pattern: regex::Regex,
    pub matched: tokio::sync::oneshot::Sender<()>,
}

impl LineWatch {
    /// Test the lines of a batch; give the watch back while nothing matched.
    fn check(self, lines: &[u8]) -> Option<LineWatch> {
        let hit = super::splitter::lines(lines)
            .any(|line| self.pattern.is_match(&String::from_utf8_lossy(line)));
        if hit {
            let _ = self.matched.send(());
            None
        } else {
            Some(self)
        }
    }
}

/// Read `output` until end-of-file, delivering every line to `sink`, and to `watch`
/// until it matches.
///
/// The log file is opened now, before the returned task first runs: right after the
/// spawn, so the next spawn's check for free descriptors counts it.
pub fn pump(
    output: OwnedFd,
    sink: Arc<OutputSink>,
    watch: Option<LineWatch>,
) -> impl std::future::Future<Output = ()> + Send + 'static {
    sink.write_file(LogFile::open_now);
    read_until_end(output, sink, watch)
}

async fn read_until_end(output: OwnedFd, sink: Arc<OutputSink>, watch: Option<LineWatch>) {
    let receiver = match pipe::Receiver::from_owned_fd(output) {
        Ok(receiver) => receiver,
        Err(error) => {
            tracing::error!(%error, instance = %sink.label.name, "cannot read output");
            return;
        }
    };
    let mut lines = Lines::new(watch, LineEnd::Lf);
    // A read this large emptied a full pipe. (Before, the trigger was a read filling
    // the 256 KiB buffer, which a 64 KiB pipe never does: the pipe was never enlarged.)
    let full = fcntl(&receiver, FcntlArg::F_GETPIPE_SZ)
        .ok()
        .and_then(|size| usize::try_from(size).ok())
        .unwrap_or(DEFAULT_PIPE_SIZE);
    let mut enlarged = false;
    loop {
        // Readable first, then read: the buffer is made at the first output, so the
        // hundreds of instances that never print hold none.
        let read = match receiver.readable().await {
            Ok(()) => receiver.try_read(lines.buffer.spare()),
            Err(error) => Err(error),
        };
        let read = match read {
            Ok(0) => break,
            Ok(read) => read,
            Err(error)
                if matches!(
                    error.kind(),
                    std::io::ErrorKind::Interrupted | std::io::ErrorKind::WouldBlock
                ) =>
            {
                continue;
            }
            Err(error) => {
                tracing::warn!(%error, instance = %sink.label.name, "reading output failed");
                break;
            }
        };
        lines.take(read, &sink);
        if read >= full && !enlarged {
            enlarged = true;
            // Best effort: past the per-user limit the kernel says no, and 64 KiB
            // still works.
            let _ = fcntl(&receiver, FcntlArg::F_SETPIPE_SZ(CHATTY_PIPE_SIZE));
        }
    }
    lines.finish(&sink);
}

/// Read a `tty = true` instance's terminal until every process holding it is gone:
/// `on_output` sees the bytes as they come (for connected clients: a prompt without a
/// newline, escape sequences), `sink` gets the lines, CR LF (what the terminal makes of
/// a newline) counting as one line end. The terminal is always drained, connected or
/// not, so the process never blocks on proj. The log file is opened now, as by [`pump`].
pub fn pump_terminal(
    master: Arc<Master>,
    sink: Arc<OutputSink>,
    watch: Option<LineWatch>,
    on_output: impl FnMut(&[u8]) + Send + 'static,
) -> impl std::future::Future<Output = ()> + Send + 'static {
    sink.write_file(LogFile::open_now);
    read_terminal(master, sink, watch, on_output)
}

async fn read_terminal(
    master: Arc<Master>,
    sink: Arc<OutputSink>,
    watch: Option<LineWatch>,
    mut on_output: impl FnMut(&[u8]) + Send + 'static,
) {
    let mut reader = master.reader();
    let mut lines = Lines::new(watch, LineEnd::CrLf);
    loop {
        let read = match reader.read(lines.buffer.spare()).await {
            Ok(0) => break,
            Ok(read) => read,
            Err(error) => {
                tracing::warn!(%error, instance = %sink.label.name, "reading the terminal failed");
                break;
            }
        };
        on_output(lines.buffer.arrived(read));
        lines.take(read, &sink);
    }
    lines.finish(&sink);
}

/// How lines end in a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LineEnd {
    /// `\n` (a pipe).
    Lf,
    /// `\r\n` or `\n` (a terminal's output: its line discipline turns `\n` into `\r\n`).
    CrLf,
}

/// The reading state shared by both pumps: the read buffer (grown for chatty processes,
/// none before the first read), and the `log` probe's watch.
struct Lines {
    buffer: LineBuffer,
    /// A terminal's lines with CR LF folded.
    folded: Vec<u8>,
    watch: Option<LineWatch>,
    end: LineEnd,
}

impl Lines {
    fn new(watch: Option<LineWatch>, end: LineEnd) -> Lines {
        Lines {
            buffer: LineBuffer::new(FIRST_READ_SIZE, MAX_READ_SIZE),
            folded: Vec::new(),
            watch,
            end,
        }
    }

    /// `read` bytes arrived in the buffer's spare room: deliver the complete lines.
    fn take(&mut self, read: usize, sink: &OutputSink) {
        let Lines {
            buffer,
            folded,
            watch,
            end,
        } = self;
        buffer.filled(read, |lines| deliver(lines, *end, folded, watch, sink));
    }

    /// End-of-file: the last partial line too.
    fn finish(mut self, sink: &OutputSink) {
        let Lines {
            buffer,
            folded,
            watch,
            end,
        } = &mut self;
        buffer.finish(|lines| deliver(lines, *end, folded, watch, sink));
    }
}

fn deliver(
    lines: &[u8],
    end: LineEnd,
    folded: &mut Vec<u8>,
    watch: &mut Option<LineWatch>,
    sink: &OutputSink,
) {
    let lines = match end {
        LineEnd::Lf => lines,
        LineEnd::CrLf => {
            folded.clear();
            folded.extend_from_slice(lines);
            super::splitter::fold_crlf(folded);
            folded
        }
    };
    sink.deliver(SystemTime::now(), lines);
    *watch = watch.take().and_then(|watch| watch.check(lines));
}
