//! Where the TUI's data comes from and where its commands go: the supervisor in the same
//! process (`proj up --tui`) or over the control socket (`proj attach`).
//!
//! Either way the app sees one [`Connection`]: a bounded stream of [`Update`]s (the
//! latest snapshot, output batches, proj's messages, "you lost N batches", "the
//! supervisor is gone") and an unbounded queue of [`Command`]s. Nothing on the
//! supervisor's side ever waits for the TUI: snapshots come from a `watch` channel (a
//! slow reader sees only the newest), output from the broadcast feed (a slow reader loses
//! the oldest batches and is told how many), proj's messages from an unbounded channel
//! (they are few). The bounded update channel is where the TUI's slowness stops: the
//! forwarding task waits on it, so the feed, not the TUI's memory, absorbs the backlog.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::{broadcast, mpsc, oneshot};

use crate::control::client::{Client, ClientError};
use crate::control::protocol::{LogLine, Request, Response, Snapshot};
use crate::control::server::{Answer, Call, Follow};
use crate::logs::history::Batch;
use crate::logs::printer::Message;
use crate::supervisor::Handle;

/// Updates that may wait for the TUI before the sender waits too.
const UPDATES: usize = 1024;

/// Something the TUI must know.
#[derive(Debug)]
pub enum Update {
    Snapshot(Snapshot),
    Batch(Batch),
    Message(Message),
    /// The TUI fell behind the feed and lost this many batches (the log files have them).
    Lost(u64),
    /// A command failed: say why in the footer.
    Notice(String),
    /// The supervisor is gone.
    Closed,
}

/// What the TUI asks of the supervisor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Start(String),
    Stop(String),
    Restart(String),
    /// Stop everything gracefully and end the supervisor (`q`, Ctrl-C).
    StopAll,
    /// Kill everything now (a second Ctrl-C).
    KillAll,
}

impl Command {
    fn request(&self) -> Request {
        match self {
            Command::Start(name) => Request::Start {
                names: vec![name.clone()],
            },
            Command::Stop(name) => Request::Stop {
                names: vec![name.clone()],
            },
            Command::Restart(name) => Request::Restart {
                names: vec![name.clone()],
            },
            Command::StopAll => Request::Down,
            Command::KillAll => Request::Kill,
        }
    }
}

/// The TUI's end of a supervisor.
pub struct Connection {
    pub updates: mpsc::Receiver<Update>,
    pub commands: mpsc::UnboundedSender<Command>,
}

/// Follow the supervisor of this process. Must run on the TUI's runtime: the forwarding
/// tasks it starts live there, off the supervisor's threads.
pub async fn in_process(
    handle: Handle,
    messages: mpsc::UnboundedReceiver<Message>,
    backlog: usize,
) -> Connection {
    let (sender, updates) = mpsc::channel(UPDATES);
    let (commands, requests) = mpsc::unbounded_channel();
    tokio::spawn(forward_snapshots(handle.status.clone(), sender.clone()));
    tokio::spawn(forward_messages(messages, sender.clone()));
    tokio::spawn(forward_output(
        handle.calls.clone(),
        sender.clone(),
        backlog,
    ));
    tokio::spawn(carry_commands(handle.calls, requests, sender));
    Connection { updates, commands }
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
async fn forward_output(
    calls: mpsc::UnboundedSender<Call>,
    sender: mpsc::Sender<Update>,
    backlog: usize,
) {
    let (reply, answer) = oneshot::channel();
    let request = Request::Logs {
        names: Vec::new(),
        lines: backlog,
        follow: true,
    };
    if calls.send(Call { request, reply }).is_err() {
        return;
    }
    let Ok(Answer::Logs {
        backlog,
        follow: Some(Follow {
            mut feed,
            instances,
        }),
        ..
    }) = answer.await
    else {
        return;
    };
    for line in backlog {
        if sender.send(Update::Batch(line_batch(line))).await.is_err() {
            return;
        }
    }
    loop {
        match feed.recv().await {
            Ok(batch) => {
                let seen = instances
                    .get(&*batch.instance)
                    .copied()
                    .flatten()
                    .is_some_and(|until| batch.at <= until);
                if !seen && sender.send(Update::Batch(batch)).await.is_err() {
                    return;
                }
            }
            Err(broadcast::error::RecvError::Lagged(lost)) => {
                if sender.send(Update::Lost(lost)).await.is_err() {
                    return;
                }
            }
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}

/// Send each command as a call; each answer is awaited on its own task, so a restart
/// that takes seconds does not hold up a stop behind it.
async fn carry_commands(
    calls: mpsc::UnboundedSender<Call>,
    mut commands: mpsc::UnboundedReceiver<Command>,
    sender: mpsc::Sender<Update>,
) {
    while let Some(command) = commands.recv().await {
        let (reply, answer) = oneshot::channel();
        let request = command.request();
        if calls.send(Call { request, reply }).is_err() {
            return;
        }
        let sender = sender.clone();
        tokio::spawn(async move {
            match answer.await {
                Ok(Answer::Done(response)) => notice_failure(&sender, &response).await,
                Ok(Answer::Final(_, written)) => {
                    // Nothing to write: let the supervisor end at once.
                    let _ = written.send(());
                }
                _ => {}
            }
        });
    }
}

async fn notice_failure(sender: &mpsc::Sender<Update>, response: &Response) {
    if !response.ok {
        let error = response.error.clone().unwrap_or_else(|| "refused".into());
        let _ = sender.send(Update::Notice(error)).await;
    }
}

/// A line of a `logs` answer as a one-line batch.
fn line_batch(line: LogLine) -> Batch {
    let mut text = line.text.into_bytes();
    text.push(b'\n');
    Batch {
        instance: Arc::from(line.name),
        at: SystemTime::UNIX_EPOCH + Duration::from_millis(line.time_ms),
        lines: Arc::from(text),
    }
}

/// Follow the supervisor of the project at `root` over its control socket: one
/// connection streams snapshots (`watch`), one the output (`logs -f`), one carries
/// commands. Each is a plain thread with a blocking client; a thread that reads faster
/// than the TUI takes waits on the update channel, and the supervisor's side of that
/// connection then drops batches (and says so) rather than wait.
pub fn attach(root: &Path, backlog: usize) -> Result<Connection, ClientError> {
    let mut watch = Client::connect(root)?;
    watch.send(Request::Watch)?;
    let mut logs = Client::connect(root)?;
    logs.send(Request::Logs {
        names: Vec::new(),
        lines: backlog,
        follow: true,
    })?;
    let mut control = Client::connect(root)?;
    let (sender, updates) = mpsc::channel(UPDATES);
    let (commands, mut requests) = mpsc::unbounded_channel::<Command>();

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
    spawn("proj-attach-control", move || {
        while let Some(command) = requests.blocking_recv() {
            let update = match control.call(command.request()) {
                Ok(response) if response.ok => continue,
                Ok(response) => Update::Notice(response.error.unwrap_or_default()),
                Err(error) => Update::Notice(error.to_string()),
            };
            if sender.blocking_send(update).is_err() {
                return;
            }
        }
    });
    Ok(Connection { updates, commands })
}

fn spawn(name: &str, work: impl FnOnce() + Send + 'static) {
    if let Err(error) = std::thread::Builder::new().name(name.into()).spawn(work) {
        tracing::warn!(%error, "cannot start {name}");
    }
}
