//! The terminal of a `tty = true` instance, as the supervisor side holds it: the hub
//! between the instance's pseudo-terminal and the clients connected to it (`proj
//! connect`, the TUI's input mode).
//!
//! # Theory of operation
//!
//! A [`Terminal`] lives as long as its instance's slot, across restarts: each run's
//! pty master is [attached](Terminal::attach) when it is spawned and detached when its
//! output ends, so a client that stays connected through a restart types into the new
//! process. The output reader ([`crate::logs::reader::pump_terminal`]) drains the pty
//! whether or not anyone is connected and hands every chunk to [`Terminal::output`],
//! which keeps the most recent bytes (a client that connects to a waiting debugger sees
//! its prompt) and broadcasts the chunk. The broadcast is bounded: a client too slow to
//! keep up loses chunks and is told so, it never holds up the reader, and the log file
//! gets every line regardless.
//!
//! Keys are written by the client's own task straight to the master
//! ([`Terminal::write`]): the supervisor task is not involved after the
//! `Request::Connect` that handed out the `Arc<Terminal>`, so a process that
//! does not read its input blocks only the client typing into it.

use std::io;
use std::os::fd::OwnedFd;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::broadcast;

use crate::logs::reader::{self, LineWatch, OutputSink};
use crate::process::pty::{Master, WindowSize};

/// How much recent output a new connection is shown first.
const RECENT_BYTES: usize = 16 * 1024;

/// Chunks of output a connected client may fall behind before it loses some.
const CHUNKS_BEHIND: usize = 1024;

/// A chunk of raw terminal output.
pub(crate) type Chunk = Arc<[u8]>;

pub struct Terminal {
    /// The current run's pty master; `None` between runs.
    master: Mutex<Option<Arc<Master>>>,
    /// The size the last client asked for (each new run starts with it).
    size: Mutex<WindowSize>,
    /// The most recent output, and the sender of every chunk; one lock for both, so that
    /// a subscriber gets the recent bytes and then exactly what follows them.
    output: Mutex<Recent>,
}

struct Recent {
    bytes: Vec<u8>,
    chunks: broadcast::Sender<Chunk>,
}

/// What a new connection starts from: the recent output, then the chunks after it.
pub struct Subscription {
    pub recent: Vec<u8>,
    pub chunks: broadcast::Receiver<Chunk>,
}

impl Terminal {
    pub fn new() -> Terminal {
        Terminal {
            master: Mutex::new(None),
            size: Mutex::new(WindowSize::DEFAULT),
            output: Mutex::new(Recent {
                bytes: Vec::new(),
                chunks: broadcast::channel(CHUNKS_BEHIND).0,
            }),
        }
    }

    /// A new run's pty: keys go to it from now on, sized as the last client asked.
    pub(super) fn attach(&self, master: Arc<Master>) {
        let size = *lock(&self.size);
        if size != WindowSize::DEFAULT
            && let Err(error) = master.set_size(size)
        {
            tracing::debug!(%error, "cannot size a new terminal");
        }
        *lock(&self.master) = Some(master);
    }

    /// The run whose pty this was has ended (its output reached end-of-file).
    pub(super) fn detach(&self, master: &Arc<Master>) {
        let mut current = lock(&self.master);
        if current.as_ref().is_some_and(|m| Arc::ptr_eq(m, master)) {
            *current = None;
        }
    }

    /// Output from the process (or a notice of proj's): remember it, pass it on.
    pub fn output(&self, bytes: &[u8]) {
        let mut recent = lock(&self.output);
        recent.bytes.extend_from_slice(bytes);
        if recent.bytes.len() > RECENT_BYTES {
            let excess = recent.bytes.len() - RECENT_BYTES;
            // Start the replay at a line, not inside an escape sequence.
            let cut = memchr::memchr(b'\n', &recent.bytes[excess..])
                .map_or(excess, |newline| excess + newline + 1);
            recent.bytes.drain(..cut);
        }
        // No client connected is the common case, and not an error.
        let _ = recent.chunks.send(Arc::from(bytes));
    }

    pub fn subscribe(&self) -> Subscription {
        let recent = lock(&self.output);
        Subscription {
            // Questions asked while nobody was there are not asked again: a terminal
            // would type its answers into the program (see `terminal_queries`).
            recent: super::terminal_queries::without_queries(&recent.bytes),
            chunks: recent.chunks.subscribe(),
        }
    }

    /// Type `bytes` into the process; `false` when no process runs on the terminal (the
    /// keys are dropped, as a terminal with nothing on it would).
    pub async fn write(&self, bytes: &[u8]) -> io::Result<bool> {
        let master = lock(&self.master).clone();
        match master {
            Some(master) => master.write_all(bytes).await.map(|()| true),
            None => Ok(false),
        }
    }

    /// A client's window changed size: so does the process's (SIGWINCH).
    pub fn resize(&self, size: WindowSize) {
        *lock(&self.size) = size;
        let master = lock(&self.master).clone();
        if let Some(master) = master
            && let Err(error) = master.set_size(size)
        {
            tracing::debug!(%error, "cannot resize a terminal");
        }
    }

    /// Whether a process runs on the terminal now.
    pub fn is_attached(&self) -> bool {
        lock(&self.master).is_some()
    }
}

impl Default for Terminal {
    fn default() -> Self {
        Terminal::new()
    }
}

impl std::fmt::Debug for Terminal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Terminal")
            .field("attached", &self.is_attached())
            .finish_non_exhaustive()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What `Request::Connect` answers: the instance's name and its terminal.
#[derive(Debug)]
pub struct Connection {
    pub instance: String,
    /// How many instances the named process has, when a process name was given.
    pub of: usize,
    pub terminal: Arc<Terminal>,
}

/// The reader of one run's pty: attach it to `terminal`, drain it into `sink` (and
/// connected clients) until every process holding it is gone, then detach it.
pub(super) fn read(
    master: OwnedFd,
    terminal: Arc<Terminal>,
    sink: Arc<OutputSink>,
    watch: Option<LineWatch>,
) -> io::Result<impl Future<Output = ()> + Send + 'static> {
    let master = Arc::new(Master::new(master)?);
    terminal.attach(master.clone());
    let hub = terminal.clone();
    // Made (and its log file opened) now, at the spawn, not when the task first runs.
    let pump = reader::pump_terminal(master.clone(), sink, watch, move |bytes| hub.output(bytes));
    Ok(async move {
        pump.await;
        terminal.detach(&master);
        terminal.output(ENDED);
    })
}

/// What connected clients see when the process on the terminal has ended.
const ENDED: &[u8] = b"\r\n[proj: the process on this terminal ended; Ctrl-] detaches]\r\n";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_subscriber_gets_the_recent_output_then_what_follows() {
        let terminal = Terminal::new();
        terminal.output(b"> view.py(3)\r\n(Pdb) ");
        let mut subscription = terminal.subscribe();
        terminal.output(b"42\r\n");
        assert_eq!(subscription.recent, b"> view.py(3)\r\n(Pdb) ");
        assert_eq!(&*subscription.chunks.try_recv().unwrap(), b"42\r\n");
        assert!(subscription.chunks.try_recv().is_err());
    }

    #[test]
    fn the_recent_output_is_bounded_and_starts_at_a_line() {
        let terminal = Terminal::new();
        for _ in 0..2 * RECENT_BYTES / 10 {
            terminal.output(b"123456789\n");
        }
        let recent = terminal.subscribe().recent;
        assert!(recent.len() <= RECENT_BYTES);
        assert!(recent.starts_with(b"123456789\n"));
    }
}
