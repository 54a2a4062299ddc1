//! The TUI: every instance's state and output at a glance, with control at a key.
//!
//! # Theory of operation
//!
//! The TUI is a client of the supervisor, never a part of it. It runs on a thread of its
//! own with its own single-threaded tokio runtime, so however long a frame takes, the
//! supervisor (on the main thread, where the children are forked) and the output readers
//! (on the main runtime's workers) never wait for it. It sees the supervisor through a
//! [`source::Connection`], the same in-process (`proj up`) and over the control socket
//! (`proj attach`): a bounded stream of updates (snapshots, output batches, proj's own
//! messages) and a queue of commands. What the TUI cannot keep up with is dropped on the
//! supervisor's side of that connection, counted and reported; the log files have it.
//!
//! The loop (`event_loop`) waits on three things: a key or mouse event (crossterm's
//! event stream), an update, and the next frame. Updates are applied in bursts of at
//! most [`BURST`]; a frame is drawn when something changed and at least [`FRAME`] has
//! passed since the last one, so under a flood of output the screen still refreshes at
//! 30 frames per second and the rest of the time goes to taking in lines. Idle, it wakes
//! once a second (uptimes).
//!
//! The parts:
//! - [`app`]: the state and its changes (keys, mouse, updates), pure and tested;
//! - [`view`]: drawing the state, snapshot-tested on ratatui's `TestBackend`;
//! - [`store`]: the bounded scrollback of each instance and of the merged view;
//! - [`ansi`]: a line's SGR colours kept, every other control sequence removed;
//! - [`input`]: input mode (`i` on a `tty = true` instance): keys as terminal bytes,
//!   the line a prompt leaves unfinished;
//! - [`source`]: the in-process and the socket connection (and input mode's terminal);
//! - [`terminal`]: raw mode, alternate screen and mouse, restored on every exit path.

pub(crate) mod ansi;
pub(crate) mod app;
pub(crate) mod input;
pub(crate) mod source;
pub(crate) mod store;
pub(crate) mod terminal;
pub(crate) mod view;

#[cfg(test)]
mod tests;

use std::io;
use std::path::Path;
use std::pin::Pin;
use std::time::{Duration, Instant};

use crossterm::event::{Event, EventStream};
use tokio::sync::{mpsc, oneshot};

use crate::supervisor::command::Request;
use app::{App, Effect, Mode};
use source::Connection;
use terminal::Guard;

use crate::logs::clock::Clock;
use crate::logs::printer::Message;
use crate::supervisor::Handle;

/// The shortest time between two frames (30 per second at most).
pub(crate) const FRAME: Duration = Duration::from_millis(33);
/// Updates applied before the loop looks at the clock and the keyboard again.
const BURST: usize = 512;
/// How often the frame statistics go to the diagnostics (`PROJ_LOG=proj::tui=debug`).
const STATS_EVERY: Duration = Duration::from_secs(5);

/// How the TUI ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The supervisor finished (in `proj up`, after `q`, Ctrl-C or a signal).
    SupervisorGone,
    /// The user detached (`proj attach`), or the terminal went away.
    Left,
}

/// Start the TUI of `proj up` on a thread of its own. It waits for the supervisor's
/// [`Handle`] (send it through the returned sender, i.e. `Options.handle`) and only then
/// takes the screen; if the supervisor never starts, it ends without touching the
/// terminal. Join the thread after the supervisor returned: it ends right after.
pub(crate) fn start_in_process(
    messages: mpsc::UnboundedReceiver<Message>,
    scrollback: usize,
) -> io::Result<(
    oneshot::Sender<Handle>,
    std::thread::JoinHandle<io::Result<Outcome>>,
)> {
    let (handle_sender, handle) = oneshot::channel();
    let thread = std::thread::Builder::new()
        .name("proj-tui".into())
        .spawn(move || {
            run(Mode::Up, scrollback, async move {
                let handle = handle.await.ok()?;
                Some(source::in_process(handle, messages, scrollback).await)
            })
        })?;
    Ok((handle_sender, thread))
}

/// `proj attach`: the TUI on the supervisor of the project at `root`, on this thread.
pub(crate) fn attach(root: &Path, scrollback: usize) -> Result<Outcome, crate::Error> {
    let connection = source::attach(root, scrollback)?;
    run(Mode::Attach, scrollback, async move { Some(connection) })
        .map_err(|error| crate::Error::io("the TUI failed", error))
}

fn run(
    mode: Mode,
    scrollback: usize,
    connect: impl Future<Output = Option<Connection>>,
) -> io::Result<Outcome> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let Some(connection) = connect.await else {
            return Ok(Outcome::SupervisorGone);
        };
        event_loop(mode, scrollback, connection).await
    })
}

async fn event_loop(
    mode: Mode,
    scrollback: usize,
    mut connection: Connection,
) -> io::Result<Outcome> {
    let (mut guard, mut screen) = match Guard::enter() {
        Ok(entered) => entered,
        Err(error) => {
            // No TUI, no way to stop the stack from here: do not leave it running unseen.
            if mode == Mode::Up {
                send(&connection, Request::Down);
                // Until the supervisor is done (the channel itself may outlive it:
                // output readers of escaped processes still hold the feed).
                while let Some(update) = connection.updates.recv().await {
                    if matches!(update, source::Update::Closed) {
                        break;
                    }
                }
            }
            return Err(error);
        }
    };
    let mut app = App::new(mode, scrollback, Clock::default(), Instant::now());
    let mut input = EventStream::new();
    let mut second = tokio::time::interval(Duration::from_secs(1));
    // `proj attach` ends on these; in `proj up` the supervisor handles them.
    let mut signals = Signals::new(mode)?;
    let mut stats = Stats::new();
    // Input mode's connection to an instance's terminal.
    let mut terminal: Option<source::TerminalLink> = None;
    let mut last_draw = Instant::now() - FRAME;
    let mut dirty = true;
    // False once the terminal is gone (hung up): keep going without drawing.
    let mut screen_ok = true;
    loop {
        app.now = Instant::now();
        if dirty && screen_ok && app.now >= last_draw + FRAME {
            if Guard::given_back() {
                return Ok(Outcome::Left);
            }
            let started = Instant::now();
            let mut page = app.page;
            let mut building = Duration::ZERO;
            match screen.draw(|frame| {
                let started = Instant::now();
                page = view::draw(frame, &app);
                building = started.elapsed();
            }) {
                Ok(_) => {
                    app.page = page;
                    stats.frame(started.elapsed(), building);
                }
                Err(error) => {
                    tracing::debug!(%error, "cannot draw");
                    screen_ok = false;
                    if let Some(outcome) = lost_terminal(&mut app, &connection) {
                        return Ok(outcome);
                    }
                }
            }
            last_draw = app.now;
            dirty = false;
        }
        stats.maybe_report(app.store.received, app.lost);
        if app.closed {
            return Ok(Outcome::SupervisorGone);
        }
        let next_frame = last_draw + FRAME;
        tokio::select! {
            biased;
            event = next_event(&mut input), if screen_ok => {
                dirty = true;
                match event {
                    Some(Ok(Event::Key(key))) => {
                        for effect in app.key(key) {
                            match effect {
                                Effect::Send(command) => send(&connection, command),
                                Effect::Detach => return Ok(Outcome::Left),
                                Effect::MouseCapture(on) => {
                                    let _ = guard.set_mouse(on);
                                }
                                Effect::Connect(instance) => {
                                    terminal = Some(connection.terminals.open(instance));
                                }
                                Effect::Type(bytes) => {
                                    if let Some(link) = &terminal {
                                        let _ = link.keys.send(bytes);
                                    }
                                }
                                Effect::Disconnect => terminal = None,
                            }
                        }
                    }
                    Some(Ok(Event::Mouse(mouse))) => app.mouse(mouse),
                    Some(Ok(_)) => {}
                    Some(Err(_)) | None => {
                        screen_ok = false;
                        if let Some(outcome) = lost_terminal(&mut app, &connection) {
                            return Ok(outcome);
                        }
                    }
                }
            }
            update = connection.updates.recv() => {
                dirty = true;
                let Some(update) = update else {
                    return Ok(Outcome::SupervisorGone);
                };
                app.apply(update);
                // Take in what else is waiting, up to a burst, before the next frame.
                for _ in 0..BURST {
                    match connection.updates.try_recv() {
                        Ok(update) => app.apply(update),
                        Err(_) => break,
                    }
                }
                if app.input.is_none() {
                    // Input mode ended from the other side (refused, proj gone).
                    terminal = None;
                }
            }
            () = tokio::time::sleep_until(next_frame.into()), if dirty => {}
            _ = second.tick() => dirty = true,
            () = signals.recv() => return Ok(Outcome::Left),
        }
    }
}

/// The terminal is gone (its window closed): `proj up` stops everything, as it would
/// have been hung up; `proj attach` just ends.
fn lost_terminal(app: &mut App, connection: &Connection) -> Option<Outcome> {
    match app.mode {
        Mode::Attach => Some(Outcome::Left),
        Mode::Up => {
            if app.quitting.is_none() {
                app.quitting = Some(false);
                send(connection, Request::Down);
            }
            None
        }
    }
}

fn send(connection: &Connection, request: Request) {
    if connection.commands.send(request).is_err() {
        tracing::debug!("the supervisor is gone; command dropped");
    }
}

async fn next_event(input: &mut EventStream) -> Option<io::Result<Event>> {
    std::future::poll_fn(|context| futures_core::Stream::poll_next(Pin::new(&mut *input), context))
        .await
}

/// SIGTERM, SIGINT and SIGHUP for `proj attach` (nothing for `proj up`).
struct Signals(Option<[tokio::signal::unix::Signal; 3]>);

impl Signals {
    fn new(mode: Mode) -> io::Result<Signals> {
        use tokio::signal::unix::{SignalKind, signal};
        if mode == Mode::Up {
            return Ok(Signals(None));
        }
        Ok(Signals(Some([
            signal(SignalKind::terminate())?,
            signal(SignalKind::interrupt())?,
            signal(SignalKind::hangup())?,
        ])))
    }

    async fn recv(&mut self) {
        match &mut self.0 {
            None => std::future::pending().await,
            Some([term, int, hup]) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = int.recv() => {}
                    _ = hup.recv() => {}
                }
            }
        }
    }
}

/// Frames drawn and lines taken in, for `PROJ_LOG=proj::tui=debug` (how the frame rate
/// under load was measured).
struct Stats {
    since: Instant,
    frames: u32,
    slowest: Duration,
    drawing: Duration,
    /// Of `drawing`, the time spent building the screen (the rest: diff and output).
    building: Duration,
    received: u64,
}

impl Stats {
    fn new() -> Stats {
        Stats {
            since: Instant::now(),
            frames: 0,
            slowest: Duration::ZERO,
            drawing: Duration::ZERO,
            building: Duration::ZERO,
            received: 0,
        }
    }

    fn frame(&mut self, took: Duration, building: Duration) {
        self.frames += 1;
        self.building += building;
        self.drawing += took;
        self.slowest = self.slowest.max(took);
    }

    fn maybe_report(&mut self, received: u64, lost: u64) {
        let elapsed = self.since.elapsed();
        if elapsed < STATS_EVERY {
            return;
        }
        let seconds = elapsed.as_secs_f64();
        tracing::debug!(
            target: "proj::tui",
            fps = format!("{:.1}", f64::from(self.frames) / seconds),
            batches_lost = lost,
            lines_per_second = format!("{:.0}", (received - self.received) as f64 / seconds),
            draw_ms_mean = format!("{:.2}", self.drawing.as_secs_f64() * 1000.0 / f64::from(self.frames.max(1))),
            draw_ms_max = format!("{:.2}", self.slowest.as_secs_f64() * 1000.0),
            build_ms_mean = format!("{:.2}", self.building.as_secs_f64() * 1000.0 / f64::from(self.frames.max(1))),
            "frames"
        );
        *self = Stats::new();
        self.received = received;
    }
}

/// An output batch, for tests that feed the app directly.
#[cfg(test)]
pub(crate) fn batch(instance: &str, at: std::time::SystemTime, text: &str) -> source::Update {
    source::Update::Batch(crate::logs::history::Batch {
        instance: instance.into(),
        at,
        lines: std::sync::Arc::from(text.as_bytes()),
    })
}

/// The TUI of `proj up`, started and waiting for the supervisor.
pub(crate) struct Launched {
    /// Give this to the supervisor (`Options.handle`): the TUI takes the screen once it
    /// arrives.
    pub handle: Option<oneshot::Sender<Handle>>,
    thread: std::thread::JoinHandle<io::Result<Outcome>>,
}

impl Launched {
    /// Wait until the TUI has given the terminal back (it ends right after the
    /// supervisor), then send diagnostics to stderr again. An error means the TUI could
    /// not take the terminal (it then stopped the supervisor).
    pub(crate) fn join(self) -> Result<(), crate::Error> {
        let result = self.thread.join();
        crate::diagnostics::redirect(None);
        match result {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(error)) => Err(crate::Error::io(
                "cannot show the TUI (--no-tui prints plain lines)",
                error,
            )),
            Err(_) => Err(crate::Error::Tui("the TUI crashed".into())),
        }
    }
}

/// Prepare `proj up` for the TUI: proj's messages and diagnostics go to
/// `.proj/logs/proj.log` (appended to) instead of the terminal, the messages also to
/// the TUI; returns the printer for the supervisor and the waiting TUI.
pub(crate) fn launch(
    root: &Path,
    style: crate::logs::printer::Style,
    scrollback: usize,
) -> Result<(crate::logs::printer::Printer, Launched), crate::Error> {
    let path = crate::layout::proj_log(root);
    // Appended to, as in every mode: the supervisor records its messages there itself
    // (rotated with the instances' logs); this descriptor is for diagnostics.
    let file = crate::layout::create_logs(root)
        .and_then(|_| {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
        })
        .map_err(|error| crate::Error::io(format!("cannot write {}", path.display()), error))?;
    crate::diagnostics::redirect(Some(file));
    let (tap, messages) = mpsc::unbounded_channel();
    let style = crate::logs::printer::Style {
        color: false,
        ..style
    };
    let printer = crate::logs::printer::Printer::start_for_tui(style, io::sink(), tap)
        .map_err(|error| crate::Error::io("cannot start output", error))?;
    let (handle, thread) = start_in_process(messages, scrollback)
        .map_err(|error| crate::Error::io("cannot start the TUI", error))?;
    Ok((
        printer,
        Launched {
            handle: Some(handle),
            thread,
        },
    ))
}

/// `proj up` shows the TUI: asked with `--tui`, or stdout is a terminal and `--no-tui`
/// was not given (SPEC §4). Never in the background supervisor of `up -d`.
pub(crate) fn wanted(tui: bool, no_tui: bool, detached_child: bool) -> bool {
    use std::io::IsTerminal;
    !detached_child && !no_tui && (tui || io::stdout().is_terminal())
}
