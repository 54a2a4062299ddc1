//! Where the TUI's data comes from and where its commands go: the supervisor in the same
//! process (`proj up --tui`) or over the control socket (`proj attach`).
//!
//! Either way the app sees one [`Connection`]: a bounded stream of [`Update`]s (the
//! latest snapshot, output batches, proj's messages, "you lost N batches", "the
//! supervisor is gone") and an unbounded queue of [`Command`]s. Nothing on the
//! supervisor's side ever waits for the TUI: snapshots come from a `watch` channel (a
//! slow reader sees only the newest), output from its own byte-bounded queue of the
//! feed (a slow reader loses the oldest batches and is told how many), proj's messages
//! from an unbounded channel (they are few). The bounded update channel is where the
//! TUI's slowness stops: the forwarding task waits on it, so the feed, not the TUI's
//! memory, absorbs the backlog.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::{broadcast, mpsc};

use crate::control::client::{Client, ClientError};
use crate::control::protocol::LogLine;
use crate::logs::feed::RecvError as FeedError;
use crate::logs::history::Batch;
use crate::logs::printer::Message;
use crate::supervisor::command::{Answer, Command, Logs, Request, ask};
use crate::supervisor::{Handle, Snapshot};

/// Where in-process requests go: the supervisor's command channel.
type Supervisor = mpsc::UnboundedSender<Command>;

/// Updates that may wait for the TUI before the sender waits too.
const UPDATES: usize = 1024;

/// Something the TUI must know.
#[derive(Debug)]
pub(crate) enum Update {
    Snapshot(Snapshot),
    Batch(Batch),
    Message(Message),
    /// The TUI fell behind the feed and lost this many batches (the log files have them).
    Lost(u64),
    /// A command failed: say why in the footer.
    Notice(String),
    /// A sampled `ps` answer: what each instance costs (CPU%, memory) right now.
    Usage(Vec<crate::supervisor::InstanceStatus>),
    /// The supervisor is gone.
    Closed,
    /// Input mode: raw output of the connected terminal.
    Terminal(Vec<u8>),
    /// Input mode cannot go on (no tty, the supervisor went away): why.
    TerminalEnded(String),
}

/// How often the open TUI asks for CPU and memory figures (each ask reads `/proc` once
/// for every running instance; nobody asks while no TUI is open).
const USAGE_EVERY: Duration = Duration::from_secs(1);

/// The TUI's end of a supervisor.
pub(crate) struct Connection {
    pub updates: mpsc::Receiver<Update>,
    /// The same requests the control socket takes.
    pub commands: mpsc::UnboundedSender<Request>,
    /// How input mode reaches an instance's terminal.
    pub terminals: Terminals,
}

/// Follow the supervisor of this process. Must run on the TUI's runtime: the forwarding
/// tasks it starts live there, off the supervisor's threads.
pub(crate) async fn in_process(
    handle: Handle,
    messages: mpsc::UnboundedReceiver<Message>,
    backlog: usize,
) -> Connection {
    let (sender, updates) = mpsc::channel(UPDATES);
    let (commands, requests) = mpsc::unbounded_channel();
    tokio::spawn(forward_snapshots(handle.status.clone(), sender.clone()));
    tokio::spawn(forward_messages(messages, sender.clone()));
    tokio::spawn(forward_output(
        handle.commands.clone(),
        sender.clone(),
        backlog,
    ));
    tokio::spawn(forward_usage(handle.commands.clone(), sender.clone()));
    let terminals = Terminals::InProcess {
        supervisor: handle.commands.clone(),
        updates: sender.clone(),
    };
    tokio::spawn(carry_requests(handle.commands, requests, sender));
    Connection {
        updates,
        commands,
        terminals,
    }
}

async fn forward_snapshots(
    mut status: tokio::sync::watch::Receiver<Snapshot>,
    sender: mpsc::Sender<Update>,
) {
    loop {
        let snapshot = status.borrow_and_update().clone();
        if sender.send(Update::Snapshot(snapshot)).await.is_err() {
            return;
        }
        if status.changed().await.is_err() {
            // The supervisor dropped its end: it has finished.
            let _ = sender.send(Update::Closed).await;
            return;
        }
    }
}

/// Ask for a sampled `ps` once a [`USAGE_EVERY`] while the TUI is open: the task ends
/// with the TUI (its update channel closes) or the supervisor.
async fn forward_usage(supervisor: Supervisor, sender: mpsc::Sender<Update>) {
    let mut ticks = tokio::time::interval(USAGE_EVERY);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let Some(Ok(Answer::Instances(instances))) = ask(&supervisor, Request::Ps).await else {
            return;
        };
        if sender.send(Update::Usage(instances)).await.is_err() {
            return;
        }
    }
}

async fn forward_messages(
    mut messages: mpsc::UnboundedReceiver<Message>,
    sender: mpsc::Sender<Update>,
) {
    while let Some(message) = messages.recv().await {
        if sender.send(Update::Message(message)).await.is_err() {
            return;
        }
    }
}

/// The recent history, then every new batch. Asking through `logs -f` (rather than
/// subscribing to the feed directly) gets the subscription taken before the history is
/// read, with the point up to which each instance's history goes: nothing is missed
/// or shown twice.
async fn forward_output(supervisor: Supervisor, sender: mpsc::Sender<Update>, backlog: usize) {
    let request = Request::Logs {
        names: Vec::new(),
        lines: backlog,
        follow: true,
        since_ms: None,
        grep: None,
    };
    let Some(Ok(Answer::Logs(Logs {
        backlog,
        follow: Some(mut follow),
        ..
    }))) = ask(&supervisor, request).await
    else {
        return;
    };
    for batch in backlog {
        if sender.send(Update::Batch(batch)).await.is_err() {
            return;
        }
    }
    loop {
        let update = match follow.next().await {
            Ok(batch) => Update::Batch(batch),
            Err(FeedError::Lagged(lost)) => Update::Lost(lost),
            Err(FeedError::Closed) => return,
        };
        if sender.send(update).await.is_err() {
            return;
        }
    }
}

/// Carry the TUI's requests to the supervisor; a refusal, or a request that did not
/// bring its instances up, is said in the footer.
async fn carry_requests(
    supervisor: Supervisor,
    mut requests: mpsc::UnboundedReceiver<Request>,
    sender: mpsc::Sender<Update>,
) {
    while let Some(request) = requests.recv().await {
        let (supervisor, sender) = (supervisor.clone(), sender.clone());
        tokio::spawn(async move {
            let notice = match ask(&supervisor, request).await {
                Some(Err(refusal)) => refusal.to_string(),
                Some(Ok(Answer::Acted(acted))) => match acted.failures() {
                    Some(failed) => format!("did not come up: {failed}"),
                    None => return,
                },
                // A farewell is dropped here: the supervisor may end.
                _ => return,
            };
            let _ = sender.send(Update::Notice(notice)).await;
        });
    }
}

/// A line of the wire (`proj attach`) as the batch the TUI stores.
fn line_batch(line: LogLine) -> Batch {
    let mut text = line.text.into_bytes();
    text.push(b'\n');
    Batch {
        instance: Arc::from(line.name),
        at: SystemTime::UNIX_EPOCH + Duration::from_millis(line.time_ms),
        lines: Arc::from(text),
    }
}

pub(crate) fn attach(root: &Path, backlog: usize) -> Result<Connection, ClientError> {
    let mut watch = Client::connect(root)?;
    watch.send(Request::Watch)?;
    let mut logs = Client::connect(root)?;
    logs.send(Request::Logs {
        names: Vec::new(),
        lines: backlog,
        follow: true,
        since_ms: None,
        grep: None,
    })?;
    let mut control = Client::connect(root)?;
    let mut usage = Client::connect(root)?;
    let (sender, updates) = mpsc::channel(UPDATES);
    let (commands, mut requests) = mpsc::unbounded_channel::<Request>();
    let terminals = Terminals::Socket {
        root: root.to_path_buf(),
        updates: sender.clone(),
    };

    let snapshots = sender.clone();
    spawn("proj-attach-watch", move || {
        while let Ok(Some(response)) = watch.receive() {
            if let Some(snapshot) = response.snapshot
                && snapshots.blocking_send(Update::Snapshot(snapshot)).is_err()
            {
                return;
            }
        }
        let _ = snapshots.blocking_send(Update::Closed);
    });
    let output = sender.clone();
    spawn("proj-attach-logs", move || {
        while let Ok(Some(response)) = logs.receive() {
            let update = if let Some(line) = response.line {
                Update::Batch(line_batch(line))
            } else if let Some(lost) = response.skipped {
                Update::Lost(lost)
            } else if let Some(error) = response.error {
                Update::Notice(error)
            } else {
                continue;
            };
            if output.blocking_send(update).is_err() {
                return;
            }
        }
    });
    let figures = sender.clone();
    spawn("proj-attach-usage", move || {
        loop {
            let Ok(response) = usage.call(Request::Ps) else {
                return;
            };
            let instances = response.instances.unwrap_or_default();
            if figures.blocking_send(Update::Usage(instances)).is_err() {
                return;
            }
            // A timer wait between two asks, on this thread of its own.
            std::thread::sleep(USAGE_EVERY);
        }
    });
    spawn("proj-attach-control", move || {
        while let Some(request) = requests.blocking_recv() {
            let update = match control.call(request) {
                Ok(response) if response.ok => continue,
                Ok(response) => Update::Notice(response.error.unwrap_or_default()),
                Err(error) => Update::Notice(error.to_string()),
            };
            if sender.blocking_send(update).is_err() {
                return;
            }
        }
    });
    Ok(Connection {
        updates,
        commands,
        terminals,
    })
}

fn spawn(name: &str, work: impl FnOnce() + Send + 'static) {
    if let Err(error) = std::thread::Builder::new().name(name.into()).spawn(work) {
        tracing::warn!(%error, "cannot start {name}");
    }
}

/// How the TUI reaches a `tty = true` instance's terminal (input mode): through the
/// supervisor in this process, or a `connect` over the control socket.
pub(crate) enum Terminals {
    InProcess {
        supervisor: Supervisor,
        updates: mpsc::Sender<Update>,
    },
    Socket {
        root: std::path::PathBuf,
        updates: mpsc::Sender<Update>,
    },
}

/// A connected terminal: keys go out through `keys`, output comes back as
/// [`Update::Terminal`]. Dropping it disconnects; the process keeps running.
pub(crate) struct TerminalLink {
    pub keys: mpsc::UnboundedSender<Vec<u8>>,
    task: Option<tokio::task::AbortHandle>,
}

impl Drop for TerminalLink {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

impl Terminals {
    /// Connect to `instance`'s terminal. A refusal arrives as [`Update::TerminalEnded`].
    /// Must run on the TUI's runtime (in-process, a task of it carries the terminal).
    pub(crate) fn open(&self, instance: String) -> TerminalLink {
        let (keys, typed) = mpsc::unbounded_channel();
        match self {
            Terminals::InProcess {
                supervisor,
                updates,
            } => {
                let task = tokio::spawn(carry_terminal(
                    supervisor.clone(),
                    instance,
                    typed,
                    updates.clone(),
                ));
                TerminalLink {
                    keys,
                    task: Some(task.abort_handle()),
                }
            }
            Terminals::Socket { root, updates } => {
                let (root, updates) = (root.clone(), updates.clone());
                spawn("proj-attach-terminal", move || {
                    socket_terminal(&root, instance, typed, &updates);
                });
                TerminalLink { keys, task: None }
            }
        }
    }
}

/// In-process input mode: the terminal handed out by the supervisor, copied both ways.
async fn carry_terminal(
    supervisor: Supervisor,
    name: String,
    mut typed: mpsc::UnboundedReceiver<Vec<u8>>,
    updates: mpsc::Sender<Update>,
) {
    let ended = |reason: String| Update::TerminalEnded(reason);
    let connection = match ask(&supervisor, Request::Connect { name }).await {
        Some(Ok(Answer::Terminal(connection))) => connection,
        Some(Err(refusal)) => {
            let _ = updates.send(ended(refusal.to_string())).await;
            return;
        }
        _ => return,
    };
    let terminal = connection.terminal;
    let crate::supervisor::terminal::Subscription { recent, mut chunks } = terminal.subscribe();
    if updates.send(Update::Terminal(recent)).await.is_err() {
        return;
    }
    loop {
        tokio::select! {
            chunk = chunks.recv() => match chunk {
                Ok(chunk) => {
                    if updates.send(Update::Terminal(chunk.to_vec())).await.is_err() {
                        return;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => return,
            },
            keys = typed.recv() => {
                let Some(keys) = keys else { return };
                if let Err(error) = terminal.write(&keys).await {
                    let _ = updates.send(ended(format!("cannot type into it: {error}"))).await;
                    return;
                }
            }
        }
    }
}

/// `proj attach`'s input mode: a `connect` over the control socket; a thread reads the
/// terminal's bytes, this one writes the keys, until the TUI drops its link.
fn socket_terminal(
    root: &Path,
    name: String,
    mut typed: mpsc::UnboundedReceiver<Vec<u8>>,
    updates: &mpsc::Sender<Update>,
) {
    use std::io::{Read, Write};
    let refused = |reason: String| {
        let _ = updates.blocking_send(Update::TerminalEnded(reason));
    };
    let mut client = match Client::connect(root) {
        Ok(client) => client,
        Err(error) => return refused(error.to_string()),
    };
    match client.call(Request::Connect { name }) {
        Ok(response) if response.ok => {}
        Ok(response) => return refused(response.error.unwrap_or_default()),
        Err(error) => return refused(error.to_string()),
    }
    let (already_read, mut stream) = client.into_stream();
    let Ok(mut reading) = stream.try_clone() else {
        return refused("cannot read the terminal".into());
    };
    let output = updates.clone();
    spawn("proj-attach-terminal-output", move || {
        if output
            .blocking_send(Update::Terminal(already_read))
            .is_err()
        {
            return;
        }
        let mut buffer = vec![0u8; 16 * 1024];
        loop {
            match reading.read(&mut buffer) {
                Ok(0) | Err(_) => {
                    let ended = Update::TerminalEnded("the connection to proj closed".into());
                    let _ = output.blocking_send(ended);
                    return;
                }
                Ok(read) => {
                    let update = Update::Terminal(buffer[..read].to_vec());
                    if output.blocking_send(update).is_err() {
                        return;
                    }
                }
            }
        }
    });
    while let Some(keys) = typed.blocking_recv() {
        let frames = crate::control::terminal_stream::keys(&keys);
        if stream.write_all(&frames).is_err() {
            break;
        }
    }
    // The TUI left input mode: hang up, which also ends the reading thread.
    let _ = stream.shutdown(std::net::Shutdown::Both);
}
